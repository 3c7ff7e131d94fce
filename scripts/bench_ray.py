"""Throughput of `stt-arena eval --ray` with 1, 2, 3 simulated nodes (ray.cluster_utils.Cluster on this machine)
against a scripted OpenAI-protocol server that replays each task's oracle plan with a fixed latency per reply.

Prints episodes/s per node count (global --concurrency = per-node concurrency x nodes) and the driver's CPU per
episode (process CPU time of the driver, Ray's core-worker threads included); the scripted server runs in its
own process, so its CPU is not counted. A local one-process run of the same workload is the reference. On a
machine with few cores the simulated nodes share them: the figures show the harness's scaling limits, not a
real cluster's.

    python scripts/bench_ray.py --nodes 1,2,3 --episodes 96 --latency 0.1 --per-node 8
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stt_arena.data import default_tasks_path  # noqa: E402
from stt_arena.eval.config import EvalConfig  # noqa: E402
from stt_arena.eval.runner import Runner  # noqa: E402
from stt_arena.llm.client import ModelConfig  # noqa: E402
from stt_arena.task.io import load_tasks  # noqa: E402
from stt_arena.task.models import FINAL_MESSAGE  # noqa: E402


def _serve(tasks_path: str, n_tasks: int, latency: float, conn) -> None:
    """Server process: each reply is the next oracle step of the task named by the first user message."""
    from stt_arena.testing.fake_openai import FakeOpenAIServer
    by_query = {t.query: t for t in load_tasks(tasks_path)[:n_tasks]}

    def reply(body: dict):
        msgs = body["messages"]
        plan = by_query[next(m["content"] for m in msgs if m["role"] == "user")].plans.oracle
        turn = sum(1 for m in msgs if m["role"] == "assistant")
        item = {"delay": latency} if latency else {}
        if turn >= len(plan) or plan[turn].method == FINAL_MESSAGE:
            text = plan[turn].arguments.get("content", "Task Completed") if turn < len(plan) else "Task Completed"
            return {**item, "content": text}
        return {**item, "tool_calls": [{"name": plan[turn].method, "arguments": plan[turn].arguments}]}

    with FakeOpenAIServer(reply, record=False) as sv:
        conn.send(sv.base_url)
        conn.recv()  # until the parent says stop


def run_once(tasks, base_url: str, runs: int, concurrency: int, sandbox: bool, ray_address: str | None) -> dict:
    agent = ModelConfig(model="bench-m", base_url=base_url, api_key_value="sk-bench", max_retries=2, timeout_s=60)
    cfg = EvalConfig(agent=agent, runs=runs, concurrency=concurrency, sandbox=sandbox, ray=ray_address,
                     tasks_path="")
    with tempfile.TemporaryDirectory() as out:
        runner = Runner(cfg, tasks, out, progress=False, fsync=False)
        cpu0, t0 = time.process_time(), time.monotonic()
        summary = asyncio.run(runner.run())
        wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    n = summary["completed_episodes"]
    return {"episodes": n, "wall_s": wall, "eps": n / wall, "driver_cpu_ms": 1000 * cpu / max(1, n),
            "errors": summary["errors_this_session"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", default="1,2,3")
    ap.add_argument("--episodes", type=int, default=96)
    ap.add_argument("--tasks", type=int, default=24, help="first N tasks of the built-in benchmark")
    ap.add_argument("--latency", type=float, default=0.1, help="seconds per scripted reply")
    ap.add_argument("--per-node", type=int, default=8, help="concurrency per node")
    ap.add_argument("--no-sandbox", action="store_true")
    ap.add_argument("--skip-local", action="store_true")
    a = ap.parse_args()
    import ray
    from ray.cluster_utils import Cluster

    path = str(default_tasks_path())
    tasks = load_tasks(path)[:a.tasks]
    runs = max(1, a.episodes // len(tasks))
    parent, child = mp.Pipe()
    server = mp.get_context("spawn").Process(target=_serve, args=(path, a.tasks, a.latency, child), daemon=True)
    server.start()
    base_url = parent.recv()
    sandbox = not a.no_sandbox
    print(f"{len(tasks) * runs} episodes ({len(tasks)} tasks x {runs}), oracle replies at {a.latency * 1000:.0f} ms, "
          f"sandbox {'on' if sandbox else 'off'}, {os.cpu_count()} CPUs on this machine")
    print(f"{'setup':<24} {'concurrency':>11} {'wall s':>8} {'episodes/s':>11} {'driver CPU ms/ep':>17} {'errors':>7}")
    rows = []
    if not a.skip_local:
        c = a.per_node
        r = run_once(tasks, base_url, runs, c, sandbox, None)
        rows.append(("local (1 process)", c, r))
        print(f"{'local (1 process)':<24} {c:>11} {r['wall_s']:>8.2f} {r['eps']:>11.2f} {r['driver_cpu_ms']:>17.2f} "
              f"{r['errors']:>7}", flush=True)
    for n in [int(x) for x in a.nodes.split(",")]:
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": 80 << 20,
                                                                "include_dashboard": False})
        for _ in range(n - 1):
            cluster.add_node(num_cpus=1, object_store_memory=80 << 20)
        ray.init(address=cluster.address, logging_level="WARNING")
        cluster.wait_for_nodes()
        try:
            c = a.per_node * n
            r = run_once(tasks, base_url, runs, c, sandbox, cluster.address)
            label = f"ray, {n} node{'s' if n > 1 else ''}"
            rows.append((label, c, r))
            print(f"{label:<24} {c:>11} {r['wall_s']:>8.2f} {r['eps']:>11.2f} {r['driver_cpu_ms']:>17.2f} "
                  f"{r['errors']:>7}", flush=True)
        finally:
            ray.shutdown()
            cluster.shutdown()
    parent.send("stop")
    server.join(10)


if __name__ == "__main__":
    main()
