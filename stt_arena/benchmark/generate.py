"""Procedural generator: as many fresh, valid tasks as asked, with the paper's level mix.

The shipped benchmark is ``generate(BENCHMARK_SIZE, BENCHMARK_SEED, split="test")``; the train split
draws from a disjoint seed space and is checked against the benchmark's fingerprints, so no train task
repeats a test task's environment + init config + query.
"""
from __future__ import annotations

import hashlib
import json
import re
import random
from collections import defaultdict
from typing import Callable, Iterator

from ..domains import all_families
from ..task.models import ConflictType, Task
from ..generator.family import LEVELS, Family, GenerationError

LEVEL_MIX = {"easy": 0.31, "medium": 0.30, "hard": 0.26, "impossible": 0.13}
BENCHMARK_SEED = 2026
BENCHMARK_SIZE = 252
_TRAIN_SEED_OFFSET = 1_000_003
_MAX_TRIES = 20




def fingerprint(task: Task) -> str:
    env = task.environment
    blob = json.dumps([env.class_name, env.init_config, task.query], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


_ID = re.compile(r"\b[A-Z]{1,5}-?\d+[A-Z0-9-]*\b|\b[A-Z]{6}\b")  # SL-6838, KL442, booking codes
_NUM = re.compile(r"\d+(?:[.:]\d+)*")                              # 1800, 10:30, 2026-05-23 parts
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)*\b")            # people, places, companies


def skeleton(text: str) -> str:
    """``text`` with ids, numbers, times and proper names replaced by placeholders."""
    return _NAME.sub("<name>", _NUM.sub("<n>", _ID.sub("<id>", text)))


def variant_key(task: Task) -> str:
    """What two tasks of one family and level must not share: the same situation (query skeleton), the same
    shift (mutated paths), the same reference plan (tool sequence) and the same refusals, i.e. a copy that
    differs only in ids and values."""
    blob = json.dumps([task.provenance.family, task.level, skeleton(task.query),
                       sorted(skeleton(m.state_path) for t in task.triggers for m in t.effects.mutations),
                       [s.method for s in task.plans.oracle], [skeleton(r) for r in task.user_profile.refusals]])
    return hashlib.sha256(blob.encode()).hexdigest()


def allocate(n: int, weights: dict[str, float]) -> dict[str, int]:
    """Largest-remainder split of ``n`` by ``weights`` (deterministic)."""
    total = sum(weights.values())
    raw = {k: n * w / total for k, w in weights.items()}
    out = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: (out[k] - raw[k], list(raw).index(k)))[: n - sum(out.values())]:
        out[k] += 1
    return out


def plan_cells(n: int, types: list[str]) -> list[tuple[str, str]]:
    """(type, level) slots: types balanced, each type's levels following the paper's mix."""
    per_type = allocate(n, {t: 1.0 for t in types})
    level_totals = allocate(n, LEVEL_MIX)
    cells: list[tuple[str, str]] = []
    # distribute each level across types round-robin so both marginals hold
    remaining = dict(per_type)
    order = [lv for lv in LEVELS for _ in range(level_totals[lv])]
    ti = 0
    for lv in order:
        for _ in range(len(types)):
            t = types[ti % len(types)]
            ti += 1
            if remaining[t] > 0:
                remaining[t] -= 1
                cells.append((t, lv))
                break
    return cells


def _families_by_type(families: tuple[Family, ...]) -> dict[str, list[Family]]:
    by: dict[str, list[Family]] = defaultdict(list)
    for f in families:
        by[f.conflict_type].append(f)
    return by


def iter_generate(
    n: int, seed: int, split: str = "test", families: tuple[Family, ...] | None = None,
    validate: Callable[[Task], bool] | None = None, exclude: set[str] | None = None,
    types: list[str] | None = None,
) -> Iterator[Task]:
    """Yield ``n`` tasks. ``validate`` (e.g. invariants) rejects a draw, which is then redrawn."""
    fams = families or all_families()
    by_type = _families_by_type(fams)
    types = [t for t in (types or [c.value for c in ConflictType]) if t in by_type]
    if not types:
        raise GenerationError("no task families registered for the requested conflict types")
    base = seed + (_TRAIN_SEED_OFFSET if split == "train" else 0)
    rng = random.Random(base)
    seen = set(exclude or ())
    counters: dict[tuple[str, str], int] = defaultdict(int)
    for i, (ctype, level) in enumerate(plan_cells(n, types)):
        options = [f for f in by_type[ctype] if level in f.levels]
        if not options:
            raise GenerationError(f"no family of type {ctype} supports level {level}")
        k = counters[(ctype, level)]
        counters[(ctype, level)] += 1
        for attempt in range(_MAX_TRIES):
            fam = options[(k + attempt) % len(options)]
            sub = random.Random(f"{base}:{i}:{attempt}:{rng.random()}")
            task = fam.build(sub, level)
            fp = fingerprint(task)
            if fp in seen or (validate is not None and not validate(task)):
                continue
            seen.add(fp)
            prefix = "stt" if split == "test" else split
            task = task.model_copy(update={"task_id": f"{prefix}-{ctype.lower()}-{level}-{i:05d}"})
            task.provenance.seed = seed
            task.provenance.extra = {**task.provenance.extra, "split": split, "index": i, "attempt": attempt}
            yield task
            break
        else:
            raise GenerationError(f"could not draw a fresh valid task for {ctype}/{level} after {_MAX_TRIES} tries")


def generate(n: int, seed: int, split: str = "test", **kw) -> list[Task]:
    return list(iter_generate(n, seed, split, **kw))


def benchmark_fingerprints() -> set[str]:
    from ..data import benchmark_path
    from ..task.io import iter_tasks

    p = benchmark_path()
    return {fingerprint(t) for t in iter_tasks(p)} if p.exists() else set()
