"""Duplicate removal before export.

* **exact**: the same rendered conversation (system, turns, tools), whatever the source model or run;
* **near**: the same task and source failure mode, the same tool calls in the same order (names and
  arguments), and texts (thoughts, messages, final reply) whose word 3-shingles overlap by at least
  ``threshold`` (Jaccard) once numbers and whitespace are normalised.

In each group the best row is kept: passed first, then the fewest invalid turns and tool calls, then a
refined over an unchanged trajectory, then input order (deterministic).
"""
from __future__ import annotations

import hashlib
import json
import re

from ..analysis.detectors import FAILURE_MODES

_NUM = re.compile(r"\d+(?:[.:]\d+)*")
_WORD = re.compile(r"\w+")


def failure_mode(record: dict) -> str:
    modes = (record.get("refine") or {}).get("source_modes") or {}
    return next((m for m in FAILURE_MODES if modes.get(m)), "none")


def _calls(row: dict) -> tuple:
    return tuple(m["value"] for m in row["conversations"] if m["from"] == "function_call")


def _text(row: dict) -> str:
    parts = []
    for m in row["conversations"]:
        v = m["value"]
        if m["from"] == "function_call":
            v = re.sub(r"<tool_call>.*?</tool_call>", " ", v, flags=re.S) if "<tool_call>" in v else ""
        if m["from"] != "observation":
            parts.append(v)
    return " ".join(parts)


def _shingles(text: str, n: int = 3) -> set:
    words = _WORD.findall(_NUM.sub("0", text.lower()))
    return {tuple(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def _rank(record: dict, order: int) -> tuple:
    steps = record.get("steps") or []
    status = (record.get("refine") or {}).get("status")
    return (not record.get("passed"), sum(s.get("kind") == "invalid" for s in steps),
            sum(s.get("kind") == "tool" for s in steps), status != "refined", order)


def exact_key(row: dict) -> str:
    body = json.dumps([row["conversations"], row.get("system"), row.get("tools")], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def dedupe_records(pairs: list[tuple[dict, dict]], threshold: float = 0.8) -> tuple[list[int], dict[str, int]]:
    """``pairs``: (trajectory record, ShareGPT row). Returns the indices kept (input order) and counts."""
    order = sorted(range(len(pairs)), key=lambda i: _rank(pairs[i][0], i))
    kept: list[int] = []
    seen: dict[str, int] = {}
    near: dict[tuple, list[tuple[int, set]]] = {}
    counts = {"in": len(pairs), "exact": 0, "near": 0}
    for i in order:
        rec, row = pairs[i]
        key = exact_key(row)
        if key in seen:
            counts["exact"] += 1
            continue
        seen[key] = i
        group = (rec.get("task_id"), failure_mode(rec), _calls(row))
        sh = _shingles(_text(row))
        if any(len(sh & other) / max(1, len(sh | other)) >= threshold for _, other in near.get(group, [])):
            counts["near"] += 1
            continue
        near.setdefault(group, []).append((i, sh))
        kept.append(i)
    counts["kept"] = len(kept)
    return sorted(kept), counts
