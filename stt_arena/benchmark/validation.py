"""`stt-arena validate`: guard, tools, init, plan replay, invariants I1-I5 and the validity gates
(I6-I10, BIND, LEVEL, ASK, JUDGE) for a task file."""
from __future__ import annotations

import multiprocessing as mp
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field

from ..env.schema import tool_specs
from .gates import GateResult
from .gates.gates import TASK_GATES, Budget
from ..sandbox.executor import Executor
from ..sandbox.guard import GuardError, check_source
from ..task.models import CHAT_WITH_USER, FINAL_MESSAGE, Task
from .validity import INVARIANTS, Validity, check_task, open_local

SUITE_GATES = ("I10",)                       # run over the whole task list
ALL_GATES = (*INVARIANTS, *TASK_GATES, "JUDGE", *SUITE_GATES)
GATE_LINES = {
    "I1": "replaying the oracle fires every trigger, with no task error",
    "I2": "each firing applied its effects",
    "I3": "the static plan fails (impossible: does not reach the goal)",
    "I4": "the oracle passes; impossible: no reference plan reaches the goal, the oracle tells the user",
    "I5": "the oracle without its observation steps fails",
    "I6": "every end state the checklist accepts (oracle, searched paths) satisfies the user's constraints",
    "I7": "impossible: no searched tool-call sequence reaches the goal; without triggers the search does",
    "I8": "goal items check outcomes: the static plan passes them without triggers; avoiding a shift is accepted",
    "I9": "removing any one trigger changes a check result",
    "I10": "no cheap non-reasoning policy passes more than 5% of the tasks of any level",
    "BIND": "no call other than a trigger's activation changes the entity it shifts before it fires",
    "LEVEL": "the declared level matches the features measured on the oracle trace",
    "ASK": "withheld facts that checks enforce are revealed when asked, and the oracle asks first",
    "JUDGE": "impossible: the oracle's final message passes the offline judge; planted bad messages fail",
}


def parse_gates(spec: str | None) -> list[str]:
    """``"I6,I7"`` or ``"all"`` or ``"I1-I5"`` -> gate names, in canonical order; unknown names raise."""
    if not spec or spec.strip().lower() == "all":
        return list(ALL_GATES)
    want: set[str] = set()
    for part in (p.strip().upper() for p in spec.split(",") if p.strip()):
        if part == "I1-I5":
            want |= set(INVARIANTS)
        elif part in ALL_GATES:
            want.add(part)
        else:
            raise ValueError(f"unknown gate {part!r}; choose from {', '.join(ALL_GATES)} (or 'all', 'I1-I5')")
    return [g for g in ALL_GATES if g in want]


@dataclass
class TaskReport:
    task_id: str
    conflict_type: str
    level: str
    errors: list[str] = field(default_factory=list)
    validity: Validity | None = None
    n_tools: int = 0
    gates: dict[str, GateResult] = field(default_factory=dict)
    selected: tuple[str, ...] = INVARIANTS

    @property
    def valid(self) -> bool:
        if self.errors:
            return False
        inv = [k for k in self.selected if k in INVARIANTS]
        if inv and (self.validity is None or self.validity.error or not all(self.validity.results.get(k) for k in inv)):
            return False
        return all(g.ok for g in self.gates.values())

    def gate_ok(self, name: str) -> bool | None:
        if name in INVARIANTS:
            v = self.validity
            return None if v is None else (not v.error and bool(v.results.get(name)))
        g = self.gates.get(name)
        return None if g is None else g.ok

    def reason(self, name: str) -> str:
        if name in INVARIANTS:
            if self.errors:
                return "load_error"
            v = self.validity
            return "replay_error" if v and v.error else f"{name.lower()}_failed"
        g = self.gates.get(name)
        return g.reason if g else ""

    def problems(self) -> list[str]:
        out = list(self.errors)
        if self.validity is not None:
            if self.validity.error:
                out.append(f"replay: {self.validity.error}")
            out += [f"{k}: {why}" for k, why in self.validity.reasons.items() if k in self.selected]
        out += [f"{g.gate} [{g.reason}]: {g.detail}" for g in self.gates.values() if not g.ok]
        return out


def _judge_gate(task: Task, open_episode) -> GateResult:
    from .gates.judge import judge_gate
    from .replay import replay

    if not task.impossible:
        return GateResult("JUDGE", True, detail="n/a (solvable task)")
    ok, reason, evidence = judge_gate(task, replay(task, task.plans.oracle, open_episode))
    return GateResult("JUDGE", ok, "" if ok else reason, "" if ok else str(evidence.get("detail", reason))[:300],
                      evidence)


