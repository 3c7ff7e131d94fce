"""The user profile in checkable form: constraints (gate I6) and withheld facts (gate ASK)."""
from __future__ import annotations

import json
import re
from typing import Any

from ..task.models import ProfileConstraint, Task
from .explore import ArgPool


def entity_ids(task: Task) -> set[str]:
    """Ids of the entities in the init config (keys of id-keyed collections)."""
    pool = ArgPool()
    pool.observe(task.environment.init_config)
    return {str(k) for coll in pool.collections.values() for k in coll if isinstance(k, str) and len(k) >= 2}


def ids_in(text: str, ids: set[str]) -> list[str]:
    return sorted(i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text or ""))


def constraints(task: Task) -> tuple[list[ProfileConstraint], list[str]]:
    """The profile's structured constraints plus those derived from refusals that name entity ids;
    also the refusals that are prose only (nothing checkable)."""
    out = list(task.user_profile.constraints)
    covered = {r for c in out for r in [c.description] if r}
    ids = entity_ids(task)
    prose: list[str] = []
    for i, r in enumerate(task.user_profile.refusals):
        if r in covered:
            continue
        found = ids_in(r, ids)
        if found:
            out.append(ProfileConstraint(id=f"refusal_{i}", kind="refusal", description=r, forbid_ids=found))
        elif not any(c.kind == "refusal" and c.check for c in task.user_profile.constraints):
            prose.append(r)
    return out, prose


def _diff_records(a: Any, b: Any, path: tuple = (), out: dict | None = None) -> dict:
    """Changed leaves grouped by record (the first two path segments)."""
    out = {} if out is None else out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in set(a) | set(b):
            _diff_records(a.get(k), b.get(k), (*path, str(k)), out)
    elif a != b:
        out.setdefault(path[:2], []).append(".".join(path))
    return out


def violations(task: Task, cons: list[ProfileConstraint], init: dict, final: dict, log: list[dict],
               check_results: dict[str, bool] | None = None) -> list[str]:
    """Reasons the end state / log break a constraint (empty: all hold). ``check_results`` holds the
    results of the constraints' own check functions, run by the caller in an episode."""
    trig_paths = {m.state_path for t in task.triggers for m in t.effects.mutations}
    changed = {rec: paths for rec, paths in _diff_records(init, final).items()
               if any(p not in trig_paths for p in paths)}
    out = []
    for c in cons:
        for fid in c.forbid_ids:
            pat = re.compile(rf"(?<![\w-]){re.escape(fid)}(?![\w-])")
            for e in log:
                if e.get("mutating") and e.get("success") and pat.search(json.dumps(e.get("args", {}), default=str)):
                    out.append(f"{c.id}: {e['tool']}({e['args']}) uses forbidden {fid}")
                    break
            else:
                for rec in changed:
                    node: Any = final
                    for seg in rec:
                        node = node.get(seg) if isinstance(node, dict) else None
                    if fid in rec or pat.search(json.dumps(node, default=str)):
                        out.append(f"{c.id}: record {'.'.join(rec)} changed and refers to forbidden {fid}")
                        break
        if c.check and check_results is not None and not check_results.get(f"constraint:{c.id}", False):
            out.append(f"{c.id}: its check fails ({c.description[:80]})")
    return out


def constraint_items(cons: list[ProfileConstraint]) -> list[dict]:
    return [{"id": f"constraint:{c.id}", "check": c.check} for c in cons if c.check]


_TOKEN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\b\d{1,2}:\d{2}\b|[A-Z][A-Z0-9]*-[A-Z0-9-]+|\b\d{2,}(?:\.\d+)?\b")


def enforced_facts(task: Task, ids: set[str] | None = None) -> dict[str, list[str]]:
    """Withheld facts whose distinctive values (ids, times, numbers) appear in a check: key -> tokens."""
    sources = "\n".join(c.check for c in task.checklist + task.infeasible_goal)
    sources += "\n".join(c.check for c in task.user_profile.constraints)
    out = {}
    for k, v in task.user_profile.withheld_facts.items():
        toks = [t for t in _TOKEN.findall(v) if t in sources]
        if toks:
            out[k] = toks
    return out
