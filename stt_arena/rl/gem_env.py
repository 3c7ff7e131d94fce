"""GEM environments over ``STTArenaCore`` (``pip install 'stt-arena[rl]'``).

* ``STTArenaEnv`` (id ``stt_arena``): observations are the full chat message list and ``info["tools"]``
  holds the OpenAI tool schemas -- the contract of ROLL's ``AgentNativeStepEnvManager``, which renders
  them with the tokenizer's chat template (``tools=info["tools"]``), decodes the reply with its special
  tokens and calls ``step(action=text)``; it reads ``env.env_reset_failed`` and ``env.env_info`` and
  leaves termination (``max_steps`` included) to the environment.
* ``STTArenaTextEnv`` (id ``stt_arena_text``): text observations for ROLL's ``TrajEnvManager``, which
  builds the chat itself: ``reset`` returns the user request with ``info["env_instruction"]`` (our system
  prompt plus the tool list, put before the first observation), and ``step`` returns the new tool or
  user-simulator output with ``info["use_tool"]`` (then ROLL sends it as a ``tool`` message).
"""
from __future__ import annotations

import json
from typing import Any

import gem

from .core import FORMAT_HINT, STTArenaCore


class STTArenaEnv(gem.Env):
    def __init__(self, **kwargs: Any):
        super().__init__()
        self.core = STTArenaCore(**kwargs)
        self.env_reset_failed = False

    def reset(self, seed: int | None = None):
        try:
            out = self.core.reset(seed)
        except Exception as e:  # noqa: BLE001 - a bad task or a sandbox start failure: ROLL drops the group
            self.env_reset_failed = True
            return [], {"tools": [], "error_msg": f"{type(e).__name__}: {e}", "failure_mode": "env_reset_failed"}
        self.env_reset_failed = False
        return out

    def step(self, action: Any):
        return self.core.step(action)

    @property
    def env_info(self) -> dict:
        return self.core.env_info

    def close(self) -> None:
        self.core.close()


def tools_block(tools: list[dict]) -> str:
    """The tool list in the Qwen chat template's wording, for text-only prompts."""
    lines = "\n".join(json.dumps(t, ensure_ascii=False) for t in tools)
    return ("# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided "
            f"with function signatures within <tools></tools> XML tags:\n<tools>\n{lines}\n</tools>\n\n"
            f"For each function call, return a json object with function name and arguments within "
            f"<tool_call></tool_call> XML tags. {FORMAT_HINT}")


class STTArenaTextEnv(STTArenaEnv):
    def reset(self, seed: int | None = None):
        messages, info = super().reset(seed)
        if self.env_reset_failed:
            return "", info
        info["env_instruction"] = f"{messages[0]['content']}\n\n{tools_block(info['tools'])}\n"
        return messages[1]["content"], info

    def step(self, action: Any):
        messages, reward, terminated, truncated, info = self.core.step(action)
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        obs = "\n\n".join(m["content"] for m in messages[last + 1:])
        return obs, reward, terminated, truncated, info
