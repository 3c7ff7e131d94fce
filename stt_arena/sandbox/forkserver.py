"""Fork server: a warm process (inside bubblewrap when the OS layer is on) that starts one worker per
episode.

Protocol on the control socket: the harness sends a JSON frame with two sockets attached (SCM_RIGHTS):
the episode's and its grader's. The server hands them to a prepared worker, which forks its grader at
hand-over, before running anything (unless the request says ``"grader": false``: built-in checks are
graded by the executor's shared graders): the grader never runs environment code, closes the episode's
socket at once and gets its own socket from the worker. The server replies ``{"pid": ...}`` with a pidfd of the
worker attached where the kernel has pidfds (the harness signals through it: no pid reuse, and it works
across PID namespaces). Each worker serves one episode, then exits.

With the OS layer (``--os-layer BPF_HEX``), a worker is PID 1 of its own user, PID, mount, network, IPC
and UTS namespaces (one ``clone``), without capabilities and under the seccomp program (``oslayer``).

A control message ``{"op": "warm", "items", "more"}`` (no sockets attached) carries the harness's built-in
code (``Executor.prepare``): compiled at once, before spares are prepared anew, so no worker or grader guards
and compiles it per episode (``more``: another chunk follows, so no spare is prepared meanwhile). Off the
request path (and one item per request when never idle), the server (1) compiles ``warm`` items that requests carry: code an earlier worker already vetted under its limits, so
later workers inherit the compiled code; (2) keeps ``SPARES`` prepared workers waiting (namespaces, mounts and filter already applied), so
a request costs a hand-over instead of a fork. A spare receives the episode socket and its limits over
its own socket, then applies the rest of the sandbox exactly as a freshly started worker does.
With ``--tree JSON`` (cgroup limit files and values), each prepared worker also moves itself into its
own cgroup under ``/cgroup/<controller>`` (the executor's cgroup parents, mounted there) before it is
confined: limits for the whole episode tree, set off the request path.

The grader template (``start_template``, unless ``--no-template``): a second fork server forked at start,
before anything is compiled, that takes the prepared checks and starts the shared graders (requests
marked ``"pool"``, relayed with their sockets). Workers never run checks, and forking and ending a process
costs in proportion to its memory, so the process forking every episode's worker holds no check code.
``{"op": "status"}`` reports the template's pid and the spares (diagnostics).
Usage: ``python -m stt_arena.sandbox.forkserver CONTROL_FD [--os-layer BPF_HEX] [--tree JSON] [--no-template]``.
"""
from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import sys
import time
from collections import deque

from . import oslayer, worker  # noqa: F401 - pre-import everything the workers need (no imports after fork)
from .runtime import warm

MAX_REQUEST = 1 << 20
SPARES = 16
TEMPLATE_SPARES = 2  # the grader template's: shared graders start rarely
FREE_CGROUPS = 64  # empty episode cgroups kept for reuse (making and removing one costs the kernel ~1 ms)


def _become_worker(fd: int, limits: dict | None) -> None:
    code = 0
    try:
        worker.serve(fd, limits)
    except BaseException:  # noqa: BLE001
        code = 2
    os._exit(code)


def _send(sock: socket.socket, obj: dict) -> None:
    try:
        sock.send(json.dumps(obj).encode())
    except OSError:
        pass


