"""Harness side: built-in code vetted (guarded, compiled) once per machine, kept as marshalled code.

``Executor.prepare`` sends these to the fork server, which installs them without parsing anything, so no
worker or grader guards and compiles built-in code per episode, and no run compiles it again. Entries are
keyed by the code, the interpreter (marshal is version-specific) and the sandbox's guard and runtime
sources (a changed guard re-vets everything). Directory: ``$STT_ARENA_CODE_CACHE``, else
``$XDG_CACHE_HOME/stt-arena/vetted`` (``~/.cache``); ``STT_ARENA_CODE_CACHE=0`` keeps it in memory only.
Only built-in code goes here: anything else is vetted inside a sandboxed worker.
"""
from __future__ import annotations

import hashlib
import json
import marshal
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from . import runtime

CACHE_ENV = "STT_ARENA_CODE_CACHE"
_RULES = ("guard.py", "runtime.py", "safe_env.py", "conventions.py", "triggers.py")


@lru_cache(maxsize=1)
def salt() -> str:
    """The interpreter and the sources of the sandbox's rules: what derived code and data depend on."""
    h = hashlib.sha256(f"{sys.version}|{marshal.version}".encode())
    for name in _RULES:
        h.update((Path(__file__).with_name(name)).read_bytes())
    return h.hexdigest()[:16]


def cache_dir() -> Path | None:
    where = os.environ.get(CACHE_ENV)
    if where is not None and where.strip().lower() in ("0", "off", "false", ""):
        return None
    if where:
        return Path(where)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "stt-arena" / "vetted"


_memory: dict[tuple, dict] = {}


def item_id(item: dict) -> tuple:
    """A vetting item as a hashable value (cheap for the same task's strings: Python caches their hashes)."""
    return tuple(sorted((k, tuple(tuple(x) if isinstance(x, list) else x for x in v)) for k, v in item.items()))


def compiled(item: dict) -> dict:
    """``runtime.export(item)``, from the cache when there (an unreadable entry is vetted again)."""
    mem = (salt(), item_id(item))
    if mem in _memory:
        return _memory[mem]
    key = hashlib.sha256((salt() + json.dumps(item, sort_keys=True)).encode()).hexdigest()
    d = cache_dir()
    path = d / key[:2] / f"{key}.json" if d is not None else None
    if path is not None:
        try:
            got = json.loads(path.read_text())
            if all(got.get(k) == item.get(k) for k in ("env", "checks", "exprs")):
                _memory[mem] = got
                return got
        except (OSError, ValueError, AttributeError):
            pass
    out = runtime.export(item)
    _memory[mem] = out
    if path is not None:
        store(path, out)
    return out


def store(path: Path, obj) -> None:
    """Write ``obj`` as JSON to ``path`` atomically, if it reads back as itself; a read-only home is no
    error (nothing is kept)."""
    try:
        text = json.dumps(obj)
        if json.loads(text) != obj:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError):
        pass


def builtin_items(tasks: list) -> list[dict]:
    """The distinct built-in code of ``tasks`` as vetting items: ``{"env": [source, class_name]}``,
    ``{"checks": [source]}`` (one per check) and ``{"exprs": [[expression, what]...]}`` (a task's built-in
    trigger expressions); code that is not built-in is left out."""
    from .triggers import expressions
    from .trust import builtin_code, code_hash
    known, seen, out = builtin_code(), set(), []
    for task in tasks:
        env = task.environment
        items = [{"env": [env.source, env.class_name]}] if code_hash(env.source) in known else []
        items += [{"checks": [c.check]} for c in task.checklist + task.infeasible_goal if code_hash(c.check) in known]
        exprs = [[e, w] for e, w in expressions([t.model_dump() for t in task.triggers]) if code_hash(e) in known]
        items += [{"exprs": exprs}] if exprs else []
        for item in items:
            key = item_id(item)
            if key not in seen:
                seen.add(key)
                out.append(item)
    return out


def install_local(tasks: list) -> int:
    """Put the built-in code of ``tasks`` in this process's caches (in-process episodes, ``--no-sandbox``)."""
    n = 0
    for item in builtin_items(tasks):
        try:
            runtime.install(compiled(item))
            n += 1
        except Exception:  # noqa: BLE001 - vetted on first use instead
            pass
    return n
