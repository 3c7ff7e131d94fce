"""The domain kit (stt_arena/domains/kit.py), exercised on real rail_connections tasks in the sandbox."""
import random

import pytest

from stt_arena.domains import kit
from stt_arena.domains.rail_connections import BY_TYPE, _World
from stt_arena.benchmark.gates.explore import strip_triggers
from stt_arena.benchmark.gates.play import play
from stt_arena.generator.family import step
from stt_arena.benchmark.validity import open_local


def _task(ctype="ST3", level="easy", seed=3):
    fam = BY_TYPE[ctype]
    t = fam.build(random.Random(seed), level)
    W = _World(random.Random(seed), {"ST3": 1, "ST2": 2, "S3": 3}[ctype])  # the same world, for its ids
    return t, W


def _book(W, legs):
    return step("book_journey", passenger_id=W.PX, first_service_id=legs[0],
                second_service_id=legs[1] if len(legs) > 1 else "")


def test_world_trigger_guards_and_no_argument_binding():
    t = kit.world_trigger("s", [("services.IC-1.delay_min", 0, 30)], timing="after", on_writes=("book",),
                          succeeded=True)
    assert "get('services.IC-1.delay_min') == 0" in t.condition and "tool in ('book',)" in t.condition
    assert "result.get('success')" in t.condition and "args" not in t.condition
    assert t.activation.tool == "*"
    with pytest.raises(ValueError):
        kit.world_trigger("s", [("a.b", 0, 1)], timing="before", succeeded=True)
    timed = kit.world_trigger("w", [("slots.S-1.status", "free", "closed")], when="minutes >= 20")
    assert timed.condition == "get('slots.S-1.status') == 'free' and (minutes >= 20)"


def test_profile_constraints_and_query_templates():
    p = kit.profile(goal="g", persona="p", known={}, withheld={"seat": "window"},
                    refusals=[("never the ferry FY-1", ["FY-1"])])
    assert p.constraints[0].forbid_ids == ["FY-1"] and p.refusals == ["never the ferry FY-1"]
    with pytest.raises(ValueError):
        kit.profile(goal="g", persona="p", known={}, withheld={"seat": "w"}, refusals=[("no boats", [])])
    with pytest.raises(ValueError):
        kit.profile(goal="g", persona="p", known={}, withheld={})
    with pytest.raises(ValueError):
        kit.pick_query(random.Random(0), ["a", "b"])
    assert kit.hm("2026-03-02T10:05:00") == "10:05" and kit.minutes_between("2026-03-02T10:05:00",
                                                                              "2026-03-02T11:00:00") == 55


def test_preference_goal_rejects_some_valid_journey_and_refused_one():
    t, W = _task("ST3", "easy")
    assert play(t, t.plans.oracle, open_local).passed
    # after the delay, the later connection from the same hub works but is not the earliest arrival
    fail = [step("get_passenger", "observe", passenger_id=W.PX), _book(W, (W.a, W.b))]
    later = play(t, fail + [_book(W, (W.a, W.c))], open_local)
    assert later.calls[-1]["result"]["success"] and not later.checks["goal"]
    refused = play(t, fail + [_book(W, (W.R,))], open_local)
    assert refused.calls[-1]["result"]["success"] and not refused.checks["goal"]
    # without the shift the planned journey is the user's choice (not an answer key)
    assert play(strip_triggers(t), t.plans.normal, open_local).checks["goal"]


def test_detection_accepts_any_read_that_observes_the_entity():
    t, W = _task("ST3", "easy")
    tried = [step("get_passenger", "observe", passenger_id=W.PX), _book(W, (W.a, W.b))]
    for read, ok in [(step("check_connection", first_service_id=W.a, second_service_id=W.b), True),
                     (step("get_departures", station_id=W.H1), True),
                     (step("search_services", origin=W.X), False),
                     (step("get_station", station_id=W.D), False)]:
        p = play(t, tried + [read, _book(W, W.best)], open_local)
        assert p.checks["detect"] is ok, read
    # a path that never meets the shift owes no detection
    assert play(strip_triggers(t), t.plans.normal, open_local).checks["detect"]


def test_impossible_detection_requires_the_shift():
    t, W = _task("S3", "impossible")
    assert play(t, t.plans.oracle, open_local).passed
    idle = play(t, [step("get_passenger", "observe", passenger_id=W.PX),
                    step("respond_to_user", "message", content="I cannot book this.")], open_local)
    assert not idle.checks["detect"]
    # the deadline that makes it impossible is withheld: the oracle asks for it before its first write
    methods = [s.method for s in t.plans.oracle]
    assert methods.index("chat_with_user") < methods.index("book_journey")


