"""The RL environment's logic, independent of GEM: tasks in, chat messages and rewards out.

``reset(seed)`` draws a task (from a task file, or from the procedural generator's train split) and
returns the chat messages plus OpenAI tool schemas; ``step(action)`` parses the policy's output (Qwen
``<tool_call>`` text or an OpenAI assistant message), runs one tool call (or sends ``chat_with_user`` to
the user simulator) and returns the full message history. The episode ends on a final answer (a reply
without a tool call), at ``max_steps``, when the sandbox dies, or when the trainer forces a stop (any
action that is neither text nor a dict, e.g. ROLL's ``EpisodeStopReason``). The outcome reward comes at
the end; optional shaped terms (``reward.py``, off by default) at the step that earns them. ROLL's native
manager trains one sample per step with that step's reward, so the RL configs use a step-wise return
(``adv_estimator: step_reinforce``) to carry the outcome back to every tool-call turn (``roll_credit``).

Each turn runs through the same ``episode.EpisodeEngine`` as the evaluation loop (validation, execution,
step records, trigger events, grading), so eval and RL record identical steps; the RL side keeps the chat
messages, one tool call executed per turn (extra calls answered with ``EXTRA_CALL``), the judge for
impossible tasks, rewards, and the failure-mode detectors of ``stt_arena.analysis``.
"""
from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path
from typing import Any

from ..agents.base import Action
from ..agents.llm import EXTRA_CALL, NOT_EXECUTED, observation_text
from ..analysis.detectors import FAILURE_MODES, detect
from ..env.schema import tool_specs
from ..episode import EpisodeEngine, InfraError, Opened
from ..judge import make_judge
from ..judge.heuristic import HeuristicJudge
from ..prompts import load_prompt
from ..sandbox.executor import Executor, open_episode
from ..task.io import load_tasks
from ..task.models import CHAT_WITH_USER, Task
from ..user import make_user
from ..user.scripted import ScriptedUser
from .qwen_format import parse_action
from .reward import RewardConfig, outcome_reward

_POOLS: dict[tuple, list[Task]] = {}
_FILES: dict[str, list[Task]] = {}
_LOCK = threading.Lock()
_PKG_PARENT = Path(__file__).resolve().parents[2]
_EXECUTOR: Executor | None = None
FORMAT_HINT = ("Call one tool as <tool_call>{\"name\": ..., \"arguments\": {...}}</tool_call>, or reply "
               "without a tool call to finish.")


def train_pool(size: int, seed: int) -> list[Task]:
    """Procedural train-split tasks (never the benchmark's), built once per process."""
    from ..benchmark.generate import benchmark_fingerprints, generate

    key = (size, seed)
    with _LOCK:
        if key not in _POOLS:
            _POOLS[key] = generate(size, seed, "train", exclude=benchmark_fingerprints())
        return _POOLS[key]


def file_pool(path: str) -> list[Task]:
    """Tasks of a JSONL file; a relative path that is not found from the working directory (ROLL runs from
    its own checkout) is tried from the directory holding the ``stt_arena`` package (stt_arena/data/...)."""
    p = Path(path)
    if not p.is_absolute() and not p.exists() and (_PKG_PARENT / p).exists():
        path = str(_PKG_PARENT / p)
    with _LOCK:
        if path not in _FILES:
            _FILES[path] = load_tasks(path)
        return _FILES[path]


def _shared_executor() -> Executor:
    global _EXECUTOR
    with _LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = Executor()
        return _EXECUTOR


def _client(spec: Any):
    """An LLM client from an object (used as is) or a dict of ``ModelConfig`` fields (from YAML)."""
    if spec is None or not isinstance(spec, dict):
        return spec
    from ..llm.client import LLMClient, ModelConfig
    return LLMClient(ModelConfig(**spec))


