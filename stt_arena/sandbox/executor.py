"""The harness side of the sandbox: a fork server (in bubblewrap when available) and episodes.

Layers: the OS layer (bubblewrap for the fork server: user namespace with a non-root uid and no
capabilities, PID/IPC/UTS/network/cgroup namespaces, a read-only file system holding only the
interpreter and this sandbox package, a clean environment; then per worker its own user, PID, mount,
IPC and UTS namespaces, hidden ``/proc``, private ``/tmp``, cgroups for the episode tree where
writable, no_new_privs and a seccomp deny-list that also refuses new sockets, see ``oslayer``), and the Python layers behind it (AST guard, restricted builtins and
filtered modules, an allowlist audit hook), resource limits, a per-call wall-clock timeout (the
worker's PID namespace is killed), caps on frame size and JSON depth both ways, request ids, and
grading in a fresh worker that never ran environment code.
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
import sysconfig
import threading
import time
from functools import lru_cache
from collections import deque
from pathlib import Path
from typing import Any, Callable

from ..task.models import Task
from ..util.aio import within
from . import codecache, protocol, triggers
from .cgroups import TreeLimits, pids_writable
from .local import LocalEpisode
from .runtime import _event_label
from .seccomp_filter import build_bpf
from .spec import episode_spec
from .trust import ALLOW_ENV, allowed_by_user, untrusted_checks, untrusted_code
from .worker import DEFAULT_LIMITS, MAX_REQUEST_BYTES

log = logging.getLogger("stt_arena.sandbox")
WARM_MAX_BYTES = 96 << 10  # code larger than this is not pre-compiled in the fork server
WARM_PER_REQUEST = 1  # warm items per fork request (keeps each control message small)
WARM_CHUNK_BYTES = 64 << 10  # prepared code per control message (one datagram: under the socket buffer)
WARM_ITEM_BYTES = 160 << 10  # a bigger prepared item goes without its code (the fork server compiles it)
MAX_ARGS_BYTES = 1 << 20  # a tool call larger than this (as JSON) is refused, not sent
MAX_MESSAGE_CHARS = 4000  # of a message, kept in the operation log (the worker keeps as much)
_PKG_PARENT = str(Path(__file__).resolve().parents[2])
_SANDBOX_DIR = str(Path(__file__).resolve().parent)
_BOX_ROOT = "/opt/stt-arena"  # where the sandbox package is mounted inside bubblewrap
SANDBOX_UID = 1000


class SandboxError(RuntimeError):
    """The episode could not be started, or its worker died or was killed."""


def _interpreter_binds() -> tuple[list[str], list[str]]:
    """(read-only binds for the interpreter, its site-packages dirs to hide)."""
    exe = os.path.realpath(sys.executable)
    binds = [sys.base_prefix, sys.base_exec_prefix, os.path.dirname(exe)]
    hidden = {sysconfig.get_paths(vars={"base": p, "platbase": p}).get(k) for p in binds
              for k in ("purelib", "platlib")}
    return list(dict.fromkeys(binds)), sorted(h for h in hidden if h and os.path.isdir(h))


def box_python() -> str:
    """The interpreter binary itself (a virtual environment's ``python`` link points outside the box)."""
    return os.path.realpath(sys.executable)


def _bwrap_cmd(cgroups: dict[str, Path] | None = None) -> list[str]:
    """The fork server's bubblewrap sandbox; ``cgroups``: controller -> this executor's cgroup parent,
    mounted writable at ``/cgroup/<controller>`` (workers move themselves into a child, then hide it)."""
    binds, hidden = _interpreter_binds()
    cmd = ["bwrap", "--die-with-parent", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
           "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
           "--new-session", "--cap-drop", "ALL", "--hostname", "sandbox", "--proc", "/proc", "--tmpfs", "/dev"]
    for dev in ("null", "zero", "urandom", "random", "full"):
        cmd += ["--ro-bind-try", f"/dev/{dev}", f"/dev/{dev}"]
    cmd += ["--remount-ro", "/dev", "--tmpfs", "/tmp", "--remount-ro", "/tmp"]  # workers mount their own /tmp
    for b in ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/etc/ld.so.cache", *binds]:
        cmd += ["--ro-bind-try", b, b]
    for h in hidden:  # the interpreter, not its third-party packages
        cmd += ["--tmpfs", h, "--remount-ro", h]
    cmd += ["--ro-bind", _SANDBOX_DIR, f"{_BOX_ROOT}/stt_arena/sandbox"]
    for ctrl, base in sorted((cgroups or {}).items()):
        cmd += ["--bind", str(base), f"/cgroup/{ctrl}"]
    return cmd + ["--remount-ro", "/", "--chdir", "/"]  # nothing writable is the fork server's cwd (sys.path[0])


def _child_env(in_bwrap: bool = True) -> dict:
    """The fork server's whole environment: nothing of the harness's (no API keys)."""
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": _BOX_ROOT if in_bwrap else _PKG_PARENT,
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "LANG": "C.UTF-8"}


@lru_cache(maxsize=1)
def os_layer_status() -> tuple[bool, str]:
    """``(True, "")`` when bubblewrap, nested user namespaces and seccomp all work here, else
    ``(False, why)``."""
    if os.environ.get("STT_ARENA_NO_BWRAP"):
        return False, "disabled by STT_ARENA_NO_BWRAP"
    if sys.platform != "linux":
        return False, f"no Linux namespaces on {sys.platform}"
    if not shutil.which("bwrap"):
        return False, "bubblewrap (bwrap) is not installed"
    bpf, why = build_bpf()
    if bpf is None:
        return False, why
    try:
        r = subprocess.run(_bwrap_cmd() + [box_python(), "-S", "-m", "stt_arena.sandbox.oslayer", bpf.hex()],
                           capture_output=True, timeout=20, env=_child_env())
    except (OSError, subprocess.SubprocessError) as e:
        return False, f"bubblewrap failed to start: {e}"
    if r.returncode != 0:
        err = (r.stderr or b"").decode(errors="replace").strip().splitlines()
        return False, f"bubblewrap or user namespaces refused: {err[-1] if err else r.returncode}"
    return True, ""


