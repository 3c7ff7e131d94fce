"""Declarative trigger engine: conditions, guards, dependencies, delays and effects."""
from __future__ import annotations

import copy
import datetime as _dt
from typing import Any, Callable

from .guard import check_expression, compile_tree
from .state import StatePathError, get_path, set_path


class TaskError(RuntimeError):
    """The task itself is wrong (e.g. a mutation's old value does not match the state)."""


_COMPILED: dict[tuple[str, str], Any] = {}  # (expression, what) -> code: guarded once per process
COMPILE_COUNTS = [0, 0]  # hits, misses (the worker's ``stats``)


def _text(expr: str) -> str:
    return (expr or "").strip() or "True"


def compile_expr(expr: str, what: str):
    """A trigger expression guarded and compiled (once per process and text; refusals are not kept)."""
    expr = _text(expr)
    code = _COMPILED.get((expr, what))
    COMPILE_COUNTS[code is None] += 1
    if code is None:
        code = compile_tree(check_expression(expr, what), f"<{what}>", "eval")
        if len(_COMPILED) < 8192:
            _COMPILED[(expr, what)] = code
    return code


def compiled_count() -> int:
    """Trigger expressions held compiled in this process."""
    return len(_COMPILED)


def install_expr(expr: str, what: str, code) -> None:
    """Keep ``code`` as ``compile_expr(expr, what)`` (vetted by the harness: built-in expressions)."""
    _COMPILED[(_text(expr), what)] = code


def expressions(triggers: list[dict]) -> list[list[str]]:
    """The ``[expression, what]`` pairs ``TriggerEngine`` compiles for ``triggers``."""
    out = [[t.get("condition", "True"), f"condition of {t['id']}"] for t in triggers]
    return out + [[t["recovery_guard"], f"recovery_guard of {t['id']}"] for t in triggers if t.get("recovery_guard")]


