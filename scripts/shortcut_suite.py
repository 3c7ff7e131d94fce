"""Gate I10 on a task file: every shortcut policy on every task, the pass % per policy x level and the run time.

    python scripts/shortcut_suite.py                      # the built-in benchmark, in-process environments
    python scripts/shortcut_suite.py --sandbox -j 8       # sandboxed (untrusted task files)
    python scripts/shortcut_suite.py --json out.json --offenders

A * marks a rate above the threshold (5%). Exit status 1 when the gate fails.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

from stt_arena.data import default_tasks_path
from stt_arena.benchmark.gates.shortcuts import run_shortcut_suite
from stt_arena.judge.heuristic import HeuristicJudge
from stt_arena.task.io import load_tasks


def judge_version() -> str:
    """Which offline judge graded: a hash of the judge package's sources and its last commit (+ 'modified')."""
    pkg = Path(sys.modules[HeuristicJudge.__module__].__file__).parent
    h = hashlib.sha256()
    for f in sorted(pkg.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    out = f"stt_arena/judge/*.py sha256 {h.hexdigest()[:12]}"
    try:
        git = ["git", "-C", str(pkg)]
        commit = subprocess.run(git + ["log", "-1", "--format=%h %cs", "--", "."], capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(git + ["diff", "--quiet", "HEAD", "--", "."], timeout=10).returncode != 0
        if commit:
            out += f", last commit {commit}" + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tasks", nargs="?", default=None, help="task JSONL (default: the built-in benchmark)")
    ap.add_argument("--policies", default=None, help="comma-separated policy names (default: all)")
    ap.add_argument("--sandbox", action="store_true", help="sandboxed environments (default: in-process)")
    ap.add_argument("-j", "--concurrency", type=int, default=8)
    ap.add_argument("--threshold", type=float, default=0.05)
    ap.add_argument("--json", default=None, help="write the full report (passes, offenders, traces) here")
    ap.add_argument("--offenders", action="store_true", help="print the tasks each offending policy passes")
    ap.add_argument("--by-type", action="store_true", help="also print passes per conflict type x level")
    a = ap.parse_args()
    path = a.tasks or default_tasks_path()
    t0 = time.monotonic()
    tasks = load_tasks(path)
    load_s = time.monotonic() - t0
    rep = run_shortcut_suite(tasks, policies=a.policies.split(",") if a.policies else None, sandbox=a.sandbox,
                             concurrency=a.concurrency, threshold=a.threshold)
    rows = rep.table()
    counts = {lv: sum(1 for x in rep.levels.values() if x == lv) for lv in rows[0][1:]}
    rows[0] = [rows[0][0]] + [f"{lv} ({counts[lv]})" for lv in rows[0][1:]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(f"shortcut policies on {len(tasks)} tasks from {path} (pass % per level; * above "
          f"{100 * a.threshold:g}%)")
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if rep.judged:
        print("\njudge verdict alone on the impossible tasks (accepted %, whatever the checklist says): " + ", ".join(
            f"{p} {100 * rep.judge_rate(p)[0] / rep.judge_rate(p)[1]:.1f}" for p in rep.policies))
    n_ep = len(tasks) * len(rep.policies)
    print(f"\njudge: {rep.judge} ({judge_version()}); user: scripted; "
          f"environments: {'sandbox' if a.sandbox else 'in-process'}")
    print(f"time: {rep.wall_s:.1f} s for {n_ep} episodes ({1000 * rep.wall_s / max(n_ep, 1):.1f} ms per episode, "
          f"{rep.wall_s / max(len(tasks), 1):.3f} s per task), concurrency {a.concurrency}; "
          f"task load {load_s:.1f} s")
    if rep.errors:
        print(f"{len(rep.errors)} episode(s) did not run, e.g. {rep.errors[0]}")
    g = rep.gate()
    print(f"gate I10: {'pass' if g.ok else 'FAIL'}" + (f" ({g.detail})" if g.detail else ""))
    if a.offenders:
        for lv, offs in g.evidence["offenders"].items():
            for p, o in offs.items():
                print(f"  {lv} / {p}: {len(o['tasks'])} task(s): {', '.join(o['tasks'])}")
    if a.by_type:
        print("\npasses per conflict type/level (passed/tasks), policies with any pass:")
        for p in rep.policies:
            cells: dict[str, list[int]] = {}
            for t in tasks:
                c = cells.setdefault(f"{t.conflict_type}/{t.level}", [0, 0])
                c[0] += bool(rep.passed.get(t.task_id, {}).get(p))
                c[1] += 1
            hit = [f"{k} {v[0]}/{v[1]}" for k, v in sorted(cells.items()) if v[0]]
            if hit:
                print(f"  {p}: " + ", ".join(hit))
    if a.json:
        Path(a.json).write_text(json.dumps({**rep.to_dict(), "traces": rep.traces}, indent=1, default=str))
    return 0 if g.ok else 1


if __name__ == "__main__":
    sys.exit(main())
