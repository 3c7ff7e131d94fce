"""Stage 1 — environment curation: seed queries -> filtered -> synthesised, vetted, tested env classes."""
from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import re
import textwrap
from dataclasses import dataclass
from typing import Any

from ..env.schema import tool_specs
from ..sandbox.executor import Executor, SandboxError
from ..sandbox.guard import GuardError, check_source
from ..sandbox.guard import parse as parse_ast
from .common import Reject, Rejection, StageStats, probe_task, run_items, slug
from .llm import RepairNeeded, Synthesizer
from .explore import classify, explore
from .schemas import (AttributeClass, CuratedEnv, EnvSummary, InitConfig, MethodSource, OperationList,
                      SpatioTemporalVerdict, StatefulAugmentation, StatefulnessVerdict, StateSpace, ToolTest,
                      ToolTestPlan)
from .seeds import SeedQuery



@dataclass
class Stage1Options:
    min_usefulness: int = 3
    min_modelability: int = 3
    min_queries: int = 2
    min_changes: int = 1
    strict_positive: bool = True
    augment_readonly: bool = False  # turn read-only tool sets into stateful environments (ToolACE, Dolci)
    explore_budget: int = 0  # tool calls of the exploratory tester (0: the static test plan only)


def seed_context(seed: SeedQuery, max_turns: int = 8) -> dict[str, Any]:
    """What the prompts see of a seed: the query, its tools, the calls made and a dialogue excerpt."""
    turns: list[dict[str, Any]] = []
    for m in seed.dialogue[:max_turns]:
        if m.tool_calls:
            turns.append({"role": m.role, "calls": [c.model_dump() for c in m.tool_calls]})
        elif m.content:
            turns.append({"role": m.role, **({"name": m.name} if m.name else {}), "content": m.content[:400]})
    return {"seed_id": seed.seed_id, "source": seed.source, "query": seed.query,
            "tools": [{"name": t.name, "description": t.description[:300],
                       "parameters": list((t.parameters.get("properties") or {}).keys())} for t in seed.tools[:12]],
            "calls": [c.model_dump() for c in seed.tool_calls[:8]],
            "dialogue": turns,
            "database_tables": sorted((seed.init_database or {}).keys())[:12]}


def _check_augmentation(o: StatefulAugmentation) -> None:
    if o.answer == "YES" and (not o.entities or not o.write_operations):
        raise ValueError("answer YES needs the entities (state from the query tools' data) and at least one "
                         "write operation")


def _check_ops(opts: Stage1Options):
    def validate(o: OperationList) -> None:
        names = [op.name for op in o.operations]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate operation names: {names}")
        q = sum(op.kind == "query" for op in o.operations)
        c = sum(op.kind == "state_change" for op in o.operations)
        if q < opts.min_queries or c < opts.min_changes:
            raise ValueError(f"need at least {opts.min_queries} query and {opts.min_changes} state_change "
                             f"operations, got {q} and {c}")
    return validate


def _guard(src: str, what: str) -> None:
    try:
        check_source(src, what)
    except GuardError as e:
        if any("syntax error" in m for _, m in e.violations):
            raise RepairNeeded("syntax_error", f"{e}\n--- offending code ---\n{_numbered(src)}") from None
        raise RepairNeeded("unsafe_code", f"{e}\n--- offending code ---\n{_numbered(src)}") from None


def _numbered(src: str) -> str:
    return "\n".join(f"{i:4d} | {ln}" for i, ln in enumerate(src.splitlines(), 1))


def _check_class(o: AttributeClass) -> None:
    try:
        tree = parse_ast(o.source)
    except SyntaxError as e:
        raise RepairNeeded("syntax_error", f"class source does not parse: line {e.lineno}: {e.msg}\n"
                                           f"--- offending code ---\n{_numbered(o.source)}") from None
    _guard(o.source, f"class {o.class_name}")
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    if not classes or classes[-1].name != o.class_name or tree.body[-1] is not classes[-1]:
        raise ValueError(f"the source must end with 'class {o.class_name}' (imports above it only)")
    if not any(isinstance(n, ast.FunctionDef) and n.name == "__init__" for n in classes[-1].body):
        raise ValueError("the class needs an __init__(self, init_config: dict)")


