"""Refined trajectories read like a good agent: the final message reports each changed value and the figure
the user asked for, withheld facts are asked for before the trajectory relies on them, diagnoses name the
observation; the gates reject planted bad cases; transient sandbox failures are retried during replay."""
import asyncio
import copy
import json
from collections import Counter

import pytest

from stt_arena.data import benchmark_path
from stt_arena.eval.runner import run_eval
from stt_arena.refine import narrative
from stt_arena.refine.pipeline import Refiner, make_opener, refine_all
from stt_arena.refine.rules import TaskInfo
from stt_arena.sandbox.executor import SandboxError
from stt_arena.task.io import load_tasks

from .eval_helpers import cfg

IDS = ("stt-t3-easy-00011", "stt-s2-easy-00013", "stt-s2-easy-00022", "stt-t1-medium-00081", "stt-st1-medium-00087",
       "stt-s3-impossible-00221", "stt-st2-impossible-00223")


@pytest.fixture(scope="module")
def refined(tmp_path_factory):
    root = tmp_path_factory.mktemp("narr")
    tasks = {t.task_id: t for t in load_tasks(benchmark_path("v1")) if t.task_id in IDS}
    recs = []
    for agent in ("stale", "no-verify"):
        run_eval(cfg(f"builtin:{agent}"), list(tasks.values()), root / agent, progress=False, fsync=False)
        recs += [json.loads(x) for x in (root / agent / "results.jsonl").read_text().splitlines()]
    opener, close = make_opener(False)
    try:
        outs = asyncio.run(refine_all(Refiner(tasks, opener), recs))
    finally:
        close()
    return tasks, outs


def _mut(task):
    return TaskInfo.of(task).mutating


def test_refined_records_talk_like_a_good_agent(refined):
    tasks, outs = refined
    kept = [o for o in outs if o.status in ("refined", "unchanged")]
    assert len(kept) == len(outs) == 2 * len(IDS), [(o.task_id, o.reason, o.detail) for o in outs if o not in kept]
    n_changes = n_asked = 0
    for o in kept:
        task, rec = tasks[o.task_id], o.record
        assert narrative.problems(rec, task, _mut(task)) == [] and narrative.diagnosis_problems(rec, _mut(task)) == []
        final = rec["steps"][-1]["content"]
        for c in narrative.changes(rec, task, _mut(task)):
            n_changes += 1
            assert all(v in final for v in c.values()) and str(c.old) in final
        for label, (_, v) in narrative.asked(rec, task).items():
            n_asked += 1
            assert str(v) in final
        for k, i in narrative.withheld_uses(rec, task, _mut(task)):
            assert any(s["kind"] == "chat" and "?" in s["content"] for s in rec["steps"][:i]), (o.task_id, k)
    assert n_changes >= 8 and n_asked >= 2
    # the hotel: the agent asked for the budget before booking another rate, and says which rate and why
    hotel = next(o.record for o in kept if o.task_id == "stt-t3-easy-00011")
    chat = next(s for s in hotel["steps"] if s["kind"] == "chat")
    assert "budget" in chat["content"] and "160 EUR" in chat["user_reply"]
    assert "NEST-367" in hotel["steps"][-1]["content"] and "ADV-332" in hotel["steps"][-1]["content"]
    # customs: the user asked for the arrival time and gets it
    customs = next(o.record for o in kept if o.task_id == "stt-s2-easy-00013")
    assert "arrival time" in customs["steps"][-1]["content"]


def test_diagnoses_and_final_messages_vary_with_the_observation(refined):
    _, outs = refined
    notes = [s["thought"] for o in outs for s in o.record["steps"] if s.get("origin") and s.get("thought")
             and ("refused" in s["thought"] or "now shows" in s["thought"])]
    finals = [o.record["steps"][-1]["content"] for o in outs]
    assert len(set(notes)) >= len(IDS) - 1
    assert Counter(f.split(" ")[1] for f in finals).most_common(1)[0][1] < len(finals) / 2  # no stock opening


