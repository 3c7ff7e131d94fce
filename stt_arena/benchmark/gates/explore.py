"""Bounded breadth-first search over tool-call sequences: the gates' adversary.

Arguments come from the task's init config, from the reference plans, and from ids observed in results as
the search goes (an id created by one call is offered to the next). States are deduplicated on the env's
public state plus the trigger engine's state, so the search reaches each distinct state by its shortest
(earliest-in-time) sequence. The local backend clones a runtime in-process (trusted code only); the
sandbox backend replays each sequence in a fresh sandboxed episode (untrusted code, slower).
"""
from __future__ import annotations

import copy
import hashlib
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ...env.schema import tool_specs
from ...sandbox.runtime import EnvRuntime
from ...sandbox.spec import episode_spec
from ...sandbox.state import StatePathError, get_path
from ...task.models import CHAT_WITH_USER, FINAL_MESSAGE, Task

MAX_VALUES = 10        # candidate values per parameter
MAX_ACTIONS = 48       # argument combinations per tool and node


@dataclass(frozen=True)
class Action:
    tool: str
    args_json: str

    @property
    def args(self) -> dict:
        return json.loads(self.args_json)

    @classmethod
    def of(cls, tool: str, args: dict) -> "Action":
        return cls(tool, json.dumps(args, sort_keys=True, default=str))

    def as_step(self) -> dict:
        return {"method": self.tool, "arguments": self.args}


def _scalar(v: Any) -> bool:
    return (isinstance(v, str) and 0 < len(v) <= 40 and "\n" not in v) or (isinstance(v, int) and not isinstance(v, bool))


class ArgPool:
    """Candidate argument values: by field name, by collection (dict keyed by id), and from the plans."""

    def __init__(self) -> None:
        self.by_key: dict[str, dict[Any, None]] = {}
        self.collections: dict[str, dict[Any, None]] = {}
        self.plan_args: dict[str, list[dict]] = {}
        self.version = 0

    def _add(self, table: dict, key: str, values: Iterable) -> None:
        bucket = table.setdefault(key, {})
        for v in values:
            if _scalar(v) and v not in bucket:
                bucket[v] = None
                self.version += 1

    def observe(self, obj: Any, key: str | None = None, depth: int = 0) -> None:
        if depth > 8:
            return
        if isinstance(obj, dict):
            if key is not None and obj and all(isinstance(v, dict) for v in obj.values()):
                self._add(self.collections, key, obj.keys())
            for k, v in obj.items():
                if _scalar(v):
                    self._add(self.by_key, k, [v])
                elif isinstance(v, list) and v and all(_scalar(x) for x in v):
                    self._add(self.by_key, k, v)
                else:
                    self.observe(v, k, depth + 1)
        elif isinstance(obj, list):
            for x in obj:
                self.observe(x, key, depth + 1)

    def add_plan(self, tool: str, args: dict) -> None:
        known = self.plan_args.setdefault(tool, [])
        if args not in known:
            known.append(dict(args))
        for k, v in args.items():
            vals = v if isinstance(v, list) else [v]
            self._add(self.by_key, k, vals)

    def candidates(self, tool: str, param: str, schema: dict) -> list:
        typ = schema.get("type")
        if "enum" in schema:
            return list(schema["enum"])[:MAX_VALUES]
        if typ == "boolean":
            return [True, False]
        out: dict[Any, None] = {}
        for a in self.plan_args.get(tool, []):
            if param in a and not isinstance(a[param], (dict, list)):
                out[a[param]] = None
        stem = param[:-4] if param.endswith("_ids") else param[:-3] if param.endswith("_id") else param
        names = [param, stem]
        for coll in (stem + "s", stem + "es", stem[:-1] + "ies" if stem.endswith("y") else "", stem):
            if coll in self.collections:
                # newest ids first: ids created during the episode are the interesting ones
                for v in reversed(list(self.collections[coll])):
                    out.setdefault(v, None)
        for n in names:
            for v in reversed(list(self.by_key.get(n, {}))):
                out.setdefault(v, None)
        vals = list(out)
        if typ == "integer":
            vals = [v for v in vals if isinstance(v, int)]
        elif typ == "string":
            vals = [v for v in vals if isinstance(v, str)]
        elif typ == "array" or param.endswith("_ids"):
            plan_lists = [a[param] for a in self.plan_args.get(tool, []) if isinstance(a.get(param), list)]
            return (plan_lists + [[v] for v in vals if not isinstance(v, list)])[:MAX_VALUES]
        return vals[:MAX_VALUES]

    def actions(self, spec) -> list[Action]:
        props: dict = spec.parameters.get("properties", {})
        required = list(spec.parameters.get("required", []))
        cands = {p: self.candidates(spec.name, p, s) for p, s in props.items()}
        bases = [dict(a) for a in self.plan_args.get(spec.name, [])]
        if not bases:
            base = {p: cands[p][0] for p in required if cands.get(p)}
            if len(base) < len(required):
                return []
            bases = [base]
        out: dict[Action, None] = {}
        for base in bases:
            out.setdefault(Action.of(spec.name, base), None)
        for base in bases:
            for p in props:
                for v in cands.get(p, []):
                    if base.get(p) != v:
                        out.setdefault(Action.of(spec.name, {**base, p: v}), None)
                    if len(out) >= MAX_ACTIONS:
                        return list(out)
        # two required parameters varied together (e.g. a new booking id and a target slot)
        if len(required) >= 2:
            a, b = required[:2]
            for va in cands.get(a, [])[:6]:
                for vb in cands.get(b, [])[:8]:
                    out.setdefault(Action.of(spec.name, {**bases[0], a: va, b: vb}), None)
                    if len(out) >= MAX_ACTIONS:
                        return list(out)
        return list(out)


