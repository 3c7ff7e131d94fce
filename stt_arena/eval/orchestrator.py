"""One episode: agent <-> sandboxed environment <-> user simulator, then grading.

The loop: the agent acts once per turn (a tool call, a ``chat_with_user`` message, or a final reply
without a tool call, which ends the episode); at most ``max_turns`` turns. Tool calls are validated
here (unknown tool, rejected arguments, empty reply -> an error observation, the environment is not
touched). Trigger events are recorded with their step index but never shown to the agent.
"""
from __future__ import annotations

import asyncio
import json
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from ..agents.base import Action, Agent, Observation
from ..agents.llm import NOT_EXECUTED, observation_text
from ..env.schema import tool_specs
from ..llm.client import LLMError
from ..task.models import CHAT_WITH_USER, FINAL_MESSAGE, Task
from ..judge.base import Judge
from ..user.base import UserSimulator
from ..util.aio import within
from .argcheck import argument_errors

SCHEMA = "stt-arena/trajectory/v1"
FATAL_STATUS = (401, 403, 404)


MAX_STORED_CHARS = 50_000  # one message's text in a stored record (a 5 MB reply is kept once, capped)
MAX_THOUGHT_CHARS = 2_000  # a step's copy of the model's text (the full text is in ``messages``)


class InfraError(RuntimeError):
    """The episode could not be completed for reasons outside the agent (endpoint down or too slow,
    malformed replies, sandbox death); retried, then logged to errors.jsonl and re-run on resume.
    ``role``: agent | user | judge | sandbox | harness; ``cause``: e.g. connection, timeout, malformed."""

    def __init__(self, message: str, role: str = "harness", cause: str = "error"):
        super().__init__(message)
        self.role, self.cause = role, cause


class JudgePending(InfraError):
    """The agent's episode finished but its judge failed: ``record`` is the episode, ungraded by the
    judge; only the judge is re-run (never the agent)."""

    def __init__(self, message: str, record: dict, cause: str):
        super().__init__(message, "judge", cause)
        self.record = record


class FatalEvalError(RuntimeError):
    """Retrying cannot help (bad API key, unknown model, endpoint down): the whole run stops."""


def classify_llm_error(e: LLMError, who: str) -> Exception:
    role = {"user simulator": "user"}.get(who, who)
    if e.status_code in FATAL_STATUS:
        return FatalEvalError(f"{who} model: {e}")
    if e.breaker:
        return FatalEvalError(f"{who} model: {e}")
    return InfraError(f"{who} model: {e}", role, e.cause)


def _timeout(who: str, role: str, timeout_s: float) -> InfraError:
    return InfraError(f"{who}: the episode's {timeout_s:g}s deadline passed while waiting for the model "
                      f"endpoint (slow or hanging); not the agent's failure", role, "episode_timeout")


def agent_tools(task: Task) -> list[dict]:
    from ..agents.llm import CHAT_TOOL
    specs = tool_specs(task.environment.source, task.environment.class_name,
                       task.environment.mutating_tools)
    return [s.openai() for s in specs] + [CHAT_TOOL]


@dataclass
class EpisodeContext:
    task: Task
    run: int
    agent: Agent
    user: UserSimulator
    judge: Judge
    open_episode: Callable[[Task], Awaitable[Any]]
    system_prompt: str
    max_turns: int = 50
    timeout_s: float = 900.0
    max_observation_chars: int = 16000
    seed: int | None = None
    meta: dict = field(default_factory=dict)


async def _ep(ep, name: str, *args):
    """Episode operation ``name``: its asyncio form ``a<name>`` when the episode has one (sandboxed:
    native socket I/O), a thread for other isolated episodes, a plain call for in-process ones."""
    afn = getattr(ep, "a" + name, None)
    if afn is not None:
        return await afn(*args)
    fn = getattr(ep, name)
    if getattr(ep, "isolated", False):
        return await asyncio.to_thread(fn, *args)
    return fn(*args)


