"""What a good agent says, derived from a replayed trajectory, and the checks that hold any refinement (rules
or LLM) to it.

* **changes**: the user-visible values the user asked for (values of the user's request plan that appear in
  the request or the known facts) that the executed trajectory replaced -- another rate, broker, slot,
  date, route -- each with the observation that forced it;
* **asked**: what the request asks to be told (an arrival time, a price, a distance...) and its latest
  observed value;
* **withheld facts**: a recovery that departs from the request (or concludes it is impossible) relies on
  the user's unstated constraints, so the agent asks for them before it acts;
* **diagnosis**: names the observation that revealed the change (the refused call's error, or the fields that
  changed between two reads) and the next step, worded by the kind of change.

``final_text`` writes the final message; ``problems`` lists what a refined record gets wrong (used by the
pipeline to reject, and by tests).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..analysis.detectors import _failed, trigger_index
from ..task.models import Task

# fields a user reads in an outcome; the request's words that ask for them
_ASKS = {
    "arrival time": (r"\b(arriv\w*|eta)\b", r"^(eta|arriv\w*|arrival_\w+|\w*_eta)$"),
    "departure time": (r"\b(depart\w*|leaves?|pick-?up time)\b", r"^(depart\w*|pickup\w*|leaves_at)$"),
    "price": (r"\b(price|cost|how much|total|fare|fee)\b", r"^(price|total\w*|cost\w*|fare|fee\w*|amount|nightly)$"),
    "distance": (r"\b(distance|how far|km)\b", r"^(km|distance\w*)$"),
    "duration": (r"\b(how long|duration|travel time|driving time)\b", r"^(minutes|duration\w*|drive_minutes|hours)$"),
    "start time": (r"\b(what time|when (?:is|does|will)|start time|time slot)\b", r"^(start\w*|time|begins?_at)$"),
}
_TELL = re.compile(r"\b(tell me|let me know|send me|give me|what|when|how much|how long|how far|\?)", re.I)
_KINDS = (  # (pattern over the observation, what it means, wording)
    (r"quota|0 (?:room|seat|unit|ticket|slot)s? left|sold out|no (?:seats|rooms|capacity)|capacity|full\b",
     "capacity", "ran out of capacity"),
    (r"expired|window|closed at|no longer open|past|deadline|too late|sales? clos", "window", "its time window closed"),
    (r"suspend|revoked|status|inactive|licen[cs]e", "status", "its status changed"),
    (r"requires?|needs?\b|depend|missing|prerequisite", "dependency", "a prerequisite is now missing"),
    (r"moved|relocat|located|not at|no longer at|\bat (?:depot|site|station)", "location", "it is no longer where it was"),
    (r"disabled|not available|unavailable|out of service|maintenance|outage|down\b", "outage", "it went out of service"),
    (r"restrict|closed|blocked|ban|not allowed|forbidden|corridor", "restriction", "a restriction now applies"),
    (r"priority|queue|reorder|ahead", "priority", "the priorities changed"),
)


@dataclass
class Change:
    tool: str
    param: str
    old: Any
    new: Any

    def values(self) -> list[str]:
        return [str(v) for v in (self.new if isinstance(self.new, list) else [self.new])]


def _text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)


def _short(v: Any, n: int = 160) -> str:
    s = _text(v)
    return s if len(s) <= n else s[: n - 3] + "..."


def _calls(steps: list[dict]) -> list[dict]:
    return [s for s in steps if s.get("kind") == "tool"]


def _error(step: dict) -> str:
    res = step.get("result")
    return str(res.get("error") or res.get("message") or "") if isinstance(res, dict) else ""


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(d, list) and len(d) <= 30:
        for i, v in enumerate(d):
            out.update(_flat(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = d
    return out


def _user_values(task: Task) -> tuple[set[str], str]:
    """Values the user stated: words of the request and the known facts (ids, dates, names, numbers)."""
    text = task.query + " " + " ".join(map(str, task.user_profile.known_facts.values()))
    return set(re.findall(r"[A-Za-z0-9][A-Za-z0-9_\-:.]*[A-Za-z0-9]", text)), text


def _mentioned(v: Any, user: tuple[set[str], str]) -> bool:
    words, text = user
    vals = v if isinstance(v, list) else [v]
    return any(isinstance(x, (str, int, float)) and not isinstance(x, bool)
               and (str(x) in words or (isinstance(x, str) and len(x) >= 4 and x in text)) for x in vals)


def changes(record: dict, task: Task, mutating: set[str]) -> list[Change]:
    """Values of the user's request plan (its state-changing calls' arguments, by parameter name) that the
    executed trajectory replaced: the user stated them, or the agent picked them from what a query showed
    (ids the environment generated on the way, such as a hold id, are not a change to report)."""
    steps = record.get("steps") or []
    stated = task.query + " " + " ".join(map(str, task.user_profile.known_facts.values()))
    shown, made = stated, ""
    for s in _calls(steps):
        if _failed(s):
            continue
        if s.get("tool") in mutating:
            made += " " + _text(s.get("result"))
        else:
            shown += " " + _text(s.get("result"))
    plan: dict[str, tuple[str, Any]] = {}
    for st in task.plans.normal:
        if st.method in mutating:
            for k, v in st.arguments.items():
                plan[k] = (st.method, v)
    done: dict[str, tuple[str, Any]] = {}
    for s in _calls(steps):
        if s.get("tool") in mutating and not _failed(s):
            for k, v in (s.get("arguments") or {}).items():
                done[k] = (s["tool"], v)
    out = []
    for k, (tool, old) in plan.items():
        if k not in done or done[k][1] == old:
            continue
        new = done[k][1]
        vals = [str(x) for x in (old if isinstance(old, list) else [old])] + \
            [str(x) for x in (new if isinstance(new, list) else [new])]
        if any(v in made and v not in shown for v in vals):
            continue  # generated along the way (hold ids, reservation ids): not a choice
        if all(v in shown for v in vals[:1]):
            out.append(Change(done[k][0], k, old, new))
    return out


def asked(record: dict, task: Task) -> dict[str, tuple[str, Any]]:
    """What the request asks to be told -> (field path, latest observed value after the last change)."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", task.query) if _TELL.search(s)]
    if not sentences:
        return {}
    steps = record.get("steps") or []
    t = trigger_index(steps)
    out: dict[str, tuple[str, Any]] = {}
    for label, (ask, field) in _ASKS.items():
        if not any(re.search(ask, s, re.I) for s in sentences):
            continue
        for s in reversed(_calls(steps[t or 0:])):
            if _failed(s):
                continue
            hit = next(((p, v) for p, v in _flat(s.get("result")).items()
                        if v is not None and re.match(field, p.split(".")[-1].split("[")[0])), None)
            if hit:
                out[label] = hit
                break
    return out