def task_pool(task: Task) -> ArgPool:
    pool = ArgPool()
    pool.observe(task.environment.init_config)
    for plan in [task.plans.normal, task.plans.oracle, *task.plans.alternatives]:
        for st in plan:
            if st.method not in (FINAL_MESSAGE, CHAT_WITH_USER):
                pool.add_plan(st.method, st.arguments)
    return pool


def strip_triggers(task: Task, drop: set[str] | None = None) -> Task:
    """A copy of ``task`` without the triggers in ``drop`` (all when None) and those depending on them."""
    if drop is None:
        keep = []
    else:
        gone = set(drop)
        changed = True
        while changed:
            changed = False
            for t in task.triggers:
                if t.id not in gone and any(d in gone for d in t.after_triggers):
                    gone.add(t.id)
                    changed = True
        keep = [t for t in task.triggers if t.id not in gone]
    return task.model_copy(update={"triggers": keep})


# -- backends ---------------------------------------------------------------------------------

class LocalBackend:
    """Clones one in-process runtime's state: fast, for trusted task code only."""

    def __init__(self, task: Task):
        self.rt = EnvRuntime(episode_spec(task))
        self.root = self._save()

    def _save(self):
        rt, tr = self.rt, self.rt.triggers
        return (copy.deepcopy(vars(rt.env)), rt.clock.elapsed, rt.rng.getstate(), rt.step, list(rt.log),
                list(rt.events), dict(tr.fired), set(tr.disabled), list(tr.pending), set(tr.failed))

    def _restore(self, blob) -> None:
        rt, tr = self.rt, self.rt.triggers
        env_vars, rt.clock.elapsed, rng, rt.step, log, events, fired, disabled, pending, failed = blob
        vars(rt.env).clear()
        vars(rt.env).update(copy.deepcopy(env_vars))
        rt.rng.setstate(rng)
        rt.log[:] = log
        rt.events[:] = events
        tr.fired, tr.disabled, tr.pending, tr.failed = dict(fired), set(disabled), list(pending), set(failed)

    def step(self, blob, action: Action):
        self._restore(blob)
        out = self.rt.call(action.tool, action.args)
        return self._save(), out

    def state(self) -> dict:
        return self.rt.snapshot()

    def initial_state(self) -> dict:
        self._restore(self.root)
        return self.rt.snapshot()

    def log(self) -> list[dict]:
        return self.rt.log

    def key(self) -> str:
        tr = self.rt.triggers
        blob = json.dumps([self.rt.snapshot(), sorted(tr.fired.items()), sorted(tr.disabled),
                           sorted(t["id"] for _, t, _ in tr.pending)], sort_keys=True, default=str)
        return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()

    def fired(self) -> set[str]:
        return set(self.rt.triggers.fired)

    def run_checks(self, items: list[dict]) -> list[dict]:
        return self.rt.run_checks(items)


class ReplayBackend:
    """Replays the whole sequence in a fresh episode per node (e.g. sandboxed: untrusted code)."""

    def __init__(self, task: Task, open_episode: Callable[[Task], Any]):
        self.task, self.open = task, open_episode
        self.root: tuple[Action, ...] = ()
        self._ep: Any = None
        self._cache: dict = {}

    def step(self, blob: tuple, action: Action):
        if self._ep is not None:
            self._ep.close()
        self._ep = ep = self.open(self.task)
        out = None
        for a in (*blob, action):
            out = ep.call(a.tool, a.args)
        snap, log = ep.snapshot(), ep.log()
        ids = {t.id for t in self.task.triggers}  # the operation log labels each firing by its trigger id
        self._cache = {"state": snap, "log": log, "fired": {lab for e in log for lab in e.get("events", []) if lab in ids}}
        return (*blob, action), out

    def state(self) -> dict:
        return self._cache["state"]

    def initial_state(self) -> dict:
        ep = self.open(self.task)
        try:
            return ep.snapshot()
        finally:
            ep.close()

    def log(self) -> list[dict]:
        return self._cache["log"]

    def key(self) -> str:
        blob = json.dumps([self._cache["state"], sorted(self._cache["fired"])], sort_keys=True, default=str)
        return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()

    def fired(self) -> set[str]:
        return set(self._cache["fired"])

    def run_checks(self, items: list[dict]) -> list[dict]:
        return self._ep.run_checks(items)

    def close(self) -> None:
        if self._ep is not None:
            self._ep.close()
            self._ep = None


