"""ToolACE seed loader: the raw release (``data.json``) and LlamaFactory ShareGPT conversions.

Raw: ``[{"system", "conversations": [{"from": "user"|"assistant"|"tool", "value"}]}]``; the tools are the JSON
after :data:`TOOL_LIST_MARK` in ``system``, assistant calls use the bracket syntax ``[Name With Spaces(a=1)]``
and tool turns hold ``[{"name", "results"}]``. ShareGPT: ``from`` in human/gpt/function_call/observation, plus
``system`` and ``tools`` (a JSON string). The conversion mangles names in ``function_call`` turns
(``Market Trends API`` -> ``API``); the real name is recovered from the observation or the tool list and the
raw one kept in ``provenance["raw_call_names"]``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .callparse import looks_like_calls, parse_calls
from .common import (Collector, calls_from, files_under, first_user_text, jsonl_lines, loads_line, maybe_json,
                     read_json, to_text, tool_schema)
from .models import Message, SeedFormatError, SeedList, SeedQuery, ToolCall, ToolSchema

SOURCE = "toolace"
TOOL_LIST_MARK = "Here is a list of functions in JSON format that you can invoke:"
_USER, _ASSISTANT = {"user", "human"}, {"assistant", "gpt"}
_TOOL = {"tool", "observation", "function_response"}


def _tools(item: dict, err) -> list[ToolSchema]:
    specs = maybe_json(item.get("tools"))
    if not specs:
        system = item.get("system") or ""
        if TOOL_LIST_MARK not in system:
            return []
        tail = system.split(TOOL_LIST_MARK, 1)[1].lstrip()
        try:
            specs, _ = json.JSONDecoder().raw_decode(tail)
        except json.JSONDecodeError as e:
            raise err(f"tool list in 'system' is not valid JSON ({e.msg})") from None
    if isinstance(specs, dict):
        specs = [specs]
    if not isinstance(specs, list):
        raise err("'tools' is not a list of function schemas")
    return [tool_schema(s) for s in specs if isinstance(s, dict)]


def _tool_results(value: str) -> list[tuple[str | None, str]]:
    """``[{"name": ..., "results": ...}]`` -> [(name, content)]; anything else is one unnamed result."""
    data = maybe_json(value)
    if isinstance(data, dict):
        data = [data]
    if isinstance(data, list) and data and all(isinstance(d, dict) and "name" in d for d in data):
        return [(str(d["name"]), to_text(d.get("results", d.get("result", d.get("content"))))) for d in data]
    return [(None, to_text(value))]


def _matches(real: str, raw: str) -> bool:
    """Could ``raw`` be ``real`` after the ShareGPT conversion's mangling (last word kept)?"""
    words = re.findall(r"\w+", real)
    return real == raw or bool(words) and words[-1] == raw


def _resolve(raw: ToolCall, observed: list[str], tools: list[ToolSchema]) -> str:
    """Real name for a (possibly mangled) call: next matching observation name, else a unique matching tool."""
    for name in observed:
        if _matches(name, raw.name):
            observed.remove(name)
            return name
    cands = [t for t in tools if _matches(t.name, raw.name)]
    args = set(raw.arguments)
    for fits in (lambda t: args <= set(t.parameters.get("properties") or {}),  # narrow by the arguments passed
                 lambda t: set(t.parameters.get("required") or []) <= args):
        if len(cands) > 1:
            cands = [t for t in cands if fits(t)]
    return cands[0].name if len(cands) == 1 else raw.name


def _seed(path: Path, index: int, item: Any, line: int | None = None) -> SeedQuery:
    where = f"line {line}" if line else f"item {index}"

    def err(problem: str, at: str = "") -> SeedFormatError:
        return SeedFormatError(path, where + at, problem)

    if not isinstance(item, dict) or not isinstance(item.get("conversations"), list):
        raise err("expected an object with a 'conversations' list")
    tools = _tools(item, err)
    known = [t.name for t in tools]
    conv = item["conversations"]
    dialogue: list[Message] = []
    raw_names: list[str] = []
    fmt = "raw"
    for j, turn in enumerate(conv):
        at = f", conversations[{j}]"
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise err("turn needs 'from' and a string 'value'", at)
        frm, value = turn.get("from"), turn["value"]
        if frm in _USER:
            dialogue.append(Message(role="user", content=value))
        elif frm in _ASSISTANT and looks_like_calls(value):
            try:
                calls = [ToolCall(**c) for c in parse_calls(value, known)]
            except ValueError as e:
                raise err(f"unparseable call list {value[:60]!r}: {e}", at) from None
            dialogue.append(Message(role="assistant", tool_calls=calls))
        elif frm in _ASSISTANT:
            dialogue.append(Message(role="assistant", content=value))
        elif frm == "function_call":
            fmt = "sharegpt"
            try:
                calls = calls_from(value)
            except ValueError as e:
                raise err(str(e), at) from None
            nxt = conv[j + 1] if j + 1 < len(conv) and isinstance(conv[j + 1], dict) else {}
            observed = [n for n, _ in _tool_results(nxt.get("value", ""))
                        if n] if nxt.get("from") in _TOOL else []
            for c in calls:
                raw_names.append(c.name)
                c.name = _resolve(c, observed, tools)
            dialogue.append(Message(role="assistant", tool_calls=calls))
        elif frm in _TOOL:
            dialogue.extend(Message(role="tool", name=n, content=c) for n, c in _tool_results(value))
        elif frm != "system":
            raise err(f"unknown 'from' value {frm!r}", at)
    if not first_user_text(dialogue):
        raise err("no user turn")
    calls = [c for m in dialogue for c in m.tool_calls]
    prov: dict[str, Any] = {"path": str(path), "format": fmt, "index": index, **({"line": line} if line else {})}
    if raw_names and raw_names != [c.name for c in calls]:
        prov["raw_call_names"] = raw_names
    if unknown := sorted({c.name for c in calls} - set(known)):
        prov["unknown_tools"] = unknown
    return SeedQuery(seed_id=f"{SOURCE}:{path.stem}:{index}", source=SOURCE, query=first_user_text(dialogue),
                     dialogue=dialogue, tools=tools, tool_calls=calls, provenance=prov)


def load_toolace(path: str | Path, *, skip_bad: bool = False) -> SeedList:
    """Load ToolACE seeds from a JSON array / JSONL file, or every such file below a folder."""
    sink = Collector(skip_bad)
    for f in files_under(Path(path), (".json", ".jsonl")):
        if f.suffix == ".jsonl":
            for i, (n, line) in enumerate(jsonl_lines(f)):
                with sink.row(f, f"line {n}"):
                    sink.seeds.append(_seed(f, i, loads_line(f, n, line), n))
            continue
        data = None
        with sink.row(f, None):
            data = read_json(f)
            if not isinstance(data, list):
                raise SeedFormatError(f, None, "expected a JSON array of conversations")
        for i, item in enumerate(data or []):
            with sink.row(f, f"item {i}"):
                sink.seeds.append(_seed(f, i, item))
    return sink.seeds
