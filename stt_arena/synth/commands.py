"""`stt-arena synth stage1|stage2|stage3|review-import`: the LLM synthesis pipeline on the command line."""
from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer
from rich.table import Table

from ..util.console import console
from .common import Rejection, StageStats, attempts_path, normal_mode, side_paths, write_json, write_jsonl

_MODEL = typer.Option(..., "--model", "-m", help="model name on the OpenAI-compatible endpoint")
_BASE_URL = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint (default: OpenAI)")
_KEY_ENV = typer.Option("OPENAI_API_KEY", "--api-key-env", help="env var holding the API key")
_TEMP = typer.Option(0.2, "--temperature")
_MAX_TOKENS = typer.Option(None, "--max-tokens")
_EXTRA = typer.Option(None, "--extra-body", help="extra request JSON, e.g. '{\"top_k\": 20}'")
_RPM = typer.Option(None, "--rpm", help="requests per minute limit")
_CONC = typer.Option(4, "--concurrency", "-j", min=1, help="concurrent LLM requests")
_RETRIES = typer.Option(6, "--max-retries", min=0, help="HTTP retries per request (backoff)")
_REPAIRS = typer.Option(2, "--max-repairs", min=0, help="repair turns on invalid structured output")
_CACHE = typer.Option(None, "--cache-dir", help="LLM answer cache (default: .synth_cache next to --out)")
_PROMPTS = typer.Option(None, "--prompts-dir", help="override prompt files (name.md) from this folder")
_JSON_MODE = typer.Option(False, "--json-mode/--no-json-mode", help="send response_format=json_object")
_DRY = typer.Option(False, "--dry-run", help="show the calls that would be made; send nothing, write nothing")
_PROGRESS = typer.Option(True, "--progress/--no-progress")


def _synth(model: str, base_url, api_key_env, temperature, max_tokens, extra_body, rpm, concurrency, max_retries,
           max_repairs, cache_dir, out: Path, prompts_dir, json_mode, dry_run):
    from .llm import ModelConfig, Synthesizer

    extra: dict[str, Any] = {}
    if extra_body:
        p = Path(extra_body)
        extra = json.loads(p.read_text() if p.is_file() else extra_body)
    cfg = ModelConfig(model=model, base_url=base_url, api_key_env=api_key_env, temperature=temperature,
                      max_tokens=max_tokens, extra_body=extra, rpm=rpm, max_retries=max_retries)
    cache = cache_dir or (out.parent / ".synth_cache")
    return Synthesizer(cfg, cache_dir=cache, concurrency=concurrency, max_repairs=max_repairs,
                       prompts_dir=prompts_dir, dry_run=dry_run, json_mode=json_mode)


def _source_of(x: Any) -> str:
    """The seed source of a stage record (seed, env, draft or task)."""
    for getter in (lambda: x.source if hasattr(x, "seed_id") else None,
                   lambda: (x.provenance or {}).get("seed_source") if isinstance(getattr(x, "provenance", None), dict) else None,
                   lambda: x.provenance.extra.get("seed_source")):
        try:
            v = getter()
        except AttributeError:
            v = None
        if v:
            return str(v)
    return "unknown"


def _by_source(items_in: list, kept: list) -> dict:
    out: dict[str, dict[str, int]] = {}
    for x in items_in:
        out.setdefault(_source_of(x), {"in": 0, "kept": 0})["in"] += 1
    for x in kept:
        out.setdefault(_source_of(x), {"in": 0, "kept": 0})["kept"] += 1
    return out


