"""Parse a policy's raw text: Qwen-style ``<tool_call>{...}</tool_call>`` blocks, ``<think>`` blocks, or an
OpenAI ``tool_calls`` dict. Never raises: problems are reported in ``ParsedAction.error``."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_THINK = re.compile(r"<think>(.*?)</think>", re.S)
_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.S)
# end-of-turn tokens left in text decoded with skip_special_tokens=False (as ROLL's env managers decode)
_SPECIAL = re.compile(r"<\|(?:im_end|endoftext|im_start)\|>")


@dataclass
class ParsedAction:
    calls: list[dict[str, Any]] = field(default_factory=list)  # [{"name", "arguments"}]
    content: str = ""  # text outside think and tool-call blocks
    thought: str = ""
    error: str | None = None  # malformed tool call: the format penalty applies
    raw: str = ""  # the text without special tokens (what goes into the history)

    @property
    def is_final(self) -> bool:
        return not self.calls and self.error is None


def _call_from(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict) and "function" in obj:  # OpenAI tool_call entry
        obj = obj["function"]
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        raise ValueError("a tool call needs a string 'name'")
    args = obj.get("arguments", {})
    if isinstance(args, str):
        args = json.loads(args or "{}")
    if not isinstance(args, dict):
        raise ValueError("'arguments' must be a JSON object")
    return {"name": obj["name"], "arguments": args}


def parse_action(action: Any) -> ParsedAction:
    """Text (Qwen format) or an OpenAI assistant message dict with ``tool_calls``."""
    if isinstance(action, dict):
        out = ParsedAction(content=str(action.get("content") or ""),
                           thought=str(action.get("reasoning_content") or ""))
        try:
            out.calls = [_call_from(c) for c in action.get("tool_calls") or []]
        except (ValueError, json.JSONDecodeError) as e:
            out.error = f"malformed tool call: {e}"
        return out
    text = _SPECIAL.sub("", str(action or "")).strip()
    thought = "\n".join(m.strip() for m in _THINK.findall(text))
    body = _THINK.sub("", text)
    if "</think>" in body:  # the template opened <think> in the prompt: everything before it is thought
        pre, body = body.split("</think>", 1)
        thought = (thought + "\n" + pre).strip()
    out = ParsedAction(thought=thought, raw=text)
    blocks = _CALL.findall(body)
    out.content = _CALL.sub("", body).strip()
    for raw in blocks:
        try:
            out.calls.append(_call_from(json.loads(raw.strip())))
        except (ValueError, json.JSONDecodeError) as e:
            out.error = f"malformed <tool_call> block: {e}"
            break
    if not blocks and not out.content:
        out.error = "empty response"
    return out
