"""Stage 2 — dynamic injection: curated env -> conflict assignment -> per type x level a blueprint, an init
config with a recovery alternative, a trigger (declarative, or the paper's code rewrite), concrete mutations
checked against the init state, the user query and profile."""
from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..sandbox.executor import Executor, SandboxError
from ..sandbox.guard import GuardError, check_expression, check_source
from ..sandbox.state import get_path
from ..task.models import FINAL_MESSAGE, Trigger
from .common import Reject, Rejection, StageStats, probe_task, run_items
from .llm import RepairNeeded, Synthesizer
from .schemas import (BlueprintOut, ConflictAssignments, CuratedEnv, DraftTask, InitConfigOut, QueryOut,
                      TriggerCodeOut, TriggerOut)

LEVELS = ("easy", "medium", "hard", "impossible")
_MISSING = object()


@dataclass
class Stage2Options:
    levels: tuple[str, ...] = LEVELS
    min_types: int = 3
    max_types: int = 6
    trigger_mode: str = "declarative"  # or "code": the paper's LLM rewrite of the env class
    clock: dict[str, Any] = field(default_factory=dict)


def _tool_names(env: CuratedEnv) -> set[str]:
    return {t["name"] for t in env.tools}


def _assign_validator(env: CuratedEnv, opts: Stage2Options):
    tools = _tool_names(env)

    def validate(o: ConflictAssignments) -> None:
        types = [a.conflict_type for a in o.assignments]
        if len(types) != len(set(types)):
            raise ValueError(f"conflict types repeat: {types}")
        if not opts.min_types <= len(types) <= opts.max_types:
            raise ValueError(f"assign {opts.min_types} to {opts.max_types} conflict types, got {len(types)}")
        for a in o.assignments:
            unknown = [t for t in [a.activation_operation, *a.observation_operations] if t not in tools]
            if unknown:
                raise ValueError(f"{a.conflict_type}: unknown operations {unknown}; tools are {sorted(tools)}")
    return validate


def _blueprint_validator(env: CuratedEnv, level: str, ct: str = ""):
    tools = _tool_names(env)

    def validate(o: BlueprintOut) -> None:
        if o.level and o.level != level:
            raise ValueError(f"difficulty/level is {o.level!r}; this blueprint is for level {level!r}")
        if ct and o.conflict_type and o.conflict_type != ct:
            raise ValueError(f"conflict_type is {o.conflict_type!r}; this blueprint is for {ct!r}")
        cd = o.blueprint.conflict_design
        if cd.activation_operation not in tools:
            raise ValueError(f"activation_operation {cd.activation_operation!r} is not a tool: {sorted(tools)}")
        if not cd.mutations:
            raise ValueError("conflict_design.mutations is empty")
        if level == "impossible" and not o.blueprint.impossibility_rationale:
            raise ValueError("an impossible task needs impossibility_rationale")
        if level != "impossible" and not o.blueprint.recovery_path:
            raise ValueError("a solvable task needs a recovery_path")
    return validate


def _trigger_validator(env: CuratedEnv, executor: Executor | None = None, init_config: dict | None = None,
                       clock: dict | None = None):
    """Tools, guarded expressions, real effects; then (async, in the sandbox) every mutation's ``old`` against
    the init state: a mismatch goes back to the model as a repair turn naming the path and both values."""
    tools = _tool_names(env)

    async def validate(o: TriggerOut) -> None:
        check(o)
        if executor is not None:
            bad = await asyncio.to_thread(mutation_problems, executor, env.class_name, env.code, init_config or {},
                                          o.triggers, clock)
            if bad:
                raise RepairNeeded("mutation_mismatch", "; ".join(bad) + ". Each mutation's `old` must equal the "
                                   "value at that path in the init config; fix the path or the old value.")

    def check(o: TriggerOut) -> None:
        for t in o.triggers:
            if t.activation.tool not in tools and t.activation.tool != "*":
                raise ValueError(f"trigger {t.id}: activation tool {t.activation.tool!r} is not a tool (or '*')")
            for expr, what in ((t.condition, "condition"), (t.recovery_guard, "recovery_guard")):
                if expr:
                    try:
                        check_expression(expr, f"{what} of {t.id}")
                    except GuardError as e:
                        raise ValueError(str(e)) from None
            for m in t.effects.mutations:
                if m.old == m.new:
                    raise ValueError(f"trigger {t.id}: mutation at {m.state_path} does not change the value")
            if not t.effects.mutations and not t.effects.disable_tools:
                raise ValueError(f"trigger {t.id} has no effect")
    validate.check = check  # type: ignore[attr-defined]  # the sync part, for callers that test a parsed answer
    return validate


def _query_validator(triggers: list[Trigger]):
    secrets = {str(m.new) for t in triggers for m in t.effects.mutations
               if isinstance(m.new, (str, int, float)) and len(str(m.new)) >= 4}

    def validate(o: QueryOut) -> None:
        leaked = [s for s in secrets if s.lower() in o.query.lower()]
        if leaked:
            raise ValueError(f"the query reveals the conflict (mentions {leaked}); rewrite it without them")
    return validate


