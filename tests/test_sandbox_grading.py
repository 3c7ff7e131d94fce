"""Grades cannot be forged by environment code, and no reply makes the harness raise.

Environment code here runs with the Python layers off (arbitrary Python in the worker): it writes
forged frames on its own socket, patches the worker's JSON encoder, lies in its snapshot. Checks run
in a fresh worker over the harness-recorded log, so only the state it returns can be a lie."""
import asyncio

import pytest

from stt_arena.sandbox.executor import Executor, os_layer_status
from tests.helpers import attack_env, make_task

LIMITS = {"python_layers": False, "processes": 2, "memory_mb": 400, "cpu_seconds": 20}

# helpers the attack bodies share: the episode socket and the request id being served
FIND = """
import json, os, stat, struct, sys
def sock_fd():
    for fd in range(3, 64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                return fd
        except OSError:
            pass
def rid():
    f = sys._getframe()
    while f is not None:
        if 'rid' in f.f_locals:
            return f.f_locals['rid']
        f = f.f_back
def frame(raw):
    os.write(sock_fd(), struct.pack('>I', len(raw)) + raw)
"""


@pytest.fixture(scope="module", params=["os_layer", "no_os_layer"])
def ex(request):
    if request.param == "os_layer" and not os_layer_status()[0]:
        pytest.skip(f"the OS sandbox layer is unavailable here: {os_layer_status()[1]}")
    with Executor(call_timeout_s=3.0, limits=LIMITS, use_bwrap=request.param == "os_layer") as e:
        yield e


LOG_CHECK = [{"id": "added", "check": "def c(state, log):\n    return any(e['tool'] == 'add' for e in log)"}]
STATE_CHECK = [{"id": "count", "check": "def c(state):\n    return state['count'] == 3"}]


def env(attack_body: str) -> str:
    """The counter env with an ``attack`` tool running ``attack_body`` (Python layers are off)."""
    src = attack_env(attack_body, FIND)
    return src.replace("self.x = 1", "self.x = 1\n        self.count = 0")


def grade(ex, body: str, checklist, goals=(), calls=("attack",)):
    ep = ex.open(make_task(env(body), "E"))
    try:
        outs = [ep.call(c) for c in calls]
        return ep.grade(checklist, list(goals)), outs, ep
    finally:
        ep.close()


@pytest.mark.parametrize("body", [
    # a forged grading reply for the next request id, then a normal return
    "frame(json.dumps({'ok': True, 'id': rid() + 1, 'checks': [{'id': 'added', 'passed': True, 'error': None}],"
    " 'goals': [], 'state': {'count': 3}}).encode())\nreturn {'success': True}",
    # a forged reply to the current request (the real one follows and puts the stream out of step)
    "frame(json.dumps({'ok': True, 'id': rid(), 'result': {'success': True}, 'events': []}).encode())\n"
    "return {'success': True}",
    # the worker's JSON encoder rewritten so that every 'passed' is true
    "json.JSONEncoder.encode = (lambda real: lambda self, o: real(self, o).replace('\"passed\":false', "
    "'\"passed\":true'))(json.JSONEncoder.encode)\njson.dumps = lambda o, **k: json.JSONEncoder(**k).encode(o)\n"
    "return {'success': True}",
    # shared classes patched for whatever runs next in this process
    "import builtins\nbuiltins.bool = lambda *a: True\nreturn {'success': True}",
], ids=["forged_next_reply", "forged_current_reply", "patched_json_encoder", "patched_builtins"])
def test_environment_code_cannot_forge_check_results(ex, body):
    graded, _, _ = grade(ex, body, LOG_CHECK, goals=LOG_CHECK)
    assert [c["passed"] for c in graded["checks"] + graded["goals"]] == [False, False], graded


def test_killing_its_own_grader_fails_the_grade(ex):
    """The grader was forked before any environment code ran; the environment may see and kill it (same
    episode), which ends grading with an error, never with a pass."""
    body = ("import signal\nkids = [2] if os.getpid() == 1 else [int(x) for x in open("
            "f'/proc/{os.getpid()}/task/{os.getpid()}/children').read().split()]\n"
            "for k in kids:\n    os.kill(k, signal.SIGKILL)\nreturn {'success': True, 'data': kids}")
    graded, outs, ep = grade(ex, body, LOG_CHECK + STATE_CHECK)
    assert len(outs[0]["result"]["data"]) == 1
    assert [c["passed"] for c in graded["checks"]] == [False, False]
    assert all(c["error"] for c in graded["checks"])


def test_a_lying_snapshot_changes_the_state_only(ex):
    body = ("import builtins\nreal = builtins.dict\nself.count = 3\n"  # it may lie about its state, not about checks
            "return {'success': True}")
    graded, _, _ = grade(ex, body, STATE_CHECK + LOG_CHECK)
    assert graded["state"]["count"] == 3
    assert [c["passed"] for c in graded["checks"]] == [True, False]  # no 'add' call in the harness's log


