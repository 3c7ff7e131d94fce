"""Async chat-completions client for any OpenAI-compatible endpoint (OpenAI, vLLM, sglang).

Posts through a lean aiohttp transport (``transport.py``; default) or ``openai.AsyncOpenAI`` with its own
retries disabled (``http_client="openai"``), and adds: a retry loop with
full-jitter exponential backoff (honouring ``Retry-After``), an ``rpm`` rate limiter,
tolerant tool-call parsing, reasoning-content capture and usage/cost accounting.
"""
from __future__ import annotations

import asyncio
import email.utils
import inspect
import itertools
import json
import os
import random
import sys
import threading
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..util.aio import within
from .encoding import json_body
from .transport import (AiohttpTransport, HTTPStatusError, OversizedReply, TransportConnectionError,
                        TransportError, TransportTimeout)


class _LazyOpenAI:
    """``openai`` imported on first use (~2 s of imports): every CLI command imports this module, most
    never send a request. The first attribute access replaces this stand-in with the real module."""

    def __getattr__(self, name: str) -> Any:
        import openai as module
        globals()["openai"] = module
        return getattr(module, name)


openai: Any = _LazyOpenAI()

__all__ = ["ModelConfig", "LLMClient", "LLMError", "ChatResult", "ToolCall", "TokenUsage",
           "Usage", "RateLimiter", "CircuitBreaker", "MalformedReply"]


class ModelConfig(BaseModel):
    """Endpoint, sampling, retry, pricing and rate-limit settings for one model."""

    model_config = ConfigDict(extra="forbid")

    model: str
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    api_key_value: str | None = Field(None, exclude=True, repr=False,
                                      description="the key itself (--api-key); never written to config.json")
    temperature: float = 0.7
    max_tokens: int | None = None
    timeout_s: float = 120.0
    max_retries: int = 6
    extra_body: dict[str, Any] = Field(default_factory=dict)
    price_per_1k_input: float = 0.0
    price_per_1k_output: float = 0.0
    rpm: float | None = None
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    breaker_failures: int = Field(5, ge=1, description="circuit breaker: consecutive failed attempts...")
    breaker_window_s: float = Field(10.0, ge=0, description="...that also span this many seconds with no "
                                    "success in between: the endpoint is taken as down and every call fails")
    connection_pools: int = Field(8, ge=1, description="httpx pools used round-robin: each pool scans all "
                                  "its connections per request, so many small pools scale with concurrency")
    http_client: Literal["aiohttp", "openai"] = Field(
        default_factory=lambda: "openai" if os.environ.get("STT_ARENA_HTTP_CLIENT") == "openai" else "aiohttp",
        description="aiohttp: the lean transport (default); openai: the SDK's own httpx client "
                    "(environment variable STT_ARENA_HTTP_CLIENT sets the default)")

    def api_key(self) -> str:
        """``--api-key``, else the key from ``api_key_env``, else ``"EMPTY"`` (fine for local servers)."""
        return self.api_key_value or os.environ.get(self.api_key_env) or "EMPTY"

    def endpoint(self) -> str:
        return self.base_url or "<openai default>"


class LLMError(RuntimeError):
    """A chat request failed for good (non-retryable error, or retries exhausted)."""

    def __init__(self, message: str, *, model: str, base_url: str | None,
                 status_code: int | None = None, attempts: int = 1, retryable: bool = False,
                 cause: str = "error", breaker: bool = False):
        super().__init__(message)
        self.model, self.base_url, self.status_code = model, base_url, status_code
        self.attempts, self.retryable = attempts, retryable
        self.cause = cause  # connection | timeout | http_5xx | rate_limit | malformed | http_4xx | breaker
        self.breaker = breaker  # the endpoint's circuit breaker is open: the run must stop


class MalformedReply(Exception):
    """A 200 reply that is not a chat completion (no ``choices``, no ``message``): retried."""