def test_goal_rejects_a_refused_action_undone_later():
    from stt_arena.domains.field_service import BY_TYPE as FS, _World as FW

    t = FS["ST1"].build(random.Random(5), "hard")
    W = FW(random.Random(5), 2)
    assert play(t, t.plans.oracle, open_local).passed
    detour = play(t, [step("dispatch", job_id=W.J, technician_id=W.R), step("get_visit", visit_id=W.vid()),
                      step("reassign_visit", visit_id=W.vid(), technician_id=W.B)], open_local)
    assert detour.calls[-1]["result"]["success"] and not detour.checks["goal"]
    clean = play(t, [step("dispatch", job_id=W.J, technician_id=W.B)], open_local)
    assert clean.checks["goal"]  # B is the cheapest that still fits once P is away, reached without the shift


def test_env_functions_share_the_env_rule_with_the_checklist():
    src = kit.env_functions("rail_connections", "live_min", "legs_problem")
    ns: dict = {}
    exec(src, ns)  # the same text the env class calls and the goal item embeds
    svc = {"A": {"origin": "X", "destination": "H", "dep": "2026-01-01T09:00:00", "arr": "2026-01-01T10:00:00",
                 "delay_min": 0, "status": "scheduled", "seats_free": 1},
           "B": {"origin": "H", "destination": "Y", "dep": "2026-01-01T10:05:00", "arr": "2026-01-01T11:00:00",
                 "delay_min": 0, "status": "scheduled", "seats_free": 0}}
    st = {k: {"status": "open", "min_transfer_min": 8} for k in "XHY"}
    assert "minimum connection time 8 min" in ns["legs_problem"](st, svc, ["A", "B"], ["B"])
    assert ns["legs_problem"](st, svc, ["A"]) is None and "no free seats" in ns["legs_problem"](st, svc, ["B"])
    t, _ = _task("ST2", "medium")
    assert "def legs_problem" in t.checklist[0].check
    with pytest.raises(KeyError):
        kit.env_functions("rail_connections", "no_such_rule")


def test_shared_env_module_is_inlined_and_vetted_with_the_env():
    """envs/_shared.py: inlined into the env text (self-contained, passes the guard), used by the builder
    and copied into checks; a planted unsafe shared text is rejected by the same guard."""
    from stt_arena.domains.envs import _shared
    from stt_arena.data import env_source, inline_shared
    from stt_arena.sandbox.guard import check_source

    src = env_source("field_service")
    assert not any(ln.startswith("from ._shared") for ln in src.splitlines()) and "def arrival_min(" in src and "class FieldServiceEnv" in src
    check_source(src, "environment code")
    assert "def iso_min(" in kit.env_functions("field_service", "iso_min", "visit_problem")
    chk = kit.env_functions("field_service", "iso_add") + "def check(state, log):\n    return iso_add(state, 5)\n"
    check_source(chk, "check function")  # the env's imports come along (iso_add needs datetime)
    ns: dict = {}
    exec(compile(chk, "<check>", "exec"), ns)
    assert ns["check"]("2026-03-02T10:00:00", []) == "2026-03-02T10:05:00"
    assert _shared.arrival_min("2026-03-02T09:10:00", 30, "2026-03-02T09:20:00") == 9 * 60 + 40
    assert _shared.travel_min({"A": {"B": 7}}, "B", "A") == 7 and _shared.travel_min({}, "A", "A") == 0
    assert _shared.overlaps("2026-03-02T09:00:00", "2026-03-02T10:00:00", "2026-03-02T10:05:00",
                            "2026-03-02T11:00:00", gap=10)
    bad = inline_shared("from ._shared import *  # inlined\nclass E:\n    pass\n",
                        "import os\ndef f():\n    return os.system('id')\n")
    with pytest.raises(Exception, match="os"):
        check_source(bad, "environment code")
    task = BY_TYPE["ST3"].build(random.Random(5), "easy")
    assert task.environment.source == env_source("rail_connections")


def test_cascade_chains_world_triggers_each_after_the_previous():
    first = kit.world_trigger("outage", [("hubs.H1.status", "open", "down")], on_writes=("book",))
    chain = kit.cascade(first, [("overload", [("hubs.H2.load", 40, 95)]), ("trip", [("hubs.H2.status", "open", "down")])])
    assert [t.id for t in chain] == ["outage", "overload", "trip"]
    assert [t.after_triggers for t in chain] == [[], ["outage"], ["overload"]]
    assert all(t.delay_calls == 1 and t.activation.tool == "*" and "args" not in t.condition for t in chain[1:])
    assert "get('hubs.H2.load') == 40" in chain[1].condition  # old-value guard: never lands on a changed field


def test_every_domain_lists_all_its_writes_for_its_triggers():
    """A write tool missing from a family's WRITES would let that write walk past an on_writes shift."""
    import importlib

    from stt_arena.domains import all_families
    checked = 0
    for d in sorted({f.domain for f in all_families()}):
        mod = importlib.import_module(f"stt_arena.domains.{d}")
        if hasattr(mod, "WRITES") and hasattr(mod, "CLASS"):
            assert set(mod.WRITES) == set(kit.writes(d, mod.CLASS)), d
            checked += 1
    assert checked >= 8  # every kit-built domain (and the older ones that declare WRITES)
    assert "book_journey" in kit.writes("rail_connections", "RailConnectionsEnv")
