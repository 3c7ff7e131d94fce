"""`stt-arena` commands of the benchmark: the task format (`schema`, `tasks`), validity (`validate`), playing a
task by hand (`play`), composition (`stats`), procedural generation (`synth procedural`)."""
from __future__ import annotations

import json
import logging
import shlex
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..eval.preflight import load_task_arg
from ..task.models import Task
from ..util.console import console, fail, write_text_atomic


def schema(output: Optional[Path] = typer.Option(None, "--output", "-o", help="write to this file")) -> None:
    """Print the JSON Schema of the task format."""
    text = json.dumps(Task.model_json_schema(), indent=2)
    if output:
        write_text_atomic(output, text + "\n", "--output")
        console.print(f"wrote {output}")
    else:
        sys.stdout.write(text + "\n")


def validate(
    tasks: Optional[Path] = typer.Argument(None, help="task JSONL or a benchmark version (v1, v2; default: the latest)"),
    sandbox: bool = typer.Option(True, "--sandbox/--no-sandbox", help="run env code in the sandbox"),
    workers: int = typer.Option(2, help="parallel tasks (processes for trusted tasks, threads otherwise)"),
    gates: str = typer.Option("all", "--gates", help="comma list of gates (I1..I10, BIND, LEVEL, ASK, JUDGE; "
                                                     "'I1-I5'; 'all')"),
    budget: Optional[int] = typer.Option(None, help="tool-call sequences per search (I6, I7, I8; BIND a third); "
                                                    "default 3000 for the built-in benchmark (in-process), 600 "
                                                    "for other files (every sequence replayed in the sandbox)"),
    depth: Optional[int] = typer.Option(None, help="calls per searched sequence (default 4 built-in, 3 other files)"),
    show: int = typer.Option(20, help="list at most this many problem tasks"),
    task_id: Optional[list[str]] = typer.Option(None, "--task", help="print every gate with its evidence for this "
                                                                      "task (repeatable)"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write every task's gate results (JSONL)"),
    ray: Optional[str] = typer.Option(None, "--ray", help="validate on a Ray cluster, one Ray task per task: auto, "
                                      "host:port or local (needs pip install 'stt-arena[ray]')"),
) -> None:
    """Vet env code, replay plans, check invariants I1-I5 and the validity gates I6-I10, BIND, LEVEL, ASK, JUDGE."""
    from .gates.gates import Budget
    from .validation import ALL_GATES, INVARIANTS, attach_suite, gate_table, invariant_table, parse_gates, \
        validate_tasks

    logging.basicConfig(level=logging.WARNING)
    try:
        selected = parse_gates(gates)
    except ValueError as e:
        console.print(f"[red]error:[/red] --gates: {e}")
        raise typer.Exit(2) from None
    if ray is not None:
        from ..eval.ray_shards import RayUnavailable, require_ray
        try:
            require_ray()
        except RayUnavailable as e:
            fail(str(e))
    items = load_task_arg(tasks)
    if task_id:
        missing = sorted(set(task_id) - {t.task_id for t in items})
        if missing:
            console.print(f"[red]error:[/red] --task: unknown task ids {missing}")
            raise typer.Exit(2)
        items = [t for t in items if t.task_id in set(task_id)]
    from ..data import benchmark_version, resolve_tasks

    trusted = benchmark_version(resolve_tasks(tasks)) is not None  # shipped benchmark files only
    budget = budget or (3000 if trusted or not sandbox else 600)
    depth = depth or (4 if trusted or not sandbox else 3)
    from rich.progress import Progress

    with Progress(console=console, transient=True) as prog:
        bar = prog.add_task("validating", total=len(items))
        if ray is not None:
            from ..eval.ray_shards import RayUnavailable
            from .ray_validate import validate_on_ray
            try:
                reports = validate_on_ray(items, ray, sandbox=sandbox, gates=selected, trusted=trusted,
                                          budget=Budget(budget, depth), progress=lambda r: prog.advance(bar))
            except RayUnavailable as e:
                fail(str(e))
        else:
            reports = validate_tasks(items, sandbox=sandbox, workers=workers, gates=selected, trusted=trusted,
                                     budget=Budget(budget, depth), progress=lambda r: prog.advance(bar))
    suite = attach_suite(reports, items, sandbox=sandbox and not trusted) if "I10" in selected else None
    if any(g in INVARIANTS for g in selected):
        table = Table(title=f"Invariants per conflict type x level ({len(items)} tasks)")
        for col in ("type", "level", "n", "I1", "I2", "I3", "I4", "I5", "valid"):
            table.add_column(col, justify="right" if col not in ("type", "level") else "left")
        for row in invariant_table(reports):
            table.add_row(row["type"], row["level"], str(row["n"]),
                          *[f"{row[k] * 100:.0f}%" for k in ("I1", "I2", "I3", "I4", "I5", "valid")])
        console.print(table)
    gt = Table(title=f"Gates ({len(items)} tasks; search budget {budget} sequences, depth {depth})")
    for col in ("gate", "pass", "fail", "reason codes (tasks)"):
        gt.add_column(col, justify="right" if col in ("pass", "fail") else "left")
    for row in gate_table(reports, [g for g in ALL_GATES if g in selected]):
        gt.add_row(row["gate"], str(row["pass"]), str(row["fail"]),
                   ", ".join(f"{k} {v}" for k, v in row["reasons"].items()))
    console.print(gt)
    if suite is not None:
        st = Table(title=f"I10 shortcut policies: pass % per level (judge: {suite.judge}; max {suite.threshold:.0%})")
        rows = suite.table()
        for i, row in enumerate(rows):
            if i == 0:
                for col in row:
                    st.add_column(str(col))
            else:
                st.add_row(*[str(c) for c in row])
        if rows:
            console.print(st)
    bad = [r for r in reports if not r.valid]
    if task_id:
        for r in reports:
            console.print(f"[bold]{r.task_id}[/bold] ({r.conflict_type}/{r.level})")
            for p in r.errors:
                console.print(f"  [red]error[/red] {p}")
            if r.validity:
                for k in INVARIANTS:
                    if k in selected:
                        ok = r.validity.results.get(k)
                        console.print(f"  {k}: {'pass' if ok else 'FAIL ' + r.validity.reasons.get(k, '')}")
            for g in r.gates.values():
                console.print(f"  {g.gate}: {'pass' if g.ok else 'FAIL [' + g.reason + '] ' + g.detail}  {g.stats}")
                if not g.ok and g.evidence:
                    console.print("    evidence: " + json.dumps(g.evidence, default=str)[:2000])
    else:
        for r in bad[:show]:
            console.print(f"[red]invalid[/red] {r.task_id} ({r.conflict_type}/{r.level}): " + "; ".join(r.problems()))
    if json_out:
        lines = [json.dumps({"task_id": r.task_id, "conflict_type": r.conflict_type, "level": r.level,
                             "valid": r.valid, "errors": r.errors,
                             "invariants": r.validity.results if r.validity else {},
                             "invariant_reasons": r.validity.reasons if r.validity else {},
                             "gates": {k: g.to_dict() for k, g in r.gates.items()}}, default=str)
                 for r in reports]
        write_text_atomic(json_out, "\n".join(lines) + "\n", "--json")
        console.print(f"wrote {json_out}")
    console.print(f"{len(items) - len(bad)}/{len(items)} tasks valid on {', '.join(selected)}")
    raise typer.Exit(1 if bad else 0)


PLAY_HELP = """[bold]tool key=value ...[/bold] or [bold]tool {json}[/bold]  call a tool (one step; the clock advances)
:tools     the tools with their schemas       :state    the environment state
:checks    grade the checklist now            :say TEXT the final message to the user
:history   the calls made so far              :help     this help         :quit  leave
Lines starting with ':' and unknown tool names are never sent to the environment."""


def _parse_call(line: str) -> tuple[str, dict]:
    name, _, rest = line.strip().partition(" ")
    rest = rest.strip()
    if not rest:
        return name, {}
    if rest.startswith("{"):
        return name, json.loads(rest)
    args = {}
    for tok in shlex.split(rest):
        k, _, v = tok.partition("=")
        try:
            args[k] = json.loads(v)
        except json.JSONDecodeError:
            args[k] = v
    return name, args


def play(
    task_id: str = typer.Argument(..., help="task to play"),
    tasks: Optional[Path] = typer.Option(None, "--tasks", help="task JSONL (default: the built-in benchmark)"),
    sandbox: bool = typer.Option(True, "--sandbox/--no-sandbox"),
) -> None:
    """Call a task's tools by hand: `tool key=value ...` or `tool {json}`; :tools :state :checks :say :quit."""
    from .replay import grade
    from ..sandbox.executor import Executor, open_episode

    task = next((t for t in load_task_arg(tasks) if t.task_id == task_id), None)
    if task is None:
        fail(f"no task {task_id!r} (`stt-arena tasks` lists the ids)")
    ex = Executor() if sandbox else None
    ep = open_episode(task, ex, sandbox)
    console.print(f"[bold]{task.task_id}[/bold] {task.conflict_type}/{task.level}\n[cyan]User:[/cyan] {task.query}")
    tools = ep.list_tools()
    names = [t["name"] for t in tools]
    console.print("tools: " + ", ".join(t["name"] + ("*" if t["mutating"] else "") for t in tools))
    console.print("[dim]:help for commands; * = changes state[/dim]")
    try:
        import readline  # noqa: F401 - arrow keys and history for input()
    except ImportError:
        pass
    history: list[str] = []
    try:
        while True:
            try:
                line = input("stt> ").strip()
            except EOFError:
                break
            if not line:
                continue
            if line in (":q", ":quit", "exit", "quit"):
                break
            if line in (":h", ":help", "help", "?"):
                console.print(PLAY_HELP)
            elif line == ":history":
                for k, h in enumerate(history, 1):
                    console.print(f"{k:3d}  {h}", markup=False)
            elif line == ":tools":
                console.print(ep.list_tools())
            elif line == ":state":
                console.print_json(json.dumps(ep.snapshot()))
            elif line == ":checks":
                checks, goals = grade(task, ep)
                for c in checks + goals:
                    console.print(("[green]PASS[/green] " if c["passed"] else "[red]FAIL[/red] ") + c["id"]
                                  + (f" ({c['error']})" if c["error"] else ""))
            elif line.startswith(":say "):
                ep.record_message("respond_to_user", line[5:])
                history.append(line)
                console.print("[dim]message recorded[/dim]")
            elif line.startswith(":"):
                console.print(f"[red]unknown command[/red] {line.split()[0]!r}; :help lists them (nothing was sent)")
            else:
                try:
                    name, args = _parse_call(line)
                except (json.JSONDecodeError, ValueError) as e:
                    console.print(f"[red]bad input:[/red] {e} (nothing was sent)")
                    continue
                if name not in names:  # a typo never reaches the environment (no step, no clock tick)
                    import difflib
                    close = difflib.get_close_matches(name, names, n=1)
                    console.print(f"[red]no tool {name!r}[/red]" + (f"; did you mean {close[0]!r}?" if close else
                                  "; :tools lists them") + " (nothing was sent)")
                    continue
                history.append(line)
                out = ep.call(name, args)
                for ev in out.get("events", []):
                    console.print(f"[bold yellow]>> trigger event[/bold yellow] {json.dumps(ev)}")
                console.print_json(json.dumps(out["result"]))
                console.print(f"[dim]step {out.get('step')} @ {out.get('now')}[/dim]")
    finally:
        ep.close()
        if ex:
            ex.close()


def stats(tasks: Optional[Path] = typer.Argument(None, help="task JSONL (default: the built-in benchmark)"),
          as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Composition: tasks per type x level, domains, tools per environment, oracle plan length per level."""
    from ..generator.family import LEVELS
    from .stats import composition

    c = composition(load_task_arg(tasks, loadable=True))
    if as_json:
        sys.stdout.write(json.dumps(c, indent=2) + "\n")
        return
    t = Table(title=f"{c['n']} tasks: conflict type x level")
    for col in ("type", *LEVELS, "total"):
        t.add_column(col, justify="left" if col == "type" else "right")
    for ct, row in c["by_type_level"].items():
        t.add_row(ct, *[str(row[lv]) for lv in LEVELS], str(sum(row.values())))
    t.add_row("share", *[f"{c['level_share'][lv] * 100:.0f}%" for lv in LEVELS], "100%")
    console.print(t)
    e = Table(title=f"{len(c['environments'])} environments over {len(c['domains'])} domains")
    for col in ("class", "domain", "tasks", "query tools", "mutating tools"):
        e.add_column(col)
    for cls, info in c["environments"].items():
        e.add_row(cls, info["domain"], str(c["domains"].get(info["domain"], "")), str(info["query_tools"]),
                  str(info["mutating_tools"]))
    console.print(e)
    p = Table(title="oracle plan length (tool calls)")
    for col in ("level", "mean", "min", "max"):
        p.add_column(col)
    for lv in LEVELS:
        if lv in c["oracle_calls"]:
            o = c["oracle_calls"][lv]
            p.add_row(lv, f"{o['mean']:.1f}", str(o["min"]), str(o["max"]))
    console.print(p)


def synth_procedural(
    n: int = typer.Option(..., "--n", min=1, help="number of tasks"),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(..., "--output", "-o", "--out", help="output JSONL"),
    split: str = typer.Option("train", help="train (never collides with the benchmark) or test"),
    validate: bool = typer.Option(True, "--validate/--no-validate", help="run invariants I1-I5 on every task"),
    types: Optional[str] = typer.Option(None, help="comma-separated conflict types"),
) -> None:
    """Generate fresh tasks from the parameterised built-in families."""
    import time

    from tqdm import tqdm

    from .generate import GenerationError, benchmark_fingerprints, iter_generate
    from ..task.io import save_tasks
    from .validity import check_task

    if split not in ("train", "test"):
        fail("--split must be train or test")
    if out.is_dir() or (out.parent.exists() and not out.parent.is_dir()) or any(
            p.exists() and not p.is_dir() for p in out.parents):
        fail(f"--output {out}: not a writable file path (it, or a parent, is in the way)")
    check = (lambda t: check_task(t).valid) if validate else None
    exclude = benchmark_fingerprints() if split == "train" else set()
    t0 = time.perf_counter()
    try:
        gen = iter_generate(n, seed, split, validate=check, exclude=exclude,
                            types=types.split(",") if types else None)
        written = save_tasks(tqdm(gen, total=n, desc="tasks", disable=n < 50 or not sys.stderr.isatty()), out)
    except GenerationError as e:
        fail(str(e), 1)
    except OSError as e:
        fail(f"--output {out}: cannot write: {e.strerror or e}", 1)
    dt = time.perf_counter() - t0
    console.print(f"wrote {written} {'validated ' if validate else ''}tasks to {out} in {dt:.1f}s "
                  f"({written / dt:.0f} tasks/s)")


def tasks_command(
    tasks: Optional[Path] = typer.Argument(None, help="task JSONL (default: the built-in benchmark)"),
    types: Optional[str] = typer.Option(None, "--types", help="comma-separated conflict types, e.g. T1,ST2"),
    levels: Optional[str] = typer.Option(None, "--levels", help="easy,medium,hard,impossible"),
    domain: Optional[str] = typer.Option(None, "--domain", help="only this domain"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per line"),
) -> None:
    """List task ids with conflict type, level and domain (for `play`, `eval --task-ids`)."""
    items = load_task_arg(tasks)
    ty = {t.strip().upper() for t in types.split(",")} if types else None
    lv = {x.strip().lower() for x in levels.split(",")} if levels else None
    rows = [t for t in items if (ty is None or t.conflict_type in ty) and (lv is None or t.level in lv)
            and (domain is None or t.provenance.domain == domain)]
    for t in rows:
        if as_json:
            sys.stdout.write(json.dumps({"task_id": t.task_id, "type": t.conflict_type, "level": t.level,
                                         "domain": t.provenance.domain}) + "\n")
        else:
            sys.stdout.write(f"{t.task_id}\t{t.conflict_type}\t{t.level}\t{t.provenance.domain}\n")
    if not rows:
        fail("no task matches the filters", 1)


def register(app: typer.Typer, synth_app: typer.Typer) -> None:
    app.command("schema")(schema)
    app.command("validate")(validate)
    app.command("play")(play)
    app.command("stats")(stats)
    app.command("tasks")(tasks_command)
    synth_app.command("procedural")(synth_procedural)
