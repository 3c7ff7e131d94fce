"""Failure-mode detectors over the built-in agents' trajectories, and `stt-arena analyze`."""
import json
import subprocess
import sys

from stt_arena.analysis import analyze_record, detect, frequency_table

from .fixtures.refine.helpers import run_agents, tasks
import pytest

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)


def _modes(recs):
    ts = tasks()
    return {r["task_id"]: analyze_record(r, ts[r["task_id"]])["modes"] for r in recs}


def test_each_reference_agent_shows_its_failure_mode(tmp_path):
    recs = run_agents(tmp_path)
    oracle, stale, retry, nov = (_modes(recs[a]) for a in ("oracle", "stale", "retry", "no-verify"))
    assert not any(m["stale_state"] or m["misdiagnosis"] for m in oracle.values())
    # the rental trigger is delayed by one call: the stale agent stops before it fires, so nothing to see
    assert all(m["stale_state"] for tid, m in stale.items() if tid != "example-rental-st1")
    assert not any(m["misdiagnosis"] for m in stale.values())
    assert all(m["misdiagnosis"] for tid, m in retry.items() if tid == "example-clinic-t1")
    assert nov["example-rental-st1"]["missing_verification"] and nov["example-freight-s3"]["missing_verification"]
    assert not any(m["stale_state"] or m["misdiagnosis"] for m in nov.values())


def _step(i, tool, ok=True, events=None, args=None, thought=None):
    s = {"index": i, "kind": "tool", "tool": tool, "arguments": args or {},
         "result": {"success": ok} if ok else {"success": False, "error": "closed"}, "events": events or []}
    if thought:
        s["thought"] = thought
    return s


def test_detector_rules_on_hand_made_steps():
    ev = [{"type": "trigger", "trigger_id": "x"}]
    mut = {"book", "pay"}
    # repeating a failing call unchanged = stale; after a deliberate change it is fine
    steps = [_step(0, "book", False, ev, {"a": 1}), _step(1, "book", False, None, {"a": 1})]
    assert {f.kind for f in detect(steps, mut)} >= {"repeat_failing_call"}
    steps = [_step(0, "book", False, ev, {"a": 1}), _step(1, "get"), _step(2, "pay"), _step(3, "book", True, None, {"a": 1}),
             _step(4, "get")]
    assert detect(steps, mut) == []
    # retry with a variant and no query in between = misdiagnosis; with a query in between it is not
    steps = [_step(0, "book", False, ev, {"a": "X"}), _step(1, "book", False, None, {"a": "x"})]
    assert "retry_with_variants" in {f.kind for f in detect(steps, mut)}
    steps = [_step(0, "book", False, ev, {"a": "X"}), _step(1, "get"), _step(2, "book", True, None, {"a": "Y"}), _step(3, "get")]
    assert detect(steps, mut) == []
    # trying another target (a different id) or probing with a query is not a variant of the same call
    steps = [_step(0, "book", False, ev, {"a": "SO-59279"}), _step(1, "book", True, None, {"a": "SO-96566"}),
             _step(2, "get")]
    assert "retry_with_variants" not in {f.kind for f in detect(steps, mut)}
    steps = [_step(0, "book", False, ev, {"a": 17}), _step(1, "book", False, None, {"a": 18})]
    assert "retry_with_variants" in {f.kind for f in detect(steps, mut)}
    # blaming parameters in text; a negated mention is not blame
    steps = [_step(0, "book", False, ev), _step(1, "get", thought="Probably a typo in the id."), _step(2, "book"), _step(3, "get")]
    assert "blames_parameters" in {f.kind for f in detect(steps, mut)}
    steps[1]["thought"] = "This is not a typo: the slot closed."
    assert detect(steps, mut) == []
    # recovery without a final check = missing verification; impossible tasks need no adaptation
    steps = [_step(0, "book", False, ev), _step(1, "get"), _step(2, "book")]
    assert [f.mode for f in detect(steps, mut)] == ["missing_verification"]
    assert detect(steps, mut, needs_verification=False) == []  # the task does not ask for a re-check
    steps = [_step(0, "book", False, ev), _step(1, "get")]
    assert detect(steps, mut, impossible=True) == [] and detect(steps, mut)[0].kind == "no_adaptation_after_trigger"


