"""The trajectory record: one finished episode as eval, refinement and RL write it and every reader
(report, analyze, refine, export-sft) loads it (``load_results``), validated here.

``stt-arena/trajectory/v1`` is the current schema. Records written before the schema field existed are
read as v1 (their fields are the same); a record of an unknown schema is refused with its file and line.
Unknown top-level fields are kept (``model``, ``agent``, ``refine``, ...: run metadata), so a reader never
drops what a newer writer added.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SCHEMA_V1 = "stt-arena/trajectory/v1"
SCHEMAS = (SCHEMA_V1,)


class StepRecord(BaseModel):
    """One agent turn: a tool call (with its result and trigger events), a chat with the user, the final
    reply, or an invalid turn (unknown tool, bad arguments, unparsable call: never executed)."""

    model_config = ConfigDict(extra="allow")
    index: int
    turn: int
    kind: Literal["tool", "chat", "final", "invalid"]
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    result: Any = None
    events: list[dict[str, Any]] = Field(default_factory=list)
    step: int | None = None
    now: str | None = None
    error: str | None = None
    content: str | None = None
    thought: str | None = None
    note: str | None = None
    user_reply: str | None = None
    user_done: bool | None = None
    finish_reason: str | None = None
    sandbox_error: str | None = None


class GradeRecord(BaseModel):
    model_config = ConfigDict(extra="allow")
    passed: bool
    fraction: float
    checklist_passed: bool | None = None
    items: list[dict[str, Any]] = Field(default_factory=list)
    infeasible_goal: list[dict[str, Any]] = Field(default_factory=list)
    judge: dict[str, Any] | None = None
    graded_by: str = "checklist"


class TrajectoryRecord(BaseModel):
    """One episode: identity (task, run, level, type), outcome (grade), and the trajectory (steps, events,
    messages, final state)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    schema_: str = Field(SCHEMA_V1, alias="schema")
    task_id: str
    run: int = 0
    seed: int | None = None
    conflict_type: str | None = None
    level: str | None = None
    domain: str | None = None
    passed: bool
    fraction: float = 0.0
    grade: GradeRecord | None = None
    termination: str | None = None
    error: str | None = None
    final_message: str | None = None
    user_done: bool = False
    n_turns: int = 0
    n_tool_calls: int = 0
    n_chat: int = 0
    n_invalid: int = 0
    events: list[dict[str, Any]] = Field(default_factory=list)
    steps: list[StepRecord] = Field(default_factory=list)
    messages: list[dict[str, Any]] = Field(default_factory=list)
    tools: list[str] = Field(default_factory=list)
    final_state: dict[str, Any] | None = None
    usage: dict[str, Any] = Field(default_factory=dict)
    timing: dict[str, Any] = Field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (as written to results.jsonl)."""
        return self.model_dump(by_alias=True, mode="json")


class RecordError(ValueError):
    """A record that does not match the trajectory schema; the message names file, line and field."""


def _where(err: ValidationError) -> str:
    e = err.errors()[0]
    loc = ".".join(str(x) for x in e["loc"])
    return f"field {loc!r}: {e['msg']}" + (f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else "")


def read_record(obj: Any, where: str = "record") -> TrajectoryRecord:
    """Validate one record (any known schema version) into the current model."""
    if not isinstance(obj, dict):
        raise RecordError(f"{where}: a trajectory record must be a JSON object")
    schema = obj.get("schema", SCHEMA_V1)
    if schema not in SCHEMAS:
        raise RecordError(f"{where}: unknown record schema {schema!r} (this version reads {', '.join(SCHEMAS)})")
    try:
        return TrajectoryRecord.model_validate(obj)
    except ValidationError as e:
        raise RecordError(f"{where}: {_where(e)}") from None


def normalize(obj: Any, where: str = "record") -> dict[str, Any]:
    """A validated record as the dict readers use: every schema field present, extra fields kept."""
    return read_record(obj, where).to_dict()
