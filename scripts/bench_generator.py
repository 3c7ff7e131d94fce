"""Generator throughput: tasks generated, and generated + validated (I1-I5), per second on one core.

Usage: python scripts/bench_generator.py [--n 200] [--seed 7]
"""
from __future__ import annotations

import argparse
import os
import time

from stt_arena.benchmark.generate import generate
from stt_arena.sandbox.executor import Executor
from stt_arena.benchmark.validity import check_task


def rate(label: str, n: int, fn) -> float:
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    print(f"{label:48s} {n / dt:8.1f} tasks/s  ({n} in {dt:.2f} s)")
    return n / dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    tasks = generate(a.n, a.seed, "train")
    rate("generate only", a.n, lambda: generate(a.n, a.seed, "train"))
    rate("validate only (in-process, trusted built-ins)", a.n, lambda: [check_task(t) for t in tasks])
    v = rate("generate + validate (what `synth procedural` does)", a.n,
             lambda: generate(a.n, a.seed + 1, "train", validate=lambda t: check_task(t).valid))
    with Executor() as ex:
        m = min(a.n, 60)
        rate("validate in the sandbox (untrusted path)", m, lambda: [check_task(t, ex.open) for t in tasks[:m]])
    print(f"target >= 20 validated tasks/s on one core: {'met' if v >= 20 else 'NOT met'} ({v:.1f})")


if __name__ == "__main__":
    main()
