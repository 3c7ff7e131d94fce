"""Length-prefixed JSON frames over a file descriptor (JSON-only traffic with the worker)."""
from __future__ import annotations

import json
import os
import select
import struct
import time

_HDR = struct.Struct(">I")


class FrameError(RuntimeError):
    pass


def send(fd: int, obj) -> None:
    data = json.dumps(obj, separators=(",", ":"), default=str).encode()
    buf = memoryview(_HDR.pack(len(data)) + data)
    while buf:
        n = os.write(fd, buf)
        buf = buf[n:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("worker closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(fd: int, max_bytes: int = 1 << 30, deadline: float | None = None):
    (size,) = _HDR.unpack(_read_exact(fd, _HDR.size, deadline))
    if size > max_bytes:
        raise FrameError(f"frame of {size} bytes exceeds the {max_bytes}-byte cap")
    return json.loads(_read_exact(fd, size, deadline))