def _method_validator(name: str):
    def validate(o: MethodSource) -> None:
        src = textwrap.dedent(o.source)
        try:
            tree = parse_ast(src)
        except SyntaxError as e:
            raise RepairNeeded("syntax_error", f"method {name} does not parse: line {e.lineno}: {e.msg}\n"
                                               f"--- offending code ---\n{_numbered(src)}") from None
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        if len(defs) != 1 or defs[0].name != name or len(tree.body) != 1:
            raise ValueError(f"give exactly one method definition named {name!r}")
        if not defs[0].args.args or defs[0].args.args[0].arg != "self":
            raise ValueError("the method's first parameter must be self")
        _guard(src, f"method {name}")  # guarded as soon as it is generated: a rejection costs one repair turn
    return validate


def assemble(cls: AttributeClass, methods: list[MethodSource], mutating: list[str]) -> str:
    """Class header + __init__, the declared mutating tools, then every method (re-indented)."""
    src = cls.source.rstrip() + "\n"
    if "MUTATING_TOOLS" not in src:
        src = re.sub(rf"^(class\s+{cls.class_name}\b[^\n]*:\s*\n)", lambda m: m.group(1) + f"    MUTATING_TOOLS = {mutating!r}\n\n",
                     src, count=1, flags=re.M)
    body = "\n".join(textwrap.indent(textwrap.dedent(m.source).strip("\n"), "    ") + "\n" for m in methods)
    return src + "\n" + body




class FunctionalFailure(Reject):
    """Functional tests failed; ``by_tool`` maps each offending method to its problems."""

    def __init__(self, code: str, detail: str, by_tool: dict[str, list[str]]):
        super().__init__(code, detail)
        self.by_tool = by_tool


def functional_check(executor: Executor, class_name: str, code: str, init_config: dict, plan: ToolTestPlan,
                     strict_positive: bool = True) -> list[dict]:
    """Run the test plan in the sandbox; raise FunctionalFailure on runtime errors, empty/malformed returns,
    or (strict) a method none of whose positive tests succeeds; return the per-call report otherwise."""
    task = probe_task(class_name, code, init_config)
    try:
        ep = executor.open(task)
    except SandboxError as e:
        raise Reject("env_init_failed", str(e)) from None
    report: list[dict] = []
    problems: dict[str, list[str]] = {}
    by_tool: dict[str, list[str]] = {}
    try:
        tools = [t["name"] for t in ep.list_tools()]
        tests = [t for t in plan.tests if t.tool in tools]
        covered = {t.tool for t in tests}
        tests += [ToolTest(tool=t, arguments={}, kind="boundary") for t in tools if t not in covered]
        positive_ok: dict[str, bool] = {}
        for t in tests:
            if not ep.alive:
                ep = executor.open(task)
            out = ep.call(t.tool, t.arguments)
            res = out.get("result")
            bad = classify(t.tool, t.arguments, out)
            report.append({"tool": t.tool, "kind": t.kind, "arguments": t.arguments,
                           "success": isinstance(res, dict) and res.get("success") is True,
                           "problem": bad[1] if bad else None})
            if bad:
                problems.setdefault(bad[0], []).append(bad[1])
                by_tool.setdefault(t.tool, []).append(f"{bad[0]}: {bad[1]}")
            if t.kind == "positive":
                positive_ok[t.tool] = positive_ok.get(t.tool, False) or (isinstance(res, dict) and res.get("success") is True)
        if strict_positive:
            dead = [k for k, ok in positive_ok.items() if not ok]
            if dead:
                problems.setdefault("failing_methods", []).append(f"no positive test succeeds for {dead}")
                for k in dead:
                    calls = [r for r in report if r["tool"] == k and r["kind"] == "positive"]
                    by_tool.setdefault(k, []).append(
                        "failing_methods: no positive test succeeds: " + "; ".join(
                            f"{k}({c['arguments']})" for c in calls))
    finally:
        ep.close()
    for code_ in ("failing_methods", "malformed_return", "empty_return"):
        if code_ in problems:
            raise FunctionalFailure(code_, "; ".join(problems[code_][:6]), by_tool)
    return report