class STTArenaCore:
    """One environment; not thread-safe itself, but any number of instances run side by side in threads."""

    def __init__(self, task_file: str | None = None, pool_size: int = 512, pool_seed: int = 0,
                 max_steps: int = 50, sandbox: bool = False, user_client: Any = None, judge_client: Any = None,
                 reward: dict | None = None, max_observation_chars: int = 16000, **_: Any):
        self.tasks = file_pool(task_file) if task_file else None
        self.pool_size, self.pool_seed = pool_size, pool_seed
        self.max_steps = max_steps
        self.sandbox = sandbox
        user_client, judge_client = _client(user_client), _client(judge_client)
        self.user = make_user("llm" if user_client else "scripted", user_client)
        self.judge = make_judge(judge_client)
        self.reward_cfg = RewardConfig.of(reward)
        self.max_obs = max_observation_chars
        self.system_prompt = load_prompt("agent_system")
        self.ep = None
        self.task: Task | None = None
        self.done = True
        self._draws = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- helpers ---------------------------------------------------------------------------
    def _pool(self) -> list[Task]:
        return self.tasks if self.tasks is not None else train_pool(self.pool_size, self.pool_seed)

    def _run(self, factory, sync: bool):
        """Run an async call: the scripted user and the heuristic judge finish without awaiting; LLM ones
        run on this environment's own event loop (their HTTP pools stay bound to one loop)."""
        coro = factory()
        if sync:
            try:
                coro.send(None)
            except StopIteration as e:
                return e.value
            coro.close()
            raise RuntimeError("a synchronous component awaited")
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coro)

    # -- episode lifecycle ---------------------------------------------------------------
    def reset(self, seed: int | None = None) -> tuple[list[dict], dict]:
        self.close()
        pool = self._pool()
        idx = random.Random(seed).randrange(len(pool)) if seed is not None else self._draws % len(pool)
        self._draws += 1
        self.task = task = pool[idx]
        self.ep = open_episode(task, _shared_executor() if self.sandbox else None, self.sandbox)
        self.user.reset(task)
        env = task.environment
        self.mutating = {s.name for s in tool_specs(env.source, env.class_name, env.mutating_tools) if s.mutating}
        self.engine = EpisodeEngine(task, Opened(task.task_id, self.ep), self.user.reply)
        self.tools = self.engine.tools
        self.tool_names = self.engine.names
        self.messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": task.query}]
        self.steps = self.engine.steps
        self.n_steps = self.n_invalid = self.n_calls = 0
        self.trigger_fired = False
        self.detected = self.verified = self.changed_after = False
        self.step_reward = self.episode_return = 0.0  # shaped terms of the current step; sum so far
        self.done = False
        info = {"tools": self.tools, "task_id": task.task_id, "conflict_type": task.conflict_type,
                "level": task.level, "impossible": task.impossible, "error_msg": "", "failure_mode": ""}
        return list(self.messages), info

    def close(self) -> None:
        if self.ep is not None:
            self.ep.close()
            self.ep = None

    # -- one policy output ---------------------------------------------------------------
    def step(self, action: Any) -> tuple[list[dict], float, bool, bool, dict]:
        if self.done or self.task is None:
            raise RuntimeError("step() called on a finished episode: call reset()")
        if action is not None and not isinstance(action, (str, dict)):  # the trainer stops the episode
            return self._finish(f"forced:{getattr(action, 'value', action)}", None, truncated=True)
        self.n_steps += 1
        self.step_reward = 0.0
        turn = self.n_steps - 1
        parsed = parse_action(action)
        if isinstance(action, dict):  # an OpenAI assistant message: keep its tool_calls
            msg = {**action, "role": "assistant"}
            ids = [c.get("id") for c in action.get("tool_calls") or []]
        else:
            msg = {"role": "assistant", "content": parsed.raw}
            ids = []
        self.messages.append(msg)
        fired_before = self.trigger_fired
        try:
            rec, obs = self._run(lambda: self.engine.act(self._action(parsed, action), turn), self._sync_user)
        except InfraError as e:  # the sandbox worker died under the call
            if e.cause != "sandbox_died":
                raise
            return self._finish("sandbox_error", None, failure_mode="sandbox_error")
        if rec["kind"] == "final":
            return self._finish("final", parsed.content)
        if parsed.error:
            self.n_invalid += 1
            self.step_reward -= self.reward_cfg.format_penalty
            text = f"[harness] {parsed.error}. {FORMAT_HINT}"
            if parsed.error.startswith("malformed"):  # a tool call was attempted: answer it as its result
                self._observe(text, ids[0] if ids else None)
            else:  # nothing to attach a tool message to (an empty reply): a user turn, as in the eval loop
                self.messages.append({"role": "user", "content": text})
        else:
            if rec["kind"] == "invalid":
                self.n_invalid += 1
                self.step_reward -= self.reward_cfg.format_penalty
            elif rec["kind"] == "tool":
                self.n_calls += 1
                self.trigger_fired = self.trigger_fired or any(
                    e.get("type") in ("trigger", "in_code_trigger") for e in rec.get("events") or [])
                self._shape(rec["tool"], rec.get("result"), fired_before)
            self._observe(obs.content if obs is not None else "", ids[0] if ids else None)
            for k in range(1, len(parsed.calls)):  # as in the eval loop: only the first call runs
                self._observe(EXTRA_CALL, ids[k] if k < len(ids) else None)
            if not getattr(self.ep, "alive", True):
                return self._finish("sandbox_error", None, failure_mode="sandbox_error")
        if self.n_steps >= self.max_steps:
            return self._finish("max_steps", None, truncated=True)
        reward = self._pay(self.step_reward)
        return list(self.messages), reward, False, False, {"metrics": self._metrics(), "stop_reason": "",
                                                       "use_tool": self.messages[-1]["role"] == "tool"}

    @property
    def _sync_user(self) -> bool:
        return isinstance(self.user, ScriptedUser)

    @staticmethod
    def _action(parsed, raw: Any) -> Action:
        """The policy output as the engine's Action (one call: the first)."""
        message = raw if isinstance(raw, dict) else {"reasoning_content": parsed.thought, "content": parsed.content}
        if parsed.error:
            return Action(kind="tool", tool="", message=message, note=NOT_EXECUTED + parsed.error)
        if parsed.is_final:
            return Action(kind="final", content=parsed.content, message=message)
        call = parsed.calls[0]
        if call["name"] == CHAT_WITH_USER:
            args = call["arguments"]
            return Action(kind="chat", content=str(args.get("message", args.get("content", ""))), message=message)
        return Action(kind="tool", tool=call["name"], arguments=call["arguments"], message=message)

    def _observe(self, content: Any, call_id: str | None) -> None:
        msg = {"role": "tool", "content": observation_text(content, self.max_obs)}
        if call_id:
            msg["tool_call_id"] = call_id
        self.messages.append(msg)

    def _finish(self, why: str, final: str | None, truncated: bool = False, failure_mode: str = ""):
        self.done = True
        task = self.task
        assert task is not None  # step() checked it
        if why != "final":
            self.engine.stop(why)
        graded = self._run(lambda: self.engine.grade(strict=False), True)
        checks, goals = graded["checks"], graded["goals"]
        verdict = None
        if task.impossible:
            verdict = self._run(lambda: self.judge.judge(task, self.steps, final, goals),
                                isinstance(self.judge, HeuristicJudge)).to_dict()
        outcome, passed, fraction = outcome_reward(self.reward_cfg, checks, verdict)
        forced = final is None and why.startswith("forced:")
        reward = self._pay(outcome + (0.0 if forced else self.step_reward), final=True)
        findings = detect(self.steps, self.mutating, task.impossible)
        modes = {m: any(f.mode == m for f in findings) for m in FAILURE_MODES}
        if not failure_mode and not passed:
            failure_mode = next((m for m in FAILURE_MODES if modes[m]), "")
        metrics = {**self._metrics(), "success": passed, "checklist_fraction": fraction,
                   "reward": self.episode_return, "outcome_reward": outcome,
                   "final_answer": final is not None, **{f"mode_{m}": v for m, v in modes.items()}}
        info = {"metrics": metrics, "metrics_agg_mode": {k: "last" for k in metrics}, "stop_reason": why,
                "use_tool": False, "failure_mode": failure_mode,
                "grade": {"items": checks, "infeasible_goal": goals, "judge": verdict},
                "findings": [f.to_dict() for f in findings],
                "error_messages": [s["error"] for s in self.steps if s.get("kind") == "invalid"],
                "task_id": task.task_id}
        self.close()
        return list(self.messages), reward, True, truncated, info

    def _shape(self, tool: str, result: Any, fired_before: bool) -> None:
        """Shaped terms of one executed call (each paid once per episode; zero weights: nothing)."""
        if not fired_before:
            return
        ok = not (isinstance(result, dict) and result.get("success") is False)
        if tool in self.mutating:
            self.changed_after = self.changed_after or ok
        elif ok:
            if not self.detected:
                self.detected = True
                self.step_reward += self.reward_cfg.detection_bonus
            elif self.changed_after and not self.verified:
                self.verified = True
                self.step_reward += self.reward_cfg.verification_bonus

    def _pay(self, r: float, final: bool = False) -> float:
        """This step's reward; the last one keeps the episode's return at or above ``min_reward``."""
        if final:
            r = max(r, self.reward_cfg.min_reward - self.episode_return)
        self.episode_return += r
        return r

    def _metrics(self) -> dict:
        """Numbers only (ROLL averages them with float())."""
        return {"trigger_fired": self.trigger_fired, "n_calls": self.n_calls, "n_invalid": self.n_invalid,
                "n_turns": self.n_steps}

    @property
    def env_info(self) -> dict:
        t = self.task
        return {} if t is None else {"task_id": t.task_id, "conflict_type": t.conflict_type, "level": t.level,
                                     "n_turns": self.n_steps, "n_calls": self.n_calls}
