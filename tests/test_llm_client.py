"""LLMClient against a real local HTTP fake of the OpenAI API (no monkeypatching)."""
from __future__ import annotations

import asyncio

import pytest

from stt_arena.llm import ChatResult, LLMClient, LLMError, ModelConfig
from stt_arena.testing import FakeOpenAIServer

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)

USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture(autouse=True, params=["aiohttp", "openai"])
def http_client(request, monkeypatch):
    """Every test runs on both HTTP paths: the lean aiohttp transport and the openai SDK's client."""
    monkeypatch.setenv("STT_ARENA_HTTP_CLIENT", request.param)
    return request.param


def make_client(server: FakeOpenAIServer, **kw) -> LLMClient:
    cfg = dict(model="test-model", base_url=server.base_url, backoff_base_s=0.001,
               backoff_cap_s=0.05, timeout_s=5, max_retries=3)
    cfg.update(kw)
    return LLMClient(ModelConfig(**cfg))


async def test_plain_reply():
    with FakeOpenAIServer(["Hi!"]) as s:
        c = make_client(s, temperature=0.2, max_tokens=64)
        r = await c.chat(USER)
        assert isinstance(r, ChatResult)
        assert r.content == "Hi!" and r.tool_calls == [] and r.finish_reason == "stop"
        assert r.attempts == 1 and r.latency_s > 0
        body = s.requests[0]
        assert body["model"] == "test-model" and body["messages"] == USER
        assert body["temperature"] == 0.2 and body["max_tokens"] == 64
        assert s.request_headers[0]["authorization"].startswith("Bearer ")
        # script exhausted -> default reply
        assert (await c.chat(USER)).content == "Task Completed"
        await c.aclose()


