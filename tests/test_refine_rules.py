"""Rule-based refinement: failing trajectories of each failure mode become passing, replay-validated ones."""
import asyncio
import copy
import json
import subprocess
import sys

from stt_arena.analysis import analyze_record
from stt_arena.data import examples_path
from stt_arena.refine.pipeline import Refiner, make_opener, refine_all, statistics, write_outputs

from .fixtures.refine.helpers import run_agents, tasks
import pytest

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)


def _refine(recs, sandbox=False, mode="rules", llm=None):
    opener, close = make_opener(sandbox)
    try:
        return asyncio.run(refine_all(Refiner(tasks(), opener, mode, llm), recs))
    finally:
        close()


def test_rules_turn_each_failure_mode_into_passing_trajectories(tmp_path):
    recs = run_agents(tmp_path)
    src = recs["stale"] + recs["retry"] + recs["no-verify"] + recs["oracle"]
    outs = _refine(src)
    by = {(o.model, o.task_id): o for o in outs}
    for agent in ("stale", "retry", "no-verify"):
        for tid in ("example-clinic-t1", "example-freight-s3"):
            o = by[(f"builtin:{agent}", tid)]
            assert o.status == "refined", (agent, tid, o.reason, o.detail)
            assert o.record["passed"] and not any(analyze_record(o.record, tasks()[tid])["modes"].values())
    # stale/retry on the rental task: the delayed change never fires in their trajectory -> rejected
    assert by[("builtin:stale", "example-rental-st1")].reason == "no_trigger_in_trajectory"
    assert by[("builtin:no-verify", "example-rental-st1")].status == "refined"
    # the oracle's passing trajectories keep their calls; only the communication stage applies (it changes the
    # pick-up depot relying on the user's unstated flexibility, and never says which depot in its own words)
    o = by[("builtin:oracle", "example-rental-st1")]
    assert o.status == "refined" and [s["stage"] for s in o.stages] == ["communication"]
    assert [s["tool"] for s in o.record["steps"] if s["kind"] == "tool"] == \
        [s["tool"] for s in o.source["steps"] if s["kind"] == "tool"]
    st = statistics(outs)
    assert st["in"] == 12 and st["kept"] == st["refined"] + st["unchanged"]
    assert st["rejected_by_reason"] == {"no_trigger_in_trajectory": 2}
    assert st["avg_calls_after"] > st["avg_calls_before"]
    retry = by[("builtin:retry", "example-clinic-t1")]
    edits = [e for s in retry.stages for e in s["edits"]]
    assert any("blind retry" in e or "repeated failing" in e for e in edits)
    assert any(e.startswith("insert refresh") for e in edits) and "rewrite final message" in edits
    # the diagnosis names the real, recomputed error; messages align with steps
    msgs = retry.record["messages"]
    assert any("booking window closed" in (m.get("content") or "") for m in msgs if m["role"] == "assistant")
    assert msgs[-1]["role"] == "assistant" and "S2" in msgs[-1]["content"] and "S1" in msgs[-1]["content"]
    stats = write_outputs(outs, tmp_path / "out")
    kept = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert len(kept) == stats["kept"] and len({(r["task_id"], r["run"]) for r in kept}) == len(kept)
    assert all(r["refine"]["calls_after"] == r["n_tool_calls"] for r in kept)
    assert len((tmp_path / "out" / "rejected.jsonl").read_text().splitlines()) == 2


def test_tool_results_are_recomputed_not_carried_over(tmp_path):
    recs = run_agents(tmp_path, ("stale",))["stale"]
    rec = copy.deepcopy(next(r for r in recs if r["task_id"] == "example-clinic-t1"))
    for s in rec["steps"]:
        if s["kind"] == "tool" and s["tool"] == "list_slots":
            s["result"] = {"success": True, "data": "FORGED"}
    [o] = _refine([rec])
    assert o.status == "refined"
    first = next(s for s in o.record["steps"] if s.get("tool") == "list_slots")
    assert first["result"] != {"success": True, "data": "FORGED"} and "FORGED" not in json.dumps(o.record["messages"])


def test_rejections_and_sandbox_replay(tmp_path):
    recs = run_agents(tmp_path, ("stale",))["stale"]
    clinic = next(r for r in recs if r["task_id"] == "example-clinic-t1")
    bad = dict(clinic, task_id="no-such-task")
    outs = _refine([bad, clinic], sandbox=True)
    assert outs[0].reason == "task_not_found"
    assert outs[1].status == "refined" and outs[1].record["passed"]


def test_cli_refine_and_sft_wrapper(tmp_path):
    run_agents(tmp_path, ("stale", "no-verify"))
    r = subprocess.run([sys.executable, "-m", "stt_arena", "refine", str(tmp_path / "stale"), str(tmp_path / "no-verify"),
                        "--tasks", str(examples_path()), "-o", str(tmp_path / "ref"), "--no-sandbox", "--no-progress"],
                       capture_output=True, text=True, timeout=120, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "avg calls before" in r.stdout and "no_trigger_in_trajectory: 1" in r.stdout
    st = json.loads((tmp_path / "ref" / "stats.json").read_text())
    assert st["in"] == 6 and st["kept"] == 5
    r = subprocess.run([sys.executable, "SFT/refine_train_trajectory.py", "--input", str(tmp_path / "stale" / "results.jsonl"),
                        "--tasks", str(examples_path()), "--output", str(tmp_path / "ref2"), "--no-sandbox"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads((tmp_path / "ref2" / "stats.json").read_text())["refined"] == 2
    r = subprocess.run([sys.executable, "-m", "stt_arena", "analyze", str(tmp_path / "ref"), "--json"],
                       capture_output=True, text=True, timeout=60)
    rows = [x for x in json.loads(r.stdout)["level"] if x["group"] == "all"]
    assert rows and all(x["any"] == 0 and x["passed"] == x["n"] for x in rows)
