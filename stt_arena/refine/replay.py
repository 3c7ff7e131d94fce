"""Replaying a (refined) trajectory: the blocks are played as a scripted agent through the evaluation
loop's ``run_episode``, so tool results, trigger events, user replies and the grade are recomputed
from a fresh environment (sandboxed or in-process) and the record has the eval format exactly.
"""
from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

from ..agents.base import Action, Agent, Observation
from ..agents.llm import observation_text
from ..episode.loop import EpisodeContext, run_episode
from ..prompts import load_prompt
from ..judge.base import Judge
from ..task.models import CHAT_WITH_USER, Task

DONE = "Task Completed."
BLOCK_KINDS = ("tool", "chat", "final")


def blocks_of(record: dict) -> list[dict]:
    """Editable blocks of a trajectory record: one per agent turn (tool call, chat message, final reply).

    Invalid turns (unknown tools, unparsable calls) are kept as tool blocks; the refiners delete them.
    """
    out = []
    for s in record.get("steps") or []:
        k = s.get("kind")
        b: dict[str, Any] = {"origin": "agent", "index": s.get("index")}
        if s.get("thought"):
            b["thought"] = s["thought"]
        if k in ("tool", "invalid"):
            b.update(kind="tool", tool=s.get("tool") or "", arguments=dict(s.get("arguments") or {}))
            if k == "invalid":
                b["invalid"] = True
        elif k == "chat":
            b.update(kind="chat", content=s.get("content") or "")
        elif k == "final":
            b.update(kind="final", content=s.get("content") or "")
        else:
            continue
        out.append(b)
    return out


def system_prompt_of(record: dict | None) -> str:
    msgs = (record or {}).get("messages") or []
    if msgs and msgs[0].get("role") == "system" and msgs[0].get("content"):
        return msgs[0]["content"]
    return load_prompt("agent_system")


class BlockAgent(Agent):
    """Plays fixed blocks; keeps OpenAI-format messages with each block's thought as assistant text."""

    def __init__(self, blocks: list[dict], name: str = "refined", max_observation_chars: int = 16000):
        self.blocks = [b for b in blocks if b.get("kind") in BLOCK_KINDS]
        self.name = name
        self.max_obs = max_observation_chars

    def reset(self, task: Task, tools: list[dict], system_prompt: str, first_message: str) -> None:
        self.queue = list(self.blocks)
        self.messages: list[dict] = [{"role": "system", "content": system_prompt},
                                     {"role": "user", "content": first_message}]
        self.awaiting: str | None = None
        self.n = 0

    async def step(self, observation: Observation | None) -> Action:
        if observation is not None and self.awaiting is not None:
            self.messages.append({"role": "tool", "tool_call_id": self.awaiting,
                                  "content": observation_text(observation.content, self.max_obs)})
            self.awaiting = None
        b: dict[str, Any] = self.queue.pop(0) if self.queue else {"kind": "final", "content": DONE}
        thought = (b.get("thought") or "").strip()
        if b["kind"] == "final":
            content = b.get("content") or DONE
            text = f"{thought}\n\n{content}" if thought else content
            self.messages.append({"role": "assistant", "content": text})
            return Action(kind="final", content=content, message={"role": "assistant", "content": thought})
        tool = CHAT_WITH_USER if b["kind"] == "chat" else b.get("tool") or ""
        args = {"message": b.get("content") or ""} if b["kind"] == "chat" else dict(b.get("arguments") or {})
        cid = f"call_{self.n}"
        self.n += 1
        msg = {"role": "assistant", "content": thought, "tool_calls": [
            {"id": cid, "type": "function", "function": {"name": tool, "arguments": json.dumps(args, ensure_ascii=False)}}]}
        self.messages.append(msg)
        self.awaiting = cid
        if b["kind"] == "chat":
            return Action(kind="chat", content=b.get("content") or "", message={"role": "assistant", "content": thought})
        return Action(kind="tool", tool=tool, arguments=args, message={"role": "assistant", "content": thought})


async def replay_blocks(task: Task, blocks: list[dict], open_episode: Callable[[Task], Awaitable[Any]],
                        judge: Judge | None = None, system_prompt: str | None = None, meta: dict | None = None,
                        run: int = 0) -> dict:
    """Play ``blocks`` in a fresh episode of ``task``; returns a trajectory record (eval format)."""
    from ..judge import make_judge
    from ..user.scripted import ScriptedUser

    agent = BlockAgent(blocks)
    ctx = EpisodeContext(task=task, run=run, agent=agent, user=ScriptedUser(), judge=judge or make_judge(),
                         open_episode=open_episode, system_prompt=system_prompt or load_prompt("agent_system"),
                         max_turns=len(agent.blocks) + 1, timeout_s=300.0, meta=dict(meta or {}))
    rec = await run_episode(ctx)
    # ``run_episode`` records the thought of a final step from the message; keep block origins for audits
    for st, b in zip(rec["steps"], agent.blocks):
        st["origin"] = b.get("origin", "agent")
    return rec
