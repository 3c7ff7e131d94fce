"""`stt-arena eval --ray` on a multi-node cluster simulated on this machine (ray.cluster_utils.Cluster):
same records as a local run, a node killed mid-run loses nothing (its episodes are infra retries), a
SIGKILLed driver resumes to the full duplicate-free set, --rpm holds across nodes. Skips where Ray cannot
start; one cluster for the module."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from stt_arena.data import examples_path
from stt_arena.eval.ray_shards import RateSlots
from stt_arena.eval.runner import run_eval
from stt_arena.task.io import load_tasks
from stt_arena.testing.fake_openai import FakeOpenAIServer

from .eval_helpers import cfg, examples, fake_cfg
from .ray_helpers import STORE_BYTES, two_node_cluster

pytestmark = pytest.mark.slow
TIMING = {"timing", "started", "finished"}  # wall-clock fields (simulated times and step indices stay)


def _strip(obj):
    """A record without its timing fields (wall clock, latencies), recursively."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in TIMING and not k.endswith(("_s", "_ms"))}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _records(out: Path) -> dict:
    recs = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    keys = [(r["task_id"], r["run"]) for r in recs]
    assert len(keys) == len(set(keys)), "duplicate records"
    return {(r["task_id"], r["run"]): _strip(r) for r in recs}


@pytest.fixture(scope="module")
def cluster():
    with two_node_cluster() as c:
        yield c


def _tasks():
    """The examples and one built-in task per level (different domains and plan lengths)."""
    from stt_arena.data import default_tasks_path
    bench = load_tasks(default_tasks_path())
    picked = [next(t for t in bench if t.level == lv) for lv in ("easy", "medium", "hard", "impossible")]
    return examples() + picked


@pytest.mark.parametrize("agent", ["builtin:oracle", "builtin:no-verify"])
def test_ray_run_equals_local_run_task_by_task(cluster, tmp_path, agent):
    tasks = _tasks()
    local = run_eval(cfg(agent, runs=2, seed=3, concurrency=2, sandbox=True), tasks, tmp_path / "local",
                     progress=False)
    far = run_eval(cfg(agent, runs=2, seed=3, concurrency=3, sandbox=True, ray=cluster.address), tasks,
                   tmp_path / "ray", progress=False)
    assert far["completed_episodes"] == len(tasks) * 2 and far["errors_this_session"] == 0
    assert far["metrics"]["table3"] == local["metrics"]["table3"]
    a, b = _records(tmp_path / "local"), _records(tmp_path / "ray")
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == b[key], key


def test_a_node_killed_mid_run_loses_nothing(cluster, tmp_path):
    """The extra node's actor dies with episodes in flight: they are re-run on the other nodes and counted as
    infrastructure retries (node_died), never as failures; every episode is recorded once."""
    doomed = cluster.add_node(num_cpus=1, object_store_memory=STORE_BYTES)
    cluster.wait_for_nodes()
    busy_on_doomed = threading.Event()
    arrived = []

    def script(body):
        # each episode is one slow reply; concurrency 6 over 3 workers is 2 slots each, so when the 6th request
        # of the first wave has arrived every worker, the doomed one included, has 2 episodes in flight
        arrived.append(body)
        if len(arrived) == 6:
            busy_on_doomed.set()
        return {"delay": 3.0, "content": "Task Completed"}

    seen = []

    def on_record(rec):
        seen.append(rec)

    killer = threading.Thread(target=lambda: busy_on_doomed.wait(60) and cluster.remove_node(doomed,
                                                                                           allow_graceful=False))
    with FakeOpenAIServer(script) as sv:
        c = cfg(agent=fake_cfg("agent-m", sv.base_url), runs=4, concurrency=6, ray=cluster.address,
                episode_retries=2)
        killer.start()
        s = run_eval(c, examples(), tmp_path / "o", progress=False, on_record=on_record)
        killer.join(60)
        n_requests = len(sv.requests)
    assert not killer.is_alive() and doomed not in cluster.worker_nodes  # the node was removed mid-run
    assert s["completed_episodes"] == 12 and s["errors_this_session"] == 0
    lost = s["episode_retries_this_session"].get("node_died", 0)
    assert lost >= 1, s["episode_retries_this_session"]
    assert n_requests >= 12
    assert len(_records(tmp_path / "o")) == 12
    assert all(r["passed"] is not None for r in seen)
    assert not (tmp_path / "o" / "errors.jsonl").exists() or not (tmp_path / "o" / "errors.jsonl").read_text().strip()


