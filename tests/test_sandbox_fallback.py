"""Without the OS layer: said at start, built-in tasks run as before, other task code is refused
unless the user opts in (``--allow-unsandboxed`` / STT_ARENA_ALLOW_UNSANDBOXED=1)."""
import os
import subprocess
import sys

import pytest

from stt_arena.data import examples_path
from stt_arena.sandbox.executor import Executor, SandboxError
from stt_arena.task.io import load_tasks, save_tasks
from tests.helpers import make_task

CLEAN = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "STT_ARENA_NO_BWRAP": "1"}


def test_untrusted_task_refused_without_the_os_layer_builtins_still_run():
    builtin = load_tasks(examples_path())[0]
    with Executor(use_bwrap=False, allow_untrusted=False) as ex:
        assert not ex.layers["bwrap"] and not ex.layers["seccomp"]
        with pytest.raises(SandboxError, match="refusing untrusted code.*--allow-unsandboxed"):
            ex.open(make_task())
        forged = make_task(source=builtin.environment.source, class_name=builtin.environment.class_name,
                           init=builtin.environment.init_config)  # built-in env, foreign check code
        with pytest.raises(SandboxError, match="check 'c'"):
            ex.open(forged)
        ep = ex.open(builtin)
        try:
            assert ep.list_tools()
        finally:
            ep.close()


def test_opt_in_runs_untrusted_code_behind_the_python_layers():
    with Executor(use_bwrap=False, allow_untrusted=True) as ex, ex.open(make_task()) as ep:
        assert ep.call("add", {"n": 2})["result"]["success"]


def test_missing_os_layer_is_said_at_start():
    code = "from stt_arena.sandbox.executor import Executor\nex = Executor()\nprint('LAYER', ex.layers['bwrap'])"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=CLEAN)
    assert "LAYER False" in r.stdout
    assert "OS sandbox layer is unavailable (disabled by STT_ARENA_NO_BWRAP)" in r.stderr
    assert "refused unless you pass --allow-unsandboxed" in r.stderr


def test_cli_flag_opts_in(tmp_path):
    tasks = tmp_path / "t.jsonl"
    save_tasks([make_task(task_id="mine")], tasks)
    code = ("import sys\nfrom stt_arena.cli import app\nfrom stt_arena.sandbox.executor import Executor\n"
            "from stt_arena.task.io import load_tasks\n"
            "try:\n    app(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "ex = Executor()\ntry:\n    ex.open(load_tasks(%r)[0]).close()\n    print('OPENED')\n"
            "except Exception as e:\n    print('REFUSED', e)\nex.close()\n") % str(tasks)
    refused = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, timeout=60,
                             env=CLEAN)
    allowed = subprocess.run([sys.executable, "-c", code, "--allow-unsandboxed", "tasks", str(tasks)],
                             capture_output=True, text=True, timeout=60, env=CLEAN)
    assert "REFUSED" in refused.stdout and "--allow-unsandboxed" in refused.stdout, refused.stdout + refused.stderr
    assert "OPENED" in allowed.stdout, allowed.stdout + allowed.stderr
