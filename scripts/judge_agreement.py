"""Agreement of the impossible-task judges with the labelled set (issue 11 item 9).

    python scripts/judge_agreement.py                                   # the offline heuristic judge
    python scripts/judge_agreement.py --base-url http://localhost:8000/v1 --model Qwen/Qwen3-32B   # + LLM judge
    python scripts/judge_agreement.py --json out.json

Prints accuracy, the confusion matrix and agreement per adversarial kind for the heuristic judge as eval uses
it (``make_judge``: blocking fact and alternatives required), for its item-9 minimum
(``require_alternatives=False``), and, given an endpoint, for the LLM judge prompt (real ``openai`` client),
plus the heuristic-vs-LLM agreement. Also how many built-in impossible tasks' oracle messages pass.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from stt_arena.data import benchmark_path, resolve_tasks
from stt_arena.judge import make_judge
from stt_arena.judge.agreement import LabelledSetError, load_labelled, measure
from stt_arena.judge.heuristic import HeuristicJudge, assess

from stt_arena.task.io import load_tasks

ROOT = Path(__file__).resolve().parents[1]


def _oracle_steps(task) -> list[dict]:
    """The oracle plan replayed in-process (built-in tasks: trusted code), as the judge gate sees it."""
    from stt_arena.benchmark.gates.judge import _steps
    from stt_arena.benchmark.replay import replay
    from stt_arena.sandbox.local import LocalEpisode
    from stt_arena.sandbox.spec import episode_spec
    return _steps(replay(task, task.plans.oracle, lambda t: LocalEpisode(episode_spec(t))))


FIXTURE = ROOT / "tests" / "fixtures" / "judge_labelled.jsonl"


async def run(a: argparse.Namespace) -> int:
    tasks = {t.task_id: t for t in load_tasks(resolve_tasks(a.tasks) if a.tasks else benchmark_path("v1"))}
    try:
        rows = load_labelled(a.fixture, tasks)
    except LabelledSetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"labelled set: {a.fixture} -- {len(rows)} final messages ({sum(r['label'] for r in rows)} should pass) "
          f"on {len({r['task_id'] for r in rows})} impossible tasks")
    results = [await measure(make_judge(), rows, tasks, name="heuristic (make_judge: eval's judge)"),
               await measure(HeuristicJudge(require_alternatives=False), rows, tasks,
                             name="heuristic (require_alternatives=False)")]
    if a.model:
        from stt_arena.judge.llm import LLMJudge
        from stt_arena.llm.client import LLMClient, LLMError, ModelConfig
        cfg = ModelConfig(model=a.model, base_url=a.base_url, api_key_env=a.api_key_env, temperature=0.0,
                          timeout_s=a.timeout, max_retries=a.max_retries)
        async with LLMClient(cfg) as client:
            judge = LLMJudge(client, a.prompt)
            try:
                results.append(await measure(judge, rows, tasks, concurrency=a.concurrency, name=judge.name))
            except LLMError as e:
                print(f"error: the LLM judge's endpoint failed: {e}", file=sys.stderr)
                return 3
    else:
        print("LLM judge: not measured (no --model/--base-url given)")
    for ag in results:
        print()
        print(ag.render())
    if len(results) > 2:  # heuristic vs LLM, label-free
        heur, llm = results[0], results[2]
        hd = {d["id"] for d in heur.disagreements}
        ld = {d["id"] for d in llm.disagreements}
        same = sum((r["id"] in hd) == (r["id"] in ld) for r in rows)
        print(f"\nheuristic vs LLM judge: same verdict on {same}/{len(rows)} ({100 * same / len(rows):.1f}%)")
    imp = [t for t in tasks.values() if t.impossible and t.plans.oracle]
    fails = {}
    for t in imp:
        last = t.plans.oracle[-1]
        msg = str(last.arguments.get("content", "")) if last.method == "respond_to_user" else ""
        r = assess(t, _oracle_steps(t), msg, [])  # the oracle's episode: the judge grounds the message in it
        if not r.passed:
            fails[t.task_id] = r.reasons
    print(f"\noracle final messages of the {len(imp)} impossible tasks accepted by eval's heuristic judge: "
          f"{len(imp) - len(fails)}" + "".join(f"\n  {k}: {', '.join(v)}" for k, v in fails.items()))
    if a.json:
        Path(a.json).write_text(json.dumps({"results": [r.to_dict() for r in results], "oracle_rejected": fails},
                                           indent=1))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixture", default=str(FIXTURE))
    ap.add_argument("--tasks", default=None, help="task JSONL or benchmark version holding the rows' tasks (default: v1, where the labelled set lives)")
    ap.add_argument("--base-url", default=None, help="OpenAI-compatible endpoint of the LLM judge")
    ap.add_argument("--model", default=None, help="the LLM judge's model (enables the LLM measurement)")
    ap.add_argument("--api-key-env", default="OPENAI_API_KEY")
    ap.add_argument("--prompt", default=None, help="judge prompt file (default: prompts/judge_impossible.md)")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--max-retries", type=int, default=3)
    ap.add_argument("--json", default=None, help="write the figures and the disagreements here")
    return asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