def mutation_problems(executor: Executor, class_name: str, code: str, init_config: dict,
                      triggers: list[Trigger], clock: dict | None = None) -> list[str]:
    """Mutations whose ``old`` is not the value at the init state (read in the sandbox)."""
    try:
        ep = executor.open(probe_task(class_name, code, init_config, clock=clock))
    except SandboxError as e:
        raise Reject("init_config_invalid", str(e)) from None
    try:
        state = ep.snapshot()
    finally:
        ep.close()
    out = []
    for t in triggers:
        for m in t.effects.mutations:
            cur = get_path(state, m.state_path, _MISSING)
            if cur is _MISSING:
                out.append(f"{t.id}: {m.state_path} does not exist in the init state")
            elif cur != m.old:
                out.append(f"{t.id}: {m.state_path} is {cur!r} in the init config, mutation expects old={m.old!r}")
    return out


async def inject(env: CuratedEnv, ct: str, level: str, assignment: dict, syn: Synthesizer, executor: Executor,
                 opts: Stage2Options) -> list[DraftTask]:
    item = f"{env.env_id}:{ct}:{level}"
    ctx = {"class_name": env.class_name, "code": env.code, "tools": env.tools, "summary": env.summary,
           "seed_query": env.seed_query, "init_config": env.init_config, "conflict_type": ct, "level": level,
           "assignment": assignment}
    bp = await syn.call("blueprint", ctx, BlueprintOut, item=item, validate=_blueprint_validator(env, level, ct))
    ctx = {**ctx, "scenario": bp.scenario, "blueprint": bp.blueprint.model_dump()}
    ic = await syn.call("init_config", ctx, InitConfigOut, item=item)
    ctx = {**ctx, "init_config": ic.init_config, "recovery_alternative": ic.recovery_alternative}
    code, mode = env.code, opts.trigger_mode
    if mode == "code":
        tc = await syn.call("trigger_code", ctx, TriggerCodeOut, item=item)
        try:
            check_source(tc.source, f"rewritten environment {env.class_name}")
        except GuardError as e:
            raise Reject("unsafe_code", str(e)) from None
        code, triggers = tc.source, []
    else:
        triggers = (await syn.call("trigger", ctx, TriggerOut, item=item,
                                   validate=_trigger_validator(env, executor, ic.init_config, opts.clock or None))).triggers
    ctx = {**ctx, "triggers": [t.model_dump() for t in triggers]}
    q = await syn.call("user_query", ctx, QueryOut, item=item, validate=_query_validator(triggers))
    h = hashlib.sha256(item.encode()).hexdigest()[:6]
    return [DraftTask(draft_id=f"draft-{ct}-{level}-{h}", env_id=env.env_id, conflict_type=ct, level=level,
                      class_name=env.class_name, code=code, init_config=ic.init_config, clock=opts.clock,
                      scenario=bp.scenario, blueprint=bp.blueprint, triggers=triggers, trigger_mode=mode,
                      query=q.query, user_profile=q.user_profile, recovery_alternative=ic.recovery_alternative,
                      tools=env.tools, provenance={**env.provenance, "env_id": env.env_id, "env_name": env.name,
                                                   **({"scenario_id": bp.scenario_id} if bp.scenario_id else {}),
                                                   **({"profile_extra": q.profile_extra} if q.profile_extra else {})})]


async def run_stage2(envs: list[CuratedEnv], syn: Synthesizer, executor: Executor, opts: Stage2Options | None = None,
                     progress: bool = True) -> tuple[list[DraftTask], list[Rejection], StageStats]:
    opts = opts or Stage2Options()
    stats = StageStats("stage2")
    rejections: list[Rejection] = []

    async def assign(env: CuratedEnv) -> list:
        ctx = {"class_name": env.class_name, "code": env.code, "tools": env.tools, "summary": env.summary,
               "conflict_codes": env.conflict_codes, "min_types": opts.min_types, "max_types": opts.max_types}
        a = await syn.call("assign_conflicts", ctx, ConflictAssignments, item=env.env_id,
                           validate=_assign_validator(env, opts))
        return [(env, x.conflict_type, lv, x.model_dump(mode="json")) for x in a.assignments for lv in opts.levels]

    env_stats = StageStats("stage2-assign")
    jobs = await run_items(envs, assign, env_stats, rejections, lambda e: e.env_id, "stage2", "stage2 envs", progress)
    stats.rejected.update(env_stats.rejected)
    stats.dry_run_pending += env_stats.dry_run_pending
    stats.n_in = len(jobs) + sum(env_stats.rejected.values())
    kept = await run_items(jobs, lambda j: inject(j[0], j[1], j[2], j[3], syn, executor, opts), stats, rejections,
                           lambda j: f"{j[0].env_id}:{j[1]}:{j[2]}", "stage2", "stage2 type x level", progress)
    stats.kept = len(kept)
    return kept, rejections, stats


__all__ = ["run_stage2", "Stage2Options", "mutation_problems", "LEVELS", "FINAL_MESSAGE"]
