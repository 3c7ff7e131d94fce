"""The LLM rewrite mode: any OpenAI-compatible endpoint rewrites the trajectory in three sequential stages
(diagnosis, state refresh, verification; prompts in ``stt_arena/prompts/refine/*.md`` or a directory given
with ``--prompts``), each output replayed before the next stage, plus up to ``repair_rounds`` repair rounds
fed with the replay's failures. The model only proposes calls and text; results always come from the replay.
"""
from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis.detectors import analyze_record
from ..judge.base import render_transcript
from ..llm.client import LLMClient, LLMError
from ..task.models import CHAT_WITH_USER, Task
from . import narrative
from .rules import TaskInfo

if TYPE_CHECKING:
    from .pipeline import Outcome, Refiner

STAGE_NAMES = ("diagnosis", "refresh", "verification")


class RewriteError(ValueError):
    pass


def load_refine_prompt(name: str, prompt_dir: str | Path | None = None) -> str:
    if prompt_dir:
        p = Path(prompt_dir) / f"{name}.md"
        if p.exists():
            return p.read_text(encoding="utf-8")
    return resources.files("stt_arena").joinpath(f"prompts/refine/{name}.md").read_text(encoding="utf-8")


def parse_steps(text: str, info: TaskInfo) -> list[dict]:
    """The model's JSON reply -> blocks; unknown tools, bad arguments or a missing final raise RewriteError."""
    m = re.search(r"\{.*\}", text or "", re.S)
    if not m:
        raise RewriteError("no JSON object in the reply")
    try:
        obj = json.loads(m.group(0))
    except json.JSONDecodeError as e:
        raise RewriteError(f"invalid JSON: {e}") from None
    steps = obj.get("steps") if isinstance(obj, dict) else None
    if not isinstance(steps, list) or not steps:
        raise RewriteError("the reply has no 'steps' list")
    blocks: list[dict[str, Any]] = []
    for i, st in enumerate(steps):
        if not isinstance(st, dict):
            raise RewriteError(f"step {i} is not an object")
        thought = str(st.get("thought") or "").strip()
        if "final" in st:
            blocks.append({"kind": "final", "content": str(st["final"]), "thought": thought, "origin": "refine:llm"})
            break
        tool = st.get("tool")
        args = st.get("arguments", {})
        if tool == CHAT_WITH_USER:
            blocks.append({"kind": "chat", "content": str((args or {}).get("message", "")), "thought": thought,
                           "origin": "refine:llm"})
            continue
        if tool not in info.specs:
            raise RewriteError(f"step {i}: unknown tool {tool!r}")
        if not isinstance(args, dict):
            raise RewriteError(f"step {i}: arguments must be an object")
        blocks.append({"kind": "tool", "tool": tool, "arguments": args, "thought": thought, "origin": "refine:llm"})
    if blocks[-1]["kind"] != "final" or not blocks[-1]["content"].strip():
        raise RewriteError("the last step must be a non-empty 'final' reply")
    return blocks


def _tools_text(info: TaskInfo) -> str:
    return "\n".join(f"- {n}{' (changes state)' if s.mutating else ' (query)'}: {s.description} "
                     f"parameters={json.dumps(s.parameters.get('properties', {}))}" for n, s in info.specs.items())


def context(task: Task, info: TaskInfo, record: dict) -> str:
    a = analyze_record(record, task)
    findings = "\n".join(f"- {f['mode']}/{f['kind']} at step {f['index']}: {f['detail']}" for f in a["findings"]) \
        or "- none"
    bad = [c for c in (record.get("grade") or {}).get("items") or [] if not c.get("passed")]
    checks = "\n".join(f"- {c['id']} ({c.get('kind')}): {c.get('description', '')}" for c in bad) or "- none"
    return (f"User request:\n{task.query}\n\nTools:\n{_tools_text(info)}\n\n"
            f"Current trajectory (results from the real environment; lines marked hidden were not visible to "
            f"the agent):\n{render_transcript(record.get('steps') or [])}\n\nDetected failure modes:\n{findings}\n\n"
            f"Unmet success criteria:\n{checks}\n\n"
            + ("This task cannot be completed as asked: the right outcome is to recognise that and tell the user.\n"
               if task.impossible else ""))


class LLMRewriter:
    def __init__(self, client: LLMClient, prompt_dir: str | Path | None = None, repair_rounds: int = 1,
                 temperature: float = 0.0):
        self.client = client
        self.prompt_dir = prompt_dir
        self.system = load_refine_prompt("system", prompt_dir)
        self.templates = {n: load_refine_prompt(n, prompt_dir) for n in (*STAGE_NAMES, "repair")}
        self.repair_rounds = repair_rounds
        self.temperature = temperature

    async def _ask(self, prompt: str, info: TaskInfo) -> list[dict]:
        messages = [{"role": "system", "content": self.system}, {"role": "user", "content": prompt}]
        res = await self.client.chat(messages, temperature=self.temperature)
        return parse_steps(res.content or "", info)

    async def refine(self, refiner: "Refiner", task: Task, info: TaskInfo, source: dict,
                     out: "Outcome") -> dict | None:
        rec = source
        try:
            for name in STAGE_NAMES:
                blocks = await self._ask(self.templates[name].replace("{context}", context(task, info, rec)), info)
                out.stages.append({"stage": name, "edits": [f"{len(blocks)} steps"]})
                rec = await refiner.replay(task, blocks, source)
            for _ in range(self.repair_rounds):
                talk = narrative.problems(rec, task, info.mutating) + narrative.diagnosis_problems(rec, info.mutating)
                if rec["passed"] and not talk:
                    break
                bad = [c["id"] for c in rec["grade"]["items"] if not c["passed"]]
                problems = "; ".join(([f"failed checks {bad}"] if bad else
                                      [] if rec["passed"] else ["the judge did not accept the final reply"]) + talk)
                prompt = self.templates["repair"].replace("{problems}", problems).replace(
                    "{context}", context(task, info, rec))
                blocks = await self._ask(prompt, info)
                out.stages.append({"stage": "repair", "edits": [f"{len(blocks)} steps"]})
                rec = await refiner.replay(task, blocks, source)
        except RewriteError as e:
            out.reason, out.detail = "llm_invalid_output", str(e)
            return None
        except LLMError as e:
            out.reason, out.detail = "llm_error", str(e)
            return None
        return rec
