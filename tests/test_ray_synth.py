"""`stt-arena synth stage3 --ray`: each draft's gates run as a Ray task on a simulated 2-node cluster; the kept
tasks and the rejections (the planted shortcut task rejected by the executed I5) equal a local stage 3.
Skips where Ray cannot start."""
from __future__ import annotations

import json

import pytest

from stt_arena.testing.fake_openai import FakeOpenAIServer

from .test_synth_pipeline import FakeSynthLLM, fixture_seeds, llm_args, rejections, synth
from .ray_helpers import two_node_cluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def address():
    with two_node_cluster() as c:
        yield c.address


def _tasks(path):
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    for r in rows:
        r.get("provenance", {}).get("extra", {}).pop("created", None)
    return rows


def test_stage3_gates_on_ray_equal_a_local_stage3(address, tmp_path):
    with FakeOpenAIServer(FakeSynthLLM()) as srv:
        common = llm_args(srv, tmp_path / "cache")
        synth("stage1", *fixture_seeds(), "--out", str(tmp_path / "envs.jsonl"), "--explore-budget", "0", *common)
        synth("stage2", "--envs", str(tmp_path / "envs.jsonl"), "--out", str(tmp_path / "drafts.jsonl"),
              "--levels", "easy", *common)
        for name, extra in (("local", []), ("ray", ["--ray", address])):
            synth("stage3", "--gates", "I1-I5", "--drafts", str(tmp_path / "drafts.jsonl"),
                  "--out", str(tmp_path / f"{name}.jsonl"), *common, *extra)
    local, far = _tasks(tmp_path / "local.jsonl"), _tasks(tmp_path / "ray.jsonl")
    assert len(far) >= 2 and far == local
    rej = rejections(tmp_path / "ray.rejected.jsonl")
    assert rej["shortcut"] and "I5" in rej["shortcut"][0]["detail"]  # the planted shortcut task
    assert rej == rejections(tmp_path / "local.rejected.jsonl")
    # the gates did run as Ray tasks (task events reach the GCS within a few seconds)
    import time

    import ray
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        names = [e.get("name", "") for e in ray.timeline()]
        if any(n.endswith("_gates_task") for n in names):
            break
        time.sleep(0.5)
    assert any(n.endswith("_gates_task") for n in names), sorted(set(names))[:20]