class _Opening:
    """The episode's environment, opened in the background from the start of the episode: the sandbox's
    fork and init overlap the agent's first model call instead of adding to the episode's latency."""

    def __init__(self, task: Task, opening: Awaitable[Any]):
        self.task_id = task.task_id
        self.future = asyncio.ensure_future(opening)

    async def get(self):
        try:
            return await asyncio.shield(self.future)  # a cancelled caller must not cancel the open
        except asyncio.CancelledError:
            raise
        except Exception as e:  # bad task or sandbox failure: not the agent's fault
            raise InfraError(f"task {self.task_id}: could not open the environment: {e}", "sandbox",
                             "open_failed") from e

    def check_alive(self, what: str) -> None:
        """A sandbox worker that died under the episode (killed from outside, OOM): an infrastructure
        error, re-run, never the agent's failure."""
        ep = self.future.result() if self.future.done() and not self.future.cancelled() else None
        if ep is not None and getattr(ep, "alive", True) is False and getattr(ep, "death", None) != "closed":
            raise InfraError(f"task {self.task_id}: the sandbox worker died during {what}: "
                             f"{getattr(ep, 'death', None)}", "sandbox", "sandbox_died")

    async def close(self) -> None:
        """Close the environment, or cancel its opening (a half-opened sandbox worker is killed)."""
        if not self.future.done():
            self.future.cancel()
        try:
            ep = await self.future
        except BaseException:  # noqa: BLE001 - never opened: nothing to close
            return
        try:
            await _ep(ep, "close")
        except Exception:  # noqa: BLE001 - closing must not hide the real outcome
            pass


def _usage_add(acc: dict, u: dict | None) -> None:
    for k in ("prompt_tokens", "completion_tokens", "cost"):
        if u and u.get(k):
            acc[k] = acc.get(k, 0) + u[k]
    if u:
        acc["calls"] = acc.get("calls", 0) + (1 if "prompt_tokens" in u else 0)


def cap(text: str, limit: int = MAX_STORED_CHARS) -> str:
    if not isinstance(text, str) or len(text) <= limit:
        return text
    return text[:limit] + f"\n...[{len(text) - limit} more characters not stored]"


def _thought(action: Action) -> str | None:
    msg = action.message or {}
    parts = [msg.get("reasoning_content") or "", msg.get("content") or "" if action.kind != "final" else ""]
    text = "\n".join(p for p in parts if p).strip()
    return cap(text, MAX_THOUGHT_CHARS) if text else None


def stored_messages(msgs: list[dict]) -> list[dict]:
    """The transcript as stored: each message's text capped (the live history is left untouched)."""
    out = []
    for m in msgs:
        big = [k for k in ("content", "reasoning_content") if isinstance(m.get(k), str)
               and len(m[k]) > MAX_STORED_CHARS]
        out.append({**m, **{k: cap(m[k]) for k in big}} if big else m)
    return out


class _Transcript:
    """OpenAI-format messages for agents that keep none (built-in policies)."""

    def __init__(self, system: str, query: str):
        self.messages: list[dict] = [{"role": "system", "content": system}, {"role": "user", "content": query}]

    def call(self, i: int, name: str, args: dict) -> str:
        cid = f"call_{i}"
        self.messages.append({"role": "assistant", "content": "", "tool_calls": [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]})
        return cid

    def result(self, cid: str, content: Any) -> None:
        self.messages.append({"role": "tool", "tool_call_id": cid, "content": observation_text(content, 16000)})

    def final(self, text: str) -> None:
        self.messages.append({"role": "assistant", "content": text})


