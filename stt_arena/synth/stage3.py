"""Stage 3 — dual-agent assessment: checklist and check functions, a plan agent's plans, the executed
invariants I1-I5 (plans replayed in the sandbox through ``stt_arena.benchmark.validity.check_task``), a checking
agent's verdict on the three invariants, and the LLM consistency audit. Output: benchmark tasks."""
from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass, field

from ..sandbox.executor import Executor
from ..sandbox.guard import GuardError, check_source
from ..task.models import CHAT_WITH_USER, FINAL_MESSAGE, Blueprint, Clock, Environment, Provenance, ReferencePlans, Task
from ..benchmark.gates.gates import Budget
from ..benchmark.validation import GATE_LINES, SUITE_GATES, validate_task
from ..benchmark.validity import INVARIANTS
from .common import Reject, Rejection, StageStats, run_items, slug
from .llm import RepairNeeded, Synthesizer
from .schemas import AUDIT_ASPECTS, AuditOut, CheckVerdict, ChecklistOut, DraftTask, PlansOut

INVARIANT_REASONS = {"I1": "trigger_not_fired", "I2": "effect_not_applied", "I3": "conflict_does_not_break_plan",
                     "I4": "oracle_fails", "I5": "shortcut"}


@dataclass
class Stage3Options:
    llm_verdict: bool = True
    audit: bool = True
    gates: list[str] = field(default_factory=lambda: list(INVARIANTS))  # `stt-arena validate --gates`
    budget: Budget | None = None
    ray: bool = False  # run each draft's gates as a Ray task (the caller connected to the cluster)


def _gates_task(task: Task, gates: list[str] | None, budget: Budget | None) -> tuple[dict | None, tuple[str, str]]:
    """A Ray task: ``executed_invariants`` in this worker process's sandbox executor; a Reject comes back as
    a value (its class needs no pickling through Ray's error wrapper)."""
    from ..benchmark.ray_validate import _executor
    try:
        return executed_invariants(task, _executor(), gates, budget), ("", "")
    except Reject as r:
        return None, (r.code, r.detail)


async def _gates_on_ray(task: Task, gates: list[str] | None, budget: Budget | None) -> dict:
    import ray
    from ..benchmark.ray_validate import RETRIES
    fn = ray.remote(num_cpus=1, max_retries=RETRIES, retry_exceptions=False)(_gates_task)
    out, (code, detail) = await fn.remote(task, gates, budget)
    if out is None:
        raise Reject(code, detail)
    return out


def _checklist_validator(draft: DraftTask):
    def validate(o: ChecklistOut) -> None:
        for it in o.checklist + o.infeasible_goal:
            try:
                check_source(it.check, f"check {it.id}")
            except GuardError as e:
                raise ValueError(str(e)) from None
        kinds = {it.kind for it in o.checklist}
        if draft.level == "impossible":
            if not o.infeasible_goal:
                raise ValueError("an impossible task needs infeasible_goal items (the user's goal)")
        elif "goal" not in kinds or "detection" not in kinds:
            raise ValueError("the checklist needs at least one 'goal' and one 'detection' item")
        ids = [it.id for it in o.checklist + o.infeasible_goal]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate checklist ids {ids}")
    return validate


def _plans_validator(draft: DraftTask):
    names = {t["name"] for t in draft.tools} | {FINAL_MESSAGE, CHAT_WITH_USER}

    def validate(o: PlansOut) -> None:
        for label, plan in [("normal", o.normal), ("oracle", o.oracle)] + [
                (f"alternatives[{i}]", p) for i, p in enumerate(o.alternatives)]:
            bad = [s.method for s in plan if s.method not in names]
            if bad:
                raise ValueError(f"plan {label} calls unknown tools {bad}; tools are {sorted(names)}")
        if draft.level == "impossible" and not o.alternatives:
            raise ValueError("an impossible task needs alternatives: plans trying every alternative")
    return validate


def _merge_triggers(draft: DraftTask, fixes: list) -> list:
    by_id = {t.id: t for t in fixes}
    return [by_id.pop(t.id, t) for t in draft.triggers] + list(by_id.values())


