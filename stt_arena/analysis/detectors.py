"""Detectors for the paper's three failure modes, over trajectory records of ``stt-arena eval``.

All three read the structured ``steps`` of a record (tool, arguments, result, trigger events) and, for
the third, which tools are queries. Trigger events are hidden from the agent but recorded, so they
tell *when* the state changed.

* ``stale_state`` -- acting on pre-trigger state:
  ``repeat_failing_call`` the same call (tool and arguments) as an earlier failed call;
  ``act_without_refresh`` after a failed call following the trigger, the next call is a different
  state-changing call with no query in between;
  ``no_refresh_after_trigger`` the trigger fired and the agent never queried the state again.
* ``misdiagnosis`` -- treating the state change as a parameter error or a transient glitch:
  ``retry_with_variants`` a failed call re-sent with changed arguments and no query in between;
  ``blames_parameters`` agent text after the trigger blames its own arguments or a transient error.
* ``missing_verification`` -- after a recovery (a successful state-changing call after the trigger),
  the last successful state-changing call is not followed by any query before the episode ends; only
  for tasks whose checklist asks for verification (an item of kind ``verification``): where the grader
  does not ask for it, ending without a re-check is not a failure.

Calibration (``tests/test_analyze_detectors.py``, over the built-in benchmark): the oracle, which passes
every task, is never flagged; ``stale`` shows stale-state execution, ``retry`` misdiagnosis wherever
a call failed, ``no-verify`` missing verification on every task that asks for it.
"""
from __future__ import annotations

import re
from collections import defaultdict
from difflib import SequenceMatcher
from dataclasses import asdict, dataclass
from typing import Any, Iterable

from ..sandbox.conventions import is_query_name
from ..task.models import CHAT_WITH_USER

FAILURE_MODES = ("stale_state", "misdiagnosis", "missing_verification")
TRIGGER_EVENTS = ("trigger", "in_code_trigger")

BLAME = re.compile(
    r"\b(typo|misspel\w*|wrong (?:id|parameter|argument|format|value)|invalid (?:id|parameter|argument|format)|"
    r"incorrect (?:id|parameter|argument|format)|(?:parameter|argument|format) (?:error|issue|problem)|"
    r"transient|temporary (?:error|glitch|issue|failure)|glitch|flaky|try again|retry(?:ing)? (?:the|with|it)|"
    r"different (?:casing|case|format|spelling))", re.I)


NEGATED = re.compile(r"\b(?:not|no|never|n't)\b[\w ]*$", re.I)


@dataclass
class Finding:
    mode: str
    kind: str
    index: int  # the step index (``steps[i]["index"]``) the evidence points at
    detail: str

    def to_dict(self) -> dict:
        return asdict(self)


def is_query_tool(name: str, mutating: set[str] | None = None) -> bool:
    if name == CHAT_WITH_USER:
        return False
    if mutating is not None:
        return name not in mutating
    return is_query_name(name)


def _norm(v: Any) -> str:
    return re.sub(r"[\W_]+", "", str(v)).lower()


def _similar(a: Any, b: Any) -> bool:
    """A re-phrasing of the same value (case, spacing, punctuation, a typo, a number nudged), not
    another target: what a model sends when it takes a state change for its own input error."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= max(1.0, 0.1 * max(abs(a), abs(b)))
    if isinstance(a, str) and isinstance(b, str):
        na, nb = _norm(a), _norm(b)
        return na == nb or SequenceMatcher(None, na, nb).ratio() >= 0.8
    return a == b


def is_variant(prev_args: dict, args: dict) -> bool:
    """``args`` re-sends ``prev_args`` with trivially changed values (same keys, each change similar)."""
    if set(prev_args) != set(args) or prev_args == args:
        return False
    return all(_similar(prev_args[k], args[k]) for k in args if prev_args[k] != args[k])


def _failed(step: dict) -> bool:
    res = step.get("result")
    return step.get("kind") == "invalid" or (isinstance(res, dict) and res.get("success") is False)


def _has_trigger(step: dict) -> bool:
    return any((e or {}).get("type") in TRIGGER_EVENTS for e in step.get("events") or [])


def trigger_index(steps: list[dict]) -> int | None:
    """Position in ``steps`` of the first step during which a trigger's effects were applied."""
    return next((i for i, s in enumerate(steps) if _has_trigger(s)), None)


def _texts(step: dict) -> list[str]:
    out = [step.get("thought") or ""]
    if step.get("kind") in ("chat", "final"):
        out.append(step.get("content") or "")
    return [t for t in out if t]


