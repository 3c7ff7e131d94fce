"""Built-in agents over the example tasks: oracle passes, stale fails, same seed -> same scores; the CLI."""
import json
import subprocess
import sys

import pytest

from stt_arena.data import examples_path
from stt_arena.eval.runner import EvalSetupError, Runner, run_eval

from .test_eval_helpers import cfg, examples


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
    assert r.returncode == 2 and "--resume" in r.stdout
    r = cli("--model", "builtin:stale", "--tasks", str(examples_path()), "--output", str(out), "--resume")
    assert r.returncode == 2 and "different settings" in r.stdout and "agent_model" in r.stdout
    r = cli("--model", "builtin:oracle", "--tasks", str(tmp_path / "none.jsonl"), "--output", str(tmp_path / "x"))
    assert r.returncode == 2 and "no such file" in r.stdout
    r = cli("--model", "m", "--extra-body", "{bad", "--output", str(tmp_path / "y"))
    assert r.returncode == 2 and "--extra-body" in (r.stdout + r.stderr)


def test_run_sh_offline_default_output(tmp_path):
    """`bash run.sh` with no endpoint: the reference agent, default output dir named after the model,
    Table 3 printed and a report written."""
    import os
    import shutil
    from pathlib import Path

    from stt_arena.task.io import save_tasks

    if not shutil.which("bash"):
        pytest.skip("needs bash")
    script = tmp_path / "run.sh"
    shutil.copy(Path(__file__).resolve().parents[1] / "run.sh", script)  # it works from its own folder
    tasks = tmp_path / "t.jsonl"
    save_tasks(examples(), tasks)
    env = {**os.environ, "MODEL": "builtin:oracle", "TASKS": str(tasks), "RUNS": "1", "CONCURRENCY": "2",
           "STT_ARENA": f"{sys.executable} -m stt_arena"}
    r = subprocess.run(["bash", str(script), "--no-progress"], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "results" / "builtin-oracle"
    assert len((out / "results.jsonl").read_text().splitlines()) == 3
    assert "Overall" in r.stdout and (out / "report").is_dir()