def build_task(draft: DraftTask, cl: ChecklistOut, plans: PlansOut, model: str) -> Task:
    h = hashlib.sha256(draft.draft_id.encode()).hexdigest()[:6]
    name = draft.provenance.get("env_name") or draft.class_name
    env = Environment(class_name=draft.class_name, source=draft.code, init_config=draft.init_config,
                      clock=Clock(**draft.clock) if draft.clock else Clock())
    return Task(task_id=f"synth-{draft.conflict_type}-{draft.level}-{slug(name, 24)}-{h}",
                conflict_type=draft.conflict_type, level=draft.level, environment=env, query=draft.query,
                user_profile=draft.user_profile, blueprint=Blueprint.model_validate(draft.blueprint.model_dump()),
                triggers=_merge_triggers(draft, plans.trigger_fixes), checklist=cl.checklist, infeasible_goal=cl.infeasible_goal,
                plans=ReferencePlans(normal=plans.normal, oracle=plans.oracle, alternatives=plans.alternatives),
                provenance=Provenance(source="synth", generator="stt-arena synth", domain=slug(name, 40),
                                      notes=draft.scenario[:500],
                                      extra={"draft_id": draft.draft_id, "env_id": draft.env_id,
                                             "seed_id": draft.provenance.get("seed_id"),
                                             "seed_source": draft.provenance.get("seed_source"),
                                             "trigger_mode": draft.trigger_mode, "model": model}))


def _gate_failure(rep, gates: list[str]) -> tuple[str, str] | None:
    """The first failing gate of a ``validate_task`` report as (reason code, precise detail), or None."""
    if rep.errors:
        text = "; ".join(rep.errors)
        return ("unsafe_code" if "guard" in text else "task_format"), text
    inv = [g for g in gates if g in INVARIANTS]
    if inv:
        v = rep.validity
        if v is None:
            return "task_format", "not validated"
        if v.error:
            return "replay_error", v.error
        failed = [k for k in inv if not v.results.get(k)]
        if failed:
            return INVARIANT_REASONS[failed[0]], "; ".join(f"{k}: {v.reasons.get(k, '')}" for k in failed)
    bad = [g for g in rep.gates.values() if not g.ok]
    if bad:
        g = bad[0]
        lines = [f"{x.gate} [{x.reason}]: {x.detail} (the gate requires: {GATE_LINES.get(x.gate, '')}); evidence: "
                 f"{json.dumps(x.evidence, default=str, ensure_ascii=False)[:1200]}" for x in bad]
        return f"{g.gate.lower()}_{g.reason}", "; ".join(lines)
    return None


def executed_invariants(task: Task, executor: Executor, gates: list[str] | None = None,
                        budget: Budget | None = None) -> dict:
    """The gates of ``stt-arena validate`` (``validation.validate_task``, untrusted: in the sandbox): I1-I5
    first, the costlier gates only when they pass; Reject with the first failure's reason otherwise.
    ``gates``: default I1-I5; ``I10`` (a property of the whole file) is run by ``run_stage3`` at the end."""
    gates = [g for g in (gates or INVARIANTS) if g not in SUITE_GATES]
    inv = [g for g in gates if g in INVARIANTS]
    rest = [g for g in gates if g not in INVARIANTS]
    out: dict = {"results": {}, "gates": {}}
    for part in (inv, rest):
        if not part:
            continue
        rep = validate_task(task, executor.open, part, trusted=False, budget=budget)
        bad = _gate_failure(rep, part)
        if bad:
            raise Reject(*bad)
        if rep.validity is not None:
            out["results"].update({k: v for k, v in rep.validity.results.items() if k in part})
        out["results"].update({k: g.ok for k, g in rep.gates.items()})
        out["gates"].update({k: {"reason": g.reason, "stats": g.stats} for k, g in rep.gates.items()})
    return out


def _merge_checklist(cl: ChecklistOut, fixes: list) -> ChecklistOut:
    if not fixes:
        return cl
    by_id = {f.id: f for f in fixes}
    items = [by_id.pop(c.id, c) for c in cl.checklist]
    goals = [by_id.pop(c.id, c) for c in cl.infeasible_goal]
    return ChecklistOut(checklist=items + list(by_id.values()), infeasible_goal=goals)


def _repair_detail(task: Task, code: str, detail: str) -> str:
    """The failing gate with what the model needs to fix it: triggers, plans, the failing checks' code."""
    parts = [f"the executed validity gates failed ({code}): {detail}"]
    if code in ("trigger_not_fired", "effect_not_applied"):
        parts.append("triggers: " + json.dumps([t.model_dump() for t in task.triggers], ensure_ascii=False)[:2500])
        parts.append("the oracle calls: " + ", ".join(f"{s.method}({json.dumps(s.arguments)})" for s in task.plans.oracle))
    for c in task.checklist + task.infeasible_goal:  # the code of every check the failure names
        if re.search(rf"(?<![\w-]){re.escape(c.id)}(?![\w-])", detail):
            parts.append(f"--- check {c.id} ({c.kind}) ---\n{c.check}")
    parts.append("Fix the plans, or return corrected checklist items in `checklist_fixes` or corrected triggers in "
                 "`trigger_fixes` (same ids), "
                 "so that the normal plan fails, the oracle passes and the oracle fails without its observe/requery steps.")
    return "\n".join(parts)


