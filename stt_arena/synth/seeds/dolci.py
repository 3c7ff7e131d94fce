"""Dolci tool-use seed loader (``allenai/Dolci-Instruct-SFT-Tool-Use``): parquet, JSONL or JSON array rows.

Rows: ``id``, ``messages`` and a source column (``source`` or ``dataset_source``). Messages have ``role``
system/user/assistant/environment and ``content``; the system message carries ``functions`` (JSON list of
``{name, description, parameters}``, possibly wrapped as ``{"type": "function", "function": {...}}``) and
assistant messages ``function_calls`` (``get_weather(city="Boston")``, several separated by newlines).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from .common import (Collector, calls_from, files_under, first_user_text, jsonl_lines, loads_line, maybe_json,
                     name_tool_turns, read_json, to_text, tool_schema, unique_tools)
from .models import Message, SeedFormatError, SeedList, SeedQuery, ToolSchema

SOURCE = "dolci"
_TOOL_ROLES = {"environment", "tool", "function", "ipython", "observation"}


def _plain(x: Any) -> Any:
    """Parquet gives numpy arrays for list columns: turn them (recursively) into lists."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if hasattr(x, "tolist") and not isinstance(x, (str, bytes)):
        x = x.tolist()
    return [_plain(v) for v in x] if isinstance(x, (list, tuple)) else x


def _functions(value: Any, err) -> list[ToolSchema]:
    specs = maybe_json(value)
    if isinstance(specs, str):
        raise err("'functions' is not valid JSON")
    specs = [specs] if isinstance(specs, dict) else specs or []
    if not isinstance(specs, list):
        raise err("'functions' must be a JSON list of function schemas")
    return [tool_schema(s) for s in specs if isinstance(s, dict)]


def _seed(path: Path, index: int, row: Any, line: int | None = None) -> SeedQuery:
    where = f"line {line}" if line else f"row {index}"
    row = _plain(row)
    if not isinstance(row, dict) or not isinstance(row.get("messages"), list):
        raise SeedFormatError(path, where, "expected a row with a 'messages' list")
    tools: list[ToolSchema] = []
    if row.get("functions") or row.get("tools"):
        tools += _functions(row.get("functions") or row.get("tools"),
                            lambda p: SeedFormatError(path, where, p))
    dialogue: list[Message] = []
    for k, msg in enumerate(row["messages"]):
        at = f"{where}, messages[{k}]"
        if not isinstance(msg, dict):
            raise SeedFormatError(path, at, "message is not an object")
        role, content = msg.get("role"), to_text(msg.get("content"))
        if msg.get("functions"):
            tools += _functions(msg["functions"], lambda p: SeedFormatError(path, at, p))
        if role == "system":
            continue
        if role == "user":
            dialogue.append(Message(role="user", content=content))
        elif role == "assistant":
            raw = msg.get("function_calls")
            try:
                calls = calls_from(raw) if raw else []
            except ValueError as e:
                raise SeedFormatError(path, at, f"bad function_calls {str(raw)[:60]!r}: {e}") from None
            dialogue.append(Message(role="assistant", content=content, tool_calls=calls))
        elif role in _TOOL_ROLES:
            dialogue.append(Message(role="tool", content=content, name=msg.get("name") or None))
        else:
            raise SeedFormatError(path, at, f"unknown role {role!r}")
    if not first_user_text(dialogue):
        raise SeedFormatError(path, where, "no user message")
    name_tool_turns(dialogue)
    prov = {"path": str(path), "index": index, **({"line": line} if line else {}), "row_id": row.get("id"),
            "dataset_source": row.get("source") or row.get("dataset_source")}
    return SeedQuery(seed_id=f"{SOURCE}:{path.stem}:{index}", source=SOURCE, query=first_user_text(dialogue),
                     dialogue=dialogue, tools=unique_tools(tools),
                     tool_calls=[c for m in dialogue for c in m.tool_calls], provenance=prov)


def _rows(f: Path, sink: Collector) -> Iterator[tuple[int, Any, int | None]]:
    if f.suffix == ".parquet":
        import pandas as pd

        with sink.row(f, None):
            for i, row in enumerate(pd.read_parquet(f).to_dict("records")):
                yield i, row, None
    elif f.suffix == ".jsonl":
        for i, (n, line) in enumerate(jsonl_lines(f)):
            row = None
            with sink.row(f, f"line {n}"):
                row = loads_line(f, n, line)
            if row is not None:
                yield i, row, n
    else:
        data = None
        with sink.row(f, None):
            data = read_json(f)
            if not isinstance(data, list):
                raise SeedFormatError(f, None, "expected a JSON array of rows")
        yield from ((i, row, None) for i, row in enumerate(data or []))


def load_dolci(path: str | Path, *, skip_bad: bool = False) -> SeedList:
    """Load Dolci seeds from a parquet/JSONL/JSON file, or every such file below a folder."""
    sink = Collector(skip_bad)
    for f in files_under(Path(path), (".parquet", ".jsonl", ".json")):
        for i, row, line in _rows(f, sink):
            with sink.row(f, f"line {line}" if line else f"row {i}"):
                sink.seeds.append(_seed(f, i, row, line))
    return sink.seeds
