"""`stt-arena validate --ray`: the same reports as a local validation, built-in (in-process) and untrusted
(sandboxed in each Ray worker) tasks, a planted broken task rejected on the cluster too. Skips where Ray
cannot start."""
from __future__ import annotations

import dataclasses
import json

import pytest

from stt_arena.benchmark.gates.gates import Budget
from stt_arena.benchmark.validation import validate_tasks
from stt_arena.benchmark.validity import INVARIANTS
from stt_arena.data import default_tasks_path, examples_path
from stt_arena.task.io import load_tasks, parse_task
from .ray_helpers import two_node_cluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def address():
    with two_node_cluster() as c:
        yield c.address


def _broken():
    """The clinic example whose checklist can never pass: I4 (the oracle passes) must fail."""
    d = json.loads(examples_path().read_text().splitlines()[0])
    d["task_id"] = "example-clinic-broken"
    for item in d["checklist"]:
        item["check"] = "def c(state):\n    return False"
    return parse_task(d, "test")


def _view(reports):
    return [(r.task_id, r.valid, r.errors, dataclasses.asdict(r.validity) if r.validity else None,
             sorted((k, g.ok, g.reason) for k, g in r.gates.items())) for r in reports]


def test_validate_on_ray_equals_local_and_rejects_the_planted_task(address):
    from stt_arena.benchmark.ray_validate import validate_on_ray
    untrusted = load_tasks(examples_path()) + [_broken()]
    local = validate_tasks(untrusted, sandbox=True, workers=1, gates=list(INVARIANTS))
    seen = []
    far = validate_on_ray(untrusted, address, sandbox=True, gates=list(INVARIANTS), trusted=False, budget=None,
                          progress=seen.append)
    assert _view(far) == _view(local) and len(seen) == len(untrusted)
    bad = {r.task_id: r for r in far}["example-clinic-broken"]
    assert not bad.valid and bad.validity is not None and bad.validity.results["I4"] is False
    assert all(r.valid for r in far if r.task_id != "example-clinic-broken")


def test_validate_on_ray_builtin_tasks_with_gates(address):
    from stt_arena.benchmark.ray_validate import validate_on_ray
    bench = load_tasks(default_tasks_path())
    tasks = [next(t for t in bench if t.level == lv) for lv in ("easy", "impossible")]
    gates = list(INVARIANTS) + ["LEVEL", "JUDGE", "I9"]
    budget = Budget(200, 3)
    local = validate_tasks(tasks, sandbox=True, workers=1, gates=gates, trusted=True, budget=budget)
    far = validate_on_ray(tasks, address, sandbox=True, gates=gates, trusted=True, budget=budget)
    assert _view(far) == _view(local) and all(r.valid for r in far)


def test_validate_command_with_ray(address, tmp_path):
    import subprocess
    import sys

    from stt_arena.task.io import save_tasks
    path = tmp_path / "t.jsonl"
    save_tasks(load_tasks(examples_path()) + [_broken()], path)
    p = subprocess.run([sys.executable, "-m", "stt_arena", "validate", str(path), "--gates", "I1-I5", "--ray", address,
                        "--json", str(tmp_path / "r.jsonl")], capture_output=True, text=True, timeout=180)
    assert "example-clinic-broken" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
    rows = {json.loads(x)["task_id"]: json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()}
    assert len(rows) == 4 and rows["example-clinic-broken"]["valid"] is False
    assert p.returncode != 0  # a task failed its gates
