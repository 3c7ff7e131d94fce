"""Domain kit: the helpers every task family needs, written once (AUTHORING.md, "Adding a domain").

* ``world_trigger`` — a declarative trigger that models a world event: activation ``"*"`` by default, a
  time or state condition, old-value guards derived from its own mutations (it never lands on a field
  the agent already changed), an optional call-success guard (``after`` timing) and write-only firing.
* ``cascade`` — a failure cascade: world triggers chained, each after the previous one fired;
  ``writes`` — the env's state-changing tools (what a family's ``on_writes`` must cover).
* ``hm`` / ``at`` / ``shift`` — time formatting over ISO strings.
* ``profile`` — a ``UserProfile`` whose refusals come with structured ``constraints`` (``forbid_ids`` or a
  ``check``), so gate I6 never meets a prose-only refusal.
* ``observed_after`` — detection: ANY read-only call that observes the shifted entity (its id in the
  arguments, or a listing tool that shows it) after the trigger and before the final fix; vacuously true
  when the trigger never fired (avoidance is legitimate, gate I8).
* ``preference_goal`` — a goal item that encodes the user's preference order over what is still
  available in the final state (not an answer key: gate I8; blind retry picks *some* option: gate I10).
* ``pick_query`` — one of >= 3 situations per family, formatted.

Check sources are built with ``generator.checks.custom`` (sandboxed, self-contained source); triggers with
``task.models``. ``env_functions`` copies pure, module-level functions of the env file (the feasibility
rule the env enforces, with the env's imports) into check source, so goal items reuse the env's own
arithmetic instead of mirroring it. The env file cannot import the kit; it may say ``from ._shared import *``
(``envs/_shared.py``), which ``data.env_source`` replaces with that file's text, so each task still carries
one self-contained source that the sandbox vets.
"""
from __future__ import annotations

import ast
import random
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from ..generator import checks
from ..data import env_source
from ..task.models import (
    Activation, ChecklistItem, Effects, Mutation, ProfileConstraint, Trigger, UserProfile,
)

#: log entries that are not tool reads (messages to / from the user)
NON_TOOL = ("respond_to_user", "chat_with_user", "user")


# -- time -------------------------------------------------------------------------------------------

def at(day: datetime, minutes: int) -> str:
    """ISO time ``minutes`` after ``day`` (a datetime at the day's reference hour)."""
    return (day + timedelta(minutes=minutes)).isoformat()


def shift(iso: str, minutes: int) -> str:
    return (datetime.fromisoformat(iso) + timedelta(minutes=minutes)).isoformat()


def hm(iso: str) -> str:
    """'2026-03-02T10:15:00' -> '10:15'."""
    return datetime.fromisoformat(iso).strftime("%H:%M")


def minutes_between(a: str, b: str) -> int:
    return int((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() // 60)


def unique_ids(rng: random.Random, prefix: str, n: int, lo: int = 100, hi: int = 999) -> list[str]:
    return [f"{prefix}-{x}" for x in rng.sample(range(lo, hi), n)]


# -- triggers ---------------------------------------------------------------------------------------

def world_trigger(tid: str, mutations: Sequence[tuple[str, object, object]], *, timing: str = "before",
                  tool: str = "*", when: str = "", on_writes: Iterable[str] = (), succeeded: bool = False,
                  after: Sequence[str] = (), delay: int = 0, clock: float = 0.0) -> Trigger:
    """A world event. ``when``: a time/state condition (``"minutes >= 20"``, ``"get('x.y') == 'z'"``);
    ``on_writes``: fire at the first call of one of these (state-changing) tools, whatever its arguments;
    ``succeeded``: only after a successful call (``after`` timing); every mutation's old value is a guard.
    Conditions never read ``args`` (gate BIND: a trigger bound to one argument is walked around)."""
    parts = [f"get({p!r}) == {o!r}" for p, o, _ in mutations]
    if on_writes:
        parts.insert(0, f"tool in {tuple(on_writes)!r}")
    if succeeded:
        if timing != "after":
            raise ValueError(f"trigger {tid}: a call-success guard needs timing='after'")
        parts.append("bool(result) and result.get('success') is True")
    if when:
        parts.append(f"({when})")
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=" and ".join(parts) or "True",
                   after_triggers=list(after), delay_calls=delay,
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=n) for p, o, n in mutations],
                                   advance_clock_minutes=clock))


def cascade(first: Trigger, stages: Sequence[tuple[str, Sequence[tuple[str, object, object]]]], *,
            timing: str = "after", delay: int = 1, when: str = "") -> list[Trigger]:
    """A failure cascade: ``first``, then each ``(id, mutations)`` stage ``delay`` calls after the previous
    stage fired (activation ``"*"``, old-value guards from its own mutations, ``when`` on every stage)."""
    out, prev = [first], first.id
    for tid, muts in stages:
        out.append(world_trigger(tid, muts, timing=timing, when=when, after=[prev], delay=delay))
        prev = tid
    return out


# -- profile ----------------------------------------------------------------------------------------

