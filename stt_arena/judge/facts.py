"""What an impossible task's final message must name, and what it must not propose, read from the task.

* Blocking facts: one per trigger mutation (and per id in a trigger's condition or in the rationale):
  the entity's ids and names (the mutated record, the ids its new value points to, their ``name``/``label``
  in ``environment.init_config``), the record's clock times (``"10:00"`` for a slot, with its kind word),
  the collection's kind word (``slots`` -> ``slot``), the new value's words/numbers and the field's words.
* Refused entities: ids in the user's refusals that the query does not use (and not after "other than"),
  their names, and for refusals without ids their content words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..task.models import Task

ID_RE = re.compile(r"\b(?:[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+|[A-Z]{2,}\d+[A-Z0-9]*|[A-Z]\d+)\b")
NAME_FIELDS = ("name", "label", "title", "display_name", "full_name")
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT(\d\d):(\d\d)")
STOP = set("""a an the any other another than more less per from into onto with without for and or not no all
only such e.g eg its their your our this that these those today tonight tomorrow date time after before across
using use used via through never instead pick picking""".split())


def stem(word: str) -> str:
    w = word.lower().rstrip("s")
    return w[:6] if len(w) > 6 else w


def kind_words(collection: str) -> list[str]:
    out = []
    for w in (collection, collection.split("_")[-1]):
        w = w.replace("_", " ")
        w = w[:-3] + "y" if w.endswith("ies") else w[:-1] if w.endswith("s") and not w.endswith("ss") else w
        if len(w) >= 3 and w not in out:
            out.append(w)
    return out


@dataclass
class BlockingFact:
    """One way a message can name what blocks the goal."""
    source: str                                        # the state path or trigger it comes from
    aliases: list[str] = field(default_factory=list)   # ids (case-sensitive) and names (case-insensitive)
    times: list[str] = field(default_factory=list)     # "HH:MM" of the record; count only with a kind word
    kinds: list[str] = field(default_factory=list)     # "slot", "quota", ...
    values: list[str] = field(default_factory=list)    # the new value: "offline", "23.9", "P1", ...
    fields: list[str] = field(default_factory=list)    # stems of the mutated field's words
    others: list[str] = field(default_factory=list)    # other ids of the same collection (a wrong blocker)


@dataclass
class TaskFacts:
    facts: list[BlockingFact]
    refused_ids: list[str]
    refused_names: list[str]
    refused_words: list[str]
    refused_numbers: list[str]   # the user's limits: "90 EUR", "12:30", "10 km"
    siblings: list[str]          # other entities of the blocked kinds (alternatives the message may rule out)
    query_ids: list[str]
    query_names: list[str]
    mutating: set[str]


def index_config(cfg: Any) -> dict[str, tuple[str, dict]]:
    """id -> (collection, record) over the init config's tables (dicts of records, lists with *_id)."""
    idx: dict[str, tuple[str, dict]] = {}

    def walk(node: Any, coll: str, depth: int) -> None:
        if depth > 4:
            return
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(v, (dict, list)):
                    if isinstance(v, dict) and isinstance(k, str):
                        idx.setdefault(k, (coll, v))
                    walk(v, k if depth == 0 else coll, depth + 1)
        elif isinstance(node, list):
            own = [f"{w}_id" for w in kind_words(coll)] + ["id"]
            for v in node:
                if isinstance(v, dict):
                    key = next((k for k in own if isinstance(v.get(k), str)), None) or next(
                        (k for k, x in v.items() if k.endswith("_id") and isinstance(x, str)), None)
                    if key:
                        idx.setdefault(v[key], (coll, v))
                    walk(v, coll, depth + 1)
    walk(cfg, "", 0)
    return idx


def record_names(idx: dict, key: str) -> list[str]:
    rec = idx.get(key, ("", {}))[1]
    return [rec[f] for f in NAME_FIELDS if isinstance(rec.get(f), str) and len(rec[f]) >= 3]


def _times(idx: dict, key: str) -> list[str]:
    rec = idx.get(key, ("", {}))[1]
    out = []
    for v in rec.values():
        m = ISO_TIME.match(v) if isinstance(v, str) else None
        if m and f"{m[1]}:{m[2]}" not in out:
            out.append(f"{m[1]}:{m[2]}")
    return out


def _value_tokens(v: Any) -> list[str]:
    if isinstance(v, bool) or v is None:
        return []
    if isinstance(v, (int, float)):
        return [] if v in (0, 1) else [f"{v:g}"]
    if isinstance(v, str):
        if ISO_TIME.match(v) or re.fullmatch(r"\d{4}-\d\d-\d\d", v):
            return []
        s = v.replace("_", " ").strip()
        return [s] + [w for w in s.split() if len(w) >= 4 and w != s] if s else []
    if isinstance(v, (list, tuple)):
        return [t for x in v for t in _value_tokens(x)]
    return []


