"""A real local HTTP server speaking the OpenAI chat-completions protocol, with scripted replies.

Endpoints: ``POST /v1/chat/completions`` and ``GET /v1/models``. Only non-streaming requests
are supported: a body with ``"stream": true`` gets an HTTP 400.

Script items (a list consumed in order, or a callable ``body -> item``; ``None`` or an exhausted
list gives ``default``):

* ``"text"`` -- an assistant text reply;
* ``{"content": ..., "tool_calls": [{"name": ..., "arguments": dict | raw str, "id"?: ...}],
  "reasoning_content" | "reasoning": ..., "finish_reason": ..., "usage": {...}}``;
* ``{"error": 429, "retry_after": 1.5, "message": ...}`` -- an HTTP error (any status);
* ``{"delay": seconds, ...}`` -- answer ``seconds`` after the request arrived (combine with any other keys;
  the server's own work on the request overlaps the delay, as an endpoint's would);
* ``{"drop": True}`` -- close the connection without answering;
* ``{"raw": obj}`` -- send ``obj`` verbatim as the 200 JSON body (e.g. ``{"choices": []}``).
* ``{"garbage": text}`` -- a 200 response whose body is not JSON (a broken proxy).
* ``{"trickle": seconds, ...}`` -- the reply's headers at once, then its body one byte every
  ``seconds`` (a stalled proxy: each read succeeds, the whole reply never completes in time).

``faulty(script, rate, seed)`` wraps a script: a seeded fraction ``rate`` of requests get a mixed fault
(hang, 5xx, drop, garbage, no choices, trickle) instead of the scripted reply, which is kept for the retry.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import deque
from http import HTTPStatus
from typing import Any, Callable, Iterable

__all__ = ["FakeOpenAIServer", "faulty", "FAULTS"]

MAX_HEADER_BYTES = 64 << 10


def _count_tokens(text: Any) -> int:
    return len(str(text).split()) if text else 0


def _json_args(args: Any) -> str:
    return args if isinstance(args, str) else json.dumps(args)


class _BadRequest(Exception):
    pass


class FakeOpenAIServer:
    """Scripted OpenAI-compatible server on ``127.0.0.1`` (random port): an asyncio HTTP/1.1 server
    (keep-alive, like real inference servers) on its own event loop thread.

    Use as a context manager. Unless ``record=False``, ``requests`` holds the received JSON bodies, ``request_times``
    their ``time.monotonic()`` arrival times and ``request_headers`` their headers (lower-cased
    names). A callable script runs on the server thread; make it quick (use ``delay`` to wait).
    """

    def __init__(self, script: Iterable[Any] | Callable[[dict], Any] | None = None, *,
                 default: str = "Task Completed", model: str = "fake-model", record: bool = True):
        self.record = record  # False: keep no request history (long benchmark runs)
        self._fn = script if callable(script) else None
        self._queue: deque[Any] = deque([] if script is None or callable(script) else script)
        self.default, self.model = default, model
        self.requests: list[dict[str, Any]] = []
        self.request_times: list[float] = []
        self.request_headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._port: int | None = None
        self.late = {"replies": 0, "late_s": 0.0, "max_late_s": 0.0}  # delayed replies: sent past their due time

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "FakeOpenAIServer":
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=1024))
                self._port = self._server.sockets[0].getsockname()[1]
            except BaseException as e:  # noqa: BLE001 - reported to start()
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            tasks = asyncio.all_tasks(loop)
            for t in tasks:  # handlers sleeping on a ``delay``, idle keep-alive connections
                t.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True, name="fake-openai")
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None or self._thread is None:
            return

        def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            loop.stop()

        loop.call_soon_threadsafe(shutdown)
        self._thread.join(10)
        self._port = None

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._port is not None, "server not started"
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def push(self, *items: Any) -> None:
        """Append items to a list script."""
        with self._lock:
            self._queue.extend(items)

    # -- HTTP ------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                try:
                    method, path, headers = _parse_head(head)
                    body = await reader.readexactly(int(headers.get("content-length") or 0))
                except (_BadRequest, ValueError):
                    writer.write(_response(400, _error_body(400, "malformed HTTP request"), close=True))
                    return
                keep = await self._respond(method, path, headers, body, writer, asyncio.get_running_loop().time())
                await writer.drain()
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:  # server shutdown under a hanging or trickling reply: end quietly
            return
        finally:
            writer.close()

    async def _respond(self, method: str, path: str, headers: dict[str, str], raw: bytes,
                       writer: asyncio.StreamWriter, arrived: float) -> bool:
        """Write one response; False when the connection must close (a scripted drop). A ``delay`` counts
        from ``arrived`` (loop time); how late delayed replies go out is summed in ``late``."""
        route = path.split("?")[0].rstrip("/")
        if method == "GET" and route.endswith("/models"):
            writer.write(_response(200, {"object": "list", "data": [
                {"id": self.model, "object": "model", "created": 0, "owned_by": "fake"}]}))
            return True
        if method != "POST" or not route.endswith("/chat/completions"):
            writer.write(_response(404, _error_body(404, f"no route {path}")))
            return True
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            writer.write(_response(400, _error_body(400, "request body is not JSON")))
            return True
        if not isinstance(body, dict):
            writer.write(_response(400, _error_body(400, "request body must be a JSON object")))
            return True
        if body.get("stream"):  # rejected before touching the script or the records
            writer.write(_response(400, _error_body(400, "FakeOpenAIServer supports only stream=false")))
            return True
        if self.record:
            with self._lock:
                self.request_headers.append(headers)
        try:
            item = self._next_item(body)
        except Exception as e:  # a failing callable script shows up as an HTTP 500
            writer.write(_response(500, _error_body(500, f"FakeOpenAIServer script raised {e!r}")))
            return True
        plain = not isinstance(item, dict) or not (item.get("drop") or item.get("error") or item.get("trickle")
                                                   or "raw" in item or "garbage" in item)
        if plain:  # built before the delay: the reply is due ``delay`` after arrival
            data = _response(200, self._completion(body, None if isinstance(item, dict) and set(item) <= {"delay"}
                                                   else item))
        if isinstance(item, dict) and item.get("delay"):
            loop = asyncio.get_running_loop()
            due = arrived + float(item["delay"])
            await asyncio.sleep(max(0.0, due - loop.time()))
            if plain:
                late = max(0.0, loop.time() - due)
                self.late["replies"] += 1
                self.late["late_s"] += late
                self.late["max_late_s"] = max(self.late["max_late_s"], late)
        if plain:
            writer.write(data)
            return True
        if isinstance(item, dict) and item.get("drop"):
            return False
        if isinstance(item, dict) and item.get("error"):
            status = int(item["error"])
            extra = {"Retry-After": str(item["retry_after"])} if item.get("retry_after") is not None else {}
            writer.write(_response(status, _error_body(status, item.get("message", f"scripted error {status}")),
                                   extra))
        elif isinstance(item, dict) and "raw" in item:
            writer.write(_response(200, item["raw"]))
        elif isinstance(item, dict) and item.get("trickle"):
            data = _response(200, self._completion(body, {k: v for k, v in item.items() if k != "trickle"}))
            head = data.index(b"\r\n\r\n") + 4
            writer.write(data[:head])
            for i in range(head, len(data)):
                await writer.drain()
                await asyncio.sleep(float(item["trickle"]))
                writer.write(data[i:i + 1])
        elif isinstance(item, dict) and "garbage" in item:  # a 200 whose body is not JSON
            writer.write(_response(200, str(item["garbage"]).encode()))
        return True

    # -- scripting -------------------------------------------------------------------------
    def _next_item(self, body: dict[str, Any]) -> Any:
        with self._lock:
            if self.record:
                self.requests.append(body)
                self.request_times.append(time.monotonic())
            if self._fn is None:
                return self._queue.popleft() if self._queue else None
        return self._fn(body)

    def _completion(self, body: dict[str, Any], item: Any) -> dict[str, Any]:
        if item is None:
            item = self.default
        if isinstance(item, str):
            item = {"content": item}
        calls: list[dict[str, Any]] = [{"id": tc.get("id") or f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                  "function": {"name": tc["name"], "arguments": _json_args(tc.get("arguments", {}))}}
                 for tc in item.get("tool_calls") or []]
        content = item.get("content", None if calls else self.default)
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = calls
        for key in ("reasoning_content", "reasoning"):
            if key in item:
                message[key] = item[key]
        prompt = sum(_count_tokens(m.get("content")) for m in body.get("messages") or []
                     if isinstance(m, dict))
        completion = _count_tokens(content) + sum(_count_tokens(c["function"]["arguments"]) for c in calls)
        usage = {"prompt_tokens": prompt, "completion_tokens": completion}
        usage.update(item.get("usage") or {})
        usage.setdefault("total_tokens", usage["prompt_tokens"] + usage["completion_tokens"])
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
            "created": int(time.time()), "model": body.get("model") or self.model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": item.get("finish_reason", "tool_calls" if calls else "stop")}],
            "usage": usage,
        }


FAULTS = ({"delay": 3600}, {"error": 500}, {"error": 503}, {"drop": True}, {"garbage": "<html>502</html>"},
          {"raw": {"id": "x", "object": "chat.completion", "choices": []}}, {"trickle": 1.0})


def faulty(script: Callable[[dict], Any], rate: float, seed: int = 0, faults: Iterable[dict] = FAULTS,
           roles: Callable[[dict], bool] | None = None) -> Callable[[dict], Any]:
    """``script`` with a seeded fraction ``rate`` of requests answered by one of ``faults`` (cycled)
    instead. ``fault.counts`` tallies the faults served. ``roles(body)``: only requests it accepts."""
    import random

    rng, kinds, lock = random.Random(seed), list(faults), threading.Lock()
    counts: dict[str, int] = {}

    def fn(body: dict) -> Any:
        with lock:
            hit = (roles is None or roles(body)) and rng.random() < rate
            if hit:
                f = kinds[sum(counts.values()) % len(kinds)]
                name = next(iter(f))
                counts[name] = counts.get(name, 0) + 1
        return f if hit else script(body)

    fn.counts = counts  # type: ignore[attr-defined]
    return fn


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    if len(head) > MAX_HEADER_BYTES:
        raise _BadRequest("headers too large")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise _BadRequest(f"bad request line {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequest(f"bad header line {line!r}")
            headers[name.strip().lower()] = value.strip()
    return parts[0], parts[1], headers


def _error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "fake_error", "param": None, "code": status}}


def _response(status: int, obj: Any, headers: dict[str, str] | None = None, close: bool = False) -> bytes:
    data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Status"
    lines = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/json", f"Content-Length: {len(data)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data
