"""Every built-in task family, at every level, over several seeds: a valid task (I1-I5) and lint."""
import random

import pytest

from stt_arena.domains import all_families
from stt_arena.benchmark.lint import lint_task
from stt_arena.benchmark.validity import check_task

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)

CASES = [(f, lvl) for f in all_families() for lvl in f.levels]


@pytest.mark.parametrize("family,level", CASES, ids=[f"{f.name}-{lvl}" for f, lvl in CASES])
def test_family_level_valid(family, level):
    for seed in range(3):
        task = family.build(random.Random(seed * 7919 + 1), level)
        assert task.level == level and task.conflict_type == family.conflict_type
        problems = lint_task(task)
        assert not problems, problems
        v = check_task(task)
        assert v.valid, (seed, v.error, v.reasons)
