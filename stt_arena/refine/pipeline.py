"""Refine trajectory records, replay every refined trajectory, keep only passing, consistent ones.

Per record: (a) a passing record with no failure mode is re-played unchanged (kept as ``unchanged`` if
the replay still passes); (b) otherwise the three stages run in order (rule-based or LLM rewrite), each
followed by a replay that recomputes every tool result from a fresh environment; (c) the final
trajectory is kept only if it is consistent (no invalid turns, a trigger fired, messages align with the
steps, a second replay reproduces the same results), passes the checklist (and the judge, for
impossible tasks), shows none of the three failure modes, and talks to the user as a good agent does
(``narrative.problems``: the final message reports each changed value and the figure the user asked for;
withheld facts a departure from the request relies on were asked for; a diagnosis names the observation).
Passing records that fall short only there get the communication stage. Everything else is rejected with a
reason. A replay that hits a transient sandbox failure (a dead or unresponsive worker) is retried.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from ..analysis.detectors import FAILURE_MODES, analyze_record, trigger_index
from ..judge.base import Judge
from ..task.models import FINAL_MESSAGE, Task
from ..episode.loop import InfraError
from ..sandbox.executor import SandboxError
from . import narrative
from .replay import blocks_of, replay_blocks, system_prompt_of
from .rules import STAGES, TaskInfo, fill_final, stage_communication

TRANSIENT = (InfraError, SandboxError, ConnectionError, TimeoutError, asyncio.TimeoutError, BrokenPipeError)

log = logging.getLogger("stt_arena.refine")
Opener = Callable[[Task], Awaitable[Any]]


@dataclass
class Outcome:
    task_id: str
    model: str
    status: str  # unchanged | refined | rejected
    reason: str = ""
    detail: str = ""
    record: dict | None = None
    source: dict | None = None
    stages: list[dict] = field(default_factory=list)

    def rejection(self) -> dict:
        return {"task_id": self.task_id, "run": (self.source or {}).get("run"), "model": self.model,
                "reason": self.reason, "detail": self.detail, "stages": self.stages,
                "source_modes": analyze_record(self.source or {})["modes"] if self.source else {}}


def n_calls(rec: dict | None) -> int:
    return sum(1 for s in (rec or {}).get("steps") or [] if s.get("kind") in ("tool", "invalid"))


def _results_key(rec: dict) -> list:
    return [(s.get("kind"), s.get("tool"), json.dumps(s.get("result"), sort_keys=True, default=str),
             [e.get("trigger_id") for e in s.get("events") or []]) for s in rec["steps"]]


def consistency_problems(rec: dict, again: dict | None = None) -> list[str]:
    """Structural checks of a replayed trajectory record."""
    out = []
    steps = rec.get("steps") or []
    if any(s.get("kind") == "invalid" for s in steps):
        out.append("invalid turn")
    if trigger_index(steps) is None:
        out.append("no trigger fired")
    if not steps or steps[-1].get("kind") != "final" or not (steps[-1].get("content") or "").strip():
        out.append("no final message")
    msgs = rec.get("messages") or []
    pending = None
    n_tool_msgs = 0
    for m in msgs[2:]:
        if m.get("role") == "assistant" and m.get("tool_calls"):
            if pending is not None:
                out.append("tool call without result")
            pending = m["tool_calls"][0]["id"]
        elif m.get("role") == "tool":
            if m.get("tool_call_id") != pending:
                out.append("tool result without call")
            pending = None
            n_tool_msgs += 1
    if n_tool_msgs != sum(1 for s in steps if s.get("kind") in ("tool", "chat")):
        out.append("messages do not match steps")
    if again is not None and _results_key(again) != _results_key(rec):
        out.append("replay is not deterministic")
    return out


class Refiner:
    """Shared state for refining many records: tasks, episode opener, judge, per-task reference replays."""

    def __init__(self, tasks: dict[str, Task], open_episode: Opener, mode: str = "rules", llm=None,
                 judge: Judge | None = None, check_determinism: bool = True, retries: int = 2,
                 retry_delay_s: float = 0.2):
        if mode not in ("rules", "llm"):
            raise ValueError("mode must be 'rules' or 'llm'")
        if mode == "llm" and llm is None:
            raise ValueError("the llm mode needs an LLM rewriter")
        self.tasks, self.open_episode, self.mode, self.llm = tasks, open_episode, mode, llm
        self.judge = judge
        self.check_determinism = check_determinism
        self.retries, self.retry_delay_s = retries, retry_delay_s
        self.transient_retries = 0  # replays repeated after a transient sandbox failure (all records)
        self._info: dict[str, TaskInfo] = {}
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def info(self, task: Task) -> TaskInfo:
        async with self._locks[task.task_id]:
            if task.task_id not in self._info:
                blocks: list[dict[str, Any]] = []
                for st in task.plans.oracle:
                    if st.method == FINAL_MESSAGE:
                        blocks.append({"kind": "final", "content": str(st.arguments.get("content", ""))})
                    else:
                        blocks.append({"kind": "tool", "tool": st.method, "arguments": dict(st.arguments)})
                oracle = await self.replay(task, blocks) if blocks else None
                self._info[task.task_id] = TaskInfo.of(task, oracle)
            return self._info[task.task_id]

    async def replay(self, task: Task, blocks: list[dict], source: dict | None = None) -> dict:
        meta = {k: source[k] for k in ("model", "user_sim", "judge") if source and k in source}
        for attempt in range(self.retries + 1):
            try:
                rec = await replay_blocks(task, blocks, self.open_episode, self.judge, system_prompt_of(source),
                                          meta, run=int((source or {}).get("run") or 0))
                bad = next((s["sandbox_error"] for s in rec["steps"] if s.get("sandbox_error")), None)
                if bad is None:
                    return rec
                err: Exception = InfraError(f"sandbox error during replay: {bad}", "sandbox")
            except TRANSIENT as e:
                err = e
            if attempt == self.retries:
                raise err
            self.transient_retries += 1
            log.warning("transient failure replaying %s (%s); retry %d/%d", task.task_id, err, attempt + 1,
                        self.retries)
            await asyncio.sleep(self.retry_delay_s * (attempt + 1))
        raise AssertionError("unreachable")

    async def _finish(self, task: Task, blocks: list[dict], info: TaskInfo, source: dict) -> dict:
        rec = await self.replay(task, blocks, source)
        if any(b.get("needs_message") for b in blocks):
            rec = await self.replay(task, fill_final(blocks, rec, info), source)
        return rec

    async def refine(self, source: dict) -> Outcome:
        tid, model = str(source.get("task_id")), str(source.get("model") or "?")
        out = Outcome(tid, model, "rejected", source=source)
        task = self.tasks.get(tid)
        if task is None:
            out.reason, out.detail = "task_not_found", f"no task {tid!r} in the task set"
            return out
        try:
            info = await self.info(task)
            modes = analyze_record(source, task)["modes"]
            rec: dict | None
            if source.get("passed") and not any(modes.values()):
                rec = await self.replay(task, blocks_of(source), source)
                out.status, out.record = "unchanged", rec
                res = stage_communication(rec, info)
                if res.changed:  # passing, but silent about a change or relying on an unasked fact
                    out.stages.append({"stage": "communication", "edits": res.edits})
                    out.status = "refined"
                    rec = await self._finish(task, res.blocks, info, source)
            elif self.mode == "rules":
                rec = await self._rules(task, info, source, out)
            else:
                rec = await self.llm.refine(self, task, info, source, out)
            if rec is None:
                return out
            return await self._validate(task, rec, source, out)
        except Exception as e:  # noqa: BLE001 - one bad record must not stop the batch
            log.exception("refining %s failed", tid)
            out.status, out.reason, out.detail = "rejected", "replay_error", f"{type(e).__name__}: {e}"
            return out

    async def _rules(self, task: Task, info: TaskInfo, source: dict, out: Outcome) -> dict | None:
        if trigger_index(source.get("steps") or []) is None:
            out.reason, out.detail = "no_trigger_in_trajectory", "the change never happened in this trajectory"
            return None
        rec = source
        for name, stage in STAGES:
            res = stage(rec, info)
            out.stages.append({"stage": name, "edits": res.edits})
            if res.changed:
                rec = await self._finish(task, res.blocks, info, source)
                for blocks, edits in res.alternatives:  # other candidate edits, first passing replay wins
                    if rec["passed"]:
                        break
                    rec = await self._finish(task, blocks, info, source)
                    out.stages[-1] = {"stage": name, "edits": edits}
        if rec is source:
            out.reason, out.detail = "no_edit", "no rule applied"
            return None
        return rec

    async def _validate(self, task: Task, rec: dict, source: dict, out: Outcome) -> Outcome:
        again = await self.replay(task, blocks_of(rec), source) if self.check_determinism else None
        problems = consistency_problems(rec, again)
        out.record = rec
        if problems:
            out.status, out.reason, out.detail = "rejected", "inconsistent", "; ".join(problems)
            return out
        if not rec["passed"]:
            g = rec["grade"]
            if not g["checklist_passed"]:
                out.reason = "replay_failed_checklist"
                out.detail = ", ".join(c["id"] for c in g["items"] if not c["passed"])
            else:
                out.reason, out.detail = "replay_failed_judge", (g.get("judge") or {}).get("evidence", "")
            out.status = "rejected"
            return out
        left = [m for m, v in analyze_record(rec, task)["modes"].items() if v]
        if left:
            out.status, out.reason, out.detail = "rejected", "failure_mode_remains", ", ".join(left)
            return out
        info = await self.info(task)
        talk = narrative.problems(rec, task, info.mutating) + narrative.diagnosis_problems(rec, info.mutating)
        if talk:
            reason = ("unasked_withheld_fact" if any(p.startswith("relies") for p in talk) else
                      "final_message_incomplete" if any(p.startswith("final") for p in talk) else "diagnosis_unnamed")
            out.status, out.reason, out.detail = "rejected", reason, "; ".join(talk)
            return out
        if out.status != "unchanged":
            out.status = "refined"
        rec["model"] = f"{out.model}+refined"
        rec["refine"] = {"status": out.status, "mode": self.mode, "source_model": out.model,
                         "source_passed": bool(source.get("passed")),
                         "source_modes": analyze_record(source, task)["modes"], "stages": out.stages,
                         "calls_before": n_calls(source), "calls_after": n_calls(rec)}
        return out


async def refine_all(refiner: Refiner, records: list[dict], concurrency: int = 4,
                     progress: bool = False) -> list[Outcome]:
    sem = asyncio.Semaphore(concurrency)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(records), desc=f"refine ({refiner.mode})", unit="traj", dynamic_ncols=True)

    async def one(r: dict) -> Outcome:
        async with sem:
            o = await refiner.refine(r)
            if bar is not None:
                bar.update(1)
            return o

    try:
        return list(await asyncio.gather(*(one(r) for r in records)))
    finally:
        if bar is not None:
            bar.close()


def statistics(outcomes: list[Outcome]) -> dict:
    """in, kept (unchanged + refined), rejected by reason, average calls before/after, failure modes."""
    refined = [o for o in outcomes if o.status == "refined"]
    kept = [o for o in outcomes if o.status in ("refined", "unchanged")]
    rej = Counter(o.reason for o in outcomes if o.status == "rejected")

    def avg(xs):
        return round(sum(xs) / len(xs), 3) if xs else None

    per_model: dict[str, dict] = {}
    for m in sorted({o.model for o in outcomes}):
        os_ = [o for o in outcomes if o.model == m]
        rf = [o for o in os_ if o.status == "refined"]
        per_model[m] = {"in": len(os_), "source_passed": sum(bool(o.source.get("passed")) for o in os_ if o.source),
                        "refined": len(rf), "unchanged": sum(o.status == "unchanged" for o in os_),
                        "rejected": dict(Counter(o.reason for o in os_ if o.status == "rejected")),
                        "avg_calls_before": avg([n_calls(o.source) for o in rf]),
                        "avg_calls_after": avg([n_calls(o.record) for o in rf])}
    modes_in = {m: 0 for m in FAILURE_MODES}
    modes_fixed = {m: 0 for m in FAILURE_MODES}
    for o in outcomes:
        if o.source is None:
            continue
        src = analyze_record(o.source)["modes"]
        for m in FAILURE_MODES:
            modes_in[m] += src[m]
            modes_fixed[m] += src[m] and o.status == "refined"
    return {"in": len(outcomes), "kept": len(kept), "refined": len(refined),
            "unchanged": sum(o.status == "unchanged" for o in outcomes),
            "rejected": sum(rej.values()), "rejected_by_reason": dict(rej),
            "avg_calls_before": avg([n_calls(o.source) for o in refined]),
            "avg_calls_after": avg([n_calls(o.record) for o in refined]),
            "failure_modes_in": modes_in, "failure_modes_fixed": modes_fixed, "per_model": per_model}


def write_outputs(outcomes: list[Outcome], output: str | Path, config: dict | None = None,
                  transient_retries: int = 0) -> dict:
    from ..results.store import _dumps
    root = Path(output)
    root.mkdir(parents=True, exist_ok=True)
    kept = [o.record for o in outcomes if o.status in ("refined", "unchanged") and o.record is not None]
    seen: Counter = Counter()
    for r in kept:  # several source models per task: distinct runs, so results readers keep them all
        r.setdefault("refine", {})["source_run"] = r.get("run")
        r["run"] = seen[r["task_id"]]
        seen[r["task_id"]] += 1
    (root / "results.jsonl").write_text("".join(_dumps(r) + "\n" for r in kept), encoding="utf-8")
    (root / "rejected.jsonl").write_text("".join(_dumps(o.rejection()) + "\n" for o in outcomes
                                                 if o.status == "rejected"), encoding="utf-8")
    stats = {**statistics(outcomes), "transient_retries": transient_retries}
    (root / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    (root / "config.json").write_text(json.dumps({"label": "refined", "refine": config or {}}, indent=2) + "\n")
    return stats


def make_opener(sandbox: bool):
    """(async opener, closer) for sandboxed or in-process episodes."""
    if sandbox:
        from ..sandbox.executor import Executor
        ex = Executor()

        async def open_sb(task: Task):
            return await ex.aopen(task)
        return open_sb, ex.close
    from ..benchmark.validity import open_local

    async def open_lo(task: Task):
        return open_local(task)
    return open_lo, (lambda: None)
