"""The agent turn interface shared by built-in policies and model-backed agents."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

from ..task.models import Task


@dataclass
class Action:
    """One agent turn: a tool call, a message to the user (chat_with_user), or the final reply."""

    kind: Literal["tool", "chat", "final"]
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    content: str | None = None
    message: dict[str, Any] | None = None  # the assistant message as sent to the transcript (OpenAI form)
    note: str | None = None  # e.g. "2 extra tool calls not executed", "arguments were not valid JSON"
    usage: dict[str, Any] = field(default_factory=dict)


@dataclass
class Observation:
    """What the agent sees after its action: a tool result or the user's reply."""

    kind: Literal["tool_result", "user"]
    content: Any
    tool: str | None = None
    call_id: str | None = None


class Agent(ABC):
    name: str = "agent"

    @abstractmethod
    def reset(self, task: Task, tools: list[dict], system_prompt: str, first_message: str) -> None:
        """Start an episode: OpenAI tool schemas, system prompt and the user's first message."""

    @abstractmethod
    async def step(self, observation: Observation | None) -> Action:
        """Return the next action given the previous action's observation (None on the first turn)."""
