"""Loadability of a task file before any episode starts: environment code parses and compiles, the
class exists, its tools have schemas, the guard accepts it (sandboxed runs), and every check function
compiles. A broken task stops the run at once with file, line, task and field, instead of failing its
episodes one by one (and being silently left out of the table)."""
from __future__ import annotations

import json
from pathlib import Path

from ..task.models import Task


_SEEN: dict = {}  # (source, guard) -> problem or None, for the whole process (sources repeat across tasks/runs)


def task_lines(path: str | Path | None) -> dict[str, int]:
    """task_id -> line number in a JSONL task file (best effort; {} when unreadable)."""
    out: dict[str, int] = {}
    if not path:
        return out
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        d = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(d, dict):
                        out.setdefault(str(d.get("task_id") or d.get("id")), n)
    except OSError:
        pass
    return out


def _compile(source: str, what: str, guard: bool) -> str | None:
    from ..sandbox.guard import GuardError, check_source, compile_tree, parse
    try:
        tree = check_source(source, what) if guard else parse(source)
        compile_tree(tree, f"<{what}>")
    except GuardError as e:
        return str(e)
    except SyntaxError as e:
        return f"{what}: line {e.lineno}: SyntaxError: {e.msg}"
    except (ValueError, TypeError) as e:
        return f"{what}: {e}"
    return None


def task_problems(task: Task, guard: bool = True, _seen: dict | None = None, checks: bool = True) -> list[str]:
    """What keeps ``task`` from loading (empty when it loads); ``checks=False``: environment only."""
    from ..env.schema import tool_specs
    seen = {} if _seen is None else _seen
    env = task.environment
    out: list[str] = []
    key = (env.source, env.class_name, guard)
    if key not in seen:
        err = _compile(env.source, "environment.source", guard)
        if err is None:
            try:
                if not tool_specs(env.source, env.class_name, env.mutating_tools):
                    err = f"environment.class_name: class {env.class_name!r} has no public methods (no tools)"
            except (ValueError, SyntaxError) as e:
                err = f"environment.class_name: {e}"
        seen[key] = err
    if seen[key]:
        out.append(seen[key])
    for field, items in (("checklist", task.checklist), ("infeasible_goal", task.infeasible_goal)) if checks else ():
        for it in items:
            k2 = (it.check, guard)
            if k2 not in seen:
                seen[k2] = _compile(it.check, f"{field}[{it.id}].check", guard)
            if seen[k2]:
                out.append(seen[k2].replace("<code>", f"{field}[{it.id}].check"))
    return out


def check_loadable(tasks: list[Task], path: str | Path | None = None, guard: bool = True,
                   checks: bool = True) -> list[str]:
    """One message per broken task (``path:line: task X: problem``). The built-in benchmark, frozen and
    validated by the test suite, is skipped (its 16 environments and 600 check functions cost ~4 s)."""
    from ..data import default_tasks_path
    if path is not None and Path(path).resolve() == Path(default_tasks_path()).resolve():
        return []
    lines = task_lines(path)
    seen = _SEEN if len(_SEEN) < 20_000 else {}
    msgs = []
    for t in tasks:
        probs = task_problems(t, guard, seen, checks=checks)
        if probs:
            where = f"{path}:{lines[t.task_id]}" if t.task_id in lines else str(path or "tasks")
            msgs.append(f"{where}: task {t.task_id}: " + "; ".join(probs))
    return msgs


def load_task_arg(path: str | Path | None, loadable: bool = False) -> list[Task]:
    """Tasks of ``path`` (default: the built-in benchmark); ``loadable``: also check that every task's
    code compiles (a clear error instead of a traceback deep in a command)."""
    from ..data import resolve_tasks
    from ..task.io import TaskFileError, load_tasks
    from ..util.console import fail

    p = resolve_tasks(path)
    try:
        items = load_tasks(p)
    except TaskFileError as e:
        fail(str(e))
    if loadable:
        broken = check_loadable(items, p, guard=False, checks=False)
        if broken:
            fail(f"{len(broken)} task(s) cannot be loaded: " + " | ".join(broken[:5]))
    return items
