"""Gates I6-I9, BIND (triggers fire on what they model), LEVEL (measured level) and ASK (askable facts).

Each gate is a function of a :class:`Ctx` returning a :class:`GateResult`. The policy on avoiding a trigger
(AUTHORING.md): a path that reaches the user's goal under the profile's constraints is a valid solution
whatever it did; detection and recovery items apply only when the shift happened in that episode.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

from ...task.models import CHAT_WITH_USER, FINAL_MESSAGE, PlanStep, Task
from ...user.scripted import ScriptedUser
from . import GateResult
from .explore import SearchResult, search, strip_triggers
from .play import Played, play
from ...task.profile import constraint_items, constraints, enforced_facts, violations

CONDITIONAL_KINDS = ("detection", "recovery")   # apply only when the shift happened


@dataclass
class Budget:
    sequences: int = 3000      # tool-call sequences per search
    depth: int = 4             # calls per sequence


@dataclass
class Ctx:
    task: Task
    open_episode: Callable[[Task], Any]
    trusted: bool = True                     # search in-process (trusted code) or by sandboxed replay
    budget: Budget = field(default_factory=Budget)
    cache: dict = field(default_factory=dict)

    @cached_property
    def cons(self):
        return constraints(self.task)

    def play(self, steps, task: Task | None = None) -> Played:
        return play(task or self.task, list(steps), self.open_episode, constraint_items(self.cons[0]))

    @cached_property
    def oracle(self) -> Played:
        return self.play(self.task.plans.oracle)

    def violations(self, p: Played) -> list[str]:
        return violations(self.task, self.cons[0], p.init_state, p.state, p.log, p.extra)

    def goal_items(self) -> list[dict]:
        items = self.task.infeasible_goal if self.task.impossible else \
            [c for c in self.task.checklist if c.kind == "goal"]
        return [c.model_dump() for c in items]

    def search(self, triggers: bool, **kw) -> SearchResult:
        key = ("search", triggers, tuple(sorted(kw.items())))
        if key not in self.cache:
            task = self.task if triggers else strip_triggers(self.task)
            self.cache[key] = search(task, self.goal_items(), budget=self.budget.sequences,
                                     max_depth=self.budget.depth,
                                     open_episode=None if self.trusted else self.open_episode, **kw)
        return self.cache[key]


def _steps(path) -> list[dict]:
    return [a.as_step() for a in path]


def _confirmed(ctx: Ctx, hit, task: Task) -> Played | None:
    """Replay a search hit in a fresh episode: evidence is only what a plain replay reproduces."""
    p = ctx.play(_steps(hit.path), task)
    reached = p.goal_reached if ctx.task.impossible else all(p.checks.get(i["id"]) for i in ctx.goal_items())
    return p if reached else None


# -- I6 ---------------------------------------------------------------------------------------------

def gate_i6(ctx: Ctx) -> GateResult:
    """Every end state the checklist accepts satisfies the user's profile constraints."""
    cons, prose = ctx.cons
    res = GateResult("I6", True, stats={"constraints": len(cons)})
    bad = ctx.violations(ctx.oracle)
    if bad:
        return GateResult("I6", False, "oracle_violates_profile", bad[0],
                          {"violations": bad, "steps": [s.model_dump() for s in ctx.task.plans.oracle]})
    sr = ctx.search(True, max_hits=6)
    res.stats.update(sr.stats())
    for hit in sr.hits:
        p = _confirmed(ctx, hit, ctx.task)
        if p is None:
            continue
        bad = ctx.violations(p)
        if bad:
            code = "infeasible_goal_includes_forbidden" if ctx.task.impossible else "goal_accepts_forbidden"
            return GateResult("I6", False, code, bad[0], {"violations": bad, "steps": _steps(hit.path)}, res.stats)
    if prose:
        return GateResult("I6", False, "prose_only_refusal",
                          f"refusal not in checkable form: {prose[0][:100]}", {"refusals": prose}, res.stats)
    return res


# -- I7 ---------------------------------------------------------------------------------------------

