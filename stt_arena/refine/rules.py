"""The deterministic, rule-based refiner: three sequential stages over editable blocks.

Each stage reads a *replayed* record (results recomputed from the environment) and returns new blocks;
the pipeline replays them again before the next stage. Edits are deletions, insertions and
modifications of blocks, and a rewritten final message.

1. **Diagnosis** -- delete blind retries (a failed call re-sent unchanged, or with argument variants,
   without re-checking the state) and invalid turns; annotate the first turn after the change with a
   root-cause diagnosis grounded in the recomputed results (the failing call's error, or the fields of
   an entity that changed between two reads).
2. **State refresh** -- if the trajectory still acts on pre-trigger state (no successful adaptation
   after the change), cut the stale continuation after the change, insert state-refresh queries and
   continue with the task's reference recovery segment (the calls the task's reference plan makes
   after the same change). Refresh queries come from that segment's re-queries, else from the query
   tools whose parameters the changed call's arguments fill.
3. **Verification** -- after the last successful state-changing call, insert end-state queries (query
   tools fillable from that call's arguments and result ids, else the reference plan's verify steps)
   and rewrite the final message from the recomputed verification result.

The recovery segment is what a deterministic refiner cannot derive without a model (e.g. *which*
alternative slot to book); everything else -- the agent's own prefix and queries, the diagnosis, the
refresh and verification choices, the final message -- comes from the trajectory and the recomputed
observations, and the result is kept only if its replay passes (see ``pipeline``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..analysis.detectors import _failed, is_query_tool, trigger_index
from ..env.schema import ToolSpec, tool_specs
from ..task.models import CHAT_WITH_USER, Task
from . import narrative
from .replay import blocks_of


@dataclass
class TaskInfo:
    task: Task
    specs: dict[str, ToolSpec]
    mutating: set[str]
    oracle_record: dict | None = None  # the reference plan replayed (for its post-trigger segment)

    @classmethod
    def of(cls, task: Task, oracle_record: dict | None = None) -> "TaskInfo":
        env = task.environment
        specs = {s.name: s for s in tool_specs(env.source, env.class_name, env.mutating_tools)}
        return cls(task, specs, {n for n, s in specs.items() if s.mutating}, oracle_record)

    def is_query(self, tool: str) -> bool:
        return tool in self.specs and is_query_tool(tool, self.mutating)


@dataclass
class StageResult:
    blocks: list[dict]
    edits: list[str] = field(default_factory=list)
    alternatives: list[tuple[list[dict], list[str]]] = field(default_factory=list)
    """Other candidate edits of the same stage, tried in order when the replay of ``blocks`` fails."""

    @property
    def changed(self) -> bool:
        return bool(self.edits)


def _short(v: Any, n: int = 160) -> str:
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
    return s if len(s) <= n else s[: n - 3] + "..."


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(d, list) and len(d) <= 20:
        for i, v in enumerate(d):
            out.update(_flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = d
    return out


def state_diff(before: Any, after: Any, limit: int = 4) -> list[str]:
    """Fields that differ between two results of the same query (``path: old -> new``)."""
    a, b = _flatten(before), _flatten(after)
    out = [f"{k}: {_short(a.get(k), 40)} -> {_short(b.get(k), 40)}" for k in b if k in a and a[k] != b[k]]
    return out[:limit]


def _error(step: dict) -> str:
    res = step.get("result")
    if isinstance(res, dict):
        return str(res.get("error") or res.get("message") or "")
    return ""


def diagnosis_text(steps: list[dict], t: int, next_tool: str | None = None, mutating: set[str] | None = None) -> str:
    """A root-cause note for the turn after the change, naming the observation (``narrative``)."""
    return narrative.diagnosis_text(steps, t, next_tool, mutating)


# -- stage 1 -------------------------------------------------------------------------------------
def stage_diagnosis(record: dict, info: TaskInfo) -> StageResult:
    steps = record["steps"]
    blocks = blocks_of(record)
    edits: list[str] = []
    keep: list[dict] = []
    failed: list[tuple[str, str]] = []
    last_failed: dict | None = None
    queried_since_fail = False
    for st, b in zip(steps, blocks):
        if b["kind"] != "tool":
            keep.append(b)
            continue
        if b.get("invalid") or b["tool"] not in info.specs:
            edits.append(f"delete invalid call {b['tool'] or '(none)'}")
            continue
        key = (b["tool"], json.dumps(b["arguments"], sort_keys=True))
        if key in failed:
            edits.append(f"delete repeated failing call {b['tool']}")
            continue
        if last_failed is not None and last_failed["tool"] == b["tool"] and not queried_since_fail:
            edits.append(f"delete blind retry of {b['tool']} with argument variants")
            continue
        keep.append(b)
        if _failed(st):
            failed.append(key)
            last_failed, queried_since_fail = st, False
        elif info.is_query(b["tool"]):
            queried_since_fail = True
        else:
            failed.clear()
            last_failed = None
    t = trigger_index(steps)
    if t is not None:
        # annotate the first kept block after the change (or the changed call's successor)
        pos = next((i for i, b in enumerate(keep) if b.get("index") is not None and b["index"] > steps[t]["index"]),
                   None)
        note = diagnosis_text(steps, t, keep[pos].get("tool") if pos is not None else None, info.mutating)
        if pos is None:
            keep.append({"kind": "final", "content": "", "thought": note, "origin": "refine:diagnosis"})
            edits.append("insert diagnosis")
        elif note not in (keep[pos].get("thought") or ""):
            keep[pos] = {**keep[pos], "thought": note, "origin": keep[pos].get("origin", "agent")}
            edits.append("annotate diagnosis")
    return StageResult(keep, edits)


# -- stage 2 -------------------------------------------------------------------------------------
def _plan_blocks(record: dict) -> list[dict]:
    return blocks_of(record)


def _fillable_queries(info: TaskInfo, values: dict[str, Any], limit: int = 2) -> list[dict]:
    """Query calls whose required parameters are all filled by ``values`` (names match exactly)."""
    out = []
    for name, spec in info.specs.items():
        if not info.is_query(name):
            continue
        req = spec.parameters.get("required") or []
        if req and all(r in values and isinstance(values[r], (str, int, float)) for r in req):
            out.append({"kind": "tool", "tool": name, "arguments": {r: values[r] for r in req},
                        "origin": "refine:rule"})
    out.sort(key=lambda b: -len(b["arguments"]))
    return out[:limit]


def needs_recovery(record: dict, info: TaskInfo) -> bool:
    """Does the trajectory fail for reasons other than a missing end-state check?"""
    g = record.get("grade") or {}
    if record.get("passed"):
        return False
    bad = [c for c in g.get("items") or [] if not c.get("passed")]
    if info.task.impossible:
        return bool(bad) or not (g.get("judge") or {}).get("passed", False)
    return any(c.get("kind") != "verification" for c in bad) or not bad


def stage_refresh(record: dict, info: TaskInfo) -> StageResult:
    steps = record["steps"]
    blocks = blocks_of(record)
    t = trigger_index(steps)
    if t is None or not needs_recovery(record, info):
        return StageResult(blocks)
    oracle = info.oracle_record
    if oracle is None or trigger_index(oracle["steps"]) is None:
        return StageResult(blocks)
    o = trigger_index(oracle["steps"]) or 0
    segment = [b for b in _plan_blocks(oracle)[o + 1:] if b["kind"] == "tool"]
    head = blocks[: t + 1]
    dropped = [b for b in blocks[t + 1:] if b["kind"] != "final"]
    refresh = []
    while segment and info.is_query(segment[0]["tool"]):
        refresh.append(segment.pop(0))
    if not refresh:
        st = steps[t]
        vals = dict(st.get("arguments") or {})
        refresh = _fillable_queries(info, vals)
    note = diagnosis_text(steps, t, (refresh or segment or [{}])[0].get("tool"), info.mutating)
    for b in refresh + segment:
        b["origin"] = "refine:refresh" if b in refresh else "refine:recovery"
        b.pop("thought", None)
    if refresh:
        refresh[0]["thought"] = note
    elif segment:
        segment[0]["thought"] = note
    edits = [f"cut {len(dropped)} stale call(s) after the change"] if dropped else []
    edits += [f"insert refresh {b['tool']}" for b in refresh] + [f"insert recovery {b['tool']}" for b in segment]
    final = {"kind": "final", "content": "", "origin": "refine:refresh"}
    return StageResult(head + refresh + segment + [final], edits)


# -- stage 3 -------------------------------------------------------------------------------------
def _data(step: dict) -> dict:
    res = step.get("result")
    if isinstance(res, dict) and isinstance(res.get("data"), dict):
        return res["data"]
    return {}


def _summary(step: dict, n: int = 6) -> str:
    data = _data(step)
    items = [(k, v) for k, v in data.items() if isinstance(v, (str, int, float, bool)) and v is not None][:n]
    return ", ".join(f"{k}={v}" for k, v in items)


def final_message(record: dict, info: TaskInfo) -> str:
    """The final reply from the replayed record: outcome, each changed value and why, the figure the user
    asked for, the end-state check (``narrative.final_text``)."""
    return narrative.final_text(record, info.task, info.mutating)


def reference_verify(info: TaskInfo) -> list[dict]:
    """The reference plan's queries after its last successful state-changing call."""
    if info.oracle_record is None:
        return []
    ob = info.oracle_record["steps"]
    muts = [i for i, s in enumerate(ob) if s.get("kind") == "tool" and not _failed(s) and not info.is_query(s["tool"])]
    if not muts:
        return []
    return [{"kind": "tool", "tool": s["tool"], "arguments": dict(s.get("arguments") or {})}
            for s in ob[muts[-1] + 1:] if s.get("kind") == "tool" and info.is_query(s["tool"])]


