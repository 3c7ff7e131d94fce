"""Typer commands ``stt-arena eval`` and ``stt-arena report`` (registered in ``stt_arena/cli.py``)."""
from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import List, Optional

import typer

from ..util.console import console, err_console, fail


def _json_opt(text: Optional[str], flag: str) -> dict:
    if not text:
        return {}
    p = Path(text)
    if not text.lstrip().startswith("{") and p.exists():
        text = p.read_text()
    try:
        val = json.loads(text)
    except json.JSONDecodeError as e:
        raise typer.BadParameter(f"not valid JSON ({e.msg} at column {e.colno})", param_hint=flag) from None
    if not isinstance(val, dict):
        raise typer.BadParameter("must be a JSON object", param_hint=flag)
    return val


def _split(values: Optional[List[str]]) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


def eval_command(
    model: str = typer.Option(..., "--model", "-m", help="agent model name, or builtin:oracle|stale|retry|no-verify"),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint of the agent model"),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env", help="env var holding the agent API key"),
    api_key: Optional[str] = typer.Option(None, "--api-key", help="the agent API key itself (prefer --api-key-env: "
                                          "a key on the command line shows in ps); never written to results"),
    temperature: float = typer.Option(0.7, "--temperature"),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="per-reply completion limit"),
    extra_body: Optional[str] = typer.Option(None, "--extra-body",
                                             help='extra request JSON (or a file), e.g. \'{"chat_template_kwargs": {"enable_thinking": false}}\''),
    price_in: float = typer.Option(0.0, "--price-in", help="USD per 1k prompt tokens (agent)"),
    price_out: float = typer.Option(0.0, "--price-out", help="USD per 1k completion tokens (agent)"),
    user: str = typer.Option("auto", "--user", help="user simulator: auto (llm if --user-model, else scripted), scripted, llm"),
    user_model: Optional[str] = typer.Option(None, "--user-model"),
    user_base_url: Optional[str] = typer.Option(None, "--user-base-url", help="default: the agent's --base-url"),
    user_api_key_env: Optional[str] = typer.Option(None, "--user-api-key-env", help="default: --api-key-env"),
    user_extra_body: Optional[str] = typer.Option(None, "--user-extra-body"),
    user_temperature: float = typer.Option(0.0, "--user-temperature"),
    judge_model: Optional[str] = typer.Option(None, "--judge-model", help="LLM judge for impossible tasks (default: offline heuristic)"),
    judge_base_url: Optional[str] = typer.Option(None, "--judge-base-url", help="default: the agent's --base-url"),
    judge_api_key_env: Optional[str] = typer.Option(None, "--judge-api-key-env", help="default: --api-key-env"),
    judge_extra_body: Optional[str] = typer.Option(None, "--judge-extra-body"),
    tasks: Optional[Path] = typer.Option(None, "--tasks", help="task JSONL or a benchmark version (v1, v2; "
                                                             "default: the latest built-in benchmark)"),
    benchmark: Optional[str] = typer.Option(None, "--benchmark", help="built-in benchmark version (v1, v2); "
                                                                     "same as --tasks v1"),
    types: Optional[List[str]] = typer.Option(None, "--types", help="conflict types, e.g. T1,ST2"),
    levels: Optional[List[str]] = typer.Option(None, "--levels", help="easy,medium,hard,impossible"),
    task_ids: Optional[List[str]] = typer.Option(None, "--task-ids", help="comma-separated task ids"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="first N tasks after filtering"),
    runs: int = typer.Option(3, "--runs", min=1),
    seed: Optional[int] = typer.Option(None, "--seed", help="sent as the request seed (seed + run)"),
    max_turns: int = typer.Option(50, "--max-turns", min=1),
    concurrency: int = typer.Option(4, "--concurrency", "-j", min=1),
    workers: int = typer.Option(1, "--workers", "-w", min=1,
                                help="processes sharing the concurrency slots (for high concurrency: the "
                                     "harness's Python work per turn then uses several cores)"),
    ray: Optional[str] = typer.Option(None, "--ray", help="run on a Ray cluster: auto (the one `ray start` joined), "
                                      "host:port (its GCS), or local (a cluster started for the run); "
                                      "--concurrency and --rpm hold over the whole cluster, --workers = actors per "
                                      "node; needs pip install 'stt-arena[ray]'"),
    rpm: Optional[float] = typer.Option(None, "--rpm", help="requests per minute limit for each model"),
    max_retries: int = typer.Option(6, "--max-retries", min=0),
    request_timeout: float = typer.Option(120.0, "--request-timeout", help="seconds per HTTP request"),
    http_client: Optional[str] = typer.Option(None, "--http-client",
                                              help="aiohttp (lean, the default) or openai (the SDK's own client; "
                                                   "env STT_ARENA_HTTP_CLIENT sets the default)"),
    episode_timeout: float = typer.Option(900.0, "--episode-timeout", help="seconds per episode"),
    episode_retries: int = typer.Option(2, "--episode-retries", min=0,
                                        help="re-runs of an episode that failed for infrastructure reasons"),
    multi_call: str = typer.Option("first", "--multi-call", help="several tool calls in one reply: first (run the first, tell the model the rest were not run) or all (run them one per turn)"),
    keep_reasoning: bool = typer.Option(True, "--keep-reasoning/--drop-reasoning", help="send reasoning_content back in later turns"),
    max_observation_chars: int = typer.Option(16000, "--max-observation-chars"),
    system_prompt: Optional[Path] = typer.Option(None, "--system-prompt", help="agent system prompt file"),
    sandbox: bool = typer.Option(True, "--sandbox/--no-sandbox", help="--no-sandbox: in-process envs, trusted tasks only"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="results dir (default results/<model>-<time>)"),
    resume: bool = typer.Option(False, "--resume", help="continue an interrupted run in --output"),
    allow_task_change: bool = typer.Option(False, "--allow-task-change",
                                           help="--resume with a task file other than the run's (mixes task sets)"),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Evaluate an agent on the benchmark (the paper's protocol by default) and print Table 3."""
    from ..data import default_tasks_path
    from ..llm.client import ModelConfig
    from ..task.io import TaskFileError, load_tasks
    from .config import EvalConfig, slug
    from ..episode.loop import FatalEvalError
    from .runner import EvalSetupError, Runner
    from ..results.store import StoreWriteError
    from .tables import print_summary

    logging.basicConfig(level=logging.WARNING)
    if multi_call not in ("first", "all"):
        raise typer.BadParameter("choose 'first' or 'all'", param_hint="--multi-call")
    if user not in ("auto", "scripted", "llm"):
        raise typer.BadParameter("choose auto, scripted or llm", param_hint="--user")
    if ray is not None:
        from .ray_shards import RayUnavailable, require_ray
        try:
            require_ray()
        except RayUnavailable as e:
            fail(str(e))
    if http_client not in (None, "aiohttp", "openai"):
        raise typer.BadParameter("choose aiohttp or openai", param_hint="--http-client")
    common = dict(rpm=rpm, max_retries=max_retries, timeout_s=request_timeout,
                  **({"http_client": http_client} if http_client else {}))
    agent = ModelConfig(model=model, base_url=base_url, api_key_env=api_key_env, api_key_value=api_key,
                        temperature=temperature,
                        max_tokens=max_tokens, extra_body=_json_opt(extra_body, "--extra-body"),
                        price_per_1k_input=price_in, price_per_1k_output=price_out, **common)
    user_cfg = judge_cfg = None
    if user_model:
        user_cfg = ModelConfig(model=user_model, base_url=user_base_url or base_url,
                               api_key_env=user_api_key_env or api_key_env, temperature=user_temperature,
                               api_key_value=None if user_api_key_env else api_key,
                               extra_body=_json_opt(user_extra_body, "--user-extra-body"), **common)
    if judge_model:
        judge_cfg = ModelConfig(model=judge_model, base_url=judge_base_url or base_url,
                                api_key_env=judge_api_key_env or api_key_env, temperature=0.0,
                                api_key_value=None if judge_api_key_env else api_key,
                                extra_body=_json_opt(judge_extra_body, "--judge-extra-body"), **common)
    mode = ("llm" if user_cfg else "scripted") if user == "auto" else user
    from ..data import BENCHMARK_FILES, resolve_tasks

    if benchmark and tasks:
        fail("give --tasks or --benchmark, not both")
    if benchmark and benchmark not in BENCHMARK_FILES:
        fail(f"--benchmark: unknown version {benchmark!r}; choose from {', '.join(BENCHMARK_FILES)}")
    path = resolve_tasks(benchmark or tasks) if (benchmark or tasks) else default_tasks_path()
    try:
        items = load_tasks(path)
    except TaskFileError as e:
        fail(str(e))
    if output is None:
        if resume:
            raise typer.BadParameter("--resume needs the --output directory of the run to continue",
                                     param_hint="--resume")
        output = Path("results") / f"{slug(model)}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    try:
        cfg = EvalConfig(agent=agent, user=user_cfg, judge=judge_cfg, user_mode=mode, tasks_path=str(path),
                         max_turns=max_turns, runs=runs, seed=seed, concurrency=concurrency, workers=workers, ray=ray,
                         episode_timeout_s=episode_timeout, episode_retries=episode_retries,
                         multi_call=multi_call, keep_reasoning=keep_reasoning,
                         max_observation_chars=max_observation_chars, sandbox=sandbox,
                         system_prompt_path=str(system_prompt) if system_prompt else None,
                         types=_split(types), levels=_split(levels), task_ids=_split(task_ids), limit=limit)
        runner = Runner(cfg, items, output, resume=resume, progress=progress,
                        allow_task_change=allow_task_change)
    except (EvalSetupError, FileNotFoundError) as e:
        fail(str(e))
    left = len(runner.jobs())
    console.print(f"[bold]{model}[/bold] on {len(runner.tasks)} task(s) x {runs} run(s) from {path}; "
                  f"{left} episode(s) to run; results in {output}")
    hint = f"continue with the same command plus: --output {output} --resume"
    import asyncio

    from .ray_shards import RayUnavailable as RayUnavailable_

    try:  # SIGTERM ends the run like Ctrl-C (Runner.run installs the handler)
        summary = asyncio.run(runner.run())
    except RayUnavailable_ as e:
        fail(f"{e}; nothing was run")
    except FatalEvalError as e:
        done = len(runner.store.records)
        fail(f"{e}. The run stopped; the {done} finished episode(s) are saved; when it is fixed, {hint}")
    except StoreWriteError as e:
        fail(f"{e}; the run stopped. The {len(runner.store.records)} episode(s) written before are kept; "
             f"free space or fix permissions, then {hint}", 74)
    except KeyboardInterrupt:
        err_console.print(f"[yellow]interrupted[/yellow]: {len(runner.store.records)} finished episode(s) "
                          f"are saved and summary.json is up to date; {hint}")
        raise typer.Exit(130) from None
    print_summary(console, summary)
    errs = summary["expected_episodes"] - summary["completed_episodes"]
    if errs:
        err_console.print(f"[yellow]{errs} episode(s) not completed[/yellow] for infrastructure reasons (see "
                          f"{output}/errors.jsonl; they are not counted as failures); {hint}")
    console.print(f"results: {output}/results.jsonl, summary: {output}/summary.json")
    raise typer.Exit(1 if errs else 0)


def report_command(
    results: List[Path] = typer.Argument(..., help="one or more results directories of `stt-arena eval`"),
    output: Path = typer.Option(Path("report"), "--output", "-o", help="report directory"),
    title: str = typer.Option("STT-Arena report", "--title"),
    max_trajectories: Optional[int] = typer.Option(None, "--max-trajectories", min=1,
                                                   help="keep at most N trajectories in the viewer (default: all)"),
    allow_mixed: bool = typer.Option(False, "--allow-mixed", help="compare runs made on different benchmark "
                                                                  "versions or task files (marked in the report)"),
) -> None:
    """Compare runs/models: Markdown table, radar chart over conflict types, bars per level, HTML viewer."""
    from ..results.store import RESULTS, ResultsFileError
    from ..report import build_report
    from ..util.console import warn

    dirs = []
    out_abs = output.resolve()
    for d in results:
        if d.is_dir() and not (d / RESULTS).exists() and (
                d.resolve() == out_abs or (d / "report.md").exists() or (d / "viewer.html").exists()):
            warn(f"{d}: skipped (a report directory, not a results directory)")
            continue
        dirs.append(d)
    if not dirs:
        fail("no results directories among " + " ".join(map(str, results)))
    from ..report.build import MixedTasksError

    try:
        files = build_report(dirs, output, title=title, max_trajectories=max_trajectories, allow_mixed=allow_mixed)
    except MixedTasksError as e:
        fail(str(e))
    except ResultsFileError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot write the report to {output}: {e.strerror or e}")
    for f in files:
        console.print(f"wrote {f}")


def baselines(
    tasks: Optional[Path] = typer.Argument(None, help="task JSONL (default: the built-in benchmark)"),
    output: Optional[Path] = typer.Option(None, "--output", help="keep the agents' results here"),
    runs: int = typer.Option(1, help="runs per task (the built-in agents are deterministic)"),
    sandbox: bool = typer.Option(True, "--sandbox/--no-sandbox"),
) -> None:
    """Score the built-in reference agents (oracle, stale, retry, no-verify) per level."""
    from rich.table import Table

    from ..data import default_tasks_path
    from .baselines import score_builtins
    from .preflight import load_task_arg

    rows = score_builtins(load_task_arg(tasks), output, runs=runs, sandbox=sandbox, tasks_path=tasks or default_tasks_path(),
                          progress=True)
    cols = ("easy", "medium", "hard", "impossible", "solvable", "overall")
    t = Table(title="Built-in reference agents: pass rate (%)")
    t.add_column("agent")
    for c in (*cols, "avg calls"):
        t.add_column(c, justify="right")
    for name, row in rows.items():
        t.add_row(f"builtin:{name}", *["-" if row[c] is None else f"{row[c] * 100:.1f}" for c in cols],
                  f"{row['avg_calls']:.2f}" if row["avg_calls"] is not None else "-")
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.command("report")(report_command)
    app.command("baselines")(baselines)
