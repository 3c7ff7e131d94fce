"""The process-per-episode floor in scripts/bench_eval.py (issue 16's evidence) measures what it claims:
each episode's tools run in a confined child (own PID namespace, seccomp, no_new_privs) and give the
same results, and the minimal harness makes the same completions with it as in-process."""
import asyncio
import importlib.util
import os
from pathlib import Path

import psutil
import pytest

from stt_arena.data import default_tasks_path
from stt_arena.sandbox.executor import os_layer_status
from stt_arena.sandbox.local import LocalEpisode
from stt_arena.sandbox.spec import episode_spec
from stt_arena.task.io import load_tasks
from stt_arena.task.models import FINAL_MESSAGE

OK, WHY = os_layer_status()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not OK, reason=f"the OS sandbox layer is unavailable here: {WHY}")]


@pytest.fixture(scope="module")
def bench():
    path = Path(__file__).resolve().parents[1] / "scripts" / "bench_eval.py"
    spec = importlib.util.spec_from_file_location("bench_eval_under_test", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _status(pid: int) -> dict:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def test_each_episode_runs_confined_in_a_child_with_the_same_results(bench):
    tasks = load_tasks(default_tasks_path())[:3]
    try:
        zygote = bench.Zygote(tasks)
    except RuntimeError as e:
        pytest.skip(str(e))
    try:
        async def play(task):
            reader, writer = await zygote.open(task)
            steps = [s for s in task.plans.oracle if s.method != FINAL_MESSAGE]
            assert steps
            outs = []
            for st in steps:
                writer.write(bench.json.dumps({"tool": st.method, "args": st.arguments}).encode() + b"\n")
                outs.append(bench.json.loads(await reader.readline()))
                if len(outs) == 1:  # the child is alive now: check how it is confined
                    kids = psutil.Process(zygote.proc.pid).children()
                    assert kids, "no child process served the episode"
                    for kid in kids:
                        st_ = _status(kid.pid)
                        assert st_["Seccomp"].strip() == "2" and st_["NoNewPrivs"].strip() == "1", st_
                        assert os.readlink(f"/proc/{kid.pid}/ns/pid") != os.readlink("/proc/self/ns/pid")
                        assert st_["CapEff"].strip() == "0" * 16
            writer.close()
            return outs

        for task in tasks:
            got = asyncio.run(play(task))
            local = LocalEpisode(episode_spec(task))
            want = [local.call(s.method, s.arguments) for s in task.plans.oracle if s.method != FINAL_MESSAGE]
            assert [g["result"] for g in got] == [w["result"] for w in want]
    finally:
        zygote.close()


def test_the_minimal_harness_makes_the_same_completions_with_a_process_per_episode(bench):
    tasks = bench._copies(load_tasks(default_tasks_path()), 6)
    _cpu, _wall, inproc = bench.run_minimal(tasks, 3, 0.0)
    try:
        _cpu, _wall, isolated = bench.run_minimal(tasks, 3, 0.0, isolated=True)
    except RuntimeError as e:
        pytest.skip(str(e))
    assert isolated == inproc == sum(len(t.plans.oracle) for t in tasks) + sum(
        1 for t in tasks if t.plans.oracle[-1].method != FINAL_MESSAGE)
