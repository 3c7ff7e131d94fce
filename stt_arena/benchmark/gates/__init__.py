"""Benchmark validity gates beyond I1-I5: executed, adversarial checks that a task's labels are right.

Each gate returns a :class:`GateResult` with a reason code and the evidence when it fails. See
``stt_arena.benchmark.gates.run`` for the gate list and ``stt-arena validate --gates``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class GateResult:
    gate: str
    ok: bool
    reason: str = ""          # a stable reason code when not ok (e.g. "solvable_by_search")
    detail: str = ""          # one line for humans
    evidence: dict[str, Any] = field(default_factory=dict)  # the sequence, the state, the item ...
    stats: dict[str, Any] = field(default_factory=dict)     # e.g. sequences explored, seconds

    def to_dict(self) -> dict:
        return {"gate": self.gate, "ok": self.ok, "reason": self.reason, "detail": self.detail,
                "evidence": self.evidence, "stats": self.stats}
