"""Task families: a parameterised builder of tasks for one domain and one conflict type."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any, Callable

from ..data import env_source
from ..task.models import (
    Blueprint, ChecklistItem, Clock, ConflictDesign, Environment, Mutation, PlanStep, Provenance,
    ReferencePlans, Task, Trigger, UserProfile,
)

LEVELS = ("easy", "medium", "hard", "impossible")


class GenerationError(RuntimeError):
    """A family could not build a task (a draw whose design does not hold), or a build is misconfigured."""


@dataclass(frozen=True)
class Family:
    """``build(rng, level)`` returns a complete Task (its task_id is replaced by the generator)."""

    name: str
    domain: str
    conflict_type: str
    build: Callable[[random.Random, str], Task]
    levels: tuple[str, ...] = LEVELS


def step(method: str, role: str = "action", **arguments: Any) -> PlanStep:
    return PlanStep(method=method, arguments=arguments, role=role)


def message(content: str) -> PlanStep:
    return PlanStep(method="respond_to_user", arguments={"content": content}, role="message")


def make_task(
    *, family: Family, level: str, class_name: str, init_config: dict, query: str,
    user_profile: UserProfile, triggers: list[Trigger], checklist: list[ChecklistItem],
    normal: list[PlanStep], oracle: list[PlanStep], blueprint: Blueprint | None = None,
    alternatives: list[list[PlanStep]] | None = None, infeasible_goal: list[ChecklistItem] | None = None,
    clock_start: str = "2026-03-02T08:00:00", minutes_per_call: float = 1.0, seed: int = 0,
    params: dict | None = None,
) -> Task:
    """Assemble a Task; the blueprint's conflict design defaults to the first trigger's."""
    if blueprint is None:
        t0 = triggers[0]
        blueprint = Blueprint(
            normal_flow=[s.method for s in normal],
            conflict_design=ConflictDesign(
                activation_operation=t0.activation.tool, trigger_condition=t0.condition, mode=t0.mode,
                recovery_guard=t0.recovery_guard,
                mutations=[Mutation(**m.model_dump()) for t in triggers for m in t.effects.mutations],
                observable_via=sorted({s.method for s in oracle if s.role in ("observe", "requery")}),
            ),
            recovery_path=[s.method for s in oracle if s.role != "observe"],
        )
    task = Task(
        task_id=f"{family.name}-{level}",
        conflict_type=family.conflict_type, level=level,
        environment=Environment(
            class_name=class_name, source=env_source(family.domain), init_config=init_config,
            clock=Clock(start=clock_start, minutes_per_call=minutes_per_call), seed=seed,
        ),
        query=query, user_profile=user_profile, blueprint=blueprint, triggers=triggers,
        checklist=checklist, infeasible_goal=infeasible_goal or [],
        plans=ReferencePlans(normal=normal, oracle=oracle, alternatives=alternatives or []),
        provenance=Provenance(source="builtin-procedural", generator="stt_arena.generator",
                              family=family.name, domain=family.domain, extra={"params": params or {}}),
    )
    return ask_withheld_first(confirm_block(verify_after_fix(task)))


def _readers(task: Task) -> list[str]:
    """The task environment's read-only tools, in source order."""
    from ..env.schema import tool_specs

    env = task.environment
    return [t.name for t in tool_specs(env.source, env.class_name, env.mutating_tools) if not t.mutating]


def verify_after_fix(task: Task) -> Task:
    """Solvable tasks grade post-adaptation verification: after its last write the oracle re-reads (a copy of
    its last query that shares an argument with that write) and a checklist item asks for a successful read
    with any query tool after the last successful write. Tasks that already grade verification are unchanged."""
    if task.impossible or any(c.kind == "verification" for c in task.checklist):
        return task
    from . import checks

    readers = _readers(task)
    oracle = list(task.plans.oracle)
    last = max((i for i, s in enumerate(oracle) if s.role == "action" and s.method not in readers), default=None)
    if last is None or not readers:
        return task
    vals = {json.dumps(v, sort_keys=True) for v in oracle[last].arguments.values()}
    reads = [s for s in oracle[:last] if s.method in readers]
    pick = next((s for s in reversed(reads) if vals & {json.dumps(v, sort_keys=True) for v in s.arguments.values()}),
                reads[-1] if reads else None)
    if pick is None:
        return task
    if not any(s.method in readers for s in oracle[last + 1:]):
        oracle.insert(last + 1, PlanStep(method=pick.method, arguments=dict(pick.arguments), role="verify"))
    else:
        oracle = [s if i <= last or s.method not in readers else s.model_copy(update={"role": "verify"})
                  for i, s in enumerate(oracle)]
    item = checks.verified_after_last_change("verify", "the end state was re-read after the last change", readers)
    return task.model_copy(update={"plans": task.plans.model_copy(update={"oracle": oracle}),
                                   "checklist": [*task.checklist, item]})


def confirm_block(task: Task) -> Task:
    """Impossible tasks: the oracle's reads after its first write attempt confirm the block and rule out the
    alternatives on fresh state before it tells the user; they are its verification (role ``verify``), so the
    no-verify agent concludes on stale state and fails the detection items that need a read after the shift."""
    if not task.impossible:
        return task
    readers = set(_readers(task))
    first = next((i for i, s in enumerate(task.plans.oracle) if s.role == "action" and s.method not in readers), None)
    if first is None:
        return task
    oracle = [s.model_copy(update={"role": "verify"}) if i > first and s.method in readers else s
              for i, s in enumerate(task.plans.oracle)]
    return task.model_copy(update={"plans": task.plans.model_copy(update={"oracle": oracle})})


def ask_withheld_first(task: Task) -> Task:
    """The oracle asks the user for every withheld fact a check relies on, before its first write
    (gate ASK): a good agent does not act on facts it was never told."""
    from ..task.profile import enforced_facts

    facts = [k for k in enforced_facts(task) if not any(
        s.method == "chat_with_user" and k.replace("_", " ") in str(s.arguments.get("content", ""))
        for s in task.plans.oracle)]
    if not facts:
        return task
    oracle = list(task.plans.oracle)
    first = next((i for i, s in enumerate(oracle) if s.role == "action"), len(oracle))
    asks = [PlanStep(method="chat_with_user", role="message",
                     arguments={"content": f"Before I change anything: could you tell me the {k.replace('_', ' ')}?"})
            for k in facts]
    plans = task.plans.model_copy(update={"oracle": oracle[:first] + asks + oracle[first:]})
    return task.model_copy(update={"plans": plans})
