"""Built-in agents over the example tasks: oracle passes, stale fails, same seed -> same scores; the CLI."""
import json
import subprocess
import sys

import pytest

from stt_arena.data import examples_path
from stt_arena.eval.runner import EvalSetupError, Runner, run_eval

from .eval_helpers import cfg, examples

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)


def _strip(rec):
    return {k: rec[k] for k in ("task_id", "run", "passed", "fraction", "steps", "events", "final_message",
                                 "n_tool_calls", "grade")}


@pytest.mark.parametrize("sandbox", [False, True])
def test_oracle_passes_all_and_stale_fails(tmp_path, sandbox):
    s = run_eval(cfg("builtin:oracle", sandbox=sandbox), examples(), tmp_path / "o", progress=False)
    m = s["metrics"]
    assert s["completed_episodes"] == 3 and m["table3"]["overall"]["mean"] == 1.0
    s = run_eval(cfg("builtin:stale", sandbox=sandbox), examples(), tmp_path / "s", progress=False)
    assert s["metrics"]["table3"]["overall"]["mean"] == 0.0
    recs = [json.loads(x) for x in (tmp_path / "s" / "results.jsonl").read_text().splitlines()]
    assert all(r["grade"]["items"] and not r["passed"] for r in recs)


def test_record_has_steps_events_messages_and_grade(tmp_path):
    run_eval(cfg("builtin:oracle"), examples(), tmp_path / "o", progress=False)
    r = next(json.loads(x) for x in (tmp_path / "o" / "results.jsonl").read_text().splitlines()
             if '"example-clinic-t1"' in x)
    assert r["termination"] == "final" and r["passed"] and r["fraction"] == 1.0
    assert [s["tool"] for s in r["steps"] if s["kind"] == "tool"] == ["list_slots", "book_slot", "get_slot",
                                                                        "book_slot"]
    assert r["events"][0]["trigger_id"] == "window_expiry" and r["events"][0]["step"] == 2
    assert r["steps"][1]["events"][0]["trigger_id"] == "window_expiry"
    roles = [m["role"] for m in r["messages"]]
    assert roles[:3] == ["system", "user", "assistant"] and roles.count("tool") == 4 and roles[-1] == "assistant"
    assert {i["id"] for i in r["grade"]["items"]} == {"goal", "detect"}
    assert r["grade"]["graded_by"] == "checklist" and r["n_tool_calls"] == 4


def test_same_seed_same_scores(tmp_path):
    a = run_eval(cfg("builtin:retry", runs=2, seed=7, concurrency=3), examples(), tmp_path / "a", progress=False)
    b = run_eval(cfg("builtin:retry", runs=2, seed=7, concurrency=1), examples(), tmp_path / "b", progress=False)
    assert a["metrics"]["table3"] == b["metrics"]["table3"]
    ra = sorted((_strip(json.loads(x)) for x in (tmp_path / "a" / "results.jsonl").read_text().splitlines()),
                key=lambda r: (r["task_id"], r["run"]))
    rb = sorted((_strip(json.loads(x)) for x in (tmp_path / "b" / "results.jsonl").read_text().splitlines()),
                key=lambda r: (r["task_id"], r["run"]))
    assert ra == rb


def test_filters_and_clear_errors(tmp_path):
    r = Runner(cfg(types=["t1", "S3"], levels=["easy"]), examples(), tmp_path / "f", progress=False)
    assert [t.task_id for t in r.tasks] == ["example-clinic-t1"]
    with pytest.raises(EvalSetupError, match="unknown conflict type"):
        Runner(cfg(types=["X9"]), examples(), tmp_path / "g")
    with pytest.raises(EvalSetupError, match="no such task"):
        Runner(cfg(task_ids=["nope"]), examples(), tmp_path / "g")
    with pytest.raises(EvalSetupError, match="unknown built-in agent"):
        Runner(cfg("builtin:genius"), examples(), tmp_path / "g")


