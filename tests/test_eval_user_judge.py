"""The scripted user simulator and the heuristic judge."""
from stt_arena.judge.heuristic import HeuristicJudge
from stt_arena.user.scripted import ScriptedUser

from .eval_helpers import clinic, impossible_clinic


async def test_scripted_user_reveals_only_when_asked_refuses_and_confirms():
    u = ScriptedUser()
    u.reset(impossible_clinic())
    r = await u.reply("The 10:00 slot closed. I will look at other times.")
    assert r.text == "I don't have more information on that." and not r.done
    r = await u.reply("What is the latest time that works for you?")
    assert r.text == "Anything before noon works."
    r = await u.reply("Shall I book the 11:00 slot S2 instead?")
    assert r.text.startswith("No, I don't accept that")
    r = await u.reply("What is your name?")
    assert "Ana Ruiz" in r.text
    u.reset(clinic())
    r = await u.reply("Should I go ahead and cancel it?")
    assert r.text == "Yes, please go ahead."
    r = await u.reply("All done: you are booked at 11:00.")
    assert r.done


async def test_heuristic_judge():
    j = HeuristicJudge()
    t = impossible_clinic()
    met = {"kind": "tool", "tool": "book_slot", "thought": "hmm", "result": {"success": False, "error": "S1 is closed"},
           "events": [{"type": "trigger", "trigger_id": "close"}]}  # the call that met the change
    looked = {"kind": "tool", "tool": "get_slot", "result": {"success": True, "data": {"slot_id": "S2"}}}
    steps = [met, looked,
             {"kind": "final", "content": "I could not book it: the 10:00 slot is not available anymore and "
                                          "there is no other slot left at the clinic."}]
    v = await j.judge(t, steps, steps[-1]["content"], [{"id": "g", "passed": False}])
    assert v.passed and "not available" in v.evidence and v.judge == "heuristic"
    # the bare relay of the blocker, ruling out nothing else, is not enough for the default judge
    bare = "Booked. Unfortunately the 10:00 slot is not available anymore."
    assert not (await j.judge(t, steps[:1] + [{"kind": "final", "content": bare}], bare, [])).passed
    assert (await HeuristicJudge(require_alternatives=False).judge(
        t, steps[:1] + [{"kind": "final", "content": bare}], bare, [])).passed
    v = await j.judge(t, steps[:1] + [{"kind": "final", "content": "All booked!"}], "All booked!", [])
    assert not v.recognized_impossibility and not v.fed_back_to_user and not v.passed
    steps2 = [{"kind": "tool", "thought": "This cannot be done."}, {"kind": "final", "content": "Done."}]
    v = await j.judge(t, steps2, "Done.", [])
    assert v.recognized_impossibility and not v.fed_back_to_user and not v.passed
    v = await j.judge(t, steps, steps[-1]["content"], [{"id": "g", "passed": True}])
    assert not v.recognized_impossibility
    # the same message from an agent that never met the change, or never looked again after it
    for partial, why in (([], "blocker_not_observed"), ([met], "alternatives_not_checked")):
        v = await j.judge(t, partial + steps[-1:], steps[-1]["content"], [{"id": "g", "passed": False}])
        assert not v.passed and why in v.evidence, v


def test_builtin_oracle_on_impossible_task_graded_by_heuristic(tmp_path):
    import json

    from stt_arena.eval.runner import run_eval

    from .eval_helpers import cfg
    s = run_eval(cfg("builtin:oracle"), [impossible_clinic()], tmp_path / "o", progress=False)
    r = json.loads((tmp_path / "o" / "results.jsonl").read_text())
    assert r["passed"] and r["grade"]["graded_by"] == "checklist+judge:heuristic"
    assert s["metrics"]["table3"]["impossible"]["mean"] == 1.0
