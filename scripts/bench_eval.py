"""Throughput of the eval loop with built-in agents (no model): episodes/s with and without the sandbox.

    python scripts/bench_eval.py [--tasks FILE] [--runs 3] [--concurrency 8]
"""
from __future__ import annotations

import argparse
import tempfile
import time

from stt_arena.data import default_tasks_path
from stt_arena.eval.config import EvalConfig
from stt_arena.eval.runner import run_eval
from stt_arena.llm.client import ModelConfig
from stt_arena.task.io import load_tasks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", default=str(default_tasks_path()))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--agents", default="oracle,stale")
    a = ap.parse_args()
    tasks = load_tasks(a.tasks)
    for agent in a.agents.split(","):
        for sandbox in (False, True):
            with tempfile.TemporaryDirectory() as d:
                cfg = EvalConfig(agent=ModelConfig(model=f"builtin:{agent}"), runs=a.runs, sandbox=sandbox,
                                 concurrency=a.concurrency)
                t = time.perf_counter()
                s = run_eval(cfg, tasks, d, progress=False)
                dt = time.perf_counter() - t
                n = s["completed_episodes"]
                print(f"{agent:10s} sandbox={sandbox!s:5s} {n} episodes in {dt:.2f}s = {n / dt:.1f} ep/s; "
                      f"overall pass {100 * (s['metrics']['table3']['overall']['mean'] or 0):.1f}%")


if __name__ == "__main__":
    main()
