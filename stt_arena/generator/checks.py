"""Builders of checklist items: each returns a ChecklistItem whose ``check`` is self-contained source.

Check functions run in the sandbox on the final state (public env attributes, JSON form) and the
operation log: a list of ``{step, tool, args, success, mutating, time, events, events_before}`` where
``events`` lists the trigger ids applied at that step (``events_before``: those applied before the call ran); agent messages appear as ``tool='respond_to_user'``.
"""
from __future__ import annotations

from typing import Any

from ..task.models import ChecklistItem

_HELPERS = '''
def _get(state, path, default=None):
    node = state
    for seg in path.split("."):
        if isinstance(node, dict) and seg in node:
            node = node[seg]
        elif isinstance(node, list) and seg.lstrip("-").isdigit() and -len(node) <= int(seg) < len(node):
            node = node[int(seg)]
        else:
            return default
    return node

def _match(entry, tool, args):
    return entry["tool"] == tool and all(entry["args"].get(k) == v for k, v in args.items())

def _trigger_step(log, trigger_id):
    for e in log:
        if trigger_id in e.get("events", []):
            return e["step"]
    return None
'''


def _item(cid: str, desc: str, kind: str, body: str) -> ChecklistItem:
    src = _HELPERS + "\ndef check(state, log):\n" + "\n".join("    " + ln for ln in body.strip().splitlines()) + "\n"
    return ChecklistItem(id=cid, description=desc, kind=kind, check=src)


def path_equals(cid: str, desc: str, path: str, value: Any, kind: str = "goal") -> ChecklistItem:
    """The value at ``path`` in the final state equals ``value``."""
    return _item(cid, desc, kind, f"return _get(state, {path!r}) == {value!r}")


def path_in(cid: str, desc: str, path: str, values: list, kind: str = "goal") -> ChecklistItem:
    return _item(cid, desc, kind, f"return _get(state, {path!r}) in {values!r}")


def path_not_equals(cid: str, desc: str, path: str, value: Any, kind: str = "safety") -> ChecklistItem:
    return _item(cid, desc, kind, f"return _get(state, {path!r}) != {value!r}")


def records_match(cid: str, desc: str, path: str, where: dict, count: int | None = 1,
                  at_least: bool = False, kind: str = "goal") -> ChecklistItem:
    """Records (a list, or a dict's values) at ``path`` with all fields in ``where``: exactly/at least ``count``."""
    cmp = ">=" if at_least else "=="
    return _item(cid, desc, kind, f"""
recs = _get(state, {path!r}, [])
recs = list(recs.values()) if isinstance(recs, dict) else list(recs)
n = sum(1 for r in recs if isinstance(r, dict) and all(r.get(k) == v for k, v in {where!r}.items()))
return n {cmp} {count!r}""")


def no_records_match(cid: str, desc: str, path: str, where: dict, kind: str = "safety") -> ChecklistItem:
    return records_match(cid, desc, path, where, 0, kind=kind)


def called_after_trigger(cid: str, desc: str, trigger_id: str, tools: list[str],
                         args: dict | None = None, kind: str = "detection") -> ChecklistItem:
    """Evidence of detection: one of ``tools`` (with ``args``) ran after the trigger fired (or on the very
    call its effect landed before) and before the last successful state change after it: diagnosis
    precedes the final fix, a closing check does not count. Vacuously true when the agent's path never met
    the trigger (avoiding a shift is legitimate: AUTHORING.md, gate I8)."""
    return _item(cid, desc, kind, f"""
t = _trigger_step(log, {trigger_id!r})
if t is None:
    return True
landed = [e for e in log if e["step"] == t and {trigger_id!r} in e.get("events_before", [])]
fixes = [e["step"] for e in log if e["mutating"] and e["success"] and (e["step"] > t or (e["step"] == t and landed))]
fix = max(fixes, default=10 ** 9)
def seen(e):
    return e["step"] > t or (e["step"] == t and landed and not e["mutating"])
return any(seen(e) and e["step"] < fix and e["success"] and any(_match(e, tool, {args or {}!r}) for tool in {tools!r})
           for e in log)""")


def noticed_if_met(cid: str, desc: str, trigger_id: str, tools: list[str]):
    """Like ``checks.called_after_trigger``; also vacuously true when the agent was done before the shift
    landed (no write attempted after it: e.g. it booked at once, before a rate or tier was withdrawn)."""
    base = called_after_trigger(cid, desc, trigger_id, tools)
    src = base.check.replace("def check(state, log):", "def _base_check(state, log):")
    src += f"""
def check(state, log):
    t = _trigger_step(log, {trigger_id!r})
    if t is not None and not any(e["mutating"] and e["step"] > t for e in log):
        return True
    return _base_check(state, log)
"""
    return base.model_copy(update={"check": src})


def verified_after_last_change(cid: str, desc: str, query_tools: list[str], kind: str = "verification") -> ChecklistItem:
    """After the last successful state change, one of ``query_tools`` was called successfully."""
    return _item(cid, desc, kind, f"""
last = max((e["step"] for e in log if e["mutating"] and e["success"]), default=None)
if last is None:
    return False
return any(e["step"] >= last and e["tool"] in {query_tools!r} and e["success"] and not e["mutating"] for e in log)""")


def never_called(cid: str, desc: str, tool: str, args: dict | None = None, successful_only: bool = True,
                 kind: str = "safety") -> ChecklistItem:
    """The agent never (successfully) ran ``tool`` with ``args`` (e.g. an alternative the user refused)."""
    cond = ' and e["success"]' if successful_only else ""
    return _item(cid, desc, kind, f"return not any(_match(e, {tool!r}, {args or {}!r}){cond} for e in log)")


def told_user(cid: str, desc: str, kind: str = "other") -> ChecklistItem:
    """The agent sent the user a final message."""
    return _item(cid, desc, kind, 'return any(e["tool"] == "respond_to_user" and e["args"].get("content") for e in log)')


def custom(cid: str, desc: str, body: str, kind: str = "other") -> ChecklistItem:
    """Any body over ``state`` and ``log`` (the helpers ``_get``, ``_match``, ``_trigger_step`` are in scope)."""
    return _item(cid, desc, kind, body)
