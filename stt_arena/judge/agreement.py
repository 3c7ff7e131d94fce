"""Agreement of a judge with a labelled set of impossible-task episodes (tests/fixtures/judge_labelled.jsonl).

A row: ``id``, ``task_id``, ``kind`` (the adversarial kind or a good kind), ``label`` (true: the episode
should pass), optional ``split`` (dev / heldout), ``steps`` (orchestrator-format steps) and ``final_message``. Positive = "passes".
"""
from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..task.models import Task
from .base import Judge, Verdict

REQUIRED = {"id": str, "task_id": str, "kind": str, "label": bool, "steps": list, "final_message": str}


class LabelledSetError(ValueError):
    pass


def load_labelled(path: str | Path, tasks: dict[str, Task]) -> list[dict]:
    """Rows of the labelled set; a bad row raises with the file, line and field."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except ValueError as e:
            raise LabelledSetError(f"{path}:{n}: invalid JSON: {e}") from None
        if not isinstance(r, dict):
            raise LabelledSetError(f"{path}:{n}: a row must be a JSON object")
        for k, t in REQUIRED.items():
            if not isinstance(r.get(k), t):
                raise LabelledSetError(f"{path}:{n}: field '{k}' must be {t.__name__}, got {r.get(k)!r:.60}")
        if r["task_id"] not in tasks:
            raise LabelledSetError(f"{path}:{n}: field 'task_id': unknown task {r['task_id']!r}")
        if not tasks[r["task_id"]].impossible:
            raise LabelledSetError(f"{path}:{n}: field 'task_id': {r['task_id']} is not an impossible task")
        rows.append(r)
    return rows


@dataclass
class Agreement:
    judge: str
    n: int = 0
    correct: int = 0
    confusion: dict[str, int] = field(default_factory=lambda: {"tp": 0, "fn": 0, "fp": 0, "tn": 0})
    per_kind: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # [agree, n]
    per_split: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    disagreements: list[dict] = field(default_factory=list)
    fallbacks: int = 0   # LLM verdicts that fell back to the heuristic (invalid output)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    def add(self, row: dict, v: Verdict) -> None:
        pred, label = v.passed, row["label"]
        self.n += 1
        self.correct += pred == label
        self.confusion[("t" if pred == label else "f") + ("p" if pred else "n")] += 1
        for k in (self.per_kind[row["kind"]], self.per_split[row.get("split", "-")]):
            k[0] += pred == label
            k[1] += 1
        if v.judge.startswith("heuristic (fallback"):
            self.fallbacks += 1
        if pred != label:
            self.disagreements.append({"id": row["id"], "label": label, "verdict": pred, "evidence": v.evidence[:300]})

    def to_dict(self) -> dict[str, Any]:
        return {"judge": self.judge, "n": self.n, "accuracy": round(self.accuracy, 4), "confusion": self.confusion,
                "per_kind": {k: {"agree": a, "n": n} for k, (a, n) in sorted(self.per_kind.items())},
                "per_split": {k: {"agree": a, "n": n} for k, (a, n) in sorted(self.per_split.items())},
                "fallbacks": self.fallbacks, "disagreements": self.disagreements}

    def render(self) -> str:
        c = self.confusion
        lines = [f"{self.judge}: accuracy {100 * self.accuracy:.1f}% ({self.correct}/{self.n})"
                 + (f", {self.fallbacks} invalid LLM verdicts graded by the heuristic" if self.fallbacks else ""),
                 "  confusion (label pass / fail x verdict pass / fail):",
                 f"    label pass: verdict pass {c['tp']:3d}  verdict fail {c['fn']:3d}",
                 f"    label fail: verdict pass {c['fp']:3d}  verdict fail {c['tn']:3d}",
                 "  per split (agree/n): " + ", ".join(f"{k} {a}/{n} ({100 * a / n:.1f}%)"
                                                       for k, (a, n) in sorted(self.per_split.items())),
                 "  per kind (agree/n): " + ", ".join(f"{k} {a}/{n}" for k, (a, n) in sorted(self.per_kind.items()))]
        lines += [f"  disagrees on {d['id']} (label {'pass' if d['label'] else 'fail'}): {d['evidence'][:160]}"
                  for d in self.disagreements]
        return "\n".join(lines)


async def measure(judge: Judge, rows: list[dict], tasks: dict[str, Task], concurrency: int = 4,
                  name: str | None = None) -> Agreement:
    """Run ``judge`` on every row (the infeasible goal taken as not reached) and count agreement."""
    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(r: dict) -> Verdict:
        async with sem:
            return await judge.judge(tasks[r["task_id"]], r["steps"], r["final_message"] or None,
                                     [{"id": "goal", "passed": False}])
    verdicts = await asyncio.gather(*(one(r) for r in rows))
    ag = Agreement(judge=name or judge.name)
    for r, v in zip(rows, verdicts):
        ag.add(r, v)
    return ag
