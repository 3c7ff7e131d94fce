"""Procedural generator and the frozen built-in benchmark."""
import re
from collections import Counter

import pytest

from stt_arena.data import benchmark_path
from stt_arena.benchmark.generate import (
    BENCHMARK_SIZE, LEVEL_MIX, allocate, fingerprint, generate, plan_cells,
)
from stt_arena.benchmark.lint import lint_task
from stt_arena.task.io import dump_task, load_tasks
from stt_arena.task.models import ConflictType
from stt_arena.benchmark.validation import validate_tasks
from stt_arena.benchmark.validity import check_task

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)

TYPES = [c.value for c in ConflictType]


def test_plan_cells_balance_types_and_follow_level_mix():
    cells = plan_cells(BENCHMARK_SIZE, TYPES)
    assert len(cells) == BENCHMARK_SIZE
    assert set(Counter(t for t, _ in cells).values()) == {BENCHMARK_SIZE // 9}
    assert Counter(lv for _, lv in cells) == allocate(BENCHMARK_SIZE, LEVEL_MIX)
    per_type_levels = Counter(cells)
    assert all(per_type_levels[(t, lv)] >= 2 for t in TYPES for lv in LEVEL_MIX)


def test_same_seed_same_tasks_and_different_seed_differs():
    a = [dump_task(t) for t in generate(27, 5, "train")]
    b = [dump_task(t) for t in generate(27, 5, "train")]
    c = [dump_task(t) for t in generate(27, 6, "train")]
    assert a == b and a != c


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_tasks_are_valid(seed):
    for t in generate(36, seed, "train"):
        assert not lint_task(t), (t.task_id, lint_task(t))
        v = check_task(t)
        assert v.valid, (t.task_id, t.provenance.family, v.error, v.reasons)


def test_train_split_never_collides_with_test_tasks():
    test = generate(60, 11, "test")
    fps = {fingerprint(t) for t in test}
    train = generate(60, 11, "train", exclude=fps)
    assert not fps & {fingerprint(t) for t in train}
    # the exclusion really redraws: generating the test split again while excluding it gives new tasks
    again = generate(60, 11, "test", exclude=fps)
    assert not fps & {fingerprint(t) for t in again}


def test_unique_fingerprints_within_a_run():
    tasks = generate(90, 4, "train")
    assert len({fingerprint(t) for t in tasks}) == 90


@pytest.fixture(scope="module")
def bench():
    if not benchmark_path().exists():
        pytest.fail("the built-in benchmark is missing: run python scripts/build_benchmark.py")
    return load_tasks(benchmark_path())


def test_benchmark_composition(bench):
    assert len(bench) >= 240
    types = Counter(t.conflict_type for t in bench)
    assert set(types) == set(TYPES) and min(types.values()) >= 17
    levels = Counter(t.level for t in bench)
    for lv, share in LEVEL_MIX.items():
        assert abs(levels[lv] / len(bench) - share) < 0.02
    assert len({t.provenance.domain for t in bench}) >= 12


V1_SHA256 = "af8fb8d6936b77294343c59eab0ba06b384e2660ee4a1059b3541976c5e9a5f7"


def test_v1_stays_loadable_by_name_and_unchanged():
    from stt_arena.data import file_identity, resolve_tasks
    p = resolve_tasks("v1")
    assert file_identity(p) == {"benchmark": "v1", "tasks_sha256": V1_SHA256}
    assert len(load_tasks(p)) == 252


def test_benchmark_is_the_frozen_generator_output(bench):
    from stt_arena.benchmark.pinned import generate_v2
    if not bench or bench[0].provenance.benchmark != "v2":
        pytest.skip("v2 not shipped: the latest benchmark is v1 (a frozen file, see the test above)")
    attempts = {t.provenance.extra["index"]: t.provenance.extra["attempt"] for t in bench}
    regenerated, _ = generate_v2(len(bench), bench[0].provenance.seed, attempts=attempts, workers=1)
    assert [fingerprint(t) for t in regenerated] == [fingerprint(t) for t in bench]
    # every field, not only the fingerprint: checks, triggers, plans and env source are what the build made
    assert [t.model_dump_json() for t in regenerated] == [t.model_dump_json() for t in bench]


def test_adding_a_family_never_changes_the_pinned_build():
    from dataclasses import replace
    from stt_arena.domains import all_families
    from stt_arena.benchmark.pinned import cell_draws, draw, pinned_families
    fams = all_families()
    extra = replace(fams[0], name="zz-new-family")
    a = cell_draws(60, pinned_families(pool=fams))
    b = cell_draws(60, pinned_families(pool=fams + (extra,)))
    assert [(c, lv, [f.name for f in o]) for c, lv, o in a] == [(c, lv, [f.name for f in o]) for c, lv, o in b]
    assert fingerprint(draw(1, 3, 0, a[3][1], a[3][2])) == fingerprint(draw(1, 3, 0, b[3][1], b[3][2]))


def test_benchmark_is_100_percent_valid(bench):
    reports = validate_tasks(bench, sandbox=False)
    bad = [(r.task_id, r.problems()) for r in reports if not r.valid]
    assert not bad, bad[:5]


def test_benchmark_sample_valid_in_the_sandbox(bench):
    sample = bench[:: max(1, len(bench) // 18)]
    reports = validate_tasks(sample, sandbox=True, workers=2)
    assert all(r.valid for r in reports), [(r.task_id, r.problems()) for r in reports if not r.valid]


def test_hard_plans_longer_than_easy(bench):
    def mean_calls(level):
        xs = [sum(s.method != "respond_to_user" for s in t.plans.oracle) for t in bench if t.level == level]
        return sum(xs) / len(xs)

    assert mean_calls("hard") >= mean_calls("easy") + 2


def _v2(bench):
    if not bench or bench[0].provenance.benchmark != "v2":
        pytest.skip("v2 not shipped")
    return bench


def test_v2_sample_passes_every_per_task_gate(bench):
    from stt_arena.benchmark.validation import ALL_GATES
    tasks = _v2(bench)[::21]  # a spread over types and levels; scripts/build_benchmark.py gates every task
    gates = [g for g in ALL_GATES if g != "I10"]
    reports = validate_tasks(tasks, sandbox=False, workers=2, gates=gates, trusted=True)
    assert all(r.valid for r in reports), [(r.task_id, r.problems()[:2]) for r in reports if not r.valid]


def test_v2_shortcut_policies_pass_at_most_5_percent_per_level(bench):
    from stt_arena.benchmark.gates.shortcuts import run_shortcut_suite
    suite = run_shortcut_suite(_v2(bench))
    assert suite.ok, {lv: c["offenders"] for lv, c in suite.level_checks().items() if not c["ok"]}


def test_v2_composition(bench):
    tasks = _v2(bench)
    assert len(tasks) >= 250
    assert min(Counter(t.conflict_type for t in tasks).values()) >= 26
    assert min(Counter(t.provenance.domain for t in tasks).values()) >= 8


def test_v2_reference_agents_are_separated_from_the_oracle_on_every_level(bench, tmp_path):
    """Oracle 100% per level; stale, retry and no-verify each below it on every level (issue 12 item 6)."""
    from stt_arena.eval.baselines import score_builtins
    rows = score_builtins(_v2(bench), tmp_path, runs=1, sandbox=False, progress=False)
    levels = ("easy", "medium", "hard", "impossible")
    assert all(rows["oracle"][lv] == 1.0 for lv in levels), rows["oracle"]
    for name in ("stale", "retry", "no-verify"):
        assert all(rows[name][lv] < 1.0 for lv in levels), (name, rows[name])


def test_v2_has_no_two_tasks_of_one_family_and_level_differing_only_in_ids_and_values(bench):
    from stt_arena.benchmark.generate import variant_key
    tasks = _v2(bench)
    keys = Counter(variant_key(t) for t in tasks)
    assert max(keys.values()) == 1, [t.task_id for t in tasks if keys[variant_key(t)] > 1]
    # the key sees through ids, numbers and names, not through a different situation
    t = tasks[0]
    ids = sorted(set(re.findall(r"\b[A-Z]{1,5}-\d+\b", t.query)))
    assert ids, t.query
    copy = t.model_copy(update={"query": t.query.replace(ids[0], ids[0].split("-")[0] + "-99999")})
    assert variant_key(copy) == variant_key(t)
    other = t.model_copy(update={"query": "A different situation: " + t.query})
    assert variant_key(other) != variant_key(t)
