"""The turn state machine every episode runs (evaluation, RL, refinement replay).

One agent action per turn: a tool call, a ``chat_with_user`` message, or a final reply, which ends the
episode. Tool calls are validated here (unknown tool, rejected arguments, empty reply: an error
observation, the environment is not touched). Trigger events are recorded with their step index but never
shown to the agent. Callers drive the engine (``act`` per action, then ``grade``) and keep their own
transport: the eval loop its model calls and deadlines, the RL environment its chat messages and rewards.
"""
from __future__ import annotations

import time
from typing import Any, Awaitable, Callable

from ..agents.base import Action, Observation
from ..agents.llm import CHAT_TOOL, NOT_EXECUTED
from ..env.schema import tool_specs
from .argcheck import argument_errors
from ..task.models import CHAT_WITH_USER, FINAL_MESSAGE, Task
from .env import env_op

MAX_STORED_CHARS = 50_000  # one message's text in a stored record (a 5 MB reply is kept once, capped)
MAX_THOUGHT_CHARS = 2_000  # a step's copy of the model's text (the full text is in ``messages``)
CUT_OFF = ("Not executed: your reply was cut off at the token limit (finish_reason: length) after {n} "
           "characters; it is not taken as your final answer. Reply again, shorter.")


def agent_tools(task: Task) -> list[dict]:
    """OpenAI tool schemas of the task's environment, plus ``chat_with_user``."""
    env = task.environment
    return [s.openai() for s in tool_specs(env.source, env.class_name, env.mutating_tools)] + [CHAT_TOOL]


def cap(text: str, limit: int = MAX_STORED_CHARS) -> str:
    if not isinstance(text, str) or len(text) <= limit:
        return text
    return text[:limit] + f"\n...[{len(text) - limit} more characters not stored]"


def thought_of(action: Action) -> str | None:
    msg = action.message or {}
    parts = [msg.get("reasoning_content") or "", msg.get("content") or "" if action.kind != "final" else ""]
    text = "\n".join(p for p in parts if p).strip()
    return cap(text, MAX_THOUGHT_CHARS) if text else None


class EpisodeEngine:
    """Steps, events and termination of one episode. ``env``: an ``Opening`` or ``Opened`` handle;
    ``reply``: async ``text -> UserReply`` (the caller wraps its deadline and error mapping around it)."""

    def __init__(self, task: Task, env: Any, reply: Callable[[str], Awaitable[Any]],
                 tools: list[dict] | None = None):
        self.task, self.env, self.reply = task, env, reply
        self.tools = tools if tools is not None else agent_tools(task)
        self.names = {t["function"]["name"] for t in self.tools}
        self.params = {t["function"]["name"]: t["function"].get("parameters") or {} for t in self.tools}
        self.steps: list[dict] = []
        self.events: list[dict] = []
        self.termination = "max_turns"
        self.final_message: str | None = None
        self.user_done = False
        self.env_s = 0.0

    @property
    def done(self) -> bool:
        return self.termination != "max_turns"

    def stop(self, termination: str) -> None:
        """End the episode without a final answer (agent error, forced stop, sandbox death)."""
        self.termination = termination

    def _record(self, turn: int, action: Action) -> dict:
        rec: dict[str, Any] = {"index": len(self.steps), "turn": turn, "kind": action.kind}
        if action.note:
            rec["note"] = action.note
        th = thought_of(action)
        if th:
            rec["thought"] = th
        fr = (action.usage or {}).get("finish_reason")
        if fr not in (None, "stop", "tool_calls", "function_call"):
            rec["finish_reason"] = fr
        return rec

    def _invalid_reason(self, action: Action) -> str | None:
        tool, note = action.tool or "", action.note or ""
        if not tool or note.startswith(NOT_EXECUTED):
            return "Not executed: " + (note[len(NOT_EXECUTED):] if note.startswith(NOT_EXECUTED) else "empty tool name")
        if tool not in self.names or tool == CHAT_WITH_USER:
            return f"Unknown tool '{tool}'. Available tools: {', '.join(sorted(self.names))}"
        bad = argument_errors(action.arguments or {}, self.params.get(tool) or {})
        return f"Not executed: bad argument types for {tool}: " + "; ".join(bad) if bad else None

    async def act(self, action: Action, turn: int) -> tuple[dict, Observation | None]:
        """Apply one action; returns its step record and the agent's next observation (None: the episode
        ended with the final reply)."""
        rec = self._record(turn, action)
        result: Any
        if action.kind == "final" and rec.get("finish_reason") == "length":  # cut at the token limit
            err: str | None = CUT_OFF.format(n=len(action.content or ""))
            result = {"success": False, "error": err}
            rec.update(kind="invalid", error=err, result=result, content=cap(action.content or "", MAX_THOUGHT_CHARS))
            self.steps.append(rec)
            return rec, Observation(kind="tool_result", content=result)
        if action.kind == "final":
            self.final_message = cap(action.content or "")
            await env_op(await self.env.get(), "record_message", FINAL_MESSAGE, self.final_message)
            rec["content"] = cap(self.final_message, MAX_THOUGHT_CHARS)  # the full text: final_message
            self.steps.append(rec)
            self.termination = "final"
            return rec, None
        if action.kind == "chat":
            content = action.content or ""
            await env_op(await self.env.get(), "record_message", CHAT_WITH_USER, content)
            reply = await self.reply(content)
            await env_op(await self.env.get(), "record_message", "user", reply.text)
            self.user_done = self.user_done or reply.done
            rec.update(content=cap(content, MAX_THOUGHT_CHARS), user_reply=reply.text, user_done=reply.done)
            self.steps.append(rec)
            return rec, Observation(kind="user", content=reply.text, tool=CHAT_WITH_USER)
        tool, args = action.tool or "", action.arguments or {}
        rec.update(tool=tool, arguments=args)
        err = self._invalid_reason(action)
        if err:
            result = {"success": False, "error": err}
            rec.update(kind="invalid", error=err, result=result)
        else:
            ep = await self.env.get()  # waits only if the open is still under way (not charged to env_s)
            e0 = time.monotonic()
            out = await env_op(ep, "call", tool, args)
            self.env_s += time.monotonic() - e0
            result = out.get("result")
            rec.update(result=result, events=out.get("events") or [], step=out.get("step"), now=out.get("now"))
            if out.get("sandbox_error"):
                self.env.check_alive(f"the call to {tool}")  # a dead worker: infrastructure, not the agent
                rec["sandbox_error"] = out["sandbox_error"]
            for ev in out.get("events") or []:
                self.events.append({**ev, "step": ev.get("step", out.get("step")), "turn": turn, "index": len(self.steps)})
        self.steps.append(rec)
        return rec, Observation(kind="tool_result", content=result, tool=tool)

    async def grade(self, strict: bool = True) -> dict:
        """``{"checks", "goals", "state"}`` on the end state (kind and description filled in). ``strict``:
        a worker that died under the episode is an infrastructure error (eval re-runs the episode); else
        its checks fail (RL ends the episode with what it has)."""
        task = self.task
        graded = await env_op(await self.env.get(), "grade", [c.model_dump() for c in task.checklist],
                              [c.model_dump() for c in task.infeasible_goal])
        if strict:
            self.env.check_alive("grading")
        items = {c.id: c for c in task.checklist + task.infeasible_goal}
        for c in graded["checks"] + graded["goals"]:
            it = items.get(c["id"])
            if it is not None:
                c.setdefault("kind", it.kind)
                c.setdefault("description", it.description)
        return graded