def gate_i7(ctx: Ctx) -> GateResult:
    """Impossible tasks: no tool-call sequence reaches the infeasible goal (triggers active), while the
    same search does reach it with the triggers removed (the search is not blind)."""
    if not ctx.task.impossible:
        return GateResult("I7", True, detail="n/a (solvable task)")
    if not ctx.task.infeasible_goal:
        return GateResult("I7", False, "no_infeasible_goal", "impossible task without infeasible_goal items")
    with_t = ctx.search(True, max_hits=6)
    stats = {"with_triggers": with_t.stats()}
    for hit in with_t.hits:
        p = _confirmed(ctx, hit, ctx.task)
        if p is not None and not ctx.violations(p):
            return GateResult("I7", False, "solvable_by_search",
                              f"{len(hit.path)} calls reach the infeasible goal (fired: {hit.fired or 'none'})",
                              {"steps": _steps(hit.path), "fired": hit.fired}, stats)
    without = ctx.search(False, max_hits=1)
    stats["without_triggers"] = without.stats()
    if not without.hits:
        return GateResult("I7", False, "search_blind",
                          "the search cannot reach the goal even without triggers: impossibility not certified",
                          {}, stats)
    return GateResult("I7", True, stats=stats)


# -- I8 ---------------------------------------------------------------------------------------------

def gate_i8(ctx: Ctx) -> GateResult:
    """Outcome checks, not answer keys: without the triggers the static plan reaches the goal items, and
    every searched path that reaches the goal under the constraints while avoiding a shift is accepted."""
    if ctx.task.impossible:
        return GateResult("I8", True, detail="n/a (impossible task)")
    goals = [c.id for c in ctx.task.checklist if c.kind == "goal"]
    if not goals:
        return GateResult("I8", False, "no_goal_item", "no checklist item of kind 'goal'")
    static = ctx.play(ctx.task.plans.normal, strip_triggers(ctx.task))
    failed = [g for g in goals if not static.checks.get(g)]
    if failed and _in_code(static):
        failed = []  # an in-code trigger cannot be removed: the premise of the answer-key check is absent
    if failed:
        return GateResult("I8", False, "answer_key",
                          f"without any trigger the static plan fails goal items {failed}: they encode the "
                          f"post-shift answer", {"items": failed, "errors": static.errors})
    sr = ctx.search(True, max_hits=6)
    oracle_fired = set(ctx.oracle.fired)
    tail = _verification_tail(ctx.task.plans.oracle)
    kinds = {c.id: c.kind for c in ctx.task.checklist}
    sources = {c.id: c.check for c in ctx.task.checklist}
    for hit in sr.hits:
        missed = oracle_fired - set(hit.fired)
        if not missed:
            continue  # met every shift the oracle meets: detection may rightly be required
        p = ctx.play([*_steps(hit.path), *tail])
        missed = oracle_fired - set(p.fired)  # the tail moves the clock too: judge by what fired in the replay
        if not missed or ctx.violations(p) or not all(p.checks.get(g) for g in goals):
            continue
        # a conditional item is about the shifts whose ids its source names (all shifts when it names none)
        rejected = [i for i, ok in p.checks.items() if not ok and kinds.get(i) in CONDITIONAL_KINDS
                    and (any(f"'{t}'" in sources[i] or f'"{t}"' in sources[i] for t in missed)
                         or (not p.fired and not any(t.id in sources[i] for t in ctx.task.triggers)))]
        if rejected:
            return GateResult("I8", False, "avoidance_rejected",
                              f"a path that reaches the goal without shift {sorted(missed)} fails {rejected}",
                              {"steps": _steps(hit.path) + tail, "items": rejected, "fired": p.fired},
                              sr.stats())
    return GateResult("I8", True, stats=sr.stats())


def _in_code(p: Played) -> bool:
    return any(e.get("type") == "in_code_trigger" for e in p.events)


def _verification_tail(oracle: list[PlanStep]) -> list[dict]:
    """The oracle's steps after its last write attempt (verification reads, final message)."""
    last = max((i for i, s in enumerate(oracle) if s.role == "action"), default=-1)
    return [s.model_dump() for s in oracle[last + 1:]]


# -- I9 ---------------------------------------------------------------------------------------------

