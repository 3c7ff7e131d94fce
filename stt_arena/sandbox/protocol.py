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


def decode(data: bytes, max_depth: int | None = MAX_DEPTH):
    """``data`` as JSON; ``max_depth`` None: not checked (frames the sender checked, see ``recv``)."""
    if max_depth is not None and not text_depth_ok(data, max_depth):  # a deep text never becomes objects
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


def send_bytes(fd: int, data: bytes, deadline: float | None = None) -> None:
    """Write all of ``data``; ``deadline`` (``time.monotonic()``): TimeoutError once it passes with bytes
    left (a peer that stops reading must not hang the sender)."""
    buf = memoryview(data)
    while buf:
        try:
            n = os.write(fd, buf)
        except BlockingIOError:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError("the peer stopped reading") from None
            select.select([], [fd], [], left)
            continue
        buf = buf[n:]


class Reader:
    """Frames of one stream, read with as few system calls as the data allows: each read takes what is
    there (a reply's header and body usually come in one), and bytes past a frame (a pipelined reply)
    wait for the next one. Both the blocking and the asyncio helpers take one: use one per stream."""

    CHUNK = 1 << 16

    def __init__(self) -> None:
        self.buf = bytearray()

    def want(self, max_bytes: int) -> int:
        """Bytes missing for the next whole frame (0: one is here); an oversize header raises at once."""
        if len(self.buf) < _HDR.size:
            return _HDR.size - len(self.buf)
        return max(0, _HDR.size + _frame_size(bytes(self.buf[:_HDR.size]), max_bytes) - len(self.buf))

    @classmethod
    def read_size(cls, missing: int) -> int:
        """How much one read asks for: what is there, at least the missing bytes, at most 1 MB."""
        return min(max(missing, cls.CHUNK), 1 << 20)

    def take(self, max_bytes: int, max_depth: int | None = MAX_DEPTH):
        """The next frame, decoded (call when ``want`` is 0)."""
        size = _frame_size(bytes(self.buf[:_HDR.size]), max_bytes)
        data = bytes(self.buf[_HDR.size:_HDR.size + size])
        del self.buf[:_HDR.size + size]
        return decode(data, max_depth)

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            raise EOFError("worker closed the connection")
        self.buf += chunk


def recv(fd: int, max_bytes: int = 1 << 30, deadline: float | None = None, reader: Reader | None = None,
         max_depth: int | None = MAX_DEPTH):
    """Read one frame from ``fd`` (blocking or not: waits with ``select``); ``reader`` keeps the bytes
    read past it. ``max_depth`` None: not checked here (the worker's requests: the harness caps the depth of
    what the agent wrote, ``SandboxEpisode._frame``; the rest is the task's data or data it decoded under
    the cap)."""
    reader = Reader() if reader is None else reader
    while (n := reader.want(max_bytes)):
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        try:
            chunk = os.read(fd, Reader.read_size(n))
        except BlockingIOError:
            select.select([fd], [], [])
            continue
        reader.feed(chunk)
    return reader.take(max_bytes, max_depth)


async def arecv(sock: socket.socket, max_bytes: int = 1 << 30, reader: Reader | None = None):
    """Read one frame from a non-blocking socket (wrap in a timeout); ``reader`` as for ``recv``."""
    import asyncio  # here: the fork server and its workers never load asyncio

    loop = asyncio.get_running_loop()
    reader = Reader() if reader is None else reader
    while (n := reader.want(max_bytes)):
        reader.feed(await loop.sock_recv(sock, Reader.read_size(n)))
    return reader.take(max_bytes)


async def arequest(sock: socket.socket, obj, max_bytes: int = 1 << 30):
    """Send one frame and read the reply on a non-blocking socket (wrap in a timeout)."""
    import asyncio

    await asyncio.get_running_loop().sock_sendall(sock, encode(obj))
    return await arecv(sock, max_bytes)
