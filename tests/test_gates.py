"""Validity gates I6-I9, BIND, LEVEL, ASK: each rejects a deliberately broken task and passes a correct one."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stt_arena.benchmark.gates.explore import search, strip_triggers
from stt_arena.benchmark.gates.gates import level_features, Ctx
from stt_arena.benchmark.gates.run import run_task_gates
from stt_arena.benchmark.validation import parse_gates, validate_task
from stt_arena.benchmark.validity import check_task, open_local
from tests.fixtures import gate_tasks as G

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)


def gates(task, names=None, **kw):
    return run_task_gates(task, open_local, names, **kw)


@pytest.mark.parametrize("make", [lambda: G.task(G.base()), lambda: G.task(G.impossible()),
                                  lambda: G.withheld_not_asked(asked=True)])
def test_correct_tasks_pass_every_gate(make):
    t = make()
    assert check_task(t).valid
    res = gates(t)
    assert all(r.ok for r in res.values()), {k: (r.reason, r.detail) for k, r in res.items() if not r.ok}


@pytest.mark.parametrize("make, gate, reason", [
    (G.answer_key, "I8", "answer_key"),
    (G.avoidance_rejected, "I8", "avoidance_rejected"),
    (G.solvable_impossible, "I7", "solvable_by_search"),
    (G.act_before_trigger, "I7", "solvable_by_search"),
    (G.decorative_trigger, "I9", "decorative_trigger"),
    (G.forbidden_answer, "I6", "oracle_violates_profile"),
    (G.arg_bound_trigger, "BIND", "entity_touched_before_trigger"),
    (G.tool_bound_world_trigger, "BIND", "entity_touched_before_trigger"),
    (G.solvable_impossible, "BIND", "entity_touched_before_trigger"),
    (G.mislabelled_level, "LEVEL", "measured_easy"),
    (G.withheld_not_asked, "ASK", "withheld_not_asked"),
])
def test_planted_defect_is_rejected_with_its_reason_code(make, gate, reason):
    t = make()
    r = gates(t, [gate])[gate]
    assert not r.ok and r.reason == reason, (r.reason, r.detail)
    assert r.detail


def test_solvable_impossible_evidence_replays_to_the_goal():
    t = G.solvable_impossible()
    r = gates(t, ["I7"])["I7"]
    from stt_arena.benchmark.gates.play import play
    p = play(t, r.evidence["steps"], open_local)
    assert p.goal_reached  # the evidence is a real sequence reaching the "impossible" goal
    assert r.stats["with_triggers"]["sequences"] > 0


def test_a_trigger_that_only_closes_an_untried_way_still_matters_for_impossible_tasks():
    t = G.impossible_with_blocking_second_trigger()
    assert gates(t, ["I9"])["I9"].ok
    assert gates(t, ["I7"])["I7"].ok


def test_search_is_not_blind_and_blind_search_is_reported():
    t = G.task(G.impossible())
    goals = [c.model_dump() for c in t.infeasible_goal]
    assert not search(t, goals, budget=2000).hits          # impossible with the trigger
    assert search(strip_triggers(t), goals, budget=2000).hits  # reachable without it
    # an infeasible goal no sequence can reach even without triggers: impossibility is not certified
    d = G.impossible(task_id="bad-unreachable")
    d["infeasible_goal"] = [{"id": "goal", "kind": "goal", "check": "def check(state, log):\n    return False\n"}]
    r = gates(G.task(d), ["I7"])["I7"]
    assert not r.ok and r.reason == "search_blind"


def test_search_finds_ids_created_during_the_episode():
    # rescheduling needs the booking id that only a successful book returns
    t = G.solvable_impossible()
    res = search(t, [c.model_dump() for c in t.infeasible_goal], budget=3000, max_hits=1)
    assert res.hits and any(a.tool == "reschedule" for a in res.hits[0].path)


def test_avoidance_on_the_preferred_path_is_accepted():
    # the correct task's goal encodes the preference (earliest C-A slot): booking S-2 directly is not a
    # valid solution, so the gate must not demand that detection accepts it
    r = gates(G.task(G.base()), ["I8"])["I8"]
    assert r.ok


def test_level_features_are_measured_from_the_oracle_trace():
    f = level_features(Ctx(G.task(G.base()), open_local))
    assert f == {"fired": 1, "observability": "explicit", "corrective_writes": 1, "cascade": False,
                 "replanning_steps": 3}


def test_gates_run_in_the_sandbox_for_untrusted_tasks():
    from stt_arena.sandbox.executor import Executor
    from stt_arena.benchmark.gates.gates import Budget
    with Executor() as ex:
        r = run_task_gates(G.solvable_impossible(), ex.open, ["I7"], trusted=False, budget=Budget(400, 3))
    assert not r["I7"].ok and r["I7"].reason == "solvable_by_search"


def test_a_crashing_gate_is_a_failure_not_an_exception():
    d = G.base(task_id="bad-env")
    d["environment"] = dict(d["environment"], init_config={})  # __init__ raises KeyError
    r = gates(G.task(d), ["I6"])["I6"]
    assert not r.ok and r.reason == "gate_error"


def test_parse_gates():
    assert parse_gates("all")[:5] == ["I1", "I2", "I3", "I4", "I5"]
    assert parse_gates("i7,I1-I5") == ["I1", "I2", "I3", "I4", "I5", "I7"]
    with pytest.raises(ValueError, match="unknown gate"):
        parse_gates("I99")


def test_validate_task_combines_invariants_and_gates():
    rep = validate_task(G.mislabelled_level(), open_local, ["I1", "I4", "LEVEL"])
    assert rep.validity.results["I1"] and not rep.valid
    assert rep.reason("LEVEL") == "measured_easy"


def test_cli_validate_gates_table_and_json(tmp_path):
    from stt_arena.task.io import save_tasks
    f = tmp_path / "t.jsonl"
    save_tasks([G.task(G.base()), G.solvable_impossible()], f)
    out = tmp_path / "g.jsonl"
    p = subprocess.run([sys.executable, "-m", "stt_arena", "validate", str(f), "--gates", "I1-I5,I7,I9",
                        "--budget", "400", "--json", str(out), "--workers", "1"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "solvable_by_search 1" in p.stdout
    rows = {json.loads(x)["task_id"]: json.loads(x) for x in out.read_text().splitlines()}
    assert rows["gate-ok"]["valid"] and not rows["bad-solvable-impossible"]["valid"]
    assert rows["bad-solvable-impossible"]["gates"]["I7"]["evidence"]["steps"]
    bad = subprocess.run([sys.executable, "-m", "stt_arena", "validate", str(f), "--gates", "I42"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown gate" in (bad.stdout + bad.stderr)


def test_refusal_parsing_keeps_the_ids_a_refusal_protects():
    from stt_arena.task.profile import forbidden_in
    ids = {"C-1", "C-2", "D27", "BCP-68"}
    assert forbidden_in("dispatching C-2 in place of C-1", ids, refusal=True) == ["C-2"]
    assert forbidden_in("picking up at a depot other than D27", ids, refusal=True) == []
    assert forbidden_in("Our insurance excludes BCP-68; never route through it.", ids, refusal=False) == ["BCP-68"]
    assert forbidden_in("The truck is at BCP-68.", ids, refusal=False) == []  # a fact without a negation
