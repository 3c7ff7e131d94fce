"""``stt-arena analyze RESULTS_DIR...``: failure-mode frequency per model and conflict type / level."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from ..util.console import console, fail
from .detectors import FAILURE_MODES, frequency_table


def load_task_map(paths: list[Path]) -> dict:
    from ..task.io import load_tasks
    out = {}
    for p in paths:
        out.update({t.task_id: t for t in load_tasks(p)})
    return out


def analyze_command(
    results: List[Path] = typer.Argument(..., help="results directories (eval or refine output) or results.jsonl files"),
    tasks: Optional[List[Path]] = typer.Option(None, "--tasks", help="task JSONL: exact query/state-changing tools "
                                               "(default: the results' config, else tool-name conventions)"),
    by: str = typer.Option("both", "--by", help="type, level or both"),
    as_json: bool = typer.Option(False, "--json", help="print JSON rows"),
) -> None:
    """Detect stale-state execution, misdiagnosis and missing verification; print their frequency."""
    from ..results.store import ResultsFileError, load_results

    if by not in ("type", "level", "both"):
        raise typer.BadParameter("choose type, level or both", param_hint="--by")
    records: list[dict] = []
    task_paths = list(tasks or [])
    for r in results:
        try:
            recs, cfg = load_results(r)
        except (ResultsFileError, OSError) as e:
            fail(str(e))
        tp = (cfg.get("config") or {}).get("tasks_path") or (cfg.get("refine") or {}).get("tasks_path")
        if not tasks and tp and Path(tp).exists():
            task_paths.append(Path(tp))
        label = cfg.get("label")
        for rec in recs:
            rec.setdefault("model", label or r.name)
        records += recs
    task_map = load_task_map(sorted(set(task_paths))) if task_paths else {}
    groups = ["type", "level"] if by == "both" else [by]
    out = {g: frequency_table(records, g, task_map) for g in groups}
    if as_json:
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    for g, rows in out.items():
        t = Table(title=f"Failure modes per model and {'conflict type' if g == 'type' else g} "
                        f"({len(records)} trajectories; % of trajectories)")
        for col in ("model", g, "n", "pass", *FAILURE_MODES, "any"):
            t.add_column(col, justify="left" if col in ("model", g) else "right")
        for row in rows:
            t.add_row(row["model"], row["group"], str(row["n"]), f"{100 * row['passed_rate']:.1f}",
                      *[f"{100 * row[f'{m}_rate']:.1f}" for m in (*FAILURE_MODES, "any")],
                      end_section=row["group"] == "all")
        console.print(t)


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze_command)
