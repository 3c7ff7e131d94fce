"""The sandbox's asyncio path: native socket I/O, pipelined fork requests and messages, timeouts and
cancellation (the worker is killed), spare workers from the fork server, warm code caches."""
import asyncio

import pytest

from stt_arena.sandbox import runtime
from stt_arena.sandbox.executor import Executor
from stt_arena.sandbox.spec import episode_spec
from stt_arena.util.aio import within
from tests.helpers import attack_env, exits_soon, make_task

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)


@pytest.fixture(scope="module")
def ex():
    with Executor(call_timeout_s=2.0, limits={"cpu_seconds": 20, "memory_mb": 400}) as e:
        yield e


def test_async_episode_matches_sync(ex):
    task = make_task(init={"count": 2})

    async def play():
        ep = await ex.aopen(task)
        out = [await ep.acall("add", {"n": 3}), await ep.acall("get_count")]
        await ep.arecord_message("user", "hello")  # pipelined: no reply awaited
        await ep.arecord_message("respond_to_user", "done")
        checks = await ep.arun_checks([c.model_dump() for c in task.checklist])
        log, state = await ep.alog(), await ep.asnapshot()
        await ep.aclose()
        return out, checks, log, state, ep

    out, checks, log, state, ep = asyncio.run(play())
    sync = ex.open(task)
    try:
        assert [o["result"] for o in out] == [sync.call("add", {"n": 3})["result"], sync.call("get_count")["result"]]
    finally:
        sync.close()
    assert out[1]["result"]["data"]["count"] == 5 and state["count"] == 5
    assert checks == [{"id": "c", "passed": True, "error": None}]
    assert [e.get("tool") for e in log][-2:] == ["user", "respond_to_user"]  # messages logged in order
    assert not ep.alive and ep.death == "closed"


def test_messages_travel_with_the_next_request_and_reach_the_worker_first(ex):
    """A recorded message costs no round trip: it goes with the next request, and the worker logs it before
    that request's call runs (a trigger conditioned on it fires), on the async and the sync path alike."""
    heard = [{"id": "heard", "activation": {"tool": "add", "timing": "before"}, "condition": "called('user')",
              "effects": {"mutations": [{"state_path": "count", "old": 0, "new": 10}]}}]

    async def scenario(say: bool):
        ep = await ex.aopen(make_task(triggers=heard))
        if say:
            sent = ep._rid
            await ep.arecord_message("user", "hi")
            assert ep._rid == sent and ep._messages  # no frame of its own
        return ep, await ep.acall("add", {"n": 1})

    for say in (False, True):
        ep, r = asyncio.run(scenario(say))
        try:
            assert [e.get("trigger_id") for e in r["events"]] == (["heard"] if say else []), r
            assert not ep._messages and [e["tool"] for e in ep.log()] == ["user", "add"][0 if say else 1:]
            assert ep.snapshot()["count"] == (11 if say else 1)
        finally:
            ep.close()
    ep = ex.open(make_task(triggers=heard))
    try:
        ep.record_message("user", "hi")
        r = ep.call("add", {"n": 1})
        assert [e.get("trigger_id") for e in r["events"]] == ["heard"] and ep.snapshot()["count"] == 11, r
    finally:
        ep.close()


def test_many_pending_messages_never_get_a_call_refused(ex):
    """Messages ride with the next request; a long chat before a call (here 1.2 MB of them, past a call's
    1 MB cap on what the agent wrote) still goes, and the worker logs every one."""
    counted = [{"id": "talked", "activation": {"tool": "add", "timing": "before"},
                "condition": "count_calls('user') == 300",
                "effects": {"mutations": [{"state_path": "count", "old": 0, "new": 10}]}}]
    ep = ex.open(make_task(triggers=counted))
    try:
        for i in range(300):
            ep.record_message("user", f"{i:04d}" + "x" * 4000)
        r = ep.call("add", {"n": 1})
        assert r["result"]["success"] and [e.get("trigger_id") for e in r["events"]] == ["talked"], r
    finally:
        ep.close()


def test_async_timeout_kills_worker(ex):
    task = make_task(attack_env("while True:\n    pass"), "E")

    async def play():
        ep = await ex.aopen(task)
        r = await ep.acall("attack")
        return ep, r

    ep, r = asyncio.run(play())
    assert r["sandbox_error"] == "dead" and "timed out" in r["result"]["error"]
    assert not ep.alive and exits_soon(ep.pid, 1.0)
    assert asyncio.run(ep.acall("get_x"))["sandbox_error"] == "dead"  # later calls: an error, no hang


def test_cancelled_call_kills_worker(ex):
    task = make_task(attack_env("while True:\n    pass"), "E")

    async def play():
        ep = await ex.aopen(task)
        with pytest.raises(asyncio.TimeoutError):
            await within(ep.acall("attack"), 0.3)  # the caller gives up before the sandbox timeout
        return ep

    ep = asyncio.run(play())
    assert not ep.alive and "cancelled" in ep.death and exits_soon(ep.pid, 1.0)


