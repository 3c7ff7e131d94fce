"""The dataset card written beside ``dataset_info.json``: ``dataset_card.json`` (numbers) and ``README.md``.

Counts per conflict type, level, source failure mode, source model and refinement mode/status; duplicates
removed; turn and length percentiles. Lengths are in tokens when a local tokenizer is given (the full
conversation rendered with its chat template, ``enable_thinking=False``, tools included: what the
configured Qwen3 template trains on), else in characters (stated in the card).
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from .dedupe import failure_mode


def _pct(xs: list[int]) -> dict:
    if not xs:
        return {}
    xs = sorted(xs)
    at = lambda q: xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]  # noqa: E731 - nearest rank
    return {"min": xs[0], "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": xs[-1],
            "mean": round(sum(xs) / len(xs), 1)}


def _messages(record: dict) -> list[dict]:
    out = []
    for m in record.get("messages") or []:
        m = {k: v for k, v in m.items() if k in ("role", "content", "tool_calls", "tool_call_id")}
        for tc in m.get("tool_calls") or []:
            fn = tc.get("function") or {}
            if isinstance(fn.get("arguments"), str):
                try:
                    fn["arguments"] = json.loads(fn["arguments"] or "{}")
                except json.JSONDecodeError:
                    pass
        out.append(m)
    return out


def lengths(records: list[dict], rows: list[dict], tools_by_task: dict, tokenizer: str | None) -> tuple[str, list[int]]:
    if tokenizer:
        from transformers import AutoTokenizer  # the [sft] extra; a local directory (no download)
        tok = AutoTokenizer.from_pretrained(tokenizer, local_files_only=True)
        return "tokens", [len(tok.apply_chat_template(_messages(r), tools=tools_by_task.get(r.get("task_id")),
                                                      tokenize=True, enable_thinking=False, return_dict=False))
                          for r in records]
    return "characters", [sum(len(m["value"]) for m in row["conversations"]) + len(row.get("system") or "")
                          + len(row.get("tools") or "") for row in rows]


def card(records: list[dict], rows: list[dict], stats, tools_by_task: dict, tokenizer: str | None = None,
         template: dict | None = None) -> dict:
    ref = [r.get("refine") or {} for r in records]
    unit, lens = lengths(records, rows, tools_by_task, tokenizer)
    return {
        "conversations": len(rows),
        "step_rows": sum(sum(m["from"] in ("gpt", "function_call") for m in row["conversations"]) for row in rows),
        "records_in": stats.records, "skipped": stats.skipped, "duplicates_removed": stats.duplicates,
        "per_conflict_type": dict(sorted(Counter(r.get("conflict_type") for r in records).items())),
        "per_level": dict(sorted(Counter(r.get("level") for r in records).items())),
        "per_failure_mode": dict(sorted(Counter(failure_mode(r) for r in records).items())),
        "per_source_model": dict(sorted(Counter(x.get("source_model") or r.get("model") or "?"
                                                for x, r in zip(ref, records)).items())),
        "per_refinement": dict(sorted(Counter(f"{x.get('mode', 'none')}/{x.get('status', 'source')}"
                                              for x in ref).items())),
        "turns": _pct([len(row["conversations"]) for row in rows]),
        "length_unit": unit, "length": _pct(lens), "tokenizer": tokenizer,
        "template": template or {"template": "qwen3", "enable_thinking": False, "mask_history": True,
                                 "dataset": "sft_refine_steps"},
    }


def _table(title: str, counts: dict) -> str:
    return f"| {title} | rows |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in counts.items()) + "\n"


def write_card(root: Path, records: list[dict], rows: list[dict], stats, tools_by_task: dict,
               tokenizer: str | None = None, template: dict | None = None) -> list[str]:
    c = card(records, rows, stats, tools_by_task, tokenizer, template)
    (root / "dataset_card.json").write_text(json.dumps(c, indent=2) + "\n")
    d = c["duplicates_removed"]
    md = ("# STT-Arena SFT data (refined trajectories)\n\n"
          f"{c['conversations']} conversations ({c['step_rows']} per-turn rows in `sft_refine_steps`) from "
          f"{c['records_in']} trajectory records; skipped: {json.dumps(c['skipped'])}; duplicates removed: "
          f"{d.get('exact', 0)} exact, {d.get('near', 0)} near (best kept per task and failure mode).\n\n"
          f"Template: `{json.dumps(c['template'])}`. Lengths in {c['length_unit']}"
          + (f" (tokenizer `{tokenizer}`, chat template, enable_thinking=False)" if tokenizer else
             " (no tokenizer given: `stt-arena export-sft --tokenizer DIR` for token counts)")
          + f": {json.dumps(c['length'])}; turns per conversation: {json.dumps(c['turns'])}.\n\n"
          + _table("conflict type", c["per_conflict_type"]) + _table("level", c["per_level"])
          + _table("source failure mode", c["per_failure_mode"]) + _table("source model", c["per_source_model"])
          + _table("refinement (mode/status)", c["per_refinement"]))
    (root / "README.md").write_text(md)
    return [str(root / "dataset_card.json"), str(root / "README.md")]
