"""Trigger semantics, the simulated clock, determinism and paper-style in-code triggers."""
import pytest

from stt_arena.benchmark.replay import replay
from stt_arena.sandbox.executor import Executor
from stt_arena.sandbox.local import LocalEpisode
from stt_arena.sandbox.spec import episode_spec
from tests.helpers import make_task


def local(task):
    return LocalEpisode(episode_spec(task))


@pytest.fixture(scope="module")
def ex():
    with Executor() as e:
        yield e


def trig(id="t", tool="add", timing="before", **kw):
    eff = kw.pop("effects", {"mutations": [{"state_path": "mode", "old": "normal", "new": "locked"}]})
    return {"id": id, "activation": {"tool": tool, "timing": timing}, "effects": eff, **kw}


@pytest.mark.parametrize("sandboxed", [False, True])
def test_before_timing_changes_what_the_call_sees(ex, sandboxed):
    task = make_task(triggers=[trig(timing="before")])
    ep = ex.open(task) if sandboxed else local(task)
    out = ep.call("add", {"n": 1})
    assert out["result"] == {"success": False, "error": "counter locked"}
    assert out["events"][0]["trigger_id"] == "t" and out["events"][0]["step"] == 1
    assert out["events"][0]["mutations"] == [{"state_path": "mode", "old": "normal", "new": "locked"}]
    ep.close()


def test_after_timing_is_a_silent_change():
    ep = local(make_task(triggers=[trig(timing="after")]))
    out = ep.call("add", {"n": 1})
    assert out["result"]["success"] is True and out["events"][0]["trigger_id"] == "t"
    assert ep.snapshot()["mode"] == "locked" and ep.snapshot()["count"] == 1


def test_always_once_fires_once():
    t = trig(effects={"mutations": [{"state_path": "count", "old": 0, "new": 10}]})
    ep = local(make_task(triggers=[t]))
    assert ep.call("add", {"n": 1})["events"]
    assert ep.call("add", {"n": 1})["events"] == []
    assert ep.snapshot()["count"] == 12


def test_condition_on_args_and_state():
    t = trig(condition="args.get('n') == 5 and state['count'] >= 1")
    ep = local(make_task(triggers=[t]))
    assert ep.call("add", {"n": 5})["events"] == []  # count is 0 before this call
    assert ep.call("add", {"n": 1})["events"] == []  # wrong argument
    assert ep.call("add", {"n": 5})["events"][0]["trigger_id"] == "t"


def test_conditional_guarded_respects_recovery_guard():
    t = trig(tool="add", mode="conditional_guarded", recovery_guard="called('set_mode', mode='safe')",
             max_fires=2, effects={"advance_clock_minutes": 30})
    ep = local(make_task(triggers=[t]))
    ep.call("set_mode", {"mode": "safe"})
    assert ep.call("add", {})["events"] == []  # guard holds: the recovery already happened
    ep2 = local(make_task(triggers=[t]))
    assert ep2.call("add", {})["events"] and ep2.call("add", {})["events"]
    assert ep2.call("add", {})["events"] == []  # max_fires reached


def test_old_value_mismatch_is_a_task_error():
    t = trig(effects={"mutations": [{"state_path": "mode", "old": "eco", "new": "locked"}]})
    ep = local(make_task(triggers=[t]))
    out = ep.call("add", {})
    assert out["events"][0]["type"] == "task_error"
    assert "old-value mismatch at 'mode'" in out["events"][0]["error"]
    assert ep.snapshot()["mode"] == "normal"  # nothing applied
    assert out["result"]["success"] is True  # the agent's call proceeds; the task error is recorded
    assert ep.call("add", {})["events"] == []  # the failed trigger is dropped


def test_condition_errors_are_reported_once():
    t = trig(condition="state['missing'] > 1")
    ep = local(make_task(triggers=[t]))
    ev = ep.call("add", {})["events"]
    assert ev[0]["type"] == "condition_error" and "KeyError" in ev[0]["error"]
    assert ep.call("add", {})["events"] == []
    assert ep.log()[0]["events"] == ["condition_error"]  # never mistaken for the trigger firing


