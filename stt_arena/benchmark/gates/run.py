"""Run the per-task gates on one task; a gate that crashes is a failure with reason ``gate_error``."""
from __future__ import annotations

import time
import traceback
from typing import Any, Callable

from ...task.models import Task
from . import GateResult
from .gates import TASK_GATES, Budget, Ctx


def run_task_gates(task: Task, open_episode: Callable[[Task], Any], gates: list[str] | None = None,
                   trusted: bool = True, budget: Budget | None = None) -> dict[str, GateResult]:
    ctx = Ctx(task, open_episode, trusted, budget or Budget())
    out: dict[str, GateResult] = {}
    for name in gates or list(TASK_GATES):
        t0 = time.perf_counter()
        try:
            r = TASK_GATES[name](ctx)
        except Exception as e:  # noqa: BLE001 - a broken task must not stop the run
            r = GateResult(name, False, "gate_error", f"{type(e).__name__}: {e}",
                           {"traceback": traceback.format_exc(limit=3)})
        r.stats.setdefault("gate_seconds", round(time.perf_counter() - t0, 3))
        out[name] = r
    return out
