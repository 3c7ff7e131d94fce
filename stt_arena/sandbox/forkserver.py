"""Fork server: a warm process (optionally inside bubblewrap) that forks one worker per episode.

Protocol on the control socket: the harness sends a JSON frame with the episode's socket attached
(SCM_RIGHTS); the server forks, the child becomes the sandboxed worker on that socket, and the server
replies ``{"pid": ...}``. A request may carry ``warm`` items: environment and check code that an
earlier worker already vetted under its limits; the server compiles it once, while no request waits, and
every later worker inherits the compiled code. Usage: ``python -m stt_arena.sandbox.forkserver CONTROL_FD``.
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


def main(ctrl_fd: int) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    ctrl = socket.socket(fileno=ctrl_fd)
    to_warm: list[dict] = []
    while True:
        if to_warm and not select.select([ctrl], [], [], 0)[0]:
            warm([to_warm.pop(0)])  # only while no fork request waits
            continue
        try:
            msg, fds, _flags, _addr = socket.recv_fds(ctrl, MAX_REQUEST, 1)
        except OSError:
            return
        if not msg:
            return
        req = json.loads(msg)
        if not fds:
            ctrl.sendall(json.dumps({"error": "no socket attached"}).encode())
            continue
        pid = os.fork()
        if pid == 0:
            ctrl.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            code = 0
            try:
                worker.serve(fds[0], req.get("limits"))
            except BaseException:  # noqa: BLE001
                code = 2
            os._exit(code)
        os.close(fds[0])
        ctrl.sendall(json.dumps({"pid": pid}).encode())
        to_warm += req.get("warm") or []


if __name__ == "__main__":
    main(int(sys.argv[1]))
