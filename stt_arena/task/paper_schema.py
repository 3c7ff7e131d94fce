"""The paper's blueprint and user-profile field names (appendix D.1, Figures 14-15) mapped onto ours.

A model prompted with the paper's schema answers with these names; ``normalize_blueprint_answer`` and
``normalize_profile`` turn them into the task format before validation, and ``to_paper_blueprint``
writes ours back in the paper's shape. Our own names pass through unchanged; both may be mixed.

Blueprint (one object, or the paper's one-element list)

======================================  =================================================================
paper                                   ours
======================================  =================================================================
``scenario_id``                         ``BlueprintOut.scenario_id`` (kept in the draft's provenance)
``env_id``                              ``BlueprintOut.env_id`` (informative)
``conflict_type``                       ``BlueprintOut.conflict_type`` (must match the requested type)
``difficulty``                          ``BlueprintOut.level`` (must match the requested level)
``user_goal``                           ``scenario``
``normal_flow[{operation, purpose}]``   ``blueprint.normal_flow`` as ``"operation: purpose"``
``conflict_design.trigger_mechanism``   ``blueprint.conflict_design.mode``
``conflict_design.trigger_condition``   ``blueprint.conflict_design.trigger_condition`` (prose kept)
``recovery_guard_condition``            ``blueprint.conflict_design.recovery_guard`` (prose kept)
``mutations[].state_path``              ``state_path``: ``clinics['C-1'].hours`` -> ``clinics.C-1.hours``
``mutations[].change_description``      ``old`` / ``new``: ``"original: X → new: Y (note)"``, values
                                        read as Python/JSON literals (strings otherwise), note dropped
``observable_via`` (a string)           ``observable_via`` (a list; split on commas)
``recovery_path`` (numbered text)       ``recovery_path`` (one entry per numbered step)
``impossibility_rationale``             ``impossibility_rationale``
``_raw``                                dropped
======================================  =================================================================

User profile (``user_profile`` or the profile object itself): ``task_goal`` -> ``goal``; ``persona`` /
``persona_name`` -> ``persona``; ``context``/``persona_background`` and ``tone``/``communication_style``
are appended to ``persona``; ``known_facts`` / ``key_preferences`` (lists) -> ``known_facts``
``{"fact_1": ...}``; ``withhold_until_asked`` -> ``withheld_facts``; ``clarification_responses`` ->
``clarifications``; ``decline_cancel_response`` -> ``refusals``; ``fallback_response`` ->
``fallback_reply``. ``fidelity_rules``, ``helpfulness_rules``, ``frustration_threshold`` and
``flexibility`` have no field of ours: they are returned separately (kept in the draft's provenance).
The PDF's typographic quotes (’ ‘) are read as ASCII quotes.

Task files (``task.io.from_paper``): a task's ``blueprint`` in the appendix form (one object or the one-element
list) becomes ours through ``task_blueprint``: ``user_goal`` -> ``provenance.notes`` (when empty),
``scenario_id`` / ``env_id`` -> ``provenance.extra``, ``conflict_type`` / ``difficulty`` fill the task's own
fields when absent and must agree with them otherwise; a paper-named ``user_profile`` goes through
``normalize_profile`` (its extra fields -> ``provenance.extra.profile_extra``). Used by the synthesis pipeline
(``synth.schemas``) and the task loader alike; it depends on nothing else of the package.
"""
from __future__ import annotations

import ast
import json
import re
from typing import Any

_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})
_MODE_WORDS = {"always_once": "always_once", "always": "always_once", "once": "always_once",
               "conditional_guarded": "conditional_guarded", "conditional": "conditional_guarded",
               "guarded": "conditional_guarded"}
_CHANGE_RE = re.compile(r"^\s*(?:original|old|from)\s*:\s*(?P<old>.*?)\s*(?:→|->|=>)\s*(?:new|to)\s*:\s*(?P<new>.*)$",
                        re.S | re.I)
_STEP_RE = re.compile(r"^\s*\d+[.)]\s*")
PAPER_BLUEPRINT_KEYS = {"scenario_id", "env_id", "difficulty", "user_goal", "_raw"}
PAPER_DESIGN_KEYS = {"trigger_mechanism", "recovery_guard_condition"}


