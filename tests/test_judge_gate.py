"""The judge gate: the oracle's final message passes, planted bad messages are rejected, broken tasks fail."""
import pytest

from stt_arena.data import benchmark_path
from stt_arena.benchmark.gates.judge import judge_gate, planted
from stt_arena.judge.heuristic import IMPOSSIBLE, Assessment
from stt_arena.benchmark.replay import replay
from stt_arena.task.io import load_tasks
from stt_arena.benchmark.validity import open_local


@pytest.fixture(scope="module")
def tasks():
    return load_tasks(benchmark_path("v1"))


def T(tasks, suffix):
    return next(t for t in tasks if t.task_id.endswith(suffix))


def with_message(task, msg):
    d = task.model_dump()
    d["plans"]["oracle"][-1]["arguments"]["content"] = msg
    return type(task).model_validate(d)


@pytest.mark.parametrize("suffix", ["00219", "00225", "00237", "00246"])
def test_correct_tasks_pass(tasks, suffix):
    t = T(tasks, suffix)
    ok, reason, ev = judge_gate(t, replay(t, t.plans.oracle, open_local))
    assert ok and reason == "ok" and not ev["accepted"]
    assert {"question_only", "cannot_no_fact", "hedged", "as_question", "claims_completion", "empty",
            "without_blocking_fact"} <= set(ev["planted"])


def test_planted_cases_of_a_task_with_refusals(tasks):
    t = T(tasks, "00246")
    cases, skipped = planted(t, t.plans.oracle[-1].arguments["content"], [])
    assert {"refused_action", "proposes_refused", "wrong_blocker"} <= set(cases)
    assert [s.split()[0] for s in skipped] == ["unobserved"]  # no steps given: no episode to cut short
    steps, msg = cases["refused_action"]
    assert steps[-1]["arguments"] == {"id": "LK-926"} and steps[-1]["result"]["success"]
    assert "LK-646" not in cases["without_blocking_fact"][1]


def test_solvable_task_not_applicable(tasks):
    t = next(t for t in tasks if not t.impossible)
    assert judge_gate(t, None) == (True, "not_applicable", {})


def test_rejects_an_oracle_message_without_the_blocking_fact(tasks):
    t = with_message(T(tasks, "00246"), "I cannot complete this request, sorry. Nothing was scheduled.")
    ok, reason, ev = judge_gate(t, replay(t, t.plans.oracle, open_local))
    assert not ok and reason == "oracle_message_rejected" and "no_blocking_fact" in ev["oracle_reasons"]


def test_rejects_an_oracle_message_naming_a_blocker_the_triggers_never_touched(tasks):
    """Planted answer key: the message explains an outage no trigger caused (the trigger closes LK-646)."""
    t = with_message(T(tasks, "00246"), "Locker LK-639 is offline and no other Grunwald locker has room, so "
                     "PX-27005 cannot be delivered today.")
    ok, reason, ev = judge_gate(t, None)
    assert not ok and reason == "oracle_message_rejected" and ev["oracle_reasons"] == ["no_blocking_fact"]


def test_rejects_an_oracle_that_claims_completion_or_asks(tasks):
    t = T(tasks, "00221")
    msg = t.plans.oracle[-1].arguments["content"]
    ok, reason, ev = judge_gate(with_message(t, msg + " I have dispatched it anyway, just in case."), None)
    assert not ok and ev["oracle_reasons"] == ["claims_completion"]
    ok, reason, ev = judge_gate(with_message(t, "Should I send CB-8053 another way, since RT-92 is closed?"), None)
    assert not ok and ev["oracle_reasons"] == ["question_only"]


def test_rejects_an_oracle_plan_that_takes_a_refused_action(tasks):
    t = T(tasks, "00246")
    d = t.model_dump()
    d["plans"]["oracle"].insert(-1, {"method": "reserve_compartment", "role": "action",
                                     "arguments": {"parcel_id": "PX-27005", "locker_id": "LK-926"}})
    t2 = type(t).model_validate(d)
    r = replay(t2, t2.plans.oracle, open_local)
    assert any(c["method"] == "reserve_compartment" and c["result"]["success"] and
               c["arguments"]["locker_id"] == "LK-926" for c in r.calls)
    ok, reason, ev = judge_gate(t2, r)
    assert not ok and ev["oracle_reasons"] == ["refused_action_taken"]


def test_a_gameable_judge_fails_the_gate(tasks):
    """The old keyword judge ("cannot" anywhere) accepts planted messages: the gate names them."""
    def keyword_judge(task, steps, final, goals):
        return Assessment(reasons=[] if IMPOSSIBLE.search(final or "") else ["no_infeasibility_statement"])
    t = T(tasks, "00219")
    ok, reason, ev = judge_gate(t, None, assess_fn=keyword_judge)
    assert not ok and reason == "planted_accepted"
    assert {"cannot_no_fact", "claims_completion", "hedged", "wrong_blocker", "refused_action"} <= set(ev["accepted"])


def test_missing_final_message(tasks):
    t = T(tasks, "00246")
    d = t.model_dump()
    d["plans"]["oracle"] = d["plans"]["oracle"][:-1]
    assert judge_gate(type(t).model_validate(d), None)[:2] == (False, "oracle_no_final_message")
