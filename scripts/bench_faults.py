"""Fault-injection bench: the eval loop against a local OpenAI-protocol server that answers a fraction of
requests with mixed faults (hang, HTTP 5xx, dropped connection, non-JSON body, reply without choices,
trickling body), compared with a fault-free run of the same episodes. Prints episodes recorded (and
duplicates), pass counts, errors, request retries, episode re-runs, wall time, and whether the totals
equal the fault-free run.

    python scripts/bench_faults.py [--tasks-n 30] [--runs 3] [--rate 0.2] [--concurrency 8] [--no-sandbox]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_eval import oracle_policy  # noqa: E402

from stt_arena.data import default_tasks_path  # noqa: E402
from stt_arena.eval.config import EvalConfig  # noqa: E402
from stt_arena.eval.runner import run_eval  # noqa: E402
from stt_arena.llm.client import ModelConfig  # noqa: E402
from stt_arena.task.io import load_tasks  # noqa: E402
from stt_arena.testing.fake_openai import FakeOpenAIServer, faulty  # noqa: E402


def one(tasks, script, a, out: Path) -> tuple[dict, float, list[dict], list[dict]]:
    with FakeOpenAIServer(script, record=False) as sv:
        agent = ModelConfig(model="bench-agent", base_url=sv.base_url, max_retries=a.max_retries,
                            timeout_s=a.request_timeout, backoff_base_s=0.05, backoff_cap_s=0.5)
        cfg = EvalConfig(agent=agent, runs=a.runs, concurrency=a.concurrency, sandbox=a.sandbox,
                         episode_retry_delay_s=0.2, episode_timeout_s=120)
        t0 = time.perf_counter()
        s = run_eval(cfg, tasks, out, progress=False, fsync=False)
        wall = time.perf_counter() - t0
    recs = [json.loads(x) for x in (out / "results.jsonl").open()]
    errs = [json.loads(x) for x in (out / "errors.jsonl").open()] if (out / "errors.jsonl").exists() else []
    return s, wall, recs, errs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks-n", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate", type=float, default=0.2)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--max-retries", type=int, default=2, help="per request (low: episode re-runs get exercised)")
    ap.add_argument("--request-timeout", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sandbox", action=argparse.BooleanOptionalAction, default=True)
    a = ap.parse_args()
    all_tasks = load_tasks(default_tasks_path())
    tasks = all_tasks[:: max(1, len(all_tasks) // a.tasks_n)][: a.tasks_n]
    policy = oracle_policy(tasks, 0.0)
    print(f"{len(tasks)} tasks x {a.runs} runs, concurrency {a.concurrency}, sandbox={a.sandbox}, "
          f"fault rate {a.rate:.0%}, request timeout {a.request_timeout:g}s, {a.max_retries} retries per request")
    with tempfile.TemporaryDirectory() as d:
        clean, wall_c, recs_c, _ = one(tasks, policy, a, Path(d) / "clean")
        script = faulty(policy, a.rate, seed=a.seed)
        faulted, wall_f, recs_f, errs = one(tasks, script, a, Path(d) / "faults")
    keys = Counter((r["task_id"], r["run"]) for r in recs_f)
    dup = sum(v - 1 for v in keys.values())
    expected = len(tasks) * a.runs
    print(f"faults served: {sum(script.counts.values())} {dict(script.counts)}")
    for name, s, wall, recs in (("clean", clean, wall_c, recs_c), ("faults", faulted, wall_f, recs_f)):
        u = s["usage"]["agent"].get("this_session", {})
        print(f"{name:7s} episodes {len(recs)}/{expected}, passed {sum(r['passed'] for r in recs)}, "
              f"terminations {dict(Counter(r['termination'] for r in recs))}, invalid turns "
              f"{sum(r['n_invalid'] for r in recs)}, request retries {u.get('retries', 0)}, episode re-runs "
              f"{s.get('episode_retries_this_session') or {}}, wall {wall:.1f}s")
    print(f"duplicates: {dup}; errors.jsonl: {len(errs)} {dict(Counter((e['role'], e['cause']) for e in errs))}")
    same = faulted["metrics"]["table3"] == clean["metrics"]["table3"] and len(recs_f) == len(recs_c)
    print(f"totals equal to the fault-free run: {same}")


if __name__ == "__main__":
    main()
