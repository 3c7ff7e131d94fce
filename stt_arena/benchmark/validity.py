"""Executed validity invariants I1-I5 for a task (no LLM judgement).

I1 replaying the oracle plan fires every trigger, with no task error;
I2 each firing applied its effects (non-trivial mutations read back, tool changes made);
I3 the normal, static plan fails (impossible tasks: it does not reach the user's goal);
I4 the oracle passes; impossible tasks: no reference or alternative plan reaches the goal and the
   oracle ends by telling the user;
I5 no shortcut: the oracle without its observe/requery steps does not pass.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .replay import ReplayResult, replay
from ..sandbox.local import LocalEpisode
from ..sandbox.spec import episode_spec
from ..task.models import FINAL_MESSAGE, Task

INVARIANTS = ("I1", "I2", "I3", "I4", "I5")


def open_local(task: Task) -> LocalEpisode:
    return LocalEpisode(episode_spec(task))


@dataclass
class Validity:
    task_id: str
    conflict_type: str
    level: str
    results: dict[str, bool] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.error is None and all(self.results.get(k) for k in INVARIANTS)


def _fail(v: Validity, key: str, ok: bool, why: str) -> None:
    v.results[key] = bool(ok)
    if not ok:
        v.reasons[key] = why


def _i2(task: Task, oracle: ReplayResult) -> tuple[bool, str]:
    fired = [e for e in oracle.events if e.get("type") == "trigger"]
    for e in oracle.events:
        if e.get("type") == "in_code_trigger" and not e.get("mutations"):
            return False, f"in-code trigger {e['flag']} changed no state"
    if not fired:
        return any(e.get("type") == "in_code_trigger" for e in oracle.events), "no trigger fired"
    by_id = {t.id: t for t in task.triggers}
    for e in fired:
        t = by_id[e["trigger_id"]]
        eff = t.effects
        if not (eff.mutations or eff.disable_tools or eff.enable_tools or eff.advance_clock_minutes):
            return False, f"trigger {t.id} has no effect"
        for m in eff.mutations:
            if m.old == m.new:
                return False, f"trigger {t.id}: mutation at {m.state_path} does not change the value"
        if len(e["mutations"]) != len(eff.mutations):
            return False, f"trigger {t.id}: not every mutation was applied"
    return True, ""


def check_task(task: Task, open_episode: Callable[[Task], Any] = open_local) -> Validity:
    v = Validity(task.task_id, task.conflict_type, task.level)
    try:
        oracle = replay(task, task.plans.oracle, open_episode)
        normal = replay(task, task.plans.normal, open_episode)
        roles = {"observe", "requery"} | ({"verify"} if task.impossible else set())
        shortcut_steps = [s for s in task.plans.oracle if s.role not in roles]
        shortcut = replay(task, shortcut_steps, open_episode)
    except Exception as e:  # the env failed to build or a plan step is malformed
        v.error = f"{type(e).__name__}: {e}"
        return v
    trig_ids = {t.id for t in task.triggers}
    missing = trig_ids - oracle.fired
    in_code = [e for e in oracle.events if e.get("type") == "in_code_trigger"]
    _fail(v, "I1", (bool(trig_ids) or bool(in_code)) and not missing and not oracle.task_errors,
          f"triggers not fired: {sorted(missing) or 'none declared or coded'}; task errors: {oracle.task_errors}; "
          f"condition errors: {[e['error'] for e in oracle.events if e.get('type') == 'condition_error']}")
    _fail(v, "I2", *_i2(task, oracle))
    if task.impossible:
        _fail(v, "I3", not normal.goal_reached and bool(task.infeasible_goal),
              "the static plan reaches the user's goal" if task.infeasible_goal else "no infeasible_goal items")
        alts = [replay(task, p, open_episode) for p in task.plans.alternatives]
        reached = [i for i, r in enumerate([oracle, *alts]) if r.goal_reached]
        ends_msg = bool(task.plans.oracle) and task.plans.oracle[-1].method == FINAL_MESSAGE
        ok = oracle.passed and not reached and ends_msg and bool(alts)
        _fail(v, "I4", ok, f"oracle passed={oracle.passed} ({_failed(oracle)}), plans reaching goal={reached}, "
                           f"ends with message={ends_msg}, alternatives={len(alts)}")
    else:
        _fail(v, "I3", not normal.passed, "the static plan passes the checklist")
        _fail(v, "I4", oracle.passed, f"oracle fails: {_failed(oracle)}")
    has_obs = len(shortcut_steps) < len(task.plans.oracle)
    _fail(v, "I5", has_obs and not shortcut.passed,
          "oracle has no observe/requery steps" if not has_obs else "oracle passes without observing")
    return v


def _failed(r: ReplayResult) -> str:
    return ", ".join(f"{c['id']}" + (f" ({c['error']})" if c["error"] else "") for c in r.checks if not c["passed"])

