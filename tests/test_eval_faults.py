"""Endpoint faults and model misbehaviour survived by the eval loop; kill -9 mid-run then --resume."""
import json
import os
import signal
import subprocess
import sys
import time

from stt_arena.eval.runner import run_eval
from stt_arena.llm.client import ModelConfig
from stt_arena.task.io import save_tasks
from stt_arena.testing.fake_openai import FakeOpenAIServer

from tests.helpers import exits_soon, proc_alive, proc_children

from .eval_helpers import cfg, clinic, examples
from .test_eval_openai import ORACLE_SCRIPT, call, run_fake
import pytest

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)


def test_malformed_body_timeout_and_drop_are_retried(tmp_path):
    faults = [{"garbage": "<html>502 Bad Gateway</html>"}, {"drop": True}, {"error": 500},
              {"delay": 2.0, "content": "late"}]
    with FakeOpenAIServer(faults + ORACLE_SCRIPT) as sv:
        agent = ModelConfig(model="agent-m", base_url=sv.base_url, max_retries=5, backoff_base_s=0.01,
                            backoff_cap_s=0.05, timeout_s=0.5)
        s = run_eval(cfg(agent=agent), [clinic()], tmp_path / "out", progress=False)
    [r] = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert r["passed"] and r["termination"] == "final"
    assert s["usage"]["agent"]["this_session"]["retries"] == 4


def test_wrong_argument_types_are_invalid_turns_not_calls(tmp_path):
    """Issue 15 item 15: wrong-typed arguments are counted as invalid turns (the env is not touched)."""
    script = [{"tool_calls": [call("book_slot", {"slot_id": 17, "patient": ["Ana"]})]},
              {"tool_calls": [call("list_slots", {"clinic": "C1"})]}] + ORACLE_SCRIPT
    _, [r], [sv] = run_fake(tmp_path, script)
    first, second = r["steps"][0], r["steps"][1]
    assert first["kind"] == "invalid" and first["result"]["success"] is False
    assert "argument 'slot_id' must be string, got int" in first["error"]
    assert "argument 'patient' must be string, got list" in first["error"]
    assert r["n_invalid"] == 1 and r["n_tool_calls"] == len(r["steps"]) - 2
    assert "bad arguments for list_slots" in second["result"]["error"]  # unknown names: the env answers
    assert r["passed"]  # the agent recovered after the two bad calls
    sent = sv.requests[1]["messages"][-1]
    assert sent["role"] == "tool" and "must be string" in sent["content"]


def _eval_cmd(tasks, out, *extra):
    return [sys.executable, "-m", "stt_arena", "eval", "--model", "builtin:oracle", "--tasks", str(tasks),
            "--runs", "40", "--concurrency", "2", "--output", str(out), "--no-progress", *extra]


def _episodes(out):
    return sorted((r["task_id"], r["run"], r["passed"]) for r in map(json.loads, (out / "results.jsonl").open()))


def test_kill_9_mid_run_then_resume_equals_uninterrupted(tmp_path):
    tasks = tmp_path / "t.jsonl"
    save_tasks(examples(), tasks)
    full = tmp_path / "full"
    subprocess.run(_eval_cmd(tasks, full), check=True, capture_output=True, timeout=300)
    cut = tmp_path / "cut"
    p = subprocess.Popen(_eval_cmd(tasks, cut), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until some, but not all, episodes are on disk
        f = cut / "results.jsonl"
        if f.exists() and f.read_bytes().count(b"\n") >= 10:
            break
        time.sleep(0.02)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    done_before = (cut / "results.jsonl").read_bytes().count(b"\n")
    assert 10 <= done_before < 120
    r = subprocess.run(_eval_cmd(tasks, cut, "--resume"), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _episodes(cut) == _episodes(full) and len(_episodes(full)) == 120


def test_kill_9_of_a_sharded_run_stops_its_workers(tmp_path):
    """Workers blocked in a slow model call exit as soon as their parent is killed."""
    if not os.path.isdir("/proc"):
        import pytest
        pytest.skip("needs /proc")
    tasks = tmp_path / "t.jsonl"
    save_tasks(examples(), tasks)
    with FakeOpenAIServer(lambda body: {"delay": 60, "content": "late"}) as sv:
        cmd = [sys.executable, "-m", "stt_arena", "eval", "--model", "agent-m", "--base-url", sv.base_url,
               "--tasks", str(tasks), "--runs", "1", "--concurrency", "2", "--workers", "2",
               "--output", str(tmp_path / "o"), "--no-progress"]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline and len(sv.requests) < 2:  # both workers wait on the model
            time.sleep(0.05)
        assert len(sv.requests) == 2
        workers = [w for w in proc_children(p.pid) if proc_alive(w)]
        assert len(workers) >= 2
        p.kill()  # the parent only
        p.wait()
        assert all(exits_soon(w) for w in workers)
