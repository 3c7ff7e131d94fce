"""Figures for refined trajectories and their SFT export: replay pass rate, rejections, duplicates removed,
and the communication checks (every changed value reported, every asked figure given, every withheld fact
relied on asked for first, every diagnosis naming its observation).

Usage: python scripts/refine_quality.py REFINE_OUT [SFT_OUT] [--tasks TASKS]
REFINE_OUT is an ``stt-arena refine`` output dir; SFT_OUT an ``stt-arena export-sft`` dir made from it.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from stt_arena.data import resolve_tasks
from stt_arena.export.dedupe import exact_key
from stt_arena.refine import narrative
from stt_arena.refine.rules import TaskInfo
from stt_arena.task.io import load_tasks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("refined", type=Path)
    ap.add_argument("sft", type=Path, nargs="?")
    ap.add_argument("--tasks", default=None, help="task file or benchmark version (default: the refine config's)")
    a = ap.parse_args()
    cfg = json.loads((a.refined / "config.json").read_text()).get("refine") or {}
    path = a.tasks or cfg.get("tasks_path")
    tasks = {t.task_id: t for t in load_tasks(resolve_tasks(path if path and Path(path).exists() or a.tasks else None))}
    stats = json.loads((a.refined / "stats.json").read_text())
    kept = [json.loads(x) for x in (a.refined / "results.jsonl").read_text().splitlines()]
    print(f"records in {stats['in']}, kept {stats['kept']} ({stats['refined']} refined, {stats['unchanged']} unchanged): "
          f"replay pass rate {stats['kept'] / max(1, stats['in']):.1%}; rejected {json.dumps(stats['rejected_by_reason'])}")
    bad: Counter = Counter()
    n_changes = n_asked = n_withheld = n_chat = 0
    for r in kept:
        task = tasks[r["task_id"]]
        mut = TaskInfo.of(task).mutating
        final = r["steps"][-1].get("content") or ""
        chg = narrative.changes(r, task, mut)
        n_changes += len(chg)
        bad["final omits a changed value"] += any(not all(v in final for v in c.values()) for c in chg)
        ask = narrative.asked(r, task)
        n_asked += len(ask)
        bad["final omits an asked figure"] += any(str(v) not in final for _, v in ask.values())
        uses = narrative.withheld_uses(r, task, mut)
        n_withheld += len(uses)
        bad["withheld fact used, not asked"] += bool(narrative.withheld_to_ask(r, task, mut))
        bad["diagnosis does not name the observation"] += bool(narrative.diagnosis_problems(r, mut))
        n_chat += any(s["kind"] == "chat" for s in r["steps"])
    print(f"kept records: {n_changes} changed values, {n_asked} asked figures, {n_withheld} withheld facts relied on, "
          f"{n_chat} records with a question to the user")
    for k in ("final omits a changed value", "final omits an asked figure", "withheld fact used, not asked",
              "diagnosis does not name the observation"):
        print(f"  {k}: {bad[k]} of {len(kept)}")
    finals = [r["steps"][-1].get("content") or "" for r in kept]
    notes = [s["thought"] for r in kept for s in r["steps"] if s.get("thought")]
    print(f"distinct final messages {len(set(finals))}/{len(finals)}; distinct thoughts {len(set(notes))}/{len(notes)}; "
          f"most common opening: {Counter(' '.join(f.split()[:3]) for f in finals).most_common(1)}")
    if a.sft:
        card = json.loads((a.sft / "dataset_card.json").read_text())
        rows = json.loads((a.sft / "sft_refine_sharegpt.json").read_text())
        keys = Counter(exact_key(r) for r in rows)
        print(f"exported {card['conversations']} conversations ({card['step_rows']} per-turn rows) from "
              f"{card['records_in']} records; duplicates removed {json.dumps(card['duplicates_removed'])}; "
              f"exact duplicates left in the export: {sum(v - 1 for v in keys.values())}")


if __name__ == "__main__":
    main()
