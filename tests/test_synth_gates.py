"""Stage 3 runs the validity gates of `stt-arena validate` on each task: a failing gate goes back to the model
as a repair turn (reason code, detail, evidence); the measured level replaces the audit's opinion. Drafts are
built from the gate tests' clinic family (tests/fixtures/gate_tasks.py); the model is a scripted local server."""
from __future__ import annotations

import json

from stt_arena.benchmark.gates.gates import Budget
from stt_arena.llm.client import ModelConfig
from stt_arena.sandbox.executor import Executor
from stt_arena.synth.llm import Synthesizer
from stt_arena.synth.schemas import DraftTask
from stt_arena.synth.stage3 import Stage3Options, run_stage3
from stt_arena.testing.fake_openai import FakeOpenAIServer
from stt_arena.benchmark.validation import validate_tasks
from tests.fixtures import gate_tasks as G
import pytest

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)

GATES = ["I1", "I2", "I3", "I4", "I5", "I8", "LEVEL"]
BUDGET = Budget(sequences=400)


def draft(level: str = "easy") -> DraftTask:
    b = G.base()
    env = b["environment"]
    return DraftTask(draft_id=f"draft-clinic-{level}", env_id="env-clinic", conflict_type="T1", level=level,
                     class_name=env["class_name"], code=env["source"], init_config=env["init_config"],
                     scenario="P-1 wants the earliest public-clinic slot.",
                     blueprint={"normal_flow": ["book: S-1"], "recovery_path": ["list_slots", "book: S-2"]},
                     triggers=b["triggers"], query=b["query"], user_profile=b["user_profile"],
                     tools=[{"name": n} for n in ("list_slots", "get_slot", "book", "cancel", "reschedule")],
                     provenance={"seed_source": "dolci"})


def model(script_log: list):
    """checklist: the answer-key goal first (gate I8 rejects it); a repair turn naming the gate gets the fix."""
    def answer(body: dict):
        first = body["messages"][1]["content"]
        last = body["messages"][-1]["content"]
        repair = len(body["messages"]) > 2
        script_log.append((first.split("\n")[0], repair))
        if "synth-prompt: checklist" in first:
            return json.dumps({"checklist": [{"id": "goal", "kind": "goal", "check": G.GOAL_ANSWER_KEY},
                                             {"id": "detect", "kind": "detection", "check": G.DETECT_IF_FIRED}]})
        if "synth-prompt: plan_agent" in first:
            plans = G.base()["plans"]
            if repair:  # every repair answer keeps the goal fix (the first repair turn named gate I8)
                script_log.append(("repair-error", last[:200]))
                plans = {**plans, "checklist_fixes": [{"id": "goal", "kind": "goal", "check": G.GOAL}]}
            return json.dumps(plans)
        if "synth-prompt: check_agent" in first:
            return json.dumps({k: {"ok": True, "reason": "ok"} for k in
                               ("trigger_fires", "effect_applied", "breaks_original_plan")})
        if "synth-prompt: audit" in first:  # the audit LLM thinks the level is wrong: the measured level wins
            return json.dumps({"query_config_coherence": {"ok": True}, "story_query_alignment": {"ok": True},
                               "conflict_mutation_alignment": {"ok": True}, "checklist_coverage": {"ok": True},
                               "difficulty_consistency": {"ok": False, "reason": "feels hard"},
                               "narrative_consistency": {"ok": True}})
        raise AssertionError(first[:100])
    return answer


async def run(drafts, max_repairs: int, log: list):
    with FakeOpenAIServer(model(log)) as srv, Executor() as ex:
        syn = Synthesizer(ModelConfig(model="m", base_url=srv.base_url, max_retries=0), cache_dir=None,
                          max_repairs=max_repairs)
        try:
            return (*await run_stage3(drafts, syn, ex, Stage3Options(gates=GATES, budget=BUDGET), progress=False),
                    syn)
        finally:
            await syn.aclose()


async def test_a_failing_gate_is_repaired_and_the_task_passes_validate(tmp_path):
    log: list = []
    kept, rejected, stats, syn = await run([draft()], 2, log)
    assert [r.code for r in rejected] == [] and len(kept) == 1
    failed = [a for a in syn.attempts if not a["ok"]]
    assert [a["reason"] for a in failed] == ["i8_answer_key"] and "--- check goal (goal) ---" in failed[0]["error"]
    assert syn.stats.repaired_by_reason == {"i8_answer_key": 1}
    t = kept[0]
    assert t.checklist[0].check == G.GOAL  # the repaired goal item replaced the answer key
    assert t.provenance.extra["gates"] == {"I8": True, "LEVEL": True}
    assert t.provenance.extra["level_features"]["observability"] == "explicit"
    assert t.provenance.extra["audit"]["difficulty_consistency"]["ok"] is False  # recorded, not decisive
    reports = validate_tasks(kept, gates=GATES, budget=BUDGET, workers=1)
    assert all(r.valid for r in reports), [r.problems() for r in reports]


async def test_gate_failures_reject_with_the_gate_reason_when_no_repair_is_left():
    log: list = []
    kept, rejected, stats, syn = await run([draft(), draft("hard")], 0, log)
    assert kept == []
    by = {r.item_id: r for r in rejected}
    assert by["draft-clinic-easy"].code == "i8_answer_key"
    assert by["draft-clinic-hard"].code == "i8_answer_key"  # the first failing gate names the reason
    assert dict(stats.rejected) == {"i8_answer_key": 2}


async def test_a_mislabelled_level_is_rejected_by_the_measured_level():
    log: list = []
    kept, rejected, stats, syn = await run([draft("hard")], 2, log)
    assert kept == [] and rejected[0].code == "level_measured_easy"
    assert "declared hard, measured easy" in rejected[0].detail
    errors = [x[1] for x in log if x[0] == "repair-error"]
    assert "i8_answer_key" in errors[0] and "level_measured_easy" in errors[1]  # each turn names its gate


async def test_a_trigger_that_never_fires_is_fixed_by_a_trigger_fix():
    """The draft's trigger waits for a status the slot never has (I1); the repair turn returns the trigger."""
    d = draft()
    d.triggers[0].condition = "get('slots.S-1.status') == 'open'"

    def answer(body: dict):
        first, last = body["messages"][1]["content"], body["messages"][-1]["content"]
        if "synth-prompt: checklist" in first:
            return json.dumps({"checklist": [{"id": "goal", "kind": "goal", "check": G.GOAL},
                                             {"id": "detect", "kind": "detection", "check": G.DETECT_IF_FIRED}]})
        if "synth-prompt: plan_agent" in first:
            plans = dict(G.base()["plans"])
            if len(body["messages"]) > 2:
                assert "trigger_not_fired" in last and "close_s1" in last and "the oracle calls: book(" in last
                plans["trigger_fixes"] = [G.CLOSE_S1]
            return json.dumps(plans)
        return model([])(body)

    with FakeOpenAIServer(answer) as srv, Executor() as ex:
        syn = Synthesizer(ModelConfig(model="m", base_url=srv.base_url, max_retries=0), cache_dir=None)
        kept, rejected, stats = await run_stage3([d], syn, ex, Stage3Options(gates=GATES[:5], audit=False), progress=False)
        await syn.aclose()
    assert rejected == [] and kept[0].triggers[0].condition == G.CLOSE_S1["condition"]
    assert syn.stats.repaired_by_reason == {"trigger_not_fired": 1}
