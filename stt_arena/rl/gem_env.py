"""GEM environments over ``STTArenaCore`` (``pip install 'stt-arena[rl]'``).

* ``STTArenaEnv`` (id ``stt_arena``): observations are the full chat message list and ``info["tools"]``
  holds the OpenAI tool schemas -- the contract of ROLL's ``AgentNativeStepEnvManager``.
* ``STTArenaTextEnv`` (id ``stt_arena_text``): observations are text (the latest tool result or the
  task prompt with the tool list), for ROLL's ``TrajEnvManager``, which builds the chat itself.
"""
from __future__ import annotations

import json
from typing import Any

import gem

from .core import STTArenaCore


class STTArenaEnv(gem.Env):
    def __init__(self, **kwargs: Any):
        super().__init__()
        self.core = STTArenaCore(**kwargs)

    def reset(self, seed: int | None = None):
        return self.core.reset(seed)

    def step(self, action: Any):
        return self.core.step(action)

    def close(self) -> None:
        self.core.close()


class STTArenaTextEnv(STTArenaEnv):
    def reset(self, seed: int | None = None):
        messages, info = self.core.reset(seed)
        tools = json.dumps([t["function"] for t in info["tools"]], ensure_ascii=False)
        text = (f"{messages[0]['content']}\n\nTools (call one per turn as <tool_call>{{\"name\": ..., "
                f"\"arguments\": {{...}}}}</tool_call>):\n{tools}\n\nUser request: {messages[1]['content']}")
        return text, info

    def step(self, action: Any):
        messages, reward, terminated, truncated, info = self.core.step(action)
        return messages[-1]["content"], reward, terminated, truncated, info