async def run_episode(ctx: EpisodeContext) -> dict:
    """Play one episode and return its trajectory record (raises InfraError / FatalEvalError)."""
    task = ctx.task
    t0, started = time.monotonic(), datetime.now(timezone.utc).isoformat()
    deadline = t0 + ctx.timeout_s
    tools = agent_tools(task)
    names = {t["function"]["name"] for t in tools}
    params = {t["function"]["name"]: t["function"].get("parameters") or {} for t in tools}
    env = _Opening(task, ctx.open_episode(task))  # starts now; the agent's first request overlaps it
    ctx.agent.reset(task, tools, ctx.system_prompt, task.query)
    ctx.user.reset(task)
    tr = _Transcript(ctx.system_prompt, task.query)
    steps: list[dict] = []
    events: list[dict] = []
    usage = {"agent": {}, "user": {}, "judge": {}}
    timing = {"agent_s": 0.0, "env_s": 0.0, "user_s": 0.0}
    termination, final_message, error, user_done = "max_turns", None, None, False
    obs: Observation | None = None
    n_turns = 0
    try:
        for turn in range(ctx.max_turns):
            left = deadline - time.monotonic()
            if left <= 0:
                raise _timeout("agent model", "agent", ctx.timeout_s)
            a0 = time.monotonic()
            try:
                action = await within(ctx.agent.step(obs), left)
            except asyncio.TimeoutError:
                raise _timeout("agent model", "agent", ctx.timeout_s) from None
            except LLMError as e:
                if e.retryable or e.status_code is None or e.status_code in FATAL_STATUS:
                    raise classify_llm_error(e, "agent") from e
                termination, error = "agent_error", str(e)  # e.g. HTTP 400 context overflow: the model's fault
                break
            finally:
                timing["agent_s"] += time.monotonic() - a0
            n_turns += 1
            _usage_add(usage["agent"], action.usage)
            rec: dict[str, Any] = {"index": len(steps), "turn": turn, "kind": action.kind}
            if action.note:
                rec["note"] = action.note
            th = _thought(action)
            if th:
                rec["thought"] = th
            fr = (action.usage or {}).get("finish_reason")
            if fr not in (None, "stop", "tool_calls", "function_call"):
                rec["finish_reason"] = fr
            if action.kind == "final" and fr == "length":  # cut at the token limit: not an answer
                err = (f"Not executed: your reply was cut off at the token limit (finish_reason: length) "
                       f"after {len(action.content or '')} characters; it is not taken as your final answer. "
                       f"Reply again, shorter.")
                result = {"success": False, "error": err}
                rec.update(kind="invalid", error=err, result=result, content=cap(action.content or "", MAX_THOUGHT_CHARS))
                steps.append(rec)
                obs = Observation(kind="tool_result", content=result)
                continue
            if action.kind == "final":
                final_message = cap(action.content or "")
                await _ep(await env.get(), "record_message", FINAL_MESSAGE, final_message)
                tr.final(final_message)
                rec["content"] = cap(final_message, MAX_THOUGHT_CHARS)  # the full text: final_message
                steps.append(rec)
                termination = "final"
                break
            if action.kind == "chat":
                content = action.content or ""
                await _ep(await env.get(), "record_message", CHAT_WITH_USER, content)
                cid = tr.call(len(steps), CHAT_WITH_USER, {"message": content})
                u0 = time.monotonic()
                try:
                    reply = await within(ctx.user.reply(content), max(1.0, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    raise _timeout("user simulator model", "user", ctx.timeout_s) from None
                except LLMError as e:
                    raise classify_llm_error(e, "user simulator") from e
                finally:
                    timing["user_s"] += time.monotonic() - u0
                _usage_add(usage["user"], reply.usage)
                await _ep(await env.get(), "record_message", "user", reply.text)
                tr.result(cid, reply.text)
                user_done = user_done or reply.done
                rec.update(content=cap(content, MAX_THOUGHT_CHARS), user_reply=reply.text, user_done=reply.done)
                steps.append(rec)
                obs = Observation(kind="user", content=reply.text, tool=CHAT_WITH_USER)
                continue
            # a tool call
            tool, args = action.tool or "", action.arguments or {}
            rec.update(tool=tool, arguments=args)
            err = None
            if not tool or (action.note or "").startswith(NOT_EXECUTED):
                err = (action.note or "")[len(NOT_EXECUTED):] if (action.note or "").startswith(NOT_EXECUTED) \
                    else "empty tool name"
                err = f"Not executed: {err}"
            elif tool not in names or tool == CHAT_WITH_USER:
                err = f"Unknown tool '{tool}'. Available tools: {', '.join(sorted(names))}"
            else:
                bad = argument_errors(args, params.get(tool) or {})
                if bad:
                    err = f"Not executed: bad argument types for {tool}: " + "; ".join(bad)
            cid = tr.call(len(steps), tool or "(none)", args) if tool else None
            if err:
                result = {"success": False, "error": err}
                rec.update(kind="invalid", error=err, result=result)
            else:
                ep = await env.get()  # waits only if the open is still under way (not charged to env_s)
                e0 = time.monotonic()
                out = await _ep(ep, "call", tool, args)
                timing["env_s"] += time.monotonic() - e0
                result = out.get("result")
                rec.update(result=result, events=out.get("events") or [], step=out.get("step"), now=out.get("now"))
                if out.get("sandbox_error"):
                    env.check_alive(f"the call to {tool}")  # a dead worker: infrastructure, not the agent
                    rec["sandbox_error"] = out["sandbox_error"]
                for ev in out.get("events") or []:
                    events.append({**ev, "step": ev.get("step", out.get("step")), "turn": turn, "index": len(steps)})
            if cid:
                tr.result(cid, result)
            steps.append(rec)
            obs = Observation(kind="tool_result", content=result, tool=tool)
        # -- grading --------------------------------------------------------------------------
        g0 = time.monotonic()
        graded = await _ep(await env.get(), "grade", [c.model_dump() for c in task.checklist],
                           [c.model_dump() for c in task.infeasible_goal])
        env.check_alive("grading")
        checks, goals, final_state = graded["checks"], graded["goals"], graded["state"]
    finally:
        await env.close()
    kinds = {c.id: c for c in task.checklist + task.infeasible_goal}
    for c in checks + goals:
        it = kinds.get(c["id"])
        if it is not None:
            c.setdefault("kind", it.kind)
            c.setdefault("description", it.description)
    checklist_pass = bool(checks) and all(c["passed"] for c in checks)
    fraction = sum(c["passed"] for c in checks) / len(checks) if checks else 0.0
    msgs = getattr(ctx.agent, "messages", None) or tr.messages
    n_calls = sum(1 for s in steps if s["kind"] == "tool")
    record = {
        "schema": SCHEMA, "task_id": task.task_id, "run": ctx.run, "seed": ctx.seed,
        "conflict_type": task.conflict_type, "level": task.level, "domain": task.provenance.domain,
        **ctx.meta,
        "passed": checklist_pass, "fraction": fraction,
        "grade": {"passed": checklist_pass, "fraction": fraction, "checklist_passed": checklist_pass,
                  "items": checks, "infeasible_goal": goals, "judge": None, "graded_by": "checklist"},
        "termination": termination, "error": error, "final_message": final_message, "user_done": user_done,
        "n_turns": n_turns, "n_tool_calls": n_calls, "n_chat": sum(1 for s in steps if s["kind"] == "chat"),
        "n_invalid": sum(1 for s in steps if s["kind"] == "invalid"),
        "events": events, "steps": steps, "messages": stored_messages(msgs),
        "tools": sorted(names), "final_state": final_state,
        "usage": usage,
        "timing": {"started": started, "duration_s": round(time.monotonic() - t0, 4),
                   **{k: round(v, 4) for k, v in timing.items()}, "grade_s": round(time.monotonic() - g0, 4)},
    }
    if task.impossible:
        await judge_record(task, record, ctx.judge)
    return record


async def judge_record(task: Task, record: dict, judge: Judge) -> dict:
    """Grade an impossible task's finished episode with ``judge`` (in place). A judge failure raises
    ``JudgePending`` carrying the episode, so that only the judge is re-run."""
    g = record["grade"]
    try:
        v = await judge.judge(task, record["steps"], record["final_message"], g["infeasible_goal"])
    except LLMError as e:
        if e.status_code in FATAL_STATUS or e.breaker:
            raise classify_llm_error(e, "judge") from e
        raise JudgePending(f"judge model: {e}", record, e.cause) from e
    except asyncio.TimeoutError:
        raise JudgePending("judge model: no verdict in time", record, "timeout") from None
    verdict = v.to_dict()
    _usage_add(record["usage"].setdefault("judge", {}), v.usage)
    passed = g["checklist_passed"] and verdict["passed"]
    g.update(passed=passed, judge=verdict, graded_by=f"checklist+judge:{v.judge}")
    record["passed"] = passed
    return record


def format_exc(e: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(e), e)).strip()
