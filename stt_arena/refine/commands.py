"""``stt-arena refine``: refine trajectories (rules or LLM rewrite), replay them, keep the passing ones."""
from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from ..util.console import console


def refine_command(
    inputs: List[Path] = typer.Argument(..., help="results directories of `stt-arena eval` or results.jsonl files"),
    output: Path = typer.Option(..., "--output", "-o", help="output dir: results.jsonl, rejected.jsonl, stats.json"),
    tasks: Optional[Path] = typer.Option(None, "--tasks", help="task JSONL (default: the inputs' config, else the benchmark)"),
    mode: str = typer.Option("rules", "--mode", help="rules (deterministic) or llm (rewrite with a model)"),
    model: Optional[str] = typer.Option(None, "--model", help="rewrite model (--mode llm)"),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint"),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env"),
    prompts: Optional[Path] = typer.Option(None, "--prompts", help="directory overriding prompts/refine/*.md"),
    repair_rounds: int = typer.Option(1, "--repair-rounds", min=0, help="LLM repair rounds after a failing replay"),
    judge_model: Optional[str] = typer.Option(None, "--judge-model", help="LLM judge for impossible tasks (default: heuristic)"),
    sandbox: bool = typer.Option(True, "--sandbox/--no-sandbox", help="replay in the sandbox (--no-sandbox: trusted tasks)"),
    concurrency: int = typer.Option(4, "--concurrency", "-j", min=1),
    only_failing: bool = typer.Option(False, "--only-failing", help="skip source trajectories that passed"),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Refine trajectories against the three failure modes; every result is replayed and validated."""
    from ..data import default_tasks_path
    from ..results.store import ResultsFileError, load_results
    from ..judge import make_judge
    from ..llm.client import LLMClient, ModelConfig
    from ..task.io import TaskFileError, load_tasks
    from .llm import LLMRewriter
    from .pipeline import Refiner, make_opener, refine_all, write_outputs

    logging.basicConfig(level=logging.WARNING)
    if mode not in ("rules", "llm"):
        raise typer.BadParameter("choose rules or llm", param_hint="--mode")
    if mode == "llm" and not model:
        raise typer.BadParameter("--mode llm needs --model", param_hint="--model")
    records: list[dict] = []
    cfg_tasks = None
    for p in inputs:
        try:
            recs, cfg = load_results(p)
        except (ResultsFileError, OSError) as e:
            console.print(f"[red]error:[/red] {e}")
            raise typer.Exit(2) from None
        cfg_tasks = cfg_tasks or (cfg.get("config") or {}).get("tasks_path")
        for r in recs:
            r.setdefault("model", cfg.get("label") or p.name)
        records += recs
    if only_failing:
        records = [r for r in records if not r.get("passed")]
    tpath = tasks or (Path(cfg_tasks) if cfg_tasks else default_tasks_path())
    try:
        task_map = {t.task_id: t for t in load_tasks(tpath)}
    except TaskFileError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    opener, closer = make_opener(sandbox)

    retries: list[int] = []

    async def run():
        clients = []
        try:
            judge_client = None
            if judge_model:
                judge_client = LLMClient(ModelConfig(model=judge_model, base_url=base_url, api_key_env=api_key_env,
                                                     temperature=0.0))
                clients.append(judge_client)
            rewriter = None
            if mode == "llm":
                c = LLMClient(ModelConfig(model=model, base_url=base_url, api_key_env=api_key_env, temperature=0.0))
                clients.append(c)
                rewriter = LLMRewriter(c, prompts, repair_rounds=repair_rounds)
            refiner = Refiner(task_map, opener, mode, rewriter, make_judge(judge_client))
            outs = await refine_all(refiner, records, concurrency, progress)
            retries.append(refiner.transient_retries)
            return outs
        finally:
            for c in clients:
                await c.aclose()

    try:
        outcomes = asyncio.run(run())
    finally:
        closer()
    stats = write_outputs(outcomes, output, {"mode": mode, "model": model, "tasks_path": str(tpath),
                                             "inputs": [str(p) for p in inputs], "sandbox": sandbox},
                          transient_retries=sum(retries))
    print_stats(stats)
    console.print(f"kept {stats['kept']} trajectories in {output}/results.jsonl; rejected in {output}/rejected.jsonl")


def print_stats(stats: dict) -> None:
    t = Table(title=f"Refinement: {stats['in']} in, {stats['kept']} kept ({stats['refined']} refined, "
                    f"{stats['unchanged']} unchanged), {stats['rejected']} rejected")
    for col in ("source model", "in", "source passed", "refined", "unchanged", "rejected (by reason)",
                "avg calls before", "avg calls after"):
        t.add_column(col, justify="left" if col in ("source model", "rejected (by reason)") else "right")

    def f(x):
        return "-" if x is None else f"{x:.2f}"
    for m, row in stats["per_model"].items():
        t.add_row(m, str(row["in"]), str(row["source_passed"]), str(row["refined"]), str(row["unchanged"]),
                  ", ".join(f"{k}: {v}" for k, v in row["rejected"].items()) or "0",
                  f(row["avg_calls_before"]), f(row["avg_calls_after"]))
    t.add_row("all", str(stats["in"]), "", str(stats["refined"]), str(stats["unchanged"]),
              ", ".join(f"{k}: {v}" for k, v in stats["rejected_by_reason"].items()) or "0",
              f(stats["avg_calls_before"]), f(stats["avg_calls_after"]))
    console.print(t)
    console.print(f"replays repeated after a transient sandbox failure: {stats.get('transient_retries', 0)}")
    console.print("failure modes in the input: " + json.dumps(stats["failure_modes_in"])
                  + "; in trajectories refined: " + json.dumps(stats["failure_modes_fixed"]))


def register(app: typer.Typer) -> None:
    app.command("refine")(refine_command)
