"""Score the built-in reference agents on a task set through the executor and checklists."""
from __future__ import annotations

import tempfile
from pathlib import Path

from ..agents.builtin import BUILTIN_AGENTS
from ..llm.client import ModelConfig
from ..task.models import Task
from .config import BUILTIN_PREFIX, EvalConfig
from .runner import LEVEL_NAMES, run_eval


def score_builtins(tasks: list[Task], output: str | Path | None = None, runs: int = 1, sandbox: bool = True,
                   concurrency: int = 4, agents: list[str] | None = None, tasks_path: str | Path | None = None,
                   progress: bool = False) -> dict[str, dict]:
    """Per agent: pass rate per level, overall and on solvable tasks only (fractions, not percent).
    ``tasks_path``: the file ``tasks`` came from (its loadability check is then done once per file)."""
    root = Path(output) if output else Path(tempfile.mkdtemp(prefix="stt-baselines-"))
    out: dict[str, dict] = {}
    for name in agents or list(BUILTIN_AGENTS):
        cfg = EvalConfig(agent=ModelConfig(model=BUILTIN_PREFIX + name), runs=runs, sandbox=sandbox,
                         concurrency=concurrency, tasks_path=str(tasks_path or ""))
        summary = run_eval(cfg, tasks, root / name, progress=progress,
                           resume=(root / name / "results.jsonl").exists())
        t3 = summary["metrics"]["table3"]
        row = {lv: t3[lv]["mean"] for lv in (*LEVEL_NAMES, "overall")}
        solv = [t3[lv] for lv in LEVEL_NAMES[:3] if t3[lv]["tasks"]]
        n = sum(c["tasks"] for c in solv)
        row["solvable"] = sum(c["mean"] * c["tasks"] for c in solv) / n if n else None
        row["avg_calls"] = t3["overall"]["avg_calls"]
        out[name] = row
    return out
