"""Gate I10: shortcut policies. Every cheap, non-reasoning policy of ``stt_arena.agents.shortcuts`` plays every
task through the project's own episode loop (``EpisodeLoop``: scripted user, offline heuristic judge, the
real checklist grading); each policy must pass at most ``threshold`` (5%) of the tasks of every level.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable

from ...agents.base import Agent
from ...agents.shortcuts import SHORTCUT_POLICIES
from ...eval.config import BUILTIN_PREFIX, EvalConfig
from ...prompts import load_prompt
from ...eval.runner import LEVEL_NAMES, EpisodeLoop
from ...llm.client import ModelConfig
from ...task.models import Task
from . import GateResult

GATE = "I10"
REASON = "shortcut_passes"


@dataclass
class ShortcutReport:
    """Pass results per policy and task, rates per (policy, level), and the ``rate <= threshold`` check."""

    policies: list[str]
    threshold: float
    passed: dict[str, dict[str, bool]]          # task_id -> policy -> passed
    levels: dict[str, str]                      # task_id -> level
    errors: list[dict] = field(default_factory=list)  # episodes that could not run (infra), not passes
    judge: str = ""
    wall_s: float = 0.0
    traces: dict[str, dict[str, dict]] = field(default_factory=dict)  # task_id -> policy -> trace of a pass
    judged: dict[str, dict[str, bool]] = field(default_factory=dict)  # impossible task -> policy -> judge verdict

    def judge_rate(self, policy: str) -> tuple[int, int]:
        """(accepted, impossible tasks): how often the judge alone accepted the policy's messages (whatever
        the checklist said): what stands between the policy and a pass once the other items are met."""
        return sum(v.get(policy, False) for v in self.judged.values()), len(self.judged)

    def rate(self, policy: str, level: str) -> tuple[int, int]:
        """(passed, tasks) of ``policy`` on the tasks of ``level``."""
        ids = [t for t, lv in self.levels.items() if lv == level]
        return sum(self.passed.get(t, {}).get(policy, False) for t in ids), len(ids)

    def offenders(self, policy: str, level: str) -> list[str]:
        return sorted(t for t, lv in self.levels.items() if lv == level and self.passed.get(t, {}).get(policy))

    def level_checks(self) -> dict[str, dict]:
        """Per level: the highest policy pass rate, ok, and per offending policy the tasks it passed."""
        out = {}
        for lv in LEVEL_NAMES:
            n = sum(1 for x in self.levels.values() if x == lv)
            if not n:
                continue
            rates = {p: self.rate(p, lv)[0] / n for p in self.policies}
            bad = {p: {"rate": r, "tasks": self.offenders(p, lv)} for p, r in rates.items() if r > self.threshold}
            out[lv] = {"tasks": n, "max_rate": max(rates.values(), default=0.0), "ok": not bad, "offenders": bad}
        return out

    @property
    def ok(self) -> bool:
        return not self.errors and all(c["ok"] for c in self.level_checks().values())

    def task_gate(self, task_id: str) -> GateResult:
        """I10 for one task: failed when some policy passes it."""
        won = [p for p in self.policies if self.passed.get(task_id, {}).get(p)]
        errs = [e for e in self.errors if e["task_id"] == task_id]
        if errs:
            return GateResult(GATE, False, "shortcut_episode_error", f"{len(errs)} episode(s) did not run",
                              {"errors": errs})
        if won:
            return GateResult(GATE, False, REASON, f"passed by shortcut policies: {', '.join(won)}",
                              {"policies": won, "traces": {p: self.traces.get(task_id, {}).get(p) for p in won}})
        return GateResult(GATE, True, stats={"policies": len(self.policies)})

    def gate(self) -> GateResult:
        """I10 over the task set: every (policy, level) rate at most the threshold."""
        checks = self.level_checks()
        bad = {lv: c["offenders"] for lv, c in checks.items() if not c["ok"]}
        detail = "; ".join(f"{lv}: " + ", ".join(f"{p} {100 * o['rate']:.1f}%" for p, o in offs.items())
                           for lv, offs in bad.items())
        if self.errors:
            detail = (detail + "; " if detail else "") + f"{len(self.errors)} episode(s) did not run"
        return GateResult(GATE, self.ok, "" if self.ok else (REASON if bad else "shortcut_episode_error"),
                          detail, {"offenders": bad, "errors": self.errors[:20]},
                          {"threshold": self.threshold, "max_rate": {lv: c["max_rate"] for lv, c in checks.items()},
                           "episodes": len(self.levels) * len(self.policies), "judge": self.judge,
                           "wall_s": round(self.wall_s, 2)})

    def table(self) -> list[list[str]]:
        """Rows ``[policy, easy %, medium %, ...]`` (percent of the level's tasks passed) and a header."""
        levels = [lv for lv in LEVEL_NAMES if lv in self.levels.values()]
        rows = [["policy", *levels]]
        for p in self.policies:
            row = [p]
            for lv in levels:
                k, n = self.rate(p, lv)
                row.append(f"{100 * k / n:.1f}" + ("*" if k / n > self.threshold else ""))
            rows.append(row)
        return rows

    def to_dict(self) -> dict:
        return {"policies": self.policies, "threshold": self.threshold, "ok": self.ok, "judge": self.judge,
                "wall_s": self.wall_s, "levels": self.level_checks(), "passed": self.passed,
                "judge_accepted": self.judged, "errors": self.errors}


def trace(rec: dict) -> dict:
    """The evidence of one episode: its calls (tool, arguments, success), messages and item results."""
    steps = []
    for st in rec["steps"]:
        if st["kind"] in ("tool", "invalid"):
            res = st.get("result") or {}
            steps.append({"tool": st.get("tool"), "arguments": st.get("arguments"),
                          "success": bool(res.get("success")) if isinstance(res, dict) else None,
                          **({"events": [e.get("trigger_id") for e in st["events"]]} if st.get("events") else {})})
        else:
            steps.append({"kind": st["kind"], "content": st.get("content"),
                          **({"user_reply": st["user_reply"]} if "user_reply" in st else {})})
    g = rec["grade"]
    return {"passed": rec["passed"], "steps": steps, "final_message": rec.get("final_message"),
            "items": {c["id"]: c["passed"] for c in g["items"] + (g.get("infeasible_goal") or [])},
            "judge": g.get("judge")}


class _SuiteLoop(EpisodeLoop):
    """The eval loop with the run index picking the policy: job (task, i) plays ``factories[i]``."""

    def __init__(self, factories: list[Callable[[], Agent]], *args, **kw):
        super().__init__(*args, **kw)
        self.factories = factories

    def _agent(self, run: int) -> Agent:
        return self.factories[run]()


def run_shortcut_suite(tasks: list[Task], policies: dict[str, Callable[[], Agent]] | list[str] | None = None,
                       sandbox: bool = False, concurrency: int = 8, threshold: float = 0.05,
                       max_turns: int = 50, keep_traces: bool = False) -> ShortcutReport:
    """Play every policy on every task (one episode each; the policies are deterministic).

    ``policies``: names from ``SHORTCUT_POLICIES`` or ``{name: agent factory}`` (default: all shortcut
    policies). ``sandbox=False`` runs environments in-process: trusted (built-in) tasks only. The report
    keeps the trace of every passing episode (the evidence), of every episode with ``keep_traces``.
    """
    if policies is None:
        policies = list(SHORTCUT_POLICIES)
    if not isinstance(policies, dict):
        unknown = [p for p in policies if p not in SHORTCUT_POLICIES]
        if unknown:
            raise ValueError(f"unknown shortcut policies {unknown}; choose from {sorted(SHORTCUT_POLICIES)}")
        policies = {p: SHORTCUT_POLICIES[p] for p in policies}
    names = list(policies)
    ids = [t.task_id for t in tasks]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate task ids in the task list")
    cfg = EvalConfig(agent=ModelConfig(model=BUILTIN_PREFIX + "shortcut-suite"), runs=1, sandbox=sandbox,
                     concurrency=concurrency, max_turns=max_turns)
    passed: dict[str, dict[str, bool]] = {t.task_id: {} for t in tasks}
    errors: list[dict] = []
    judge: list[str] = []
    traces: dict[str, dict[str, dict]] = {}
    judged: dict[str, dict[str, bool]] = {}

    def on_record(rec: dict) -> None:
        passed[rec["task_id"]][names[rec["run"]]] = bool(rec["passed"])
        judge.append(rec.get("judge") or "")
        verdict = rec["grade"].get("judge")
        if verdict is not None:
            judged.setdefault(rec["task_id"], {})[names[rec["run"]]] = bool(verdict.get("passed"))
        if rec["passed"] or keep_traces:
            traces.setdefault(rec["task_id"], {})[names[rec["run"]]] = trace(rec)

    def on_error(err: dict) -> None:
        errors.append({**err, "policy": names[err["run"]]})

    loop = _SuiteLoop([policies[n] for n in names], cfg, load_prompt("agent_system"),
                      on_record=on_record, on_error=on_error)
    t0 = time.monotonic()
    asyncio.run(loop.run([(t, i) for i in range(len(names)) for t in tasks]))
    return ShortcutReport(names, threshold, passed, {t.task_id: t.level for t in tasks}, errors,
                          judge=next((j for j in judge if j), ""), wall_s=time.monotonic() - t0, traces=traces,
                          judged=judged)


__all__ = ["ShortcutReport", "run_shortcut_suite", "GATE", "REASON"]
