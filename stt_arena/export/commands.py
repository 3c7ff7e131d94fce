"""``stt-arena export-sft``: refined trajectories -> LlamaFactory alpaca + ShareGPT files and dataset_info.json."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from ..util.console import console


def export_command(
    inputs: List[Path] = typer.Argument(..., help="refine output directories (or results dirs / results.jsonl)"),
    output: Path = typer.Option(..., "--output", "-o", help="LlamaFactory dataset dir"),
    tasks: Optional[Path] = typer.Option(None, "--tasks", help="task JSONL for the tool schemas (default: the refine config)"),
    include_failed: bool = typer.Option(False, "--include-failed", help="also export trajectories that did not pass"),
    dedupe: bool = typer.Option(True, "--dedupe/--no-dedupe", help="drop exact and near-duplicate conversations"),
    tokenizer: Optional[Path] = typer.Option(None, "--tokenizer", help="local tokenizer dir: token lengths in the card"),
) -> None:
    """Write sft_refine_alpaca.json (alpaca + history/system), sft_refine_sharegpt.json (tools, function_call),
    sft_refine_steps.json (one row per assistant turn), dataset_info.json and a dataset card (README.md,
    dataset_card.json)."""
    from ..data import default_tasks_path
    from ..results.store import ResultsFileError, load_results, read_jsonl
    from ..task.io import TaskFileError, load_tasks
    from .llamafactory import export_llamafactory, tools_for_tasks

    records: list[dict] = []
    cfg_tasks = None
    for p in inputs:
        try:
            recs, cfg = (list(read_jsonl(p)), {}) if p.is_file() else load_results(p)
        except (ResultsFileError, OSError) as e:
            console.print(f"[red]error:[/red] {e}")
            raise typer.Exit(2) from None
        cfg_tasks = cfg_tasks or (cfg.get("refine") or {}).get("tasks_path") or (cfg.get("config") or {}).get("tasks_path")
        records += recs
    tpath = tasks or (Path(cfg_tasks) if cfg_tasks else default_tasks_path())
    try:
        tools = tools_for_tasks(load_tasks(tpath))
    except TaskFileError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    st = export_llamafactory(records, tools, output, only_passed=not include_failed, dedupe=dedupe,
                             tokenizer=str(tokenizer) if tokenizer else None)
    console.print(f"exported {st.exported}/{st.records} trajectories; skipped: {json.dumps(st.skipped)}; "
                  f"duplicates removed: {json.dumps(st.duplicates)}")
    for f in st.files:
        console.print(f"wrote {f}")
    raise typer.Exit(0 if st.exported else 1)


def register(app: typer.Typer) -> None:
    app.command("export-sft")(export_command)
