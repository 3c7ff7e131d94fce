"""Judges for impossible tasks: an LLM judge (structured, validated output) and an offline heuristic."""
from .base import Judge, Verdict, render_transcript
from .heuristic import HeuristicJudge

__all__ = ["Judge", "Verdict", "HeuristicJudge", "render_transcript", "make_judge"]


def make_judge(client=None, prompt_path=None) -> Judge:
    if client is None:
        return HeuristicJudge(require_alternatives=True)
    from .llm import LLMJudge
    return LLMJudge(client, prompt_path)
