"""Stage 1 — environment curation: seed queries -> filtered -> synthesised, vetted, tested env classes."""
from __future__ import annotations

import ast
import asyncio
import hashlib
import re
import textwrap
from dataclasses import dataclass
from typing import Any

from ..env.schema import tool_specs
from ..sandbox.executor import Executor, SandboxError
from ..sandbox.guard import GuardError, check_source
from ..sandbox.guard import parse as parse_ast
from .common import Reject, Rejection, StageStats, probe_task, run_items, slug
from .llm import Synthesizer
from .schemas import (AttributeClass, CuratedEnv, EnvSummary, InitConfig, MethodSource, OperationList,
                      SpatioTemporalVerdict, StatefulnessVerdict, StateSpace, ToolTestPlan)
from .seeds import SeedQuery

_RUNTIME_RE = re.compile(r"^(?!bad arguments)[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b")


@dataclass
class Stage1Options:
    min_usefulness: int = 3
    min_modelability: int = 3
    min_queries: int = 2
    min_changes: int = 1
    strict_positive: bool = True


def seed_context(seed: SeedQuery, max_turns: int = 8) -> dict[str, Any]:
    """What the prompts see of a seed: the query, its tools, the calls made and a dialogue excerpt."""
    turns = []
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


def _check_class(o: AttributeClass) -> None:
    try:
        tree = parse_ast(o.source)
    except SyntaxError as e:
        raise ValueError(f"class source does not parse: line {e.lineno}: {e.msg}") from None
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
            raise ValueError(f"method source does not parse: line {e.lineno}: {e.msg}") from None
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        if len(defs) != 1 or defs[0].name != name or len(tree.body) != 1:
            raise ValueError(f"give exactly one method definition named {name!r}")
        if not defs[0].args.args or defs[0].args.args[0].arg != "self":
            raise ValueError("the method's first parameter must be self")
    return validate


def assemble(cls: AttributeClass, methods: list[MethodSource], mutating: list[str]) -> str:
    """Class header + __init__, the declared mutating tools, then every method (re-indented)."""
    src = cls.source.rstrip() + "\n"
    if "MUTATING_TOOLS" not in src:
        src = re.sub(rf"^(class\s+{cls.class_name}\b[^\n]*:\s*\n)", lambda m: m.group(1) + f"    MUTATING_TOOLS = {mutating!r}\n\n",
                     src, count=1, flags=re.M)
    body = "\n".join(textwrap.indent(textwrap.dedent(m.source).strip("\n"), "    ") + "\n" for m in methods)
    return src + "\n" + body


def _classify(tool: str, kind: str, args: dict, out: dict) -> tuple[str, str] | None:
    r = out.get("result")
    if out.get("sandbox_error"):
        return "failing_methods", f"{tool}({args}): {r.get('error') if isinstance(r, dict) else r}"
    if not isinstance(r, dict) or not isinstance(r.get("success"), bool):
        return "malformed_return", f"{tool}({args}): result has no boolean 'success': {str(r)[:200]}"
    if r["success"]:
        if "data" not in r and "message" not in r:
            return "malformed_return", f"{tool}({args}): success without 'data' or 'message'"
        if r.get("data") is None and not r.get("message"):
            return "empty_return", f"{tool}({args}): empty result"
        return None
    err = r.get("error")
    if not isinstance(err, str) or not err.strip():
        return "malformed_return", f"{tool}({args}): failure without an 'error' text"
    if _RUNTIME_RE.match(err):
        return "failing_methods", f"{tool}({args}): runtime error {err[:200]}"
    return None


