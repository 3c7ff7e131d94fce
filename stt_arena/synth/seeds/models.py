"""Normalised seed query shared by every Stage 1 loader, plus its error and result types."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

Source = Literal["api-bank", "toolace", "dolci"]
SOURCES: tuple[str, ...] = ("api-bank", "toolace", "dolci")


class ToolCall(BaseModel):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Message(BaseModel):
    """One dialogue turn; assistant turns may carry ``tool_calls``, tool turns the tool ``name``."""
    role: Literal["user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    name: str | None = None


class ToolSchema(BaseModel):
    """OpenAI-style function schema; ``meta`` keeps source-specific extras (category, outputs...)."""
    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    meta: dict[str, Any] = Field(default_factory=dict)

    def openai(self) -> dict:
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}


class SeedQuery(BaseModel):
    seed_id: str
    source: Source
    query: str
    dialogue: list[Message] = Field(default_factory=list)
    tools: list[ToolSchema] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    init_database: dict[str, Any] | None = None
    provenance: dict[str, Any] = Field(default_factory=dict)

    @field_validator("query")
    @classmethod
    def _query_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("query is empty")
        return v.strip()

    @property
    def called_tools(self) -> list[str]:
        """Distinct names of the tools called, in first-call order."""
        return list(dict.fromkeys(c.name for c in self.tool_calls))


class SeedFormatError(ValueError):
    """Malformed seed input; names the file, the line/item and what was wrong."""

    def __init__(self, path: Any, where: str | None, problem: str):
        self.path, self.where, self.problem = str(path), where, problem
        super().__init__(f"{self.path}{f' ({where})' if where else ''}: {problem}")


class SeedList(list):
    """``list[SeedQuery]`` plus ``errors`` (bad rows collected with ``skip_bad=True``) and ``skipped`` notes."""

    def __init__(self, *args):
        super().__init__(*args)
        self.errors: list[SeedFormatError] = []
        self.skipped: list[str] = []

    def extend_from(self, other: "SeedList") -> None:
        self.extend(other)
        self.errors.extend(getattr(other, "errors", []))
        self.skipped.extend(getattr(other, "skipped", []))
