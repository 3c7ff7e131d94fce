"""Metrics over trajectory records: the paper's Table 3, pass@k / pass^k and confidence intervals.

* Per level and overall: the pass rate of each run (overall = all tasks of the run, so levels are
  weighted by their task counts), then mean and sample standard deviation (ddof=1) over runs.
* Avg. Calls: mean number of environment tool calls per episode (``chat_with_user`` and the final
  reply are not tool calls).
* pass@k = E_task[1 - C(n-c, k) / C(n, k)] (at least one of k runs passes) and
  pass^k = E_task[C(c, k) / C(n, k)] (all k runs pass), the unbiased estimators from n runs of which
  c passed; a task enters the average for k only when it has n >= k runs.
* 95% CIs: percentile bootstrap over tasks (2000 resamples, fixed seed: deterministic).
"""
from __future__ import annotations

import math
from collections import defaultdict
from statistics import mean, stdev
from typing import Iterable

from ..task.models import CONFLICT_NAMES

LEVELS = ("easy", "medium", "hard", "impossible")
TYPES = tuple(CONFLICT_NAMES)


def pass_at_k(n: int, c: int, k: int) -> float:
    if k > n:
        raise ValueError(f"k={k} > n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    if k > n:
        raise ValueError(f"k={k} > n={n}")
    return math.comb(c, k) / math.comb(n, k)


def bootstrap_ci(values: list[float], iters: int = 2000, seed: int = 0, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (deterministic for a seed). Vectorised with numpy: the pure
    Python resampling took minutes on report-sized inputs (3,000 tasks)."""
    if not values:
        return (float("nan"), float("nan"))
    if len(values) == 1 or len(set(values)) == 1:
        return (values[0] if len(set(values)) == 1 else min(values), max(values))
    import numpy as np
    rng = np.random.default_rng(seed)
    v = np.asarray(values, dtype=float)
    n = len(v)
    step = max(1, min(iters, 4_000_000 // n))  # bounded memory: ``step`` resamples at a time
    means = np.concatenate([v[rng.integers(0, n, size=(min(step, iters - i), n))].mean(axis=1)
                            for i in range(0, iters, step)])
    means.sort()
    lo = float(means[int(alpha / 2 * iters)])
    hi = float(means[min(iters - 1, int((1 - alpha / 2) * iters))])
    return (lo, hi)


def _ms(xs: list[float]) -> dict:
    if not xs:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": mean(xs), "std": stdev(xs) if len(xs) > 1 else 0.0, "n": len(xs)}


def per_task(records: Iterable[dict]) -> dict[str, dict]:
    """task_id -> {type, level, n, c, runs: {run: passed}}."""
    out: dict[str, dict] = {}
    for r in records:
        t = out.setdefault(r["task_id"], {"conflict_type": r.get("conflict_type"), "level": r.get("level"),
                                          "runs": {}})
        t["runs"][int(r.get("run", 0))] = bool(r.get("passed"))
    for t in out.values():
        t["n"] = len(t["runs"])
        t["c"] = sum(t["runs"].values())
    return out


def group_stats(tasks: dict[str, dict], max_k: int) -> dict:
    vals = list(tasks.values())
    res: dict = {"tasks": len(vals), "episodes": sum(t["n"] for t in vals)}
    p1 = [t["c"] / t["n"] for t in vals if t["n"]]
    res["pass_rate"] = mean(p1) if p1 else None
    res["ci95"] = list(bootstrap_ci(p1)) if p1 else None
    res["pass_at_k"], res["pass_hat_k"] = {}, {}
    for k in range(1, max_k + 1):
        eligible = [t for t in vals if t["n"] >= k]
        if not eligible:
            continue
        pa = [pass_at_k(t["n"], t["c"], k) for t in eligible]
        ph = [pass_hat_k(t["n"], t["c"], k) for t in eligible]
        res["pass_at_k"][str(k)] = {"value": mean(pa), "ci95": list(bootstrap_ci(pa)), "tasks": len(eligible)}
        res["pass_hat_k"][str(k)] = {"value": mean(ph), "ci95": list(bootstrap_ci(ph)), "tasks": len(eligible)}
    return res


def summarize(records: list[dict]) -> dict:
    """The summary JSON's metrics block."""
    records = list(records)
    runs = sorted({int(r.get("run", 0)) for r in records})
    tasks = per_task(records)
    max_k = max((t["n"] for t in tasks.values()), default=0)
    table: dict[str, dict] = {}
    for lv in (*LEVELS, "overall"):
        sel = [r for r in records if lv == "overall" or r.get("level") == lv]
        if not sel:
            table[lv] = {"tasks": 0, "episodes": 0, "mean": None, "std": None, "runs": {}, "avg_calls": None}
            continue
        per_run = {}
        for run in runs:
            rs = [r for r in sel if int(r.get("run", 0)) == run]
            if rs:
                per_run[str(run)] = sum(bool(r.get("passed")) for r in rs) / len(rs)
        st = _ms(list(per_run.values()))
        tsel = {k: v for k, v in tasks.items() if lv == "overall" or v["level"] == lv}
        table[lv] = {"tasks": len(tsel), "episodes": len(sel), "mean": st["mean"], "std": st["std"],
                     "runs": per_run, "avg_calls": mean(r.get("n_tool_calls", 0) for r in sel),
                     "avg_fraction": mean(float(r.get("fraction", 0.0)) for r in sel),
                     "ci95": group_stats(tsel, 1)["ci95"]}
    by_type = {}
    for ty in TYPES:
        tsel = {k: v for k, v in tasks.items() if v["conflict_type"] == ty}
        if tsel:
            by_type[ty] = {"name": CONFLICT_NAMES[ty], **group_stats(tsel, max_k)}
    by_level = {lv: group_stats({k: v for k, v in tasks.items() if v["level"] == lv}, max_k)
                for lv in LEVELS if any(v["level"] == lv for v in tasks.values())}
    terminations: dict[str, int] = defaultdict(int)
    for r in records:
        terminations[r.get("termination", "?")] += 1
    judges: dict[str, int] = defaultdict(int)
    for r in records:
        judges[(r.get("grade") or {}).get("graded_by", "?")] += 1
    return {"episodes": len(records), "tasks": len(tasks), "runs": runs, "max_k": max_k,
            "table3": table, "by_type": by_type, "by_level": by_level, "overall": group_stats(tasks, max_k),
            "terminations": dict(terminations), "graded_by": dict(judges),
            "avg_turns": mean(r.get("n_turns", 0) for r in records) if records else None,
            "avg_invalid": mean(r.get("n_invalid", 0) for r in records) if records else None}


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def fmt_ms(cell: dict) -> str:
    if cell.get("mean") is None:
        return "-"
    return f"{100 * cell['mean']:.1f} ± {100 * (cell.get('std') or 0):.1f}"