def test_missing_state_path_is_a_task_error():
    t = trig(effects={"mutations": [{"state_path": "items.X9.qty", "old": 1, "new": 0}]})
    out = local(make_task(triggers=[t])).call("add", {})
    assert out["events"][0]["type"] == "task_error" and "X9" in out["events"][0]["error"]


def test_tool_disable_and_enable():
    t1 = trig("off", tool="get_count", effects={"disable_tools": ["add"]})
    t2 = trig("on", tool="set_mode", after_triggers=["off"], effects={"enable_tools": ["add"]})
    ep = local(make_task(triggers=[t1, t2]))
    ep.call("get_count", {})
    assert ep.call("add", {})["result"]["error"] == "Tool 'add' is currently unavailable"
    assert [t for t in ep.list_tools() if t["name"] == "add"][0]["available"] is False
    ep.call("set_mode", {"mode": "normal"})
    assert ep.call("add", {})["result"]["success"] is True


def test_dependencies_and_delays_make_a_cascade():
    a = trig("hub1", tool="get_count", effects={"mutations": [{"state_path": "items.h1", "old": "up", "new": "down"}]})
    b = trig("hub2", tool="get_count", after_triggers=["hub1"], delay_calls=2,
             effects={"mutations": [{"state_path": "items.h2", "old": "up", "new": "down"}]})
    ep = local(make_task(triggers=[a, b], init={"items": {"h1": "up", "h2": "up"}}))
    # hub2 becomes eligible as soon as hub1 fired (same call) and lands 2 calls later
    assert [e["trigger_id"] for e in ep.call("get_count", {})["events"]] == ["hub1"]
    assert ep.call("get_count", {})["events"] == []
    assert ep.snapshot()["items"] == {"h1": "down", "h2": "up"}
    ev = ep.call("roll", {})["events"]
    assert ev[0]["trigger_id"] == "hub2" and ev[0]["activated_at"] == 1 and ev[0]["step"] == 3
    assert ep.snapshot()["items"]["h2"] == "down"


def test_unknown_tool_and_bad_arguments_are_observations():
    ep = local(make_task())
    assert ep.call("fly", {})["result"] == {"success": False, "error": "Unknown tool 'fly'"}
    assert "bad arguments for add" in ep.call("add", {"x": 1})["result"]["error"]


def test_simulated_clock_and_datetime_shim():
    task = make_task(env={"clock": {"start": "2026-05-01T23:58:00", "minutes_per_call": 2}})
    ep = local(task)
    assert ep.call("get_time", {})["result"]["data"] == {"now": "2026-05-01T23:58:00", "dt": "2026-05-01T23:58:00"}
    assert ep.call("get_time", {})["result"]["data"]["now"] == "2026-05-02T00:00:00"  # past midnight
    t = trig(tool="get_time", condition="now.hour == 0", effects={"advance_clock_minutes": 60})
    ep = local(make_task(triggers=[t], env={"clock": {"start": "2026-05-01T23:59:00", "minutes_per_call": 1}}))
    assert ep.call("get_time", {})["events"] == []
    assert ep.call("get_time", {})["events"][0]["trigger_id"] == "t"
    assert ep.call("get_time", {})["result"]["data"]["now"] == "2026-05-02T01:01:00"  # +1 call, +60 by the trigger, +1 call


@pytest.mark.parametrize("sandboxed", [False, True])
def test_determinism_same_seed_same_results(ex, sandboxed):
    def run(seed):
        task = make_task(env={"seed": seed})
        ep = ex.open(task) if sandboxed else local(task)
        vals = [ep.call("roll", {})["result"]["data"] for _ in range(5)]
        ep.close()
        return vals

    assert run(1) == run(1)
    assert run(1) != run(2)


PAPER_ENV = '''
class Depot:
    def __init__(self, init_config):
        self.vehicles = init_config["vehicles"]
        self._conflict_triggered = False

    def get_vehicle(self, vehicle_id: str) -> dict:
        return {"success": True, "data": self.vehicles[vehicle_id]}

    def reserve(self, vehicle_id: str) -> dict:
        if not self._conflict_triggered:
            self._conflict_triggered = True
            self.vehicles[vehicle_id]["depot"] = "D2"
        return {"success": True, "message": "reserved"}
'''


