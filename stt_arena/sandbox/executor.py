"""The harness side of the sandbox: a fork server (in bubblewrap when available) and episodes.

Layers: AST guard, restricted builtins and filtered modules, an audit hook blocking file/socket/
subprocess/os access, resource limits, a separate process per episode with a per-call wall-clock
timeout (the worker is killed), a cap on result size, JSON-only traffic, and bubblewrap's network and
filesystem isolation when ``bwrap`` works on this machine.
"""
from __future__ import annotations

import asyncio
import hashlib
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
from collections import deque
from pathlib import Path
from typing import Callable

from ..task.models import Task
from ..util.aio import within
from . import protocol
from .local import LocalEpisode
from .spec import episode_spec
from .worker import DEFAULT_LIMITS

log = logging.getLogger("stt_arena.sandbox")
WARM_MAX_BYTES = 96 << 10  # code larger than this is not pre-compiled in the fork server
WARM_PER_REQUEST = 1  # warm items per fork request (keeps each control message small)
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
        self._keeper_stop: threading.Event | None = None
        self._pipeline: deque = deque()  # aopen's fork requests in flight: (future, mine, theirs)
        self._pipe_users = 0  # aopen calls between sending and getting their reply
        self._pipeline_loop: asyncio.AbstractEventLoop | None = None
        self._wlock = threading.Lock()
        self._warm_sent: set[str] = set()  # code keys the fork server has (or will get) compiled
        self._warm_queue: list[dict] = []  # sent with the next fork request

    @property
    def layers(self) -> dict[str, bool]:
        return {"process_per_episode": True, "ast_guard": True, "restricted_builtins": True, "audit_hook": True,
                "resource_limits": True, "call_timeout": True, "result_cap": True, "bwrap": self.use_bwrap}

    def _start_server(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cmd = [sys.executable, "-m", "stt_arena.sandbox.forkserver", str(child.fileno())]
        if self.use_bwrap:
            cmd = _bwrap_cmd() + cmd
        self._proc = self._launch(cmd, child)
        child.close()
        self._ctrl = parent
        with self._wlock:  # a new server starts cold
            self._warm_sent.clear()
            self._warm_queue.clear()
        log.info("sandbox fork server pid %s; layers: %s", self._proc.pid,
                 ", ".join(k for k, v in self.layers.items() if v))

    def _launch(self, cmd: list[str], child: socket.socket) -> subprocess.Popen:
        """Start the server from a thread that lives as long as the server: bwrap's --die-with-parent
        (PR_SET_PDEATHSIG) fires when the *thread* that started it exits, e.g. an asyncio pool thread."""
        started: list = []
        ready, stop = threading.Event(), threading.Event()

        def keeper() -> None:
            try:
                started.append(subprocess.Popen(cmd, pass_fds=(child.fileno(),), env=_child_env(),
                                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL, start_new_session=True))
            except BaseException as e:  # noqa: BLE001 - re-raised by the caller
                started.append(e)
            ready.set()
            stop.wait()

        threading.Thread(target=keeper, daemon=True, name="stt-arena-forkserver").start()
        ready.wait()
        if isinstance(started[0], BaseException):
            raise started[0]
        self._keeper_stop = stop
        return started[0]

    def _server_alive(self) -> bool:
        return self._ctrl is not None and self._proc is not None and self._proc.poll() is None

    def _ensure_server(self) -> None:
        with self._lock:
            if not self._server_alive():
                self._start_server()

    def _vetted(self, item: dict) -> None:
        """A worker accepted this code (see ``runtime.warm``): queue it for the fork server once."""
        key = hashlib.sha1(json.dumps(item, sort_keys=True).encode()).hexdigest()
        if len(key) + sum(len(s) for v in item.values() for s in v) > WARM_MAX_BYTES:
            return
        with self._wlock:
            if key not in self._warm_sent:
                self._warm_sent.add(key)
                self._warm_queue.append(item)

    def _fork_request(self, limits: dict) -> bytes:
        req: dict = {"limits": limits}
        with self._wlock:
            if self._warm_queue:
                req["warm"] = self._warm_queue[:WARM_PER_REQUEST]
                del self._warm_queue[:WARM_PER_REQUEST]
        return json.dumps(req).encode()

    def _forked(self, mine: socket.socket, theirs: socket.socket, data: bytes) -> tuple[socket.socket, int]:
        theirs.close()
        reply = json.loads(data or b"{}")
        if "pid" not in reply:
            mine.close()
            raise SandboxError(f"fork server refused: {reply.get('error', reply)}")
        return mine, reply["pid"]

    def _fork_worker(self, limits: dict) -> tuple[socket.socket, int]:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with self._lock:
            for attempt in range(2):
                if not self._server_alive():
                    self._shutdown_server()
                    self._start_server()
                try:
                    self._ctrl.settimeout(30)
                    socket.send_fds(self._ctrl, [self._fork_request(limits)], [theirs.fileno()])
                    data = self._ctrl.recv(4096)
                    break
                except OSError:
                    self._shutdown_server()
                    if attempt:
                        mine.close()
                        theirs.close()
                        raise SandboxError("the sandbox fork server is not responding") from None
        return self._forked(mine, theirs, data)

    async def _afork_worker(self, limits: dict) -> tuple[socket.socket, int]:
        """The fork round trip on the event loop, pipelined: requests go out at once and replies (in
        order on the control socket) resolve them, so a burst of opens does not queue on round trips.
        While any is in flight this loop holds the thread lock; starting or restarting the server, a
        thread inside ``open``, or another loop, take the thread path."""
        loop = asyncio.get_running_loop()
        if not self._pipe_users and not self._server_alive():
            await asyncio.to_thread(self._ensure_server)
        if not self._pipe_users:
            if self._pipeline or not self._server_alive() or not self._lock.acquire(blocking=False):
                return await asyncio.to_thread(self._fork_worker, limits)
            self._ctrl.setblocking(False)
            loop.add_reader(self._ctrl.fileno(), self._on_fork_reply)
            self._pipeline_loop = loop
        elif loop is not self._pipeline_loop:
            return await asyncio.to_thread(self._fork_worker, limits)
        self._pipe_users += 1
        try:
            return await self._afork_send(loop, limits)
        finally:
            self._pipe_users -= 1
            self._pipeline_maybe_end()

    async def _afork_send(self, loop: asyncio.AbstractEventLoop, limits: dict) -> tuple[socket.socket, int]:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fut = loop.create_future()
        msg, give_up = self._fork_request(limits), time.monotonic() + 30
        while True:
            try:
                socket.send_fds(self._ctrl, [msg], [theirs.fileno()])
                break
            except BlockingIOError:  # the control socket's buffer is full (a burst): let the server catch up
                if time.monotonic() < give_up:
                    await asyncio.sleep(0.002)
                    if self._ctrl is not None:
                        continue
                err: OSError = TimeoutError("the fork server stopped reading")
            except OSError as e:
                err = e
            mine.close()
            theirs.close()
            self._pipeline_failed(f"fork server send failed: {err}")
            raise SandboxError(f"the sandbox fork server is not responding ({err})")
        self._pipeline.append((fut, mine, theirs))  # right after the send: replies come in this order
        try:
            return await within(asyncio.shield(fut), 30)
        except asyncio.TimeoutError:
            self._pipeline_failed("the sandbox fork server did not answer within 30 s")
            raise SandboxError("the sandbox fork server is not responding") from None
        except asyncio.CancelledError:  # the reply still comes: close that worker's socket (it exits on EOF)
            fut.add_done_callback(lambda f: f.cancelled() or f.exception() or f.result()[0].close())
            raise

    def _on_fork_reply(self) -> None:
        try:
            data = self._ctrl.recv(4096)
        except BlockingIOError:
            return
        except OSError as e:
            return self._pipeline_failed(f"fork server connection failed: {e}")
        if not data or not self._pipeline:
            return self._pipeline_failed("the fork server exited" if not data else "unexpected fork reply")
        fut, mine, theirs = self._pipeline.popleft()
        try:
            result = self._forked(mine, theirs, data)
        except (SandboxError, ValueError) as e:
            result = e
        if fut.done():  # the caller gave up (cancelled): the new worker exits on EOF
            if not isinstance(result, Exception):
                result[0].close()
        elif isinstance(result, Exception):
            fut.set_exception(result)
        else:
            fut.set_result(result)
        self._pipeline_maybe_end()

    def _pipeline_maybe_end(self) -> None:
        """Hand the control socket back (reader off, thread lock released) once nothing is in flight."""
        if self._pipe_users or self._pipeline or self._pipeline_loop is None:
            return
        if self._ctrl is not None:
            self._pipeline_loop.remove_reader(self._ctrl.fileno())
        self._pipeline_loop = None
        self._lock.release()

    def _pipeline_failed(self, why: str) -> None:
        """Fail every request in flight and stop the server (the control stream is out of step); the
        next open starts a new one."""
        pending, self._pipeline = list(self._pipeline), deque()
        for fut, mine, theirs in pending:
            mine.close()
            theirs.close()
            if not fut.done():
                fut.set_exception(SandboxError(why))
        loop, self._pipeline_loop = self._pipeline_loop, None
        if loop is not None:
            if self._ctrl is not None:
                loop.remove_reader(self._ctrl.fileno())
            self._shutdown_server()  # still holding the thread lock taken when the pipeline started
            self._lock.release()

    def open(self, task: Task, seed: int | None = None, limits: dict | None = None) -> "SandboxEpisode":
        lim = {**self.limits, **(limits or {})}
        sock, pid = self._fork_worker(lim)
        ep = SandboxEpisode(sock, pid, self.call_timeout_s, self.max_frame_bytes, self._vetted)
        ep.start(episode_spec(task, seed))
        return ep

    async def aopen(self, task: Task, seed: int | None = None, limits: dict | None = None) -> "SandboxEpisode":
        """``open`` for asyncio."""
        lim = {**self.limits, **(limits or {})}
        sock, pid = await self._afork_worker(lim)
        ep = SandboxEpisode(sock, pid, self.call_timeout_s, self.max_frame_bytes, self._vetted)
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
        if self._keeper_stop is not None:
            self._keeper_stop.set()
            self._keeper_stop = None

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

    def __init__(self, sock: socket.socket, pid: int, timeout_s: float, max_frame: int,
                 on_vetted: Callable[[dict], None] | None = None):
        self.sock, self.pid, self.timeout_s, self.max_frame = sock, pid, timeout_s, max_frame
        self.on_vetted = on_vetted
        self._unread = 0  # replies of pipelined (unawaited) requests still in the socket
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
            for _ in range(self._unread):  # replies to messages pipelined by arecord_message
                protocol.recv(self.sock.fileno(), self.max_frame, time.monotonic() + t)
                self._unread -= 1
            protocol.send(self.sock.fileno(), req)
            return protocol.recv(self.sock.fileno(), self.max_frame, time.monotonic() + t)
        except (TimeoutError, protocol.FrameError, EOFError, OSError) as e:
            return self._failed(req, t, e)

    async def arequest(self, req: dict, timeout_s: float | None = None) -> dict:
        if not self.alive:
            return self._dead()
        t = self.timeout_s if timeout_s is None else timeout_s
        try:
            return await within(self._aexchange(req), t)
        except (asyncio.TimeoutError, protocol.FrameError, EOFError, OSError) as e:
            return self._failed(req, t, e)
        except asyncio.CancelledError:  # the stream may be mid-frame: this worker cannot be reused
            self._kill(f"'{req.get('op')}' cancelled; worker killed")
            raise

    async def _aexchange(self, req: dict) -> dict:
        while self._unread:  # replies to pipelined messages (always ok unless the worker broke)
            r = await protocol.arecv(self.sock, self.max_frame)
            self._unread -= 1
            if not r.get("ok"):
                log.warning("sandbox worker %s: message failed: %s", self.pid, r.get("error"))
        return await protocol.arequest(self.sock, req, self.max_frame)

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
            if self.on_vetted:
                self.on_vetted({"env": [spec["source"], spec["class_name"]]})
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

    def _grade_op(self, checklist: list[dict], goals: list[dict]) -> tuple:
        def post(r: dict) -> dict:
            if r.get("ok"):
                return {k: r[k] for k in ("checks", "goals", "state")}
            failed = lambda items: [{"id": it["id"], "passed": False, "error": r.get("error")}  # noqa: E731
                                    for it in items]
            return {"checks": failed(checklist), "goals": failed(goals), "state": {}}
        return {"op": "grade", "checklist": checklist, "goals": goals}, max(self.timeout_s, 10.0), post

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

    def grade(self, checklist: list[dict], goals: list[dict]) -> dict:
        """``{"checks", "goals", "state"}``: checklist and infeasible-goal results and the final state."""
        return self._do(self._grade_op(checklist, goals))

    def close(self) -> None:
        """End the episode without waiting: the worker exits on the close request, or on EOF."""
        if self.alive:
            self.alive, self.death = False, "closed"  # no kill: an exited worker's pid may be reused
            try:
                self.sock.send(protocol.encode({"op": "close"}))
            except OSError:
                pass
            self.sock.close()

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
        """Sent without waiting for the reply (read before the next request's: frames stay in order)."""
        if not self.alive:
            return
        try:
            await within(asyncio.get_running_loop().sock_sendall(
                self.sock, protocol.encode(self._message_op(role, content)[0])), self.timeout_s)
        except (asyncio.TimeoutError, OSError) as e:
            self._failed({"op": "message"}, self.timeout_s, e)
            return
        self._unread += 1

    async def asnapshot(self) -> dict:
        return await self._ado(self._snapshot_op())

    async def alog(self) -> list[dict]:
        return await self._ado(self._log_op())

    async def arun_checks(self, items: list[dict]) -> list[dict]:
        return await self._ado(self._checks_op(items))

    async def agrade(self, checklist: list[dict], goals: list[dict]) -> dict:
        return await self._ado(self._grade_op(checklist, goals))

    async def aclose(self) -> None:
        self.close()  # never blocks


def open_episode(task: Task, executor: Executor | None = None, sandbox: bool = True):
    """An episode for ``task``: sandboxed through ``executor``, or in-process when sandbox=False."""
    if not sandbox:
        return LocalEpisode(episode_spec(task))
    if executor is None:
        raise ValueError("a sandboxed episode needs an Executor")
    return executor.open(task)
