"""Gate I10 (shortcut policies): the policies run through the real episode loop, the suite catches planted
gameable tasks, and it is not blind (a policy that is the oracle passes everything)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stt_arena.agents.builtin import OracleAgent
from stt_arena.agents.shortcuts import SHORTCUT_POLICIES, make_shortcut
from stt_arena.data import benchmark_path
from stt_arena.benchmark.gates.shortcuts import REASON, run_shortcut_suite
from stt_arena.judge.base import Judge, Verdict
from stt_arena.task.io import load_tasks

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)

# one task per level, several domains (blind retry solves the first: any open slot is acceptable)
SAMPLE = ["stt-t1-easy-00000", "stt-st1-easy-00015", "stt-t2-easy-00019", "stt-st1-medium-00132",
          "stt-s1-impossible-00219"]


@pytest.fixture(scope="module")
def tasks():
    by_id = {t.task_id: t for t in load_tasks(benchmark_path("v1"))}
    missing = [i for i in SAMPLE if i not in by_id]
    assert not missing, f"the built-in benchmark no longer has {missing}: update SAMPLE in this test"
    hard = next(t for t in by_id.values() if t.level == "hard")
    return {**{i: by_id[i] for i in SAMPLE}, "hard": hard}


@pytest.fixture(scope="module")
def report(tasks):
    return run_shortcut_suite(list(tasks.values()), concurrency=4, keep_traces=True)


def test_every_policy_runs_on_every_task(tasks, report):
    assert report.errors == []
    assert report.judge == "heuristic"
    assert set(report.judged) == {"stt-s1-impossible-00219"}  # judge verdicts kept for impossible tasks
    assert set(report.judged["stt-s1-impossible-00219"]) == set(report.policies)
    assert set(report.policies) >= {"blind-retry", "paranoid-reread", "give-up", "ask-then-static", "do-nothing",
                                    "static-cannot", "reread-cannot", "checklist-gamer"}
    for tid in tasks.values():
        assert set(report.traces[tid.task_id]) == set(report.policies)
    tr = report.traces["stt-t1-easy-00000"]
    assert [s.get("kind") for s in tr["give-up"]["steps"]] == ["final"]
    assert re.search(r"cannot", tr["give-up"]["final_message"])
    assert [s.get("kind") for s in tr["do-nothing"]["steps"]] == ["final"]
    assert tr["ask-then-static"]["steps"][0]["kind"] == "chat" and "?" in tr["ask-then-static"]["steps"][0]["content"]
    assert "cannot" in tr["static-cannot"]["final_message"]
    # paranoid re-read: a read of the slot right before the (failing) booking
    calls = [s["tool"] for s in tr["paranoid-reread"]["steps"] if "tool" in s]
    assert calls.index("book_appointment") > calls.index("get_slot")
    # blind retry: the booking fails (window expired), is refreshed and retried with other observed slots
    retry = [s for s in tr["blind-retry"]["steps"] if s.get("tool") == "book_appointment"]
    assert not retry[0]["success"] and retry[-1]["success"] and len(retry) >= 2
    assert len({s["arguments"]["slot_id"] for s in retry}) == len(retry)
    assert tr["blind-retry"]["passed"] and report.passed["stt-t1-easy-00000"]["blind-retry"]
    # the checklist gamer on an impossible task (its checklist grades a message): no retry of the failed
    # booking, the read tools the detection item looks for right after it, then a "cannot" message
    g = report.traces["stt-s1-impossible-00219"]["checklist-gamer"]
    books = [i for i, s in enumerate(g["steps"]) if s.get("tool") == "book_appointment"]
    assert len(books) == 1 and not g["steps"][books[0]]["success"]
    assert {"get_slot", "search_slots"} <= {s.get("tool") for s in g["steps"][books[0] + 1:]}
    assert "cannot" in g["final_message"]
    # no policy exceeds the turn budget; call caps hold
    for per in report.traces.values():
        for name, t in per.items():
            assert sum(1 for s in t["steps"] if "tool" in s) <= SHORTCUT_POLICIES[name].max_calls + 1


def test_policies_are_deterministic_and_blind_to_the_answer_key(tasks, report):
    again = run_shortcut_suite(list(tasks.values()), concurrency=2)
    assert again.passed == report.passed
    blinded = []
    for t in tasks.values():  # grading never reads plans.oracle / alternatives; the policies must not either
        plans = t.plans.model_copy(update={"oracle": [], "alternatives": []})
        blinded.append(t.model_copy(update={"plans": plans}))
    assert run_shortcut_suite(blinded, concurrency=2).passed == report.passed


def test_suite_is_not_blind_an_oracle_policy_passes(tasks):
    rep = run_shortcut_suite(list(tasks.values()), policies={"oracle": lambda: OracleAgent("oracle")})
    assert all(p["oracle"] for p in rep.passed.values())
    g = rep.gate()
    assert not g.ok and g.reason == REASON
    assert set(rep.level_checks()) == {"easy", "medium", "hard", "impossible"}
    assert all(not c["ok"] and c["max_rate"] == 1.0 for c in rep.level_checks().values())
    assert rep.level_checks()["easy"]["offenders"]["oracle"]["tasks"] == sorted(
        i for i in SAMPLE if "-easy-" in i)
    assert not rep.task_gate("stt-t1-easy-00000").ok


def test_planted_weak_goal_is_caught_by_blind_retry(tasks):
    """Goal accepting any car instead of one with the range the user needs: blind retry now passes."""
    task = tasks["stt-st1-easy-00015"]
    ok = run_shortcut_suite([task], policies=["blind-retry"])
    assert ok.passed[task.task_id]["blind-retry"] is False and ok.gate().ok
    items = []
    for c in task.checklist:
        if c.kind == "goal":
            weak = re.sub(r"/ 100\.0 < \d+:", "/ 100.0 < 0:", c.check)
            assert weak != c.check, "planting failed: the goal check's range threshold was not found"
            c = c.model_copy(update={"check": weak})
        items.append(c)
    planted = task.model_copy(update={"checklist": items, "task_id": "planted-weak-goal"})
    rep = run_shortcut_suite([planted], policies=["blind-retry"])
    assert rep.passed["planted-weak-goal"]["blind-retry"] is True
    g = rep.gate()
    assert not g.ok and g.reason == REASON
    assert g.evidence["offenders"]["easy"]["blind-retry"]["tasks"] == ["planted-weak-goal"]
    tg = rep.task_gate("planted-weak-goal")
    assert not tg.ok and tg.evidence["policies"] == ["blind-retry"]
    steps = tg.evidence["traces"]["blind-retry"]["steps"]  # the evidence: the winning call sequence
    assert any(s.get("tool") == "reserve_vehicle" and s["success"] for s in steps)


def test_planted_impossible_task_accepting_cannot_is_caught():
    """An impossible task graded only on the final message and the untouched state (its detection items
    dropped): a label-blind "cannot" policy then passes it wherever the judge accepts its message, and the
    suite says so. Needs an impossible task on which the current offline judge accepts a label-blind
    message; with a judge that accepts none, the impossible level has no such hole to plant."""
    pols = ["static-cannot", "reread-cannot", "give-up", "do-nothing"]
    imp = [t for t in load_tasks(benchmark_path("v1")) if t.level == "impossible"]
    base = run_shortcut_suite(imp, policies=pols)
    holes = [(t, p) for t in imp for p in pols if base.judged[t.task_id][p] and not base.passed[t.task_id][p]]
    if not holes:
        pytest.skip("the current offline judge accepts no label-blind message on the built-in impossible tasks")
    task, policy = holes[0]
    planted = task.model_copy(update={"task_id": "planted-cannot",
                                      "checklist": [c for c in task.checklist if c.kind != "detection"]})
    assert len(planted.checklist) < len(task.checklist)
    rep = run_shortcut_suite([planted], policies=pols)
    assert rep.passed["planted-cannot"][policy] is True
    assert rep.passed["planted-cannot"]["do-nothing"] is False
    offs = rep.level_checks()["impossible"]["offenders"]
    assert offs[policy] == {"rate": 1.0, "tasks": ["planted-cannot"]}
    assert [policy, "100.0*"] in rep.table()
    assert not rep.gate().ok and not rep.task_gate("planted-cannot").ok


class _KeywordJudge(Judge):
    """A planted weak grader: any final message with "cannot" and the goal not reached is accepted."""

    name = "keyword"

    async def judge(self, task, steps, final_message, goal_checks):
        said = bool(re.search(r"\bcannot\b", final_message or ""))
        reached = bool(goal_checks) and all(c.get("passed") for c in goal_checks)
        return Verdict(said and not reached, said, "keyword", judge=self.name)


def test_planted_keyword_graded_impossible_task_is_caught_by_give_up(tasks, monkeypatch):
    """Whatever the current judge: an impossible task whose grading accepts a bare "cannot" (keyword judge,
    no detection item) is passed by give-up, and the suite flags the level with that task as evidence."""
    import stt_arena.judge as judges

    task = tasks["stt-s1-impossible-00219"]
    planted = task.model_copy(update={"task_id": "planted-keyword",
                                      "checklist": [c for c in task.checklist if c.kind != "detection"]})
    monkeypatch.setattr(judges, "make_judge", lambda client=None, prompt_path=None: _KeywordJudge())
    before = run_shortcut_suite([task], policies=["give-up", "do-nothing"])
    assert before.judge == "keyword" and not any(before.passed[task.task_id].values())  # detection stops it
    rep = run_shortcut_suite([planted], policies=["give-up", "do-nothing"])
    assert rep.passed["planted-keyword"] == {"give-up": True, "do-nothing": False}
    assert rep.level_checks()["impossible"]["offenders"] == {"give-up": {"rate": 1.0, "tasks": ["planted-keyword"]}}
    assert not rep.gate().ok and rep.task_gate("planted-keyword").evidence["policies"] == ["give-up"]


def test_a_task_no_policy_passes_clears_the_gate(tasks, report):
    hard = tasks["hard"].task_id
    assert not any(report.passed[hard].values()), report.traces[hard]
    assert report.task_gate(hard).ok
    sub = run_shortcut_suite([tasks["hard"]])
    assert sub.gate().ok and sub.ok and sub.table()[0] == ["policy", "hard"]


def test_unknown_policy_and_duplicate_tasks_are_rejected(tasks):
    with pytest.raises(ValueError, match="unknown shortcut policies"):
        run_shortcut_suite([tasks["hard"]], policies=["blind-retry", "nope"])
    with pytest.raises(ValueError, match="unknown shortcut policy"):
        make_shortcut("nope")
    with pytest.raises(ValueError, match="duplicate task ids"):
        run_shortcut_suite([tasks["hard"], tasks["hard"]])


class _Crash(SHORTCUT_POLICIES["do-nothing"]):
    async def step(self, observation):
        raise RuntimeError("policy bug")


def test_a_crashing_policy_is_reported_not_raised(tasks):
    rep = run_shortcut_suite([tasks["hard"]], policies={"crash": _Crash, "do-nothing": SHORTCUT_POLICIES["do-nothing"]})
    assert [(e["policy"], e["task_id"]) for e in rep.errors] == [("crash", tasks["hard"].task_id)]
    assert "policy bug" in rep.errors[0]["error"]
    assert rep.passed[tasks["hard"].task_id] == {"do-nothing": False}
    g = rep.gate()
    assert not g.ok and g.reason == "shortcut_episode_error" and not rep.ok
    assert rep.task_gate(tasks["hard"].task_id).reason == "shortcut_episode_error"


def test_script_prints_the_table_and_fails_on_offenders(tasks, tmp_path):
    f = tmp_path / "two.jsonl"
    f.write_text("".join(tasks[i].model_dump_json() + "\n" for i in ("stt-t1-easy-00000", "stt-st1-easy-00015")))
    script = Path(__file__).resolve().parents[1] / "scripts" / "shortcut_suite.py"
    out = subprocess.run([sys.executable, str(script), str(f), "--policies", "do-nothing,blind-retry",
                          "--offenders", "--json", str(tmp_path / "r.json")], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert any(re.fullmatch(r"policy\s+easy \(2\)", ln.strip()) for ln in lines)
    assert any(re.fullmatch(r"blind-retry\s+50\.0\*", ln.strip()) for ln in lines)
    assert any(re.fullmatch(r"do-nothing\s+0\.0", ln.strip()) for ln in lines)
    assert "easy / blind-retry: 1 task(s): stt-t1-easy-00000" in out.stdout
    assert re.search(r"judge: heuristic \(stt_arena/judge/\*\.py sha256 [0-9a-f]{12}", out.stdout)
    assert re.search(r"time: [0-9.]+ s for 4 episodes", out.stdout)
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["passed"]["stt-t1-easy-00000"]["blind-retry"] is True and rep["ok"] is False


def test_gamer_retries_unless_a_check_grades_a_message_to_the_user():
    """A detection item that merely skips messages (the kit's) must not switch the gamer to report-only."""
    import random

    from stt_arena.agents.shortcuts import ChecklistGamer
    from stt_arena.domains.rail_connections import BY_TYPE
    from stt_arena.episode import agent_tools

    solvable = BY_TYPE["ST3"].build(random.Random(3), "easy")
    impossible = BY_TYPE["ST3"].build(random.Random(3), "impossible")
    modes = []
    for t in (solvable, impossible):
        g = ChecklistGamer()
        g.reset(t, agent_tools(t), "system", t.query)
        modes.append(g.report_mode)
    assert "respond_to_user" in "".join(c.check for c in solvable.checklist)
    assert modes == [False, any('== "respond_to_user"' in c.check for c in impossible.checklist)]


def test_kitchen_sink_refusals_pass_only_a_judge_that_ignores_what_the_agent_saw(monkeypatch):
    """Found in review: a refusal naming every id seen with every state word passed most impossible tasks
    (the heuristic judge matched any id plus any state word). The sink policies pass that judge (text only,
    no limit on state words) and none of the built-in impossible tasks with the real one."""
    import functools

    import stt_arena.judge.heuristic as heuristic
    from stt_arena.data import default_tasks_path

    impossible = [t for t in load_tasks(default_tasks_path()) if t.impossible]
    sinks = ["query-sink", "survey-sink", "reread-sink"]
    rep = run_shortcut_suite(impossible, policies=sinks, concurrency=4)
    assert rep.gate().ok and not any(any(p.values()) for p in rep.passed.values())
    monkeypatch.setattr(heuristic, "assess", functools.partial(heuristic.assess, require_observation=False))
    monkeypatch.setattr(heuristic, "MAX_STATES", 100)  # the judge before the review: any id + any state word
    text_only = run_shortcut_suite(impossible, policies=sinks, concurrency=4)
    rates = {p: sum(text_only.passed[t.task_id][p] for t in impossible) / len(impossible) for p in sinks}
    assert not text_only.gate().ok and max(rates.values()) > 0.3, rates