def validate_task(task: Task, open_episode, gates: list[str] | None = None, trusted: bool = True,
                  budget: Budget | None = None) -> TaskReport:
    selected = tuple(gates or INVARIANTS)
    rep = TaskReport(task.task_id, task.conflict_type, task.level, selected=selected)
    env = task.environment
    try:
        check_source(env.source, f"task {task.task_id}: environment.source")
        specs = tool_specs(env.source, env.class_name)
        rep.n_tools = len(specs)
    except (GuardError, ValueError, SyntaxError) as e:
        rep.errors.append(str(e))
        return rep
    names = {s.name for s in specs} | {FINAL_MESSAGE, CHAT_WITH_USER}
    for plan in ("normal", "oracle"):
        bad = [s.method for s in getattr(task.plans, plan) if s.method not in names]
        if bad:
            rep.errors.append(f"task {task.task_id}: field 'plans.{plan}' calls unknown tools {bad}")
    for t in task.triggers:
        if t.activation.tool not in names and t.activation.tool != "*":
            rep.errors.append(f"task {task.task_id}: trigger {t.id!r} field 'activation.tool' names unknown tool "
                              f"{t.activation.tool!r}")
    if rep.errors:
        return rep
    if any(g in INVARIANTS for g in selected):
        rep.validity = check_task(task, open_episode)
    per_task = [g for g in selected if g in TASK_GATES]
    if per_task:
        from .gates.run import run_task_gates
        rep.gates.update(run_task_gates(task, open_episode, per_task, trusted=trusted, budget=budget))
    if "JUDGE" in selected:
        try:
            rep.gates["JUDGE"] = _judge_gate(task, open_episode)
        except Exception as e:  # noqa: BLE001
            rep.gates["JUDGE"] = GateResult("JUDGE", False, "gate_error", f"{type(e).__name__}: {e}")
    return rep


def _local_worker(args) -> TaskReport:
    task, gates, budget = args
    return validate_task(task, open_local, gates, trusted=True, budget=budget)


def validate_tasks(tasks: list[Task], sandbox: bool = True, workers: int = 4, executor: Executor | None = None,
                   gates: list[str] | None = None, trusted: bool = False, budget: Budget | None = None,
                   progress=None) -> list[TaskReport]:
    """Validate every task. ``trusted`` (built-in tasks): the gates' searches run in-process, in
    ``workers`` processes; otherwise every episode of the gates runs in the sandbox (slower)."""
    gates = list(gates or INVARIANTS)
    tick = progress or (lambda r: None)
    if trusted or not sandbox:
        if workers > 1 and len(tasks) > 1:
            ctx = mp.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                out = []
                for r in pool.map(_local_worker, [(t, gates, budget) for t in tasks], chunksize=1):
                    tick(r)
                    out.append(r)
                return out
        return [tick(r) or r for r in (validate_task(t, open_local, gates, True, budget) for t in tasks)]
    own = executor is None
    ex = executor if executor is not None else Executor()
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return [tick(r) or r for r in pool.map(lambda t: validate_task(t, ex.open, gates, False, budget), tasks)]
    finally:
        if own:
            ex.close()


def attach_suite(reports: list[TaskReport], tasks: list[Task], sandbox: bool, concurrency: int = 8):
    """Run I10 (shortcut policies) over the whole list and attach each task's result; returns the report."""
    from .gates.shortcuts import run_shortcut_suite

    suite = run_shortcut_suite(tasks, sandbox=sandbox, concurrency=concurrency)
    for r in reports:
        if r.task_id in suite.levels:
            r.gates["I10"] = suite.task_gate(r.task_id)
    return suite


def invariant_table(reports: list[TaskReport]) -> list[dict]:
    """One row per (conflict type, level): task count and the share passing each invariant."""
    cells: dict[tuple[str, str], list[TaskReport]] = defaultdict(list)
    for r in reports:
        cells[(r.conflict_type, r.level)].append(r)
    order = {lv: i for i, lv in enumerate(("easy", "medium", "hard", "impossible"))}
    rows = []
    for (ct, lv), reps in sorted(cells.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 9))):
        row = {"type": ct, "level": lv, "n": len(reps)}
        for k in INVARIANTS:
            ok = sum(1 for r in reps if r.validity and not r.validity.error and r.validity.results.get(k))
            row[k] = ok / len(reps)
        row["valid"] = sum(r.valid for r in reps) / len(reps)
        rows.append(row)
    return rows


def gate_table(reports: list[TaskReport], gates: list[str]) -> list[dict]:
    """One row per gate: tasks passed, failed, and the failure reason codes with counts."""
    rows = []
    for g in gates:
        oks = [r.gate_ok(g) if not r.errors else False for r in reports]
        fails = Counter(r.reason(g) for r, ok in zip(reports, oks) if ok is False)
        rows.append({"gate": g, "pass": sum(1 for ok in oks if ok), "fail": sum(fails.values()),
                     "reasons": dict(fails.most_common()), "guarantees": GATE_LINES.get(g, "")})
    return rows
