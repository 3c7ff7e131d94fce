"""Shortcut policies (gate I10): cheap, deterministic, non-reasoning agents that a valid task must defeat.

None of them reads the answer key (``plans.oracle``, ``plans.alternatives``, ``infeasible_goal``) or the
task's level. They see what a model sees (tool specs, the query, tool results, user replies); the static
plan policies also play ``plans.normal`` (what an agent blind to the shift does), and the checklist gamer
reads the checklist's check source (which tools and ids it looks for).

* ``blind-retry``      calls every list/search tool it can fill, then the static plan; a failed write ->
                       refresh (re-run the list/search tools) and retry it with every other observed id of
                       the same kind (the error's ids first; other arguments from the new id's record).
* ``paranoid-reread``  static plan, re-running every read seen so far (and ``get_*`` of each id) before
                       every write.
* ``give-up``          says at once that it cannot do the request.
* ``ask-then-static``  asks the user a generic question (restating the request), then the static plan.
* ``do-nothing``       reports completion without any call.
* ``static-cannot``    static plan, then a "could not complete" message quoting the last error.
* ``reread-cannot``    ``paranoid-reread``, one more re-read at the end, then the "could not" message.
* ``checklist-gamer``  blind retry preferring ids written in the checklist, calling the read tools the
                       checklist looks for after every write and at the end; says "cannot" if a write
                       stayed failed. Where the checklist grades a message to the user it does not retry.
* ``query-sink``       no call: a "kitchen-sink" refusal naming the query's ids with every state word and
                       "no other option remains" (found in review: such messages passed impossible tasks).
* ``survey-sink``      every read tool it can fill, twice, no write; then the kitchen-sink refusal naming
                       every id it saw.
* ``reread-sink``      ``reread-cannot``'s calls, then the kitchen-sink refusal naming every id it saw.
"""
from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any, Sequence

from ..env.schema import tool_specs
from ..task.models import CHAT_WITH_USER, FINAL_MESSAGE, PlanStep, Task
from .base import Action, Agent, Observation

DONE = "Task Completed."
LIST_PREFIXES = ("list_", "search_", "find_")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*[-_]?[A-Za-z0-9-]*\d[A-Za-z0-9-]*$")
_PREFIX = re.compile(r"^[A-Za-z]+[-_]?")
_LITERAL = re.compile(r"""['"]([^'"\s]{1,40})['"]""")

Script = Generator[Action, "Observation | None", None]


def is_id(v: Any) -> bool:
    return isinstance(v, str) and len(v) <= 40 and bool(_ID.match(v))


def shape(v: str) -> str:
    """An id's kind by its form: its alphabetic prefix ('SL-7852' -> 'SL-')."""
    m = _PREFIX.match(v)
    return m.group(0) if m else ""


