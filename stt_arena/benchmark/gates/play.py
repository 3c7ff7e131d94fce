"""Play a step list in a fresh episode and keep everything the gates look at."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..replay import run_steps
from ...task.models import Task


@dataclass
class Played:
    calls: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    goals: dict[str, bool] = field(default_factory=dict)
    extra: dict[str, bool] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    final_message: str | None = None
    state: dict = field(default_factory=dict)
    init_state: dict = field(default_factory=dict)
    log: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(self.checks.values())

    @property
    def goal_reached(self) -> bool:
        return bool(self.goals) and all(self.goals.values())

    @property
    def fired(self) -> list[str]:
        seen: list[str] = []
        for e in self.events:
            if e.get("type") == "trigger" and e["trigger_id"] not in seen:
                seen.append(e["trigger_id"])
        return seen

    def signature(self) -> tuple:
        return tuple(sorted(self.checks.items())), tuple(sorted(self.goals.items()))


def play(task: Task, steps: list, open_episode: Callable[[Task], Any], extra: list[dict] | None = None) -> Played:
    """Run ``steps`` (plan steps or dicts); grade the checklist, the infeasible goal and ``extra`` items."""
    out = Played()
    ep = open_episode(task)
    try:
        out.init_state = ep.snapshot()
        out.calls, out.events, out.final_message = run_steps(ep, steps)
        for items, dest in ((task.checklist, out.checks), (task.infeasible_goal, out.goals)):
            if items:
                for c in ep.run_checks([c.model_dump() for c in items]):
                    dest[c["id"]] = c["passed"]
                    if c.get("error"):
                        out.errors[c["id"]] = c["error"]
        if extra:
            for c in ep.run_checks(extra):
                out.extra[c["id"]] = c["passed"]
                if c.get("error"):
                    out.errors[c["id"]] = c["error"]
        out.state = ep.snapshot()
        out.log = ep.log()
    finally:
        ep.close()
    return out
