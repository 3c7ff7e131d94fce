"""The RL environment's logic, independent of GEM: tasks in, chat messages and rewards out.

``reset(seed)`` draws a task (from a task file, or from the procedural generator's train split) and
returns the chat messages plus OpenAI tool schemas; ``step(text)`` parses the policy's output, runs one
tool call (or sends ``chat_with_user`` to the user simulator) and returns the full message history.
The episode ends on a final answer (no tool call), at ``max_steps``, or when the sandbox dies.
"""
from __future__ import annotations

import asyncio
import json
import random
import threading
from typing import Any

from ..eval.orchestrator import agent_tools
from ..eval.prompts import load_prompt
from ..judge import make_judge
from ..judge.heuristic import HeuristicJudge
from ..replay import grade
from ..sandbox.executor import Executor, open_episode
from ..task.io import load_tasks
from ..task.models import CHAT_WITH_USER, FINAL_MESSAGE, Task
from ..user import make_user
from ..user.scripted import ScriptedUser
from .qwen_format import parse_action
from .reward import RewardConfig, episode_reward

_POOLS: dict[tuple, list[Task]] = {}
_POOL_LOCK = threading.Lock()
_EXECUTOR: Executor | None = None


def train_pool(size: int, seed: int) -> list[Task]:
    """Procedural train-split tasks (never the benchmark's), built once per process."""
    from ..generator.core import benchmark_fingerprints, generate

    key = (size, seed)
    with _POOL_LOCK:
        if key not in _POOLS:
            _POOLS[key] = generate(size, seed, "train", exclude=benchmark_fingerprints())
        return _POOLS[key]


def _shared_executor() -> Executor:
    global _EXECUTOR
    with _POOL_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = Executor()
        return _EXECUTOR


def _run(factory, sync: bool):
    """Run an async call: built-in scripted users and heuristic judges finish without awaiting."""
    coro = factory()
    if sync:
        try:
            coro.send(None)
        except StopIteration as e:
            return e.value
        coro.close()
        raise RuntimeError("a synchronous component awaited")
    return asyncio.run(coro)