def test_gates_catch_planted_bad_records(refined):
    tasks, outs = refined
    hotel = next(o.record for o in outs if o.task_id == "stt-t3-easy-00011")
    task, mut = tasks["stt-t3-easy-00011"], _mut(tasks["stt-t3-easy-00011"])
    silent = copy.deepcopy(hotel)
    silent["steps"][-1]["content"] = "Your request is complete."
    assert any(p.startswith("final message omits changed rate_code") for p in narrative.problems(silent, task, mut))
    unasked = copy.deepcopy(hotel)
    unasked["steps"] = [s for s in unasked["steps"] if s["kind"] != "chat"]
    assert "relies on withheld fact(s) never asked for: budget" in narrative.problems(unasked, task, mut)
    vague = copy.deepcopy(hotel)
    for s in vague["steps"]:
        s["thought"] = "Something went wrong, let me look again." if s.get("thought") else s.get("thought")
    assert narrative.diagnosis_problems(vague, mut)
    customs = next(o.record for o in outs if o.task_id == "stt-s2-easy-00013")
    mute = copy.deepcopy(customs)
    eta = narrative.asked(mute, tasks["stt-s2-easy-00013"])["arrival time"][1]
    mute["steps"][-1]["content"] = mute["steps"][-1]["content"].replace(str(eta), "soon")
    assert any("does not answer the arrival time" in p
               for p in narrative.problems(mute, tasks["stt-s2-easy-00013"], _mut(tasks["stt-s2-easy-00013"])))


def test_withheld_value_in_a_call_must_be_asked_for_and_answered(refined):
    tasks, outs = refined
    rec = next(o.record for o in outs if o.task_id == "stt-s2-easy-00022")
    task, mut = tasks["stt-s2-easy-00022"], _mut(tasks["stt-s2-easy-00022"])
    po = task.user_profile.withheld_facts["customer_po"]  # PO-78174
    ask = next(i for i, s in enumerate(rec["steps"]) if s["kind"] == "chat" and po in (s.get("user_reply") or ""))
    call = next(i for i, s in enumerate(rec["steps"]) if s["kind"] == "tool" and i > ask)
    ok = copy.deepcopy(rec)
    ok["steps"][call]["arguments"]["reference"] = po  # used after the user gave it: fine
    assert narrative.problems(ok, task, mut) == []
    early = copy.deepcopy(rec)
    early["steps"][0]["arguments"]["reference"] = po  # used before anyone said it
    assert any("customer_po" in p for p in narrative.problems(early, task, mut))
    unanswered = copy.deepcopy(ok)
    unanswered["steps"][ask]["user_reply"] = "I have no further details on that."
    assert any("customer_po" in p for p in narrative.problems(unanswered, task, mut))


class _Flaky:
    """An episode opener whose first ``n`` opens fail as a dying sandbox would."""

    def __init__(self, n):
        self.n = n
        self.inner, self.close = make_opener(False)

    async def __call__(self, task):
        if self.n > 0:
            self.n -= 1
            raise SandboxError("the sandbox fork server is not responding")
        return await self.inner(task)


def test_transient_sandbox_errors_are_retried(refined):
    tasks, outs = refined
    src = next(o.source for o in outs if o.task_id == "stt-t3-easy-00011" and "stale" in o.model)
    ref = Refiner(tasks, _Flaky(2), retries=2, retry_delay_s=0.0)
    [o] = asyncio.run(refine_all(ref, [src]))
    assert o.status == "refined" and ref.transient_retries == 2
    ref = Refiner(tasks, _Flaky(5), retries=2, retry_delay_s=0.0)
    [o] = asyncio.run(refine_all(ref, [src]))
    assert o.status == "rejected" and o.reason == "replay_error" and "not responding" in o.detail