def functional_check(executor: Executor, class_name: str, code: str, init_config: dict, plan: ToolTestPlan,
                     strict_positive: bool = True) -> list[dict]:
    """Run the exploratory tests in the sandbox; raise Reject on runtime errors, empty/malformed returns,
    or (strict) a method none of whose positive tests succeeds."""
    task = probe_task(class_name, code, init_config)
    try:
        ep = executor.open(task)
    except SandboxError as e:
        raise Reject("env_init_failed", str(e)) from None
    report: list[dict] = []
    problems: dict[str, list[str]] = {}
    try:
        tools = [t["name"] for t in ep.list_tools()]
        tests = [t for t in plan.tests if t.tool in tools]
        covered = {t.tool for t in tests}
        from .schemas import ToolTest
        tests += [ToolTest(tool=t, arguments={}, kind="boundary") for t in tools if t not in covered]
        positive_ok: dict[str, bool] = {}
        for t in tests:
            if not ep.alive:
                ep = executor.open(task)
            out = ep.call(t.tool, t.arguments)
            res = out.get("result")
            bad = _classify(t.tool, t.kind, t.arguments, out)
            report.append({"tool": t.tool, "kind": t.kind, "arguments": t.arguments,
                           "success": isinstance(res, dict) and res.get("success") is True,
                           "problem": bad[1] if bad else None})
            if bad:
                problems.setdefault(bad[0], []).append(bad[1])
            if t.kind == "positive":
                positive_ok[t.tool] = positive_ok.get(t.tool, False) or (isinstance(res, dict) and res.get("success") is True)
        if strict_positive:
            dead = [k for k, ok in positive_ok.items() if not ok]
            if dead:
                problems.setdefault("failing_methods", []).append(f"no positive test succeeds for {dead}")
    finally:
        ep.close()
    for code_ in ("failing_methods", "malformed_return", "empty_return"):
        if code_ in problems:
            raise Reject(code_, "; ".join(problems[code_][:6]))
    return report


async def curate(seed: SeedQuery, syn: Synthesizer, executor: Executor, opts: Stage1Options) -> list[CuratedEnv]:
    item = seed.seed_id
    ctx = {"seed": seed_context(seed)}
    v1 = await syn.call("filter_statefulness", ctx, StatefulnessVerdict, item=item)
    if v1.answer != "YES":
        raise Reject("not_stateful", v1.reason)
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
    cls = await syn.call("env_class", ctx, AttributeClass, item=item, validate=_check_class)
    methods = await asyncio.gather(*(
        syn.call("env_method", {**ctx, "class_source": cls.source, "operation": op.model_dump()}, MethodSource,
                 item=item, validate=_method_validator(op.name)) for op in ops.operations))
    mutating = [o.name for o in ops.operations if o.kind == "state_change"]
    code = assemble(cls, list(methods), mutating)
    try:
        check_source(code, f"environment {cls.class_name}")
        specs = tool_specs(code, cls.class_name)
    except GuardError as e:
        raise Reject("unsafe_code", str(e)) from None
    except (SyntaxError, ValueError) as e:
        raise Reject("assembly_failed", str(e)) from None
    tools = [{"name": s.name, "description": s.description, "parameters": s.parameters, "mutating": s.mutating}
             for s in specs]
    ctx2 = {"class_name": cls.class_name, "code": code, "state_space": ctx["state_space"], "summary": summ.model_dump()}
    init = await syn.call("env_init_config", ctx2, InitConfig, item=item)
    tests = await syn.call("env_tests", {**ctx2, "init_config": init.init_config, "tools": tools}, ToolTestPlan, item=item)
    report = await asyncio.to_thread(functional_check, executor, cls.class_name, code, init.init_config, tests,
                                     opts.strict_positive)
    h = hashlib.sha256(seed.seed_id.encode()).hexdigest()[:6]
    return [CuratedEnv(env_id=f"env-{slug(summ.name, 30)}-{h}", seed_id=seed.seed_id, source=seed.source,
                       name=summ.name, summary=summ.summary, usefulness=summ.usefulness,
                       modelability=summ.modelability, dependency_type=v2.dependency_type,
                       conflict_codes=v2.conflict_codes, class_name=cls.class_name, code=code,
                       init_config=init.init_config, tools=tools, test_report=report, seed_query=seed.query,
                       provenance={"seed_id": seed.seed_id, "seed_source": seed.source, **seed.provenance,
                                   "model": syn.config.model})]


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
