"""Sandbox executor benchmark: round trip vs in-process call, episode start, memory, parallel throughput.

Usage: python scripts/bench_executor.py [--calls 3000] [--starts 200] [--live 40]
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time

import psutil

from stt_arena.data import examples_path
from stt_arena.sandbox.executor import Executor
from stt_arena.sandbox.local import LocalEpisode
from stt_arena.sandbox.spec import episode_spec
from stt_arena.task.io import load_tasks

TOOL, ARGS = "get_slot", {"slot_id": "S2"}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--starts", type=int, default=200)
    ap.add_argument("--live", type=int, default=40)
    ap.add_argument("--parallel-calls", type=int, default=2000)
    a = ap.parse_args()
    task = next(t for t in load_tasks(examples_path()) if t.task_id == "example-clinic-t1")

    with Executor() as ex:
        print(f"layers: {', '.join(k for k, v in ex.layers.items() if v)}")
        local = LocalEpisode(episode_spec(task))
        method = getattr(local.rt.env, TOOL)
        direct = timed(lambda: method(**ARGS), a.calls)
        runtime = timed(lambda: local.call(TOOL, ARGS), a.calls)
        ep = ex.open(task)
        for _ in range(200):
            ep.call(TOOL, ARGS)
        sandbox = timed(lambda: ep.call(TOOL, ARGS), a.calls)
        ep.close()
        print("\n== tool-call round trip (ms) ==")
        print(f"{'path':34s} {'p50':>9s} {'p99':>9s} {'ratio p50':>10s}")
        base = pct(direct, 0.5)
        for name, xs in (("direct method call (in-process)", direct), ("runtime call (triggers, log)", runtime),
                         ("sandbox round trip", sandbox)):
            print(f"{name:34s} {pct(xs, .5) * 1e3:9.4f} {pct(xs, .99) * 1e3:9.4f} {pct(xs, .5) / base:9.0f}x")

        starts = timed(lambda: ex.open(task).close(), a.starts)
        print(f"\n== episode start (open + init + close) ==\np50 {pct(starts, .5) * 1e3:.2f} ms   "
              f"p99 {pct(starts, .99) * 1e3:.2f} ms")

        eps = [ex.open(task) for _ in range(a.live)]
        procs = [psutil.Process(e.pid) for e in eps]
        rss = [p.memory_info().rss for p in procs]
        full = [p.memory_full_info() for p in procs]
        print(f"\n== memory per live episode ({a.live} live) ==")
        print(f"RSS mean {statistics.mean(rss) / 2**20:.1f} MB (shared pages counted in each)   "
              f"PSS mean {statistics.mean(f.pss for f in full) / 2**20:.1f} MB   "
              f"USS mean {statistics.mean(f.uss for f in full) / 2**20:.1f} MB")
        for e in eps:
            e.close()

        print("\n== tool calls per second, N parallel episodes (threads, one episode each) ==")
        for n in (1, 2, 4, 8):
            eps = [ex.open(task) for _ in range(n)]
            per = a.parallel_calls // n

            def run(e):
                for _ in range(per):
                    e.call(TOOL, ARGS)

            ths = [threading.Thread(target=run, args=(e,)) for e in eps]
            t = time.perf_counter()
            for th in ths:
                th.start()
            for th in ths:
                th.join()
            dt = time.perf_counter() - t
            print(f"N={n:2d}: {per * n / dt:8.0f} calls/s")
            for e in eps:
                e.close()
        print(f"(machine: {psutil.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
