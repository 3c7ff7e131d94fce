"""The scripted OpenAI-protocol server's ``delay``: due that long after the request arrived (the server's
own work overlaps it, as an endpoint's would), and how late delayed replies went out is recorded."""
import time

from openai import OpenAI

from stt_arena.testing.fake_openai import FakeOpenAIServer


def _ask(sv: FakeOpenAIServer) -> float:
    client = OpenAI(base_url=sv.base_url, api_key="x", max_retries=0)
    t = time.monotonic()
    r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].message.content == "ok"
    return time.monotonic() - t


def test_a_delay_counts_from_arrival_not_after_the_servers_own_work():
    def slow(body):
        time.sleep(1.0)  # the server's own work on this request
        return {"delay": 1.2, "content": "ok"}

    with FakeOpenAIServer(slow) as sv:
        took = _ask(sv)
        assert 1.2 <= took < 2.0, took  # not 2.2: the work happened inside the delay
        assert sv.late["replies"] == 1 and sv.late["late_s"] < 0.5


def test_a_reply_due_before_the_work_ended_is_counted_late():
    def slower(body):
        time.sleep(0.3)
        return {"delay": 0.05, "content": "ok"}

    with FakeOpenAIServer(slower) as sv:
        assert _ask(sv) >= 0.3
        assert sv.late["replies"] == 1 and 0.2 <= sv.late["late_s"] == sv.late["max_late_s"]
