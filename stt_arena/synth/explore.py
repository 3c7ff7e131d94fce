"""The exploratory tester (stage 1): an LLM loop that calls the synthesized environment's tools in the
sandbox, reads the results, chooses the next call and finally reports broken or inconsistent behaviour.

The model gets the environment's tools plus ``report`` (its findings, which end the loop). Each tool call
costs one unit of ``budget``; when the budget is spent the model is asked for its report once more; turns
without a valid tool call are bounded too (at most ``2 * budget + 4`` turns in all). Calls
that crash the method or return a malformed result are findings too, whatever the model says.
Model misbehaviour (no tool call, unknown tools, bad arguments, an invalid report) is fed back to it as
the tool's result, never raised.
"""
from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from pydantic import ValidationError

from ..sandbox.executor import Executor, SandboxError
from .common import probe_task
from .llm import Synthesizer, load_examples, load_prompt, render
from .schemas import ExploreReport

_RUNTIME_RE = re.compile(r"^(?!bad arguments)[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b")
REPORT_TOOL = "report"


def classify(tool: str, args: dict, out: dict) -> tuple[str, str] | None:
    """A sandboxed call's outcome as a problem ``(code, text)``, or None when it behaved."""
    r = out.get("result")
    if out.get("sandbox_error"):
        return "failing_methods", f"{tool}({args}): {r.get('error') if isinstance(r, dict) else r}"
    if not isinstance(r, dict) or not isinstance(r.get("success"), bool):
        return "malformed_return", f"{tool}({args}): result has no boolean 'success': {str(r)[:200]}"
    if r["success"]:
        if "data" not in r and "message" not in r:
            return "malformed_return", f"{tool}({args}): success without 'data' or 'message'"
        if r.get("data") is None and not r.get("message"):
            return "empty_return", f"{tool}({args}): empty result"
        return None
    err = r.get("error")
    if not isinstance(err, str) or not err.strip():
        return "malformed_return", f"{tool}({args}): failure without an 'error' text"
    if _RUNTIME_RE.match(err):
        return "failing_methods", f"{tool}({args}): runtime error {err[:200]}"
    return None


def _openai_tools(tools: list[dict]) -> list[dict]:
    out = [{"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                             "parameters": t.get("parameters") or {"type": "object", "properties": {}}}}
           for t in tools]
    out.append({"type": "function", "function": {
        "name": REPORT_TOOL, "description": "End the exploration: report broken or inconsistent behaviour.",
        "parameters": ExploreReport.model_json_schema()}})
    return out


async def explore(syn: Synthesizer, executor: Executor, item: str, class_name: str, code: str, init_config: dict,
                  tools: list[dict], budget: int) -> list[dict]:
    """Run the tester; return findings ``{tool, severity, detail, by}`` (``by``: model | sandbox) plus one
    ``{"tool": "*", "severity": "minor", "detail": "calls: N ...", "by": "tester"}`` summary entry."""
    names = {t["name"] for t in tools}
    text = render(load_prompt("explore", syn.prompts_dir),
                  {"class_name": class_name, "tools": [{k: t.get(k) for k in ("name", "description", "mutating")}
                                                       for t in tools],
                   "init_config": init_config, "budget": budget, "code": code,
                   "examples": load_examples("explore", syn.prompts_dir)})
    messages: list[dict] = [{"role": "system", "content": syn._system_tools}, {"role": "user", "content": text}]
    otools = _openai_tools(tools)
    try:
        ep = await asyncio.to_thread(executor.open, probe_task(class_name, code, init_config))
    except SandboxError as e:
        return [{"tool": "*", "severity": "broken", "detail": f"init failed: {e}", "by": "sandbox"}]
    findings: list[dict] = []
    report: ExploreReport | None = None
    used = turns = 0
    try:
        while report is None and turns < 2 * budget + 4:  # wasted turns (no call, bad calls) are bounded too
            turns += 1
            final = used >= budget
            if final:
                messages.append({"role": "user", "content": "The call budget is spent: call `report` now."})
            turn = await syn.chat_tools(messages, otools, "explore", item)
            messages.append(turn["message"])
            if not turn["tool_calls"]:
                messages.append({"role": "user", "content": "Call one of the tools, or `report` when done."})
                continue
            for tc in turn["tool_calls"]:
                reply: Any
                if tc["name"] == REPORT_TOOL and tc["arguments"] is not None:
                    try:
                        report = ExploreReport.model_validate(tc["arguments"])
                        reply = {"ok": True}
                    except ValidationError as e:
                        reply = {"error": f"invalid report: {e.errors()[:3]}"}
                elif tc["error"]:
                    reply = {"error": tc["error"]}
                elif tc["name"] not in names:
                    reply = {"error": f"unknown tool {tc['name']!r}; tools: {sorted(names)} and {REPORT_TOOL}"}
                elif used >= budget:
                    reply = {"error": "call budget spent; call report"}
                else:
                    used += 1
                    if not ep.alive:
                        ep = await asyncio.to_thread(executor.open, probe_task(class_name, code, init_config))
                    out = await asyncio.to_thread(ep.call, tc["name"], tc["arguments"])
                    reply = out.get("result")
                    bad = classify(tc["name"], tc["arguments"], out)
                    if bad:
                        findings.append({"tool": tc["name"], "severity": "broken", "detail": bad[1], "by": "sandbox"})
                messages.append({"role": "tool", "tool_call_id": tc["id"],
                                 "content": json.dumps(reply, ensure_ascii=False, default=str)[:4000]})
            if final and report is None:
                break
    finally:
        ep.close()
    if report is not None:
        findings += [{**f.model_dump(), "by": "model"} for f in report.findings]
    findings.append({"tool": "*", "severity": "minor", "by": "tester",
                     "detail": f"calls: {used} of {budget}; turns: {turns}; "
                               f"report: {'yes' if report else 'none'}; {report.summary if report else ''}".strip()})
    return findings