def _parse_path(path: str) -> tuple[str, list[str], str | None]:
    """``"slots.SL-1.status"`` -> ("slots", ["SL-1"], "status"); selectors ``[k=v]`` give v as a key."""
    segs = re.findall(r"[^.\[\]]+|\[[^\]]*\]", path)
    coll = segs[0] if segs else ""
    keys, fld = [], None
    rest = segs[1:]
    for i, s in enumerate(rest):
        if s.startswith("["):
            keys.append(s[1:-1].split("=", 1)[-1].strip("'\" "))
        elif i == len(rest) - 1 and (len(rest) > 1 or not ID_RE.fullmatch(s)) and not s.isupper():
            fld = s
        else:
            keys.append(s)
    return coll, keys, fld


def _fact(idx: dict, source: str, coll: str, keys: list[str], fld: str | None, new: Any, old: Any = None,
          own: tuple[str, ...] = ()) -> BlockingFact:
    """``own``: the user's ids (from the query): a new value naming them is not the blocker."""
    f = BlockingFact(source=source, kinds=kind_words(coll) if coll else [])
    for k in keys:
        f.aliases += [k] + record_names(idx, k)
        f.times += _times(idx, k)
    if isinstance(new, list) and isinstance(old, list):
        new = [x for x in new if x not in old]  # a list grew: the added items are the news
    f.values = [v for v in _value_tokens(new) if v not in own]
    for v in (new if isinstance(new, list) else [new]):
        if isinstance(v, str) and v in own:
            continue
        if isinstance(v, str) and v in idx:
            f.aliases += [v] + record_names(idx, v)
            if not f.kinds:
                f.kinds = kind_words(idx[v][0])
    f.others = [k for k, (c, _) in idx.items() if c == coll and k not in f.aliases and ID_RE.fullmatch(k)]
    if fld:
        f.fields = [stem(w) for w in fld.split("_") if len(w) >= 3 and w not in ("status", "max", "min", "the")]
    return f


@lru_cache(maxsize=64)
def _facts_cached(task_json: str) -> TaskFacts:
    return _build(Task.model_validate_json(task_json))


def task_facts(task: Task) -> TaskFacts:
    return _facts_cached(task.model_dump_json())


def _build(task: Task) -> TaskFacts:
    cfg = task.environment.init_config or {}
    idx = index_config(cfg)
    facts: list[BlockingFact] = []
    own = tuple(sorted(set(ID_RE.findall(task.query))))
    for tr in task.triggers:
        for m in tr.effects.mutations:
            coll, keys, fld = _parse_path(m.state_path)
            facts.append(_fact(idx, m.state_path, coll, keys, fld, m.new, m.old, own))
        for lit in re.findall(r"['\"]([^'\"]+)['\"]", tr.condition or ""):
            if lit in idx:
                facts.append(_fact(idx, f"{tr.id}: {lit}", idx[lit][0], [lit], None, None))
    for lit in ID_RE.findall(task.blueprint.impossibility_rationale or ""):
        if lit in idx:
            facts.append(_fact(idx, f"rationale: {lit}", idx[lit][0], [lit], None, None))
    profile = task.user_profile
    own_text = " ".join([task.query, profile.goal or "", " ".join(map(str, profile.known_facts.values()))])
    query_ids = sorted(set(ID_RE.findall(task.query)))
    refused_ids, refused_words = [], []
    for r in profile.refusals:
        ids = [i for i in ID_RE.findall(re.split(r"other than", r)[0]) if i not in query_ids]
        refused_ids += [i for i in ids if i not in refused_ids]
        if not ID_RE.findall(r):
            own_words = {stem(w) for w in re.findall(r"[A-Za-z]+", own_text)}
            refused_words += [w.lower() for w in re.findall(r"[A-Za-z]{4,}", r)
                              if w.lower() not in STOP and stem(w) not in own_words]
    limit = re.compile(r"(?<![\w-])\d+(?::\d\d)?(?:\s?[a-zA-Z]{1,3}\b)?")
    numbers = sorted({n for r in profile.refusals for n in limit.findall(r) if re.search(r":|[a-zA-Z]", n)})
    blocked = {a for f in facts for a in f.aliases}
    colls = {idx[a][0] for a in blocked if a in idx}
    siblings = sorted(k for k, (c, _) in idx.items() if c in colls and k not in blocked and k not in query_ids
                      and k not in refused_ids and ID_RE.fullmatch(k))
    from ..env.schema import tool_specs
    try:
        mutating = {s.name for s in tool_specs(task.environment.source, task.environment.class_name,
                                               task.environment.mutating_tools) if s.mutating}
    except Exception:  # unparsable env code: fall back to "every tool may write"
        mutating = set()
    return TaskFacts(facts=facts, refused_ids=refused_ids,
                     refused_names=[n for i in refused_ids for n in record_names(idx, i)],
                     refused_words=sorted(set(refused_words)), refused_numbers=numbers, siblings=siblings,
                     query_ids=query_ids,
                     query_names=[n for i in query_ids for n in record_names(idx, i)], mutating=mutating)
