"""An agent backed by any OpenAI-compatible chat model, on the Agent/Action/Observation interface.

The model sees the environment's tools plus ``chat_with_user`` as OpenAI function tools and keeps the
full message history (including ``reasoning_content`` when the server returns it). One tool call is
executed per turn: with ``multi_call="first"`` the first call runs and every other call of the same
reply gets a "not executed" tool message; with ``"all"`` the calls run one per turn, in order.
Model misbehaviour becomes an observation, never an exception: invalid JSON arguments and empty
replies come back as ``Action(kind="tool")`` whose ``note`` starts with ``NOT_EXECUTED`` (the
episode engine answers them with an error observation without touching the environment).
"""
from __future__ import annotations

import json
from typing import Any

from ..llm.client import LLMClient, ToolCall
from ..llm.encoding import EncodedList
from ..task.models import CHAT_WITH_USER, Task
from .base import Action, Agent, Observation

NOT_EXECUTED = "not executed: "
EMPTY_REPLY = ("your reply was empty (no tool call and no text). Call one tool, or reply to the user "
               "without a tool call to finish the task.")
EXTRA_CALL = ("Not executed: only one tool call per turn is executed (the first one of your reply). "
              "Call it again in a later turn if it is still needed.")

CHAT_TOOL = {"type": "function", "function": {
    "name": CHAT_WITH_USER,
    "description": "Send a message to the user (a question, or a proposal needing their approval) and get "
                   "their reply. Do not use it for the final answer: reply without a tool call to finish.",
    "parameters": {"type": "object", "properties": {"message": {"type": "string",
                                                                "description": "What to say to the user."}},
                   "required": ["message"]}}}


def clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n...[truncated {len(text) - limit} characters]"


def observation_text(content: Any, limit: int) -> str:
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, default=str)
    return clip(text, limit)


class OpenAIAgent(Agent):
    def __init__(self, client: LLMClient, *, multi_call: str = "first", keep_reasoning: bool = True,
                 max_observation_chars: int = 16000, seed: int | None = None):
        if multi_call not in ("first", "all"):
            raise ValueError(f"multi_call must be 'first' or 'all', not {multi_call!r}")
        self.client = client
        self.name = client.config.model
        self.multi_call = multi_call
        self.keep_reasoning = keep_reasoning
        self.max_observation_chars = max_observation_chars
        self.seed = seed
        self.messages: list[dict[str, Any]] = []

    def reset(self, task: Task, tools: list[dict], system_prompt: str, first_message: str) -> None:
        self.tools = EncodedList(tools)  # encoded once per episode, the history once per message
        self.messages = EncodedList([{"role": "system", "content": system_prompt},
                                     {"role": "user", "content": first_message}])
        self.pending: list[ToolCall] = []  # multi_call="all": calls of the last reply still to run
        self.awaiting: str | None = None  # id of the call whose result comes next
        self.skipped: list[str] = []  # ids answered with EXTRA_CALL after the awaited result

    # -- observations -------------------------------------------------------------------------
    def _observe(self, obs: Observation) -> None:
        text = observation_text(obs.content, self.max_observation_chars)
        if self.awaiting is not None:
            self.messages.append({"role": "tool", "tool_call_id": self.awaiting, "content": text})
            self.awaiting = None
            for cid in self.skipped:
                self.messages.append({"role": "tool", "tool_call_id": cid, "content": EXTRA_CALL})
            self.skipped = []
        else:  # an empty reply: nothing to attach a tool message to
            err = obs.content.get("error") if isinstance(obs.content, dict) else text
            self.messages.append({"role": "user", "content": f"[harness] {err}"})

    # -- actions --------------------------------------------------------------------------------
    def _action(self, tc: ToolCall, usage: dict, msg: dict | None, note: str | None = None) -> Action:
        self.awaiting = tc.id
        if tc.parse_error or tc.arguments is None:
            return Action(kind="tool", tool=tc.name, arguments={}, message=msg, usage=usage,
                          note=f"{NOT_EXECUTED}{tc.parse_error or 'invalid arguments'}; raw arguments: "
                               f"{clip(tc.arguments_raw, 300)!r}")
        if tc.name == CHAT_WITH_USER:
            args = tc.arguments
            text = args.get("message", args.get("content", ""))
            return Action(kind="chat", content=str(text), arguments=args, message=msg, usage=usage, note=note)
        return Action(kind="tool", tool=tc.name, arguments=tc.arguments, message=msg, usage=usage, note=note)

    async def step(self, observation: Observation | None) -> Action:
        if observation is not None:
            self._observe(observation)
        if self.pending:
            return self._action(self.pending.pop(0), {}, None)
        kw = {"seed": self.seed} if self.seed is not None else {}
        res = await self.client.chat(self.messages, tools=self.tools, **kw)
        msg = res.message_dict()
        if not self.keep_reasoning:
            msg.pop("reasoning_content", None)
        self.messages.append(msg)
        usage = {"prompt_tokens": res.usage.prompt_tokens, "completion_tokens": res.usage.completion_tokens,
                 "cost": res.cost, "latency_s": res.latency_s, "attempts": res.attempts,
                 "finish_reason": res.finish_reason}
        if res.tool_calls:
            first, rest = res.tool_calls[0], res.tool_calls[1:]
            note = None
            if rest and self.multi_call == "first":
                self.skipped = [tc.id for tc in rest]
                note = f"{len(rest)} extra tool call(s) in the same reply not executed: " + \
                       ", ".join(tc.name or "?" for tc in rest)
            elif rest:
                self.pending = list(rest)
            act = self._action(first, usage, msg, note)
            if act.note and act.note.startswith(NOT_EXECUTED) and rest and self.multi_call == "first":
                act.note += f"; {note}"
            return act
        content = (res.content or "").strip()
        if not content:
            self.awaiting = None
            return Action(kind="tool", tool="", message=msg, usage=usage, note=NOT_EXECUTED + EMPTY_REPLY)
        return Action(kind="final", content=content, message=msg, usage=usage)