def _scalars(v: list) -> bool:
    return len(v) <= 10 and all(isinstance(x, (str, int, float)) for x in v)


def _entities(result: Any) -> dict[tuple[str, Any], dict]:
    """Objects of a result keyed by their first id field: (``vehicle_id``, ``EV-621``) -> the object."""
    out: dict[tuple[str, Any], dict] = {}
    for obj in _objects(result):
        key = next(((k, v) for k, v in obj.items() if k.endswith("_id") and isinstance(v, (str, int))), None)
        if key is not None:
            out.setdefault(key, obj)
    return out


def shift_observation(steps: list[dict], t: int, mutating: set[str] | None = None) -> tuple[dict | None, str, list[str]]:
    """The step that revealed the change, after it fired at ``t`` and before the agent's own next successful
    state change: its error (a refused call), or the fields of an entity that differ from an earlier read
    (``EV-621 depot D28 -> D95``)."""
    for j in range(t, len(steps)):
        st = steps[j]
        if st.get("kind") != "tool":
            continue
        if _failed(st):
            return st, _error(st), []
        if j > t and mutating is not None and st.get("tool") in mutating:
            break
        before: dict[tuple[str, Any], dict] = {}
        for s in steps[:min(j, t + 1)]:
            if s.get("kind") == "tool" and not _failed(s):
                before.update(_entities(s.get("result")))
        diff = []
        for key, obj in _entities(st.get("result")).items():
            old = before.get(key)
            if old is None:
                continue
            diff += [f"{key[1]} {k} {_short(old[k], 40)} -> {_short(v, 40)}" for k, v in obj.items()
                     if k in old and old[k] != v and not isinstance(v, dict)
                     and not (isinstance(v, list) and not _scalars(v))]
        if diff:
            return st, "", diff[:3]
    return None, "", []


