"""The command line, run as a user would (subprocess of the installed entry point's module)."""
import json
import subprocess
import sys

from stt_arena.data import examples_path
import pytest

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)


def cli(*args, input=None):
    return subprocess.run([sys.executable, "-m", "stt_arena", *args], capture_output=True, text=True,
                          input=input, timeout=300)


def test_validate_examples_all_valid():
    r = cli("validate", str(examples_path()))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3/3 tasks valid" in r.stdout and "I5" in r.stdout


def test_validate_reports_bad_task_and_exit_code(tmp_path):
    rows = [json.loads(x) for x in examples_path().read_text().splitlines()]
    rows[0]["plans"]["normal"] = rows[0]["plans"]["oracle"]  # the static plan now passes: I3 must fail
    rows[1]["environment"]["source"] = "import os\n" + rows[1]["environment"]["source"]
    p = tmp_path / "t.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = cli("validate", str(p))
    assert r.returncode == 1
    assert "example-clinic-t1" in r.stdout and "I3" in r.stdout
    assert "import of 'os' is not allowed" in r.stdout
    assert "1/3 tasks valid" in r.stdout


def test_validate_missing_file_is_a_clear_error(tmp_path):
    r = cli("validate", str(tmp_path / "nope.jsonl"))
    assert r.returncode == 2 and "no such file" in r.stderr and r.stdout == ""


def test_schema_prints_json_schema():
    r = cli("schema")
    assert r.returncode == 0 and json.loads(r.stdout)["title"] == "Task"


def test_play_shows_results_and_trigger_events():
    script = "list_slots clinic_id=C1\nbook_slot slot_id=S1 patient=Ana\nget_slot {\"slot_id\": \"S1\"}\n:checks\n:quit\n"
    r = cli("play", "example-clinic-t1", "--tasks", str(examples_path()), input=script)
    assert r.returncode == 0, r.stderr
    assert "trigger event" in r.stdout and "window_expiry" in r.stdout
    assert '"status": "expired"' in r.stdout and "FAIL goal" in r.stdout


def test_play_help_typos_and_history_never_reach_the_environment():
    """Issue 15 item 10: :help, unknown ':' commands and tool-name typos use no step and move no clock."""
    script = ":help\n:hlep\nlist_slot clinic_id=C1\nlist_slots clinic_id=C1\n:history\n:quit\n"
    r = cli("play", "example-clinic-t1", "--tasks", str(examples_path()), input=script)
    assert r.returncode == 0, r.stderr
    assert ":history" in r.stdout and "unknown command ':hlep'" in r.stdout
    assert "no tool 'list_slot'; did you mean 'list_slots'?" in r.stdout
    assert "step 1 @" in r.stdout and "step 2 @" not in r.stdout  # only the real call made a step
    assert "  1  list_slots clinic_id=C1" in r.stdout


def test_synth_stage1_missing_seed_path_is_one_line_on_stderr(tmp_path):
    r = cli("synth", "stage1", "--seeds", str(tmp_path / "nope"), "--out", str(tmp_path / "x.jsonl"), "--model", "m")
    assert r.returncode != 0 and "no such file or folder" in r.stderr and "Traceback" not in r.stderr + r.stdout
