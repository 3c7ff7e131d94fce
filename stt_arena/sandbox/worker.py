"""The sandboxed side of an episode: resource limits, an audit hook, then a request loop.

Runs in a process forked from the fork server; only stdlib and ``stt_arena.sandbox`` are imported.
"""
from __future__ import annotations

import os
import resource
import time

from . import protocol
from .audit import install_audit_hook
from .guard import GuardError
from .runtime import EnvError, EnvRuntime, _vetted_check, _vetted_env, judge
from .safe_env import harden_process
from .triggers import COMPILE_COUNTS, TaskError, compiled_count

DEFAULT_LIMITS = {
    "cpu_seconds": 30,          # per episode (RLIMIT_CPU)
    "memory_mb": 512,           # address space (RLIMIT_AS)
    "open_files": 16,           # RLIMIT_NOFILE
    "file_size": 0,             # RLIMIT_FSIZE: no file writes
    "processes": 0,             # RLIMIT_NPROC: counted per episode under the OS layer (own user namespace)
    "max_result_chars": 64_000,
    "python_layers": True,      # False (tests only): no guard, real builtins, no audit hook
}

MAX_REQUEST_BYTES = 16 << 20  # a bigger request frame ends the episode (the harness refuses first)

def _set_limits(limits: dict) -> None:
    def lim(res, value):
        try:
            resource.setrlimit(res, (value, value))
        except (ValueError, OSError):
            pass

    cpu = int(limits["cpu_seconds"])
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    except (ValueError, OSError):
        pass
    lim(resource.RLIMIT_AS, int(limits["memory_mb"]) * 1024 * 1024)
    lim(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    lim(resource.RLIMIT_FSIZE, int(limits["file_size"]))
    procs = int(limits["processes"])
    lim(resource.RLIMIT_NPROC, procs + 1 if procs > 0 else 0)  # + the episode's grader
    lim(resource.RLIMIT_CORE, 0)


def _cache_counts() -> tuple[int, ...]:
    env, checks = _vetted_env.cache_info(), _vetted_check.cache_info()
    return env.hits, env.misses, checks.hits, checks.misses, *COMPILE_COUNTS


def process_stats(base: tuple[int, ...]) -> dict:
    """CPU seconds of this process so far, and the hits/misses of its code caches since ``base`` (a
    miss: guarded and compiled here, not inherited compiled from the fork server); ``cached``: entries held."""
    d = [a - b for a, b in zip(_cache_counts(), base)]
    return {"cpu_s": time.process_time(), "env_cache": d[:2], "check_cache": d[2:4], "expr_cache": d[4:],
            "cached": {"env": _vetted_env.cache_info().currsize, "checks": _vetted_check.cache_info().currsize,
                       "exprs": compiled_count()}}


def serve(fd: int, limits: dict | None = None, judge_only: bool = False) -> None:
    """Apply the sandbox to this process and answer requests until 'close' or EOF.

    Every reply echoes the request's ``id``. A worker that has run environment code never grades:
    ``judge`` (checks over a state and log the harness sends) is refused once ``init`` ran; the
    harness grades in the episode's grader (``judge_only``: forked before any environment code ran,
    it refuses ``init``)."""
    base = _cache_counts()
    limits = {**DEFAULT_LIMITS, **(limits or {})}
    python_layers = limits.get("python_layers") is not False
    _set_limits(limits)
    if judge_only:
        python_layers = True  # check code is untrusted too; the test switch is for environment code
    if python_layers:
        harden_process()
        install_audit_hook()
    rt: EnvRuntime | None = None
    reader = protocol.Reader()  # bytes read past a request wait for the next one
    while True:
        try:
            req = protocol.recv(fd, MAX_REQUEST_BYTES, reader=reader, max_depth=None)  # capped by the harness
        except (EOFError, OSError, protocol.FrameError):
            return
        rid = req.get("id") if isinstance(req, dict) else None
        op = req.get("op") if isinstance(req, dict) else None
        try:
            if rt is not None and isinstance(req, dict) and isinstance(req.get("messages"), list):  # before the op
                for m in req["messages"]:
                    rt.record_message(m["role"], m["content"])
            if op == "init" and rt is None and not judge_only:
                spec = dict(req["spec"], max_result_chars=limits["max_result_chars"], unguarded=not python_layers,
                            owned=True)
                rt = EnvRuntime(spec)
                reply = {"ok": True, "tools": rt.list_tools(), "now": rt.clock.now().isoformat()}
            elif op == "stats":  # diagnostics: this process's CPU time and compile-cache use
                reply = {"ok": True, **process_stats(base)}
            elif op == "close":
                protocol.send(fd, {"ok": True, "id": rid})
                return
            elif op == "judge":
                if rt is not None:
                    reply = {"ok": False, "kind": "protocol", "error": "a worker that ran environment code never grades"}
                else:
                    reply = {"ok": True, **judge(req["state"], req["log"], req["checklist"], req.get("goals") or [],
                                                 req.get("now"), req.get("seed", 0))}
            elif rt is None:
                reply = {"ok": False, "kind": "protocol", "error": "episode not initialised"}
            elif op == "call":
                reply = {"ok": True, **rt.call(req["tool"], req.get("args")), "events_before": rt.last_events_before}
            elif op == "tools":
                reply = {"ok": True, "tools": rt.list_tools()}
            elif op == "snapshot":
                reply = {"ok": True, "state": rt.snapshot()}
            else:
                reply = {"ok": False, "kind": "protocol", "error": f"unknown op {op!r}"}
        except GuardError as e:
            reply = {"ok": False, "kind": "guard", "error": str(e)}
        except (EnvError, TaskError) as e:
            reply = {"ok": False, "kind": "env", "error": str(e)}
        except MemoryError:
            reply = {"ok": False, "kind": "resource", "error": "MemoryError: memory limit exceeded"}
        except RecursionError:
            reply = {"ok": False, "kind": "resource", "error": "RecursionError: recursion limit exceeded"}
        except BaseException as e:  # noqa: BLE001 - anything else becomes an error reply
            reply = {"ok": False, "kind": "runtime", "error": f"{type(e).__name__}: {e}"}
        reply["id"] = rid
        try:
            protocol.send(fd, reply)
        except (OSError, MemoryError, ValueError, TypeError, RecursionError) as e:
            try:
                protocol.send(fd, {"ok": False, "kind": "runtime", "id": rid,
                                   "error": f"reply failed: {type(e).__name__}"})
            except BaseException:
                os._exit(3)
