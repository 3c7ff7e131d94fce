"""The OpenAI-protocol agent, LLM user simulator and LLM judge against a real local HTTP server."""
import json

import pytest

from stt_arena.episode.loop import FatalEvalError
from stt_arena.eval.runner import run_eval
from stt_arena.testing.fake_openai import FakeOpenAIServer

from .eval_helpers import cfg, clinic, fake_cfg, impossible_clinic

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)


def call(name, args=None, id=None):
    c = {"name": name, "arguments": {} if args is None else args}
    if id:
        c["id"] = id
    return c


ORACLE_SCRIPT = [
    {"tool_calls": [call("list_slots", {"clinic_id": "C1"})], "reasoning_content": "First look at the slots."},
    {"tool_calls": [call("book_slot", {"slot_id": "S1", "patient": "Ana Ruiz"})]},
    {"tool_calls": [call("get_slot", {"slot_id": "S1"})], "content": "The booking failed; re-checking."},
    {"tool_calls": [call("book_slot", {"slot_id": "S2", "patient": "Ana Ruiz"})]},
    "S1 had closed, so I booked you at 11:00 (S2).",
]


def _records(out):
    return [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]


def run_fake(tmp_path, script, tasks=None, user_script=None, judge_script=None, **kw):
    servers = [FakeOpenAIServer(script).start()]
    extra = {}
    try:
        if user_script is not None:
            servers.append(FakeOpenAIServer(user_script).start())
            extra["user"] = fake_cfg("user-sim", servers[-1].base_url)
            extra["user_mode"] = "llm"
        if judge_script is not None:
            servers.append(FakeOpenAIServer(judge_script).start())
            extra["judge"] = fake_cfg("judge-m", servers[-1].base_url)
        c = cfg(agent=fake_cfg("agent-m", servers[0].base_url), **extra, **kw)
        s = run_eval(c, tasks or [clinic()], tmp_path / "out", progress=False)
        return s, _records(tmp_path / "out"), servers
    finally:
        for sv in servers:
            sv.stop()


def test_tool_calls_results_and_final_reply_pass(tmp_path):
    s, [r], [sv] = run_fake(tmp_path, list(ORACLE_SCRIPT))
    assert r["passed"] and r["termination"] == "final" and r["n_tool_calls"] == 4
    assert r["final_message"].startswith("S1 had closed")
    assert r["model"] == "agent-m" and r["usage"]["agent"]["calls"] == 5
    assert r["usage"]["agent"]["prompt_tokens"] > 0 and s["usage"]["agent"]["completion_tokens"] > 0
    first = sv.requests[0]
    names = {t["function"]["name"] for t in first["tools"]}
    assert {"list_slots", "book_slot", "get_slot", "cancel_booking", "chat_with_user"} == names
    assert first["temperature"] == 0.7 and first["messages"][0]["role"] == "system"
    assert "query the current state" in first["messages"][0]["content"].lower()
    assert first["messages"][1] == {"role": "user", "content": clinic().query}
    # reasoning content kept across turns; tool results answer the call ids
    second = sv.requests[1]["messages"]
    assert second[2]["reasoning_content"] == "First look at the slots."
    assert second[3]["role"] == "tool" and second[3]["tool_call_id"] == second[2]["tool_calls"][0]["id"]
    assert '"slot_id": "S1"' in second[3]["content"]
    assert r["steps"][0]["thought"] == "First look at the slots."
    assert r["messages"] == sv.requests[-1]["messages"] + [r["messages"][-1]]
    assert r["events"] and r["events"][0]["trigger_id"] == "window_expiry"


def test_several_tool_calls_first_executed_rest_noted(tmp_path):
    script = [{"tool_calls": [call("list_slots", {"clinic_id": "C1"}, "c1"), call("get_slot", {"slot_id": "S1"}, "c2"),
                              call("get_slot", {"slot_id": "S2"}, "c3")]}, "done"]
    _, [r], [sv] = run_fake(tmp_path, script)
    assert [s["tool"] for s in r["steps"] if s["kind"] == "tool"] == ["list_slots"]
    assert "2 extra tool call(s)" in r["steps"][0]["note"]
    msgs = sv.requests[1]["messages"]
    tools = [m for m in msgs if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tools] == ["c1", "c2", "c3"]
    assert tools[0]["content"].startswith('{"success": true')
    assert all(m["content"].startswith("Not executed") for m in tools[1:])


