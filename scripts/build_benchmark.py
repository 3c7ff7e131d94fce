"""Freeze the built-in benchmark: stt_arena/data/benchmark.jsonl = generate(BENCHMARK_SIZE, BENCHMARK_SEED).

Usage: python scripts/build_benchmark.py   (then `stt-arena validate` and `stt-arena stats`)
"""
from __future__ import annotations

from stt_arena.data import benchmark_path
from stt_arena.generator.core import BENCHMARK_SEED, BENCHMARK_SIZE, generate
from stt_arena.task.io import save_tasks
from stt_arena.validity import check_task

if __name__ == "__main__":
    tasks = generate(BENCHMARK_SIZE, BENCHMARK_SEED, split="test", validate=lambda t: check_task(t).valid)
    n = save_tasks(tasks, benchmark_path())
    print(f"wrote {n} tasks to {benchmark_path()}")