def gate_i9(ctx: Ctx) -> GateResult:
    """Every trigger matters: removing any one changes the oracle's or the static plan's check results."""
    base = (ctx.oracle.signature(), _static_goal(ctx, ctx.task))
    for t in ctx.task.triggers:
        reduced = strip_triggers(ctx.task, {t.id})
        sig = (ctx.play(ctx.task.plans.oracle, reduced).signature(), _static_goal(ctx, reduced))
        if sig == base and ctx.task.impossible and ctx.task.infeasible_goal:
            # an impossible task's trigger may only close a way the reference plans never try:
            # it matters when, without it, some searched sequence reaches the goal
            found = search(reduced, ctx.goal_items(), budget=ctx.budget.sequences, max_depth=ctx.budget.depth,
                           max_hits=1, open_episode=None if ctx.trusted else ctx.open_episode)
            if found.hits:
                continue
        if sig == base:
            return GateResult("I9", False, "decorative_trigger",
                              f"removing trigger {t.id!r} changes no check result of the oracle or static plan",
                              {"trigger": t.id})
    return GateResult("I9", True, stats={"triggers": len(ctx.task.triggers)})


def _static_goal(ctx: Ctx, task: Task) -> tuple:
    p = ctx.play(task.plans.normal, task)
    return p.signature()


# -- BIND -------------------------------------------------------------------------------------------

def gate_bind(ctx: Ctx) -> GateResult:
    """Triggers fire on what they model: no call other than the activation tool (or the tools its condition
    names) changes the entity a trigger shifts while that trigger is armed and has not fired (else another
    tool or order walks around it)."""
    watch: dict[str, list[str]] = {}
    for t in ctx.task.triggers:
        ents = sorted({m.state_path.rsplit(".", 1)[0] if "." in m.state_path else m.state_path
                       for m in t.effects.mutations})
        if ents:
            watch[t.id] = ents
    if not watch:
        return GateResult("BIND", True, detail="no state-changing triggers")
    sr = search(ctx.task, [], budget=max(300, ctx.budget.sequences // 3), max_depth=min(3, ctx.budget.depth),
                open_episode=None if ctx.trusted else ctx.open_episode, watch=watch,
                watch_after={t.id: list(t.after_triggers) for t in ctx.task.triggers})
    by_id = {t.id: t for t in ctx.task.triggers}
    for tid, touches in sr.touches.items():
        act, cond = by_id[tid].activation.tool, by_id[tid].condition
        tools = _tools_bound(cond)  # a '*' trigger whose condition names tools fires only on those calls
        other = [x for x in touches if (act != "*" and x["tool"] != act) or _args_bound(cond)
                 or (tools is not None and x["tool"] not in tools)]
        if other:
            x = other[0]
            return GateResult("BIND", False, "entity_touched_before_trigger",
                              f"{x['tool']} changes {x['entity']} before trigger {tid!r} fires "
                              f"(activation: {act}, condition: {by_id[tid].condition[:80]})",
                              {"trigger": tid, "call": {"method": x["tool"], "arguments": x["arguments"]},
                               "after": x["after"]}, sr.stats())
    return GateResult("BIND", True, stats=sr.stats())


def _tools_bound(expr: str) -> set[str] | None:
    """The tools a condition requires (``tool == 'x'``, ``tool in ('x', 'y')`` in a conjunction), or None."""
    try:
        tree = ast.parse(expr or "True", mode="eval").body
    except SyntaxError:
        return None
    parts = tree.values if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And) else [tree]
    for p in parts:
        if isinstance(p, ast.Compare) and isinstance(p.left, ast.Name) and p.left.id == "tool" and len(p.ops) == 1:
            try:
                val = ast.literal_eval(p.comparators[0])
            except ValueError:
                continue
            if isinstance(p.ops[0], ast.Eq) and isinstance(val, str):
                return {val}
            if isinstance(p.ops[0], ast.In) and isinstance(val, (tuple, list, set)):
                return {str(v) for v in val}
    return None


def _args_bound(expr: str) -> bool:
    try:
        tree = ast.parse(expr or "True", mode="eval")
    except SyntaxError:
        return False
    return any(isinstance(n, ast.Name) and n.id in ("args", "called", "count_calls") for n in ast.walk(tree))


# -- LEVEL ------------------------------------------------------------------------------------------

