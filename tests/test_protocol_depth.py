"""The frame depth cap read from the JSON text agrees with walking the decoded object."""
import json
import random

import pytest

from stt_arena.sandbox.protocol import FrameError, decode, depth_ok, text_depth_ok


def _random(rng: random.Random, depth: int):
    if depth == 0:
        return rng.choice(['a"[{', 1, None, 'x\\"]]]', "ü{{", "\\\\", 2.5])
    kind, n = rng.random(), rng.randint(0, 2)  # under one child on average: sizes stay small, depth varies
    if kind < 0.45:
        return [_random(rng, depth - 1) for _ in range(n)]
    if kind < 0.9:
        return {f"k{i}[{{": _random(rng, depth - 1) for i in range(n)}
    return _random(rng, 0)


def test_text_depth_matches_the_object_walk():
    rng = random.Random(7)
    for _ in range(1500):
        obj = _random(rng, rng.randint(0, 90))
        for _ in range(rng.choice([0, 0, rng.randint(1, 100)])):  # a deep spine around it, often past 64
            obj = [obj, "]"] if rng.random() < 0.5 else {"[": obj}
        for ascii_only in (True, False):
            text = json.dumps(obj, ensure_ascii=ascii_only).encode()
            for limit in (1, 3, 64):
                assert text_depth_ok(text, limit) == depth_ok(obj, limit), (limit, text[:120])


def test_deep_frames_refused_before_decoding():
    deep: dict = {"a": None}
    for _ in range(80):
        deep = {"a": [deep, "]]]}}} brackets in strings do not count"]}
    with pytest.raises(FrameError, match="deeper"):
        decode(json.dumps(deep).encode())
    shallow = {"s": "[" * 10_000 + "{" * 10_000}  # brackets inside a string: not nesting
    assert decode(json.dumps(shallow).encode()) == shallow


def test_reader_takes_pipelined_frames_from_one_read_and_split_frames_across_reads():
    import socket

    from stt_arena.sandbox import protocol
    a, b = socket.socketpair()
    try:
        frames = [{"id": i, "pad": "x" * (i * 5000)} for i in range(1, 4)]
        a.sendall(b"".join(protocol.encode(f) for f in frames))  # three replies waiting at once
        reader = protocol.Reader()
        got = [protocol.recv(b.fileno(), 1 << 20, reader=reader) for _ in frames]
        assert got == frames and not reader.buf
        data = protocol.encode({"id": 9})
        a.sendall(data[:3])  # a header split across reads
        a.sendall(data[3:])
        assert protocol.recv(b.fileno(), 1 << 20, reader=reader) == {"id": 9}
        a.sendall(protocol.encode({"big": "y" * 5000}))
        with pytest.raises(protocol.FrameError, match="exceeds"):  # refused on its header: no body read
            protocol.recv(b.fileno(), 1000, reader=reader)
        a.sendall(data[:6])
        a.close()
        with pytest.raises(EOFError):  # the peer went away mid-frame
            protocol.recv(b.fileno(), 1 << 20, reader=protocol.Reader())
    finally:
        a.close()
        b.close()


def test_the_harness_refuses_a_deep_request_before_it_reaches_the_worker():
    """Workers decode the harness's frames without the text depth pass (the harness checked them): a
    request nested past the cap must never be sent, and the episode goes on."""
    from stt_arena.sandbox.executor import Executor
    from tests.helpers import make_task

    def nest(n: int) -> list:
        out: list = []
        for _ in range(n - 1):
            out = [out]
        return out  # n lists deep

    deep, ok = nest(63), nest(62)  # inside a call frame: + the frame and its args, so 65 and 64
    with Executor() as ex:
        ep = ex.open(make_task())
        try:
            r = ep.call("get_count", {"x": deep})
            assert r["result"]["success"] is False and "nested too deep" in r["result"]["error"], r
            assert ep.alive and ep.call("get_count")["result"]["success"]  # nothing was sent: still in step
            r = ep.call("get_count", {"x": ok})  # at the cap: sent, and the worker answers
            assert ep.alive and "nested too deep" not in str(r), r
        finally:
            ep.close()
