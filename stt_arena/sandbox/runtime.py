"""One episode of an environment: env instance, simulated clock, triggers, operation log, checks.

Pure Python with no third-party imports: the sandbox worker runs it in a separate process,
and trusted callers (benchmark validation, RL throughput) may run it in-process.
"""
from __future__ import annotations

import ast
import base64
import builtins
import copy
import json
import marshal
import random
from typing import Any, Callable, NamedTuple

from .conventions import IN_CODE_FLAG, mutating_tools
from .guard import check_source, compile_tree
from .safe_env import SimClock, make_globals
from .state import public_state, set_path, to_jsonable
from .triggers import TaskError, TriggerEngine, compile_expr, install_expr

MAX_RESULT_CHARS = 64_000


class EnvError(RuntimeError):
    """The environment could not be built (guard, class missing, __init__ failed)."""


def _err(kind: str, e: BaseException) -> str:
    return f"{kind}: {type(e).__name__}: {e}"


def _literal_attr(tree: ast.Module, class_name: str, attr: str):
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for st in node.body:
                if isinstance(st, ast.Assign) and any(getattr(t, "id", None) == attr for t in st.targets):
                    try:
                        return list(ast.literal_eval(st.value))
                    except ValueError:
                        return None
    return None


def _has_in_code_flags(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and IN_CODE_FLAG.search(node.attr):
            return True
    return False


class _CacheInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: int
    currsize: int


class _Vetted:
    """An ``lru_cache``-like memo of vetted (guarded and compiled) code that also takes entries vetted
    elsewhere (``put``: the harness's built-in code, marshalled, see ``install``). Errors are not cached."""

    def __init__(self, fn: Callable, maxsize: int):
        self.fn, self.maxsize = fn, maxsize
        self._d: dict[tuple, Any] = {}
        self.hits = self.misses = 0

    def __call__(self, *key: Any) -> Any:
        val = self._d.get(key)
        if val is not None:
            self.hits += 1
            return val
        self.misses += 1
        val = self.fn(*key)
        self.put(key, val)
        return val

    def put(self, key: tuple, val: Any) -> None:
        if len(self._d) >= self.maxsize:
            self._d.pop(next(iter(self._d)))
        self._d[key] = val

    def cache_info(self) -> _CacheInfo:
        return _CacheInfo(self.hits, self.misses, self.maxsize, len(self._d))

    def cache_clear(self) -> None:
        self._d.clear()
        self.hits = self.misses = 0


def _vet_env(source: str, class_name: str):
    """Guard, compile and scan env source (once per distinct source: episodes re-use the result)."""
    tree = check_source(source, "environment code")
    code = compile_tree(tree, "<environment>")
    declared = (_literal_attr(tree, class_name, "MUTATING_TOOLS"), _literal_attr(tree, class_name, "READ_ONLY_TOOLS"))
    return code, declared, _has_in_code_flags(tree)


def _vet_check(source: str):
    tree = check_source(source, "check function")
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if not defs:
        raise ValueError("check source defines no function")
    return compile_tree(tree, "<check>"), defs[-1].name, len(defs[-1].args.args)


_vetted_env = _Vetted(_vet_env, 256)
_vetted_check = _Vetted(_vet_check, 4096)


def export(item: dict) -> dict:
    """``item`` (``{"env": [source, class_name]}``, ``{"checks": [source]}`` or ``{"exprs": [[expression,
    what]...]}``) vetted here, with its code marshalled (``install`` takes it). Trusted callers only: the
    harness, for built-in code."""
    if item.get("exprs"):
        codes = [compile_expr(str(e), str(w)) for e, w in item["exprs"]]
        return {"exprs": item["exprs"], "code": base64.b64encode(marshal.dumps(codes)).decode()}
    if item.get("env"):
        code, declared, flags = _vet_env(*item["env"])
        return {"env": item["env"], "code": base64.b64encode(marshal.dumps(code)).decode(), "declared": list(declared),
                "flags": flags}
    (src,) = item["checks"]
    code, name, nargs = _vet_check(src)
    return {"checks": [src], "code": base64.b64encode(marshal.dumps(code)).decode(), "name": name, "nargs": nargs}


def install(item: dict) -> None:
    """Put an ``export``ed item in the caches (the fork server, for the harness's built-in code)."""
    code = marshal.loads(base64.b64decode(item["code"]))
    if item.get("exprs"):
        for (e, w), c in zip(item["exprs"], code):
            install_expr(str(e), str(w), c)
        return
    if item.get("env"):
        declared = tuple(item["declared"])
        _vetted_env.put(tuple(item["env"]), (code, declared, bool(item["flags"])))
    else:
        _vetted_check.put(tuple(item["checks"]), (code, str(item["name"]), int(item["nargs"])))


def _unguarded_env(source: str, class_name: str):
    """Tests only (``python_layers`` off): compiled as is, to show what the OS layer holds alone."""
    tree = ast.parse(source)
    declared = (_literal_attr(tree, class_name, "MUTATING_TOOLS"), _literal_attr(tree, class_name, "READ_ONLY_TOOLS"))
    return compile(tree, "<environment>", "exec"), declared, _has_in_code_flags(tree)


def warm(items: list[dict]) -> None:
    """Fill the vetting caches with ``{"env": [source, class_name]}``, ``{"checks": [source...]}`` and
    ``{"exprs": [[trigger expression, what]...]}`` items (or ``export``ed ones, installed as they are). The
    fork server does it with code a worker already vetted and with the harness's built-in code, so later
    workers start with it compiled."""
    for it in items:
        try:
            if it.get("code"):
                install(it)
                continue
            if it.get("env"):
                _vetted_env(*it["env"])
            for src in it.get("checks") or []:
                _vetted_check(src)
            for expr, what in it.get("exprs") or []:
                compile_expr(str(expr), str(what))
        except Exception:  # noqa: BLE001 - a cache miss later is the only consequence
            pass


class EnvRuntime:
    def __init__(self, spec: dict):
        """``spec``: class_name, source, init_config, clock {start, minutes_per_call}, seed, triggers."""
        unguarded = spec.get("unguarded") is True
        code, declared_lists, track_flags = (_unguarded_env if unguarded else _vetted_env)(
            spec["source"], spec["class_name"])
        clock = spec.get("clock") or {}
        self.clock = SimClock(clock.get("start", "2026-03-02T08:00:00"), clock.get("minutes_per_call", 1.0))
        self.rng = random.Random(spec.get("seed", 0))
        self.globals = make_globals(self.clock, self.rng)
        if unguarded:
            self.globals["__builtins__"] = builtins
        self.max_result_chars = int(spec.get("max_result_chars", MAX_RESULT_CHARS))
        try:
            exec(code, self.globals)  # noqa: S102 - guarded
        except Exception as e:
            raise EnvError(_err("environment code failed to load", e)) from None
        cls = self.globals.get(spec["class_name"])
        if not isinstance(cls, type):
            raise EnvError(f"class {spec['class_name']!r} not found in environment code")
        init = spec.get("init_config") or {}
        try:  # ``owned``: the spec was decoded for this runtime alone (the sandbox worker): no copy needed
            self.env = cls(init if spec.get("owned") is True else copy.deepcopy(init))
        except Exception as e:
            raise EnvError(_err("environment __init__ failed", e)) from None
        self.tools = sorted(n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n)))
        self.tools = [t for t in self.tools if t.upper() != t]  # constants are not tools
        declared = spec.get("mutating_tools")
        self.mutating = set(declared if declared is not None else mutating_tools(
            self.tools, *declared_lists))
        self.log: list[dict] = []
        self.events: list[dict] = []
        self.step = 0
        self.track_flags = track_flags
        self.triggers = TriggerEngine(spec.get("triggers") or [], self.state, self.clock, self.log, self._set)

    # -- state ----------------------------------------------------------------------------
    def state(self) -> dict:
        """The env's public attributes (what triggers see and mutate)."""
        return public_state(self.env)

    def _set(self, path: str, value: Any) -> None:
        if "." not in path and "[" not in path:
            setattr(self.env, path, value)  # top-level attribute (public: checked by the engine)
        else:
            set_path(self.state(), path, value)

    def snapshot(self) -> dict:
        return to_jsonable(public_state(self.env))

    def _flags(self) -> dict:
        return {k: v for k, v in vars(self.env).items() if isinstance(v, bool) and IN_CODE_FLAG.search(k)}

    # -- calls ----------------------------------------------------------------------------
    def list_tools(self) -> list[dict]:
        return [{"name": t, "mutating": t in self.mutating, "available": t not in self.triggers.disabled}
                for t in self.tools]

    def call(self, tool: str, args: dict | None) -> dict:
        """Run one tool call with triggers around it; never raises for agent mistakes."""
        args = args if isinstance(args, dict) else {}
        self.step += 1
        step, events, n_before = self.step, [], 0
        try:
            events += self.triggers.on_call(tool, args, "before", step)
            n_before = len(events)
            if tool not in self.tools:
                result = {"success": False, "error": f"Unknown tool '{tool}'"}
            elif tool in self.triggers.disabled:
                result = {"success": False, "error": f"Tool '{tool}' is currently unavailable"}
            else:
                result = self._invoke(tool, args)
            self.clock.advance()
            events += self.triggers.on_call(tool, args, "after", step, result)
        except TaskError as e:  # a malformed trigger spec (bad path); firing mismatches are events
            events.append({"type": "task_error", "step": step, "error": str(e)})
            result = {"success": False, "error": f"environment error: {e}"}
        events += self._in_code_events(step)
        self.events += events
        self.log.append({
            "step": step, "tool": tool, "args": to_jsonable(args), "success": bool(result.get("success")),
            "mutating": tool in self.mutating, "time": self.clock.now().isoformat(),
            "events": [_event_label(e) for e in events],
            "events_before": [_event_label(e) for e in events[:n_before]],
        })
        self.last_events_before = n_before
        return {"result": result, "events": events, "step": step, "now": self.clock.now().isoformat()}

    def _invoke(self, tool: str, args: dict) -> dict:
        flags = self._flags() if self.track_flags else None
        before = copy.deepcopy(public_state(self.env)) if flags is not None else None
        try:
            raw = getattr(self.env, tool)(**args)
        except TypeError as e:
            raw = {"success": False, "error": f"bad arguments for {tool}: {e}"}
        except Exception as e:  # env methods should never raise; record it as an observation
            raw = {"success": False, "error": f"{type(e).__name__}: {e}"}
        self._pre_flags, self._pre_state = flags, before
        try:
            result = to_jsonable(raw)
        except Exception as e:
            return {"success": False, "error": f"tool returned a non-serialisable result: {type(e).__name__}"}
        if not isinstance(result, dict) or "success" not in result:
            result = {"success": True, "data": result}
        text = json.dumps(result)
        if len(text) > self.max_result_chars:
            return {"success": False, "error": f"tool result too large ({len(text)} chars > {self.max_result_chars})"}
        return result

    def _in_code_events(self, step: int) -> list[dict]:
        pre = getattr(self, "_pre_flags", None)
        if pre is None:
            return []
        self._pre_flags = None
        events = []
        for k, v in self._flags().items():
            if v and not pre.get(k, False):
                diff = _diff(to_jsonable(self._pre_state), self.snapshot())
                events.append({"type": "in_code_trigger", "flag": k, "step": step, "mutations": diff,
                               "time": self.clock.now().isoformat()})
        return events

    def record_message(self, role: str, content: str) -> None:
        """Log a non-tool step (agent message to the user, user reply) for check functions."""
        self.log.append({"step": self.step, "tool": role, "args": {"content": str(content)[:4000]},
                         "success": True, "mutating": False, "time": self.clock.now().isoformat(), "events": [],
                         "events_before": []})

    # -- grading --------------------------------------------------------------------------
    def run_checks(self, items: list[dict]) -> list[dict]:
        """Run check functions (source defining f(state) or f(state, log)) on the final state."""
        return run_checks(items, self.snapshot(), self.log, self.clock, self.rng)

    def grade(self, checklist: list[dict], goals: list[dict]) -> dict:
        """Everything grading needs in one call: checklist and infeasible-goal results, final state."""
        state = self.snapshot()
        return {"checks": run_checks(checklist, state, self.log, self.clock, self.rng),
                "goals": run_checks(goals, state, self.log, self.clock, self.rng) if goals else [],
                "state": state}