def state_path(path: str) -> str:
    """``clinics['CLINIC-DOWNTOWN'].operational_hours`` -> ``clinics.CLINIC-DOWNTOWN.operational_hours``."""
    p = str(path).translate(_QUOTES).strip()
    p = re.sub(r"\[\s*(['\"])(.*?)\1\s*\]", r".\2", p)
    p = re.sub(r"\[\s*(-?\d+)\s*\]", r".\1", p)
    return p.strip(".")


def _literal(text: str) -> Any:
    """The leading literal of ``text`` (Python or JSON); a trailing ``(note)`` is dropped; else the text."""
    t = text.translate(_QUOTES).strip().rstrip(",;")
    for cand in (t, re.sub(r"\s*\([^()]*\)\s*$", "", t)):
        for parse in (ast.literal_eval, json.loads):
            try:
                return parse(cand)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                pass
        low = cand.lower()
        if low in ("true", "false", "null", "none"):
            return {"true": True, "false": False}.get(low)
    return re.sub(r"\s*\([^()]*\)\s*$", "", t).strip("'\"") or t


def parse_change(desc: str) -> tuple[Any, Any]:
    """``"original: X → new: Y (note)"`` -> ``(X, Y)``; raises ValueError naming the text otherwise."""
    m = _CHANGE_RE.match(str(desc).translate(_QUOTES))
    if not m:
        raise ValueError(f"change_description {desc!r} is not of the form 'original: <old> → new: <new>'")
    return _literal(m.group("old")), _literal(m.group("new"))


def _listify(v: Any) -> list[str]:
    if v is None or v == "":
        return []
    if isinstance(v, str):
        return [s.strip() for s in re.split(r",|\band\b", v) if s.strip()]
    return [str(x) if not isinstance(x, str) else x for x in v]


def _steps(v: Any) -> list[str]:
    if isinstance(v, str):
        v = re.sub(r"[‘`](\w+)[‘`]", r"`\1`", v)
        lines = [ln for ln in v.translate(_QUOTES).splitlines() if ln.strip()]
        numbered = [ln for ln in lines if _STEP_RE.match(ln)]
        return [_STEP_RE.sub("", ln).strip() for ln in (numbered or lines)]
    out = []
    for s in v or []:
        if isinstance(s, dict) and "operation" in s:
            out.append(f"{s['operation']}: {s['purpose']}" if s.get("purpose") else str(s["operation"]))
        else:
            out.append(s if isinstance(s, str) else json.dumps(s, ensure_ascii=False))
    return out


def normalize_mutation(m: Any) -> Any:
    if not isinstance(m, dict):
        return m
    m = dict(m)
    if "state_path" in m:
        m["state_path"] = state_path(m["state_path"])
    desc = m.pop("change_description", None)
    if desc is not None and not ("old" in m and "new" in m):
        m["old"], m["new"] = parse_change(desc)
    return m


def normalize_design(cd: Any) -> Any:
    if not isinstance(cd, dict):
        return cd
    cd = dict(cd)
    if "trigger_mechanism" in cd:
        mech = str(cd.pop("trigger_mechanism")).strip().lower()
        cd.setdefault("mode", _MODE_WORDS.get(mech, mech))
    if "recovery_guard_condition" in cd:
        cd.setdefault("recovery_guard", cd.pop("recovery_guard_condition") or "")
    if "observable_via" in cd:
        cd["observable_via"] = _listify(cd["observable_via"])
    if isinstance(cd.get("mutations"), list):
        cd["mutations"] = [normalize_mutation(m) for m in cd["mutations"]]
    return cd


def normalize_blueprint(bp: Any) -> Any:
    """A blueprint object (ours or the paper's names) -> ours (unknown keys are left for validation)."""
    if not isinstance(bp, dict):
        return bp
    bp = dict(bp)
    for k in ("normal_flow", "recovery_path"):
        if k in bp:
            bp[k] = _steps(bp[k])
    if "conflict_design" in bp:
        bp["conflict_design"] = normalize_design(bp["conflict_design"])
    for k in PAPER_BLUEPRINT_KEYS | {"conflict_type", "level", "user_profile"}:
        bp.pop(k, None)
    return bp