def _task_view(task: Task) -> dict:
    return {"conflict_type": task.conflict_type, "level": task.level, "query": task.query,
            "user_profile": task.user_profile.model_dump(), "blueprint": task.blueprint.model_dump(),
            "init_config": task.environment.init_config, "triggers": [t.model_dump() for t in task.triggers],
            "checklist": [{"id": c.id, "kind": c.kind, "description": c.description} for c in task.checklist],
            "plans": task.plans.model_dump()}


async def assess(draft: DraftTask, syn: Synthesizer, executor: Executor, opts: Stage3Options) -> list[Task]:
    item = draft.draft_id
    ctx = {"class_name": draft.class_name, "code": draft.code, "tools": draft.tools, "init_config": draft.init_config,
           "conflict_type": draft.conflict_type, "level": draft.level, "scenario": draft.scenario,
           "blueprint": draft.blueprint.model_dump(), "triggers": [t.model_dump() for t in draft.triggers],
           "query": draft.query, "user_profile": draft.user_profile.model_dump()}
    cl = await syn.call("checklist", ctx, ChecklistOut, item=item, validate=_checklist_validator(draft))
    ctx = {**ctx, "checklist": [c.model_dump() for c in cl.checklist + cl.infeasible_goal]}
    built: dict = {}
    static = _plans_validator(draft)

    async def gates(o: PlansOut) -> None:
        """Build the task and run the gates of ``stt-arena validate``: a failing gate is a repair turn."""
        static(o)
        merged = _merge_checklist(cl, o.checklist_fixes)
        try:
            task = build_task(draft, merged, o, syn.config.model)
        except ValueError as e:
            raise RepairNeeded("task_format", str(e)) from None
        try:
            if opts.ray:
                built["inv"] = await _gates_on_ray(task, opts.gates, opts.budget)
            else:
                built["inv"] = await asyncio.to_thread(executed_invariants, task, executor, opts.gates, opts.budget)
        except Reject as r:
            raise RepairNeeded(r.code, _repair_detail(task, r.code, r.detail)) from None
        built["task"] = task

    await syn.call("plan_agent", ctx, PlansOut, item=item, validate=gates)
    task = built["task"]
    extra = task.provenance.extra
    extra["invariants"] = {k: v for k, v in built["inv"]["results"].items() if k in INVARIANTS}
    if built["inv"]["gates"]:
        extra["gates"] = {k: v for k, v in built["inv"]["results"].items() if k not in INVARIANTS}
    level = built["inv"]["gates"].get("LEVEL")
    if level:  # the level as measured on the oracle trace (gate LEVEL), not the audit LLM's opinion
        extra["level_features"] = {k: v for k, v in level["stats"].items() if k != "gate_seconds"}
    view = _task_view(task)
    if opts.llm_verdict:
        verdict = await syn.call("check_agent", {"task": view, "class_name": draft.class_name, "code": draft.code},
                                 CheckVerdict, item=item)
        extra["check_agent"] = verdict.model_dump()
        bad = [k for k, j in verdict.model_dump().items() if not j["ok"]]
        if bad:
            raise Reject("checker_disagrees", "; ".join(f"{k}: {verdict.model_dump()[k]['reason']}" for k in bad))
    if opts.audit:
        audit = await syn.call("audit", {"task": view, "scenario": draft.scenario}, AuditOut, item=item)
        extra["audit"] = audit.model_dump()
        bad = [k for k in AUDIT_ASPECTS if not getattr(audit, k).ok
               and not (k == "difficulty_consistency" and "LEVEL" in opts.gates)]  # measured instead
        if bad:
            raise Reject("audit_failed", "; ".join(f"{k}: {getattr(audit, k).reason}" for k in bad))
    return [task]


async def run_stage3(drafts: list[DraftTask], syn: Synthesizer, executor: Executor, opts: Stage3Options | None = None,
                     progress: bool = True) -> tuple[list[Task], list[Rejection], StageStats]:
    opts = opts or Stage3Options()
    stats = StageStats("stage3")
    rejections: list[Rejection] = []
    stats.n_in = len(drafts)
    kept = await run_items(drafts, lambda d: assess(d, syn, executor, opts), stats, rejections,
                           lambda d: d.draft_id, "stage3", "stage3 drafts", progress)
    if "I10" in opts.gates and kept:  # shortcut policies, over the whole output like `stt-arena validate`
        from ..benchmark.gates.shortcuts import run_shortcut_suite
        suite = await asyncio.to_thread(run_shortcut_suite, kept, sandbox=True)
        still = []
        for t in kept:
            g = suite.task_gate(t.task_id)
            if g.ok:
                t.provenance.extra.setdefault("gates", {})["I10"] = True
                still.append(t)
            else:
                code = f"i10_{g.reason}"
                stats.rejected[code] += 1
                rejections.append(Rejection(t.provenance.extra.get("draft_id", t.task_id), "stage3", code, g.detail))
        kept = still
    stats.kept = len(kept)
    return kept, rejections, stats