def detect(steps: list[dict], mutating: set[str] | None = None, impossible: bool = False,
           needs_verification: bool = True) -> list[Finding]:
    """Failure-mode findings of one trajectory's ``steps``; ``mutating`` = the task's state-changing tools,
    ``impossible`` = the task cannot be completed (then not acting after the change is right),
    ``needs_verification`` = the task's checklist asks for a re-check of the end state."""
    out: list[Finding] = []
    calls = [(i, s) for i, s in enumerate(steps) if s.get("kind") in ("tool", "invalid") and s.get("tool")]
    t = trigger_index(steps)
    failed_calls: list[tuple[str, dict]] = []
    for pos, (i, s) in enumerate(calls):
        key = (s["tool"], s.get("arguments") or {})
        if not _failed(s) and not is_query_tool(s["tool"], mutating) and s["tool"] != CHAT_WITH_USER:
            failed_calls.clear()  # the state was changed on purpose: an earlier failed call may now work
        if key in failed_calls:
            out.append(Finding("stale_state", "repeat_failing_call", s.get("index", i),
                               f"{s['tool']} repeated with the arguments of an earlier failed call"))
        elif pos > 0:
            j, prev = calls[pos - 1]
            if _failed(prev) and prev["tool"] == s["tool"] and is_variant(prev.get("arguments") or {},
                                                                          s.get("arguments") or {}) and not any(
                    is_query_tool(x.get("tool") or "", mutating) for x in steps[j + 1:i] if x.get("kind") == "tool"):
                out.append(Finding("misdiagnosis", "retry_with_variants", s.get("index", i),
                                   f"failed {s['tool']} re-sent with changed arguments without re-checking the state"))
        if _failed(s):
            failed_calls.append(key)
    if t is not None:
        # after a failure at/after the trigger, the next call is another state-changing call (no refresh)
        after = [(i, s) for i, s in calls if i >= t]
        for pos, (i, s) in enumerate(after[:-1]):
            n_i, nxt = after[pos + 1]
            if _failed(s) and nxt["tool"] != s["tool"] and not is_query_tool(nxt["tool"], mutating) \
                    and nxt["tool"] != CHAT_WITH_USER:
                out.append(Finding("stale_state", "act_without_refresh", nxt.get("index", n_i),
                                   f"{nxt['tool']} called right after {s['tool']} failed, without re-reading the state"))
                break
        queried = any(is_query_tool(s["tool"], mutating) and not _failed(s) for i, s in calls if i > t) or (
            is_query_tool(steps[t].get("tool") or "", mutating) and not _failed(steps[t]))
        if not queried:
            out.append(Finding("stale_state", "no_refresh_after_trigger", steps[t].get("index", t),
                               "the state changed and the agent never queried it again"))
        ok_mut = [i for i, s in calls if i > t and not _failed(s) and not is_query_tool(s["tool"], mutating)
                  and s["tool"] != CHAT_WITH_USER]
        if not impossible and not ok_mut:
            out.append(Finding("stale_state", "no_adaptation_after_trigger", steps[t].get("index", t),
                               "after the state changed, no state-changing call succeeded: the plan was not adapted"))
        for i, s in enumerate(steps[t:], t):
            for text in _texts(s):
                m = next((m for m in BLAME.finditer(text) if not NEGATED.search(text[max(0, m.start() - 14):m.start()])),
                         None)
                if m:
                    out.append(Finding("misdiagnosis", "blames_parameters", s.get("index", i),
                                       f"blames the request or a glitch: {m.group(0)!r}"))
                    break
        if not ok_mut and not _failed(steps[t]) and not is_query_tool(steps[t].get("tool") or "", mutating):
            ok_mut = [t]  # the change hit a successful action: it needs re-checking too
        if ok_mut and needs_verification and not impossible:
            last = ok_mut[-1]
            if not any(is_query_tool(s["tool"], mutating) and not _failed(s) for i, s in calls if i > last):
                out.append(Finding("missing_verification", "no_check_after_recovery", steps[last].get("index", last),
                                   f"finished without re-checking the end state after {steps[last]['tool']}"))
    return out


def _mutating_of(record: dict, task=None) -> set[str] | None:
    if task is not None:
        from ..env.schema import tool_specs
        env = task.environment
        return {s.name for s in tool_specs(env.source, env.class_name, env.mutating_tools) if s.mutating}
    return None


def analyze_record(record: dict, task=None) -> dict:
    """``{"modes": {mode: bool}, "findings": [...]}`` for one trajectory record."""
    impossible = (task.impossible if task is not None else record.get("level") == "impossible")
    if task is not None:
        verify = any(c.kind == "verification" for c in task.checklist)
    else:  # the record's graded items carry their kind
        items = (record.get("grade") or {}).get("items")
        verify = True if not items else any(c.get("kind") == "verification" for c in items)
    findings = detect(record.get("steps") or [], _mutating_of(record, task), impossible, verify)
    modes = {m: any(f.mode == m for f in findings) for m in FAILURE_MODES}
    return {"modes": modes, "findings": [f.to_dict() for f in findings]}


def frequency_table(records: Iterable[dict], by: str = "level", tasks: dict | None = None,
                    model_of=lambda r: r.get("model") or "?") -> list[dict]:
    """Rows (model, group, n, passed, and per failure mode the count and share of records showing it)."""
    acc: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"n": 0, "passed": 0, "any": 0,
                                                                      **{m: 0 for m in FAILURE_MODES}})
    for r in records:
        a = analyze_record(r, (tasks or {}).get(r.get("task_id")))
        for group in (str(r.get({"type": "conflict_type"}.get(by, by)) or "?"), "all"):
            row = acc[(model_of(r), group)]
            row["n"] += 1
            row["passed"] += bool(r.get("passed"))
            row["any"] += any(a["modes"].values())
            for m in FAILURE_MODES:
                row[m] += a["modes"][m]
    order = {"easy": 0, "medium": 1, "hard": 2, "impossible": 3, "all": 99}
    rows = []
    for (model, group), row in sorted(acc.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 50), kv[0][1])):
        n = row["n"]
        rows.append({"model": model, "group": group, **row,
                     **{f"{m}_rate": row[m] / n for m in (*FAILURE_MODES, "any", "passed")}})
    return rows