@pytest.mark.parametrize("sandboxed", [False, True])
def test_paper_style_in_code_trigger_is_logged(ex, sandboxed):
    task = make_task(PAPER_ENV, "Depot", init={"vehicles": {"V1": {"depot": "D1"}}},
                     checklist=[{"id": "c", "check": "def c(s):\n    return True"}])
    ep = ex.open(task) if sandboxed else local(task)
    out = ep.call("reserve", {"vehicle_id": "V1"})
    ev = out["events"][0]
    assert ev["type"] == "in_code_trigger" and ev["flag"] == "_conflict_triggered" and ev["step"] == 1
    assert ev["mutations"] == [{"state_path": "vehicles.V1.depot", "old": "D1", "new": "D2"}]
    assert ep.call("reserve", {"vehicle_id": "V1"})["events"] == []
    ep.close()


def test_checks_get_state_and_log_and_replay_grades():
    task = make_task(
        triggers=[trig(timing="after")],
        checklist=[{"id": "goal", "check": "def g(state):\n    return state['count'] == 1"},
                   {"id": "saw", "check": "def s(state, log):\n    return log[-1]['tool'] == 'get_count'"},
                   {"id": "broken", "check": "def b(state):\n    return state['nope']"}],
    )
    r = replay(task, [{"method": "add", "arguments": {"n": 1}}, {"method": "get_count"}], local)
    by = {c["id"]: c for c in r.checks}
    assert by["goal"]["passed"] and by["saw"]["passed"]
    assert not by["broken"]["passed"] and "KeyError" in by["broken"]["error"]
    assert r.fired == {"t"} and not r.passed and r.fraction == pytest.approx(2 / 3)


def test_bad_trigger_expression_rejected():
    from stt_arena.sandbox.guard import GuardError

    with pytest.raises(GuardError):
        local(make_task(triggers=[trig(condition="__import__('os')")]))
    with pytest.raises(GuardError):
        local(make_task(triggers=[trig(condition="state.__class__")]))


def test_compiled_expressions_are_memoised_and_refusals_are_not():
    from stt_arena.sandbox.guard import GuardError
    from stt_arena.sandbox.triggers import _COMPILED, compile_expr
    a = compile_expr("step > 2", "condition of memo-test")
    assert compile_expr(" step > 2 ", "condition of memo-test") is a  # the same text: compiled once
    assert compile_expr("step > 2", "condition of another") is not a  # error messages name their trigger
    for _ in range(2):
        with pytest.raises(GuardError):
            compile_expr("().__class__.__bases__", "condition of memo-bad")
    assert not any(k[1] == "condition of memo-bad" for k in _COMPILED)


def test_each_make_globals_has_its_own_clock_bound_shims():
    """The datetime/random shims are made per globals dict on first import: never shared between episodes."""
    import random

    from stt_arena.sandbox.safe_env import SimClock, make_globals
    c1, c2 = SimClock("2026-01-01T08:00:00"), SimClock("2030-05-05T10:00:00")
    g1, g2 = make_globals(c1, random.Random(1)), make_globals(c2, random.Random(1))
    imp1, imp2 = g1["__builtins__"]["__import__"], g2["__builtins__"]["__import__"]
    d1, d2 = imp1("datetime", fromlist=("datetime",)), imp2("datetime", fromlist=("datetime",))
    assert d1.datetime is not d2.datetime and imp1("datetime") is d1  # one shim per globals, made once
    assert d1.datetime.now().year == 2026 and d2.datetime.now().year == 2030
    d1.datetime.marker = 1  # a mutation stays in its own episode
    assert not hasattr(d2.datetime, "marker")
    r1, r2 = imp1("random"), imp2("random")
    assert r1 is not r2 and [r1.random() for _ in range(3)] == [r2.random() for _ in range(3)]
