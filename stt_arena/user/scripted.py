"""A deterministic, rule-based user from the task's profile: no LLM needed.

Rules, in order, for each agent message:
1. a proposal matching a refused alternative gets a clear refusal;
2. a direct question (with ``?``) about a withheld fact reveals it (matched on the fact's key words or
   on words of the fact itself);
3. known facts and clarification topics the message mentions are answered;
4. a request for approval or confirmation is accepted ("Yes, please go ahead.");
5. a message that reports the work finished, without a question, ends the conversation (``done``);
6. otherwise the profile's fallback reply.
"""
from __future__ import annotations

import re

from ..task.models import Task
from .base import UserReply, UserSimulator

_STOP = set("""a an the and or but if of to in on at by for with from into onto over under is are was were be been
being do does did have has had i you he she it we they me my your our their this that these those there here
what which who whom whose when where why how can could would should shall will may might must not no yes
please ok okay any some all each other another more most less very just also than then so as about up out
its it's i'm you're let know like want need get got make sure one two""".split())
_CONFIRM = re.compile(r"\b(shall i|should i|do you want|would you like|is (?:that|this|it) (?:ok|okay|fine|alright)|"
                      r"ok(?:ay)? (?:to|with|for you)|confirm|proceed|go ahead|may i|can i|acceptable|"
                      r"works for you|would that work|is that fine|instead\?)", re.I)
_DONE = re.compile(r"\b(done|completed?|finished|booked|reserved|dispatched|scheduled|confirmed|all set)\b", re.I)


def _tokens(text: str) -> set[str]:
    out = set()
    for raw in re.findall(r"[A-Za-z0-9][A-Za-z0-9_\-:.]*[A-Za-z0-9]|[A-Za-z0-9]", text or ""):
        w = raw.lower()
        if w in _STOP:
            continue
        if len(w) >= 4 or any(c.isdigit() for c in w) or (raw.isupper() and len(raw) >= 2):
            out.add(w)
            out.update(p for p in re.split(r"[_\-]", w) if len(p) >= 4 and p not in _STOP)
    return out


def _key_tokens(key: str) -> set[str]:
    return {p for p in re.split(r"[_\-\s]+", key.lower()) if len(p) >= 3 and p not in _STOP}


class ScriptedUser(UserSimulator):
    name = "scripted"

    def reset(self, task: Task) -> None:
        self.profile = task.user_profile
        self.revealed: set[str] = set()

    def _refusal(self, words: set[str]) -> str | None:
        for r in self.profile.refusals:
            rt = _tokens(r)
            need = 1 if len(rt) <= 3 else 2
            if rt and len(rt & words) >= need:
                return r
        return None

    async def reply(self, message: str) -> UserReply:
        p = self.profile
        words = _tokens(message)
        question = "?" in message
        refused = self._refusal(words)
        if refused and (question or _CONFIRM.search(message)):
            return UserReply(f"No, I don't accept that ({refused}). Please find another way or tell me it "
                             f"can't be done.")
        answers: list[str] = []
        if question:
            for k, v in p.withheld_facts.items():
                if _key_tokens(k) & words or _tokens(v) & words - _tokens(p.goal):
                    answers.append(v)
                    self.revealed.add(k)
        for src in (p.clarifications, p.known_facts):
            for k, v in src.items():
                if (_key_tokens(k) & words) and v not in answers:
                    answers.append(v if src is p.clarifications else f"My {k.replace('_', ' ')} is {v}.")
        if answers:
            return UserReply(" ".join(answers))
        if _CONFIRM.search(message):
            return UserReply("Yes, please go ahead.")
        if not question and _DONE.search(message):
            return UserReply("Thank you, that's all I need.", done=True)
        return UserReply(p.fallback_reply or "I don't have more information on that.")
