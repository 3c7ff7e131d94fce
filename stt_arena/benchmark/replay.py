"""Replay a fixed plan in an episode and grade the final state."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..task.models import CHAT_WITH_USER, FINAL_MESSAGE, PlanStep, Task


@dataclass
class ReplayResult:
    calls: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    goal_checks: list[dict] = field(default_factory=list)
    final_message: str | None = None
    state: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c["passed"] for c in self.checks)

    @property
    def fraction(self) -> float:
        return sum(c["passed"] for c in self.checks) / len(self.checks) if self.checks else 0.0

    @property
    def goal_reached(self) -> bool:
        return bool(self.goal_checks) and all(c["passed"] for c in self.goal_checks)

    @property
    def fired(self) -> set[str]:
        return {e["trigger_id"] for e in self.events if e.get("type") == "trigger"}

    @property
    def task_errors(self) -> list[str]:
        return [e["error"] for e in self.events if e.get("type") == "task_error"]


def grade(task: Task, episode) -> tuple[list[dict], list[dict]]:
    """Checklist and (impossible tasks) infeasible-goal results on the episode's final state."""
    checks = episode.run_checks([c.model_dump() for c in task.checklist])
    goals = episode.run_checks([c.model_dump() for c in task.infeasible_goal]) if task.infeasible_goal else []
    return checks, goals


def run_steps(ep, steps: Iterable[PlanStep | dict]) -> tuple[list[dict], list[dict], str | None]:
    """Play tool calls and messages in an open episode: (calls with their results, events, final message)."""
    calls: list[dict] = []
    events: list[dict] = []
    final = None
    for st in steps:
        st = st if isinstance(st, PlanStep) else PlanStep.model_validate(st)
        if st.method in (FINAL_MESSAGE, CHAT_WITH_USER):
            content = str(st.arguments.get("content", st.arguments.get("message", "")))
            ep.record_message(st.method, content)
            if st.method == FINAL_MESSAGE:
                final = content
            continue
        out = ep.call(st.method, st.arguments)
        calls.append({"method": st.method, "arguments": st.arguments, **out})
        events += out.get("events", [])
    return calls, events, final


def replay(task: Task, steps: Iterable[PlanStep | dict], open_episode: Callable[[Task], Any]) -> ReplayResult:
    """Run ``steps`` (tool calls and messages) in a fresh episode; tool results are recomputed."""
    res = ReplayResult()
    ep = open_episode(task)
    try:
        res.calls, res.events, res.final_message = run_steps(ep, steps)
        res.checks, res.goal_checks = grade(task, ep)
        res.state = ep.snapshot()
    finally:
        ep.close()
    return res
