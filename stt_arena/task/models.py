"""The task format: one self-contained spatio-temporal tool-use task (pydantic v2)."""
from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FINAL_MESSAGE = "respond_to_user"
"""Pseudo-method ending a plan: a message to the user (``arguments.content``)."""
CHAT_WITH_USER = "chat_with_user"
"""Pseudo-tool through which an agent talks to the (simulated) user."""


class ConflictType(str, Enum):
    T1 = "T1"  # window expiry
    T2 = "T2"  # priority reorder
    T3 = "T3"  # quota reset
    S1 = "S1"  # site mismatch
    S2 = "S2"  # dependency block
    S3 = "S3"  # route restriction
    ST1 = "ST1"  # resource shift
    ST2 = "ST2"  # failure cascade
    ST3 = "ST3"  # handoff failure


CONFLICT_NAMES = {
    "T1": "window expiry", "T2": "priority reorder", "T3": "quota reset",
    "S1": "site mismatch", "S2": "dependency block", "S3": "route restriction",
    "ST1": "resource shift", "ST2": "failure cascade", "ST3": "handoff failure",
}


class Level(str, Enum):
    easy = "easy"
    medium = "medium"
    hard = "hard"
    impossible = "impossible"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_enum_values=True)


class Clock(_Model):
    """Simulated clock: env code reads it through ``now()``; each tool call advances it."""

    start: str = Field("2026-03-02T08:00:00", description="ISO start time of the episode")
    minutes_per_call: float = Field(1.0, ge=0, description="simulated minutes each tool call takes")


class Environment(_Model):
    class_name: str
    source: str = Field(description="Python source of the environment class (untrusted)")
    init_config: dict[str, Any] = Field(default_factory=dict)
    clock: Clock = Field(default_factory=Clock)
    seed: int = 0
    mutating_tools: list[str] | None = Field(
        None, description="tools that change state; derived from the class when absent"
    )


class ProfileConstraint(_Model):
    """A user constraint in checkable form (the prose lives in refusals / facts).

    ``forbid_ids``: entity ids that no write of the agent may use (in its arguments or in the records it
    changes). ``check``: optional Python source defining f(state) or f(state, log) that must hold at the end.
    """

    id: str
    kind: Literal["refusal", "withheld", "known", "preference", "deadline"] = "refusal"
    description: str = ""
    forbid_ids: list[str] = Field(default_factory=list)
    check: str = ""


class UserProfile(_Model):
    goal: str = ""
    persona: str = ""
    known_facts: dict[str, str] = Field(default_factory=dict)
    withheld_facts: dict[str, str] = Field(
        default_factory=dict, description="revealed only when the agent asks directly"
    )
    clarifications: dict[str, str] = Field(default_factory=dict, description="question topic -> answer")
    refusals: list[str] = Field(default_factory=list, description="alternatives the user refuses")
    fallback_reply: str = "I don't have more information on that."
    constraints: list[ProfileConstraint] = Field(
        default_factory=list, description="the refusals and facts above in checkable form (gate I6)"
    )


class Mutation(_Model):
    state_path: str = Field(description="dotted path into the env state, e.g. 'vehicles.V12.depot'")
    old: Any = None
    new: Any = None


class ConflictDesign(_Model):
    activation_operation: str = ""
    trigger_condition: str = ""
    mode: Literal["always_once", "conditional_guarded"] = "always_once"
    recovery_guard: str = ""
    mutations: list[Mutation] = Field(default_factory=list)
    observable_via: list[str] = Field(default_factory=list)


class Blueprint(_Model):
    normal_flow: list[str] = Field(default_factory=list)
    conflict_design: ConflictDesign = Field(default_factory=ConflictDesign)
    recovery_path: list[str] = Field(default_factory=list)
    impossibility_rationale: str = ""


class Activation(_Model):
    tool: str = Field(description="the tool whose call activates the trigger; '*' = any tool call (time or "
                                  "state conditions: the world changes whatever the agent calls)")
    timing: Literal["before", "after"] = "before"