class CircuitBreaker:
    """Per-endpoint health shared by every client of one process: after ``failures`` consecutive failed
    attempts spanning ``window_s`` seconds with no success in between, the endpoint is taken as down
    and every later call fails at once (a dead endpoint stops a run in seconds, not hours)."""

    def __init__(self, failures: int, window_s: float):
        self.failures, self.window_s = failures, window_s
        self._lock = threading.Lock()
        self.streak = 0
        self.first_failure = 0.0
        self.last_error = ""
        self.open = False

    def success(self) -> None:
        with self._lock:
            self.streak = 0

    def failure(self, label: str) -> bool:
        """Count one failed attempt; True when the breaker is (now) open."""
        with self._lock:
            now = time.monotonic()
            if self.streak == 0:
                self.first_failure = now
            self.streak += 1
            self.last_error = label
            if self.streak >= self.failures and now - self.first_failure >= self.window_s:
                self.open = True
            return self.open

    def describe(self) -> str:
        return (f"{self.streak} consecutive failed requests over {time.monotonic() - self.first_failure:.0f}s "
                f"with no success; last: {self.last_error}")


class ToolCall(BaseModel):
    """One parsed tool call; bad JSON never raises, it lands in ``parse_error``."""

    id: str
    name: str
    arguments_raw: str = ""
    arguments: dict[str, Any] | None = None
    parse_error: str | None = None

    def __getitem__(self, key: str) -> Any:  # dict-style access, ``tc["name"]``
        return getattr(self, key)

    @classmethod
    def parse(cls, id: str | None, name: str | None, raw: Any) -> "ToolCall":
        if raw is None:
            raw = ""
        elif not isinstance(raw, str):
            raw = json.dumps(raw)
        args: dict[str, Any] | None = None
        err: str | None = None
        if not raw.strip():
            args = {}
        else:
            try:
                val = json.loads(raw)
            except ValueError as e:
                err = f"invalid JSON arguments: {e}"
            else:
                if isinstance(val, dict):
                    args = val
                else:
                    err = f"arguments must be a JSON object, got {type(val).__name__}"
        return cls(id=id or f"call_{uuid.uuid4().hex[:24]}", name=name or "",
                   arguments_raw=raw, arguments=args, parse_error=err)

    def openai_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function",
                "function": {"name": self.name, "arguments": self.arguments_raw or "{}"}}


class TokenUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ChatResult(BaseModel):
    """One assistant reply. ``content`` is ``""`` (never None) when the reply is empty."""

    content: str | None = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    reasoning_content: str | None = None
    finish_reason: str | None = None
    usage: TokenUsage = Field(default_factory=TokenUsage)
    cost: float = 0.0
    latency_s: float = 0.0
    """Duration of the successful HTTP attempt (excludes retries and rate-limit waits)."""
    attempts: int = 1
    raw: dict[str, Any] = Field(default_factory=dict)
    """The message exactly as returned by the server (``{}`` if there were no choices)."""

    def message_dict(self) -> dict[str, Any]:
        """OpenAI-format assistant message to append to the conversation history."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.content or ""}
        if self.tool_calls:
            msg["tool_calls"] = [tc.openai_dict() for tc in self.tool_calls]
        if self.reasoning_content:
            msg["reasoning_content"] = self.reasoning_content
        return msg


class Usage:
    """Thread/async-safe accumulator of requests, retries, tokens and cost for one client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0  # successful chat() calls
        self.requests = 0  # HTTP attempts sent
        self.retries = 0
        self.failures = 0  # chat() calls that raised LLMError
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost = 0.0

    def add(self, **deltas: float) -> None:
        with self._lock:
            for k, v in deltas.items():
                setattr(self, k, getattr(self, k) + v)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {k: getattr(self, k) for k in ("calls", "requests", "retries", "failures",
                                                  "prompt_tokens", "completion_tokens", "cost")}


class RateLimiter:
    """Async limiter spacing requests at least ``60/rpm`` s apart (token bucket, burst 1).

    Slots are reserved under a lock and then slept on, so it needs no event-loop-bound primitives and
    is shared safely by all concurrent calls of the clients holding it (every role on one endpoint).
    ``shared``: a ``multiprocessing.Value("d")`` holding the next free slot, so that the worker
    processes of a sharded run share one budget (``time.monotonic`` is system-wide on Linux).
    """

    def __init__(self, rpm: float, shared: Any = None):
        if rpm <= 0:
            raise ValueError("rpm must be > 0")
        self.interval = 60.0 / rpm
        self._next = 0.0
        self._lock = threading.Lock()
        self.shared = shared

    async def acquire(self) -> None:
        if self.shared is not None:
            with self.shared.get_lock():
                now = time.monotonic()
                slot = max(now, self.shared.value)
                self.shared.value = slot + self.interval
        else:
            with self._lock:
                now = time.monotonic()
                slot = max(now, self._next)
                self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