def test_many_concurrent_opens_are_pipelined(ex):
    async def burst(n):
        eps = await asyncio.gather(*(ex.aopen(make_task(init={"count": i})) for i in range(n)))
        counts = await asyncio.gather(*(ep.acall("get_count") for ep in eps))
        for ep in eps:
            await ep.aclose()
        return eps, [c["result"]["data"]["count"] for c in counts]

    eps, counts = asyncio.run(burst(40))
    assert counts == list(range(40))  # every episode got its own worker and its own state
    assert len({ep.pid for ep in eps}) == 40
    assert not ex._pipeline and not ex._pipe_users and not ex._lock.locked()  # control socket handed back
    ep = ex.open(make_task())  # and the thread path still works afterwards
    try:
        assert ep.call("get_count")["result"]["success"]
    finally:
        ep.close()


def test_spare_workers_are_sandboxed_too(ex):
    """After the first requests the fork server hands out pre-forked spares: same limits."""
    task = make_task(attack_env("x = [0] * (200 * 1000 * 1000)\nreturn len(x)"), "E")  # 1.6 GB > 400 MB
    for _ in range(12):  # more than the spare pool
        ep = ex.open(task)
        try:
            r = ep.call("attack")["result"]
            assert r["success"] is False and "memory" in r["error"].lower(), r
        finally:
            ep.close()


def test_vetted_code_is_queued_once_for_the_fork_server():
    with Executor() as e:
        task = make_task()
        for _ in range(3):
            ep = e.open(task)
            ep.run_checks([c.model_dump() for c in task.checklist])
            ep.close()
        assert len(e._warm_sent) == 1  # the env source, once; graded checks never (a task's answer key)
        assert not any("checks" in it for it in e._warm_queue)
        queued = list(e._warm_queue)
        for _ in range(2):
            e._vetted({"env": ["x" * (200 << 10), "E"]})
        assert e._warm_queue == queued  # too large to pre-compile: never queued


def test_warm_fills_the_caches_and_ignores_bad_code():
    task = make_task()
    runtime._vetted_env.cache_clear()
    runtime.warm([{"env": [task.environment.source, "CounterEnv"]}, {"env": ["import os", "X"]},
                  {"env": ["not python (", "X"]}])
    assert runtime._vetted_env.cache_info().currsize == 1
    before = runtime._vetted_env.cache_info().hits
    runtime.EnvRuntime({"source": task.environment.source, "class_name": "CounterEnv"})
    assert runtime._vetted_env.cache_info().hits == before + 1


def test_grade_is_checks_goals_and_state_in_one_call(ex):
    task = make_task(init={"count": 0})
    checklist = [c.model_dump() for c in task.checklist]
    goals = [{"id": "g", "check": "def g(state):\n    return state['count'] == 7"},
             {"id": "bad", "check": "def b(state):\n    return state['nope']"}]

    async def play():
        ep = await ex.aopen(task)
        await ep.acall("add", {"n": 7})
        graded = await ep.agrade(checklist, goals)
        sync = ep.run_checks(checklist), ep.run_checks(goals), ep.snapshot()
        await ep.aclose()
        return graded, sync

    graded, (checks, goal_res, state) = asyncio.run(play())
    assert graded == {"checks": checks, "goals": goal_res, "state": state}
    assert graded["checks"][0]["passed"] and graded["goals"][0]["passed"]
    assert not graded["goals"][1]["passed"] and "KeyError" in graded["goals"][1]["error"]


def test_cancelled_opens_leave_no_worker_behind(ex):
    async def burst():
        tasks = [asyncio.ensure_future(ex.aopen(make_task())) for _ in range(12)]
        await asyncio.sleep(0)  # let them send their fork requests
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0.3)  # the replies arrive and are disposed of
        ep = await ex.aopen(make_task(init={"count": 4}))  # the control socket is still in step
        r = await ep.acall("get_count")
        await ep.aclose()
        return r

    assert asyncio.run(burst())["result"]["data"]["count"] == 4
    assert not ex._pipeline and not ex._pipe_users and not ex._lock.locked()


def test_bad_checks_fail_at_grading_and_never_reach_the_environment_worker(ex):
    good = "def ok(state):\n    return state['count'] >= 0"
    task = make_task(checklist=[{"id": "ok", "check": good},
                                {"id": "bad", "check": "import os\ndef f(state):\n    return True"}])
    assert "checks" not in episode_spec(task)  # the worker that runs environment code never sees check code
    ep = ex.open(task)
    try:
        res = {r["id"]: r for r in ep.grade([c.model_dump() for c in task.checklist], [])["checks"]}
    finally:
        ep.close()
    assert res["ok"]["passed"] and not res["bad"]["passed"] and "os" in res["bad"]["error"]