def entity_changes(steps: list[dict], t: int) -> list[str]:
    """Every entity field that differs between a read before the change and one after it
    (``CR-76 status is now off_shift (was on_shift)``)."""
    before: dict[tuple[str, Any], dict] = {}
    for s in steps[:t + 1]:
        if s.get("kind") == "tool" and not _failed(s):
            before.update(_entities(s.get("result")))
    out: list[str] = []
    for s in steps[t:]:
        if s.get("kind") != "tool" or _failed(s):
            continue
        for obj in _objects(s.get("result")):
            key = next(((k, v) for k, v in obj.items() if k.endswith("_id") and isinstance(v, (str, int))), None)
            if key is None:
                continue
            old = before.get(key)
            for k, v in obj.items():
                if isinstance(v, dict) or (isinstance(v, list) and not _scalars(v)):
                    continue
                if old is not None and k in old and old[k] != v:
                    line = (f"{key[1]} {k.replace('_', ' ')} is now {_short(_plain(v), 60)} "
                            f"(was {_short(_plain(old[k]), 60)})")
                elif old is None and re.fullmatch(r"status|state", k) and isinstance(v, str) and _BLOCKED.search(v):
                    line = f"{key[1]} {k} is now {v}"
                else:
                    continue
                if line not in out:
                    out.append(line)
    return out


_BLOCKED = re.compile(r"clos|suspend|block|full|off|outage|down|cancel|unavail|expir|revok|restrict|maint|stop", re.I)


def _plain(v: Any) -> str:
    return ", ".join(map(str, v)) if isinstance(v, list) else str(v)


def kind_of(text: str) -> tuple[str, str]:
    for pat, kind, meaning in _KINDS:
        if re.search(pat, text, re.I):
            return kind, meaning
    return "change", "the state changed since I read it"


def diagnosis_text(steps: list[dict], t: int, next_tool: str | None = None, mutating: set[str] | None = None) -> str:
    """A root-cause note naming the observation; worded by the kind of change and the next step."""
    st, err, diff = shift_observation(steps, t, mutating)
    nxt = f" with `{next_tool}`" if next_tool else ""
    if st is None:
        changed = steps[t]
        return (f"`{changed.get('tool')}` went through, but what it returned no longer matches my plan: the "
                f"situation moved underneath me. I re-read the affected records{nxt} before the next change.")
    args = st.get("arguments") or {}
    vals = [str(v) for v in args.values() if isinstance(v, (str, int)) and not isinstance(v, bool)]
    ids = re.findall(r"[A-Z][A-Z0-9]*-\d[\w-]*", err)
    subject = ids[0] if ids else next((v for v in vals if v in err), vals[0] if vals else "")
    if err:
        kind, meaning = kind_of(err)
        head = f"`{st['tool']}` was refused: \"{_short(err, 200)}\"."
        why = {"capacity": f"So {subject or 'that option'} {meaning} after I looked; the same call a second time cannot work.",
               "window": f"So {subject or 'the option'}: {meaning} while I was working; my request was valid "
                         f"when I made the plan.",
               "status": f"So {subject or 'the provider'} can no longer be used: {meaning}, not my arguments.",
               "location": f"So {meaning}: {subject or 'the resource'} moved since I read it.",
               "outage": f"So {meaning}; I need a way around it rather than a retry.",
               "restriction": f"So {meaning} to {subject or 'this option'}; my call itself was fine.",
               "priority": f"So {meaning}; the order I planned with is outdated.",
               "dependency": f"So {meaning}; the plan has to cover it first."}.get(
            kind, f"My arguments were accepted earlier, so {meaning}; sending it again will not help.")
        return f"{head} {why} I re-read the current state{nxt} before acting again."
    kind, meaning = kind_of(" ".join(diff))
    return (f"`{st['tool']}` now shows {'; '.join(diff)}, so {meaning}. My earlier reading is stale; I re-check"
            f"{nxt or ' the affected records'} and adapt the plan to what is there now.")


