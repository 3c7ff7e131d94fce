"""RL environment throughput, the model excluded: a scripted Qwen-format policy replays each task's oracle plan.

Prints resets/s and steps/s on one core (pinned, after a warm-up episode per task), then with N concurrent environments in threads (as ROLL's
env workers run them) and in processes.

    python scripts/bench_rl_env.py [--episodes 300] [--sandbox]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import threading
import time

from stt_arena.rl.core import STTArenaCore
from stt_arena.task.models import FINAL_MESSAGE


def qwen(step) -> str:
    if step.method == FINAL_MESSAGE:
        return step.arguments["content"]
    return "<tool_call>\n" + json.dumps({"name": step.method, "arguments": step.arguments}) + "\n</tool_call>"


def run_episodes(n: int, sandbox: bool, offset: int = 0) -> tuple[int, int, float, float]:
    core = STTArenaCore(pool_size=256, pool_seed=1, sandbox=sandbox)
    core._pool()  # build the task pool before timing
    steps = resets = 0
    t_reset = t_step = 0.0
    for i in range(n):
        t = time.perf_counter()
        core.reset(seed=offset + i)
        t_reset += time.perf_counter() - t
        resets += 1
        plan = [qwen(s) for s in core.task.plans.oracle]
        if not plan or core.task.plans.oracle[-1].method != FINAL_MESSAGE:
            plan.append("Task Completed.")
        t = time.perf_counter()
        for a in plan:
            steps += 1
            if core.step(a)[2]:
                break
        t_step += time.perf_counter() - t
    return steps, resets, t_step, t_reset


def _proc(args, q):
    q.put(run_episodes(*args))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=300)
    ap.add_argument("--sandbox", action="store_true")
    a = ap.parse_args()
    pool = STTArenaCore(pool_size=256, pool_seed=1)._pool()
    run_episodes(len(pool), a.sandbox)  # warm-up: each task's environment code compiled and cached once
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[0]})
    steps, resets, ts, tr = run_episodes(a.episodes, a.sandbox)
    print(f"one core, sandbox={a.sandbox}: {steps / ts:8.0f} steps/s (incl. final grading)   "
          f"{resets / tr:6.0f} resets/s   {steps / (ts + tr):6.0f} steps/s resets included   "
          f"({steps} steps, {resets} episodes)")
    os.sched_setaffinity(0, set(cpus))
    for n in (4, 16):
        per = max(1, a.episodes // n)
        out = []
        ths = [threading.Thread(target=lambda k=k: out.append(run_episodes(per, a.sandbox, k * per)))
               for k in range(n)]
        t = time.perf_counter()
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        dt = time.perf_counter() - t
        print(f"{n:2d} envs in threads:   {sum(o[0] for o in out) / dt:8.0f} steps/s overall (resets included)")
    ctx = mp.get_context("fork")
    for n in (len(cpus),):
        q = ctx.Queue()
        per = max(1, a.episodes // n)
        ps = [ctx.Process(target=_proc, args=((per, a.sandbox, k * per), q)) for k in range(n)]
        t = time.perf_counter()
        for p in ps:
            p.start()
        res = [q.get() for _ in ps]
        for p in ps:
            p.join()
        dt = time.perf_counter() - t
        print(f"{n:2d} envs in processes: {sum(r[0] for r in res) / dt:8.0f} steps/s overall ({len(cpus)} CPUs)")


if __name__ == "__main__":
    main()