class ForkServer:
    def __init__(self, ctrl: socket.socket, bpf: bytes | None = None, isolate: bool = False,
                 tree: dict[str, int] | None = None, spares: int = SPARES):
        self.ctrl, self.bpf, self.isolate, self.tree, self.n_spares = ctrl, bpf, isolate, tree, spares
        self.template: socket.socket | None = None  # control socket of the grader template (start_template)
        self.template_pid: int | None = None
        self.busy: deque[str] = deque()  # cgroups of handed-over workers and dropped spares: reused once empty
        self.free: list[str] = []  # empty cgroups: the next spares join them (limits written anew)
        self._swept = 0.0
        self.to_warm: list[dict] = []
        self.warming = False  # between the chunks of one prepared-code sequence: spares would be dropped at once
        self.spares: list[tuple[socket.socket, int | None, str | None]] = []  # (our end of its socket, pid, cgroup)

    def add_spare(self) -> None:
        """Prepare a worker that waits for an episode; it reports ``{"ready"}`` (or ``{"error"}``) on its
        hand-over socket. Under the OS layer it is PID 1 of new namespaces (one clone, no intermediate)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cgroup = self._spare_cgroup()
        try:
            pid = oslayer.clone_isolated() if self.isolate else os.fork()
        except OSError as e:
            _send(theirs, {"error": f"worker setup failed: {e}"})
            theirs.close()
            self.spares.append((ours, None, cgroup))
            return
        if pid == 0:
            try:
                self.ctrl.close()
                ours.close()
                for s, *_ in self.spares:
                    s.close()
                ready: dict = {"ready": True}
                pair = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # before seccomp denies it
                if self.isolate:
                    oslayer.close_fds_except({theirs.fileno(), *(p.fileno() for p in pair)})
                    if cgroup:
                        try:
                            ready["cgroup"] = oslayer.join_cgroups(self.tree or {}, cgroup)
                        except OSError as e:  # the harness places it from outside instead
                            ready["cgroup"] = f"!{e}"
                    oslayer.confine(self.bpf)
                _send(theirs, ready)
                self._wait_for_episode(theirs, pair)
            except BaseException as e:  # noqa: BLE001
                _send(theirs, {"error": f"worker setup failed: {type(e).__name__}: {e}"})
            os._exit(3)
        theirs.close()
        self.spares.append((ours, pid, cgroup))

    def _spare_cgroup(self) -> str | None:
        """The cgroup the next spare joins: an empty one reused, else a new name (None: no cgroups)."""
        if not (self.tree and self.isolate):
            return None
        if not self.free:
            self.recycle_cgroups(4)
        return self.free.pop() if self.free else oslayer.new_cgroup_name()

    def _retire(self, cgroup: str | None) -> None:
        if cgroup:
            self.busy.append(cgroup)

    def recycle_cgroups(self, limit: int | None = None) -> None:
        """Cgroups of workers that are gone back to the free list (up to ``FREE_CGROUPS``; the rest, and
        those still charged with memory, are removed); those still in use go to the back of the queue.
        ``limit``: look at that many at most."""
        for _ in range(len(self.busy) if limit is None else min(limit, len(self.busy))):
            name = self.busy.popleft()
            state = oslayer.cgroup_state(name)
            if state == "busy":
                self.busy.append(name)
            elif state == "free" and len(self.free) < FREE_CGROUPS:
                self.free.append(name)
            elif state != "gone" and not oslayer.remove_cgroup(name):  # stale, or more than we keep
                self.busy.append(name)

    @staticmethod
    def _fork_judge(episode_fd: int, pair: tuple) -> socket.socket:
        """The episode's grader: forked at hand-over, before the worker has run any environment code; it
        closes the episode's socket first and gets its own socket to the harness over ``pair``
        (``worker.serve(..., judge_only=True)``)."""
        ours, theirs = pair
        if os.fork() == 0:
            code = 0
            try:
                os.close(episode_fd)
                ours.close()
                msg, fds, _flags, _addr = socket.recv_fds(theirs, MAX_REQUEST, 1)
                theirs.close()
                if msg and fds:
                    worker.serve(fds[0], json.loads(msg).get("limits"), judge_only=True)
            except BaseException:  # noqa: BLE001
                code = 2
            os._exit(code)
        theirs.close()
        return ours

    @classmethod
    def _wait_for_episode(cls, sock: socket.socket, pair: tuple) -> None:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(sock, MAX_REQUEST, 2)
        except OSError:
            os._exit(0)
        if not msg or len(fds) != 2:
            os._exit(0)  # the server went away
        sock.close()
        req = json.loads(msg)
        if req.get("grader", True):
            judge = cls._fork_judge(fds[0], pair)
            socket.send_fds(judge, [msg], [fds[1]])  # the grader's socket goes to the grader only
            judge.close()
        else:  # graded elsewhere (built-in checks: the executor's shared graders)
            for s in pair:
                s.close()
        os.close(fds[1])
        _become_worker(fds[0], req.get("limits"))

    def start_worker(self, fds: list[int], limits: dict | None, grader: bool = True) -> tuple[dict, int | None]:
        """Hand the episode's two sockets (worker, grader) to a prepared worker: ``({"pid"} or
        {"error"}, pidfd or None)``."""
        error = "no worker could be prepared"
        for _ in range(SPARES + 2):
            if not self.spares:
                self.add_spare()
            sock, pid, joined = self.spares.pop(0)
            self._retire(joined)  # handed over or gone: reused once empty
            try:
                hello = json.loads(sock.recv(4096) or b"{}")
                if pid is None or not hello.get("ready"):
                    error = hello.get("error", "worker exited during setup")
                    continue
                cgroup = hello.get("cgroup")
                pidfd = _pidfd(pid)
                socket.send_fds(sock, [json.dumps({"limits": limits, "grader": grader}).encode()], fds)
                return {"pid": pid, "cgroup": cgroup}, pidfd
            except (OSError, ValueError) as e:  # that spare is gone: try the next one
                error = f"worker hand-over failed: {e}"
            finally:
                sock.close()
        return {"error": error}, None

    def start_template(self) -> None:
        """Fork the grader template while this process is still small: a fork server of its own (few
        spares) that takes the prepared checks and starts the shared graders (requests marked ``pool``),
        so the process forking episode workers never holds check code: workers need none, and every
        fork and exit costs in proportion to the memory of the process forked."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            return
        if pid == 0:
            code = 0
            try:
                self.ctrl.close()
                ours.close()
                ForkServer(theirs, self.bpf, self.isolate, self.tree, TEMPLATE_SPARES).serve()
            except BaseException:  # noqa: BLE001
                code = 2
            os._exit(code)
        theirs.close()
        ours.settimeout(30)
        self.template, self.template_pid = ours, pid

    def _template_gone(self) -> None:
        if self.template is not None:
            self.template.close()
            self.template = self.template_pid = None  # from now on this process starts graders itself

    def relay(self, msg: bytes, fds: list[int]) -> tuple[bytes, int | None] | None:
        """A shared grader's request passed to the grader template: its reply and pidfd, or None when the
        template is gone (the request is then served here)."""
        assert self.template is not None
        try:
            socket.send_fds(self.template, [msg], fds)
            data, got, _flags, _addr = socket.recv_fds(self.template, 4096, 1)
        except OSError:
            data, got = b"", []
        if not data:
            for fd in got:
                os.close(fd)
            self._template_gone()
            return None
        return data, got[0] if got else None

    def _warm_template(self, items: list[dict], more: bool) -> list[dict]:
        """Pass prepared checks (compiled code) to the grader template; the items left are this process's."""
        if self.template is None:
            return items
        checks = [it for it in items if it.get("checks") and it.get("code")]
        try:
            self.template.sendall(json.dumps({"op": "warm", "items": checks, "more": more}).encode())
            if self.template.recv(4096):
                return [it for it in items if not (it.get("checks") and it.get("code"))]
        except OSError:
            pass
        self._template_gone()
        return items

    def warm_now(self, items: list[dict], more: bool = False) -> None:
        """Compile the harness's prepared (built-in) code now (its checks in the grader template); spares
        prepared before it would compile it again per episode, so they are let go and prepared anew."""
        warm(self._warm_template(items, more))
        for sock, _pid, cgroup in self.spares:
            sock.close()  # the spare exits on EOF
            self._retire(cgroup)
        self.spares = []
        gc.collect()
        gc.freeze()

    def sweep_cgroups(self) -> None:
        """``recycle_cgroups`` over all of them (at most once a second)."""
        now = time.monotonic()
        if self.busy and now - self._swept >= 1.0:
            self._swept = now
            self.recycle_cgroups()

    def idle_work(self) -> bool:
        """One piece of background work (spares first while few are left); False when there is none."""
        if self.warming:
            return False
        if self.to_warm and len(self.spares) >= self.n_spares // 2:
            warm([self.to_warm.pop(0)])  # spares prepared before this compile it themselves: cheaper than
            return True                  # re-forking them all here, on the server's one core
        if len(self.spares) < self.n_spares:
            self.add_spare()
            return True
        if self.to_warm:
            warm([self.to_warm.pop(0)])
            return True
        self.sweep_cgroups()
        return False

    def serve(self) -> None:
        gc.collect()
        gc.freeze()  # what the workers inherit stays out of their collections: no copy-on-write of the heap
        while True:
            while not select.select([self.ctrl], [], [], 0)[0] and self.idle_work():
                pass
            try:
                msg, fds, _flags, _addr = socket.recv_fds(self.ctrl, MAX_REQUEST, 2)
            except OSError:
                return
            if not msg:
                return
            try:
                req = json.loads(msg)
            except ValueError:
                req = {}
            if not isinstance(req, dict):
                req = {}
            if not fds and req.get("op") == "warm":
                self.warming = req.get("more") is True
                self.warm_now(req.get("items") or [], self.warming)
                self.ctrl.sendall(b'{"ok": true}')
                continue
            if not fds and req.get("op") == "status":  # diagnostics
                self.ctrl.sendall(json.dumps({"template": self.template_pid, "spares": len(self.spares),
                                              "cgroups": {"free": len(self.free), "busy": len(self.busy)}}).encode())
                continue
            self.warming = False  # a request ends any unfinished prepared-code sequence
            if len(fds) != 2:
                for fd in fds:
                    os.close(fd)
                self.ctrl.sendall(json.dumps({"error": "two sockets (worker, grader) must be attached"}).encode())
                continue
            relayed = None
            if req.get("pool") is True and self.template is not None:  # code to warm stays here: for workers
                relayed = self.relay(json.dumps({k: v for k, v in req.items() if k != "warm"}).encode(), fds)
            if relayed is not None:
                data, pidfd = relayed
            else:
                reply, pidfd = self.start_worker(fds, req.get("limits"), req.get("grader") is not False)
                data = json.dumps(reply).encode()
            for fd in fds:
                os.close(fd)
            if pidfd is None:
                self.ctrl.sendall(data)
            else:
                socket.send_fds(self.ctrl, [data], [pidfd])
                os.close(pidfd)
            self.to_warm += [it for it in req.get("warm") or [] if isinstance(it, dict) and "checks" not in it]
            if self.to_warm:  # one item per request even when never idle: a busy server still warms up
                warm([self.to_warm.pop(0)])


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux >= 5.3: the harness signals by pid (same namespace)
        return None


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    bpf_hex = argv[argv.index("--os-layer") + 1] if "--os-layer" in argv else None
    bpf = bytes.fromhex(bpf_hex) if bpf_hex else None
    tree = json.loads(argv[argv.index("--tree") + 1]) if "--tree" in argv else None
    server = ForkServer(socket.socket(fileno=int(argv[0])), bpf, isolate=bpf_hex is not None, tree=tree)
    if "--no-template" not in argv:
        server.start_template()
    server.serve()


if __name__ == "__main__":
    main(sys.argv[1:])