class TriggerEngine:
    """Holds the triggers of one episode and applies them around tool calls."""

    def __init__(self, triggers: list[dict], state_fn: Callable[[], dict], clock, log: list[dict],
                 set_fn: Callable[[str, Any], None] | None = None):
        self.triggers = triggers
        self.state_fn = state_fn
        self.set_fn = set_fn or (lambda path, value: set_path(self.state_fn(), path, value))
        self.clock = clock
        self.log = log
        self.fired: dict[str, int] = {}
        self.disabled: set[str] = set()
        self.pending: list[tuple[int, dict, int]] = []  # (due step, trigger, fired-at step)
        self._expr_errors: list[dict] = []
        self._reported: set[tuple[str, str]] = set()
        self.failed: set[str] = set()
        self._cond = {t["id"]: compile_expr(t.get("condition", "True"), f"condition of {t['id']}") for t in triggers}
        self._guard = {
            t["id"]: compile_expr(t["recovery_guard"], f"recovery_guard of {t['id']}")
            for t in triggers if t.get("recovery_guard")
        }
        for t in triggers:  # effect paths are checked up front: a typo is a task error, not a silent no-op
            for m in t.get("effects", {}).get("mutations", []):
                if not m.get("state_path") or m["state_path"].startswith("_"):
                    raise TaskError(f"trigger {t['id']}: mutation needs a public state_path, got {m.get('state_path')!r}")

    # -- expression context ---------------------------------------------------------------
    def _ctx(self, tool: str, args: dict, step: int, result: Any) -> dict:
        state = self.state_fn()
        log = self.log

        def called(name: str, **match) -> bool:
            return any(e["tool"] == name and all(e["args"].get(k) == v for k, v in match.items()) for e in log)

        def count_calls(name: str) -> int:
            return sum(1 for e in log if e["tool"] == name)

        return {
            "__builtins__": {}, "state": state, "args": args, "tool": tool, "step": step,
            "result": result, "now": self.clock.now(), "minutes": self.clock.elapsed,
            "fired": dict(self.fired), "get": lambda p, d=None: get_path(state, p, d),
            "parse_time": _dt.datetime.fromisoformat, "called": called, "count_calls": count_calls,
            **{f.__name__: f for f in (len, min, max, abs, any, all, sum, str, int, float, bool, round,
                                       sorted, list, set, dict, tuple)},
        }

    def _eval(self, code, ctx: dict, tid: str, what: str) -> bool:
        try:
            return bool(eval(code, ctx))  # noqa: S307 - vetted by check_expression
        except Exception as e:  # a condition over absent data is false; reported once as an event
            if (tid, what) not in self._reported:
                self._reported.add((tid, what))
                self._expr_errors.append({"type": "condition_error", "trigger_id": tid,
                                          "error": f"{what}: {type(e).__name__}: {e}"})
            return False

    # -- firing ---------------------------------------------------------------------------
    def on_call(self, tool: str, args: dict, timing: str, step: int, result: Any = None) -> list[dict]:
        """Evaluate triggers activated by this call at this timing; return the events applied now."""
        events = self._due(step) if timing == "before" else []
        ctx = None
        for t in self.triggers:
            act = t["activation"]
            if act["tool"] not in (tool, "*") or act.get("timing", "before") != timing:
                continue
            tid = t["id"]
            if tid in self.failed:
                continue
            limit = 1 if t.get("mode", "always_once") == "always_once" else t.get("max_fires", 1)
            if self.fired.get(tid, 0) + self._pending_count(tid) >= limit:
                continue
            if any(d not in self.fired for d in t.get("after_triggers", [])):
                continue
            ctx = ctx or self._ctx(tool, args, step, result)
            if not self._eval(self._cond[tid], ctx, tid, "condition"):
                continue
            if tid in self._guard and self._eval(self._guard[tid], ctx, tid, "recovery_guard"):
                continue
            delay = int(t.get("delay_calls", 0))
            if delay:
                self.pending.append((step + delay, t, step))
            else:
                events.append(self._safe_apply(t, step, step))
                ctx = None  # state changed
        if self._expr_errors:
            events += [dict(e, step=step) for e in self._expr_errors]
            self._expr_errors = []
        return events

    def _safe_apply(self, t: dict, step: int, activated_at: int) -> dict:
        """Apply a firing; an old-value mismatch becomes a task_error event (the trigger is dropped and
        the agent's call proceeds): the task did not anticipate this state."""
        try:
            return self._apply(t, step, activated_at)
        except TaskError as e:
            self.failed.add(t["id"])
            return {"type": "task_error", "trigger_id": t["id"], "step": step, "error": str(e)}

    def _pending_count(self, tid: str) -> int:
        return sum(1 for _, t, _ in self.pending if t["id"] == tid)

    def _due(self, step: int) -> list[dict]:
        due = [p for p in self.pending if p[0] <= step]
        self.pending = [p for p in self.pending if p[0] > step]
        return [self._safe_apply(t, step, at) for _, t, at in due]

    def _apply(self, t: dict, step: int, activated_at: int) -> dict:
        eff = t.get("effects", {})
        state = self.state_fn()
        muts = eff.get("mutations", [])
        for m in muts:  # check all old values first: effects apply atomically
            try:
                cur = get_path(state, m["state_path"])
            except StatePathError as e:
                raise TaskError(f"trigger {t['id']}: {e}") from None
            if cur != m.get("old") and cur != m.get("new"):
                raise TaskError(
                    f"trigger {t['id']}: old-value mismatch at {m['state_path']!r}: "
                    f"expected {m.get('old')!r}, found {cur!r}"
                )
        applied = []
        for m in muts:
            self.set_fn(m["state_path"], copy.deepcopy(m.get("new")))
            applied.append({"state_path": m["state_path"], "old": m.get("old"), "new": m.get("new")})
        self.disabled |= set(eff.get("disable_tools", []))
        self.disabled -= set(eff.get("enable_tools", []))
        if eff.get("advance_clock_minutes"):
            self.clock.advance(eff["advance_clock_minutes"])
        self.fired[t["id"]] = self.fired.get(t["id"], 0) + 1
        return {
            "type": "trigger", "trigger_id": t["id"], "step": step, "activated_at": activated_at,
            "mutations": applied, "disabled_tools": list(eff.get("disable_tools", [])),
            "enabled_tools": list(eff.get("enable_tools", [])), "time": self.clock.now().isoformat(),
        }