def bwrap_available() -> bool:
    """Whether the OS layer (bubblewrap + per-worker namespaces + seccomp) works on this machine."""
    return os_layer_status()[0]


@lru_cache(maxsize=None)
def _warn_once(why: str, allowed: bool) -> None:
    msg = (f"stt-arena: the OS sandbox layer is unavailable ({why}); environment code is contained by the "
           f"Python layers only. ")
    msg += ("Untrusted task code runs anyway (--allow-unsandboxed)." if allowed else
            "Built-in tasks run; other task files are refused unless you pass --allow-unsandboxed.")
    log.info(msg)
    sys.stderr.write(msg + "\n")


def _pidfd_host_pid(pidfd: int) -> int | None:
    try:
        with open(f"/proc/self/fdinfo/{pidfd}") as f:
            for line in f:
                if line.startswith("Pid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


class Executor:
    """Opens sandboxed episodes. Thread-safe; one fork server per executor, started lazily."""

    def __init__(self, limits: dict | None = None, call_timeout_s: float = 5.0, use_bwrap: bool | None = None,
                 max_frame_bytes: int = 8 << 20, allow_untrusted: bool | None = None, shared_graders: bool = True):
        """``allow_untrusted``: without the OS layer, run task code that is not built-in anyway (default:
        the ``STT_ARENA_ALLOW_UNSANDBOXED`` environment variable, set by ``--allow-unsandboxed``).
        ``shared_graders``: episodes whose checks are all built-in are graded by long-lived graders
        (``GraderPool``) instead of one forked per episode."""
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.call_timeout_s = call_timeout_s
        self.os_layer, self.os_layer_reason = os_layer_status() if use_bwrap is not False else (False, "turned off")
        if use_bwrap and not self.os_layer:
            raise SandboxError(f"the OS sandbox layer is unavailable: {self.os_layer_reason}")
        self.use_bwrap = self.os_layer
        self.allow_untrusted = allowed_by_user() if allow_untrusted is None else allow_untrusted
        if not self.os_layer and use_bwrap is None:
            _warn_once(self.os_layer_reason, self.allow_untrusted)
        self.max_frame_bytes = max_frame_bytes
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._ctrl: socket.socket | None = None
        self._keeper_stop: threading.Event | None = None
        self._pipeline: deque = deque()  # aopen's fork requests in flight: (future, mine, theirs)
        self._pipe_users = 0  # aopen calls between sending and getting their reply
        self._pipeline_loop: asyncio.AbstractEventLoop | None = None
        self._wlock = threading.Lock()
        self._warm_sent: set[tuple] = set()  # items (codecache.item_id) the fork server has or will get compiled
        self._warm_queue: list[dict] = []  # sent with the next fork request
        self._prepared: dict[tuple, dict] = {}  # built-in code compiled in the fork server at its start (prepare)
        self._tree: TreeLimits | None = None  # per-episode cgroups, where writable
        self.shared_graders = shared_graders
        self._generation = 0
        self._graders = GraderPool(self)

    @property
    def layers(self) -> dict[str, bool]:
        py = self.limits.get("python_layers") is not False
        return {"process_per_episode": True, "ast_guard": py, "restricted_builtins": py, "audit_hook": py,
                "resource_limits": True, "call_timeout": True, "result_cap": True, "bwrap": self.os_layer,
                "namespaces": self.os_layer, "seccomp": self.os_layer, "isolated_grading": True,
                "tree_limits": self.os_layer and (os.geteuid() != 0 or (self._tree.pids if self._tree else pids_writable()))}

    def _start_server(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if self.os_layer:
            if self._tree is None:
                self._tree = TreeLimits()
            else:  # a restart: the cgroups the last fork server kept for reuse
                self._tree.sweep()
            tree = self._tree.files(int(self.limits["processes"]), int(self.limits["memory_mb"]))
            bpf, why = build_bpf()
            if bpf is None:
                raise SandboxError(f"the OS layer cannot start: {why}")
            cmd = _bwrap_cmd(self._tree.bases) + [
                box_python(), "-S", "-m", "stt_arena.sandbox.forkserver", str(child.fileno()),
                "--os-layer", bpf.hex()] + (["--tree", json.dumps(tree)] if self._tree.bases else [])
        else:
            cmd = [sys.executable, "-m", "stt_arena.sandbox.forkserver", str(child.fileno())]
        self._proc = self._launch(cmd, child)
        child.close()
        self._ctrl = parent
        self._generation += 1  # workers of an earlier server are gone with it
        with self._wlock:  # a new server starts cold
            self._warm_sent.clear()
            self._warm_queue.clear()
        if self._prepared:
            try:
                self._send_warm(list(self._prepared.values()))
            except SandboxError:  # best effort: later servers start without it (compiled per episode)
                self._prepared.clear()
                raise
        if self.os_layer:
            log.info("sandbox fork server pid %s; layers: %s", self._proc.pid,
                     ", ".join(k for k, v in self.layers.items() if v))
        else:
            log.warning("sandbox fork server pid %s WITHOUT the OS layer (%s): only the Python layers contain "
                        "environment code; untrusted task files need an explicit opt-in", self._proc.pid,
                        self.os_layer_reason)

    def _launch(self, cmd: list[str], child: socket.socket) -> subprocess.Popen:
        """Start the server from a thread that lives as long as the server: bwrap's --die-with-parent
        (PR_SET_PDEATHSIG) fires when the *thread* that started it exits, e.g. an asyncio pool thread."""
        started: list = []
        ready, stop = threading.Event(), threading.Event()

        def keeper() -> None:
            try:
                started.append(subprocess.Popen(cmd, pass_fds=(child.fileno(),), env=_child_env(self.os_layer),
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

    def _control(self) -> socket.socket:
        """The fork server's control socket (a server that was shut down has none)."""
        if self._ctrl is None:
            raise SandboxError("the sandbox fork server is not running")
        return self._ctrl

    def _server_alive(self) -> bool:
        return self._ctrl is not None and self._proc is not None and self._proc.poll() is None

    def _ensure_server(self) -> None:
        with self._lock:
            if not self._server_alive():
                self._start_server()

    def prepare(self, tasks: list[Task]) -> int:
        """Compile the built-in code of ``tasks`` (environment sources, check functions, trigger expressions)
        in the fork server now and at every restart, so workers and graders start with it compiled instead of
        guarding and compiling it per episode. Code that is not built-in takes the vetted path (``_vetted``). Returns
        how many items were new."""
        new = [(key, item) for item in codecache.builtin_items(tasks) if (key := codecache.item_id(item)) not in self._prepared]
        for key, item in new:  # vetted and marshalled here (cached per machine): the fork server only installs it
            try:
                self._prepared[key] = codecache.compiled(item)
            except Exception:  # noqa: BLE001 - built-in code the guard refuses: the fork server's warm skips it too
                self._prepared[key] = item
        if new:
            with self._lock:
                try:
                    if self._server_alive():
                        self._send_warm([self._prepared[key] for key, _item in new])
                    else:
                        self._start_server()  # sends every prepared item
                except (SandboxError, OSError) as e:  # an optimisation only: episodes compile their code
                    log.warning("sandbox: prepared code not taken by the fork server (%s); compiling per episode", e)
                    for key, _item in new:
                        self._prepared.pop(key, None)
                    self._shutdown_server()
                    return 0
        return len(new)

    def _send_warm(self, items: list[dict]) -> None:
        """Under ``_lock``: have the fork server compile ``items`` now (chunks under its frame limit);
        SandboxError when it does not answer."""
        try:
            self._send_warm_chunks(self._control(), items)
        except OSError as e:
            raise SandboxError(f"the sandbox fork server did not take the prepared code: {e}") from None

    def _send_warm_chunks(self, ctrl: socket.socket, items: list[dict]) -> None:
        ctrl.settimeout(120)
        encoded = []  # each item's JSON, once (ASCII: characters are bytes)
        for item in items:
            enc = json.dumps(item)
            if len(enc) > WARM_ITEM_BYTES and "code" in item:  # too big for one datagram with its code: source only
                enc = json.dumps({k: item[k] for k in ("env", "checks", "exprs") if k in item})
            if len(enc) <= WARM_ITEM_BYTES:
                encoded.append(enc)
        chunk: list[str] = []
        size = 0
        for i, enc in enumerate(encoded):
            chunk.append(enc)
            size += len(enc)
            last = i == len(encoded) - 1
            if size > WARM_CHUNK_BYTES or last:  # "more": the server prepares no spares until the last chunk
                ctrl.sendall(('{"op": "warm", "more": %s, "items": [' % ("false" if last else "true")
                              + ", ".join(chunk) + "]}").encode())
                reply = ctrl.recv(4096)
                if not reply:
                    raise SandboxError("the sandbox fork server exited while compiling prepared code")
                chunk, size = [], 0

    def _vetted(self, item: dict) -> None:
        """A worker accepted this code (see ``runtime.warm``): queue it for the fork server once. Checks
        never: every later worker would inherit them compiled, readable by environment code that gets
        past the Python layers (a task's checks are its answer key; found in review)."""
        if "checks" in item:
            return
        key = codecache.item_id(item)
        if key in self._prepared:
            return
        with self._wlock:
            if key in self._warm_sent:
                return
            self._warm_sent.add(key)  # a too-big item too: measured once
            if len(json.dumps(item)) <= WARM_MAX_BYTES:
                self._warm_queue.append(item)

    def _fork_request(self, limits: dict, grader: bool = True, pool: bool = False) -> bytes:
        req: dict = {"limits": limits, "grader": grader}
        if pool:  # a shared grader's host: started by the grader template, which holds the prepared checks
            req["pool"] = True
        with self._wlock:
            if self._warm_queue:
                req["warm"] = self._warm_queue[:WARM_PER_REQUEST]
                del self._warm_queue[:WARM_PER_REQUEST]
        return json.dumps(req).encode()

    def _forked(self, mine: tuple, theirs: tuple, data: bytes, fds: list[int]) -> tuple:
        """``(socket, host pid, pidfd or None, cgroup name or None, grader socket)`` from a fork reply."""
        _close(theirs)
        pidfd = fds[0] if fds else None
        for extra in fds[1:]:
            os.close(extra)
        try:
            reply = json.loads(data or b"{}")
        except ValueError:
            reply = {"error": "malformed fork reply"}
        pid = reply.get("pid") if isinstance(reply, dict) else None
        if pidfd is not None and pid is not None:
            pid = _pidfd_host_pid(pidfd)  # the server's pid is in its own PID namespace
        if not isinstance(pid, int):
            _close(mine)
            if pidfd is not None:
                os.close(pidfd)
            raise SandboxError(f"fork server refused: {reply.get('error', reply) if isinstance(reply, dict) else reply}")
        cgroup = reply.get("cgroup")
        return mine[0], pid, pidfd, cgroup if isinstance(cgroup, str) and not cgroup.startswith("!") else None, mine[1]

    def _fork_worker(self, limits: dict, grader: bool = True, pool: bool = False) -> tuple:
        mine, theirs = _socket_pairs()
        with self._lock:
            for attempt in range(2):
                if not self._server_alive():
                    self._shutdown_server()
                    self._start_server()
                try:
                    ctrl = self._control()
                    ctrl.settimeout(30)
                    socket.send_fds(ctrl, [self._fork_request(limits, grader, pool)], [t.fileno() for t in theirs])
                    data, fds, _flags, _addr = socket.recv_fds(ctrl, 4096, 1)
                    break
                except (OSError, SandboxError):
                    self._shutdown_server()
                    if attempt:
                        _close(mine + theirs)
                        raise SandboxError("the sandbox fork server is not responding") from None
        return self._forked(mine, theirs, data, fds)

    async def _afork_worker(self, limits: dict, grader: bool = True, pool: bool = False) -> tuple:
        """The fork round trip on the event loop, pipelined: requests go out at once and replies (in
        order on the control socket) resolve them, so a burst of opens does not queue on round trips.
        While any is in flight this loop holds the thread lock; starting or restarting the server, a
        thread inside ``open``, or another loop, take the thread path."""
        loop = asyncio.get_running_loop()
        if not self._pipe_users and not self._server_alive():
            await asyncio.to_thread(self._ensure_server)
        if not self._pipe_users:
            if self._pipeline or not self._server_alive() or not self._lock.acquire(blocking=False):
                return await asyncio.to_thread(self._fork_worker, limits, grader, pool)
            ctrl = self._control()
            ctrl.setblocking(False)
            loop.add_reader(ctrl.fileno(), self._on_fork_reply)
            self._pipeline_loop = loop
        elif loop is not self._pipeline_loop:
            return await asyncio.to_thread(self._fork_worker, limits, grader, pool)
        self._pipe_users += 1
        try:
            return await self._afork_send(loop, limits, grader, pool)
        finally:
            self._pipe_users -= 1
            self._pipeline_maybe_end()

    async def _afork_send(self, loop: asyncio.AbstractEventLoop, limits: dict, grader: bool = True,
                          pool: bool = False) -> tuple:
        mine, theirs = _socket_pairs()
        fut = loop.create_future()
        msg, give_up = self._fork_request(limits, grader, pool), time.monotonic() + 30
        while True:
            try:
                socket.send_fds(self._control(), [msg], [t.fileno() for t in theirs])
                break
            except BlockingIOError:  # the control socket's buffer is full (a burst): let the server catch up
                if time.monotonic() < give_up:
                    await asyncio.sleep(0.002)
                    if self._ctrl is not None:
                        continue
                err: OSError = TimeoutError("the fork server stopped reading")
            except OSError as e:
                err = e
            _close(mine + theirs)
            self._pipeline_failed(f"fork server send failed: {err}")
            raise SandboxError(f"the sandbox fork server is not responding ({err})")
        self._pipeline.append((fut, mine, theirs))  # right after the send: replies come in this order
        try:
            return await within(asyncio.shield(fut), 30)
        except asyncio.TimeoutError:
            self._pipeline_failed("the sandbox fork server did not answer within 30 s")
            raise SandboxError("the sandbox fork server is not responding") from None
        except asyncio.CancelledError:  # the reply still comes: close that worker's socket (it exits on EOF)
            fut.add_done_callback(lambda f: None if f.cancelled() or f.exception() else _dispose(f.result()))
            raise

    def _on_fork_reply(self) -> None:
        try:
            data, fds, _flags, _addr = socket.recv_fds(self._control(), 4096, 1)
        except BlockingIOError:
            return
        except (OSError, SandboxError) as e:
            self._pipeline_failed(f"fork server connection failed: {e}")
            return
        if not data or not self._pipeline:
            self._pipeline_failed("the fork server exited" if not data else "unexpected fork reply")
            return
        fut, mine, theirs = self._pipeline.popleft()
        result: tuple | Exception
        try:
            result = self._forked(mine, theirs, data, fds)
        except (SandboxError, ValueError) as e:
            result = e
        if fut.done():  # the caller gave up (cancelled): the new worker is killed
            if not isinstance(result, Exception):
                _dispose(result)
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
            _close(mine + theirs)
            if not fut.done():
                fut.set_exception(SandboxError(why))
        loop, self._pipeline_loop = self._pipeline_loop, None
        if loop is not None:
            if self._ctrl is not None:
                loop.remove_reader(self._ctrl.fileno())
            self._shutdown_server()  # still holding the thread lock taken when the pipeline started
            self._lock.release()

    def _episode(self, forked: tuple, limits: dict, shared: "GraderPool | None" = None) -> "SandboxEpisode":
        sock, pid, pidfd, cgroup, grader = forked
        if shared is not None:  # its grader socket goes unused: the worker forked no grader
            grader.close()
            grader = None
        ep = SandboxEpisode(sock, pid, self.call_timeout_s, self.max_frame_bytes, self._vetted, pidfd, self, grader,
                            shared)
        if self._tree is not None and self._tree.bases and pidfd is not None:  # before any environment code runs
            procs, mem = int(limits["processes"]), int(limits["memory_mb"])
            if cgroup:  # the worker joined its own cgroups while it was a spare, with the executor's limits
                ep.cgroups = self._tree.adopt(cgroup, procs, mem, int(self.limits["processes"]),
                                              int(self.limits["memory_mb"]))
            else:
                ep.cgroups = self._tree.place(pid, procs, mem)
        return ep

    def _shared_grading(self, task: Task, limits: dict) -> "GraderPool | None":
        """The shared graders when every check of ``task`` is built-in code (and the limits are the
        executor's own), else None: the episode forks its own grader."""
        if limits != self.limits or not self.shared_graders or untrusted_checks(task):
            return None
        return self._graders

    def admit(self, task: Task) -> None:
        """Raise SandboxError for task code that is not built-in when the OS layer is unavailable and
        the user did not opt in."""
        if self.os_layer or self.allow_untrusted:
            return
        foreign = untrusted_code(task)
        if foreign:
            raise SandboxError(
                f"task {task.task_id}: refusing untrusted code ({', '.join(foreign[:3])}) because the OS sandbox "
                f"layer is unavailable ({self.os_layer_reason}); install bubblewrap with user namespaces enabled, "
                f"or pass --allow-unsandboxed ({ALLOW_ENV}=1) to run it behind the Python layers only")

    def open(self, task: Task, seed: int | None = None, limits: dict | None = None) -> "SandboxEpisode":
        self.admit(task)
        lim = {**self.limits, **(limits or {})}
        shared = self._shared_grading(task, lim)
        ep = self._episode(self._fork_worker(lim, shared is None), lim, shared)
        ep.start(episode_spec(task, seed))
        return ep

    async def aopen(self, task: Task, seed: int | None = None, limits: dict | None = None) -> "SandboxEpisode":
        """``open`` for asyncio."""
        self.admit(task)
        lim = {**self.limits, **(limits or {})}
        shared = self._shared_grading(task, lim)
        ep = self._episode(await self._afork_worker(lim, shared is None), lim, shared)
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
        self._graders.close()
        with self._lock:
            self._shutdown_server()
            if self._tree is not None:
                self._tree.close()
                self._tree = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class GraderPool:
    """Long-lived graders for episodes whose checks are all built-in code. Each is a sandboxed judge-only
    process (with an idle worker as PID 1 of its namespaces) that never runs environment code and only ever
    runs the package's own checks over the state and log the harness sends, so one serves many episodes
    instead of a grader forked per episode. A grader that fails or hangs is killed and replaced; the episode
    it was grading is ended as an infrastructure failure, as with its own grader. Thread- and loop-safe: a
    grader serves one request at a time."""

    MAX_IDLE = 8
    MAX_USES = 200  # then retired: its per-process CPU limit (cpu_seconds) counts every grading it ran

    def __init__(self, executor: "Executor"):
        self.executor = executor
        self._idle: list[tuple[int, SandboxEpisode]] = []  # (server generation, host episode)
        self._uses: dict[int, int] = {}  # id(host) -> gradings served
        self._lock = threading.Lock()
        self.started = 0  # graders made (tests, diagnostics)

    def _take(self) -> "SandboxEpisode | None":
        gen = self.executor._generation
        with self._lock:
            while self._idle:
                g, host = self._idle.pop()
                if g == gen and host.alive and host._grader is not None and host._grader.alive:
                    return host
                self._uses.pop(id(host), None)
                host.close()
        return None

    def _put(self, host: "SandboxEpisode", gen: int) -> None:
        ok = host.alive and host._grader is not None and host._grader.alive and gen == self.executor._generation
        with self._lock:
            uses = self._uses.pop(id(host), 0) + 1
            if ok and uses < self.MAX_USES and len(self._idle) < self.MAX_IDLE:
                self._uses[id(host)] = uses
                self._idle.append((gen, host))
                return
        host.close()

    def _new(self, forked: tuple) -> "SandboxEpisode":
        self.started += 1
        return self.executor._episode(forked, self.executor.limits)

    def _timeout(self) -> float:
        return max(self.executor.call_timeout_s, 10.0)

    def _done(self, host: "SandboxEpisode", gen: int, r: dict) -> dict:
        if host._grader is None or not host._grader.alive:
            with self._lock:
                self._uses.pop(id(host), None)
            host.close()
            return {"ok": False, "grader_failed": True, "error": f"shared grader failed ({host._grader.death if host._grader else '?'})"}
        self._put(host, gen)
        return r

    def judge(self, req: dict) -> dict:
        gen, host = self.executor._generation, self._take()
        try:
            if host is None:
                host = self._new(self.executor._fork_worker(self.executor.limits, True, pool=True))
        except SandboxError as e:
            return {"ok": False, "grader_failed": True, "error": str(e)}
        assert host._grader is not None
        return self._done(host, gen, host._grader.request(req, self._timeout()))

    async def ajudge(self, req: dict) -> dict:
        gen, host = self.executor._generation, self._take()
        try:
            if host is None:
                host = self._new(await self.executor._afork_worker(self.executor.limits, True, pool=True))
        except SandboxError as e:
            return {"ok": False, "grader_failed": True, "error": str(e)}
        assert host._grader is not None
        return self._done(host, gen, await host._grader.arequest(req, self._timeout()))

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._uses.clear()
        for _gen, host in idle:
            host.close()


def _signal(pid: int, pidfd: int | None) -> None:
    """SIGKILL a worker: through its pidfd (no pid reuse; under the OS layer it is PID 1 of its own
    namespace, so everything it started dies with it), else by pid."""
    try:
        if pidfd is not None:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _dispose(forked: tuple) -> None:
    """A worker nobody will use (its opener gave up): kill it and close its descriptors."""
    sock, pid, pidfd, _cgroup, grader = forked
    if pidfd is not None:
        _signal(pid, pidfd)
        os.close(pidfd)
    _close((sock, grader))


def _socket_pairs() -> tuple[tuple, tuple]:
    """(ours, theirs) for the episode's worker and for its grader."""
    (a, b), (c, d) = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM), socket.socketpair(
        socket.AF_UNIX, socket.SOCK_STREAM)
    return (a, c), (b, d)


def _close(socks) -> None:
    for s in socks:
        s.close()


_CALL_KEYS = {"result": dict, "events": list}
_SCALARS = (str, int, float, bool, type(None))


class SandboxEpisode:
    """One live environment in its own sandboxed process. Errors come back as data, never raise,
    except SandboxError at start (bad code, bad task). A hostile or broken reply (wrong request id,
    too large, too deep, wrong shape) ends the episode with an error instead of raising.

    The operation log is recorded here, in the harness, from the calls it made; grading runs in a
    fresh worker that never ran environment code, over the state snapshot and that log.

    Every operation has a blocking form (``call``) and an asyncio form (``acall``) doing native socket
    I/O on the event loop (no threads). Use one form at a time: an episode serves one request at once.
    """

    isolated = True

    def __init__(self, sock: socket.socket, pid: int, timeout_s: float, max_frame: int,
                 on_vetted: Callable[[dict], None] | None = None, pidfd: int | None = None,
                 executor: "Executor | None" = None, grader: socket.socket | None = None,
                 shared: "GraderPool | None" = None):
        self.sock, self.pid, self.timeout_s, self.max_frame = sock, pid, timeout_s, max_frame
        self._shared = shared  # built-in checks: graded by the executor's long-lived graders
        self.pidfd, self.executor = pidfd, executor
        self._grader: SandboxEpisode | None = None  # the grader's transport: never signals by itself
        if grader is not None:
            self._grader = SandboxEpisode(grader, pid, timeout_s, max_frame)
            self._grader.quiet()
        self._signals: bool = True
        self.on_vetted = on_vetted
        self._messages: list[dict] = []  # recorded messages not sent yet: they go with the next request
        self._rid = 0  # request ids: every reply must echo its request's
        self._reader = protocol.Reader()  # bytes read past a reply wait here
        sock.setblocking(False)  # asyncio needs it; the blocking helpers select() when it would block
        self.alive = True
        self.death: str | None = None
        self.events: list[dict] = []
        self.tools: list[dict] = []
        self._log: list[dict] = []  # the operation log, as the harness saw it
        self._mutating: set[str] = set()
        self._now: str | None = None
        self._seed = 0
        self._step = 0
        self.cgroups: list = []  # per-episode cgroup dirs (removed once the worker is gone)

    # -- transport ------------------------------------------------------------------------

    def quiet(self) -> None:
        """This transport never signals the worker by itself (the grader's: the episode owns the worker)."""
        self._signals = False

    def _release(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        if self.cgroups and self.executor is not None and self.executor._tree is not None:
            self.executor._tree.release(self.cgroups)
        self.cgroups = []

    def _kill(self, why: str) -> None:
        self.alive, self.death = False, why
        if self._signals and (self.pidfd is not None or self.executor is None or not self.executor.os_layer):
            _signal(self.pid, self.pidfd)
        self._release()
        self.sock.close()
        if self._grader is not None:
            self._grader.close()

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

    def _frame(self, req: dict) -> tuple[dict, bytes] | dict:
        """The request with its id and the messages recorded since the last one, encoded; or an error reply
        (nothing sent) when it cannot be: too large, or (a call: the arguments the agent wrote) nested
        deeper than the protocol's cap."""
        self._rid += 1
        req = {**req, "id": self._rid}
        if self._messages:  # in order, before the request's own op (triggers may look for them)
            req["messages"] = self._messages
        try:
            data = protocol.encode(req)
        except (ValueError, TypeError, RecursionError) as e:
            return {"ok": False, "kind": "request", "error": f"request not sent: {type(e).__name__}: {e}"}
        agents = req.get("op") == "call"  # what the agent wrote: capped in size and depth here
        cap = min(MAX_REQUEST_BYTES, (MAX_ARGS_BYTES if agents else MAX_REQUEST_BYTES) + sum(  # messages riding
            6 * len(m["content"]) + 64 for m in self._messages))  # along (each capped) do not count against a call
        if len(data) > cap or (agents and not protocol.text_depth_ok(data[protocol.HEADER_BYTES:], protocol.MAX_DEPTH)):
            return {"ok": False, "kind": "request", "error": "request not sent: too large or nested too deep"}
        self._messages = []  # on their way
        return req, data

    def _checked(self, req: dict, reply) -> dict:
        if not isinstance(reply, dict) or reply.get("id") != req["id"]:
            raise protocol.FrameError(f"reply out of step (expected id {req['id']})")
        return reply

    def request(self, req: dict, timeout_s: float | None = None) -> dict:
        if not self.alive:
            return self._dead()
        framed = self._frame(req)
        if isinstance(framed, dict):
            return framed
        req, data = framed
        t = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + t  # sending counts too: a worker that stops reading blocks the send
        try:
            protocol.send_bytes(self.sock.fileno(), data, deadline)
            return self._checked(req, protocol.recv(self.sock.fileno(), self.max_frame, deadline, self._reader))
        except (TimeoutError, protocol.FrameError, EOFError, OSError) as e:
            return self._failed(req, t, e)

    async def arequest(self, req: dict, timeout_s: float | None = None) -> dict:
        if not self.alive:
            return self._dead()
        framed = self._frame(req)
        if isinstance(framed, dict):
            return framed
        req, data = framed
        t = self.timeout_s if timeout_s is None else timeout_s
        try:
            return self._checked(req, await within(self._aexchange(data), t))
        except (asyncio.TimeoutError, protocol.FrameError, EOFError, OSError) as e:
            return self._failed(req, t, e)
        except asyncio.CancelledError:  # the stream may be mid-frame: this worker cannot be reused
            self._kill(f"'{req.get('op')}' cancelled; worker killed")
            raise

    async def _aexchange(self, data: bytes):
        await asyncio.get_running_loop().sock_sendall(self.sock, data)
        return await protocol.arecv(self.sock, self.max_frame, self._reader)

    # -- operations: (request, timeout, reply -> result), run by _do / _ado ----------------
    def _post(self, post: Callable[[dict], object], r: dict):
        try:
            return post(r)
        except SandboxError:
            raise
        except Exception as e:  # noqa: BLE001 - a reply of the wrong shape: the episode ends, the harness goes on
            if self.alive:
                self._kill(f"malformed reply ({type(e).__name__}: {e}); worker killed")
            return post(self._dead())

    def _do(self, op: tuple):
        req, t, post = op
        return self._post(post, self.request(req, t))

    async def _ado(self, op: tuple):
        req, t, post = op
        return self._post(post, await self.arequest(req, t))

    def _start_op(self, spec: dict) -> tuple:
        def post(r: dict) -> None:
            if not r.get("ok"):
                if self.alive:
                    self._kill("init failed")
                raise SandboxError(str(r.get("error", "init failed")))
            tools = r["tools"]
            if not isinstance(tools, list) or not all(isinstance(t, dict) and isinstance(t.get("name"), str)
                                                      for t in tools):
                raise ValueError("tools must be a list of {name, ...}")
            self.tools = tools
            self._mutating = {t["name"] for t in tools if t.get("mutating")}
            self._now = str(r.get("now"))
            self._seed = spec.get("seed", 0)
            if self.on_vetted:
                self.on_vetted({"env": [spec["source"], spec["class_name"]]})
                if spec.get("triggers"):  # the worker compiled them: later workers inherit them compiled
                    self.on_vetted({"exprs": triggers.expressions(spec["triggers"])})
        return {"op": "init", "spec": spec}, max(self.timeout_s, 10.0), post

    def _tools_op(self) -> tuple:
        def post(r: dict) -> list[dict]:
            return r["tools"] if r.get("ok") and isinstance(r.get("tools"), list) else self.tools
        return {"op": "tools"}, None, post

    def _call_op(self, tool: str, args: dict | None) -> tuple:
        args = args or {}

        def post(r: dict) -> dict:
            out: dict[str, Any]
            if not r.get("ok"):
                out = {"result": {"success": False, "error": r.get("error")}, "events": [], "step": None,
                       "now": None, "sandbox_error": r.get("kind")}
                if r.get("kind") not in ("dead", "request"):
                    self._record(tool, args, out)
                return out
            for k, typ in _CALL_KEYS.items():
                if not isinstance(r.get(k), typ):
                    raise ValueError(f"'{k}' must be a {typ.__name__}")
            if not all(isinstance(e, dict) and isinstance(e.get("type"), str) for e in r["events"]):
                raise ValueError("events must be objects with a type")
            out = {"result": r["result"], "events": r["events"], "step": r.get("step"), "now": r.get("now")}
            self.events += r["events"]
            self._record(tool, args, out, r.get("events_before"))
            return out
        return {"op": "call", "tool": tool, "args": args}, None, post

    def _record(self, tool: str, args: dict, out: dict, n_before=None) -> None:
        """The operation log entry for a call, from what the harness sent and received."""
        if out.get("now") is not None:
            self._now = str(out["now"])
        labels = [_event_label(e) for e in out["events"]]
        n = n_before if isinstance(n_before, int) else 0
        args = args if isinstance(args, dict) else {}  # what the worker did with it too
        self._step += 1
        self._log.append({
            "step": self._step, "tool": tool, "args": dict(args) if all(type(v) in _SCALARS for v in args.values())
            else json.loads(json.dumps(args, default=str)),
            "success": bool(out["result"].get("success")) if isinstance(out["result"], dict) else False,
            "mutating": tool in self._mutating, "time": self._now, "events": labels, "events_before": labels[:n],
        })

    def _message(self, role: str, content: str) -> None:
        """Logged here now; sent with the next request (no round trip of its own)."""
        text = str(content)[:MAX_MESSAGE_CHARS]
        self._log.append({"step": self._step, "tool": role, "args": {"content": text}, "success": True,
                          "mutating": False, "time": self._now, "events": [], "events_before": []})
        if self.alive:
            self._messages.append({"role": role, "content": text})

    def _snapshot_op(self) -> tuple:
        def post(r: dict) -> dict:
            return r["state"] if r.get("ok") and isinstance(r.get("state"), dict) else {}
        return {"op": "snapshot"}, None, post

    # -- grading: a fresh worker that never ran environment code -----------------------------
    def _judge_req(self, state: dict, checklist: list[dict], goals: list[dict]) -> dict:
        return {"op": "judge", "state": state, "log": self._log, "checklist": checklist, "goals": goals,
                "now": self._now, "seed": self._seed}

    def _judged(self, r: dict, checklist: list[dict], goals: list[dict]) -> dict:
        def results(got, items: list[dict]) -> list[dict]:
            ok = (isinstance(got, list) and len(got) == len(items) and all(
                isinstance(g, dict) and g.get("id") == it["id"] and isinstance(g.get("passed"), bool)
                for g, it in zip(got, items)))
            if r.get("ok") and ok:
                return [{"id": g["id"], "passed": g["passed"], "error": g.get("error")} for g in got]
            why = r.get("error") if not r.get("ok") else "malformed grading reply"
            return [{"id": it["id"], "passed": False, "error": why} for it in items]
        out = {"checks": results(r.get("checks"), checklist), "goals": results(r.get("goals"), goals)}
        if r.get("ok") and self.on_vetted:
            self.on_vetted({"checks": sorted({it["check"] for it in checklist + goals})})
        return out

    def _no_judge(self, checklist: list[dict], goals: list[dict], why: str) -> dict:
        return self._judged({"ok": False, "error": why}, checklist, goals)

    def _shared_graded(self, r: dict, checklist: list[dict], goals: list[dict]) -> dict:
        if r.get("grader_failed") and self.alive:  # as with its own grader: the episode goes (infrastructure)
            self._kill(f"grader failed ({r.get('error')})")
        return self._judged(r, checklist, goals)

    def _graded(self, r: dict, checklist: list[dict], goals: list[dict]) -> dict:
        if self._grader is not None and not self._grader.alive and self.alive:
            self._kill(f"grader failed ({self._grader.death})")  # a hung check: the whole episode goes
        return self._judged(r, checklist, goals)

    def _judge(self, state: dict, checklist: list[dict], goals: list[dict]) -> dict:
        if self._shared is not None:
            return self._shared_graded(self._shared.judge(self._judge_req(state, checklist, goals)), checklist, goals)
        if self._grader is None:
            return self._no_judge(checklist, goals, "this episode has no grader")
        r = self._grader.request(self._judge_req(state, checklist, goals), max(self.timeout_s, 10.0))
        return self._graded(r, checklist, goals)

    async def _ajudge(self, state: dict, checklist: list[dict], goals: list[dict]) -> dict:
        if self._shared is not None:
            r = await self._shared.ajudge(self._judge_req(state, checklist, goals))
            return self._shared_graded(r, checklist, goals)
        if self._grader is None:
            return self._no_judge(checklist, goals, "this episode has no grader")
        r = await self._grader.arequest(self._judge_req(state, checklist, goals), max(self.timeout_s, 10.0))
        return self._graded(r, checklist, goals)

    def _final_state(self) -> tuple[dict, str | None]:
        """(state, why not) for grading: the env's snapshot; a dead episode's state is unknown."""
        state = self.snapshot()
        return (state, None) if self.alive else ({}, f"episode terminated: {self.death}")

    # -- episode API (same as LocalEpisode), blocking --------------------------------------
    def start(self, spec: dict) -> None:
        self._do(self._start_op(spec))

    def list_tools(self) -> list[dict]:
        return self._do(self._tools_op())

    def call(self, tool: str, args: dict | None = None) -> dict:
        return self._do(self._call_op(tool, args))

    def record_message(self, role: str, content: str) -> None:
        self._message(role, content)

    def snapshot(self) -> dict:
        return self._do(self._snapshot_op())

    def log(self) -> list[dict]:
        """The operation log recorded by the harness (tool calls and messages, in order)."""
        return json.loads(json.dumps(self._log))

    def run_checks(self, items: list[dict]) -> list[dict]:
        return self.grade(items, [])["checks"]

    def grade(self, checklist: list[dict], goals: list[dict]) -> dict:
        """``{"checks", "goals", "state"}``: checklist and infeasible-goal results and the final state."""
        state, why = self._final_state()
        res = self._no_judge(checklist, goals, why) if why else self._judge(state, checklist, goals)
        return {**res, "state": state}

    def close(self) -> None:
        """End the episode: a close message, then SIGKILL through the pidfd (under the OS layer the
        worker is PID 1 of its own namespace: nothing it started survives)."""
        if self.alive:
            self.alive, self.death = False, "closed"
            try:
                self.sock.send(protocol.encode({"op": "close"}))
            except OSError:
                pass
            if self.pidfd is not None and self._signals:
                _signal(self.pid, self.pidfd)  # no kill by pid: an exited worker's pid may be reused
            self.sock.close()
            if self._grader is not None:
                self._grader.close()
        self._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "pidfd", None) is not None:
            try:
                os.close(self.pidfd)
            except OSError:
                pass

    # -- the same API for asyncio ---------------------------------------------------------
    async def astart(self, spec: dict) -> None:
        await self._ado(self._start_op(spec))

    async def alist_tools(self) -> list[dict]:
        return await self._ado(self._tools_op())

    async def acall(self, tool: str, args: dict | None = None) -> dict:
        return await self._ado(self._call_op(tool, args))

    async def arecord_message(self, role: str, content: str) -> None:
        self._message(role, content)

    async def asnapshot(self) -> dict:
        return await self._ado(self._snapshot_op())

    async def alog(self) -> list[dict]:
        return self.log()

    async def arun_checks(self, items: list[dict]) -> list[dict]:
        return (await self.agrade(items, []))["checks"]

    async def agrade(self, checklist: list[dict], goals: list[dict]) -> dict:
        state = await self.asnapshot()
        why = None if self.alive else f"episode terminated: {self.death}"
        state = state if self.alive else {}
        res = self._no_judge(checklist, goals, why) if why else await self._ajudge(state, checklist, goals)
        return {**res, "state": state}

    async def aclose(self) -> None:
        self.close()  # never blocks


def open_episode(task: Task, executor: Executor | None = None, sandbox: bool = True):
    """An episode for ``task``: sandboxed through ``executor``, or in-process when sandbox=False."""
    if not sandbox:
        return LocalEpisode(episode_spec(task))
    if executor is None:
        raise ValueError("a sandboxed episode needs an Executor")
    return executor.open(task)