# -- the search -----------------------------------------------------------------------------------

@dataclass
class Hit:
    path: list[Action]
    fired: list[str]
    state: dict
    log: list[dict]

    def steps(self) -> list[dict]:
        return [a.as_step() for a in self.path]


@dataclass
class SearchResult:
    explored: int = 0              # tool-call sequences executed
    distinct_states: int = 0
    max_depth: int = 0
    exhausted: bool = False        # every sequence up to max_depth was tried within the budget
    seconds: float = 0.0
    hits: list[Hit] = field(default_factory=list)
    touches: dict[str, list[dict]] = field(default_factory=dict)  # entity -> calls that changed it (unfired)

    def stats(self) -> dict:
        return {"sequences": self.explored, "distinct_states": self.distinct_states, "max_depth": self.max_depth,
                "exhausted": self.exhausted, "seconds": round(self.seconds, 3)}


def search(task: Task, goal_items: list[dict], *, budget: int = 3000, max_depth: int = 4,
           max_hits: int = 8, open_episode: Callable[[Task], Any] | None = None,
           watch: dict[str, list[str]] | None = None, watch_after: dict[str, list[str]] | None = None,
           include_read_only: bool = False) -> SearchResult:
    """Breadth-first search for sequences whose end state passes every item of ``goal_items``.

    ``watch``: {trigger id: [entity paths]}; calls that change a watched entity while that trigger is armed
    (every trigger of ``watch_after[id]`` fired before the call) and has not fired are recorded in
    ``touches`` (the binding gate's evidence). Read-only tools are tried only when they activate a trigger,
    unless ``include_read_only``.
    """
    t0 = time.perf_counter()
    env = task.environment
    specs = tool_specs(env.source, env.class_name, env.mutating_tools)
    activations = {t.activation.tool for t in task.triggers}
    specs = [s for s in specs if s.mutating or include_read_only or s.name in activations]
    pool = task_pool(task)
    backend = LocalBackend(task) if open_episode is None else ReplayBackend(task, open_episode)
    res = SearchResult()
    seen: set[str] = set()
    if isinstance(backend, LocalBackend):
        seen.add(backend.key())
    watch = watch or {}
    root_seen = _watched_now(backend.initial_state(), watch) if watch else None
    queue: deque = deque([(backend.root, (), root_seen, frozenset())])
    after_of = watch_after or {}
    action_cache: dict[tuple[str, int], list[Action]] = {}
    try:
        while queue:
            blob, path, before, fired_before = queue.popleft()
            if len(path) >= max_depth:
                continue
            for spec in specs:
                ck = (spec.name, pool.version)
                if ck not in action_cache:
                    action_cache[ck] = pool.actions(spec)
                for act in action_cache[ck]:
                    if res.explored >= budget:
                        return res
                    child, out = backend.step(blob, act)
                    res.explored += 1
                    pool.observe(out.get("result"))
                    now_seen = _watched_now(backend.state(), watch) if watch else None
                    fired_now = frozenset(backend.fired())
                    if watch:
                        armed = {tid for tid in watch if all(a in fired_before for a in after_of.get(tid, ()))}
                        _record_touches(res, fired_now, {t: watch[t] for t in armed}, before, now_seen, act, path)
                    k = backend.key()
                    if k in seen:
                        continue
                    seen.add(k)
                    res.distinct_states += 1
                    npath = (*path, act)
                    res.max_depth = max(res.max_depth, len(npath))
                    if goal_items:
                        checks = backend.run_checks(goal_items)
                        if checks and all(c["passed"] for c in checks):
                            res.hits.append(Hit(list(npath), sorted(backend.fired()), backend.state(),
                                                list(backend.log())))
                            if len(res.hits) >= max_hits:
                                return res
                            continue  # a goal state: do not extend it
                    queue.append((child, npath, now_seen, fired_now))
        res.exhausted = True
        return res
    finally:
        res.seconds = time.perf_counter() - t0
        if isinstance(backend, ReplayBackend):
            backend.close()


def _watched_now(state: dict, watch: dict[str, list[str]]) -> dict:
    return {p: _get(state, p) for paths in watch.values() for p in paths}


def _record_touches(res: SearchResult, fired: frozenset, watch: dict[str, list[str]], before: dict | None,
                    after: dict | None, act: Action, path: tuple) -> None:
    for tid, paths in watch.items():
        if tid in fired:
            continue
        for p in paths:
            if (after or {}).get(p) != (before or {}).get(p):
                res.touches.setdefault(tid, []).append(
                    {"entity": p, "tool": act.tool, "arguments": act.args, "after": [a.as_step() for a in path]})


def _get(state: dict, path: str):
    try:
        return json.dumps(get_path(state, path), sort_keys=True, default=str)
    except StatePathError:
        return None
