"""An LLM judge for impossible tasks, with pydantic-validated JSON output.

The reply must be a JSON object ``{recognized_impossibility, fed_back_to_user, evidence}`` (a fenced
or embedded object is accepted). An invalid reply is retried once with the validation error; if it is
still invalid the heuristic judge grades the episode and the verdict records why.
"""
from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, ValidationError

from ..prompts import load_prompt
from ..llm.client import LLMClient
from ..task.models import Task
from .base import Judge, Verdict, render_transcript
from .facts import ID_RE, index_config, record_names
from .heuristic import HeuristicJudge


class JudgeOutput(BaseModel):
    model_config = ConfigDict(extra="ignore")
    recognized_impossibility: bool
    fed_back_to_user: bool
    evidence: str = ""


def parse_output(text: str) -> JudgeOutput:
    text = (text or "").strip()
    m = re.search(r"\{.*\}", text, re.S)
    if not m:
        raise ValueError("no JSON object in the judge's reply")
    try:
        obj = json.loads(m.group(0))
    except ValueError as e:
        raise ValueError(f"invalid JSON in the judge's reply: {e}") from None
    try:
        return JudgeOutput.model_validate(obj)
    except ValidationError as e:
        raise ValueError("judge reply does not match the schema: " + "; ".join(
            f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())) from None


def render_blocking_facts(task: Task) -> str:
    """The triggers' effects as lines for the judge: state changes (with the entities' names), clock jumps,
    disabled tools."""
    idx = index_config(task.environment.init_config or {})
    lines = []
    for tr in task.triggers:
        when = f"when the agent calls {tr.activation.tool}" + (f" and {tr.condition}" if tr.condition else "")
        for m in tr.effects.mutations:
            ids = dict.fromkeys(ID_RE.findall(m.state_path + " " + json.dumps(m.new)))
            who = [f"{i} = {', '.join(record_names(idx, i))}" for i in ids if record_names(idx, i)]
            lines.append(f"- {m.state_path}: {json.dumps(m.old)} -> {json.dumps(m.new)}"
                         + (f" ({'; '.join(who)})" if who else "") + f" [{when}]")
        if tr.effects.advance_clock_minutes:
            lines.append(f"- the clock jumps {tr.effects.advance_clock_minutes:g} minutes [{when}]")
        for tool in tr.effects.disable_tools:
            lines.append(f"- tool {tool} stops working [{when}]")
    return "\n".join(lines) or "- (none recorded)"


def _goal(task: Task) -> str:
    items = [g.description for g in task.infeasible_goal if g.description]
    return "; ".join(([task.user_profile.goal] if task.user_profile.goal else []) + items) or "(not given)"


class LLMJudge(Judge):
    def __init__(self, client: LLMClient, prompt_path=None, json_mode: bool = True):
        self.client = client
        self.template = load_prompt("judge_impossible", prompt_path)
        self.name = f"llm:{client.config.model}"
        self.json_mode = json_mode

    async def judge(self, task: Task, steps: list[dict], final_message: str | None,
                    goal_checks: list[dict]) -> Verdict:
        prompt = self.template.format(
            rationale=task.blueprint.impossibility_rationale or "(not given)", query=task.query,
            blocking_facts=render_blocking_facts(task), goal=_goal(task),
            refusals="\n".join(f"- {r}" for r in task.user_profile.refusals) or "- (none)",
            transcript=render_transcript(steps), final_message=final_message or "(no final message)")
        messages = [{"role": "user", "content": prompt}]
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0}
        err = None
        for _ in range(2):
            res = await self.client.chat(messages, temperature=0.0,
                                         response_format={"type": "json_object"} if self.json_mode else None)
            usage["prompt_tokens"] += res.usage.prompt_tokens
            usage["completion_tokens"] += res.usage.completion_tokens
            usage["cost"] += res.cost
            try:
                out = parse_output(res.content or "")
                return Verdict(out.recognized_impossibility, out.fed_back_to_user, out.evidence[:1000],
                               judge=self.name, usage=usage)
            except ValueError as e:
                err = str(e)
                messages += [{"role": "assistant", "content": res.content or ""},
                             {"role": "user", "content": f"{err}. Reply with only the JSON object."}]
        v = await HeuristicJudge(require_alternatives=True).judge(task, steps, final_message, goal_checks)
        v.judge = f"heuristic (fallback from {self.name})"
        v.error = err
        v.usage = usage
        return v
