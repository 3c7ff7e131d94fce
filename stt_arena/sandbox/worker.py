"""The sandboxed side of an episode: resource limits, an audit hook, then a request loop.

Runs in a process forked from the fork server; only stdlib and ``stt_arena.sandbox`` are imported.
"""
from __future__ import annotations

import os
import resource
import sys

from . import protocol
from .guard import GuardError
from .runtime import EnvError, EnvRuntime, precompile_checks
from .triggers import TaskError

DEFAULT_LIMITS = {
    "cpu_seconds": 30,          # per episode (RLIMIT_CPU)
    "memory_mb": 512,           # address space (RLIMIT_AS)
    "open_files": 16,           # RLIMIT_NOFILE
    "file_size": 0,             # RLIMIT_FSIZE: no file writes
    "processes": 0,             # RLIMIT_NPROC (not enforced for root; the audit hook blocks fork too)
    "max_result_chars": 64_000,
}

# sys._getframe stays allowed: namedtuple and dataclasses use it; the guard blocks frame attributes.
_BLOCKED_PREFIXES = (
    "open", "os.", "socket.", "subprocess.", "_posixsubprocess", "ctypes.", "shutil.", "marshal.",
    "sys._current_frames", "sys.settrace", "sys.setprofile", "sys.remote_exec",
    "code.__new__", "function.__new__", "object.__getattr__", "gc.get_", "mmap.", "pty.", "fcntl.",
    "resource.setrlimit", "signal.", "winreg.", "webbrowser.", "urllib.", "http.", "ftplib.", "smtplib.",
    "import", "cpython.run_", "builtins.input", "pickle.", "glob.", "tempfile.", "sqlite3.",
)


def _audit(event: str, args) -> None:
    if event.startswith(_BLOCKED_PREFIXES):
        raise PermissionError(f"sandbox: '{event}' is blocked")


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
    lim(resource.RLIMIT_NPROC, int(limits["processes"]))
    lim(resource.RLIMIT_CORE, 0)


def serve(fd: int, limits: dict | None = None) -> None:
    """Apply the sandbox to this process and answer requests until 'close' or EOF."""
    limits = {**DEFAULT_LIMITS, **(limits or {})}
    _set_limits(limits)
    sys.addaudithook(_audit)
    rt: EnvRuntime | None = None
    idle: list[str] | None = None
    while True:
        if idle:
            precompile_checks(idle)
            idle = None
        try:
            req = protocol.recv(fd)
        except (EOFError, OSError):
            return
        op = req.get("op")
        try:
            if op == "init":
                spec = dict(req["spec"], max_result_chars=limits["max_result_chars"])
                rt = EnvRuntime(spec)
                reply = {"ok": True, "tools": rt.list_tools(), "now": rt.clock.now().isoformat()}
                idle = spec.get("checks")  # after the reply: the agent's first turn takes far longer
            elif op == "close":
                protocol.send(fd, {"ok": True})
                return
            elif rt is None:
                reply = {"ok": False, "kind": "protocol", "error": "episode not initialised"}
            elif op == "call":
                reply = {"ok": True, **rt.call(req["tool"], req.get("args"))}
            elif op == "tools":
                reply = {"ok": True, "tools": rt.list_tools()}
            elif op == "snapshot":
                reply = {"ok": True, "state": rt.snapshot()}
            elif op == "log":
                reply = {"ok": True, "log": rt.log, "events": rt.events}
            elif op == "message":
                rt.record_message(req["role"], req["content"])
                reply = {"ok": True}
            elif op == "checks":
                reply = {"ok": True, "results": rt.run_checks(req["items"])}
            elif op == "grade":
                reply = {"ok": True, **rt.grade(req["checklist"], req.get("goals") or [])}
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
        try:
            protocol.send(fd, reply)
        except (OSError, MemoryError, ValueError, TypeError) as e:
            try:
                protocol.send(fd, {"ok": False, "kind": "runtime", "error": f"reply failed: {type(e).__name__}"})
            except BaseException:
                os._exit(3)
