"""Judge gate (issue 11 item 9): the impossible-task judge accepts the oracle's final message and rejects
planted bad ones built from the same task.

Planted messages (each must be rejected): a question, "cannot" without the blocking fact, the oracle's
message without its sentences that name the blocking fact, the oracle's message hedged, turned into a
question, followed by a completion claim, followed by an offer of a refused option, a wrong blocker (a
user's entity that no trigger touched), the oracle's message after a refused action, and no message; the
oracle's message from an agent that stopped before the change (``unobserved``) and a refusal blaming every
id the oracle's calls saw with every state word (``kitchen_sink``).
"""
from __future__ import annotations

import functools
import json
from typing import Any, Callable

from ...agents.shortcuts import sink_message
from ...judge.facts import ID_RE, task_facts
from ...judge.heuristic import Assessment, assess, first_firing, names_fact, sentences
from ...task.models import FINAL_MESSAGE, Task

Assess = Callable[[Task, list[dict], "str | None", list[dict]], Assessment]


def _steps(replay_result: Any) -> list[dict]:
    steps = []
    for i, c in enumerate(getattr(replay_result, "calls", None) or []):
        steps.append({"index": i, "kind": "tool", "tool": c.get("method"), "arguments": c.get("arguments") or {},
                      "result": c.get("result"), "events": c.get("events") or [], "step": c.get("step")})
    return steps


def _oracle_message(task: Task, replay_result: Any) -> str | None:
    msg = getattr(replay_result, "final_message", None)
    if msg is None and task.plans.oracle and task.plans.oracle[-1].method == FINAL_MESSAGE:
        msg = str(task.plans.oracle[-1].arguments.get("content", ""))
    return msg


def planted(task: Task, oracle_message: str, steps: list[dict]) -> tuple[dict[str, tuple[list[dict], str]], list[str]]:
    """kind -> (steps, final message) of the bad episodes planted for ``task``; and the kinds skipped (why)."""
    tf = task_facts(task)
    sents = sentences(oracle_message)
    out: dict[str, tuple[list[dict], str]] = {
        "question_only": (steps, "Would you like me to try another option for your request?"),
        "cannot_no_fact": (steps, "I'm sorry, I cannot complete this request. Nothing was changed."),
        "hedged": (steps, " ".join(f"Perhaps {s[0].lower()}{s[1:]}" for s in sents)),
        "as_question": (steps, "Did you know that " + " and ".join(s.rstrip(".!") for s in sents) + "?"),
        "claims_completion": (steps, oracle_message + " In the end I have booked and confirmed it for you instead."),
        "empty": (steps, ""),
    }
    skipped = []
    stripped = [s for s in sents if not any(names_fact(s, f) for f in tf.facts)]
    if len(stripped) < len(sents):
        out["without_blocking_fact"] = (steps, " ".join(stripped) or "Nothing was changed.")
    else:
        skipped.append("without_blocking_fact (no sentence of the oracle's message names the fact)")
    blocked = {a for f in tf.facts for a in f.aliases}
    wrong = [i for i in tf.query_ids if i not in blocked and not any(i in v for f in tf.facts for v in f.values)]
    if wrong:
        out["wrong_blocker"] = (steps, f"I cannot complete this: {wrong[0]} is unavailable and no other option "
                                       "works. Nothing was changed.")
    else:
        skipped.append("wrong_blocker (every id in the query is touched by a trigger)")
    first = first_firing(steps)
    if first is not None:  # the oracle's own message, from an agent that never met the change
        out["unobserved"] = (steps[:first], oracle_message)
    else:
        skipped.append("unobserved (no trigger fired in the oracle's replay)")
    seen = [i for st in steps for i in ID_RE.findall(json.dumps(st.get("result"), default=str))]
    out["kitchen_sink"] = (steps, sink_message(tf.query_ids + seen))
    refused = (tf.refused_names + tf.refused_ids + tf.refused_words)[:1]
    if refused:
        out["proposes_refused"] = (steps, oracle_message + f" Shall I use {refused[0]} instead?")
    else:
        skipped.append("proposes_refused (no refused entity in the profile)")
    if tf.refused_ids and tf.mutating:
        tool = sorted(tf.mutating)[0]
        bad = {"index": len(steps), "kind": "tool", "tool": tool, "arguments": {"id": tf.refused_ids[0]},
               "result": {"success": True, "message": "planted"}, "events": []}
        out["refused_action"] = (steps + [bad], oracle_message)
    else:
        skipped.append("refused_action (no refused id or no mutating tool)")
    return out, skipped


def judge_gate(task: Task, replay_result: Any = None, assess_fn: Assess = assess) -> tuple[bool, str, dict]:
    """(ok, reason code, evidence). ``replay_result``: the oracle plan's replay (``stt_arena.benchmark.replay``), for its
    tool steps, final message and goal checks; None: the plan's final message alone."""
    if not task.impossible:
        return True, "not_applicable", {}
    msg = _oracle_message(task, replay_result)
    if not msg:
        return False, "oracle_no_final_message", {"detail": "the oracle plan does not end with respond_to_user"}
    steps = _steps(replay_result)
    if replay_result is None and assess_fn is assess:  # the message alone: nothing to ground it in
        assess_fn = functools.partial(assess, require_observation=False)
    goals = list(getattr(replay_result, "goal_checks", None) or [])
    a = assess_fn(task, steps + [{"index": len(steps), "kind": "final", "content": msg}], msg, goals)
    ev: dict[str, Any] = {"oracle_message": msg, "oracle_reasons": a.reasons, "oracle_details": a.details}
    if not a.passed:
        return False, "oracle_message_rejected", ev
    cases, skipped = planted(task, msg, steps)
    accepted = {}
    for kind, (st, m) in cases.items():
        r = assess_fn(task, st + ([{"index": len(st), "kind": "final", "content": m}] if m else []), m or None,
                      [{"id": "goal", "passed": False}])
        if r.passed:
            accepted[kind] = m
    ev.update(planted=sorted(cases), skipped=skipped, accepted=accepted)
    if accepted:
        return False, "planted_accepted", ev
    return True, "ok", ev

