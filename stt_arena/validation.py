"""`stt-arena validate`: guard, tools, init, plan replay and invariants I1-I5 for a task file."""
from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .env.schema import tool_specs
from .sandbox.executor import Executor
from .sandbox.guard import GuardError, check_source
from .task.models import CHAT_WITH_USER, FINAL_MESSAGE, Task
from .validity import INVARIANTS, Validity, check_task, open_local


@dataclass
class TaskReport:
    task_id: str
    conflict_type: str
    level: str
    errors: list[str] = field(default_factory=list)
    validity: Validity | None = None
    n_tools: int = 0

    @property
    def valid(self) -> bool:
        return not self.errors and self.validity is not None and self.validity.valid

    def problems(self) -> list[str]:
        out = list(self.errors)
        if self.validity is not None:
            if self.validity.error:
                out.append(f"replay: {self.validity.error}")
            out += [f"{k}: {why}" for k, why in self.validity.reasons.items()]
        return out


def validate_task(task: Task, open_episode) -> TaskReport:
    rep = TaskReport(task.task_id, task.conflict_type, task.level)
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
        if t.activation.tool not in names:
            rep.errors.append(f"task {task.task_id}: trigger {t.id!r} field 'activation.tool' names unknown tool "
                              f"{t.activation.tool!r}")
    if rep.errors:
        return rep
    rep.validity = check_task(task, open_episode)
    return rep


def validate_tasks(tasks: list[Task], sandbox: bool = True, workers: int = 4,
                   executor: Executor | None = None) -> list[TaskReport]:
    own = executor is None and sandbox
    ex = Executor() if own else executor
    opener = ex.open if sandbox else open_local
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return list(pool.map(lambda t: validate_task(t, opener), tasks))
    finally:
        if own:
            ex.close()


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
