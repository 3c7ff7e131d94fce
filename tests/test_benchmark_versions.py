"""Benchmark versions: v1 by name, results record the version and hash, report refuses mixed task sets."""
import json
import subprocess
import sys

from stt_arena.data import benchmark_path, benchmark_version, examples_path, file_identity, resolve_tasks
import pytest

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "stt_arena", *args], capture_output=True, text=True, timeout=600)


def test_version_names_resolve_and_unknown_names_are_errors():
    assert resolve_tasks("v1") == benchmark_path("v1") and benchmark_version(resolve_tasks("v1")) == "v1"
    assert benchmark_version(examples_path()) is None
    assert file_identity(examples_path())["benchmark"] is None
    import pytest
    with pytest.raises(ValueError, match="unknown benchmark version"):
        benchmark_path("v9")


def test_results_record_version_and_report_refuses_mixed_task_sets(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    r = cli("eval", "--model", "builtin:oracle", "--benchmark", "v1", "--limit", "2", "--runs", "1",
            "--no-sandbox", "-o", str(a))
    assert r.returncode == 0, r.stdout + r.stderr
    cfg = json.loads((a / "config.json").read_text())
    assert cfg["benchmark"] == "v1" and cfg["tasks_sha256"] == file_identity(benchmark_path("v1"))["tasks_sha256"]
    r = cli("eval", "--model", "builtin:oracle", "--tasks", str(examples_path()), "--runs", "1", "--no-sandbox",
            "-o", str(b))
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads((b / "config.json").read_text())["benchmark"] is None
    r = cli("report", str(a), str(b), "-o", str(tmp_path / "rep"))
    assert r.returncode != 0 and "different task sets" in r.stderr and "benchmark v1" in r.stderr
    r = cli("report", str(a), str(b), "-o", str(tmp_path / "rep"), "--allow-mixed")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "not comparable" in (tmp_path / "rep" / "report.md").read_text()
    bad = cli("eval", "--model", "builtin:oracle", "--benchmark", "v9", "-o", str(tmp_path / "c"))
    assert bad.returncode != 0 and "unknown version" in bad.stderr
