"""One episode as the eval loop and refinement replay run it: the asyncio driver of ``EpisodeEngine``
(agent <-> sandboxed environment <-> user simulator, then grading and the judge), with the model calls'
deadlines, usage, timing and the trajectory record (``results.record.TrajectoryRecord``).
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from ..agents.base import Action, Agent, Observation
from ..agents.llm import observation_text
from .engine import MAX_STORED_CHARS, EpisodeEngine, agent_tools, cap
from .env import Opening
from .errors import (FATAL_STATUS, FatalEvalError, InfraError, JudgePending, classify_llm_error,
                              format_exc)
from ..judge.base import Judge
from ..llm.client import LLMError
from ..results.record import SCHEMA_V1
from ..task.models import CHAT_WITH_USER, Task
from ..user.base import UserSimulator
from ..util.aio import within

SCHEMA = SCHEMA_V1
__all__ = ["EpisodeContext", "run_episode", "judge_record", "agent_tools", "cap", "stored_messages",
           "InfraError", "JudgePending", "FatalEvalError", "classify_llm_error", "format_exc"]


def _timeout(who: str, role: str, timeout_s: float) -> InfraError:
    return InfraError(f"{who}: the episode's {timeout_s:g}s deadline passed while waiting for the model "
                      f"endpoint (slow or hanging); not the agent's failure", role, "episode_timeout")


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


def _usage_add(acc: dict, u: dict | None) -> None:
    for k in ("prompt_tokens", "completion_tokens", "cost"):
        if u and u.get(k):
            acc[k] = acc.get(k, 0) + u[k]
    if u:
        acc["calls"] = acc.get("calls", 0) + (1 if "prompt_tokens" in u else 0)


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

    def step(self, action: Action, rec: dict, obs: Observation | None) -> None:
        if rec["kind"] == "final":
            self.messages.append({"role": "assistant", "content": cap(action.content or "")})
            return
        name = CHAT_WITH_USER if rec["kind"] == "chat" else rec.get("tool")
        if not name:
            return
        args = {"message": action.content or ""} if rec["kind"] == "chat" else action.arguments or {}
        cid = f"call_{rec['index']}"
        self.messages.append({"role": "assistant", "content": "", "tool_calls": [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]})
        if obs is not None:
            self.messages.append({"role": "tool", "tool_call_id": cid, "content": observation_text(obs.content, 16000)})


async def run_episode(ctx: EpisodeContext) -> dict:
    """Play one episode and return its trajectory record (raises InfraError / FatalEvalError)."""
    task = ctx.task
    t0, started = time.monotonic(), datetime.now(timezone.utc).isoformat()
    deadline = t0 + ctx.timeout_s
    usage: dict[str, dict] = {"agent": {}, "user": {}, "judge": {}}
    timing = {"agent_s": 0.0, "env_s": 0.0, "user_s": 0.0}

    async def reply(content: str):
        u0 = time.monotonic()
        try:
            r = await within(ctx.user.reply(content), max(1.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            raise _timeout("user simulator model", "user", ctx.timeout_s) from None
        except LLMError as e:
            raise classify_llm_error(e, "user simulator") from e
        finally:
            timing["user_s"] += time.monotonic() - u0
        _usage_add(usage["user"], r.usage)
        return r

    env = Opening(task.task_id, ctx.open_episode(task))  # starts now; the agent's first request overlaps it
    eng = EpisodeEngine(task, env, reply)
    ctx.agent.reset(task, eng.tools, ctx.system_prompt, task.query)
    ctx.user.reset(task)
    tr = _Transcript(ctx.system_prompt, task.query)
    error = None
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
                eng.stop("agent_error")  # e.g. HTTP 400 context overflow: the model's fault
                error = str(e)
                break
            finally:
                timing["agent_s"] += time.monotonic() - a0
            n_turns += 1
            _usage_add(usage["agent"], action.usage)
            rec, obs = await eng.act(action, turn)
            tr.step(action, rec, obs)
            if eng.done:
                break
        g0 = time.monotonic()
        graded = await eng.grade()
    finally:
        await env.close()
    timing["env_s"] = eng.env_s
    checks, goals, final_state = graded["checks"], graded["goals"], graded["state"]
    checklist_pass = bool(checks) and all(c["passed"] for c in checks)
    fraction = sum(c["passed"] for c in checks) / len(checks) if checks else 0.0
    msgs = getattr(ctx.agent, "messages", None) or tr.messages
    steps = eng.steps
    record = {
        "schema": SCHEMA, "task_id": task.task_id, "run": ctx.run, "seed": ctx.seed,
        "conflict_type": task.conflict_type, "level": task.level, "domain": task.provenance.domain,
        **ctx.meta,
        "passed": checklist_pass, "fraction": fraction,
        "grade": {"passed": checklist_pass, "fraction": fraction, "checklist_passed": checklist_pass,
                  "items": checks, "infeasible_goal": goals, "judge": None, "graded_by": "checklist"},
        "termination": eng.termination, "error": error, "final_message": eng.final_message,
        "user_done": eng.user_done, "n_turns": n_turns,
        "n_tool_calls": sum(1 for s in steps if s["kind"] == "tool"),
        "n_chat": sum(1 for s in steps if s["kind"] == "chat"),
        "n_invalid": sum(1 for s in steps if s["kind"] == "invalid"),
        "events": eng.events, "steps": steps, "messages": stored_messages(msgs),
        "tools": sorted(eng.names), "final_state": final_state,
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
