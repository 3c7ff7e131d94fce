"""Pydantic models of every LLM answer in the pipeline and of the records passed between stages."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..task.models import Blueprint, ChecklistItem, ConflictType, PlanStep, Trigger, UserProfile
from ..task.paper_schema import normalize_blueprint_answer, normalize_query_answer

CONFLICT_CODES = [c.value for c in ConflictType]
YesNo = Literal["YES", "NO"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore", use_enum_values=True)


def _upper(v: Any) -> Any:
    return v.strip().upper() if isinstance(v, str) else v


# -- stage 1 ------------------------------------------------------------------------------------------
class StatefulnessVerdict(_Out):
    answer: YesNo
    reason: str = ""
    _u = field_validator("answer", mode="before")(_upper)


class SpatioTemporalVerdict(_Out):
    dependency_type: Literal["temporal", "spatial", "spatio-temporal", "none"]
    conflict_codes: list[str] = Field(default_factory=list)
    answer: YesNo
    reason: str = ""
    _u = field_validator("answer", mode="before")(_upper)

    @field_validator("conflict_codes")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        v = [c.strip().upper() for c in v]
        bad = [c for c in v if c not in CONFLICT_CODES]
        if bad:
            raise ValueError(f"unknown conflict codes {bad}; use {CONFLICT_CODES}")
        return v


class EnvSummary(_Out):
    name: str
    summary: str
    usefulness: int = Field(ge=1, le=5)
    modelability: int = Field(ge=1, le=5)


class StateAttribute(_Out):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: str
    description: str = ""


class StateSpace(_Out):
    attributes: list[StateAttribute] = Field(min_length=1)


class ProposedOperation(_Out):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    changes: str = Field("", description="which state (entity.field) the operation writes")


class StatefulAugmentation(_Out):
    """A read-only tool set turned into a stateful environment: the query tools' data becomes state and the
    model proposes the state-changing operations a user of that data would need."""
    answer: YesNo
    reason: str = ""
    entities: list[StateAttribute] = Field(default_factory=list, description="state built from the query tools' data")
    write_operations: list[ProposedOperation] = Field(default_factory=list)
    _u = field_validator("answer", mode="before")(_upper)


class Operation(_Out):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Literal["query", "state_change"]
    description: str = ""
    arguments: dict[str, str] = Field(default_factory=dict, description="argument name -> type and meaning")


class OperationList(_Out):
    operations: list[Operation] = Field(min_length=2)


class AttributeClass(_Out):
    class_name: str = Field(pattern=r"^[A-Z][A-Za-z0-9_]*$")
    source: str = Field(description="module imports, class statement, MUTATING_TOOLS and __init__ only")


class MethodSource(_Out):
    name: str
    source: str = Field(description="one method definition, indented as inside the class")


class InitConfig(_Out):
    init_config: dict[str, Any]


class ToolTest(_Out):
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    kind: Literal["positive", "negative", "boundary"]


class ToolTestPlan(_Out):
    tests: list[ToolTest] = Field(min_length=1)


class Finding(_Out):
    tool: str
    severity: Literal["broken", "inconsistent", "minor"]
    detail: str = Field(description="what was called, what came back, what was expected")


class ExploreReport(_Out):
    """The exploratory tester's final report (its ``report`` tool's arguments)."""
    findings: list[Finding] = Field(default_factory=list)
    summary: str = ""


class CuratedEnv(BaseModel):
    """Stage 1 output record (one JSONL line)."""
    env_id: str
    seed_id: str
    source: str
    name: str
    summary: str
    usefulness: int
    modelability: int
    dependency_type: str
    conflict_codes: list[str]
    class_name: str
    code: str
    init_config: dict[str, Any]
    tools: list[dict[str, Any]]
    test_report: list[dict[str, Any]] = Field(default_factory=list)
    seed_query: str = ""
    provenance: dict[str, Any] = Field(default_factory=dict)


# -- stage 2 ------------------------------------------------------------------------------------------
class ConflictAssignment(_Out):
    conflict_type: ConflictType
    activation_operation: str
    observation_operations: list[str] = Field(min_length=1)
    rationale: str = ""


class ConflictAssignments(_Out):
    assignments: list[ConflictAssignment] = Field(min_length=1)


class BlueprintOut(_Out):
    """Our names or the paper's (``scenario_id``, ``user_goal``, ``trigger_mechanism``, ``change_description``...,
    see ``paper_schema``)."""
    scenario: str = Field(description="one paragraph: who the user is and what they want")
    blueprint: Blueprint
    scenario_id: str = ""
    env_id: str = ""
    conflict_type: str = ""
    level: str = ""

    @model_validator(mode="before")
    @classmethod
    def _paper(cls, d: Any) -> Any:
        return normalize_blueprint_answer(d)


class InitConfigOut(_Out):
    init_config: dict[str, Any]
    recovery_alternative: str = ""


class TriggerOut(_Out):
    triggers: list[Trigger] = Field(min_length=1)


class TriggerCodeOut(_Out):
    """The paper's variant: the env class rewritten with the conflict coded in (a flag attribute)."""
    source: str
    flag: str = Field(description="boolean attribute set when the conflict fires, e.g. _conflict_triggered")


class QueryOut(_Out):
    """The profile may use the paper's names (``task_goal``, ``withhold_until_asked``...; see ``paper_schema``)."""
    query: str
    user_profile: UserProfile
    profile_extra: dict[str, Any] = Field(default_factory=dict, description="paper profile fields we do not model")

    @model_validator(mode="before")
    @classmethod
    def _paper(cls, d: Any) -> Any:
        return normalize_query_answer(d)


class DraftTask(BaseModel):
    """Stage 2 output record (one JSONL line)."""
    draft_id: str
    env_id: str
    conflict_type: str
    level: str
    class_name: str
    code: str
    init_config: dict[str, Any]
    clock: dict[str, Any] = Field(default_factory=dict)
    scenario: str = ""
    blueprint: Blueprint
    triggers: list[Trigger] = Field(default_factory=list)
    trigger_mode: Literal["declarative", "code"] = "declarative"
    query: str
    user_profile: UserProfile
    recovery_alternative: str = ""
    tools: list[dict[str, Any]] = Field(default_factory=list)
    provenance: dict[str, Any] = Field(default_factory=dict)


# -- stage 3 ------------------------------------------------------------------------------------------
class ChecklistOut(_Out):
    checklist: list[ChecklistItem] = Field(min_length=1)
    infeasible_goal: list[ChecklistItem] = Field(default_factory=list)


class PlansOut(_Out):
    normal: list[PlanStep] = Field(min_length=1)
    oracle: list[PlanStep] = Field(min_length=1)
    alternatives: list[list[PlanStep]] = Field(default_factory=list)
    checklist_fixes: list[ChecklistItem] = Field(
        default_factory=list, description="repair turns only: corrected checklist items, replacing those with the same id")
    trigger_fixes: list[Trigger] = Field(
        default_factory=list, description="repair turns only: corrected triggers, replacing those with the same id")


class Judgement(_Out):
    ok: bool
    reason: str = ""


class CheckVerdict(_Out):
    trigger_fires: Judgement
    effect_applied: Judgement
    breaks_original_plan: Judgement


AUDIT_ASPECTS = ("query_config_coherence", "story_query_alignment", "conflict_mutation_alignment",
                 "checklist_coverage", "difficulty_consistency", "narrative_consistency")


class AuditOut(_Out):
    query_config_coherence: Judgement
    story_query_alignment: Judgement
    conflict_mutation_alignment: Judgement
    checklist_coverage: Judgement
    difficulty_consistency: Judgement
    narrative_consistency: Judgement