def normalize_blueprint_answer(d: Any) -> Any:
    """A stage-2 blueprint answer in our shape ``{scenario, blueprint}`` or the paper's flat one (possibly a
    one-element list) -> ``{scenario, blueprint, scenario_id?, env_id?, conflict_type?, level?}``."""
    if isinstance(d, list) and len(d) == 1 and isinstance(d[0], dict):
        d = d[0]
    if not isinstance(d, dict):
        return d
    if "blueprint" in d and isinstance(d["blueprint"], list) and len(d["blueprint"]) == 1:
        d = {**d, "blueprint": d["blueprint"][0]}
    flat = "blueprint" not in d and ("conflict_design" in d or "normal_flow" in d)
    inner = d if flat else d.get("blueprint")
    out: dict[str, Any] = {} if flat else {k: v for k, v in d.items() if k != "blueprint"}
    src = inner if isinstance(inner, dict) else {}
    for k in ("scenario_id", "env_id", "conflict_type"):
        if k in src and k not in out:
            out[k] = src[k]
    if "difficulty" in src or "level" in src:
        out.setdefault("level", src.get("level", src.get("difficulty")))
    if "user_goal" in out:
        out.setdefault("scenario", out.pop("user_goal"))
    if "difficulty" in out:
        out.setdefault("level", out.pop("difficulty"))
    if "user_goal" in src:
        out.setdefault("scenario", src["user_goal"])
    if isinstance(out.get("level"), str):
        out["level"] = out["level"].strip().lower()
    if isinstance(out.get("conflict_type"), str):
        out["conflict_type"] = out["conflict_type"].strip().upper()
    out["blueprint"] = normalize_blueprint(inner) if isinstance(inner, dict) else inner
    return out


def is_paper_blueprint(bp: Any) -> bool:
    """A blueprint written with any of the paper's names (or as the appendix's one-element list)."""
    if isinstance(bp, list):
        return len(bp) == 1 and isinstance(bp[0], dict)
    if not isinstance(bp, dict):
        return False
    raw_cd = bp.get("conflict_design")
    cd: dict = raw_cd if isinstance(raw_cd, dict) else {}
    raw_muts = cd.get("mutations")
    muts: list = raw_muts if isinstance(raw_muts, list) else []
    return bool(PAPER_BLUEPRINT_KEYS & set(bp) or PAPER_DESIGN_KEYS & set(cd) or isinstance(bp.get("recovery_path"), str)
                or isinstance(cd.get("observable_via"), str)
                or any(isinstance(m, dict) and "change_description" in m for m in muts)
                or any(isinstance(x, dict) for x in bp.get("normal_flow") or []))


def task_blueprint(bp: Any) -> tuple[Any, dict[str, Any]]:
    """A task's blueprint in the paper's form -> (ours, {scenario, scenario_id, env_id, conflict_type, level}
    where given). Ours passes through unchanged with no metadata."""
    if not is_paper_blueprint(bp):
        return bp, {}
    d = normalize_blueprint_answer(bp)
    if not isinstance(d, dict):
        return bp, {}
    meta = {k: d[k] for k in ("scenario", "scenario_id", "env_id", "conflict_type", "level") if d.get(k)}
    return d.get("blueprint"), meta