async def test_tool_call_parsed_and_roundtrip():
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}]
    item = {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_1"}]}
    with FakeOpenAIServer([item, "done"]) as s:
        c = make_client(s)
        r = await c.chat(USER, tools=tools, tool_choice="auto")
        assert r.finish_reason == "tool_calls" and r.content == ""
        (tc,) = r.tool_calls
        assert (tc.id, tc.name, tc.arguments, tc.parse_error) == ("call_1", "get_weather",
                                                                  {"city": "Paris"}, None)
        assert tc["name"] == "get_weather"
        assert s.requests[0]["tools"] == tools and s.requests[0]["tool_choice"] == "auto"
        history = USER + [r.message_dict(),
                          {"role": "tool", "tool_call_id": tc.id, "content": "sunny"}]
        assert (await c.chat(history)).content == "done"
        sent = s.requests[1]["messages"][1]
        assert sent["tool_calls"][0]["function"] == {"name": "get_weather",
                                                     "arguments": '{"city": "Paris"}'}


async def test_bad_json_arguments_recorded():
    item = {"tool_calls": [{"name": "f", "arguments": '{"a": 1,'},
                           {"name": "g", "arguments": "[1, 2]"},
                           {"name": "h", "arguments": ""}]}
    with FakeOpenAIServer([item]) as s:
        r = await make_client(s).chat(USER)
        bad, notobj, empty = r.tool_calls
        assert bad.arguments is None and bad.arguments_raw == '{"a": 1,' and "JSON" in bad.parse_error
        assert notobj.arguments is None and "object" in notobj.parse_error
        assert empty.arguments == {} and empty.parse_error is None
        assert r.message_dict()["tool_calls"][0]["function"]["arguments"] == '{"a": 1,'


async def test_reasoning_content_kept():
    with FakeOpenAIServer([{"content": "42", "reasoning_content": "think think"},
                           {"content": "ok", "reasoning": "alt field"}]) as s:
        c = make_client(s)
        r = await c.chat(USER)
        assert r.reasoning_content == "think think"
        assert r.message_dict() == {"role": "assistant", "content": "42",
                                    "reasoning_content": "think think"}
        assert (await c.chat(USER)).reasoning_content == "alt field"


async def test_429_retry_after_honoured():
    with FakeOpenAIServer([{"error": 429, "retry_after": 0.3}, "ok"]) as s:
        c = make_client(s, backoff_cap_s=5)
        r = await c.chat(USER)
        assert r.content == "ok" and r.attempts == 2
        assert s.request_times[1] - s.request_times[0] >= 0.25
        assert c.usage.retries == 1 and c.usage.requests == 2


async def test_retry_after_is_capped():
    with FakeOpenAIServer([{"error": 429, "retry_after": 100}, "ok"]) as s:
        c = make_client(s, backoff_cap_s=0.05)
        assert (await asyncio.wait_for(c.chat(USER), 5)).content == "ok"


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_retried(status):
    with FakeOpenAIServer([{"error": status}, {"error": status}, "ok"]) as s:
        c = make_client(s)
        assert (await c.chat(USER)).content == "ok"
        assert len(s.requests) == 3 and c.usage.retries == 2


async def test_dropped_connection_retried():
    with FakeOpenAIServer([{"drop": True}, "ok"]) as s:
        c = make_client(s)
        assert (await c.chat(USER)).content == "ok"
        assert len(s.requests) == 2


async def test_timeout_retried():
    with FakeOpenAIServer([{"delay": 3, "content": "late"}, "ok"]) as s:
        c = make_client(s, timeout_s=0.3)
        r = await c.chat(USER)
        assert r.content == "ok" and r.attempts == 2


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_client_errors_not_retried(status):
    with FakeOpenAIServer([{"error": status, "message": "nope"}, "ok"]) as s:
        c = make_client(s)
        with pytest.raises(LLMError) as ei:
            await c.chat(USER)
        assert len(s.requests) == 1
        err = ei.value
        assert "test-model" in str(err) and s.base_url in str(err)
        assert err.status_code == status and not err.retryable
        assert c.usage.failures == 1 and c.usage.retries == 0


async def test_retries_exhausted():
    with FakeOpenAIServer(lambda body: {"error": 503}) as s:
        c = make_client(s, max_retries=2)
        with pytest.raises(LLMError, match="gave up after 3 attempts") as ei:
            await c.chat(USER)
        assert len(s.requests) == 3 and ei.value.retryable and ei.value.attempts == 3


async def test_extra_body_and_overrides_reach_server():
    with FakeOpenAIServer() as s:
        c = make_client(s, extra_body={"chat_template_kwargs": {"enable_thinking": False}})
        await c.chat(USER, temperature=0.0, top_k=20, extra_body={"min_p": 0.1},
                     response_format={"type": "json_object"})
        body = s.requests[0]
        assert body["chat_template_kwargs"] == {"enable_thinking": False}
        assert body["top_k"] == 20 and body["min_p"] == 0.1 and body["temperature"] == 0.0
        assert body["response_format"] == {"type": "json_object"}


async def test_usage_and_cost_accumulate():
    script = [{"content": "a", "usage": {"prompt_tokens": 1000, "completion_tokens": 500}},
              {"error": 500},
              {"content": "b", "usage": {"prompt_tokens": 2000, "completion_tokens": 100}}]
    with FakeOpenAIServer(script) as s:
        c = make_client(s, price_per_1k_input=0.5, price_per_1k_output=2.0)
        r1 = await c.chat(USER)
        r2 = await c.chat(USER)
        assert r1.usage.prompt_tokens == 1000 and r1.cost == pytest.approx(1.5)
        assert r2.cost == pytest.approx(1.2)
        snap = c.usage.snapshot()
        assert snap == {"calls": 2, "requests": 3, "retries": 1, "failures": 0,
                        "prompt_tokens": 3000, "completion_tokens": 600,
                        "cost": pytest.approx(2.7)}
        assert c.usage.total_tokens == 3600


async def test_rpm_limiter_spaces_concurrent_requests():
    with FakeOpenAIServer() as s:
        c = make_client(s, rpm=120)  # one request per 0.5 s
        await asyncio.gather(*(c.chat(USER) for _ in range(3)))
        t = sorted(s.request_times)
        assert len(t) == 3
        assert t[2] - t[0] >= 0.9
        assert t[1] - t[0] >= 0.4


async def test_empty_reply_becomes_empty_string():
    raw = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
           "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": None}}]}
    with FakeOpenAIServer([{"raw": raw}]) as s:
        c = make_client(s)
        r = await c.chat(USER)
        assert r.content == "" and r.tool_calls == [] and c.usage.calls == 1
        assert r.message_dict() == {"role": "assistant", "content": ""}


@pytest.mark.parametrize("raw", [{"id": "x", "object": "chat.completion", "model": "m", "choices": []},
                                 {"id": "x", "model": "m"},
                                 {"choices": [{"index": 0, "finish_reason": "stop"}]}])
async def test_reply_without_choices_is_retried_not_an_empty_answer(raw):
    """Issue 15 item 12: a malformed 200 reply is an endpoint fault (retried), never the model's empty reply."""
    with FakeOpenAIServer([{"raw": raw}, "fine"]) as s:
        c = make_client(s)
        r = await c.chat(USER)
        assert r.content == "fine" and c.usage.retries == 1 and c.usage.calls == 1
    with FakeOpenAIServer(lambda body: {"raw": raw}) as s:
        c = make_client(s, max_retries=1)
        with pytest.raises(LLMError) as ei:
            await c.chat(USER)
        assert ei.value.cause == "malformed" and ei.value.retryable


