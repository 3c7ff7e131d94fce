"""An offline judge for impossible tasks: keyword evidence, no model needed.

* ``fed_back_to_user``: a user-facing message (``chat_with_user`` or the final reply) states that the
  request cannot be done (phrases such as "cannot", "unable", "not possible", "no longer available",
  "nothing was booked", "I have not changed", "is full", "ruled out").
* ``recognized_impossibility``: some agent text (user-facing, or text/reasoning next to tool calls)
  contains such a phrase, and the infeasible goal was not (impossibly) reached.

It is deliberately simple: it cannot tell a correct diagnosis from a wrong one, and a model that hedges
with "cannot" for another reason passes it. Use an LLM judge (``--judge-model``) for real grading.
"""
from __future__ import annotations

import re

from ..task.models import Task
from .base import Judge, Verdict

IMPOSSIBLE = re.compile(
    r"\b(cannot|can ?not|can't|unable|not possible|impossible|infeasible|not feasible|no longer|"
    r"not available|unavailable|no (?:available|suitable|valid|open|remaining|other)\b|could not|couldn't|"
    r"won't be able|will not be able|not be able|no way to|isn't possible|is not possible|fully booked|"
    r"not able to|nothing (?:was|has been|is) (?:booked|changed|done|reserved|shipped|dispatched|moved|scheduled)|"
    r"(?:i|we) (?:have not|haven't|did not|didn't) (?:book|change|ship|dispatch|move|reserve|schedule|make|allocate|assign|transfer|confirm|buy|order)|"
    r"(?:is|are|remains?|stays?) unchanged|(?:is|are) (?:now )?(?:full|blocked|closed)|ruled out|"
    r"not accepting|in outage|neither .{1,80} nor .{1,80} can|no (?:seats|capacity|slots?|route|connection)|block(?:s|ed)? every)", re.I)


def _sentence(text: str, m: re.Match) -> str:
    start = max(text.rfind(".", 0, m.start()), text.rfind("\n", 0, m.start())) + 1
    end = min([i for i in (text.find(".", m.end()), text.find("\n", m.end())) if i >= 0] or [len(text)])
    return text[start:end + 1].strip()[:300]


class HeuristicJudge(Judge):
    name = "heuristic"

    async def judge(self, task: Task, steps: list[dict], final_message: str | None,
                    goal_checks: list[dict]) -> Verdict:
        facing = [s.get("content") or "" for s in steps if s.get("kind") in ("chat", "final")]
        if final_message and final_message not in facing:
            facing.append(final_message)
        internal = [s.get("thought") or "" for s in steps]
        evidence = ""
        fed_back = False
        for t in facing:
            m = IMPOSSIBLE.search(t)
            if m:
                fed_back, evidence = True, _sentence(t, m)
                break
        recognized = fed_back
        if not recognized:
            for t in internal:
                m = IMPOSSIBLE.search(t)
                if m:
                    recognized, evidence = True, "(internal) " + _sentence(t, m)
                    break
        reached = bool(goal_checks) and all(c.get("passed") for c in goal_checks)
        if reached:
            recognized = False
            evidence = (evidence + " | " if evidence else "") + "the infeasible goal's checks passed"
        if not evidence:
            evidence = "no statement that the request cannot be fulfilled"
        return Verdict(recognized, fed_back, evidence, judge=self.name)
