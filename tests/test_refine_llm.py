"""LLM rewrite mode against a real local OpenAI-protocol server with scripted replies."""
import asyncio
import copy
import json

from stt_arena.llm.client import LLMClient, ModelConfig
from stt_arena.refine.llm import LLMRewriter
from stt_arena.refine.pipeline import Refiner, make_opener, refine_all
from stt_arena.testing.fake_openai import FakeOpenAIServer

from .fixtures.refine.helpers import run_agents, tasks

FIX = {"steps": [
    {"tool": "list_slots", "arguments": {"clinic_id": "C1"}},
    {"tool": "book_slot", "arguments": {"slot_id": "S1", "patient": "Ana Ruiz"}},
    {"thought": "The booking window of S1 closed; that is a state change, not a wrong id. Re-checking.",
     "tool": "get_slot", "arguments": {"slot_id": "S1"}},
    {"tool": "chat_with_user", "arguments": {"message": "The 10:00 slot can no longer be booked. What is the latest "
                                                        "time that works for you?"}},
    {"tool": "book_slot", "arguments": {"slot_id": "S2", "patient": "Ana Ruiz"}},
    {"tool": "list_slots", "arguments": {"clinic_id": "C1"}},
    {"final": "The 10:00 window closed, so I booked the 11:00 slot S2 and confirmed it."}]}


def _run(server, recs, repair_rounds=1):
    opener, close = make_opener(False)

    async def go():
        client = LLMClient(ModelConfig(model="fake-model", base_url=server.base_url, max_retries=0, timeout_s=10))
        try:
            rw = LLMRewriter(client, repair_rounds=repair_rounds)
            return await refine_all(Refiner(tasks(), opener, "llm", rw), recs)
        finally:
            await client.aclose()
    return asyncio.run(go())


def test_llm_three_stages_then_replay_passes(tmp_path):
    rec = next(r for r in run_agents(tmp_path, ("retry",))["retry"] if r["task_id"] == "example-clinic-t1")
    stage1 = {"steps": FIX["steps"][:3] + [{"final": "Checking."}]}
    with FakeOpenAIServer([json.dumps(stage1), "```json\n" + json.dumps(FIX) + "\n```", json.dumps(FIX)]) as srv:
        [o] = _run(srv, [rec])
        assert len(srv.requests) == 3
        prompts = [b["messages"][1]["content"] for b in srv.requests]
        assert "Stage 1 of 3" in prompts[0] and "Stage 3 of 3" in prompts[2]
        assert "retry_with_variants" in prompts[0] and "Ana Ruiz" in prompts[0]
        # stage 2 sees stage 1's replayed (recomputed) results, not the model's words
        assert "booking window closed" in prompts[1]
    assert o.status == "refined", (o.reason, o.detail)
    assert [s["stage"] for s in o.stages] == ["diagnosis", "refresh", "verification"]
    assert o.record["passed"] and o.record["refine"]["mode"] == "llm"


def test_llm_invalid_output_and_failing_rewrite_are_rejected(tmp_path):
    rec = next(r for r in run_agents(tmp_path, ("stale",))["stale"] if r["task_id"] == "example-clinic-t1")
    with FakeOpenAIServer(['{"steps": [{"tool": "teleport", "arguments": {}}]}']) as srv:
        [o] = _run(srv, [rec])
    assert o.status == "rejected" and o.reason == "llm_invalid_output" and "teleport" in o.detail
    lazy = {"steps": [{"tool": "list_slots", "arguments": {"clinic_id": "C1"}}, {"final": "Done."}]}
    with FakeOpenAIServer([json.dumps(lazy)] * 4) as srv:
        [o] = _run(srv, [rec], repair_rounds=1)
        assert len(srv.requests) == 4 and "does not pass yet" in srv.requests[3]["messages"][1]["content"]
    assert o.status == "rejected" and o.reason in ("replay_failed_checklist", "inconsistent")


def test_llm_rewrite_that_relies_on_an_unasked_fact_gets_a_repair_round_then_is_rejected(tmp_path):
    rec = next(r for r in run_agents(tmp_path, ("retry",))["retry"] if r["task_id"] == "example-clinic-t1")
    silent = {"steps": [s for s in FIX["steps"] if s.get("tool") != "chat_with_user"]}
    with FakeOpenAIServer([json.dumps(silent)] * 3 + [json.dumps(FIX)]) as srv:
        [o] = _run(srv, [rec], repair_rounds=1)
        repair = srv.requests[3]["messages"][1]["content"]
        assert "never asked for: latest_time" in repair  # the model is told what to fix
    assert o.status == "refined", (o.reason, o.detail)
    with FakeOpenAIServer([json.dumps(silent)] * 4) as srv:
        [o] = _run(srv, [rec], repair_rounds=1)
    assert o.status == "rejected" and o.reason == "unasked_withheld_fact" and "latest_time" in o.detail


def test_llm_rewrite_with_a_vague_diagnosis_or_silent_final_is_rejected(tmp_path):
    rec = next(r for r in run_agents(tmp_path, ("retry",))["retry"] if r["task_id"] == "example-clinic-t1")
    vague = copy.deepcopy(FIX)
    vague["steps"][2]["thought"] = "Hmm, let me look again."
    with FakeOpenAIServer([json.dumps(vague)] * 4) as srv:
        [o] = _run(srv, [rec], repair_rounds=1)
    assert o.status == "rejected" and o.reason == "diagnosis_unnamed", (o.reason, o.detail)
    silent = copy.deepcopy(FIX)
    silent["steps"][-1]["final"] = "All done, you are booked."
    with FakeOpenAIServer([json.dumps(silent)] * 4) as srv:
        [o] = _run(srv, [rec], repair_rounds=1)
    assert o.status == "rejected" and o.reason == "final_message_incomplete" and "slot_id (S2)" in o.detail