def _describe(value: Any, steps: list[dict]) -> str:
    """A value with what the observations say about it (``NEST-367 (Advance purchase, nightly 146)``)."""
    if isinstance(value, list):
        return " -> ".join(_describe(v, steps) for v in value)
    for s in reversed(_calls(steps)):
        for obj in _objects(s.get("result")):
            if value in obj.values() and any(k.endswith("id") or k.endswith("code") for k, v in obj.items()
                                             if v == value):
                extra = [f"{k.replace('_', ' ')} {v}" for k, v in obj.items()
                         if v != value and isinstance(v, (str, int, float)) and not isinstance(v, bool)
                         and (k == "name" or any(re.match(f, k) for _, f in _ASKS.values()))][:3]
                return f"{value} ({', '.join(extra)})" if extra else str(value)
    return str(value)


def _objects(x: Any):
    if isinstance(x, dict):
        yield x
        for v in x.values():
            yield from _objects(v)
    elif isinstance(x, list):
        for v in x:
            yield from _objects(v)


def final_text(record: dict, task: Task, mutating: set[str]) -> str:
    steps = record.get("steps") or []
    t = trigger_index(steps)
    st, err, diff = shift_observation(steps, t, mutating) if t is not None else (None, "", [])
    later = entity_changes(steps, t) if t is not None and not (st is not None and (err or diff)) else []
    cause = (f"`{st['tool']}` was refused ({_short(err, 160)})" if st is not None and err else
             f"{'; '.join(diff)} when I re-checked" if diff else
             f"{'; '.join(later[:2])}, as I found when I re-checked" if later else
             "the situation changed while I was working")
    if task.impossible:
        seen = entity_changes(steps, t) if t is not None else []
        checked = sorted({s["tool"] for s in _calls(steps[t or 0:]) if s["tool"] not in mutating and not _failed(s)})
        cause = (f"`{st['tool']}` was rejected: {_short(err, 160)}" if st is not None and err else cause)
        parts = [f"I could not complete your request: {cause}."]
        if seen:
            parts.append(f"When I re-checked, {'; '.join(seen[:3])}.")
        parts.append(f"None of the other options I checked ({', '.join(f'`{c}`' for c in checked) or 'the current state'})"
                     f" meets your requirements, so I have not made any other change.")
        return " ".join(parts)
    muts = [s for s in _calls(steps) if s.get("tool") in mutating and not _failed(s)]
    parts = []
    if muts:
        last = muts[-1]
        data = (last.get("result") or {}).get("data") or {}
        ids = [str(v) for k, v in data.items() if isinstance(v, (str, int)) and not isinstance(v, bool)
               and k.endswith("_id")][:2]
        parts.append(f"{_did(last['tool'])}" + (f" ({', '.join(ids)})" if ids else "")
                     + (f"; status: {data['status']}." if isinstance(data.get("status"), str) else "."))
    for label, (path, value) in asked(record, task).items():
        parts.append(f"The {label} you asked for is {value}.")
    chg, shown = changes(record, task, mutating), set()
    for c in chg:
        if (c.param, _text(c.new)) in shown:
            continue
        shown.add((c.param, _text(c.new)))
        old = " -> ".join(map(str, c.old)) if isinstance(c.old, list) else str(c.old)
        parts.append(f"One change from your request: {c.param.replace('_', ' ')} {_describe(c.new, steps)} instead "
                     f"of {_short(old, 80)}, because {cause}.")
    if t is not None and not chg:
        parts.append(f"Along the way {cause}; I re-read the state and kept everything you asked for.")
    told = [s.get("user_reply") for s in steps if s.get("kind") == "chat" and s.get("user_reply")]
    if chg and told:
        parts.append(f"The choice respects what you told me ({_short(' '.join(told), 160)}).")
    ver = [s for s in _calls(steps) if muts and s.get("index", 0) > muts[-1].get("index", 0)
           and s["tool"] not in mutating and not _failed(s)]
    if ver:
        parts.append(f"I read it back with `{ver[-1]['tool']}` afterwards: it is in place.")
    return " ".join(parts) or "Your request is complete."