def profile(*, goal: str, persona: str, known: dict[str, str], withheld: dict[str, str],
            refusals: Sequence[tuple[str, Sequence[str]]] = (), checked: Sequence[tuple[str, str, str]] = (),
            clarifications: dict[str, str] | None = None,
            fallback: str = "I don't know, please check the system.") -> UserProfile:
    """``refusals``: (prose, forbidden entity ids) — each becomes a refusal and a ``forbid_ids``
    constraint; ``checked``: (id, prose, check source) — constraints checked over the end state/log."""
    if not withheld:
        raise ValueError("a profile needs at least one withheld fact (AUTHORING.md)")
    cons = [ProfileConstraint(id=f"refusal_{i}", kind="refusal", description=text, forbid_ids=list(ids))
            for i, (text, ids) in enumerate(refusals)]
    cons += [ProfileConstraint(id=cid, kind="refusal", description=text, check=src) for cid, text, src in checked]
    for c in cons:
        if not c.forbid_ids and not c.check:
            raise ValueError(f"refusal {c.description!r} names no forbidden id and has no check")
    return UserProfile(goal=goal, persona=persona, known_facts=known, withheld_facts=withheld,
                       clarifications=clarifications or {}, refusals=[t for t, _ in refusals] +
                       [t for _, t, _ in checked], fallback_reply=fallback, constraints=cons)


# -- checklist items --------------------------------------------------------------------------------

def observed_after(cid: str, desc: str, trigger_id: str, entities: Sequence[str], mutating: Sequence[str],
                   list_tools: dict[str, dict] | None = None, require_fired: bool = False,
                   kind: str = "detection") -> ChecklistItem:
    """Detection of a shift: a successful read-only call (any tool not in ``mutating``) whose arguments
    name one of ``entities``, or a call of a listing tool that shows the entity (``list_tools``: tool ->
    the arguments it needs to show it, ``{}`` for any), made after ``trigger_id`` fired (or on the call its
    effect landed before) and before the last successful write after it. True when the trigger never fired
    on this path, unless ``require_fired`` (impossible tasks, where establishing the block is the point)."""
    return checks.custom(cid, desc, f"""
t = _trigger_step(log, {trigger_id!r})
if t is None:
    return {not require_fired!r}
landed = any(e["step"] == t and {trigger_id!r} in e.get("events_before", []) for e in log)
fixes = [e["step"] for e in log if e["mutating"] and e["success"] and (e["step"] > t or (e["step"] == t and landed))]
fix = max(fixes, default=10 ** 9)
ents = {list(entities)!r}
def observes(e):
    if e["tool"] in {NON_TOOL!r} or e["tool"] in {list(mutating)!r} or not e["success"]:
        return False
    need = {dict(list_tools or {})!r}.get(e["tool"])
    if need is not None and all(e["args"].get(k) == v for k, v in need.items()):
        return True
    vals = [str(v) for v in e["args"].values()]
    return any(x in ents for x in vals)
return any(observes(e) and (e["step"] > t or (e["step"] == t and landed)) and e["step"] < fix for e in log)""", kind)


def preference_goal(cid: str, desc: str, helpers: str, forbidden: Sequence[str] = (),
                    kind: str = "goal") -> ChecklistItem:
    """The user's choice rule over the final state. ``helpers`` defines ``_options(state)`` -> list of
    (rank, key) of the options still available and allowed by the profile (the user's order: lower rank
    first), and ``_chosen(state)`` -> the (rank, key) the agent ended with, or None. Passes when the choice
    is among the options and no better-ranked option remains available, and no successful write ever used
    a ``forbidden`` id (a refused action undone later still happened: gate I6)."""
    return checks.custom(cid, desc, helpers.strip() + f"""
if any(e["mutating"] and e["success"] and any(str(v) in {list(forbidden)!r} for v in e["args"].values())
       for e in log):
    return False""" + """
opts = _options(state)
ch = _chosen(state)
if ch is None or ch[1] not in [k for _, k in opts]:
    return False
return all(r >= ch[0] for r, _ in opts)""", kind)


def env_functions(domain: str, *names: str) -> str:
    """Source of the named top-level functions of ``envs/<domain>.py`` (pure functions over the JSON state,
    e.g. a feasibility rule), with the env's own import lines, to define them in check source: one rule for
    the env and its checklist."""
    src = env_source(domain)
    body = ast.parse(src).body
    found = {n.name: ast.get_source_segment(src, n) for n in body if isinstance(n, ast.FunctionDef)}
    missing = [n for n in names if n not in found]
    if missing:
        raise KeyError(f"stt_arena/domains/envs/{domain}.py defines no top-level function {missing}")
    imports = [ast.get_source_segment(src, n) or "" for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return "\n".join(dict.fromkeys(imports)) + "\n" + "\n".join(found[n] or "" for n in names) + "\n"


def writes(domain: str, class_name: str) -> tuple[str, ...]:
    """The env's state-changing tools (its ``MUTATING_TOOLS``, else the naming conventions), in source order:
    what ``world_trigger(on_writes=...)`` should list so that no write walks past a shift."""
    from ..env.schema import tool_specs

    return tuple(s.name for s in tool_specs(env_source(domain), class_name, None) if s.mutating)


# -- queries ----------------------------------------------------------------------------------------

def pick_query(rng: random.Random, templates: Sequence[str], **fields: object) -> str:
    """One of the family's situations (>= 3, written as different situations, not synonyms)."""
    if len(templates) < 3:
        raise ValueError(f"a family needs at least 3 query situations, got {len(templates)}")
    return rng.choice(list(templates)).format(**fields)