def _report(stats: StageStats, syn, rejections: list[Rejection], out: Path, kept: list, dry_run: bool,
            write: Callable[[Path, list], int] = write_jsonl, items_in: list | None = None,
            started: float | None = None) -> None:
    s = syn.stats
    stats.llm = {"requests": s.requests, "cached": s.cached, "structured_calls": s.calls, "repairs": s.repairs,
                 "repaired": s.repaired, "failures": s.failures, "prompt_tokens": s.prompt_tokens,
                 "completion_tokens": s.completion_tokens, "cached_tokens": s.cached_tokens,
                 "repairs_by_reason": s.repairs_by_reason, "repaired_by_reason": s.repaired_by_reason,
                 "by_prompt": s.by_prompt,
                 **({"usage": syn.client.usage.snapshot()} if syn._client is not None else {})}
    if dry_run:
        by = Counter(p.prompt for p in syn.planned)
        t = Table(title=f"{stats.stage} dry run: next uncached call per item (model {syn.config.model}, "
                        f"endpoint {syn.config.base_url or 'OpenAI'})")
        for col in ("prompt", "calls", "prompt chars"):
            t.add_column(col)
        for name, n in by.most_common():
            t.add_row(name, str(n), str(sum(p.chars for p in syn.planned if p.prompt == name)))
        console.print(t)
        console.print(f"{stats.n_in} items in; {stats.dry_run_pending} would call the model; "
                      f"{s.cached} answers already cached; {stats.kept} would complete from the cache alone; "
                      f"nothing written")
        for p in syn.planned[:10]:
            console.print(f"  would call [bold]{p.prompt}[/bold] for {p.item}")
        return
    rej_path, stats_path = side_paths(out)
    att_path = attempts_path(out)
    d = stats.as_dict()
    d["time_s"] = round(time.monotonic() - started, 3) if started is not None else None
    d["by_source"] = _by_source(items_in or [], kept)
    write(out, kept)
    write_jsonl(rej_path, [r.as_dict() for r in rejections])
    write_jsonl(att_path, syn.attempts)
    write_json(stats_path, d)
    t = Table(title=f"{stats.stage}: {stats.n_in} in, {stats.kept} kept, {sum(stats.rejected.values())} rejected")
    t.add_column("outcome")
    t.add_column("n", justify="right")
    t.add_row("kept", str(stats.kept))
    for reason, n in stats.rejected.most_common():
        t.add_row(f"rejected: {reason}", str(n))
    console.print(t)
    console.print(f"LLM: {s.requests} requests, {s.cached} cached answers reused, {s.repairs} repair turns "
                  f"({s.repaired} calls repaired), {s.prompt_tokens + s.completion_tokens} tokens sent")
    console.print(f"wrote {out} ({len(kept)}), {rej_path}, {att_path}, {stats_path}")


def _run(coro_fn, syn):
    async def main():
        try:
            return await coro_fn()
        finally:
            await syn.aclose()
    return asyncio.run(main())


def _seed_inputs(paths: List[Path], source: Optional[str]) -> List[Path]:
    """A folder mixing sources (not an API-Bank tree) is read file by file, each file's source detected."""
    from .seeds import detect_source

    out: List[Path] = []
    for p in paths:
        if p.is_dir() and not source and detect_source(p) != "api-bank":
            out += sorted(f for f in p.rglob("*") if f.suffix in (".json", ".jsonl", ".parquet") and f.stat().st_size)
        else:
            out.append(p)
    return out


def stage1_command(
    seeds: List[Path] = typer.Option(..., "--seeds", help="seed file or folder (repeatable): API-Bank, ToolACE, Dolci"),
    out: Path = typer.Option(..., "--out", help="curated environments JSONL"),
    source: Optional[str] = typer.Option(None, "--source", help="api-bank|toolace|dolci (default: detected)"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="first N seeds of each input"),
    min_usefulness: int = typer.Option(3, "--min-usefulness", min=1, max=5),
    min_modelability: int = typer.Option(3, "--min-modelability", min=1, max=5),
    min_queries: int = typer.Option(2, "--min-queries", min=1),
    min_changes: int = typer.Option(1, "--min-changes", min=1),
    strict_positive: bool = typer.Option(True, "--strict-positive/--lenient-positive",
                                         help="reject an env when no positive test of a method succeeds"),
    augment_readonly: bool = typer.Option(False, "--augment-readonly/--no-augment-readonly",
                                          help="turn read-only tool sets (most ToolACE / Dolci seeds) into stateful "
                                               "environments: their data becomes state, the model adds write tools"),
    explore_budget: int = typer.Option(12, "--explore-budget", min=0,
                                       help="tool calls of the LLM exploratory tester per env, after the static test "
                                            "plan (0: the static plan only)"),
    model: str = _MODEL, base_url: Optional[str] = _BASE_URL, api_key_env: str = _KEY_ENV,
    temperature: float = _TEMP, max_tokens: Optional[int] = _MAX_TOKENS, extra_body: Optional[str] = _EXTRA,
    rpm: Optional[float] = _RPM, concurrency: int = _CONC, max_retries: int = _RETRIES, max_repairs: int = _REPAIRS,
    cache_dir: Optional[Path] = _CACHE, prompts_dir: Optional[Path] = _PROMPTS, json_mode: bool = _JSON_MODE,
    dry_run: bool = _DRY, progress: bool = _PROGRESS,
) -> None:
    """Stage 1, environment curation: seed queries -> statefulness and spatio-temporal filters -> env synthesis
    (summary, state space, operations, class, methods, assembly) -> AST guard -> sandboxed functional tests."""
    from ..sandbox.executor import Executor
    from .seeds import load_seeds
    from .stage1 import Stage1Options, run_stage1

    missing = [str(p) for p in seeds if not p.exists()]
    if missing:
        from ..util.console import fail

        fail(f"--seeds: no such file or folder: {', '.join(missing)}")
    items = []
    for p in _seed_inputs(seeds, source):
        got = load_seeds(p, source, skip_bad=True)
        for e in got.errors:
            console.print(f"[yellow]skipped bad seed:[/yellow] {e}")
        items += list(got)[:limit] if limit else list(got)
    syn = _synth(model, base_url, api_key_env, temperature, max_tokens, extra_body, rpm, concurrency, max_retries,
                 max_repairs, cache_dir, out, prompts_dir, json_mode, dry_run)
    opts = Stage1Options(min_usefulness, min_modelability, min_queries, min_changes, strict_positive,
                         augment_readonly, explore_budget)
    t0 = time.monotonic()
    with Executor() as ex:
        kept, rej, stats = _run(lambda: run_stage1(items, syn, ex, opts, progress), syn)
    _report(stats, syn, rej, out, kept, dry_run, items_in=items, started=t0)