_IRREGULAR = {"checkout": "checked out", "handoff": "handed off", "setup": "set up", "pickup": "picked up",
              "hold": "held", "send": "sent", "pay": "paid", "set": "set", "put": "put", "buy": "bought",
              "rebook": "rebooked", "fulfil": "fulfilled", "cancel": "cancelled", "ship": "shipped"}


def _did(tool: str) -> str:
    """``confirm_hold`` -> ``I confirmed the hold``."""
    verb, _, rest = tool.partition("_")
    past = _IRREGULAR.get(verb) or (verb + "d" if verb.endswith("e") else verb[:-1] + "ied"
                                    if verb.endswith("y") and verb[-2:-1] not in "aeiou" else verb + "ed")
    return f"I {past} the {rest.replace('_', ' ')}" if rest else f"I {past}"


def verification_thought(tool: str, args: dict) -> str:
    what = next((str(v) for v in args.values() if isinstance(v, (str, int)) and not isinstance(v, bool)), "")
    return (f"The state already changed once during this task, so before reporting back I read "
            f"{what or 'the result'} again with `{tool}`.")


_DISTINCT = re.compile(r"[A-Z][A-Z0-9]*-\d[\w-]*|\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?)?|\d+(?:\.\d+)?")


def _distinct(value: str) -> list[str]:
    """Tokens of a withheld value that betray it when they show up in a call (ids, dates, figures)."""
    return [m for m in _DISTINCT.findall(str(value)) if len(m) >= 2]


def _word_in(token: str, text: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(token)}(?![\w-]|\.\d)", text) is not None


def _knows(text: str, tokens: list[str]) -> bool:
    return bool(tokens) and all(t in text for t in tokens)


def withheld_uses(record: dict, task: Task, mutating: set[str]) -> list[tuple[str, int]]:
    """(withheld fact key, step index where the trajectory first relies on it) for facts it relies on:
    a value of the fact (an id, a date, a figure) in a call's arguments before the user or a tool result
    gave it; and every other fact once the trajectory departs from the request (a changed user-visible
    value) or concludes that it is impossible -- the choice of an alternative rests on those constraints."""
    steps = record.get("steps") or []
    wf = task.user_profile.withheld_facts
    stated = task.query + " " + " ".join(map(str, task.user_profile.known_facts.values()))
    out: dict[str, int] = {}
    seen = stated
    for i, s in enumerate(steps):
        if s.get("kind") == "tool":
            args = json.dumps(s.get("arguments") or {}, ensure_ascii=False)
            for k, v in wf.items():
                if k not in out and any(_word_in(t, args) and not _word_in(t, seen) for t in _distinct(v)):
                    out[k] = i
            seen += " " + _text(s.get("result"))
        elif s.get("kind") == "chat":
            seen += " " + (s.get("user_reply") or "")
    if task.impossible:
        pivot: int | None = next((i for i, s in enumerate(steps) if s.get("kind") == "final"), len(steps))
    else:
        chg = {c.tool for c in changes(record, task, mutating)}
        t = trigger_index(steps) or 0
        pivot = next((i for i, s in enumerate(steps) if i > t and s.get("tool") in chg and not _failed(s)), None)
    if pivot is not None:
        for k, v in wf.items():
            if k not in out and not _knows(stated, _distinct(v)):
                out[k] = pivot
    return sorted(out.items(), key=lambda kv: kv[1])


