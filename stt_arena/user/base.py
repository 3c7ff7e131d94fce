"""The user-simulator interface."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from ..task.models import Task


@dataclass
class UserReply:
    text: str
    done: bool = False  # the user signals that nothing more is needed
    usage: dict[str, Any] = field(default_factory=dict)


class UserSimulator(ABC):
    name = "user"

    @abstractmethod
    def reset(self, task: Task) -> None:
        """Start an episode (the task's query has already been sent to the agent)."""

    @abstractmethod
    async def reply(self, message: str) -> UserReply:
        """The user's answer to one agent message sent through ``chat_with_user``."""