def stage_verification(record: dict, info: TaskInfo) -> StageResult:
    steps = record["steps"]
    blocks = blocks_of(record)
    edits: list[str] = []
    ok_mut = [i for i, s in enumerate(steps) if s.get("kind") == "tool" and not _failed(s)
              and not info.is_query(s["tool"]) and s["tool"] != CHAT_WITH_USER]
    t = trigger_index(steps)
    cut = len(blocks)
    while cut and blocks[cut - 1]["kind"] == "final":
        cut -= 1
    body, finals = blocks[:cut], blocks[cut:]
    alternatives: list = []
    if ok_mut and t is not None and ok_mut[-1] >= t:
        last = ok_mut[-1]
        checked = any(s.get("kind") == "tool" and info.is_query(s["tool"]) and not _failed(s) for s in steps[last + 1:])
        if not checked:
            st = steps[last]
            vals = {**(st.get("arguments") or {}), **{k: v for k, v in _data(st).items()
                                                       if isinstance(v, (str, int))}}
            cands = [c for c in (entity_queries(info, _data(st), st.get("arguments") or {}),
                                 reference_verify(info), _fillable_queries(info, vals)) if c]
            uniq: list[list[dict]] = []
            for c in cands:
                if all(json.dumps(c, sort_keys=True) != json.dumps(u, sort_keys=True) for u in uniq):
                    uniq.append(c)
            alts = []
            for verify in uniq[1:]:
                alts.append(_with_verify(body, st, verify))
            verify = uniq[0] if uniq else []
            for b in verify:
                b["origin"] = "refine:verification"
            if verify:
                verify[0]["thought"] = narrative.verification_thought(verify[0]["tool"], verify[0]["arguments"])
                # insert right after the last successful state-changing call
                pos = next((k for k, b in enumerate(body) if b.get("index") == st.get("index")), len(body) - 1) + 1
                body = body[:pos] + verify + body[pos:]
                edits += [f"insert verification {b['tool']}" for b in verify]
                alternatives = [(blk + [_final(finals)], [f"insert verification {b['tool']}" for b in v]
                                 + ["rewrite final message"]) for blk, v in alts]
    final = _final(finals)
    if not edits and finals and (finals[-1].get("content") or "").strip() and finals[-1]["content"] != "Task Completed." \
            and not any(b.get("origin", "agent") != "agent" for b in blocks):
        return StageResult(blocks)
    edits.append("rewrite final message")
    return StageResult(body + [final], edits, alternatives if "insert verification" in " ".join(edits) else [])