def test_multi_call_all_runs_them_one_per_turn(tmp_path):
    script = [{"tool_calls": [call("list_slots", {"clinic_id": "C1"}, "c1"), call("get_slot", {"slot_id": "S1"}, "c2")]},
              "done"]
    _, [r], [sv] = run_fake(tmp_path, script, multi_call="all")
    assert [s["tool"] for s in r["steps"] if s["kind"] == "tool"] == ["list_slots", "get_slot"]
    assert len(sv.requests) == 2 and r["n_turns"] == 3
    assert [m["tool_call_id"] for m in sv.requests[1]["messages"] if m["role"] == "tool"] == ["c1", "c2"]


def test_bad_json_unknown_tool_and_empty_reply_are_observations(tmp_path):
    script = [{"tool_calls": [call("get_slot", '{"slot_id": "S1"', "bad")]},
              {"tool_calls": [call("teleport", {"to": "moon"}, "unk")]},
              {"content": ""},
              {"tool_calls": [call("get_slot", "[1, 2]", "arr")]},
              {"content": "x" * 200_000},
              ]
    _, [r], [sv] = run_fake(tmp_path, script)
    kinds = [s["kind"] for s in r["steps"]]
    assert kinds == ["invalid", "invalid", "invalid", "invalid", "final"]
    assert "invalid JSON arguments" in r["steps"][0]["error"]
    assert "Unknown tool 'teleport'" in r["steps"][1]["error"] and "get_slot" in r["steps"][1]["error"]
    assert "empty" in r["steps"][2]["error"]
    assert "must be a JSON object" in r["steps"][3]["error"]
    assert r["n_tool_calls"] == 0 and r["n_invalid"] == 4 and not r["passed"]
    m1 = sv.requests[1]["messages"]
    assert m1[-1]["role"] == "tool" and m1[-1]["tool_call_id"] == "bad" and "invalid JSON" in m1[-1]["content"]
    m3 = sv.requests[3]["messages"]
    assert m3[-1]["role"] == "user" and m3[-1]["content"].startswith("[harness]")
    # issue 15 item 15: a huge reply is recorded (not a crash), capped, and its text is stored once
    assert r["final_message"].startswith("x" * 50_000) and "150000 more characters not stored" in r["final_message"]
    line = (tmp_path / "out" / "results.jsonl").read_text()
    assert line.count("x" * 50_000) == 2 and len(line) < 140_000  # final_message + messages, never 200k


def test_huge_reasoning_stored_once_and_capped(tmp_path):
    """Issue 15 item 15: a 1 MB reasoning text in every turn: the step keeps a short excerpt, the
    transcript a capped copy (records stay bounded, not 2x per record)."""
    big = "r" * 1_000_000
    script = [{**(s if isinstance(s, dict) else {"content": s}), "reasoning_content": big} for s in ORACLE_SCRIPT]
    _, [r], _ = run_fake(tmp_path, script)
    assert r["passed"]
    size = (tmp_path / "out" / "results.jsonl").stat().st_size
    assert size < len(ORACLE_SCRIPT) * 60_000, size
    assert all(len(s.get("thought") or "") <= 2_100 for s in r["steps"])


def test_max_turns_and_transient_errors(tmp_path):
    loop = {"tool_calls": [call("get_slot", {"slot_id": "S1"})]}
    script = [{"error": 429, "retry_after": 0}, {"error": 503}, {"drop": True}] + [loop] * 10
    s, [r], [sv] = run_fake(tmp_path, script, max_turns=4)
    assert r["termination"] == "max_turns" and r["n_turns"] == 4 and r["n_tool_calls"] == 4
    assert s["usage"]["agent"]["this_session"]["retries"] == 3