def run_checks(items: list[dict], state: dict, log: list[dict], clock: SimClock, rng: random.Random) -> list[dict]:
    """Each check gets its own copy of the state and log, so one check cannot affect another."""
    frozen = json.dumps([state, log], default=str)
    out = []
    for it in items:
        try:
            code, name, arity = _vetted_check(it["check"])
            g = make_globals(clock, rng, "stt_check")
            exec(code, g)  # noqa: S102 - guarded
            args = json.loads(frozen)
            ok = bool(g[name](*args[: max(1, min(2, arity))]))
            out.append({"id": it["id"], "passed": ok, "error": None})
        except Exception as e:
            out.append({"id": it["id"], "passed": False, "error": f"{type(e).__name__}: {e}"})
    return out


def judge(state: dict, log: list[dict], checklist: list[dict], goals: list[dict], now: str | None,
          seed: int = 0) -> dict:
    """Grading in a process that never ran environment code: checks over the state snapshot and the
    operation log the harness recorded; ``now`` is the episode's final simulated time."""
    clock = SimClock(now or "2026-03-02T08:00:00", 0.0)
    rng = random.Random(seed)
    return {"checks": run_checks(checklist, state, log, clock, rng),
            "goals": run_checks(goals, state, log, clock, rng) if goals else []}


def _event_label(e: dict) -> str:
    """How the operation log names an event: the trigger id or flag when state changed, else its type."""
    return {"trigger": e.get("trigger_id"), "in_code_trigger": e.get("flag")}.get(e["type"]) or e["type"]


def _diff(a: Any, b: Any, path: str = "", out: list | None = None, limit: int = 20) -> list[dict]:
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            _diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k), out, limit)
    elif a != b:
        out.append({"state_path": path, "old": a, "new": b})
    return out
