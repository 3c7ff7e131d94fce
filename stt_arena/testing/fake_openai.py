"""A real local HTTP server speaking the OpenAI chat-completions protocol, with scripted replies.

Endpoints: ``POST /v1/chat/completions`` and ``GET /v1/models``. Only non-streaming requests
are supported: a body with ``"stream": true`` gets an HTTP 400.

Script items (a list consumed in order, or a callable ``body -> item``; ``None`` or an exhausted
list gives ``default``):

* ``"text"`` -- an assistant text reply;
* ``{"content": ..., "tool_calls": [{"name": ..., "arguments": dict | raw str, "id"?: ...}],
  "reasoning_content" | "reasoning": ..., "finish_reason": ..., "usage": {...}}``;
* ``{"error": 429, "retry_after": 1.5, "message": ...}`` -- an HTTP error (any status);
* ``{"delay": seconds, ...}`` -- sleep first (combine with any other keys);
* ``{"drop": True}`` -- close the connection without answering;
* ``{"raw": obj}`` -- send ``obj`` verbatim as the 200 JSON body (e.g. ``{"choices": []}``).
* ``{"garbage": text}`` -- a 200 response whose body is not JSON (a broken proxy).
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable

__all__ = ["FakeOpenAIServer"]


def _count_tokens(text: Any) -> int:
    return len(str(text).split()) if text else 0


def _json_args(args: Any) -> str:
    return args if isinstance(args, str) else json.dumps(args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # client hang-ups (e.g. after a client-side timeout) are expected


class FakeOpenAIServer:
    """Scripted OpenAI-compatible server on ``127.0.0.1`` (random port), run in a thread.

    Use as a context manager. ``requests`` holds the received JSON bodies, ``request_times``
    their ``time.monotonic()`` arrival times and ``request_headers`` their headers (lower-cased
    names).
    """

    def __init__(self, script: Iterable[Any] | Callable[[dict], Any] | None = None, *,
                 default: str = "Task Completed", model: str = "fake-model"):
        self._fn = script if callable(script) else None
        self._queue: deque[Any] = deque([] if script is None or callable(script) else script)
        self.default, self.model = default, model
        self.requests: list[dict[str, Any]] = []
        self.request_times: list[float] = []
        self.request_headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "FakeOpenAIServer":
        self._httpd = _HTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True, name="fake-openai")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes handlers sleeping on a ``delay``
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def push(self, *items: Any) -> None:
        """Append items to a list script."""
        with self._lock:
            self._queue.extend(items)

    # -- scripting -------------------------------------------------------------------------
    def _next_item(self, body: dict[str, Any]) -> Any:
        with self._lock:
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
        calls = [{"id": tc.get("id") or f"call_{uuid.uuid4().hex[:24]}", "type": "function",
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


def _make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real inference servers
        disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stalls)

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
            self._send(status, {"error": {"message": message, "type": "fake_error",
                                          "param": None, "code": status}}, headers)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [
                    {"id": server.model, "object": "model", "created": 0, "owned_by": "fake"}]})
            else:
                self._error(404, f"no route {self.path}")

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not self.path.rstrip("/").endswith("/chat/completions"):
                return self._error(404, f"no route {self.path}")
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self._error(400, "request body is not JSON")
            if body.get("stream"):  # rejected before touching the script or the records
                return self._error(400, "FakeOpenAIServer supports only stream=false")
            with server._lock:
                server.request_headers.append({k.lower(): v for k, v in self.headers.items()})
            try:
                item = server._next_item(body)
            except Exception as e:  # a failing callable script shows up as an HTTP 500
                return self._error(500, f"FakeOpenAIServer script raised {e!r}")
            if isinstance(item, dict) and item.get("delay"):
                if server._stop.wait(float(item["delay"])):
                    return
            if isinstance(item, dict) and item.get("drop"):
                self.close_connection = True
                return
            if isinstance(item, dict) and item.get("error"):
                headers = ({"Retry-After": str(item["retry_after"])}
                           if item.get("retry_after") is not None else None)
                return self._error(int(item["error"]),
                                   item.get("message", f"scripted error {item['error']}"), headers)
            if isinstance(item, dict) and "raw" in item:
                return self._send(200, item["raw"])
            if isinstance(item, dict) and "garbage" in item:  # a 200 whose body is not JSON
                data = str(item["garbage"]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if isinstance(item, dict) and set(item) <= {"delay"}:
                item = None  # a bare delay then the default reply
            self._send(200, server._completion(body, item))

    return Handler