class Memory:
    """Everything observed: values per field name (first-seen order) and the records holding them."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[Any]] = {}
        self.records: list[dict] = []

    def add(self, key: str, value: Any) -> None:
        vals = self.by_key.setdefault(key, [])
        if value not in vals:
            vals.append(value)

    def harvest(self, node: Any, parent: str = "") -> None:
        if isinstance(node, dict):
            scalars = {k: v for k, v in node.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)
                       or (isinstance(v, list) and v and all(is_id(x) for x in v))}
            if any(is_id(v) for v in scalars.values()):
                self.records.append(scalars)
            for k, v in node.items():
                if is_id(k) and isinstance(v, dict):  # {"SL-1": {...}}: the key is an id of this collection
                    self.add(f"{parent}#key", k)
                    self.records.append({"id": k, **{a: b for a, b in v.items() if isinstance(b, (str, int, float))}})
                if k in scalars:
                    self.add(k, tuple(v) if isinstance(v, list) else v)
                self.harvest(v, k)
        elif isinstance(node, list):
            for x in node:
                self.harvest(x, parent)

    def ids(self) -> list[str]:
        out: list[str] = []
        for vals in self.by_key.values():
            out += [v for v in vals if is_id(v) and v not in out]
        return out

    def candidates(self, key: str, value: Any) -> list[Any]:
        """Other observed values of the same kind: same field name, or (ids) same id form."""
        if isinstance(value, list):
            return [list(v) for v in self.by_key.get(key, []) if isinstance(v, tuple) and list(v) != value]
        if not is_id(value):
            return []
        out = [v for v in self.by_key.get(key, []) if is_id(v) and v != value]
        out += [v for v in self.ids() if shape(v) == shape(value) and v != value and v not in out]
        return out

    def record_with(self, key: str, value: Any) -> dict:
        for r in self.records:
            if r.get(key) == value or r.get("id") == value:
                return r
        return {}


class ShortcutAgent(Agent):
    """A policy written as a generator script: it yields actions and receives their observations."""

    policy = "shortcut"
    max_calls = 40

    def __init__(self, name: str | None = None):
        self.name = name or f"shortcut-{self.policy}"

    def reset(self, task: Task, tools: list[dict], system_prompt: str, first_message: str) -> None:
        self.query = first_message  # the task object is not kept: what a policy may read is taken here
        names = {t["function"]["name"] for t in tools}
        self.params = {t["function"]["name"]: t["function"].get("parameters") or {} for t in tools}
        env = task.environment
        specs = tool_specs(env.source, env.class_name, env.mutating_tools)
        self.mutating = {s.name for s in specs if s.mutating and s.name in names}
        self.readers = [s.name for s in specs if not s.mutating and s.name in names]
        self.static = [s for s in task.plans.normal if s.method != FINAL_MESSAGE]
        self.mem = Memory()
        self.calls = 0
        self.reads_done: list[tuple[str, dict]] = []
        self.last_error: str | None = None
        self._gen: Script | None = None

    async def step(self, observation: Observation | None) -> Action:
        try:
            if self._gen is None:
                self._gen = self.script()
                return next(self._gen)
            return self._gen.send(observation)
        except StopIteration:
            return Action(kind="final", content=DONE)

    def script(self) -> Script:
        raise NotImplementedError

    # -- building blocks (each used as ``res = yield from self.call(...)``) --------------------
    def call(self, tool: str, args: dict) -> Generator[Action, Any, dict]:
        self.calls += 1
        obs = yield Action(kind="tool", tool=tool, arguments=dict(args))
        res = obs.content if obs is not None and isinstance(obs.content, dict) else {}
        self.mem.harvest(res.get("data", res))
        if tool in self.mutating:
            if not res.get("success", False):
                self.last_error = str(res.get("error") or "the call failed")
        elif (tool, args) not in self.reads_done:
            self.reads_done.append((tool, dict(args)))
        return res

    def chat(self, text: str) -> Generator[Action, Any, str]:
        obs = yield Action(kind="chat", content=text)
        reply = str(obs.content) if obs is not None else ""
        for x in re.findall(r"[A-Za-z][A-Za-z0-9-]*\d[A-Za-z0-9-]*", reply):
            if is_id(x):
                self.mem.add("user_reply", x)
        return reply

    def fill(self, tool: str, prefer: dict | None = None) -> dict | None:
        """Arguments for a read tool: required params from ``prefer``, observations or the static plan."""
        schema = self.params.get(tool) or {}
        out = {}
        for p in schema.get("properties") or {}:
            if p not in (schema.get("required") or []):
                continue  # optional filters stay open: a list shows every alternative
            if prefer and p in prefer:
                out[p] = prefer[p]
                continue
            vals = self.mem.by_key.get(p, []) + [s.arguments[p] for s in self.static if p in s.arguments]
            if not vals:
                return None
            # a value the query mentions first (copying from the request), else the first seen
            v = next((x for x in vals if isinstance(x, str) and x.lower() in self.query.lower()), vals[0])
            out[p] = list(v) if isinstance(v, tuple) else v
        return out

    def play_static(self, on_write=None) -> Generator[Action, Any, None]:
        """Play the static plan; ``on_write(step, args)`` is a sub-script run around each write."""
        subst: dict = {}
        for st in self.static:
            if st.method == CHAT_WITH_USER:
                yield from self.chat(str(st.arguments.get("content") or st.arguments.get("message") or ""))
                continue
            args = _substitute(st.arguments, subst)
            if st.method in self.mutating and on_write is not None:
                new = yield from on_write(st, args)  # a substitution {old id: new id} or None
                subst.update(new or {})
            else:
                yield from self.call(st.method, args)

    def refresh(self, prefer: dict) -> Generator[Action, Any, None]:
        for tool in self.readers:
            if tool.startswith(LIST_PREFIXES) and self.calls < self.max_calls:
                args = self.fill(tool, prefer)
                if args is not None:
                    yield from self.call(tool, args)

    def variants(self, args: dict, error: str, prefer: Sequence[str] = ()) -> list[dict]:
        """The failed call with one id argument swapped for another observed id of its kind (arguments named
        in the error first); other arguments follow the new id's record (a slot's clinic)."""
        keys = sorted(args, key=lambda k: (not _named(args[k], error), list(args).index(k)))
        out: list[dict] = []
        for k in keys:
            cands = self.mem.candidates(k, args[k])
            cands = [c for c in cands if c in prefer] + [c for c in cands if c not in prefer]
            for c in cands:
                new = {**args, k: c}
                rec = self.mem.record_with(k, c)
                for q in args:
                    if q != k and q in rec and type(rec[q]) is type(args[q]):
                        new[q] = rec[q]
                if new not in out:
                    out.append(new)
        return out

    def retry(self, st: PlanStep, args: dict, error: str, prefer: Sequence[str] = (),
              between=None) -> Generator[Action, Any, dict | None]:
        """Refresh, then retry the failed write with id variants until one succeeds; the substitution made."""
        yield from self.refresh(args)
        if between is not None:
            yield from between(args)
        for new in self.variants(args, error, prefer):
            if self.calls >= self.max_calls:
                break
            res = yield from self.call(st.method, new)
            if res.get("success"):
                return {json_key(args[k]): new[k] for k in args if new[k] != args[k]}
        return None


def _named(value: Any, error: str) -> bool:
    return isinstance(value, str) and bool(value) and value in (error or "")


def json_key(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _substitute(args: dict, subst: dict) -> dict:
    out = {}
    for k, v in args.items():
        if isinstance(v, list):
            out[k] = list(subst.get(tuple(v), [subst.get(x, x) if isinstance(x, str) else x for x in v]))
        else:
            out[k] = subst.get(v, v) if isinstance(v, (str, int)) and not isinstance(v, bool) else v
    return out


class BlindRetry(ShortcutAgent):
    policy = "blind-retry"

    def script(self) -> Script:
        def on_write(st, args):
            res = yield from self.call(st.method, args)
            if res.get("success") or self.calls >= self.max_calls:
                return None
            return (yield from self.retry(st, args, str(res.get("error") or "")))
        yield from self.refresh({})  # survey: every list/search tool it can fill, ids harvested
        yield from self.play_static(on_write)


class ParanoidReread(ShortcutAgent):
    policy = "paranoid-reread"

    def reread(self, args: dict) -> Generator[Action, Any, None]:
        """Every read made so far again, and ``get_*`` of each id argument."""
        for tool, a in list(self.reads_done):
            if self.calls < self.max_calls:
                yield from self.call(tool, a)
        for k, v in args.items():
            getter = next((t for t in self.readers if t.startswith("get_")
                           and k in (self.params[t].get("properties") or {})), None)
            if getter and is_id(v) and self.calls < self.max_calls:
                filled = self.fill(getter, {k: v})
                if filled is not None and (getter, filled) not in self.reads_done:
                    yield from self.call(getter, filled)

    def script(self) -> Script:
        def on_write(st, args):
            yield from self.reread(args)
            yield from self.call(st.method, args)
        yield from self.play_static(on_write)


class RereadCannot(ParanoidReread):
    """The label-blind impossible-task policy: paranoid re-reads, a last re-read, then "cannot"."""

    policy = "reread-cannot"

    def script(self) -> Script:
        yield from super().script()
        yield from self.reread({})
        why = f" The system reported: {self.last_error}." if self.last_error else ""
        yield Action(kind="final", content=f"I could not complete your request; it cannot be done as asked.{why}")


class GiveUp(ShortcutAgent):
    policy = "give-up"

    def script(self) -> Script:
        yield Action(kind="final", content="I'm sorry, I cannot complete this request.")


class DoNothing(ShortcutAgent):
    policy = "do-nothing"

    def script(self) -> Script:
        yield Action(kind="final", content=DONE)


class AskThenStatic(ShortcutAgent):
    policy = "ask-then-static"

    def script(self) -> Script:
        yield from self.chat(f'Before I start on your request ("{self.query}"): is there anything else I should '
                             f"know - constraints, preferences or details you have not mentioned?")
        yield from self.play_static()


class StaticCannot(ShortcutAgent):
    policy = "static-cannot"

    def script(self) -> Script:
        yield from self.play_static()
        why = f" The system reported: {self.last_error}." if self.last_error else ""
        yield Action(kind="final", content=f"I could not complete your request; it cannot be done as asked.{why}")


_GRADES_MESSAGE = re.compile(r"""==\s*["']respond_to_user["']""")


class ChecklistGamer(ShortcutAgent):
    """Reads the checklist's source for the read tools and ids it looks for (never the oracle plan)."""

    policy = "checklist-gamer"
    max_calls = 45

    def reset(self, task, tools, system_prompt, first_message) -> None:
        super().reset(task, tools, system_prompt, first_message)
        src = "\n".join(c.check for c in task.checklist)
        lits = _LITERAL.findall(src)
        self.watched = [t for t in self.readers if t in lits]
        self.literal_ids = [x for x in dict.fromkeys(lits) if is_id(x)]
        # a checklist that grades a message to the user (not a state): report, do not retry. Only a test
        # *for* a message counts (``tool == "respond_to_user"``), not a detection item that skips messages
        self.report_mode = bool(_GRADES_MESSAGE.search(src))

    def watch(self, prefer: dict) -> Generator[Action, Any, None]:
        for tool in self.watched:
            a = self.fill(tool, prefer)
            if a is not None and self.calls < self.max_calls:
                yield from self.call(tool, a)

    def script(self) -> Script:
        failed: list[str] = []

        def on_write(st, args):
            res = yield from self.call(st.method, args)
            yield from self.watch(args)
            if res.get("success"):
                return None
            if self.report_mode or self.calls >= self.max_calls:
                failed.append(str(res.get("error") or st.method))
                return None
            new = yield from self.retry(st, args, str(res.get("error") or ""), self.literal_ids, self.watch)
            if new is None:
                failed.append(str(res.get("error") or st.method))
            return new
        yield from self.refresh({})
        yield from self.play_static(on_write)
        yield from self.watch({})
        if failed:
            yield Action(kind="final", content=f"I cannot complete this request: {failed[-1]}. Nothing else "
                                               f"was changed.")
        else:
            yield Action(kind="final", content=DONE)


# ids in free text (the query), as the judge's facts find them (agents may not import the judge)
_ID_TEXT = re.compile(r"\b(?:[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+|[A-Z]{2,}\d+[A-Z0-9]*)\b")


def sink_message(ids: Sequence[str], error: str | None = None) -> str:
    """A refusal that blames every id given with every state word: it names the blocker whenever the
    blocker is among them, without having singled it out."""
    why = f" The system reported: {error}." if error else ""
    return (f"I cannot complete your request as asked.{why} {', '.join(dict.fromkeys(ids)) or 'Everything'} "
            "are now closed, moved, full, offline, expired, blocked, damaged, off duty or no longer available. "
            "No other option remains: every alternative is ruled out. Nothing was changed.")


class QuerySink(ShortcutAgent):
    policy = "query-sink"

    def script(self) -> Script:
        yield Action(kind="final", content=sink_message(_ID_TEXT.findall(self.query)))


class SurveySink(ShortcutAgent):
    policy = "survey-sink"

    def script(self) -> Script:
        for _ in range(2):
            for tool in self.readers:
                args = self.fill(tool, {})
                if args is not None and self.calls < self.max_calls:
                    yield from self.call(tool, args)
        yield Action(kind="final", content=sink_message(_ID_TEXT.findall(self.query) + self.mem.ids()))


class RereadSink(ParanoidReread):
    policy = "reread-sink"

    def script(self) -> Script:
        yield from super().script()
        yield from self.reread({})
        yield Action(kind="final", content=sink_message(_ID_TEXT.findall(self.query) + self.mem.ids(),
                                                        self.last_error))


SHORTCUT_POLICIES: dict[str, type[ShortcutAgent]] = {
    c.policy: c for c in (BlindRetry, ParanoidReread, GiveUp, AskThenStatic, DoNothing, StaticCannot,
                          RereadCannot, ChecklistGamer, QuerySink, SurveySink, RereadSink)}


def make_shortcut(name: str) -> ShortcutAgent:
    try:
        return SHORTCUT_POLICIES[name]()
    except KeyError:
        raise ValueError(f"unknown shortcut policy {name!r}; choose from {sorted(SHORTCUT_POLICIES)}") from None