def level_features(ctx: Ctx) -> dict:
    """What the paper's levels are defined by, measured on the oracle trace."""
    o = ctx.oracle
    trig = [e if e.get("type") == "trigger" else {**e, "trigger_id": e["flag"]}
            for e in o.events if e.get("type") in ("trigger", "in_code_trigger")]
    if not trig:
        return {"fired": 0}
    first = min(e.get("activated_at", e["step"]) for e in trig)
    calls = [c for c in o.calls if c.get("step") is not None]
    at = next((c for c in calls if c["step"] == first), None)
    explicit = bool(at and not at["result"].get("success"))
    later_fail = any(not c["result"].get("success") for c in calls if c["step"] > first)
    mutating = {e["step"] for e in o.log if e.get("mutating") and e.get("success")}
    writes = sum(1 for c in calls if c["step"] > first and c["step"] in mutating)
    by_id = {t.id: t for t in ctx.task.triggers}
    fired = {e["trigger_id"] for e in trig}
    cascade = any(by_id[i].after_triggers for i in fired if i in by_id)
    delayed = any(by_id[i].delay_calls for i in fired if i in by_id)
    seen = "explicit" if explicit and not delayed else "deferred" if later_fail or (explicit and delayed) else "silent"
    return {"fired": len(fired), "observability": seen, "corrective_writes": writes, "cascade": cascade,
            "replanning_steps": sum(1 for c in calls if c["step"] > first)}


def measured_level(f: dict) -> str:
    if not f.get("fired"):
        return "unknown"
    if f["fired"] >= 2 or f["cascade"] or f["corrective_writes"] >= 4 or f["observability"] == "silent":
        return "hard"
    if f["observability"] == "explicit" and f["corrective_writes"] <= 1 and f["fired"] == 1:
        return "easy"
    return "medium"


def gate_level(ctx: Ctx) -> GateResult:
    """The declared level matches the features measured on the oracle trace (impossible: declared only)."""
    if ctx.task.impossible:
        return GateResult("LEVEL", True, detail="impossible: certified by I7")
    f = level_features(ctx)
    lv = measured_level(f)
    if lv != ctx.task.level:
        return GateResult("LEVEL", False, f"measured_{lv}",
                          f"declared {ctx.task.level}, measured {lv}: {f}", {"features": f})
    return GateResult("LEVEL", True, stats=f)


# -- ASK --------------------------------------------------------------------------------------------

def gate_ask(ctx: Ctx) -> GateResult:
    """Withheld facts that a check enforces are revealed by the scripted user when asked, and the oracle
    asks for each before its last write."""
    facts = enforced_facts(ctx.task)
    if not facts:
        return GateResult("ASK", True, detail="no enforced withheld fact")
    import asyncio

    async def _revealed(messages: list[str]) -> list[set[str]]:
        user = ScriptedUser()
        user.reset(ctx.task)
        out = []
        for m in messages:
            await user.reply(m)
            out.append(set(user.revealed))
        return out

    for k in facts:
        direct = asyncio.run(_revealed([f"Could you tell me the {k.replace('_', ' ')}?"]))[-1]
        if k not in direct:
            return GateResult("ASK", False, "withheld_not_revealed",
                              f"the scripted user does not reveal {k!r} when asked about it", {"fact": k})
    oracle = ctx.task.plans.oracle
    chats = [(i, s) for i, s in enumerate(oracle) if s.method == CHAT_WITH_USER]
    revealed_at: dict[str, int] = {}
    if chats:
        seq = asyncio.run(_revealed([str(s.arguments.get("content", "")) for _, s in chats]))
        for (i, _), rev in zip(chats, seq):
            for k in rev:
                revealed_at.setdefault(k, i)
    last_write = max((i for i, s in enumerate(oracle) if s.role == "action"
                      and s.method not in (CHAT_WITH_USER, FINAL_MESSAGE)), default=len(oracle))
    missing = [k for k in facts if revealed_at.get(k, 10 ** 9) > last_write]
    if missing:
        return GateResult("ASK", False, "withheld_not_asked",
                          f"the oracle relies on withheld {missing} without asking the user first",
                          {"facts": {k: facts[k] for k in missing}})
    return GateResult("ASK", True, stats={"facts": sorted(facts)})


TASK_GATES: dict[str, Callable[[Ctx], GateResult]] = {
    "I6": gate_i6, "I7": gate_i7, "I8": gate_i8, "I9": gate_i9, "BIND": gate_bind, "LEVEL": gate_level,
    "ASK": gate_ask,
}