def test_frequency_table_and_cli(tmp_path):
    recs = run_agents(tmp_path, ("stale", "oracle"))
    rows = frequency_table(recs["stale"] + recs["oracle"], "level", tasks())
    allrow = {r["model"]: r for r in rows if r["group"] == "all"}
    assert allrow["builtin:stale"]["stale_state"] == 2 and allrow["builtin:oracle"]["stale_state_rate"] == 0.0
    r = subprocess.run([sys.executable, "-m", "stt_arena", "analyze", str(tmp_path / "stale"), str(tmp_path / "oracle"),
                        "--json"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    by_type = {(x["model"], x["group"]): x for x in out["type"]}
    assert by_type[("builtin:stale", "T1")]["stale_state"] == 1 and ("builtin:oracle", "all") in by_type
    r = subprocess.run([sys.executable, "-m", "stt_arena", "analyze", str(tmp_path / "stale")],
                       capture_output=True, text=True, timeout=60, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0 and "stale_state" in r.stdout and "missing_verification" in r.stdout
    r = subprocess.run([sys.executable, "-m", "stt_arena", "analyze", str(tmp_path / "nope")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "not a results directory" in r.stderr


def _calibration_tasks():
    """One benchmark task per (conflict type, level) cell: every kind of conflict, fast."""
    from stt_arena.data import benchmark_path
    from stt_arena.task.io import load_tasks
    cells = {}
    for t in load_tasks(benchmark_path("v1")):
        cells.setdefault((t.conflict_type, t.level), t)
    return list(cells.values())


def test_detectors_are_calibrated_against_the_grader_both_directions(tmp_path):
    """Issue 15 item 9: the oracle (passes every task) is never flagged; each built-in failure agent is
    flagged for its own mode wherever that mode can show, and not for another agent's."""
    from stt_arena.eval.runner import run_eval

    from .eval_helpers import cfg
    ts = _calibration_tasks()
    by_id = {t.task_id: t for t in ts}
    assert len(ts) >= 30
    modes = {}
    for agent in ("oracle", "stale", "retry", "no-verify"):
        run_eval(cfg(f"builtin:{agent}"), ts, tmp_path / agent, progress=False, fsync=False)
        recs = [json.loads(x) for x in (tmp_path / agent / "results.jsonl").read_text().splitlines()]
        modes[agent] = [(r, analyze_record(r, by_id[r["task_id"]])["modes"]) for r in recs]
        for r, m in modes[agent]:  # the same verdicts from the record alone (no task file at hand)
            assert analyze_record(r)["modes"] == m, r["task_id"]
    assert all(r["passed"] for r, _ in modes["oracle"])
    assert not any(any(m.values()) for _, m in modes["oracle"])
    assert all(m["stale_state"] for _, m in modes["stale"])
    assert not any(m["misdiagnosis"] for _, m in modes["stale"] + modes["no-verify"])

    def failed_call(r):
        return any(isinstance(s.get("result"), dict) and s["result"].get("success") is False for s in r["steps"])
    with_failure = [m for r, m in modes["retry"] if failed_call(r)]
    assert len(with_failure) >= 20 and all(m["misdiagnosis"] for m in with_failure)
    verify = [(r, m) for r, m in modes["no-verify"]
              if any(c.kind == "verification" for c in by_id[r["task_id"]].checklist)]
    assert len(verify) >= 15 and all(m["missing_verification"] for _, m in verify)
    assert not any(m["stale_state"] for _, m in modes["no-verify"])
