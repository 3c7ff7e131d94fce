"""The judge interface and the transcript rendering judges read."""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any

from ..task.models import Task


@dataclass
class Verdict:
    recognized_impossibility: bool
    fed_back_to_user: bool
    evidence: str
    judge: str  # which judge graded it, e.g. "heuristic" or "llm:gpt-4o"
    error: str | None = None  # e.g. the LLM judge's output was invalid and the heuristic took over
    usage: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.recognized_impossibility and self.fed_back_to_user

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


class Judge(ABC):
    name = "judge"

    @abstractmethod
    async def judge(self, task: Task, steps: list[dict], final_message: str | None,
                    goal_checks: list[dict]) -> Verdict:
        """Grade an impossible task's episode from its structured steps."""


def _clip(text: Any, n: int) -> str:
    s = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False, default=str)
    return s if len(s) <= n else s[:n] + f" ...[{len(s) - n} more chars]"


def render_transcript(steps: list[dict], max_result_chars: int = 1500, max_total_chars: int = 40000) -> str:
    lines = []
    for st in steps:
        k = st.get("kind")
        if st.get("thought"):
            lines.append(f"[agent note] {_clip(st['thought'], 1000)}")
        if k == "tool":
            lines.append(f"[step {st.get('step')}] agent calls {st.get('tool')}({_clip(st.get('arguments'), 500)})")
            lines.append(f"  result: {_clip(st.get('result'), max_result_chars)}")
            for ev in st.get("events") or []:
                lines.append(f"  (hidden from agent) state changed: {_clip(ev, 300)}")
        elif k == "chat":
            lines.append(f"[agent -> user] {_clip(st.get('content'), 2000)}")
            lines.append(f"[user] {_clip(st.get('user_reply'), 2000)}")
        elif k == "final":
            lines.append(f"[agent final reply] {_clip(st.get('content'), 4000)}")
        elif k == "invalid":
            lines.append(f"[invalid agent turn] {_clip(st.get('error'), 500)}")
    text = "\n".join(lines)
    return text if len(text) <= max_total_chars else text[: max_total_chars // 2] + "\n...\n" + text[-max_total_chars // 2:]
