"""Which tasks are trusted without the OS layer: those whose code ships with the package.

Where the OS sandbox layer is unavailable, only the Python layers contain environment code, which a
determined attacker gets past. The built-in benchmark and examples (and the hand-written environments)
run as before; any other task's code is refused unless the user opts in (``--allow-unsandboxed`` or
``STT_ARENA_ALLOW_UNSANDBOXED=1``).
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

ALLOW_ENV = "STT_ARENA_ALLOW_UNSANDBOXED"
_PKG = Path(__file__).resolve().parents[1]


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()



def allowed_by_user() -> bool:
    return os.environ.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes")


MANIFEST = _PKG / "data" / "builtin_code.json"  # the data files' code hashes, as shipped (scripts/build_benchmark.py)


def _data_files() -> list[Path]:
    return sorted((_PKG / "data").glob("**/*.jsonl"))


def _file_digests() -> dict[str, str]:
    return {p.relative_to(_PKG / "data").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in _data_files()}


def _task_code() -> set[str]:
    """Hashes of the code in the shipped task files (every task parsed: ~0.3 s)."""
    from ..task.io import load_tasks
    from .triggers import expressions
    out: set[str] = set()
    for path in _data_files():
        for t in load_tasks(path):
            out.add(code_hash(t.environment.source))
            out.update(code_hash(c.check) for c in t.checklist + t.infeasible_goal)
            out.update(code_hash(e) for e, _what in expressions([tr.model_dump() for tr in t.triggers]))
    return out


def manifest() -> dict:
    """What ``MANIFEST`` holds: each shipped task file's sha256 and the hashes of the code in them."""
    return {"files": _file_digests(), "hashes": sorted(_task_code())}


def write_manifest() -> Path:
    MANIFEST.write_text(json.dumps(manifest(), indent=0) + "\n")
    return MANIFEST


@lru_cache(maxsize=1)
def builtin_code() -> frozenset[str]:
    """Hashes of every environment source, check function and trigger expression shipped in the package.
    The task files' part comes from ``MANIFEST`` when it describes the files as they are (their sha256),
    else from parsing them."""
    from ..data import builtin_env_domains, env_source
    out = {code_hash(env_source(d)) for d in builtin_env_domains()}  # as tasks carry them
    try:
        shipped = json.loads(MANIFEST.read_text())
        if shipped["files"] == _file_digests():
            return frozenset(out | {str(h) for h in shipped["hashes"]})
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return frozenset(out | _task_code())


def untrusted_code(task) -> list[str]:
    """What in ``task`` is not built-in code (empty: the task is trusted)."""
    out = [] if code_hash(task.environment.source) in builtin_code() else ["environment.source"]
    return out + untrusted_checks(task)


def untrusted_checks(task) -> list[str]:
    """The checks of ``task`` that are not built-in code (empty: a shared grader may grade it)."""
    known = builtin_code()
    return [f"check {c.id!r}" for c in task.checklist + task.infeasible_goal if code_hash(c.check) not in known]