def test_driver_sigkill_then_resume_gives_the_full_duplicate_free_set(cluster, tmp_path):
    out = tmp_path / "o"
    env = {**os.environ, "OPENAI_API_KEY": "sk-test", "PYTHONUNBUFFERED": "1"}
    with FakeOpenAIServer(lambda body: {"delay": 0.4, "content": "Task Completed"}) as sv:
        cmd = [sys.executable, "-m", "stt_arena", "eval", "--model", "agent-m", "--base-url", sv.base_url,
               "--tasks", str(examples_path()), "--runs", "6", "--concurrency", "2", "--ray", cluster.address,
               "--no-progress", "--output", str(out), "--max-retries", "1"]
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        res = out / "results.jsonl"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and p.poll() is None:
            if res.exists() and len(res.read_text().splitlines()) >= 3:
                break
            time.sleep(0.05)
        assert p.poll() is None, p.stdout.read().decode()[-3000:] if p.stdout else ""
        p.send_signal(signal.SIGKILL)
        p.wait(30)
        first = len(res.read_text().splitlines())
        assert 3 <= first < 18
        done = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    recs = _records(out)
    assert len(recs) == 18 and {r for _, r in recs} == set(range(6))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["completed_episodes"] == 18


def test_rpm_holds_across_nodes(cluster, tmp_path):
    """Two actors on two nodes share one --rpm budget: request arrivals at the server are spaced by 60/rpm."""
    rpm = 240.0  # one request every 0.25 s for the whole cluster
    with FakeOpenAIServer(lambda body: "Task Completed") as sv:
        agent = fake_cfg("agent-m", sv.base_url).model_copy(update={"rpm": rpm})
        c = cfg(agent=agent, runs=4, concurrency=4, ray=cluster.address)
        s = run_eval(c, examples(), tmp_path / "o", progress=False)
        times = sorted(sv.request_times)
    assert s["completed_episodes"] == 12 and len(times) == 12
    # one budget for both nodes: requests 2-12 span >= 10 x 0.25 s (two budgets: ~5 x 0.25 s), the median gap
    # is 0.25 s (two budgets: ~0.125 s) and no 1 s window holds more than 4 (+2: a request sent late, e.g. on a
    # worker's new connection, meets the next one's slot)
    assert times[-1] - times[1] >= 10 * 60 / rpm - 0.5, times  # 2.0 s; two budgets would give ~1.25 s
    assert max(sum(1 for t in times if a <= t < a + 1.0) for a in times) <= 6, times
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    assert gaps[len(gaps) // 2] == pytest.approx(60 / rpm, abs=0.03), gaps


def test_each_node_runs_its_share_of_the_concurrency_at_once(cluster, tmp_path):
    """concurrency 8 over 2 nodes: 4 episodes at a time on each (a worker running its episodes one after the
    other, e.g. as an async actor, would have at most 2 requests open at once)."""
    with FakeOpenAIServer(lambda body: {"delay": 0.5, "content": "Task Completed"}) as sv:
        c = cfg(agent=fake_cfg("agent-m", sv.base_url), runs=4, concurrency=8, ray=cluster.address)
        s = run_eval(c, examples(), tmp_path / "o", progress=False)
        times = sorted(sv.request_times)
    assert s["completed_episodes"] == 12
    assert max(sum(1 for t in times if a <= t < a + 0.45) for a in times) >= 5, times


def test_several_workers_per_node(cluster, tmp_path):
    """--workers 2 with --ray: two eval workers on each 1-CPU node (half a CPU each), same records."""
    one = run_eval(cfg("builtin:oracle", runs=2, seed=1, concurrency=2, sandbox=True), examples(), tmp_path / "a",
                   progress=False)
    two = run_eval(cfg("builtin:oracle", runs=2, seed=1, concurrency=4, workers=2, sandbox=True, ray=cluster.address),
                   examples(), tmp_path / "b", progress=False)
    assert two["completed_episodes"] == 6 and one["metrics"]["table3"] == two["metrics"]["table3"]
    assert _records(tmp_path / "a") == _records(tmp_path / "b")


def test_a_node_whose_cpus_are_taken_is_left_out_not_waited_for(cluster, tmp_path, monkeypatch):
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    import stt_arena.eval.ray_shards as rs

    @ray.remote(num_cpus=1)
    class Hog:
        def ready(self):
            return True
    other = next(n["NodeID"] for n in ray.nodes() if n["Alive"]
                 and n["NodeID"] != ray.get_runtime_context().get_node_id())
    hog = Hog.options(scheduling_strategy=NodeAffinitySchedulingStrategy(other, soft=False)).remote()
    ray.get(hog.ready.remote())
    monkeypatch.setattr(rs, "START_TIMEOUT_S", 8.0)
    try:
        s = run_eval(cfg("builtin:oracle", runs=2, concurrency=2, ray=cluster.address), examples(), tmp_path / "o",
                     progress=False)
    finally:
        ray.kill(hog)
    assert s["completed_episodes"] == 6 and s["errors_this_session"] == 0


def test_every_worker_gone_stops_the_run_and_nothing_is_recorded_twice(cluster):
    import ray

    from stt_arena.episode.loop import FatalEvalError
    from stt_arena.eval.ray_shards import RayRun
    jobs = [(t, r) for r in range(2) for t in examples()]
    run = RayRun(cfg("builtin:oracle", concurrency=2, ray=cluster.address), "sys", jobs)
    for a in run.actors:
        ray.kill(a)
    for a in run.actors:  # ray.kill is asynchronous: wait until each is gone (else it might still run a chunk)
        for _ in range(300):
            try:
                ray.get(a.node.remote(), timeout=10)
            except ray.exceptions.RayActorError:
                break
            time.sleep(0.1)
    recs, errs = [], []
    try:
        with pytest.raises(FatalEvalError, match="every Ray eval worker is gone.*on --resume"):
            run.collect(recs.append, errs.append)
    finally:
        run.close()
    assert recs == [] and errs == []  # the episodes are left for --resume, not failed


def test_rate_slots_space_requests_per_endpoint():
    slots = RateSlots()
    t0 = time.time()
    first = slots.reserve("a", 0.5)
    assert t0 <= first <= time.time()
    assert slots.reserve("a", 0.5) == pytest.approx(first + 0.5)
    assert slots.reserve("a", 0.5) == pytest.approx(first + 1.0)
    assert slots.reserve("b", 0.5) <= time.time()  # another endpoint has its own budget


def test_ray_client_addresses_are_refused_with_the_way_that_works():
    pytest.importorskip("ray", reason="Ray is not installed")
    from stt_arena.eval.ray_shards import RayUnavailable, connect
    with pytest.raises(RayUnavailable, match="ray job submit"):
        connect("ray://127.0.0.1:10001")


def test_without_ray_the_flag_says_how_to_install(tmp_path):
    """Ray hidden from the interpreter: --ray fails before any episode, naming the extra."""
    code = ("import sys; sys.modules['ray'] = None; from stt_arena.cli import app; sys.argv[0] = 'stt-arena'; "
            "app()")
    out = tmp_path / "o"
    p = subprocess.run([sys.executable, "-c", code, "eval", "--model", "builtin:oracle", "--ray", "auto",
                        "--output", str(out), "--limit", "1"], capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    assert "pip install 'stt-arena[ray]'" in p.stdout + p.stderr
    assert not (out / "results.jsonl").exists()


def test_ray_local_starts_and_stops_its_own_cluster(cluster, tmp_path):
    """--ray local: a one-machine cluster for the run (never a stale one named in /tmp/ray), shut down after."""
    out = tmp_path / "o"
    p = subprocess.run([sys.executable, "-m", "stt_arena", "eval", "--model", "builtin:oracle", "--tasks",
                        str(examples_path()), "--runs", "1", "--ray", "local", "--no-progress", "--output", str(out)],
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    assert len(_records(out)) == 3
