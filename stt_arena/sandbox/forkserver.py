"""Fork server: a warm process (optionally inside bubblewrap) that forks one worker per episode.

Protocol on the control socket: the harness sends a JSON frame with the episode's socket attached
(SCM_RIGHTS); the server hands it to a worker process and replies ``{"pid": ...}``. Each worker serves
one episode, then exits.

Off the request path, while no request waits, the server (1) compiles ``warm`` items that requests
carry: environment and check code an earlier worker already vetted under its limits, so later workers
inherit the compiled code; (2) keeps ``SPARES`` pre-forked workers waiting, so a request costs a
hand-over instead of a fork. A spare receives the episode socket and its limits over its own socket,
then applies the sandbox exactly as a freshly forked worker does.
Usage: ``python -m stt_arena.sandbox.forkserver CONTROL_FD``.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys

from . import worker  # noqa: F401 - pre-import everything the workers need (no imports after fork)
from .runtime import warm

MAX_REQUEST = 1 << 20
SPARES = 16


def _become_worker(fd: int, limits: dict | None) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    code = 0
    try:
        worker.serve(fd, limits)
    except BaseException:  # noqa: BLE001
        code = 2
    os._exit(code)


class ForkServer:
    def __init__(self, ctrl: socket.socket):
        self.ctrl = ctrl
        self.to_warm: list[dict] = []
        self.spares: list[tuple[int, socket.socket]] = []  # (pid, our end of its hand-over socket)

    def _fork(self) -> tuple[int, socket.socket | None]:
        """Fork a child that closes every server socket; returns (pid, child's hand-over socket)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            self.ctrl.close()
            ours.close()
            for _, s in self.spares:
                s.close()
            return 0, theirs
        theirs.close()
        return pid, ours

    def add_spare(self) -> None:
        pid, sock = self._fork()
        if pid == 0:  # a spare: wait for an episode, or exit when the server goes away
            try:
                msg, fds, _flags, _addr = socket.recv_fds(sock, MAX_REQUEST, 1)
            except OSError:
                os._exit(0)
            if not msg or not fds:
                os._exit(0)
            sock.close()
            _become_worker(fds[0], json.loads(msg).get("limits"))
        self.spares.append((pid, sock))

    def start_worker(self, fd: int, limits: dict | None) -> int:
        while self.spares:
            pid, sock = self.spares.pop(0)
            try:
                socket.send_fds(sock, [json.dumps({"limits": limits}).encode()], [fd])
                return pid
            except OSError:  # that spare is gone: try the next one
                continue
            finally:
                sock.close()
        pid, sock = self._fork()
        if pid == 0:
            sock.close()
            _become_worker(fd, limits)
        sock.close()
        return pid

    def idle_work(self) -> bool:
        """One piece of background work (spares first while few are left); False when there is none."""
        if self.to_warm and len(self.spares) >= SPARES // 2:
            warm([self.to_warm.pop(0)])  # spares forked before this compile it themselves: cheaper than
            return True                  # re-forking them all here, on the server's one core
        if len(self.spares) < SPARES:
            self.add_spare()
            return True
        if self.to_warm:
            warm([self.to_warm.pop(0)])
            return True
        return False

    def serve(self) -> None:
        while True:
            while not select.select([self.ctrl], [], [], 0)[0] and self.idle_work():
                pass
            try:
                msg, fds, _flags, _addr = socket.recv_fds(self.ctrl, MAX_REQUEST, 1)
            except OSError:
                return
            if not msg:
                return
            req = json.loads(msg)
            if not fds:
                self.ctrl.sendall(json.dumps({"error": "no socket attached"}).encode())
                continue
            pid = self.start_worker(fds[0], req.get("limits"))
            os.close(fds[0])
            self.ctrl.sendall(json.dumps({"pid": pid}).encode())
            self.to_warm += req.get("warm") or []


def main(ctrl_fd: int) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    ForkServer(socket.socket(fileno=ctrl_fd)).serve()


if __name__ == "__main__":
    main(int(sys.argv[1]))