class Effects(_Model):
    mutations: list[Mutation] = Field(default_factory=list)
    disable_tools: list[str] = Field(default_factory=list)
    enable_tools: list[str] = Field(default_factory=list)
    advance_clock_minutes: float = 0.0


class Trigger(_Model):
    """A declarative state change applied by the executor (no rewrite of env code).

    Fires on a call to ``activation.tool`` (before or after it runs) when ``condition`` holds.
    ``always_once`` fires once; ``conditional_guarded`` fires only while ``recovery_guard`` is false,
    up to ``max_fires`` times. ``after_triggers`` gates it on other triggers having fired and
    ``delay_calls`` postpones the effects by that many tool calls (cascades with delays).
    """

    id: str
    activation: Activation
    condition: str = Field("True", description="safe expression over state, args, now, minutes, step")
    mode: Literal["always_once", "conditional_guarded"] = "always_once"
    recovery_guard: str = ""
    max_fires: int = Field(1, ge=1)
    after_triggers: list[str] = Field(default_factory=list)
    delay_calls: int = Field(0, ge=0)
    effects: Effects = Field(default_factory=Effects)

    @model_validator(mode="after")
    def _guard_needs_mode(self) -> "Trigger":
        if self.recovery_guard and self.mode != "conditional_guarded":
            raise ValueError("recovery_guard is only meaningful with mode 'conditional_guarded'")
        return self


class ChecklistItem(_Model):
    """One graded criterion; ``check`` is Python source defining a function of (state) or (state, log)."""

    id: str
    description: str = ""
    kind: Literal["goal", "detection", "recovery", "verification", "safety", "other"] = "other"
    check: str

    @field_validator("check")
    @classmethod
    def _has_def(cls, v: str) -> str:
        if "def " not in v:
            raise ValueError("check must be Python source defining a function")
        return v


class PlanStep(_Model):
    method: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    role: Literal["action", "observe", "requery", "verify", "message"] = "action"


class ReferencePlans(_Model):
    normal: list[PlanStep] = Field(default_factory=list, description="the static plan, blind to the trigger")
    oracle: list[PlanStep] = Field(default_factory=list, description="the adaptive plan that passes")
    alternatives: list[list[PlanStep]] = Field(
        default_factory=list, description="impossible tasks: plans trying every alternative (all must fail)"
    )


class Provenance(_Model):
    source: str = "handwritten"
    benchmark: str = Field("", description="built-in benchmark version the task belongs to ('v2'); empty otherwise")
    generator: str = ""
    family: str = ""
    seed: int | None = None
    domain: str = ""
    notes: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)


class Task(_Model):
    task_id: str
    conflict_type: ConflictType
    level: Level
    environment: Environment
    query: str
    user_profile: UserProfile = Field(default_factory=UserProfile)
    blueprint: Blueprint = Field(default_factory=Blueprint)
    triggers: list[Trigger] = Field(default_factory=list)
    checklist: list[ChecklistItem] = Field(min_length=1)
    infeasible_goal: list[ChecklistItem] = Field(
        default_factory=list, description="impossible tasks: the user's goal, which no plan may reach"
    )
    plans: ReferencePlans = Field(default_factory=ReferencePlans)
    provenance: Provenance = Field(default_factory=Provenance)

    @model_validator(mode="after")
    def _consistent(self) -> "Task":
        ids = [t.id for t in self.triggers]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate trigger ids: {ids}")
        for t in self.triggers:
            missing = [d for d in t.after_triggers if d not in ids]
            if missing:
                raise ValueError(f"trigger {t.id!r} depends on unknown triggers {missing}")
        cids = [c.id for c in self.checklist + self.infeasible_goal]
        if len(cids) != len(set(cids)):
            raise ValueError(f"duplicate checklist ids: {cids}")
        return self

    @property
    def impossible(self) -> bool:
        return self.level == Level.impossible.value