def _final(finals: list[dict]) -> dict:
    thought = next((f.get("thought") for f in finals if f.get("thought")), None)
    final = {"kind": "final", "content": "", "origin": "refine:verification", "needs_message": True}
    if thought:
        final["thought"] = thought
    return final


def _with_verify(body: list[dict], st: dict, verify: list[dict]) -> tuple[list[dict], list[dict]]:
    verify = [dict(b, origin="refine:verification") for b in verify]
    verify[0]["thought"] = narrative.verification_thought(verify[0]["tool"], verify[0]["arguments"])
    pos = next((k for k, b in enumerate(body) if b.get("index") == st.get("index")), len(body) - 1) + 1
    return body[:pos] + verify + body[pos:], verify


def entity_queries(info: TaskInfo, data: dict, args: dict) -> list[dict]:
    """One read of the entity a state-changing call produced or changed: ``get_<entity>(<entity>_id)`` for
    the first id in its result (else in its arguments), or ``list_<entity>s``."""
    for src in (data, args):
        for k, v in src.items():
            if not (k.endswith("_id") and isinstance(v, (str, int))):
                continue
            ent = k[:-3]
            for name in (f"get_{ent}", f"list_{ent}s", f"list_{ent}es"):
                spec = info.specs.get(name)
                if spec is None or not info.is_query(name):
                    continue
                req = spec.parameters.get("required") or []
                vals = {**args, **data}
                if all(r in vals for r in req):
                    return [{"kind": "tool", "tool": name, "arguments": {r: vals[r] for r in req},
                             "origin": "refine:verification"}]
    return []