def test_retries_exhausted_is_an_infra_error_rerun_on_resume(tmp_path):
    with FakeOpenAIServer([{"error": 500}] * 3) as sv:
        c = cfg(agent=fake_cfg("agent-m", sv.base_url, max_retries=2), episode_retries=0)
        s = run_eval(c, [clinic()], tmp_path / "o", progress=False)
        assert s["completed_episodes"] == 0 and s["errors_this_session"] == 1
        err = json.loads((tmp_path / "o" / "errors.jsonl").read_text())
        assert "gave up" in err["error"] and (err["role"], err["cause"]) == ("agent", "http_5xx")
        sv.push(*ORACLE_SCRIPT)
        s = run_eval(c, [clinic()], tmp_path / "o", progress=False, resume=True)
        assert s["completed_episodes"] == 1 and s["metrics"]["table3"]["overall"]["mean"] == 1.0


def test_auth_error_stops_the_run(tmp_path):
    with FakeOpenAIServer([{"error": 401, "message": "bad key"}] * 5) as sv:
        c = cfg(agent=fake_cfg("agent-m", sv.base_url))
        with pytest.raises(FatalEvalError, match="bad key"):
            run_eval(c, [clinic()], tmp_path / "o", progress=False)


def test_llm_user_simulator(tmp_path):
    agent = [{"tool_calls": [call("chat_with_user", {"message": "S1 closed. What is the latest time that works?"})]},
             "Booked nothing yet."]
    user = ["Anything before noon works. ###STOP###"]
    _, [r], servers = run_fake(tmp_path, agent, user_script=user)
    st = r["steps"][0]
    assert st["kind"] == "chat" and st["user_reply"] == "Anything before noon works." and st["user_done"]
    assert r["user_sim"] == "llm:user-sim" and r["usage"]["user"]["calls"] == 1
    ureq = servers[1].requests[0]["messages"]
    assert "Anything before noon works." in ureq[0]["content"]  # the withheld fact is in the profile prompt
    assert ureq[-1] == {"role": "user", "content": "S1 closed. What is the latest time that works?"}
    assert servers[0].requests[1]["messages"][-1]["content"] == "Anything before noon works."


def test_scripted_user_is_default_without_user_model(tmp_path):
    agent = [{"tool_calls": [call("chat_with_user", {"message": "What is the latest time that works for you?"})]},
             "ok"]
    _, [r], _ = run_fake(tmp_path, agent)
    assert r["user_sim"] == "scripted" and r["steps"][0]["user_reply"] == "Anything before noon works."


IMPOSSIBLE_AGENT = [
    {"tool_calls": [call("book_slot", {"slot_id": "S1", "patient": "Ana Ruiz"})]},
    {"tool_calls": [call("list_slots", {"clinic_id": "C1"})]},  # looks again after the change
    "Sorry, the 10:00 slot can no longer be booked: its window closed. I did not book another slot.",
]


def test_llm_judge_grades_impossible_task(tmp_path):
    verdict = {"recognized_impossibility": True, "fed_back_to_user": True, "evidence": "can no longer be booked"}
    _, [r], servers = run_fake(tmp_path, list(IMPOSSIBLE_AGENT), tasks=[impossible_clinic()],
                               judge_script=["```json\n" + json.dumps(verdict) + "\n```"])
    g = r["grade"]
    assert g["judge"]["judge"] == "llm:judge-m" and g["judge"]["passed"] and r["passed"]
    assert g["graded_by"] == "checklist+judge:llm:judge-m" and g["infeasible_goal"][0]["passed"] is False
    jreq = servers[1].requests[0]
    assert jreq["response_format"] == {"type": "json_object"} and jreq["temperature"] == 0.0
    assert "can no longer be booked" in jreq["messages"][0]["content"]