def _topic_words(key: str) -> list[str]:
    return [w for w in re.split(r"[_\-\s]+", key.lower()) if len(w) >= 3]


def asked_for(key: str, value: str, steps: list[dict], before: int, need_value: bool) -> bool:
    """A question to the user about ``key`` before step ``before`` (and, if ``need_value``, its answer)."""
    for s in steps[:before]:
        if s.get("kind") != "chat":
            continue
        msg = (s.get("content") or "").lower()
        if "?" in msg and any(w in msg for w in _topic_words(key)):
            if not need_value or _knows(s.get("user_reply") or "", _distinct(value)) or value in (s.get("user_reply") or ""):
                return True
    return False


def withheld_to_ask(record: dict, task: Task, mutating: set[str]) -> list[tuple[str, int]]:
    """Withheld facts the trajectory relies on without having asked for them: (key, where it relies on it)."""
    steps = record.get("steps") or []
    wf = task.user_profile.withheld_facts
    out = []
    for k, i in withheld_uses(record, task, mutating):
        args = json.dumps(steps[i].get("arguments") or {}, ensure_ascii=False) if i < len(steps) else ""
        need_value = any(_word_in(t, args) for t in _distinct(wf[k]))
        if not asked_for(k, wf[k], steps, i, need_value):
            out.append((k, i))
    return out


def question(task: Task, keys: list[str], reason: str = "") -> str:
    topics = [k.replace("_", " ") for k in keys]
    listed = topics[0] if len(topics) == 1 else ", ".join(topics[:-1]) + " and " + topics[-1]
    return f"{reason + ' ' if reason else ''}Before I go on: what is your {listed}?"


def problems(record: dict, task: Task, mutating: set[str]) -> list[str]:
    """What a refined record gets wrong in what it tells the user or assumes about them."""
    out = []
    steps = record.get("steps") or []
    final = next((s.get("content") or "" for s in reversed(steps) if s.get("kind") == "final"), "")
    for c in changes(record, task, mutating):
        miss = [v for v in c.values() if v not in final]
        if miss:
            out.append(f"final message omits changed {c.param} ({', '.join(miss)})")
    for label, (_, v) in asked(record, task).items():
        if str(v) not in final:
            out.append(f"final message does not answer the {label} ({v})")
    left = withheld_to_ask(record, task, mutating)
    if left:
        out.append(f"relies on withheld fact(s) never asked for: {', '.join(k for k, _ in left)}")
    return out


def diagnosis_problems(record: dict, mutating: set[str] | None = None) -> list[str]:
    """A diagnosis (a thought after the change) must name the observation that revealed it."""
    steps = record.get("steps") or []
    t = trigger_index(steps)
    if t is None:
        return []
    st, err, diff = shift_observation(steps, t, mutating)
    if st is None:
        return []
    notes = " ".join(s.get("thought") or "" for s in steps[t:])
    if not names_observation(notes, err or "; ".join(diff)):
        return [f"no diagnosis names the observation ({_short(err or '; '.join(diff), 120)})"]
    return []


_STOPWORDS = {"with", "from", "that", "this", "have", "been", "into", "only", "than", "were", "will", "status",
              "left", "there", "their", "when", "would", "could", "should", "about", "after", "before"}


def names_observation(note: str, observation: str) -> bool:
    """The note names the observation: one of its ids (if it has any) and one of its content words (or the
    new value of a changed field)."""
    ids = re.findall(r"[A-Z][A-Z0-9]*-?\d[\w-]*|\b[A-Z]{1,3}\d+\b", observation)
    words = {w for w in re.findall(r"[a-z]{4,}", observation.lower()) if w not in _STOPWORDS}
    values = re.findall(r"-> (\S+)", observation)
    low = note.lower()
    return ((not ids or any(i in note for i in ids))
            and (not (words or values) or any(w in low for w in words) or any(v in note for v in values)))


__all__ = ["Change", "changes", "asked", "diagnosis_text", "final_text", "withheld_to_ask", "question", "problems",
           "diagnosis_problems", "shift_observation", "withheld_uses", "entity_changes", "names_observation"]
