"""The user profile in checkable form: constraints (gate I6) and withheld facts (gate ASK)."""
from __future__ import annotations

import json
import re
from typing import Any

from .models import ProfileConstraint, Task


def entity_ids(task: Task) -> set[str]:
    """Ids of the entities in the init config: keys (>= 2 characters) of id-keyed collections, i.e. dicts
    whose values are all objects, at any depth."""
    out: set[str] = set()

    def walk(obj: Any, keyed: bool, depth: int) -> None:
        if depth > 8:
            return
        if isinstance(obj, dict):
            if keyed and obj and all(isinstance(v, dict) for v in obj.values()):
                out.update(k for k in obj if isinstance(k, str) and len(k) >= 2)
            for v in obj.values():
                walk(v, True, depth + 1)
        elif isinstance(obj, list):
            for x in obj:
                walk(x, keyed, depth + 1)

    walk(task.environment.init_config, False, 0)
    return out


def ids_in(text: str, ids: set[str]) -> list[str]:
    return sorted(i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text or ""))


_NEG = re.compile(r"\b(never|not|no|excludes?|avoid|refuses?|forbidden|outside|must not|don't|do not|cannot)\b", re.I)
_KEEP = re.compile(r"\b(other than|except|besides|apart from|only|in place of|instead of|rather than)\b", re.I)


def forbidden_in(text: str, ids: set[str], refusal: bool) -> list[str]:
    """Ids a sentence forbids: every id of a refusal, ids in a negated clause of a fact; never an id that
    follows "other than / except / only" (that one is required, not refused)."""
    out = []
    for clause in re.split(r"[.;:!?]|\bbut\b", text or ""):
        if not refusal and not _NEG.search(clause):
            continue
        for i in ids_in(clause, ids):
            before = clause[: clause.find(i)]
            if not _KEEP.search(before[-40:]):
                out.append(i)
    return sorted(set(out))


def constraints(task: Task) -> tuple[list[ProfileConstraint], list[str]]:
    """The profile's structured constraints plus those derived from refusals and negated facts that name
    entity ids; also the refusals that are prose only (nothing checkable)."""
    up = task.user_profile
    out = list(up.constraints)
    covered = {c.description for c in out if c.description}
    ids = entity_ids(task)
    prose: list[str] = []
    sources: list[tuple[str, object, str]] = [("refusal", i, r) for i, r in enumerate(up.refusals)]
    sources += [("withheld", k, v) for k, v in up.withheld_facts.items()]
    sources += [("known", k, v) for k, v in up.known_facts.items()]
    for kind, key, text in sources:
        if text in covered:
            continue
        found = forbidden_in(text, ids, kind == "refusal")
        if found:
            out.append(ProfileConstraint(id=f"{kind}_{key}", kind=kind, description=text, forbid_ids=found))
        elif kind == "refusal" and not any(c.kind == "refusal" and c.check for c in up.constraints):
            prose.append(text)
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