def test_llm_judge_invalid_output_retried_then_heuristic(tmp_path):
    _, [r], _ = run_fake(tmp_path, list(IMPOSSIBLE_AGENT), tasks=[impossible_clinic()],
                         judge_script=["not json", '{"recognized_impossibility": "maybe"}'])
    j = r["grade"]["judge"]
    assert j["judge"] == "heuristic (fallback from llm:judge-m)" and "schema" in j["error"]
    assert j["passed"] and r["passed"]  # the heuristic sees "can no longer be booked"
    _, [r], _ = run_fake(tmp_path / "2", list(IMPOSSIBLE_AGENT), tasks=[impossible_clinic()],
                         judge_script=['{"recognized_impossibility": true, "fed_back_to_user": false, "evidence": "x"}'])
    assert not r["passed"] and r["grade"]["checklist_passed"]


def test_environment_opens_while_the_first_model_call_is_in_flight():
    """The sandbox's fork + init overlap the agent's first request (the request arrives before the
    open finishes); a failed open is an InfraError after which nothing leaks."""
    import asyncio
    import threading

    from stt_arena.agents.llm import OpenAIAgent
    from stt_arena.episode.loop import EpisodeContext, InfraError, run_episode
    from stt_arena.judge import make_judge
    from stt_arena.llm.client import LLMClient
    from stt_arena.sandbox.local import LocalEpisode
    from stt_arena.sandbox.spec import episode_spec
    from stt_arena.user import make_user

    got_request = threading.Event()

    def script(body):
        got_request.set()
        return "Task Completed"

    async def play(open_fn):
        client = LLMClient(fake_cfg("agent-m", sv.base_url))
        ctx = EpisodeContext(task=clinic(), run=0, agent=OpenAIAgent(client), user=make_user("scripted", None),
                             judge=make_judge(None), open_episode=open_fn, system_prompt="sys")
        try:
            return await run_episode(ctx)
        finally:
            await client.aclose()

    async def slow_open(task):
        arrived = await asyncio.to_thread(got_request.wait, 10)  # finishes only once the request is in
        assert arrived
        return LocalEpisode(episode_spec(task))

    async def broken_open(task):
        raise RuntimeError("no sandbox today")

    with FakeOpenAIServer(script) as sv:
        rec = asyncio.run(play(slow_open))
        assert rec["termination"] == "final" and len(sv.requests) == 1
        with pytest.raises(InfraError, match="could not open the environment: no sandbox today"):
            asyncio.run(play(broken_open))


def test_request_bodies_equal_the_whole_history_encoded(tmp_path):
    """The agent's history and tool specs are encoded incrementally: each request still carries exactly
    the conversation so far (every earlier request's messages plus the new ones)."""
    s, recs, servers = run_fake(tmp_path, ORACLE_SCRIPT)
    bodies = servers[0].requests
    assert len(bodies) == len(ORACLE_SCRIPT) and recs[0]["passed"]
    for prev, cur in zip(bodies, bodies[1:]):
        assert cur["messages"][:len(prev["messages"])] == prev["messages"]
        assert cur["tools"] == bodies[0]["tools"] and cur["model"] == "agent-m"
        assert cur["messages"][len(prev["messages"])]["role"] == "assistant"
    final = recs[0]["messages"]
    assert bodies[-1]["messages"] == final[:len(bodies[-1]["messages"])]


def test_a_lone_surrogate_from_the_model_is_recorded_not_fatal(tmp_path):
    """Found in review: a reply with a lone surrogate escape ("\\udc80", valid JSON) crashed the run when the
    next request or the record was encoded, and records already finished were lost."""
    script = [{"tool_calls": [call("list_slots", {"clinic_id": "C1"})], "content": "Looking \udc80 up."},
              *ORACLE_SCRIPT[1:-1], "Done \udc80: S1 had closed, so I booked you at 11:00 (S2)."]
    s, [r], servers = run_fake(tmp_path, script)
    assert r["passed"] and r["final_message"].startswith("Done \udc80"), r  # read back as sent
    assert "\udc80" in servers[0].requests[1]["messages"][2]["content"]  # and sent on in the history
    assert s["errors_this_session"] == 0
