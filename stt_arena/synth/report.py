"""`stt-arena synth report DIR`: yield and cost of a synthesis run from the files its stages wrote.

Reads every ``*.stats.json`` in DIR (stage 1, 2, 3 in that order) and the ``*.attempts.jsonl`` next to it.
Figures: per stage items in / kept / rejected by reason, LLM requests sent and answers served from the cache
(by an earlier run, or a repeat within this one) and their tokens, repair turns and the share of repaired calls that then validated, wall time; for the whole run the
requests and tokens per kept final task and the yield per seed source (seeds in -> tasks out).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from ..util.console import console

_ORDER = {"stage1": 1, "stage2": 2, "stage3": 3}


def _attempts(stats_file: Path) -> list[dict]:
    p = stats_file.with_name(stats_file.name[: -len(".stats.json")] + ".attempts.jsonl")
    if not p.is_file():
        return []
    out = []
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _repair_rate(attempts: list[dict]) -> dict[str, Any]:
    """Repair turns answered per reason and how many of those answers validated."""
    by: dict[str, dict[str, int]] = {}
    for a in attempts:
        r = a.get("answers_repair")
        if r:
            d = by.setdefault(r, {"answered": 0, "ok": 0})
            d["answered"] += 1
            d["ok"] += bool(a.get("ok"))
    total = sum(d["answered"] for d in by.values())
    ok = sum(d["ok"] for d in by.values())
    return {"answered": total, "ok": ok, "rate": (ok / total) if total else None, "by_reason": by}


def build_report(folder: Path | str) -> dict[str, Any]:
    folder = Path(folder)
    stages = []
    for f in sorted(folder.glob("*.stats.json")):
        try:
            d = json.loads(f.read_text(encoding="utf-8"))
        except ValueError as e:
            raise ValueError(f"{f}: not JSON ({e})") from None
        if not isinstance(d, dict) or "stage" not in d:
            continue
        llm = d.get("llm") or {}
        att = _attempts(f)
        tokens = int(llm.get("prompt_tokens") or 0) + int(llm.get("completion_tokens") or 0)
        stages.append({"file": f.name, "stage": d["stage"], "in": d.get("in", 0), "kept": d.get("kept", 0),
                       "rejected": d.get("rejected") or {}, "requests": int(llm.get("requests") or 0),
                       "cached": int(llm.get("cached") or 0), "tokens": tokens,
                       "cached_tokens": int(llm.get("cached_tokens") or 0),
                       "repairs": int(llm.get("repairs") or 0), "repair": _repair_rate(att),
                       "time_s": d.get("time_s"), "by_source": d.get("by_source") or {}})
    stages.sort(key=lambda s: (_ORDER.get(s["stage"], 9), s["file"]))
    final = next((s for s in reversed(stages) if s["stage"] == "stage3"), stages[-1] if stages else None)
    calls = sum(s["requests"] for s in stages)  # requests sent by these runs
    cached = sum(s["cached"] for s in stages)  # answers from the cache (an earlier run, or a repeat in this one)
    tokens = sum(s["tokens"] for s in stages)
    cached_tokens = sum(s["cached_tokens"] for s in stages)
    kept = final["kept"] if final else 0
    first = next((s for s in stages if s["stage"] == "stage1"), None)
    sources: dict[str, dict[str, Any]] = {}
    for src, d in ((first or {}).get("by_source") or {}).items():
        sources.setdefault(src, {})["seeds"] = d.get("in", 0)
        sources[src]["envs"] = d.get("kept", 0)
    for src, d in ((final or {}).get("by_source") or {}).items() if final and final["stage"] == "stage3" else []:
        sources.setdefault(src, {})["tasks"] = d.get("kept", 0)
    for d in sources.values():
        d.setdefault("seeds", 0)
        d.setdefault("tasks", 0)
        d["tasks_per_seed"] = (d["tasks"] / d["seeds"]) if d["seeds"] else None
    rep_all = [s["repair"] for s in stages]
    answered = sum(r["answered"] for r in rep_all)
    ok = sum(r["ok"] for r in rep_all)
    return {"folder": str(folder), "stages": stages, "kept_tasks": kept, "llm_calls": calls, "tokens": tokens,
            "cached_answers": cached, "cached_tokens": cached_tokens,
            "calls_per_kept_task": (calls / kept) if kept else None,
            "tokens_per_kept_task": (tokens / kept) if kept else None,
            "calls_per_kept_task_with_cache": ((calls + cached) / kept) if kept else None,
            "repair_success_rate": (ok / answered) if answered else None, "repairs_answered": answered,
            "time_s": sum(s["time_s"] or 0 for s in stages), "by_source": sources}


def _f(x: Any, nd: int = 1) -> str:
    return "-" if x is None else (f"{x:.{nd}f}" if isinstance(x, float) else str(x))


def print_report(rep: dict[str, Any]) -> None:
    t = Table(title=f"synthesis run {rep['folder']}")
    for col in ("stage", "in", "kept", "rejected (by reason)", "LLM calls (cached)", "tokens (cached)", "repairs ok/answered",
                "time s"):
        t.add_column(col)
    for s in rep["stages"]:
        rej = ", ".join(f"{k} {v}" for k, v in sorted(s["rejected"].items(), key=lambda kv: -kv[1])) or "-"
        r = s["repair"]
        t.add_row(s["stage"], str(s["in"]), str(s["kept"]), rej, f"{s['requests']} ({s['cached']})",
                  f"{s['tokens']} ({s['cached_tokens']})", f"{r['ok']}/{r['answered']}", _f(s["time_s"]))
    console.print(t)
    console.print(f"kept tasks: {rep['kept_tasks']}; LLM calls per kept task: {_f(rep['calls_per_kept_task'])} sent "
                  f"({_f(rep['calls_per_kept_task_with_cache'])} with cached answers); "
                  f"tokens per kept task: {_f(rep['tokens_per_kept_task'], 0)}; repair success rate: "
                  f"{_f(rep['repair_success_rate'] * 100 if rep['repair_success_rate'] is not None else None)}% "
                  f"of {rep['repairs_answered']} repair answers; time {_f(float(rep['time_s']))} s")
    if rep["by_source"]:
        ts = Table(title="yield per seed source")
        for col in ("source", "seeds", "envs", "tasks", "tasks per seed"):
            ts.add_column(col)
        for src, d in sorted(rep["by_source"].items()):
            ts.add_row(src, str(d["seeds"]), str(d.get("envs", "-")), str(d["tasks"]), _f(d["tasks_per_seed"], 2))
        console.print(ts)