async def build_env(syn: Synthesizer, item: str, ctx: dict, ops: OperationList) -> tuple[AttributeClass, dict, str]:
    """Class header, then one method per operation, each guarded as soon as it is generated."""
    cls = await syn.call("env_class", ctx, AttributeClass, item=item, validate=_check_class)
    methods = await asyncio.gather(*(
        syn.call("env_method", _method_vars(ctx, cls, op), MethodSource, item=item, validate=_method_validator(op.name))
        for op in ops.operations))
    return cls, {m.name: m for m in methods}, assemble(cls, list(methods), _mutating(ops))


def _method_vars(ctx: dict, cls: AttributeClass, op) -> dict:
    return {**ctx, "class_source": cls.source, "operation": op.model_dump()}


def _mutating(ops: OperationList) -> list[str]:
    return [o.name for o in ops.operations if o.kind == "state_change"]


def _specs(code: str, class_name: str) -> list[dict]:
    try:
        check_source(code, f"environment {class_name}")
        specs = tool_specs(code, class_name)
    except GuardError as e:
        raise Reject("unsafe_code", str(e)) from None
    except (SyntaxError, ValueError) as e:
        raise Reject("assembly_failed", str(e)) from None
    return [{"name": s.name, "description": s.description, "parameters": s.parameters, "mutating": s.mutating}
            for s in specs]


async def functional_validation(syn: Synthesizer, executor: Executor, item: str, ctx: dict, ops: OperationList,
                     cls: AttributeClass, methods: dict, opts: "Stage1Options") -> tuple[str, list, dict, list]:
    """Init config, test plan, sandboxed functional tests; a method failing its tests goes back to the model
    with the failing calls and their results (at most ``max_repairs`` rounds)."""
    code = assemble(cls, list(methods.values()), _mutating(ops))
    tools = _specs(code, cls.class_name)
    ctx2 = {"class_name": cls.class_name, "code": code, "state_space": ctx["state_space"], "summary": ctx["summary"]}
    init = await syn.call("env_init_config", ctx2, InitConfig, item=item)
    tests = await syn.call("env_tests", {**ctx2, "init_config": init.init_config, "tools": tools}, ToolTestPlan, item=item)
    history: dict[str, list[tuple[str, str]]] = {}
    pending: str = ""  # the reason of the functional repair round whose outcome the next run shows
    for rnd in range(syn.max_repairs + 1):
        try:
            report = await asyncio.to_thread(functional_check, executor, cls.class_name, code, init.init_config, tests,
                                             opts.strict_positive)
            findings = []
            if opts.explore_budget:
                findings = await explore(syn, executor, item, cls.class_name, code, init.init_config, tools,
                                         opts.explore_budget)
                broken = {f["tool"]: f["detail"] for f in findings if f.get("severity") == "broken" and f["tool"] in methods}
                if broken:
                    raise FunctionalFailure("exploration_failed", "; ".join(f"{k}: {v}" for k, v in broken.items()),
                                            {k: [f"exploratory tester: {v}"] for k, v in broken.items()})
            if pending:
                syn.record(item, "functional_tests", pending, True)
            return code, tools, init.init_config, report + [{"explore": findings}] if findings else report
        except FunctionalFailure as f:
            if pending:
                syn.record(item, "functional_tests", pending, False, f"{f.code}: {f.detail}")
            fixable = {t: p for t, p in f.by_tool.items() if t in methods}
            if rnd == syn.max_repairs or not fixable:
                raise
            pending = reason = f.code
            ops_by = {o.name: o for o in ops.operations}

            async def fix(name: str, probs: list[str]):
                err = (f"functional tests of `{name}` failed with init_config {json.dumps(init.init_config)[:1500]}:\n- "
                       + "\n- ".join(probs[:8]) + f"\n--- offending code ---\n{_numbered(methods[name].source)}")
                prior = history.setdefault(name, []) + [(methods[name].model_dump_json(), err)]
                m = await syn.call("env_method", _method_vars(ctx, cls, ops_by[name]), MethodSource, item=item,
                                   validate=_method_validator(name), prior=prior, reason=reason)
                history[name] = prior
                return name, m
            for name, m in await asyncio.gather(*(fix(n, p) for n, p in fixable.items())):
                methods[name] = m
            code = assemble(cls, list(methods.values()), _mutating(ops))
            tools = _specs(code, cls.class_name)
    raise AssertionError("unreachable")


