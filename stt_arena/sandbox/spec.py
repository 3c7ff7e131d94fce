"""The plain-data episode spec sent to a runtime (in-process or in the sandbox worker)."""
from __future__ import annotations

from ..task.models import Task


def episode_spec(task: Task, seed: int | None = None, max_result_chars: int | None = None) -> dict:
    env = task.environment
    spec = {
        "class_name": env.class_name,
        "source": env.source,
        "init_config": env.init_config,
        "clock": env.clock.model_dump(),
        "seed": env.seed if seed is None else seed,
        "mutating_tools": env.mutating_tools,
        "triggers": [t.model_dump() for t in task.triggers],
    }
    if max_result_chars:
        spec["max_result_chars"] = max_result_chars
    return spec