def stage2_command(
    envs: Path = typer.Option(..., "--envs", help="stage 1 output (curated environments JSONL)"),
    out: Path = typer.Option(..., "--out", help="draft tasks JSONL"),
    levels: str = typer.Option("easy,medium,hard,impossible", "--levels", help="comma-separated levels"),
    min_types: int = typer.Option(3, "--min-types", min=1),
    max_types: int = typer.Option(6, "--max-types", min=1),
    trigger_mode: str = typer.Option("declarative", "--trigger-mode",
                                     help="declarative (executor-applied) or code (the paper's LLM rewrite)"),
    clock_start: Optional[str] = typer.Option(None, "--clock-start", help="ISO start of the simulated clock"),
    model: str = _MODEL, base_url: Optional[str] = _BASE_URL, api_key_env: str = _KEY_ENV,
    temperature: float = _TEMP, max_tokens: Optional[int] = _MAX_TOKENS, extra_body: Optional[str] = _EXTRA,
    rpm: Optional[float] = _RPM, concurrency: int = _CONC, max_retries: int = _RETRIES, max_repairs: int = _REPAIRS,
    cache_dir: Optional[Path] = _CACHE, prompts_dir: Optional[Path] = _PROMPTS, json_mode: bool = _JSON_MODE,
    dry_run: bool = _DRY, progress: bool = _PROGRESS,
) -> None:
    """Stage 2, dynamic injection: conflict assignment, blueprint per type x level, init config, trigger,
    mutation check against the init state, user query and profile."""
    from ..sandbox.executor import Executor
    from .common import read_jsonl
    from .schemas import CuratedEnv
    from .stage2 import LEVELS, Stage2Options, run_stage2

    lv = tuple(x.strip() for x in levels.split(",") if x.strip())
    if any(x not in LEVELS for x in lv) or trigger_mode not in ("declarative", "code"):
        console.print(f"[red]error:[/red] --levels takes {','.join(LEVELS)}; --trigger-mode declarative|code")
        raise typer.Exit(2)
    items = read_jsonl(envs, CuratedEnv)
    syn = _synth(model, base_url, api_key_env, temperature, max_tokens, extra_body, rpm, concurrency, max_retries,
                 max_repairs, cache_dir, out, prompts_dir, json_mode, dry_run)
    opts = Stage2Options(levels=lv, min_types=min_types, max_types=max_types, trigger_mode=trigger_mode,
                         clock={"start": clock_start} if clock_start else {})
    t0 = time.monotonic()
    with Executor() as ex:
        kept, rej, stats = _run(lambda: run_stage2(items, syn, ex, opts, progress), syn)
    _report(stats, syn, rej, out, kept, dry_run, items_in=items, started=t0)


