"""An LLM-driven user simulator: passive, profile-bound, signals completion with a stop token."""
from __future__ import annotations

from typing import Any

from ..llm.client import LLMClient
from ..prompts import load_prompt
from ..task.models import Task
from .base import UserReply, UserSimulator

STOP_TOKEN = "###STOP###"


def _fmt(d) -> str:
    if isinstance(d, dict):
        return "\n".join(f"- {k}: {v}" for k, v in d.items()) or "- (none)"
    return "\n".join(f"- {v}" for v in d) or "- (none)"


class LLMUser(UserSimulator):
    name = "llm"

    def __init__(self, client: LLMClient, prompt_path=None, seed: int | None = None):
        self.client = client
        self.template = load_prompt("user_simulator", prompt_path)
        self.seed = seed

    def reset(self, task: Task) -> None:
        p = task.user_profile
        system = self.template.format(
            goal=p.goal or task.query, persona=f"Persona: {p.persona}" if p.persona else "", query=task.query,
            known_facts=_fmt(p.known_facts), withheld_facts=_fmt(p.withheld_facts),
            clarifications=_fmt(p.clarifications), refusals=_fmt(p.refusals),
            fallback_reply=p.fallback_reply, stop_token=STOP_TOKEN)
        self.fallback = p.fallback_reply or "I don't have more information on that."
        # the simulator's own view: the agent speaks as "user", the simulated user answers as "assistant"
        self.messages = [{"role": "system", "content": system},
                         {"role": "user", "content": "Hello, how can I help you today?"},
                         {"role": "assistant", "content": task.query}]

    async def reply(self, message: str) -> UserReply:
        self.messages.append({"role": "user", "content": message or "(empty message)"})
        kw: dict[str, Any] = {"seed": self.seed} if self.seed is not None else {}
        res = await self.client.chat(self.messages, **kw)
        text = (res.content or "").strip()
        done = STOP_TOKEN in text
        text = text.replace(STOP_TOKEN, "").strip() or ("Thank you, that's all." if done else self.fallback)
        self.messages.append({"role": "assistant", "content": text})
        usage = {"prompt_tokens": res.usage.prompt_tokens, "completion_tokens": res.usage.completion_tokens,
                 "cost": res.cost}
        return UserReply(text, done=done, usage=usage)


