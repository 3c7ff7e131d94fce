"""Data shipped inside the package: example tasks and the frozen built-in benchmark."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_path(name: str) -> Path:
    return Path(str(resources.files(__name__).joinpath(name)))


def examples_path() -> Path:
    return data_path("examples.jsonl")


def benchmark_path() -> Path:
    return data_path("benchmark.jsonl")


def default_tasks_path() -> Path:
    """The built-in benchmark when shipped, else the example tasks."""
    b = benchmark_path()
    return b if b.exists() else examples_path()