class STTArenaCore:
    def __init__(self, task_file: str | None = None, pool_size: int = 512, pool_seed: int = 0,
                 max_steps: int = 50, sandbox: bool = False, user_client=None, judge_client=None,
                 reward: dict | None = None, max_observation_chars: int = 16000, **_: Any):
        self.tasks = load_tasks(task_file) if task_file else None
        self.pool_size, self.pool_seed = pool_size, pool_seed
        self.max_steps = max_steps
        self.sandbox = sandbox
        self.user = make_user("llm" if user_client else "scripted", user_client)
        self.judge = make_judge(judge_client)
        self.reward_cfg = RewardConfig(**(reward or {}))
        self.max_obs = max_observation_chars
        self.system_prompt = load_prompt("agent_system")
        self.ep = None
        self.task: Task | None = None
        self._draws = 0

    # -- episode lifecycle ---------------------------------------------------------------
    def _pool(self) -> list[Task]:
        return self.tasks if self.tasks is not None else train_pool(self.pool_size, self.pool_seed)

    def reset(self, seed: int | None = None) -> tuple[list[dict], dict]:
        self.close()
        pool = self._pool()
        idx = random.Random(seed).randrange(len(pool)) if seed is not None else self._draws % len(pool)
        self._draws += 1
        self.task = pool[idx]
        self.ep = open_episode(self.task, _shared_executor() if self.sandbox else None, self.sandbox)
        self.user.reset(self.task)
        self.tools = agent_tools(self.task)
        self.tool_names = {t["function"]["name"] for t in self.tools}
        self.messages = [{"role": "system", "content": self.system_prompt},
                         {"role": "user", "content": self.task.query}]
        self.steps: list[dict] = []
        self.events: list[dict] = []
        self.n_steps = self.n_invalid = 0
        self.done = False
        info = {"tools": self.tools, "task_id": self.task.task_id, "conflict_type": self.task.conflict_type,
                "level": self.task.level, "error_msg": "", "failure_mode": ""}
        return list(self.messages), info

    def close(self) -> None:
        if self.ep is not None:
            self.ep.close()
            self.ep = None

    # -- one policy output ---------------------------------------------------------------
    def step(self, action: Any) -> tuple[list[dict], float, bool, bool, dict]:
        if self.done or self.task is None:
            raise RuntimeError("step() called on a finished episode: call reset()")
        self.n_steps += 1
        parsed = parse_action(action)
        if isinstance(action, dict):  # an OpenAI assistant message: keep its tool_calls
            self.messages.append({**action, "role": "assistant"})
        else:
            self.messages.append({"role": "assistant", "content": str(action)})
        if parsed.error:
            self.n_invalid += 1
            self.steps.append({"kind": "invalid", "error": parsed.error, "thought": parsed.thought})
            self._observe("tool", f"[harness] {parsed.error}. Call one tool as <tool_call>{{\"name\": ..., "
                                  f"\"arguments\": {{...}}}}</tool_call>, or answer without a tool call to finish.")
        elif parsed.is_final:
            self.ep.record_message(FINAL_MESSAGE, parsed.content)
            self.steps.append({"kind": "final", "content": parsed.content, "thought": parsed.thought})
            return self._finish("final", parsed.content)
        else:
            call, extra = parsed.calls[0], len(parsed.calls) - 1
            result = self._execute(call["name"], call["arguments"], parsed.thought)
            if extra:
                result = {"result": result, "note": f"{extra} further tool call(s) in that turn were not run"}
            self._observe("tool", json.dumps(result, ensure_ascii=False))
            if not getattr(self.ep, "alive", True):
                return self._finish("sandbox_error", None)
        if self.n_steps >= self.max_steps:
            return self._finish("max_steps", None, truncated=True)
        return list(self.messages), 0.0, False, False, {"metrics": self._metrics(), "stop_reason": ""}

    def _observe(self, role: str, content: str) -> None:
        if len(content) > self.max_obs:
            content = content[: self.max_obs] + f"...[truncated {len(content) - self.max_obs} characters]"
        self.messages.append({"role": role, "content": content})

    def _execute(self, name: str, args: dict, thought: str) -> Any:
        if name == CHAT_WITH_USER:
            msg = str(args.get("message", args.get("content", "")))
            self.ep.record_message(CHAT_WITH_USER, msg)
            reply = _run(lambda: self.user.reply(msg), isinstance(self.user, ScriptedUser))
            self.steps.append({"kind": "chat", "content": msg, "reply": reply.text, "thought": thought})
            return {"user": reply.text}
        if name not in self.tool_names:
            self.n_invalid += 1
            res = {"success": False, "error": f"Unknown tool '{name}'"}
            self.steps.append({"kind": "invalid", "tool": name, "arguments": args, "error": res["error"]})
            return res
        out = self.ep.call(name, args)
        self.events += out.get("events") or []
        self.steps.append({"kind": "tool", "tool": name, "arguments": args, "result": out["result"],
                           "events": out.get("events") or [], "step": out.get("step"), "thought": thought})
        return out["result"]

    def _finish(self, why: str, final: str | None, truncated: bool = False):
        self.done = True
        checks, goals = grade(self.task, self.ep)
        verdict = None
        if self.task.impossible:
            verdict = _run(lambda: self.judge.judge(self.task, self.steps, final, goals),
                           isinstance(self.judge, HeuristicJudge)).to_dict()
        reward, passed, fraction = episode_reward(self.reward_cfg, checks, verdict, self.n_invalid)
        metrics = {**self._metrics(), "success": passed, "checklist_fraction": fraction, "reward": reward}
        info = {"metrics": metrics, "metrics_agg_mode": {k: "last" for k in metrics}, "stop_reason": why,
                "grade": {"items": checks, "infeasible_goal": goals, "judge": verdict}, "failure_mode": "",
                "error_messages": [s["error"] for s in self.steps if s.get("kind") == "invalid"],
                "task_id": self.task.task_id}
        self.close()
        return list(self.messages), reward, True, truncated, info

    def _metrics(self) -> dict:
        fired = [e for e in self.events if e.get("type") in ("trigger", "in_code_trigger")]
        first = min((e.get("step") or 0 for e in fired), default=None)
        calls = [s for s in self.steps if s.get("kind") == "tool"]
        mutating = {t["name"] for t in (self.ep.list_tools() if self.ep else []) if t.get("mutating")}
        after = [s for s in calls if first is not None and (s.get("step") or 0) > first]
        last_change = max((i for i, s in enumerate(calls) if s["tool"] in mutating and s["result"].get("success")),
                          default=None)
        return {
            "trigger_fired": bool(fired), "n_calls": len(calls), "n_invalid": self.n_invalid,
            "queried_after_trigger": any(s["tool"] not in mutating for s in after),
            "verified_at_end": last_change is not None and any(
                s["tool"] not in mutating for s in calls[last_change + 1:]),
            "repeated_failing_call": any(
                a["tool"] == b["tool"] and a["arguments"] == b["arguments"] and not a["result"].get("success")
                for a, b in zip(calls, calls[1:])),
        }