def stage3_command(
    drafts: Path = typer.Option(..., "--drafts", help="stage 2 output (draft tasks JSONL)"),
    out: Path = typer.Option(..., "--out", help="tasks JSONL in the benchmark format"),
    review_dir: Optional[Path] = typer.Option(None, "--review-dir", help="write an HTML page per task and review.csv"),
    llm_verdict: bool = typer.Option(True, "--llm-verdict/--no-llm-verdict", help="the checking agent's verdict"),
    audit: bool = typer.Option(True, "--audit/--no-audit", help="the LLM consistency audit"),
    gates: str = typer.Option("all", "--gates", help="validity gates run on each task, as `stt-arena validate "
                                                     "--gates` (I1..I10, BIND, LEVEL, ASK, JUDGE; 'I1-I5'; 'all'); "
                                                     "a failing gate is a repair turn"),
    gate_budget: int = typer.Option(600, "--gate-budget", help="tool-call sequences per gate search (I6, I7, I8; "
                                                                "BIND a third), as `validate --budget` on such files"),
    gate_depth: int = typer.Option(3, "--gate-depth", help="calls per searched sequence, as `validate --depth`"),
    ray: Optional[str] = typer.Option(None, "--ray", help="run each draft's gates as a Ray task on this cluster (auto, "
                                      "host:port or local; the LLM calls stay here); pip install 'stt-arena[ray]'"),
    model: str = _MODEL, base_url: Optional[str] = _BASE_URL, api_key_env: str = _KEY_ENV,
    temperature: float = _TEMP, max_tokens: Optional[int] = _MAX_TOKENS, extra_body: Optional[str] = _EXTRA,
    rpm: Optional[float] = _RPM, concurrency: int = _CONC, max_retries: int = _RETRIES, max_repairs: int = _REPAIRS,
    cache_dir: Optional[Path] = _CACHE, prompts_dir: Optional[Path] = _PROMPTS, json_mode: bool = _JSON_MODE,
    dry_run: bool = _DRY, progress: bool = _PROGRESS,
) -> None:
    """Stage 3, dual-agent assessment: checklist, plan agent, executed invariants I1-I5 in the sandbox,
    checking agent's verdict, consistency audit; writes benchmark tasks (and the human-review sheet)."""
    from ..sandbox.executor import Executor
    from ..task.io import save_tasks
    from .common import read_jsonl
    from .review import export_review
    from .schemas import DraftTask
    from .stage3 import Stage3Options, run_stage3

    from ..benchmark.gates.gates import Budget
    from ..benchmark.validation import parse_gates
    try:
        selected = parse_gates(gates)
    except ValueError as e:
        console.print(f"[red]error:[/red] --gates: {e}")
        raise typer.Exit(2)
    items = read_jsonl(drafts, DraftTask)
    owned = False
    if ray is not None:
        from ..eval.ray_shards import RayUnavailable, connect
        try:
            owned = connect(ray)
        except RayUnavailable as e:
            console.print(f"[red]error:[/red] {e}")
            raise typer.Exit(2)
    syn = _synth(model, base_url, api_key_env, temperature, max_tokens, extra_body, rpm, concurrency, max_retries,
                 max_repairs, cache_dir, out, prompts_dir, json_mode, dry_run)
    t0 = time.monotonic()
    try:
        with Executor() as ex:
            opts = Stage3Options(llm_verdict, audit, selected, Budget(gate_budget, gate_depth), ray=ray is not None)
            kept, rej, stats = _run(lambda: run_stage3(items, syn, ex, opts, progress), syn)
    finally:
        if owned:
            import ray as ray_mod
            ray_mod.shutdown()

    def write_tasks(p: Path, rows: list) -> int:
        n = save_tasks(rows, p)
        os.chmod(p, normal_mode())  # save_tasks writes through mkstemp (0600)
        return n
    _report(stats, syn, rej, out, kept, dry_run, write=write_tasks, items_in=items, started=t0)
    if review_dir and not dry_run:
        sheet = export_review(kept, review_dir)
        console.print(f"review pages in {review_dir}; fill in {sheet} then run `stt-arena synth review-import`")


def review_import_command(
    tasks: Path = typer.Option(..., "--tasks", help="stage 3 output"),
    sheet: Path = typer.Option(..., "--sheet", help="the filled-in review.csv (task_id, decision, note)"),
    out: Path = typer.Option(..., "--out", help="accepted tasks JSONL"),
    undecided: str = typer.Option("drop", "--undecided", help="drop or keep tasks without a decision"),
) -> None:
    """Apply human accept/reject decisions from the review sheet."""
    from ..task.io import load_tasks, save_tasks
    from .review import apply_decisions, read_decisions

    if undecided not in ("drop", "keep"):
        console.print("[red]error:[/red] --undecided takes drop or keep")
        raise typer.Exit(2)
    kept, outcome = apply_decisions(load_tasks(tasks), read_decisions(sheet), undecided)
    save_tasks(kept, out)
    for k, ids in outcome.items():
        if ids:
            console.print(f"{k}: {len(ids)}" + (f" ({', '.join(ids[:5])})" if k == "unknown_decision" else ""))
    console.print(f"wrote {len(kept)} tasks to {out}")


def report_command(
    folder: Path = typer.Argument(..., exists=True, file_okay=False, help="folder holding the stage outputs"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the figures as JSON"),
) -> None:
    """Yield and cost per stage from the ``*.stats.json`` / ``*.attempts.jsonl`` files a run left in FOLDER:
    kept and rejected by reason, LLM calls and tokens per kept task, repair success rate, time, yield per source."""
    from .report import build_report, print_report

    rep = build_report(folder)
    if not rep["stages"]:
        console.print(f"[red]error:[/red] no *.stats.json in {folder} (run `stt-arena synth stage1|2|3 --out {folder}/...`)")
        raise typer.Exit(2)
    print_report(rep)
    if json_out:
        write_json(json_out, rep)


def register(synth_app: typer.Typer) -> None:
    synth_app.command("report")(report_command)
    synth_app.command("stage1")(stage1_command)
    synth_app.command("stage2")(stage2_command)
    synth_app.command("stage3")(stage3_command)
    synth_app.command("review-import")(review_import_command)
