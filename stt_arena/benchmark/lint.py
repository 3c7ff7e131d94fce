"""Static quality rules for built-in tasks (beyond the executed invariants)."""
from __future__ import annotations

import ast
import re
from functools import lru_cache

from ..env.schema import tool_specs
from ..judge.heuristic import IMPOSSIBLE
from ..sandbox.guard import parse
from ..task.models import CHAT_WITH_USER, FINAL_MESSAGE, Task

HINT_PATTERNS = re.compile(
    r"retry later|try again|try (depot|hub|site|slot|another|a different)|instead use|you (should|could|may want)"
    r"|please (try|consider|use)|consider (using|booking|trying)|alternative(s)? (is|are) available",
    re.I,
)
REVEALING = re.compile(r"\b(trigger|conflict|will (expire|close|move|be moved|fail)|outage will)\b", re.I)
MIN_QUERY_TOOLS, MIN_MUTATING_TOOLS = 8, 6


@lru_cache(maxsize=64)
def env_lint(source: str, class_name: str) -> tuple[str, ...]:
    """Tool counts and hint-free result strings of an env class."""
    problems = []
    specs = tool_specs(source, class_name)
    n_mut = sum(s.mutating for s in specs)
    if len(specs) - n_mut < MIN_QUERY_TOOLS or n_mut < MIN_MUTATING_TOOLS:
        problems.append(f"{class_name}: {len(specs) - n_mut} query / {n_mut} mutating tools "
                        f"(need >= {MIN_QUERY_TOOLS} / {MIN_MUTATING_TOOLS})")
    for node in ast.walk(parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and HINT_PATTERNS.search(node.value):
            problems.append(f"{class_name} line {node.lineno}: result text hints at a fix: {node.value!r}")
    return tuple(problems)


def _sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s])


def lint_task(task: Task) -> list[str]:
    env = task.environment
    problems = list(env_lint(env.source, env.class_name))
    n = _sentences(task.query)
    if not 2 <= n <= 5:
        problems.append(f"query has {n} sentences (need 2-5)")
    if REVEALING.search(task.query):
        problems.append(f"query reveals the conflict: {task.query!r}")
    if not task.user_profile.withheld_facts:
        problems.append("user profile has no withheld facts")
    tools = {s.name for s in tool_specs(env.source, env.class_name)} | {FINAL_MESSAGE, CHAT_WITH_USER}
    for plan_name, plan in (("normal", task.plans.normal), ("oracle", task.plans.oracle)):
        if not plan:
            problems.append(f"{plan_name} plan is empty")
        bad = [s.method for s in plan if s.method not in tools]
        if bad:
            problems.append(f"{plan_name} plan calls unknown tools {bad}")
    if task.impossible:
        last = task.plans.oracle[-1] if task.plans.oracle else None
        text = str(last.arguments.get("content", "")) if last and last.method == FINAL_MESSAGE else ""
        if not IMPOSSIBLE.search(text):
            problems.append("the oracle's final message does not state the infeasibility (offline judge phrases)")
        if not task.user_profile.refusals:
            problems.append("impossible task without refusals in the user profile")
        if not task.plans.alternatives:
            problems.append("impossible task without alternative plans")
    elif len(task.checklist) < 2:
        problems.append("solvable task needs goal and detection items at least")
    return problems