def fill_final(blocks: list[dict], record: dict, info: TaskInfo) -> list[dict]:
    """Replace a pending final message by one written from the replayed record."""
    out = []
    for b in blocks:
        if b.get("needs_message"):
            b = {k: v for k, v in b.items() if k != "needs_message"}
            b["content"] = final_message(record, info)
        out.append(b)
    return out


# -- stage 4 -------------------------------------------------------------------------------------
def stage_communication(record: dict, info: TaskInfo) -> StageResult:
    """Ask for the withheld facts a departure from the request relies on (right before it), and rewrite a
    final message that does not report each changed value or the figure the user asked for."""
    steps = record["steps"]
    blocks = blocks_of(record)
    edits: list[str] = []
    t = trigger_index(steps)
    if t is not None and narrative.diagnosis_problems(record, info.mutating):  # the observation moved
        st, _, _ = narrative.shift_observation(steps, t, info.mutating)
        i = steps.index(st) + 1
        if i < len(blocks):
            note = diagnosis_text(steps, t, blocks[i].get("tool"), info.mutating)
            blocks[i] = {**blocks[i], "thought": (note + " " + (blocks[i].get("thought") or "")).strip()}
            edits.append("annotate diagnosis")
    left = narrative.withheld_to_ask(record, info.task, info.mutating)
    if left:
        t = trigger_index(steps) or 0
        st, err, diff = narrative.shift_observation(steps, t, info.mutating)
        what = (f"`{st['tool']}` was refused ({_short(err, 120)})." if st is not None and err else
                f"{'; '.join(diff)}." if diff else "")
        by_pos: dict[int, list[str]] = {}
        for k, i in left:
            by_pos.setdefault(i, []).append(k)
        # step index -> block position (blocks and steps align one to one)
        for i in sorted(by_pos, reverse=True):
            reason = what if i > t and steps[t:i] else ""
            chat = {"kind": "chat", "content": narrative.question(info.task, by_pos[i], reason), "origin": "refine:ask"}
            blocks = blocks[:i] + [chat] + blocks[i:]
        edits.append(f"ask for withheld fact(s) {', '.join(k for k, _ in left)}")
    final_problems = [p for p in narrative.problems(record, info.task, info.mutating) if p.startswith("final")]
    if left or final_problems:
        cut = len(blocks)
        while cut and blocks[cut - 1]["kind"] == "final":
            cut -= 1
        blocks = blocks[:cut] + [_final(blocks[cut:])]
        edits.append("rewrite final message")
    return StageResult(blocks, edits)


STAGES = (("diagnosis", stage_diagnosis), ("refresh", stage_refresh), ("verification", stage_verification),
          ("communication", stage_communication))
