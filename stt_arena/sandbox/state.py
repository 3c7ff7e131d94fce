"""State paths into an environment's state (its public attributes).

A path is dotted: ``vehicles.V12.depot``. A segment selects a dict key, a list index (``items.0``)
or the list element whose field matches (``orders[id=O7].status``).
"""
from __future__ import annotations

import json
import re
from typing import Any

_SEL = re.compile(r"^(?P<key>[^\[]*)\[(?P<field>[^=\]]+)=(?P<value>[^\]]*)\]$")
_MISSING = object()


class StatePathError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])


def _split(path: str) -> list[str]:
    parts, buf, depth = [], "", 0
    for ch in path:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "." and depth == 0:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    parts.append(buf)
    if any(p == "" for p in parts):
        raise StatePathError(f"malformed state path {path!r}")
    return parts


def _step(node: Any, seg: str, path: str) -> Any:
    m = _SEL.match(seg)
    if m:
        if m["key"]:
            node = _step(node, m["key"], path)
        if not isinstance(node, list):
            raise StatePathError(f"{path!r}: selector [{m['field']}=...] needs a list")
        for el in node:
            if isinstance(el, dict) and str(el.get(m["field"])) == m["value"]:
                return el
        raise StatePathError(f"{path!r}: no element with {m['field']}={m['value']}")
    if isinstance(node, dict):
        if seg in node:
            return node[seg]
        raise StatePathError(f"{path!r}: key {seg!r} not found")
    if isinstance(node, list):
        try:
            return node[int(seg)]
        except (ValueError, IndexError):
            raise StatePathError(f"{path!r}: bad list index {seg!r}") from None
    if hasattr(node, "__dict__") and not seg.startswith("_") and seg in vars(node):
        return vars(node)[seg]
    raise StatePathError(f"{path!r}: cannot descend into {type(node).__name__} at {seg!r}")


def get_path(state: dict, path: str, default: Any = _MISSING) -> Any:
    node: Any = state
    try:
        for seg in _split(path):
            node = _step(node, seg, path)
    except StatePathError:
        if default is _MISSING:
            raise
        return default
    return node


def set_path(state: dict, path: str, value: Any) -> None:
    parts = _split(path)
    parent = state if len(parts) == 1 else get_path(state, ".".join(parts[:-1]))
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        try:
            parent[int(last)] = value
        except (ValueError, IndexError):
            raise StatePathError(f"{path!r}: bad list index {last!r}") from None
    elif hasattr(parent, "__dict__") and not last.startswith("_"):
        setattr(parent, last, value)
    else:
        raise StatePathError(f"{path!r}: cannot assign into {type(parent).__name__}")


def to_jsonable(obj: Any) -> Any:
    """A JSON-safe deep copy (unknown objects become strings)."""
    return json.loads(json.dumps(obj, default=_default))


def _default(o: Any) -> Any:
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if hasattr(o, "__dict__"):
        return {k: v for k, v in vars(o).items() if not k.startswith("_")}
    return str(o)


def public_state(env: Any) -> dict:
    return {k: v for k, v in vars(env).items() if not k.startswith("_")}
