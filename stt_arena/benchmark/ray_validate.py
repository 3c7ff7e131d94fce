"""`stt-arena validate --ray ADDRESS`: one Ray task per benchmark task (validation is embarrassingly parallel).

Each Ray worker process keeps one sandbox executor for the untrusted tasks it validates (the built-in
benchmark runs in-process, as ``validate_tasks`` does). Reports come back in input order, each counted by the
progress callback as it finishes; a task whose worker or node dies is re-run by Ray elsewhere (``max_retries``:
validation is deterministic, so a re-run gives the same report).
"""
from __future__ import annotations

import atexit
from typing import Any, Callable

from ..task.models import Task
from .gates.gates import Budget
from .validation import TaskReport, validate_task
from .validity import open_local

_EXECUTOR: Any = None
RETRIES = 3  # re-runs of a task whose worker process or node died


def _executor() -> Any:
    """This worker process's sandbox executor (one fork server, closed at exit)."""
    global _EXECUTOR
    if _EXECUTOR is None:
        from ..sandbox.executor import Executor
        _EXECUTOR = Executor()
        atexit.register(_EXECUTOR.close)
    return _EXECUTOR


def validate_one(task: Task, gates: list[str], in_process: bool, budget: Budget | None) -> TaskReport:
    """One task's report, as ``validate_tasks`` makes it (in-process when trusted or --no-sandbox)."""
    if in_process:
        return validate_task(task, open_local, gates, trusted=True, budget=budget)
    return validate_task(task, _executor().open, gates, trusted=False, budget=budget)


def validate_on_ray(tasks: list[Task], address: str, *, sandbox: bool, gates: list[str], trusted: bool,
                    budget: Budget | None, progress: Callable[[TaskReport], Any] | None = None) -> list[TaskReport]:
    """Every task's report (input order) from Ray tasks on the cluster at ``address`` (see eval.ray_shards)."""
    from ..eval.ray_shards import connect, require_ray
    ray = require_ray()
    owned = connect(address)
    tick = progress or (lambda r: None)
    try:
        fn = ray.remote(num_cpus=1, max_retries=RETRIES, retry_exceptions=False)(validate_one)
        index = {fn.remote(t, gates, trusted or not sandbox, budget): k for k, t in enumerate(tasks)}
        out: list[TaskReport | None] = [None] * len(tasks)
        pending = list(index)
        while pending:
            ready, pending = ray.wait(pending, num_returns=min(len(pending), 8), timeout=0.5)
            for ref in ready:
                rep = ray.get(ref)
                out[index[ref]] = rep
                tick(rep)
        return [r for r in out if r is not None]
    finally:
        if owned:
            ray.shutdown()
