"""Type check of a tool call's arguments against the tool's JSON Schema (from the env's type hints).

A wrong-typed argument makes the turn invalid (an error observation, the environment untouched), like
an unknown tool: the model misused the interface. Unknown or missing names are left to the environment
(it answers them with its own error), and untyped parameters accept anything.
"""
from __future__ import annotations

from typing import Any

_PY: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
       "array": (list,), "object": (dict,), "null": (type(None),)}


def _ok(value: Any, schema: dict) -> bool:
    if not schema:
        return True
    if "anyOf" in schema:
        return any(_ok(value, s) for s in schema["anyOf"])
    if "enum" in schema:
        return value in schema["enum"]
    t = schema.get("type")
    if t is None:
        return True
    types = t if isinstance(t, list) else [t]
    for name in types:
        py = _PY.get(name)
        if py is None:
            return True
        if isinstance(value, bool) and name in ("integer", "number"):
            continue
        if isinstance(value, py):
            if name == "array" and schema.get("items"):
                items: list = value  # type: ignore[assignment]  # isinstance(value, list) above
                return all(_ok(v, schema["items"]) for v in items)
            return True
    return False


def _type_name(schema: dict) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(map(repr, schema["enum"]))
    if "anyOf" in schema:
        return " or ".join(_type_name(s) for s in schema["anyOf"])
    t = schema.get("type")
    if t == "array" and schema.get("items"):
        return f"array of {_type_name(schema['items'])}"
    return str(t)


def argument_errors(args: dict, parameters: dict) -> list[str]:
    """Messages for arguments whose JSON type does not match the schema (``null`` is accepted for
    optional parameters)."""
    props = parameters.get("properties") or {}
    required = set(parameters.get("required") or ())
    out = []
    for name, value in args.items():
        schema = props.get(name)
        if schema is None or (value is None and name not in required):
            continue
        if not _ok(value, schema):
            out.append(f"argument '{name}' must be {_type_name(schema)}, got {type(value).__name__} {value!r:.60}")
    return out