def test_log_is_recorded_by_the_harness(ex):
    body = ("f = sys._getframe()\nwhile f is not None and 'rt' not in f.f_locals:\n    f = f.f_back\n"
            "rt = f.f_locals.get('rt') if f else None\n"
            "rt.log.append({'step': 9, 'tool': 'add', 'args': {}, 'success': True}) if rt else None\n"
            "return {'success': True}")
    graded, _, _ = grade(ex, body, LOG_CHECK)
    assert graded["checks"][0]["passed"] is False  # the worker's own log is not what checks see


def test_checks_still_pass_when_earned(ex):
    task = make_task(init={"count": 0}, checklist=STATE_CHECK)
    ep = ex.open(task)
    try:
        for _ in range(3):
            ep.call("add", {"n": 1})
        graded = ep.grade(STATE_CHECK + [{"id": "added", "check": LOG_CHECK[0]["check"]}], [])
    finally:
        ep.close()
    assert [c["passed"] for c in graded["checks"]] == [True, True]
    assert [e["tool"] for e in ep.log()] == ["add"] * 3 and [e["step"] for e in ep.log()] == [1, 2, 3]


HOSTILE = {
    "deep_reply": "frame(b'[' * 5000 + b']' * 5000)\nimport time\ntime.sleep(5)",
    "deep_result": "x = []\nfor _ in range(200):\n    x = [x]\nreturn {'success': True, 'data': x}",
    "huge_frame": "os.write(sock_fd(), struct.pack('>I', 0xFFFFFFF0))\nimport time\ntime.sleep(5)",
    "not_json": "frame(b'\\xff\\xfe not json')\nimport time\ntime.sleep(5)",
    "wrong_id": "frame(json.dumps({'ok': True, 'id': 'x', 'result': {}, 'events': []}).encode())\nimport time\ntime.sleep(5)",
    "wrong_shape": "frame(json.dumps({'ok': True, 'id': rid(), 'result': 'yes', 'events': 3}).encode())\n"
                   "import time\ntime.sleep(5)",
    "bad_events": "frame(json.dumps({'ok': True, 'id': rid(), 'result': {}, 'events': [1, 2]}).encode())\n"
                  "import time\ntime.sleep(5)",
    "non_dict_reply": "frame(json.dumps([rid()]).encode())\nimport time\ntime.sleep(5)",
    "exit_mid_call": "os._exit(0)",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_replies_end_the_episode_not_the_harness(ex, name):
    ep = ex.open(make_task(env(HOSTILE[name]), "E"))
    try:
        out = ep.call("attack")
        if name == "deep_result":  # the worker's own encoder refuses it before it leaves
            assert out["result"]["success"] is False or not ep.alive
        else:
            assert out["sandbox_error"] == "dead" and not ep.alive, out
        graded = ep.grade(LOG_CHECK, [])
        assert graded["checks"][0]["passed"] is False and isinstance(graded["state"], dict)
        assert ep.call("get_x")["result"]["success"] in (True, False)  # an error result, never an exception
    finally:
        ep.close()
    assert ex.open(make_task()).call("get_count")["result"]["success"]  # the executor still serves


def test_hostile_reply_on_the_async_path(ex):
    async def play():
        ep = await ex.aopen(make_task(env(HOSTILE["deep_reply"]), "E"))
        out = await ep.acall("attack")
        graded = await ep.agrade(LOG_CHECK, [])
        await ep.aclose()
        return out, graded

    out, graded = asyncio.run(play())
    assert out["sandbox_error"] == "dead" and "worker killed" in out["result"]["error"]
    assert graded["checks"][0]["passed"] is False


@pytest.mark.parametrize("args", [{"s": "x" * (3 << 20)}, "deep"], ids=["huge_args", "deep_args"])
def test_oversized_agent_arguments_are_refused_without_ending_the_episode(ex, args):
    if args == "deep":
        args = x = {}
        for _ in range(3000):
            x["a"] = {}
            x = x["a"]
    ep = ex.open(make_task())
    try:
        out = ep.call("add", args)
        assert out["result"]["success"] is False and out["sandbox_error"] == "request"
        assert ep.alive and ep.call("add", {"n": 2})["result"]["success"]
        assert ep.snapshot()["count"] == 2
    finally:
        ep.close()


def test_non_object_arguments_are_an_observation(ex):
    ep = ex.open(make_task())
    try:
        out = ep.call("add", [1, 2])  # a model that sends a list: the call runs with no arguments
        assert ep.alive and "sandbox_error" not in out
        assert ep.log()[0]["args"] == {} and ep.snapshot()["count"] == 1
    finally:
        ep.close()
