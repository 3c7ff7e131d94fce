"""Conventions env code follows without importing this package.

* Tools are the public methods of the class (no leading underscore).
* A class attribute ``MUTATING_TOOLS = [...]`` (or ``READ_ONLY_TOOLS = [...]``) declares which tools
  change state; without one, names starting with a query verb are read-only, the rest mutate.
* Paper-style in-code triggers set a boolean attribute whose name contains ``trigger`` or
  ``conflict`` (e.g. ``self._conflict_triggered = True``); the executor logs each flip as an event.
"""
from __future__ import annotations

import re

QUERY_PREFIXES = (
    "get", "list", "search", "query", "check", "find", "view", "lookup", "show", "describe", "read",
    "fetch", "inspect", "estimate", "calculate", "compute", "count", "track", "locate", "verify",
)
IN_CODE_FLAG = re.compile(r"(trigger|conflict)", re.I)


def is_query_name(name: str) -> bool:
    head = name.split("_", 1)[0].lower()
    return head in QUERY_PREFIXES


def mutating_tools(tools: list[str], declared_mutating=None, declared_read_only=None) -> list[str]:
    if declared_mutating is not None:
        return [t for t in tools if t in set(declared_mutating)]
    if declared_read_only is not None:
        return [t for t in tools if t not in set(declared_read_only)]
    return [t for t in tools if not is_query_name(t)]
