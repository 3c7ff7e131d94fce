"""``stt-arena report``: compare runs and models side by side."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..results.metrics import LEVELS, TYPES, fmt_ms, pct, summarize
from ..results.store import load_results
from ..task.models import CONFLICT_NAMES


@dataclass
class RunData:
    label: str
    path: Path
    records: list[dict]
    config: dict
    metrics: dict


def load_runs(dirs: Sequence[str | Path]) -> list[RunData]:
    runs: list[RunData] = []
    for d in dirs:
        recs, cfg = load_results(d)
        label = cfg.get("label") or (recs[0].get("model") if recs else None) or Path(d).name
        runs.append(RunData(label, Path(d), recs, cfg, summarize(recs)))
    labels = [r.label for r in runs]
    for r in runs:  # the same model twice: tell the runs apart by their directory
        if labels.count(r.label) > 1:
            r.label = f"{r.label} ({r.path.name})"
    return runs


class MixedTasksError(ValueError):
    """Runs made on different benchmark versions or task files cannot be compared silently."""


def task_sets(runs: list[RunData]) -> dict[str, list[str]]:
    """Runs grouped by what they were run on: 'v2 (sha256 ...)' / 'file sha256 ...' / 'unknown'."""
    groups: dict[str, list[str]] = {}
    for r in runs:
        sha, ver = r.config.get("tasks_sha256"), r.config.get("benchmark")
        key = (f"benchmark {ver}" if ver else "task file") + (f" (sha256 {sha[:12]})" if sha else " (unknown)")
        groups.setdefault(key, []).append(r.label)
    return groups


def check_comparable(runs: list[RunData], allow_mixed: bool) -> str:
    """'' when every run used the same task file; else raise, or (allow_mixed) a warning line for the report."""
    groups = task_sets(runs)
    if len(groups) <= 1:
        return ""
    what = "; ".join(f"{k}: {', '.join(v)}" for k, v in groups.items())
    if not allow_mixed:
        raise MixedTasksError(f"the runs were made on different task sets ({what}); their scores are not "
                              f"comparable. Pass --allow-mixed to build the report anyway (it says so at the top).")
    return f"**Warning: these runs used different task sets, their scores are not comparable** ({what})."


def markdown(runs: list[RunData], title: str, warning: str = "") -> str:
    out = [f"# {title}", "", *([warning, ""] if warning else []), "## Pass rate by level (%, mean ± std over runs)", ""]
    n = runs[0].metrics["table3"] if runs else {}
    head = ["Model"] + [f"{lv.capitalize()} (n={n.get(lv, {}).get('tasks', 0)})" for lv in (*LEVELS, "overall")] \
        + ["Avg. Calls", "Episodes"]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        t = r.metrics["table3"]
        calls = t["overall"].get("avg_calls")
        out.append("| " + " | ".join([r.label] + [fmt_ms(t.get(lv, {})) for lv in (*LEVELS, "overall")]
                                     + ["-" if calls is None else f"{calls:.2f}", str(r.metrics["episodes"])]) + " |")
    max_k = max((r.metrics["max_k"] for r in runs), default=1)
    out += ["", "## Per conflict type: pass@1 (%) [95% CI]", ""]
    head = ["Type", "Conflict"] + [r.label for r in runs]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for ty in TYPES:
        cells = []
        for r in runs:
            s = r.metrics["by_type"].get(ty)
            v = s and s["pass_at_k"].get("1")
            cells.append("-" if not v else f"{pct(v['value'])} [{pct(v['ci95'][0])}, {pct(v['ci95'][1])}]")
        if any(c != "-" for c in cells):
            out.append("| " + " | ".join([ty, CONFLICT_NAMES[ty]] + cells) + " |")
    out += ["", f"## pass@k and pass^k over all tasks (%), k = 1..{max_k}", ""]
    head = ["Model"] + [f"pass@{k}" for k in range(1, max_k + 1)] + [f"pass^{k}" for k in range(1, max_k + 1)]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        o = r.metrics["overall"]
        cells = [pct(o["pass_at_k"][str(k)]["value"]) if str(k) in o["pass_at_k"] else "-" for k in range(1, max_k + 1)]
        cells += [pct(o["pass_hat_k"][str(k)]["value"]) if str(k) in o["pass_hat_k"] else "-"
                  for k in range(1, max_k + 1)]
        out.append("| " + " | ".join([r.label] + cells) + " |")
    out += ["", "## Runs", ""]
    for r in runs:
        m = r.metrics
        out.append(f"- **{r.label}**: `{r.path}`; {m['episodes']} episodes over {m['tasks']} tasks; "
                   f"terminations {m['terminations']}; graded by {m['graded_by']}")
    out += ["", "Charts: `radar.png` (pass@1 per conflict type), `levels.png` (pass rate per level). "
                "Trajectories: open `viewer.html`.", ""]
    return "\n".join(out)


def build_report(dirs: Sequence[str | Path], output: str | Path, title: str = "STT-Arena report",
                 max_trajectories: int | None = None, allow_mixed: bool = False) -> list[Path]:
    from .charts import level_bars, radar
    from .html import write_viewer

    runs = load_runs(dirs)
    warning = check_comparable(runs, allow_mixed)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    md = out / "report.md"
    md.write_text(markdown(runs, title, warning))
    files.append(md)
    files.append(radar(runs, out / "radar.png"))
    files.append(level_bars(runs, out / "levels.png"))
    files.append(write_viewer(runs, out / "viewer.html", title=title, max_trajectories=max_trajectories))
    return files
