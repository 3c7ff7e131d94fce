"""The harness side of the sandbox: a fork server (in bubblewrap when available) and episodes.

Layers: AST guard, restricted builtins and filtered modules, an audit hook blocking file/socket/
subprocess/os access, resource limits, a separate process per episode with a per-call wall-clock
timeout (the worker is killed), a cap on result size, JSON-only traffic, and bubblewrap's network and
filesystem isolation when ``bwrap`` works on this machine.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from functools import lru_cache
from pathlib import Path

from ..task.models import Task
from . import protocol
from .local import LocalEpisode
from .spec import episode_spec
from .worker import DEFAULT_LIMITS

log = logging.getLogger("stt_arena.sandbox")
_PKG_PARENT = str(Path(__file__).resolve().parents[2])


class SandboxError(RuntimeError):
    """The episode could not be started, or its worker died or was killed."""


def _bwrap_cmd() -> list[str]:
    binds = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/alternatives",
             sys.base_prefix, sys.prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parent), _PKG_PARENT]
    cmd = ["bwrap", "--die-with-parent", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--new-session",
           "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for b in dict.fromkeys(binds):
        cmd += ["--ro-bind-try", b, b]
    return cmd + ["--chdir", "/tmp"]


@lru_cache(maxsize=1)
def bwrap_available() -> bool:
    if not shutil.which("bwrap") or os.environ.get("STT_ARENA_NO_BWRAP"):
        return False
    try:
        r = subprocess.run(_bwrap_cmd() + [sys.executable, "-c", "import stt_arena.sandbox.worker"],
                           capture_output=True, timeout=20, env=_child_env())
        return r.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _child_env() -> dict:
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": _PKG_PARENT, "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0", "LANG": "C.UTF-8"}


class Executor:
    """Opens sandboxed episodes. Thread-safe; one fork server per executor, started lazily."""

    def __init__(self, limits: dict | None = None, call_timeout_s: float = 5.0, use_bwrap: bool | None = None,
                 max_frame_bytes: int = 8 << 20):
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.call_timeout_s = call_timeout_s
        self.use_bwrap = bwrap_available() if use_bwrap is None else use_bwrap
        self.max_frame_bytes = max_frame_bytes
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._ctrl: socket.socket | None = None

    @property
    def layers(self) -> dict[str, bool]:
        return {"process_per_episode": True, "ast_guard": True, "restricted_builtins": True, "audit_hook": True,
                "resource_limits": True, "call_timeout": True, "result_cap": True, "bwrap": self.use_bwrap}

    def _start_server(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cmd = [sys.executable, "-m", "stt_arena.sandbox.forkserver", str(child.fileno())]
        if self.use_bwrap:
            cmd = _bwrap_cmd() + cmd
        self._proc = subprocess.Popen(cmd, pass_fds=(child.fileno(),), env=_child_env(),
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        child.close()
        self._ctrl = parent
        log.info("sandbox fork server pid %s; layers: %s", self._proc.pid,
                 ", ".join(k for k, v in self.layers.items() if v))

    def _fork_worker(self, limits: dict) -> tuple[socket.socket, int]:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with self._lock:
            for attempt in range(2):
                if self._proc is None or self._proc.poll() is not None:
                    self._start_server()
                try:
                    socket.send_fds(self._ctrl, [json.dumps({"limits": limits}).encode()], [theirs.fileno()])
                    self._ctrl.settimeout(30)
                    reply = json.loads(self._ctrl.recv(4096) or b"{}")
                    break
                except (OSError, ValueError):
                    self._shutdown_server()
                    if attempt:
                        raise SandboxError("the sandbox fork server is not responding") from None
        theirs.close()
        if "pid" not in reply:
            mine.close()
            raise SandboxError(f"fork server refused: {reply.get('error', reply)}")
        return mine, reply["pid"]

    def open(self, task: Task, seed: int | None = None, limits: dict | None = None) -> "SandboxEpisode":
        lim = {**self.limits, **(limits or {})}
        sock, pid = self._fork_worker(lim)
        ep = SandboxEpisode(sock, pid, self.call_timeout_s, self.max_frame_bytes)
        ep.start(episode_spec(task, seed))
        return ep

    async def aopen(self, task: Task, seed: int | None = None, limits: dict | None = None) -> "SandboxEpisode":
        """``open`` for asyncio: only the fork server round trip uses a thread."""
        lim = {**self.limits, **(limits or {})}
        sock, pid = await asyncio.to_thread(self._fork_worker, lim)
        ep = SandboxEpisode(sock, pid, self.call_timeout_s, self.max_frame_bytes)
        await ep.astart(episode_spec(task, seed))
        return ep

    def _shutdown_server(self) -> None:
        if self._ctrl is not None:
            self._ctrl.close()
            self._ctrl = None
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self._proc.wait(timeout=5)
            self._proc = None

    def close(self) -> None:
        with self._lock:
            self._shutdown_server()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SandboxEpisode:
    """One live environment in its own sandboxed process. Errors come back as data, never raise,
    except SandboxError at start (bad code, bad task).

    Every operation has a blocking form (``call``) and an asyncio form (``acall``) doing native socket
    I/O on the event loop (no threads). Use one form at a time: an episode serves one request at once.
    """

    isolated = True

    def __init__(self, sock: socket.socket, pid: int, timeout_s: float, max_frame: int):
        self.sock, self.pid, self.timeout_s, self.max_frame = sock, pid, timeout_s, max_frame
        sock.setblocking(False)  # asyncio needs it; the blocking helpers select() when it would block
        self.alive = True
        self.death: str | None = None
        self.events: list[dict] = []
        self.tools: list[dict] = []

    # -- transport ------------------------------------------------------------------------
    def _kill(self, why: str) -> None:
        self.alive, self.death = False, why
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        self.sock.close()

    def _dead(self) -> dict:
        return {"ok": False, "kind": "dead", "error": f"episode terminated: {self.death}"}

    def _failed(self, req: dict, t: float, e: BaseException) -> dict:
        if isinstance(e, (TimeoutError, asyncio.TimeoutError)):
            self._kill(f"'{req.get('op')}' timed out after {t:g}s; worker killed")
        elif isinstance(e, protocol.FrameError):
            self._kill(f"{e}; worker killed")
        else:
            self._kill(f"worker died ({type(e).__name__}: {e}); likely a resource limit")
        return self._dead()

    def request(self, req: dict, timeout_s: float | None = None) -> dict:
        if not self.alive:
            return self._dead()
        t = self.timeout_s if timeout_s is None else timeout_s
        try:
            protocol.send(self.sock.fileno(), req)
            return protocol.recv(self.sock.fileno(), self.max_frame, time.monotonic() + t)
        except (TimeoutError, protocol.FrameError, EOFError, OSError) as e:
            return self._failed(req, t, e)

    async def arequest(self, req: dict, timeout_s: float | None = None) -> dict:
        if not self.alive:
            return self._dead()
        t = self.timeout_s if timeout_s is None else timeout_s
        try:
            return await asyncio.wait_for(protocol.arequest(self.sock, req, self.max_frame), t)
        except (asyncio.TimeoutError, protocol.FrameError, EOFError, OSError) as e:
            return self._failed(req, t, e)
        except asyncio.CancelledError:  # the stream may be mid-frame: this worker cannot be reused
            self._kill(f"'{req.get('op')}' cancelled; worker killed")
            raise

    # -- operations: (request, timeout, reply -> result), run by _do / _ado ----------------
    def _do(self, op: tuple):
        req, t, post = op
        return post(self.request(req, t))

    async def _ado(self, op: tuple):
        req, t, post = op
        return post(await self.arequest(req, t))

    def _start_op(self, spec: dict) -> tuple:
        def post(r: dict) -> None:
            if not r.get("ok"):
                if self.alive:
                    self._kill("init failed")  # it replied, so it is still alive: its pid is its own
                raise SandboxError(r.get("error", "init failed"))
            self.tools = r["tools"]
        return {"op": "init", "spec": spec}, max(self.timeout_s, 10.0), post

    def _tools_op(self) -> tuple:
        return {"op": "tools"}, None, lambda r: r["tools"] if r.get("ok") else self.tools

    def _call_op(self, tool: str, args: dict | None) -> tuple:
        def post(r: dict) -> dict:
            if not r.get("ok"):
                return {"result": {"success": False, "error": r.get("error")}, "events": [], "step": None,
                        "now": None, "sandbox_error": r.get("kind")}
            r.pop("ok")
            self.events += r.get("events", [])
            return r
        return {"op": "call", "tool": tool, "args": args or {}}, None, post

    def _message_op(self, role: str, content: str) -> tuple:
        return {"op": "message", "role": role, "content": content}, None, lambda r: None

    def _snapshot_op(self) -> tuple:
        return {"op": "snapshot"}, None, lambda r: r.get("state", {}) if r.get("ok") else {}

    def _log_op(self) -> tuple:
        return {"op": "log"}, None, lambda r: r.get("log", []) if r.get("ok") else []

    def _checks_op(self, items: list[dict]) -> tuple:
        def post(r: dict) -> list[dict]:
            if r.get("ok"):
                return r["results"]
            return [{"id": it["id"], "passed": False, "error": r.get("error")} for it in items]
        return {"op": "checks", "items": items}, max(self.timeout_s, 10.0), post

    def _closed(self, r: dict) -> None:
        if r.get("ok"):
            self.alive, self.death = False, "closed"  # exited by itself: no kill (pids get reused)
            self.sock.close()

    # -- episode API (same as LocalEpisode), blocking --------------------------------------
    def start(self, spec: dict) -> None:
        self._do(self._start_op(spec))

    def list_tools(self) -> list[dict]:
        return self._do(self._tools_op())

    def call(self, tool: str, args: dict | None = None) -> dict:
        return self._do(self._call_op(tool, args))

    def record_message(self, role: str, content: str) -> None:
        self._do(self._message_op(role, content))

    def snapshot(self) -> dict:
        return self._do(self._snapshot_op())

    def log(self) -> list[dict]:
        return self._do(self._log_op())

    def run_checks(self, items: list[dict]) -> list[dict]:
        return self._do(self._checks_op(items))

    def close(self) -> None:
        if self.alive:
            self._closed(self.request({"op": "close"}, timeout_s=1.0))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the same API for asyncio ---------------------------------------------------------
    async def astart(self, spec: dict) -> None:
        await self._ado(self._start_op(spec))

    async def alist_tools(self) -> list[dict]:
        return await self._ado(self._tools_op())

    async def acall(self, tool: str, args: dict | None = None) -> dict:
        return await self._ado(self._call_op(tool, args))

    async def arecord_message(self, role: str, content: str) -> None:
        await self._ado(self._message_op(role, content))

    async def asnapshot(self) -> dict:
        return await self._ado(self._snapshot_op())

    async def alog(self) -> list[dict]:
        return await self._ado(self._log_op())

    async def arun_checks(self, items: list[dict]) -> list[dict]:
        return await self._ado(self._checks_op(items))

    async def aclose(self) -> None:
        if self.alive:
            self._closed(await self.arequest({"op": "close"}, timeout_s=1.0))


def open_episode(task: Task, executor: Executor | None = None, sandbox: bool = True):
    """An episode for ``task``: sandboxed through ``executor``, or in-process when sandbox=False."""
    if not sandbox:
        return LocalEpisode(episode_spec(task))
    if executor is None:
        raise ValueError("a sandboxed episode needs an Executor")
    return executor.open(task)