def to_paper_blueprint(scenario: str, blueprint: dict, *, scenario_id: str = "", env_id: str = "",
                       conflict_type: str = "", level: str = "") -> dict:
    """Our blueprint written with the paper's field names (the inverse of ``normalize_blueprint_answer``)."""
    cd = blueprint.get("conflict_design") or {}

    def flow(s: str) -> dict:
        op, sep, purpose = s.partition(": ")
        return {"operation": op, "purpose": purpose} if sep else {"operation": s, "purpose": ""}

    return {"scenario_id": scenario_id, "env_id": env_id, "conflict_type": conflict_type, "difficulty": level,
            "user_goal": scenario, "normal_flow": [flow(s) for s in blueprint.get("normal_flow") or []],
            "conflict_design": {
                "activation_operation": cd.get("activation_operation", ""),
                "trigger_mechanism": cd.get("mode", "always_once"),
                "trigger_condition": cd.get("trigger_condition", ""),
                "recovery_guard_condition": cd.get("recovery_guard", ""),
                "mutations": [{"state_path": m["state_path"],
                               "change_description": f"original: {json.dumps(m.get('old'), ensure_ascii=False)} → "
                                                     f"new: {json.dumps(m.get('new'), ensure_ascii=False)}"}
                              for m in cd.get("mutations") or []],
                "observable_via": ", ".join(cd.get("observable_via") or [])},
            "recovery_path": "\n".join(f"{i}. {s}" for i, s in enumerate(blueprint.get("recovery_path") or [], 1)),
            **({"impossibility_rationale": blueprint["impossibility_rationale"]}
               if blueprint.get("impossibility_rationale") else {})}


_PROFILE_EXTRA = ("fidelity_rules", "helpfulness_rules", "frustration_threshold", "flexibility")


def _facts(v: Any, prefix: str) -> Any:
    if isinstance(v, list):
        return {f"{prefix}_{i}": str(x) for i, x in enumerate(v, 1)}
    return v


def normalize_profile(p: Any) -> tuple[Any, dict]:
    """A user profile with the paper's names -> (ours, the paper fields we have no place for)."""
    if isinstance(p, list) and len(p) == 1 and isinstance(p[0], dict):
        p = p[0]
    if isinstance(p, dict) and isinstance(p.get("user_profile"), dict) and "goal" not in p:
        p = p["user_profile"]
    if not isinstance(p, dict):
        return p, {}
    p = dict(p)
    extra = {k: p.pop(k) for k in _PROFILE_EXTRA if k in p}
    if "task_goal" in p:
        p.setdefault("goal", p.pop("task_goal"))
    persona = p.pop("persona", None) or p.pop("persona_name", None)
    p.pop("persona_name", None)
    context = p.pop("context", None) or p.pop("persona_background", None)
    p.pop("persona_background", None)
    tone = p.pop("tone", None) or p.pop("communication_style", None)
    p.pop("communication_style", None)
    if persona is not None or context or tone:
        parts = [str(persona or "").strip(), str(context or "").strip(), f"Tone: {tone}".strip() if tone else ""]
        p["persona"] = " ".join(x for x in parts if x)
    facts = p.get("known_facts")
    prefs = p.pop("key_preferences", None)
    if facts is None and prefs is not None:
        facts = prefs
    if facts is not None:
        p["known_facts"] = _facts(facts, "fact")
    if "withhold_until_asked" in p:
        p.setdefault("withheld_facts", _facts(p.pop("withhold_until_asked"), "withheld"))
    elif isinstance(p.get("withheld_facts"), list):
        p["withheld_facts"] = _facts(p["withheld_facts"], "withheld")
    if "clarification_responses" in p:
        p.setdefault("clarifications", p.pop("clarification_responses"))
    if "decline_cancel_response" in p:
        refusal = p.pop("decline_cancel_response")
        p.setdefault("refusals", [refusal] if isinstance(refusal, str) else list(refusal or []))
    if "fallback_response" in p:
        p.setdefault("fallback_reply", p.pop("fallback_response"))
    return p, extra


def normalize_query_answer(d: Any) -> Any:
    """A stage-2 user-query answer whose profile may use the paper's names (or which is the paper's
    ``{scenario_id, user_profile}`` item, with the query given as ``query`` / ``user_query``)."""
    if isinstance(d, list) and len(d) == 1 and isinstance(d[0], dict):
        d = d[0]
    if not isinstance(d, dict):
        return d
    d = dict(d)
    if "query" not in d:
        for k in ("user_query", "initial_query", "instruction"):
            if k in d:
                d["query"] = d.pop(k)
                break
    if "user_profile" in d:
        prof, extra = normalize_profile(d["user_profile"])
        d["user_profile"] = prof
        if extra:
            d["profile_extra"] = extra
    return d
