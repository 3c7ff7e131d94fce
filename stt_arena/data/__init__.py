"""Data shipped inside the package: example tasks and the frozen, versioned built-in benchmark.

``benchmark_v1.jsonl`` (252 tasks, the first release) stays loadable for old results; ``benchmark_v2.jsonl``
(every task passes the validity gates; CHANGELOG_v2.md says what changed and why) is the default once shipped.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from pathlib import Path

BENCHMARK_FILES = {"v1": "benchmark_v1.jsonl", "v2": "benchmark_v2.jsonl"}


def data_path(name: str) -> Path:
    return Path(str(resources.files(__name__).joinpath(name)))


def examples_path() -> Path:
    return data_path("examples.jsonl")


def latest_version() -> str:
    """The newest benchmark version shipped."""
    return next(v for v in reversed(list(BENCHMARK_FILES)) if data_path(BENCHMARK_FILES[v]).exists())


def benchmark_path(version: str | None = None) -> Path:
    """The file of benchmark ``version`` (default: the latest shipped)."""
    v = version or latest_version()
    if v not in BENCHMARK_FILES:
        raise ValueError(f"unknown benchmark version {v!r}; choose from {', '.join(BENCHMARK_FILES)}")
    return data_path(BENCHMARK_FILES[v])


def benchmark_version(path: str | Path | None) -> str | None:
    """The version name when ``path`` is a shipped benchmark file, else None."""
    if path is None:
        return None
    p = Path(path).resolve()
    return next((v for v, f in BENCHMARK_FILES.items() if data_path(f).resolve() == p), None)


def resolve_tasks(arg: str | Path | None) -> Path:
    """A task-file argument: a path, a benchmark version name ('v1', 'v2'), or None (the latest benchmark)."""
    if arg is None:
        return default_tasks_path()
    if str(arg) in BENCHMARK_FILES and not Path(str(arg)).exists():
        return benchmark_path(str(arg))
    return Path(arg)


def file_identity(path: str | Path) -> dict:
    """What a result records about its task file: the benchmark version (if shipped) and the sha256."""
    return {"benchmark": benchmark_version(path), "tasks_sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}


def default_tasks_path() -> Path:
    """The latest built-in benchmark when shipped, else the example tasks."""
    try:
        return benchmark_path()
    except StopIteration:
        return examples_path()


# -- built-in environment sources (stt_arena/domains/envs/) -------------------------------------------
SHARED_IMPORT = "from ._shared import *"


def inline_shared(source: str, shared: str) -> str:
    """``source`` with its ``from ._shared import *`` line replaced by ``shared`` (the sandbox vets the result)."""
    lines = source.splitlines(keepends=True)
    return "".join(shared if ln.split("#")[0].strip() == SHARED_IMPORT else ln for ln in lines)


@lru_cache(maxsize=None)
def env_source(domain: str) -> str:
    """Source text of ``stt_arena/domains/envs/<domain>.py`` as tasks carry it: one self-contained text, its
    ``from ._shared import *`` line replaced by the text of ``envs/_shared.py``."""
    envs = resources.files("stt_arena").joinpath("domains/envs")
    return inline_shared(envs.joinpath(f"{domain}.py").read_text(), envs.joinpath("_shared.py").read_text())


def builtin_env_domains() -> list[str]:
    """Domains with a shipped environment file."""
    envs = resources.files("stt_arena").joinpath("domains/envs")
    return sorted(p.name[:-3] for p in envs.iterdir() if p.name.endswith(".py") and not p.name.startswith("_"))