_TRANSPORT_RETRYABLE = (asyncio.TimeoutError, MalformedReply, json.JSONDecodeError, TransportTimeout,
                        TransportConnectionError, OversizedReply)


def _retryable_types() -> tuple:
    return (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError,
            openai.APIConnectionError, openai.APIResponseValidationError,
            json.JSONDecodeError)  # a 200 whose body is not JSON: a broken proxy or a truncated reply


def _retry_after(err: Exception) -> float | None:
    """Seconds from ``retry-after-ms`` / ``retry-after`` (seconds or HTTP date), if any."""
    headers = err.headers if isinstance(err, HTTPStatusError) else getattr(getattr(err, "response", None),
                                                                              "headers", None)
    if not headers:
        return None
    for name, div in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        val = headers.get(name)
        if val is None:
            continue
        try:
            return max(0.0, float(val) / div)
        except ValueError:
            try:
                dt = email.utils.parsedate_to_datetime(val)
                return max(0.0, dt.timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    return None


def _cause(err: Exception, timeout_s: float) -> tuple[str, str]:
    """(cause, label) of a failed attempt, for errors.jsonl and messages."""
    status = getattr(err, "status_code", None)
    if isinstance(err, json.JSONDecodeError):
        return "malformed", "malformed (non-JSON) response body"
    if isinstance(err, MalformedReply):
        return "malformed", "malformed reply (not a chat completion)"
    if isinstance(err, OversizedReply):
        return "malformed", f"malformed reply ({err})"
    if isinstance(err, (asyncio.TimeoutError, TransportTimeout)):
        return "timeout", f"no complete reply within {timeout_s:g}s"
    if isinstance(err, TransportConnectionError):
        return "connection", f"connection failed ({err})"
    if not isinstance(err, TransportError):  # the SDK's own exceptions (http_client="openai")
        if isinstance(err, openai.APITimeoutError):
            return "timeout", f"no complete reply within {timeout_s:g}s"
        if isinstance(err, openai.APIConnectionError):
            return "connection", "connection failed (APIConnectionError)"
    name = err.name if isinstance(err, HTTPStatusError) else type(err).__name__
    label = name + (f" (HTTP {status})" if status else "")
    if status == 429:
        return "rate_limit", label
    if status and status >= 500:
        return "http_5xx", label
    if status:
        return "http_4xx", label
    return "error", label


def _is_retryable(err: Exception) -> bool:
    if isinstance(err, _TRANSPORT_RETRYABLE):
        return True
    if isinstance(err, HTTPStatusError):
        return err.status_code in (408, 429) or err.status_code >= 500
    if isinstance(err, _retryable_types()):
        return True
    status = getattr(err, "status_code", None) or 0
    return isinstance(err, openai.APIStatusError) and (status in (408, 429) or status >= 500)


def _get(obj: Any, key: str) -> Any:
    """Attribute, ``model_extra`` entry or dict key, whichever exists."""
    if isinstance(obj, dict):
        return obj.get(key)
    val = getattr(obj, key, None)
    if val is None:
        val = (getattr(obj, "model_extra", None) or {}).get(key)
    return val


def _http_clients(n: int) -> list[Any]:
    """``n`` of the SDK's default async HTTP clients sharing one SSL context (each would build its own:
    ~30 ms apiece, paid on the event loop), or ``None`` each (SDK defaults) where that is not possible."""
    factory: Any = getattr(openai, "DefaultAsyncHttpxClient", None)
    try:
        lib = sys.modules[factory.__mro__[1].__module__.split(".")[0]]  # httpx, or the SDK's own fork of it
        ctx = lib.create_ssl_context()
        return [factory(verify=ctx) for _ in range(n)]
    except Exception:  # noqa: BLE001 - older SDKs: let each client build its own
        return [None] * n


class LLMClient:
    """Async chat client with retries, rate limiting and usage accounting."""

    def __init__(self, config: ModelConfig, *, limiter: RateLimiter | None = None,
                 breaker: CircuitBreaker | None = None):
        """``limiter`` / ``breaker``: shared with the other clients of the same endpoint (else own ones)."""
        self.config = config
        self.usage = Usage()
        self._limiter = limiter or (RateLimiter(config.rpm) if config.rpm else None)
        self.breaker = breaker or CircuitBreaker(config.breaker_failures, config.breaker_window_s)
        self._next = itertools.count()
        self._transport: AiohttpTransport | None = None
        self._clients: list[Any] = []
        self._errors: tuple = (TransportError, json.JSONDecodeError, asyncio.TimeoutError, MalformedReply)
        self._create_params: set[str] | None = None  # aiohttp: every parameter goes in the body
        if config.http_client == "aiohttp":
            self._transport = AiohttpTransport(config.base_url, config.api_key(), config.timeout_s)
            return
        self._clients = [openai.AsyncOpenAI(api_key=config.api_key(), base_url=config.base_url,
                                            timeout=config.timeout_s, max_retries=0, http_client=hc)
                         for hc in _http_clients(config.connection_pools)]
        self._create_params = set(inspect.signature(self._clients[0].chat.completions.create).parameters)
        self._raw_content = "content" in inspect.signature(self._clients[0].post).parameters
        self._errors += (openai.OpenAIError,)

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()
        for c in self._clients:
            await c.close()

    async def __aenter__(self) -> "LLMClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    def _where(self) -> str:
        return f"model={self.config.model!r} base_url={self.config.base_url or '<openai default>'}"

    def _params(self, messages: list[dict[str, Any]], tools: Any, tool_choice: Any,
                response_format: Any, overrides: dict[str, Any]) -> dict[str, Any]:
        cfg = self.config
        params: dict[str, Any] = {"model": cfg.model, "messages": messages,
                                  "temperature": cfg.temperature}
        if cfg.max_tokens is not None:
            params["max_tokens"] = cfg.max_tokens
        for k, v in (("tools", tools), ("tool_choice", tool_choice),
                     ("response_format", response_format)):
            if v is not None:
                params[k] = v
        extra = {**cfg.extra_body, **(overrides.pop("extra_body", None) or {})}
        for k, v in overrides.items():
            if self._create_params is None or k in self._create_params:
                params[k] = v
            else:  # server-specific sampling params (top_k, min_p, ...) go in the body
                extra[k] = v
        if extra:
            params["extra_body"] = extra
        return params

    async def _post(self, params: dict[str, Any]) -> dict[str, Any]:
        """POST the wire-format body through the openai client and return the decoded JSON reply.

        Skips the SDK's recursive param transform and its response models (most of the harness's cost
        per turn): the body is encoded once here and the reply parsed with ``json``; HTTP errors still
        raise the SDK's exceptions. A 200 whose body is not JSON raises ``json.JSONDecodeError``."""
        body = {k: v for k, v in params.items() if k not in ("extra_body", "timeout", "extra_headers")}
        body.update(params.get("extra_body") or {})
        if self._transport is not None:
            data = await self._transport.post("/chat/completions", json_body(body), params.get("extra_headers"),
                                              params.get("timeout"))
            try:
                return json.loads(data)
            except ValueError as e:  # not JSON, or not UTF-8
                raise json.JSONDecodeError(f"reply body is not JSON ({e})", data[:200].decode("utf-8", "replace"),
                                           0) from None
        options: dict[str, Any] = {}
        if params.get("timeout") is not None:
            options["timeout"] = params["timeout"]
        if params.get("extra_headers"):
            options["headers"] = params["extra_headers"]
        client = self._clients[next(self._next) % len(self._clients)]
        if self._raw_content:
            options["headers"] = {"Content-Type": "application/json", **options.get("headers", {})}
            text = await client.post("/chat/completions", cast_to=str, options=options,
                                     content=json_body(body))
        else:  # openai < 1.9x: no ``content`` argument
            text = await client.post("/chat/completions", cast_to=str, body=body, options=options)
        return json.loads(text)

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                   tool_choice: Any = None, response_format: Any = None,
                   **overrides: Any) -> ChatResult:
        """Send one chat-completions request, retrying transient failures.

        ``overrides`` replace config values (``temperature``, ``max_tokens``, ``seed``, ...);
        names unknown to the openai client, and ``extra_body``, are merged into the request body.
        Raises ``LLMError`` on non-retryable errors or once ``max_retries`` retries are spent.
        """
        cfg = self.config
        params = self._params(messages, tools, tool_choice, response_format, dict(overrides))
        attempt = 0
        while True:
            self._check_breaker(attempt)
            if self._limiter:
                await self._limiter.acquire()
            self.usage.add(requests=1)
            t0 = time.monotonic()
            try:  # a whole-request deadline: a reply trickling in byte by byte still times out
                resp = await within(self._post(params), cfg.timeout_s)
                result = self._result(resp, time.monotonic() - t0, attempt + 1)
                self.breaker.success()
                return result
            except self._errors as e:
                status = getattr(e, "status_code", None)
                cause, label = _cause(e, cfg.timeout_s)
                if not _is_retryable(e):
                    self.usage.add(failures=1)
                    raise LLMError(f"{label} from {self._where()}: {e}", model=cfg.model,
                                   base_url=cfg.base_url, status_code=status,
                                   attempts=attempt + 1, cause=cause) from e
                # a 429 comes from a live endpoint asking us to slow down: not a sign it is down
                tripped = self.breaker.failure(label) if cause != "rate_limit" else self.breaker.open
                if attempt >= cfg.max_retries or tripped:
                    self.usage.add(failures=1)
                    why = (f"the endpoint is down: {self.breaker.describe()}" if tripped
                           else f"gave up after {attempt + 1} attempts: {e}")
                    raise LLMError(f"{label} from {self._where()}: {why}", model=cfg.model,
                                   base_url=cfg.base_url, status_code=status,
                                   attempts=attempt + 1, retryable=True, cause=cause,
                                   breaker=tripped) from e
                delay = _retry_after(e)
                if delay is None:
                    delay = random.uniform(0, min(cfg.backoff_cap_s, cfg.backoff_base_s * 2 ** attempt))
                delay = min(delay, cfg.backoff_cap_s)
                attempt += 1
                self.usage.add(retries=1)
                await self._sleep(delay)

    def _check_breaker(self, attempt: int) -> None:
        if self.breaker.open:
            self.usage.add(failures=1)
            raise LLMError(f"endpoint {self._where()} is down: {self.breaker.describe()}",
                           model=self.config.model, base_url=self.config.base_url, attempts=attempt,
                           retryable=True, cause="breaker", breaker=True)

    async def _sleep(self, delay: float) -> None:
        """Back-off sleep that wakes early when the breaker opens meanwhile."""
        end = time.monotonic() + delay
        while not self.breaker.open:
            left = end - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.5))

    def _result(self, resp: Any, latency: float, attempts: int) -> ChatResult:
        cfg = self.config
        u = _get(resp, "usage")
        usage = TokenUsage(prompt_tokens=int(_get(u, "prompt_tokens") or 0) if u else 0,
                           completion_tokens=int(_get(u, "completion_tokens") or 0) if u else 0)
        cost = (usage.prompt_tokens * cfg.price_per_1k_input
                + usage.completion_tokens * cfg.price_per_1k_output) / 1000.0
        common = dict(usage=usage, cost=cost, latency_s=latency, attempts=attempts)
        choices = _get(resp, "choices") if not isinstance(resp, (str, bytes)) else None
        if not choices or not isinstance(choices, list):
            raise MalformedReply(f"reply without choices: {json.dumps(resp, default=str)[:200]}")
        choice = choices[0]
        msg = _get(choice, "message")
        if not isinstance(msg, dict) and msg is not None and not hasattr(msg, "model_dump"):
            msg = None
        if msg is None:
            raise MalformedReply(f"choice without a message: {json.dumps(choice, default=str)[:200]}")
        calls = []
        for tc in _get(msg, "tool_calls") or []:
            fn = _get(tc, "function") or _get(tc, "custom")
            raw = _get(fn, "arguments") if fn is not None else None
            if raw is None and fn is not None:
                raw = _get(fn, "input")
            calls.append(ToolCall.parse(_get(tc, "id"), _get(fn, "name") if fn else None, raw))
        reasoning = _get(msg, "reasoning_content") or _get(msg, "reasoning")
        raw_msg = msg if isinstance(msg, dict) else msg.model_dump(exclude_none=True)
        self.usage.add(calls=1, prompt_tokens=usage.prompt_tokens,
                       completion_tokens=usage.completion_tokens, cost=cost)
        return ChatResult(content=_get(msg, "content") or "", tool_calls=calls,
                          reasoning_content=reasoning if isinstance(reasoning, str) else None,
                          finish_reason=_get(choice, "finish_reason"), raw=raw_msg, **common)
