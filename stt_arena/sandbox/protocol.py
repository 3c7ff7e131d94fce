"""Length-prefixed JSON frames over a file descriptor (JSON-only traffic with the worker).

Frames are capped in size and JSON nesting depth on both ends (``FrameError``). Blocking helpers for the worker and the synchronous harness API, plus ``arequest`` for asyncio (native
non-blocking socket I/O, no threads). The harness end may be non-blocking; the blocking helpers wait
with ``select`` when it would block.
"""
from __future__ import annotations

import json
import os
import re
import select
import socket
import struct
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # asyncio is imported where used: the fork server and its workers never load it
    import asyncio

_HDR = struct.Struct(">I")
HEADER_BYTES = _HDR.size


MAX_DEPTH = 64  # JSON nesting accepted either way (containers inside containers)


class FrameError(RuntimeError):
    """A frame that breaks the protocol: too large, too deep, not JSON."""


def depth_ok(obj, limit: int = MAX_DEPTH) -> bool:
    """Whether ``obj`` nests dicts/lists at most ``limit`` deep (iterative: no recursion)."""
    stack = [(obj, 1)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list):
            continue
        if d > limit:
            return False
        stack.extend((v, d + 1) for v in node if isinstance(v, (dict, list)))
    return True


_PAIR = re.compile(rb"\{\}|\[\]")
_NOT_BRACKET = bytes(sorted(set(range(256)) - set(b"{}[]")))


def text_depth_ok(data: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text ``data`` nests containers at most ``limit`` deep, without decoding it: the
    strings are cut out and the brackets left are paired off one level per pass (at C speed; any text that
    is not JSON fails to decode anyway)."""
    if containers(data) <= limit:
        return True
    # escapes out (escaped backslashes first, then escaped quotes); then every other segment between quotes
    # is outside a string (a UTF-8 multi-byte character never holds a quote or a backslash byte)
    bare = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    rest = b"".join(bare.split(b'"')[0::2]).translate(None, _NOT_BRACKET)
    for _ in range(limit):
        if not rest:
            return True
        rest = _PAIR.sub(b"", rest)
    return not rest


def decode(data: bytes, max_depth: int = MAX_DEPTH):
    if not text_depth_ok(data, max_depth):  # before decoding: a deep text never becomes objects
        raise FrameError(f"frame nested deeper than {max_depth}")
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError, MemoryError) as e:
        raise FrameError(f"malformed frame ({type(e).__name__})") from None
    return obj


def containers(data: bytes) -> int:
    """An upper bound on the containers in a JSON text (brackets inside strings count too): when it is
    within the depth cap, so is the nesting, without walking the object."""
    return data.count(b"{") + data.count(b"[")


def encode(obj) -> bytes:
    data = json.dumps(obj, separators=(",", ":"), default=str).encode()
    return _HDR.pack(len(data)) + data


def _frame_size(hdr: bytes, max_bytes: int) -> int:
    (size,) = _HDR.unpack(hdr)
    if size > max_bytes:
        raise FrameError(f"frame of {size} bytes exceeds the {max_bytes}-byte cap")
    return size


def send(fd: int, obj) -> None:
    send_bytes(fd, encode(obj))


def send_bytes(fd: int, data: bytes) -> None:
    buf = memoryview(data)
    while buf:
        try:
            n = os.write(fd, buf)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        buf = buf[n:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        try:
            chunk = os.read(fd, min(n - got, 1 << 20))
        except BlockingIOError:
            select.select([fd], [], [])
            continue
        if not chunk:
            raise EOFError("worker closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(fd: int, max_bytes: int = 1 << 30, deadline: float | None = None):
    size = _frame_size(_read_exact(fd, _HDR.size, deadline), max_bytes)
    return decode(_read_exact(fd, size, deadline))


async def _aread_exact(loop: asyncio.AbstractEventLoop, sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = await loop.sock_recv_into(sock, view[got:])
        if not k:
            raise EOFError("worker closed the connection")
        got += k
    return bytes(buf)


async def arecv(sock: socket.socket, max_bytes: int = 1 << 30):
    """Read one frame from a non-blocking socket (wrap in a timeout)."""
    import asyncio

    loop = asyncio.get_running_loop()
    size = _frame_size(await _aread_exact(loop, sock, _HDR.size), max_bytes)
    return decode(await _aread_exact(loop, sock, size))


async def arequest(sock: socket.socket, obj, max_bytes: int = 1 << 30):
    """Send one frame and read the reply on a non-blocking socket (wrap in a timeout)."""
    import asyncio

    await asyncio.get_running_loop().sock_sendall(sock, encode(obj))
    return await arecv(sock, max_bytes)