def test_cli_eval_builtin_and_errors(tmp_path):
    def cli(*a):
        return subprocess.run([sys.executable, "-m", "stt_arena", "eval", *a], capture_output=True, text=True,
                              timeout=120, env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"})
    out = tmp_path / "r"
    r = cli("--model", "builtin:oracle", "--tasks", str(examples_path()), "--output", str(out), "--no-progress",
            "--runs", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Overall" in r.stdout and "100.0 ± 0.0" in r.stdout and "pass^2" in r.stdout
    summ = json.loads((out / "summary.json").read_text())
    assert summ["completed_episodes"] == 6 and summ["metrics"]["max_k"] == 2
    r = cli("--model", "builtin:oracle", "--tasks", str(examples_path()), "--output", str(out), "--no-progress")
    assert r.returncode == 2 and "--resume" in r.stderr
    r = cli("--model", "builtin:stale", "--tasks", str(examples_path()), "--output", str(out), "--resume")
    assert r.returncode == 2 and "different settings" in r.stderr and "agent_model" in r.stderr
    r = cli("--model", "builtin:oracle", "--tasks", str(tmp_path / "none.jsonl"), "--output", str(tmp_path / "x"))
    assert r.returncode == 2 and "no such file" in r.stderr
    r = cli("--model", "m", "--extra-body", "{bad", "--output", str(tmp_path / "y"))
    assert r.returncode == 2 and "--extra-body" in (r.stdout + r.stderr)


def _run_sh(tmp_path, env_extra, *args):
    import os
    import shutil
    from pathlib import Path

    from stt_arena.task.io import save_tasks

    script = tmp_path / "run.sh"
    shutil.copy(Path(__file__).resolve().parents[1] / "run.sh", script)  # it works from its own folder
    tasks = tmp_path / "t.jsonl"
    save_tasks(examples(), tasks)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MODEL")}
    env.update({"TASKS": str(tasks), "RUNS": "1", "CONCURRENCY": "2",
                "STT_ARENA": f"{sys.executable} -m stt_arena", **env_extra})
    return subprocess.run(["bash", str(script), "--no-progress", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_run_sh_without_endpoint_runs_the_reference_agents(tmp_path):
    import shutil
    if not shutil.which("bash"):
        pytest.skip("needs bash")
    r = _run_sh(tmp_path, {})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no endpoint configured" in r.stdout and "running the" in r.stdout
    for name in ("builtin-oracle", "builtin-stale", "builtin-retry", "builtin-no-verify"):
        assert len((tmp_path / "results" / name / "results.jsonl").read_text().splitlines()) == 3
    table = r.stdout[r.stdout.index("== comparison"):]
    assert "| builtin:oracle | 100.0" in table and "| builtin:stale | 0.0" in table
    assert (tmp_path / "results" / "report" / "viewer.html").exists()


def test_run_sh_with_a_model_list_and_an_endpoint(tmp_path):
    import shutil
    if not shutil.which("bash"):
        pytest.skip("needs bash")
    from stt_arena.testing.fake_openai import FakeOpenAIServer
    with FakeOpenAIServer(lambda body: "Task Completed") as sv:
        r = _run_sh(tmp_path, {"MODELS": "model-a, model-b", "OPENAI_BASE_URL": sv.base_url,
                               "OPENAI_API_KEY": "sk-test"})
        assert r.returncode == 0, r.stdout + r.stderr
        assert {b["model"] for b in sv.requests} == {"model-a", "model-b"} and len(sv.requests) == 6
        assert all(h["authorization"] == "Bearer sk-test" for h in sv.request_headers)
        assert all(b["temperature"] == 0.7 for b in sv.requests)  # the paper's protocol by default
    assert "no endpoint configured" not in r.stdout
    table = r.stdout[r.stdout.index("== comparison"):]
    assert "| model-a |" in table and "| model-b |" in table
    r = _run_sh(tmp_path, {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})  # an endpoint but no model
    assert r.returncode == 2 and "set MODELS" in r.stderr
