"""The LLM synthesis pipeline (stt-arena synth stage1|stage2|stage3|review-import) against a local scripted
OpenAI-compatible server (tests/fixtures/synth/fake_llm.py): end to end, resume after a kill, dry run."""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from stt_arena.cli import app
from stt_arena.task.io import load_tasks
from stt_arena.testing.fake_openai import FakeOpenAIServer
import pytest

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)

HERE = Path(__file__).resolve().parent
FIX = HERE / "fixtures" / "synth"
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "source_data"

_spec = importlib.util.spec_from_file_location("synth_fake_llm", FIX / "fake_llm.py")
fake_llm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake_llm)
FakeSynthLLM = fake_llm.FakeSynthLLM

runner = CliRunner()


def synth(*args: str):
    r = runner.invoke(app, ["synth", *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def llm_args(srv: FakeOpenAIServer, cache: Path) -> list[str]:
    return ["--model", "fake-synth", "--base-url", srv.base_url, "--cache-dir", str(cache), "--no-progress",
            "--max-retries", "0"]


def fixture_seeds() -> list[str]:
    return ["--seeds", str(FIX / "seeds" / "dolci_synth.jsonl"), "--seeds", str(FIX / "seeds" / "toolace_raw.json")]


def real_seeds(tmp: Path) -> list[str]:
    """Two real API-Bank dialogues (a meeting booking, a calculator) and three real ToolACE conversations."""
    if not REAL.is_dir():
        return []
    dlg = REAL / "api-bank" / "lv1-lv2-samples" / "level-1-given-desc"
    tool = json.loads((REAL / "toolace" / "sharegpt_func_fixed.json").read_text())[:3]
    p = tmp / "toolace_real.json"
    p.write_text(json.dumps(tool))
    return ["--seeds", str(dlg / "AddMeeting-level-1-1.jsonl"), "--seeds", str(dlg / "Calculator-level-1-1.jsonl"),
            "--seeds", str(p)]


def rejections(path: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for line in path.read_text().splitlines():
        d = json.loads(line)
        out.setdefault(d["reason"], []).append(d)
    return out


def test_end_to_end_real_and_fixture_seeds(tmp_path):
    fake = FakeSynthLLM()
    real = real_seeds(tmp_path)
    with FakeOpenAIServer(fake) as srv:
        common = llm_args(srv, tmp_path / "cache")
        synth("stage1", *fixture_seeds(), *real, "--out", str(tmp_path / "envs.jsonl"), "--explore-budget", "0", *common)
        synth("stage2", "--envs", str(tmp_path / "envs.jsonl"), "--out", str(tmp_path / "drafts.jsonl"),
              "--levels", "easy", *common)
        synth("stage3", "--gates", "I1-I5", "--drafts", str(tmp_path / "drafts.jsonl"), "--out", str(tmp_path / "tasks.jsonl"),
              "--review-dir", str(tmp_path / "review"), *common)
        n_requests = len(srv.requests)

    # stage 1: fixture seeds -> 1 env kept (rooms); broken candidates rejected with their reasons
    envs = [json.loads(x) for x in (tmp_path / "envs.jsonl").read_text().splitlines()]
    assert {e["class_name"] for e in envs} == {"RoomBookingEnv"}
    rej1 = rejections(tmp_path / "envs.rejected.jsonl")
    assert "import of 'os' is not allowed" in rej1["unsafe_code"][0]["detail"]
    assert "KeyError" in rej1["failing_methods"][0]["detail"] and "reserve_compartment" in rej1["failing_methods"][0]["detail"]
    assert "toolace:toolace_raw:1" in [r["item_id"] for r in rej1["not_stateful"]]
    assert [r["item_id"] for r in rej1["not_spatiotemporal"]] == ["toolace:toolace_raw:2"]
    # the KeyError method went back to the model twice (it answers the same code): both outcomes logged as failed
    outcomes = [json.loads(x) for x in (tmp_path / "envs.attempts.jsonl").read_text().splitlines()]
    outcomes = [a for a in outcomes if a["prompt"] == "functional_tests"]
    assert [a["ok"] for a in outcomes] == [False, False] and "KeyError" in outcomes[0]["error"]
    st1 = json.loads((tmp_path / "envs.stats.json").read_text())
    assert st1["in"] == 5 + (5 if real else 0) and st1["kept"] == len(envs)
    assert st1["kept"] + st1["rejected_total"] == st1["in"]
    if real:  # the real API-Bank meeting dialogue becomes a room env too; the calculator is stateless
        assert any(e["seed_id"].startswith("api-bank:AddMeeting") for e in envs)
        assert any(r["item_id"].startswith("api-bank:Calculator") for r in rej1["not_stateful"])

    # stage 2: mutation mismatch rejected (checked against the init state), the repair loop used once
    rej2 = rejections(tmp_path / "drafts.rejected.jsonl")
    assert len(rej2["mutation_mismatch"]) == len(envs)
    assert "expects old='available'" in rej2["mutation_mismatch"][0]["detail"]
    assert fake.seen["blueprint:repair"] == 1
    # stage 3: the shortcut task is rejected by the executed I5
    rej3 = rejections(tmp_path / "tasks.rejected.jsonl")
    assert len(rej3["shortcut"]) == len(envs) and "I5" in rej3["shortcut"][0]["detail"]

    tasks = load_tasks(tmp_path / "tasks.jsonl")
    assert len(tasks) >= 2 and len(tasks) == 2 * len(envs)
    assert {t.conflict_type for t in tasks} == {"T1", "S1"}
    for t in tasks:
        assert t.provenance.source == "synth" and t.provenance.extra["invariants"] == {f"I{i}": True for i in range(1, 6)}
        assert t.provenance.extra["audit"]["checklist_coverage"]["ok"]
    # usable by the benchmark commands as they are
    r = subprocess.run([sys.executable, "-m", "stt_arena", "validate", "--gates", "I1-I5", str(tmp_path / "tasks.jsonl")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and f"{len(tasks)}/{len(tasks)} tasks valid" in r.stdout, r.stdout + r.stderr
    r = runner.invoke(app, ["eval", "--model", "builtin:oracle", "--tasks", str(tmp_path / "tasks.jsonl"),
                            "--runs", "1", "-o", str(tmp_path / "eval")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    results = [json.loads(x) for x in (tmp_path / "eval" / "results.jsonl").read_text().splitlines()]
    assert len(results) == len(tasks) and all(x.get("passed") for x in results), results

    # a rerun of every stage is served from the cache: no new request
    with FakeOpenAIServer(FakeSynthLLM()) as srv2:
        common = llm_args(srv2, tmp_path / "cache")
        synth("stage1", *fixture_seeds(), *real, "--out", str(tmp_path / "envs2.jsonl"), "--explore-budget", "0",
              *common)
        synth("stage3", "--gates", "I1-I5", "--drafts", str(tmp_path / "drafts.jsonl"), "--out", str(tmp_path / "tasks2.jsonl"), *common)
        assert srv2.requests == []
    assert n_requests > 40

    # human review: HTML pages + CSV sheet, then review-import applies the decisions
    review = tmp_path / "review"
    assert (review / "index.html").exists() and all((review / f"{t.task_id}.html").exists() for t in tasks)
    rows = list(csv.DictReader((review / "review.csv").open()))
    rows[0]["decision"], rows[0]["note"] = "accept", "fine"
    rows[1]["decision"] = "reject"
    with (review / "review.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    synth("review-import", "--tasks", str(tmp_path / "tasks.jsonl"), "--sheet", str(review / "review.csv"),
          "--out", str(tmp_path / "accepted.jsonl"))
    acc = load_tasks(tmp_path / "accepted.jsonl")
    assert [t.task_id for t in acc] == [rows[0]["task_id"]]
    assert acc[0].provenance.extra["review"] == {"decision": "accept", "note": "fine"}


def _stage1_cmd(srv, cache: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "stt_arena", "synth", "stage1", *fixture_seeds(), "--out", str(out),
            *llm_args(srv, cache)]


def _cache_files(cache: Path) -> int:
    return sum(1 for p in cache.rglob("*.json") if not p.name.startswith(".tmp-")) if cache.exists() else 0


def test_killed_run_resumes_without_repeating_cached_calls(tmp_path):
    # reference: a clean run's number of LLM calls
    with FakeOpenAIServer(FakeSynthLLM()) as srv:
        synth("stage1", *fixture_seeds(), "--out", str(tmp_path / "ref.jsonl"), *llm_args(srv, tmp_path / "ref_cache"))
        total = len(srv.requests)
    # run 1: the server answers K calls then hangs; the process is killed mid-stage 1
    k = 17
    cache = tmp_path / "cache"
    fake = FakeSynthLLM(fail_after=k)
    with FakeOpenAIServer(fake) as srv:
        proc = subprocess.Popen(_stage1_cmd(srv, cache, tmp_path / "envs.jsonl"), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (fake.blocked.is_set() and _cache_files(cache) >= k):
                time.sleep(0.05)
            assert fake.blocked.is_set() and proc.poll() is None
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert fake.answered == k and _cache_files(cache) == k
    assert not (tmp_path / "envs.jsonl").exists()  # outputs are written atomically at the end
    # run 2: completes; exactly the uncached calls reach the server
    with FakeOpenAIServer(FakeSynthLLM()) as srv:
        r = subprocess.run(_stage1_cmd(srv, cache, tmp_path / "envs.jsonl"), capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert len(srv.requests) == total - k
    assert (tmp_path / "envs.jsonl").read_text() == (tmp_path / "ref.jsonl").read_text()


def test_dry_run_sends_nothing_and_reports_planned_calls(tmp_path):
    with FakeOpenAIServer(FakeSynthLLM()) as srv:
        r = synth("stage1", *fixture_seeds(), "--out", str(tmp_path / "envs.jsonl"), *llm_args(srv, tmp_path / "c"),
                  "--dry-run")
        assert srv.requests == [] and not (tmp_path / "envs.jsonl").exists()
        assert "filter_statefulness" in r.output and "5 would call the model" in r.output
        # after a real run everything is cached: a dry run has nothing left to call
        synth("stage1", *fixture_seeds(), "--out", str(tmp_path / "envs.jsonl"), *llm_args(srv, tmp_path / "c"))
        n = len(srv.requests)
        r = synth("stage1", *fixture_seeds(), "--out", str(tmp_path / "envs.jsonl"), *llm_args(srv, tmp_path / "c"),
                  "--dry-run")
        assert len(srv.requests) == n and "0 would call the model" in r.output and "1 would complete" in r.output