async def curate(seed: SeedQuery, syn: Synthesizer, executor: Executor, opts: Stage1Options) -> list[CuratedEnv]:
    item = seed.seed_id
    ctx: dict[str, Any] = {"seed": seed_context(seed)}
    v1 = await syn.call("filter_statefulness", ctx, StatefulnessVerdict, item=item)
    augmented = None
    if v1.answer != "YES":
        if not opts.augment_readonly:
            raise Reject("not_stateful", v1.reason)
        aug = await syn.call("augment_stateful", ctx, StatefulAugmentation, item=item, validate=_check_augmentation)
        if aug.answer != "YES":
            raise Reject("not_stateful", f"{v1.reason}; augmentation: {aug.reason}")
        augmented = aug.model_dump()
        ctx = {**ctx, "augmentation": augmented}
    else:
        ctx = {**ctx, "augmentation": "none (the seed's tools already read and write state)"}
    v2 = await syn.call("filter_spatiotemporal", ctx, SpatioTemporalVerdict, item=item)
    if v2.answer != "YES" or not v2.conflict_codes:
        raise Reject("not_spatiotemporal", v2.reason)
    ctx = {**ctx, "dependency_type": v2.dependency_type, "conflict_codes": v2.conflict_codes}
    summ = await syn.call("env_summary", ctx, EnvSummary, item=item)
    if summ.usefulness < opts.min_usefulness or summ.modelability < opts.min_modelability:
        raise Reject("low_scores", f"usefulness {summ.usefulness}, modelability {summ.modelability}")
    ctx = {**ctx, "summary": summ.model_dump()}
    state = await syn.call("env_state_space", ctx, StateSpace, item=item)
    ctx = {**ctx, "state_space": [a.model_dump() for a in state.attributes]}
    ops = await syn.call("env_operations", ctx, OperationList, item=item, validate=_check_ops(opts))
    ctx = {**ctx, "operations": [o.model_dump() for o in ops.operations]}
    cls, methods, _ = await build_env(syn, item, ctx, ops)
    code, tools, init_config, report = await functional_validation(syn, executor, item, ctx, ops, cls, methods, opts)
    h = hashlib.sha256(seed.seed_id.encode()).hexdigest()[:6]
    return [CuratedEnv(env_id=f"env-{slug(summ.name, 30)}-{h}", seed_id=seed.seed_id, source=seed.source,
                       name=summ.name, summary=summ.summary, usefulness=summ.usefulness,
                       modelability=summ.modelability, dependency_type=v2.dependency_type,
                       conflict_codes=v2.conflict_codes, class_name=cls.class_name, code=code,
                       init_config=init_config, tools=tools, test_report=report, seed_query=seed.query,
                       provenance={"seed_id": seed.seed_id, "seed_source": seed.source, **seed.provenance,
                                   "model": syn.config.model, **({"augmented": augmented} if augmented else {})})]


async def run_stage1(seeds: list[SeedQuery], syn: Synthesizer, executor: Executor, opts: Stage1Options | None = None,
                     progress: bool = True) -> tuple[list[CuratedEnv], list[Rejection], StageStats]:
    opts = opts or Stage1Options()
    stats = StageStats("stage1")
    rejections: list[Rejection] = []
    stats.n_in = len(seeds)
    kept = await run_items(seeds, lambda s: curate(s, syn, executor, opts), stats, rejections,
                           lambda s: s.seed_id, "stage1", "stage1 seeds", progress)
    stats.kept = len(kept)
    return kept, rejections, stats
