"""The Inspect model behind our interfaces: ``InspectAgent`` (the ``Agent`` the episode engine drives, one
tool call executed per turn, exactly as ``agents.llm.OpenAIAgent`` with ``multi_call="first"``) and
``InspectChat`` (the ``LLMClient.chat`` subset the LLM user simulator and the LLM judge call), so that
Inspect's providers, retries, model roles and logs serve every role of the episode."""
from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from inspect_ai.model import (ChatMessage, ChatMessageAssistant, ChatMessageSystem, ChatMessageTool,
                              ChatMessageUser, GenerateConfig, Model, ModelOutput)
from inspect_ai.tool import ToolInfo, ToolParams
from inspect_ai.util import LimitExceededError

from ..agents.base import Action, Agent, Observation
from ..agents.llm import EMPTY_REPLY, EXTRA_CALL, NOT_EXECUTED, clip, observation_text
from ..llm.client import ChatResult, LLMError, TokenUsage
from ..task.models import CHAT_WITH_USER, Task

_FINISH = {"max_tokens": "length", "model_length": "length", "tool_calls": "tool_calls", "stop": "stop",
           "content_filter": "content_filter"}


def tool_infos(tools: list[dict]) -> list[ToolInfo]:
    """Our OpenAI tool schemas as Inspect ``ToolInfo`` (the model sees the same tools as in ``eval``)."""
    out = []
    for t in tools:
        f = t["function"]
        out.append(ToolInfo(name=f["name"], description=f.get("description") or f["name"],
                            parameters=ToolParams.model_validate(f.get("parameters") or {"type": "object"})))
    return out


def _usage(out: ModelOutput) -> dict[str, Any]:
    u = out.usage
    return {"prompt_tokens": u.input_tokens if u else 0, "completion_tokens": u.output_tokens if u else 0,
            "cost": (u.total_cost or 0.0) if u else 0.0, "latency_s": out.time,
            "finish_reason": _FINISH.get(out.stop_reason, out.stop_reason)}


def _openai_msg(msg: ChatMessageAssistant) -> dict[str, Any]:
    d: dict[str, Any] = {"role": "assistant", "content": msg.text or ""}
    if msg.tool_calls:
        d["tool_calls"] = [{"id": tc.id, "type": "function",
                            "function": {"name": tc.function, "arguments": json.dumps(tc.arguments)}}
                           for tc in msg.tool_calls]
    return d


class InspectAgent(Agent):
    """One Inspect ``generate`` per turn. ``chat`` is the Inspect conversation (the sample's messages in
    ``inspect view``); ``messages`` its OpenAI form (the trajectory record's transcript)."""

    def __init__(self, model: Model, config: GenerateConfig | None = None, max_observation_chars: int = 16000):
        self.model, self.config = model, config or GenerateConfig()
        self.name = str(model)
        self.max_observation_chars = max_observation_chars
        self.last_output: ModelOutput | None = None

    def reset(self, task: Task, tools: list[dict], system_prompt: str, first_message: str) -> None:
        self.tools = tool_infos(tools)
        self.chat: list[ChatMessage] = [ChatMessageSystem(content=system_prompt), ChatMessageUser(content=first_message)]
        self.messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt},
                                               {"role": "user", "content": first_message}]
        self.awaiting: tuple[str, str] | None = None  # (call id, tool) whose result comes next
        self.skipped: list[tuple[str, str]] = []  # extra calls of the last reply, answered EXTRA_CALL

    def _tool_msg(self, cid: str, fn: str, text: str) -> None:
        self.chat.append(ChatMessageTool(content=text, tool_call_id=cid, function=fn))
        self.messages.append({"role": "tool", "tool_call_id": cid, "content": text})

    def _observe(self, obs: Observation) -> None:
        text = observation_text(obs.content, self.max_observation_chars)
        if self.awaiting is not None:
            self._tool_msg(*self.awaiting, text)
            for cid, fn in self.skipped:
                self._tool_msg(cid, fn, EXTRA_CALL)
            self.awaiting, self.skipped = None, []
        else:  # an empty reply: nothing to attach a tool message to
            err = obs.content.get("error") if isinstance(obs.content, dict) else text
            self.chat.append(ChatMessageUser(content=f"[harness] {err}"))
            self.messages.append({"role": "user", "content": f"[harness] {err}"})

    def _stop(self, why: str) -> LLMError:
        """The agent cannot go on (``run_episode`` ends the episode as ``agent_error`` and grades it)."""
        return LLMError(why, model=self.name, base_url=None, status_code=400, cause="agent_limit")

    async def step(self, observation: Observation | None) -> Action:
        if observation is not None:
            self._observe(observation)
        try:
            out = await self.model.generate(self.chat, tools=self.tools, tool_choice="auto", config=self.config)
        except LimitExceededError as e:  # Inspect's token/message/time limits: the agent's budget is spent
            raise self._stop(f"Inspect {e.type} limit exceeded: {e}") from e
        self.last_output = out
        if out.stop_reason == "model_length":  # the context overflowed: as an HTTP 400 in ``stt-arena eval``
            raise self._stop(f"the model's context length was exceeded: {out.completion[:300]}")
        msg = out.message
        self.chat.append(msg)
        om = _openai_msg(msg)
        self.messages.append(om)
        usage = _usage(out)
        calls = msg.tool_calls or []
        if calls:
            first, rest = calls[0], calls[1:]
            self.awaiting = (first.id, first.function)
            self.skipped = [(tc.id, tc.function) for tc in rest]
            note = (f"{len(rest)} extra tool call(s) in the same reply not executed: "
                    + ", ".join(tc.function or "?" for tc in rest)) if rest else None
            if first.parse_error:
                raw = json.dumps(first.arguments) if first.arguments else ""
                bad = f"{NOT_EXECUTED}{first.parse_error}; raw arguments: {clip(raw, 300)!r}"
                return Action(kind="tool", tool=first.function, arguments={}, message=om, usage=usage,
                              note=bad + (f"; {note}" if note else ""))
            args = dict(first.arguments or {})
            if first.function == CHAT_WITH_USER:
                text = args.get("message", args.get("content", ""))
                return Action(kind="chat", content=str(text), arguments=args, message=om, usage=usage, note=note)
            return Action(kind="tool", tool=first.function, arguments=args, message=om, usage=usage, note=note)
        content = (msg.text or "").strip()
        if not content:
            return Action(kind="tool", tool="", message=om, usage=usage, note=NOT_EXECUTED + EMPTY_REPLY)
        return Action(kind="final", content=content, message=om, usage=usage)


class InspectChat:
    """``LLMClient.chat`` on an Inspect model (a model role such as ``user`` or ``judge``)."""

    def __init__(self, model: Model):
        self.model = model
        self.config = SimpleNamespace(model=str(model))

    async def chat(self, messages: list[dict], temperature: float | None = None, seed: int | None = None,
                   response_format: dict | None = None, **_: Any) -> ChatResult:
        kinds = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}
        chat = [kinds[m["role"]](content=m.get("content") or "") for m in messages]
        cfg = GenerateConfig(temperature=temperature, seed=seed)
        out = await self.model.generate(chat, config=cfg)
        u = _usage(out)
        return ChatResult(content=out.completion or "", finish_reason=u["finish_reason"],
                          usage=TokenUsage(prompt_tokens=u["prompt_tokens"], completion_tokens=u["completion_tokens"]),
                          cost=u["cost"])