async def test_fake_server_models_and_stream_rejected():
    import openai

    with FakeOpenAIServer(model="fake-x") as s:
        oc = openai.AsyncOpenAI(api_key="k", base_url=s.base_url, max_retries=0)
        assert [m.id async for m in oc.models.list()] == ["fake-x"]
        with pytest.raises(openai.BadRequestError):
            await oc.chat.completions.create(model="m", messages=USER, stream=True)
        await oc.close()


def _raw_http(port: int, payload: bytes) -> bytes:
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                return b"".join(chunks)
            chunks.append(b)


def test_fake_server_keep_alive_and_malformed_requests():
    body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
    req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    with FakeOpenAIServer(["one", "two"]) as s:
        out = _raw_http(s.port, req + req)  # two requests on one connection
        assert out.count(b"HTTP/1.1 200 OK") == 2 and b'"one"' in out and b'"two"' in out
        assert _raw_http(s.port, b"NOT HTTP\r\n\r\n").startswith(b"HTTP/1.1 400")
        bad = b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 5\r\n\r\n{nope"
        assert _raw_http(s.port, bad).startswith(b"HTTP/1.1 400")
        assert _raw_http(s.port, b"GET /v1/nothing HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 404")
        assert len(s.requests) == 2 and s.request_headers[0]["content-type"] == "application/json"


async def test_fake_server_without_history_and_with_many_clients():
    """record=False keeps no request history (long benchmarks); 200 concurrent connections are accepted."""
    with FakeOpenAIServer(lambda body: {"delay": 0.05, "content": body["messages"][0]["content"]},
                          record=False) as s:
        c = make_client(s, connection_pools=50)
        outs = await asyncio.gather(*(c.chat([{"role": "user", "content": f"m{i}"}]) for i in range(200)))
        assert [o.content for o in outs] == [f"m{i}" for i in range(200)] and c.usage.retries == 0
        assert s.requests == [] and s.request_headers == [] and s.request_times == []
        await c.aclose()


async def test_whole_request_deadline_catches_a_trickling_reply():
    """Issue 15 item 12: the timeout bounds the whole request; a reply trickling in byte by byte (each
    read well within the per-read timeout) is a timeout, retried."""
    import time
    with FakeOpenAIServer([{"trickle": 0.05, "content": "x" * 400}, "fine"]) as s:
        c = make_client(s, timeout_s=1.0)
        t0 = time.monotonic()
        r = await c.chat(USER)
        assert r.content == "fine" and c.usage.retries == 1
        assert time.monotonic() - t0 < 5


def _closed_port() -> int:
    import socket
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


async def test_circuit_breaker_opens_on_a_dead_endpoint_and_fails_every_call_at_once():
    """Issue 15 item 1: consecutive connection failures spanning the window open the breaker; later calls
    fail at once (no retries) with breaker=True and a message saying what was tried."""
    import time
    cfg = ModelConfig(model="m", base_url=f"http://127.0.0.1:{_closed_port()}/v1", max_retries=50,
                      backoff_base_s=0.01, backoff_cap_s=0.05, breaker_failures=3, breaker_window_s=0.3)
    c = LLMClient(cfg)
    t0 = time.monotonic()
    with pytest.raises(LLMError) as ei:
        await c.chat(USER)
    assert ei.value.breaker and ei.value.cause == "connection" and time.monotonic() - t0 < 5
    assert c.usage.retries < 50
    before = c.usage.requests
    with pytest.raises(LLMError) as ei:
        await c.chat(USER)
    assert ei.value.breaker and ei.value.cause == "breaker" and c.usage.requests == before
    assert "consecutive failed requests" in str(ei.value) and "connection failed" in str(ei.value)
    await c.aclose()


async def test_breaker_stays_closed_when_successes_interleave():
    """The planted opposite case: failures with successes between them never open the breaker."""
    with FakeOpenAIServer([{"error": 503}, "a", {"error": 503}, "b", {"error": 503}, "c"]) as s:
        c = make_client(s, breaker_failures=2, breaker_window_s=0.0)
        assert [(await c.chat(USER)).content for _ in range(3)] == ["a", "b", "c"]
        assert not c.breaker.open


async def test_rate_limiting_never_opens_the_breaker():
    """Found in review: a few 429s in a row (with Retry-After) opened the breaker and stopped the run as
    'endpoint down'; the same number of 503s still does."""
    with FakeOpenAIServer([{"error": 429, "retry_after": 0.01}] * 4 + ["ok"]) as s:
        c = make_client(s, breaker_failures=2, breaker_window_s=0.0, max_retries=6, backoff_cap_s=0.05)
        assert (await c.chat(USER)).content == "ok" and not c.breaker.open
    with FakeOpenAIServer([{"error": 503}] * 4 + ["ok"]) as s:
        c = make_client(s, breaker_failures=2, breaker_window_s=0.0, max_retries=6, backoff_cap_s=0.05)
        with pytest.raises(LLMError) as ei:
            await c.chat(USER)
        assert ei.value.breaker


async def test_rate_limiter_shared_by_clients_of_one_endpoint():
    """Issue 15 item 13: two roles' clients holding one limiter share its budget."""
    import time
    from stt_arena.llm.client import RateLimiter
    with FakeOpenAIServer() as s:
        lim = RateLimiter(600)  # one request per 0.1 s for both clients together
        mc = ModelConfig(model="m", base_url=s.base_url, rpm=600)
        a, b = LLMClient(mc, limiter=lim), LLMClient(mc.model_copy(update={"model": "judge"}), limiter=lim)
        t0 = time.monotonic()
        await asyncio.gather(*(x.chat(USER) for x in (a, b, a, b, a, b)))
        assert time.monotonic() - t0 >= 0.45
        times = sorted(s.request_times)
        assert times[-1] - times[0] >= 0.4  # 6 requests, one per 0.1 s (two budgets would take ~0.2 s)


async def test_http_client_choice_reaches_the_wire(http_client, monkeypatch):
    monkeypatch.setenv("OPENAI_ORG_ID", "org-123")
    with FakeOpenAIServer(["ok"]) as s:
        c = make_client(s, api_key_value="sk-test")
        assert c.config.http_client == http_client
        assert (await c.chat(USER, extra_headers={"X-Trace": "t1"})).content == "ok"
        await c.aclose()
    h = s.request_headers[0]
    assert h["authorization"] == "Bearer sk-test" and h["openai-organization"] == "org-123"
    assert h["x-trace"] == "t1" and h["content-type"].startswith("application/json")
    assert ("stainless" in " ".join(h)) == (http_client == "openai")  # the SDK's own headers, only on its path


async def test_oversized_reply_is_refused_not_buffered(http_client, monkeypatch):
    if http_client == "openai":
        pytest.skip("the cap is the aiohttp transport's")
    from stt_arena.llm import transport
    monkeypatch.setattr(transport, "MAX_RESPONSE_BYTES", 4096)
    big = {"choices": [{"message": {"role": "assistant", "content": "x" * 20000}}]}
    with FakeOpenAIServer([{"raw": big}] * 2 + ["ok"]) as s:
        c = make_client(s, max_retries=1)
        with pytest.raises(LLMError) as e:
            await c.chat(USER)
        assert e.value.cause == "malformed" and e.value.attempts == 2 and "4096" in str(e.value)
        assert (await c.chat(USER)).content == "ok"  # the connection pool still works


def test_one_client_across_event_loops(http_client):
    """Sync callers run one asyncio.run per request: the session follows the loop."""
    with FakeOpenAIServer(["a", "b"]) as s:
        c = make_client(s)
        assert asyncio.run(c.chat(USER)).content == "a"
        assert asyncio.run(c.chat(USER)).content == "b"


def test_proxy_settings_follow_the_environment(monkeypatch):
    from stt_arena.llm.transport import env_proxy
    for name in ("HTTP_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    assert env_proxy("https://api.openai.com/v1") == "http://proxy.example:3128"
    assert env_proxy("https://internal.example/v1") is None
    assert env_proxy("http://127.0.0.1:8000/v1") is None  # no HTTP_PROXY set


async def test_requests_go_through_the_configured_proxy(http_client, monkeypatch):
    """A proxy from HTTP_PROXY is used: the scripted server plays the proxy (absolute-form request line)."""
    if http_client == "openai":
        pytest.skip("the SDK's httpx handles proxies itself")
    with FakeOpenAIServer(["via proxy"]) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url.rsplit("/v1", 1)[0])
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        c = LLMClient(ModelConfig(model="m", base_url="http://upstream.invalid/v1", max_retries=0, timeout_s=5))
        assert c._transport.proxy and (await c.chat(USER)).content == "via proxy"
        await c.aclose()
