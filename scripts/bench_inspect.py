"""The same scripted oracle model through ``stt-arena eval`` and through ``inspect eval`` (the stt_arena Inspect
task), on the same tasks and concurrency: wall time, episodes/s and whether both passed the same tasks.

    python scripts/bench_inspect.py [--n 40] [--concurrency 10] [--rounds 2] [--no-sandbox]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_eval import oracle_policy  # noqa: E402

from stt_arena.data import default_tasks_path  # noqa: E402
from stt_arena.eval.config import EvalConfig  # noqa: E402
from stt_arena.eval.runner import run_eval  # noqa: E402
from stt_arena.llm.client import ModelConfig  # noqa: E402
from stt_arena.task.io import load_tasks  # noqa: E402
from stt_arena.testing.fake_openai import FakeOpenAIServer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-sandbox", action="store_true")
    a = ap.parse_args()
    from inspect_ai import eval as inspect_eval

    from stt_arena.inspect_ai.task import stt_arena

    os.environ.setdefault("OPENAI_API_KEY", "bench")
    all_tasks = load_tasks(default_tasks_path())
    tasks = all_tasks[:: max(1, len(all_tasks) // a.n)][: a.n]
    sandbox = not a.no_sandbox
    with FakeOpenAIServer(oracle_policy(tasks, 0.0), record=False) as sv, tempfile.TemporaryDirectory() as tmp:
        for rnd in range(a.rounds):
            t0 = time.perf_counter()
            cfg = EvalConfig(agent=ModelConfig(model="fake-model", base_url=sv.base_url, timeout_s=30),
                             runs=1, sandbox=sandbox, concurrency=a.concurrency)
            run_eval(cfg, tasks, Path(tmp) / f"eval{rnd}", progress=False)
            ours_s = time.perf_counter() - t0
            ours = {json.loads(x)["task_id"]: json.loads(x)["passed"]
                    for x in (Path(tmp) / f"eval{rnd}" / "results.jsonl").read_text().splitlines()}
            t0 = time.perf_counter()
            [log] = inspect_eval(stt_arena(task_ids=",".join(t.task_id for t in tasks), sandbox=sandbox),
                                 model="openai/fake-model", model_base_url=sv.base_url,
                                 model_args={"responses_api": False}, max_connections=a.concurrency,
                                 log_dir=str(Path(tmp) / f"logs{rnd}"), display="none")
            insp_s = time.perf_counter() - t0
            theirs = {str(s.id): s.scores["episode_scorer"].value == 1.0 for s in log.samples or []}
            print(f"round {rnd}: {len(tasks)} tasks, concurrency {a.concurrency}, sandbox {sandbox}: "
                  f"stt-arena eval {ours_s:.2f} s ({len(tasks) / ours_s:.1f} episodes/s), "
                  f"inspect eval {insp_s:.2f} s ({len(tasks) / insp_s:.1f} episodes/s, log written); "
                  f"passed {sum(ours.values())} / {sum(theirs.values())}; same per task: {ours == theirs}")


if __name__ == "__main__":
    main()
