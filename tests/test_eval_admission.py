"""Without the OS sandbox layer, eval refuses task files with non-built-in code before any episode."""
import json
import os
import subprocess
import sys

from stt_arena.data import examples_path


def test_untrusted_tasks_without_the_os_layer_fail_fast(tmp_path):
    rows = [json.loads(x) for x in examples_path().read_text().splitlines()]
    rows[0]["environment"]["source"] += "\n# edited: no longer the built-in code\n"
    f = tmp_path / "t.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    env = dict(os.environ, STT_ARENA_NO_BWRAP="1")
    env.pop("STT_ARENA_ALLOW_UNSANDBOXED", None)
    cmd = [sys.executable, "-m", "stt_arena", "eval", "--model", "builtin:oracle", "--tasks", str(f), "--runs", "1"]
    r = subprocess.run([*cmd, "-o", str(tmp_path / "a")], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode != 0 and "not built-in" in r.stderr and "--allow-unsandboxed" in r.stderr
    assert not (tmp_path / "a" / "results.jsonl").exists()
    r = subprocess.run([sys.executable, "-m", "stt_arena", "--allow-unsandboxed", *cmd[3:], "-o", str(tmp_path / "b")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-800:]
