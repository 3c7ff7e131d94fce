"""Helpers shared by the seed loaders: error collection, JSON/JSONL reading, tool-schema normalisation."""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .callparse import CallParseError, parse_calls
from .models import Message, SeedFormatError, SeedList, ToolCall, ToolSchema


class Collector:
    """Accumulates seeds; a failing row raises, or with ``skip_bad`` is recorded in ``seeds.errors``."""

    def __init__(self, skip_bad: bool = False):
        self.skip_bad = skip_bad
        self.seeds = SeedList()

    @contextmanager
    def row(self, path: Path | str, where: str | None) -> Iterator[None]:
        try:
            yield
        except SeedFormatError as err:
            self._fail(err, None)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, CallParseError) as exc:
            self._fail(SeedFormatError(path, where, f"{type(exc).__name__}: {exc}"), exc)

    def _fail(self, err: SeedFormatError, cause: BaseException | None) -> None:
        if not self.skip_bad:
            raise err from cause
        self.seeds.errors.append(err)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise SeedFormatError(path, f"line {e.lineno}", f"invalid JSON: {e.msg}") from None


def jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank lines of a JSONL file with 1-based line numbers."""
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                yield n, line


def loads_line(path: Path, lineno: int, line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as e:
        raise SeedFormatError(path, f"line {lineno}", f"invalid JSON: {e.msg}") from None


def files_under(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """``path`` itself, or the files below it with one of ``suffixes``, sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(path)
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(suffixes))


def to_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def maybe_json(value: Any) -> Any:
    """Decode ``value`` if it is a JSON string, else return it unchanged."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def calls_from(value: Any) -> list[ToolCall]:
    """Tool calls from a call string (``f(a=1)``, ``[f(a=1), g()]``, newline-separated) or from JSON
    ``{"name", "arguments"}`` objects (a list, one object, or their JSON text; arguments may be JSON text)."""
    data = maybe_json(value)
    if isinstance(data, str):
        return [ToolCall(**c) for c in parse_calls(data)]
    out = []
    for c in data if isinstance(data, list) else [data]:
        c = c.get("function", c) if isinstance(c, dict) else c  # OpenAI {"type": "function", "function": {...}}
        args = maybe_json(c.get("arguments", c.get("parameters", {}))) if isinstance(c, dict) else None
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not isinstance(args, dict):
            raise ValueError(f"a call needs a 'name' and object 'arguments': {str(c)[:80]}")
        out.append(ToolCall(name=c["name"], arguments=args))
    return out


def tool_schema(spec: dict, **meta: Any) -> ToolSchema:
    """Normalise ``{name, description, parameters}`` (or ``{"type": "function", "function": {...}}``)."""
    if isinstance(spec.get("function"), dict):
        spec = spec["function"]
    if not isinstance(spec.get("name"), str) or not spec["name"].strip():
        raise ValueError(f"tool schema without a name: {str(spec)[:80]}")
    params = dict(spec.get("parameters") or {"type": "object", "properties": {}})
    if params.get("type") in ("dict", None):  # ToolACE writes "dict"
        params["type"] = "object"
    return ToolSchema(name=spec["name"], description=spec.get("description") or "", parameters=params,
                      meta=meta)


def first_user_text(dialogue: list[Message]) -> str:
    return next((m.content for m in dialogue if m.role == "user" and m.content.strip()), "")


def name_tool_turns(dialogue: list[Message]) -> None:
    """Give unnamed tool turns the name of the pending call they answer, in order."""
    pending: list[str] = []
    for m in dialogue:
        if m.role == "assistant" and m.tool_calls:
            pending = [c.name for c in m.tool_calls]
        elif m.role == "tool" and m.name is None and pending:
            m.name = pending.pop(0)


def unique_tools(tools: list[ToolSchema]) -> list[ToolSchema]:
    seen: dict[str, ToolSchema] = {}
    for t in tools:
        seen.setdefault(t.name, t)
    return list(seen.values())
