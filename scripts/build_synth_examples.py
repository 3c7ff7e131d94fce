"""Write the synthesis prompts' worked examples (stt_arena/prompts/synth/examples/<prompt>.md) from the
built-in benchmark's best tasks.

"Best": per level, among the tasks whose reference plans pass I1-I5 in-process, the one whose checklist has
the most distinct item kinds, then the shortest oracle, then the smallest task id; at most one task per
domain. The blueprint, trigger, checklist, plan and user-query examples come from those tasks; the method
examples are two short methods (one query, one state change) of the first task's environment. Prompts
whose stage has no benchmark counterpart (filters, summary, state space, operations, tests) have
hand-written example files, which this script leaves alone.

    python scripts/build_synth_examples.py          # rewrite the derived example files
"""
from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

from stt_arena.data import default_tasks_path
from stt_arena.task.io import load_tasks
from stt_arena.task.models import Task
from stt_arena.benchmark.validity import check_task

OUT = Path(__file__).resolve().parents[1] / "stt_arena" / "prompts" / "synth" / "examples"
LEVELS = ("easy", "medium", "hard", "impossible")
MAX_CHECK = 1400


def best_tasks(tasks: list[Task]) -> dict[str, Task]:
    out: dict[str, Task] = {}
    used: set[str] = set()
    for lv in LEVELS:
        cands = sorted((t for t in tasks if t.level == lv),
                       key=lambda t: (-len({c.kind for c in t.checklist}), len(t.plans.oracle), t.task_id))
        for t in cands:
            if t.provenance.domain in used:
                continue
            if check_task(t).valid:
                out[lv] = t
                used.add(t.provenance.domain)
                break
    return out


def dump(obj) -> str:
    return json.dumps(obj, indent=1, ensure_ascii=False)


def header(t: Task) -> str:
    return f"### Example: {t.conflict_type} / {t.level} ({t.provenance.domain}, task {t.task_id})\n"


def methods(t: Task) -> tuple[str, str, str]:
    """(class header with __init__, a short query method, a short state-changing method)."""
    src = t.environment.source
    tree = ast.parse(src)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == t.environment.class_name)
    lines = src.splitlines()
    fns = [f for f in cls.body if isinstance(f, ast.FunctionDef)]
    init = next(f for f in fns if f.name == "__init__")
    head = "\n".join(lines[cls.lineno - 1:init.end_lineno])
    mut = set(t.environment.mutating_tools or [])
    public = [f for f in fns if not f.name.startswith("_")]
    size = lambda f: f.end_lineno - f.lineno  # noqa: E731
    q = min((f for f in public if f.name not in mut and f.name.startswith(("get_", "list_", "search_"))), key=size)
    w = min((f for f in public if f.name in mut or f.name.startswith(("book", "assign", "cancel", "reserve"))),
            key=size)
    get = lambda f: textwrap.dedent("\n".join(lines[f.lineno - 1:f.end_lineno]))  # noqa: E731
    return head, get(q), get(w)


def main() -> None:
    tasks = load_tasks(default_tasks_path())
    best = best_tasks(tasks)
    OUT.mkdir(parents=True, exist_ok=True)
    imp = best.get("impossible")
    files: dict[str, str] = {}
    files["blueprint"] = "".join(
        header(t) + "```json\n" + dump({"scenario": t.provenance.notes or t.user_profile.goal,
                                        "blueprint": t.blueprint.model_dump()}) + "\n```\n"
        for t in [best["medium"], imp] if t)
    files["trigger"] = "".join(header(t) + "```json\n" + dump({"triggers": [x.model_dump() for x in t.triggers]})
                               + "\n```\n" for t in [best["medium"], best["hard"]])
    cl = best["medium"]
    files["checklist"] = header(cl) + f"Query: {cl.query}\n```json\n" + dump({
        "checklist": [{**c.model_dump(), "check": c.check[:MAX_CHECK]} for c in cl.checklist],
        "infeasible_goal": []}) + "\n```\n"
    files["plan_agent"] = "".join(header(t) + f"Query: {t.query}\n```json\n" + dump(t.plans.model_dump()) + "\n```\n"
                                  for t in [best["easy"], imp] if t)
    files["user_query"] = "".join(header(t) + "```json\n" + dump({"query": t.query,
                                                                  "user_profile": t.user_profile.model_dump()})
                                  + "\n```\n" for t in [best["hard"], imp] if t)
    head, q, w = methods(best["easy"])
    files["env_class"] = header(best["easy"]) + "```python\n" + head + "\n```\n"
    files["env_method"] = header(best["easy"]) + "A query:\n```python\n" + q + "\n```\nA state change:\n```python\n" \
        + w + "\n```\n"
    for name, text in files.items():
        body = ("<!-- examples from the built-in benchmark; regenerate with scripts/build_synth_examples.py -->\n"
                "Worked examples (from the built-in benchmark; follow their shape, not their content):\n\n" + text)
        (OUT / f"{name}.md").write_text(body, encoding="utf-8")
        print(f"wrote {OUT / f'{name}.md'} ({len(body)} chars)")
    print("tasks:", {lv: t.task_id for lv, t in best.items()})


if __name__ == "__main__":
    main()
