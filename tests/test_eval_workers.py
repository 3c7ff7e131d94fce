"""Sharded runs (--workers N): same episodes and scores as one process, one results store, fatal errors
stop every worker, resume works across worker counts."""
import json

import pytest

from stt_arena.episode.loop import FatalEvalError
from stt_arena.eval.runner import run_eval
from stt_arena.eval.shards import split
from stt_arena.results.store import TRAJECTORY_KEYS
from stt_arena.testing.fake_openai import FakeOpenAIServer

from .eval_helpers import cfg, examples, fake_cfg

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)


def _records(out):
    recs = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    return sorted(({k: r[k] for k in ("task_id", "run", "passed", "fraction", "steps", "events", "final_message",
                                       "n_tool_calls", "grade", "messages")} for r in recs),
                  key=lambda r: (r["task_id"], r["run"]))


def test_split_deals_round_robin_and_shares_slots():
    jobs = list(range(10))
    parts = split(jobs, concurrency=5, workers=2)
    assert parts == [([0, 2, 4, 6, 8], 3), ([1, 3, 5, 7, 9], 2)]
    assert split(jobs, concurrency=2, workers=8) == [([0, 2, 4, 6, 8], 1), ([1, 3, 5, 7, 9], 1)]
    assert split([1], concurrency=4, workers=4) == [([1], 4)]


@pytest.mark.parametrize("agent", ["builtin:retry", "builtin:oracle"])
def test_two_workers_give_the_same_results_as_one(tmp_path, agent):
    one = run_eval(cfg(agent, runs=2, seed=3, concurrency=2), examples(), tmp_path / "one", progress=False)
    two = run_eval(cfg(agent, runs=2, seed=3, concurrency=4, workers=2, sandbox=True), examples(),
                   tmp_path / "two", progress=False)
    assert two["workers"] == 2 and two["completed_episodes"] == 6 and two["errors_this_session"] == 0
    assert one["metrics"]["table3"] == two["metrics"]["table3"]
    assert _records(tmp_path / "one") == _records(tmp_path / "two")


def test_workers_with_an_openai_endpoint(tmp_path):
    """Each worker process talks to the endpoint itself; usage from all workers adds up."""
    script = lambda body: "Task Completed"  # noqa: E731 - every episode ends at once
    with FakeOpenAIServer(script) as sv:
        c = cfg(agent=fake_cfg("agent-m", sv.base_url), runs=2, concurrency=4, workers=2)
        s = run_eval(c, examples(), tmp_path / "o", progress=False)
        assert len(sv.requests) == 6
    assert s["completed_episodes"] == 6
    assert s["usage"]["agent"]["this_session"]["calls"] == 6 and s["usage"]["agent"]["calls"] == 6


def test_fatal_error_in_a_worker_stops_the_run(tmp_path):
    with FakeOpenAIServer(lambda body: {"error": 401, "message": "bad key"}) as sv:
        c = cfg(agent=fake_cfg("agent-m", sv.base_url), runs=2, concurrency=2, workers=2)
        with pytest.raises(FatalEvalError, match="401|bad key"):
            run_eval(c, examples(), tmp_path / "o", progress=False)
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["completed_episodes"] == 0


def test_resume_with_a_different_worker_count(tmp_path):
    out = tmp_path / "o"
    run_eval(cfg("builtin:oracle", runs=1), examples(), out, progress=False)
    s = run_eval(cfg("builtin:oracle", runs=3, workers=3, concurrency=3), examples(), out, progress=False,
                 resume=True)
    assert s["completed_episodes"] == 9
    keys = [(r["task_id"], r["run"]) for r in _records(out)]
    assert len(keys) == len(set(keys)) == 9


def test_store_keeps_slim_records_in_memory(tmp_path):
    from stt_arena.eval.runner import Runner
    import asyncio
    r = Runner(cfg("builtin:oracle"), examples(), tmp_path / "o", progress=False)
    asyncio.run(r.run())
    assert r.store.records and all(not (set(TRAJECTORY_KEYS) & set(rec)) for rec in r.store.records)
    on_disk = [json.loads(x) for x in (tmp_path / "o" / "results.jsonl").read_text().splitlines()]
    assert all(rec["messages"] and rec["steps"] for rec in on_disk)
