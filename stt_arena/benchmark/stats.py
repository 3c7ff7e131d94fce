"""Composition of a task set: type x level counts, domains, tools per environment, plan lengths."""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict

from ..env.schema import tool_specs
from ..generator.family import LEVELS
from ..task.models import ConflictType, Task


def composition(tasks: list[Task]) -> dict:
    cells: Counter[tuple[str, str]] = Counter((str(t.conflict_type), str(t.level)) for t in tasks)
    by_type = {ct.value: {lv: cells.get((ct.value, lv), 0) for lv in LEVELS} for ct in ConflictType}
    levels: Counter[str] = Counter(str(t.level) for t in tasks)
    domains = Counter(t.provenance.domain or t.environment.class_name for t in tasks)
    envs: dict[str, dict] = {}
    for t in tasks:
        key = t.environment.class_name
        if key not in envs:
            specs = tool_specs(t.environment.source, key, t.environment.mutating_tools)
            n_mut = sum(s.mutating for s in specs)
            envs[key] = {"domain": t.provenance.domain, "query_tools": len(specs) - n_mut, "mutating_tools": n_mut}
    plan_len: dict[str, list[int]] = defaultdict(list)
    for t in tasks:
        plan_len[t.level].append(sum(1 for s in t.plans.oracle if s.method != "respond_to_user"))
    return {
        "n": len(tasks),
        "by_type_level": by_type,
        "levels": {lv: levels.get(lv, 0) for lv in LEVELS},
        "level_share": {lv: levels.get(lv, 0) / max(1, len(tasks)) for lv in LEVELS},
        "domains": dict(sorted(domains.items())),
        "environments": envs,
        "oracle_calls": {lv: {"mean": statistics.mean(v), "min": min(v), "max": max(v)}
                         for lv, v in plan_len.items() if v},
    }
