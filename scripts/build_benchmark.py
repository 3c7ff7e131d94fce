"""Build the built-in benchmark v2: stt_arena/data/benchmark_v2.jsonl from the pinned families, every task through
every per-task gate (I1-I9, BIND, LEVEL, ASK, JUDGE); then write the build log beside it.

Usage: python scripts/build_benchmark.py [--workers 2] [--size 252]
       (then `stt-arena validate --gates all`, `stt-arena stats`, python scripts/benchmark_changelog.py)
v1 (stt_arena/data/benchmark_v1.jsonl) is frozen and never rebuilt.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from stt_arena.data import benchmark_path, data_path
from stt_arena.benchmark.generate import GenerationError
from stt_arena.benchmark.pinned import V2_SEED, V2_SIZE, generate_v2
from stt_arena.sandbox.trust import write_manifest
from stt_arena.task.io import save_tasks

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size", type=int, default=V2_SIZE)
    ap.add_argument("--seed", type=int, default=V2_SEED)
    ap.add_argument("--out", default=None, help="default: stt_arena/data/benchmark_v2.jsonl")
    a = ap.parse_args()
    t0 = time.time()
    done = [0]

    def tick(_):
        done[0] += 1
        if done[0] % 20 == 0:
            print(f"  {done[0]}/{a.size} cells ({time.time() - t0:.0f} s)", flush=True)

    try:
        tasks, rejected = generate_v2(a.size, a.seed, workers=a.workers, progress=tick)
    except GenerationError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    out = a.out or str(benchmark_path("v2"))
    n = save_tasks(tasks, out)
    log = {"seed": a.seed, "size": a.size, "seconds": round(time.time() - t0, 1),
           "attempts": {t.task_id: t.provenance.extra["attempt"] for t in tasks},
           "rejected_draws": {tasks[i].task_id: why for i, why in rejected.items() if why}}
    if a.out is None:
        data_path("benchmark_v2_build.json").write_text(json.dumps(log, indent=1) + "\n")
        write_manifest()  # the shipped code hashes (sandbox trust) follow the new file
    print(f"wrote {n} tasks to {out} in {log['seconds']} s; {sum(len(w) for w in rejected.values())} draws rejected")
