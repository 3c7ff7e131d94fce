"""The Inspect task: ``inspect eval stt_arena/stt_arena --model M [-T types=T1,S2 -T levels=hard ...]``.

The solver plays one episode with ``episode.run_episode`` (the driver ``stt-arena eval`` uses: the episode
engine, sandboxed environment, triggers, ``chat_with_user`` to the scripted or LLM user, one tool call per
turn, max turns, deadline) with the Inspect model as the agent, and grades the end state with the checklist
while the sandbox is still open. The scorer applies the checklist result and, on impossible tasks, the judge
(``episode.judge_record``), so ``inspect score`` can re-judge a log without re-running the agent. Metrics:
pass rate overall, per level and per conflict type. Trigger events are Inspect ``info`` events at the step
that fired them and, with the final state and the checklist, in the sample's metadata; the full trajectory
record (``results.record``) is in the sample's store (``stt_arena_record``).
"""
from __future__ import annotations

import asyncio
import atexit
from pathlib import Path
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import transcript
from inspect_ai.model import GenerateConfig, get_model
from inspect_ai.scorer import Score, Target, accuracy, grouped, scorer, stderr
from inspect_ai.solver import Generate, TaskState, solver

from ..episode import EpisodeContext, judge_record, run_episode
from ..episode.env import env_op
from ..judge.base import Judge, Verdict
from ..task.models import Task as ArenaTask
from .agent import InspectAgent, InspectChat

RECORD_KEY = "stt_arena_record"
DEFERRED = "deferred-to-scorer"


def _names(value: Any) -> list[str]:
    """A ``-T`` list argument: ``"T1,S2"``, a list, or None."""
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(x).strip() for x in items if str(x).strip()]


def load_benchmark(tasks: str | None = None, types: Any = None, levels: Any = None, task_ids: Any = None,
                   limit: int | None = None, sandbox: bool = True) -> list[ArenaTask]:
    """The selected tasks (default: the built-in benchmark; ``tasks``: a path or 'v1'/'v2'). Without the
    sandbox only built-in (trusted) task code is accepted."""
    from ..eval.runner import select_tasks

    out = select_tasks(list(task_index(tasks).values()), _names(types), _names(levels), _names(task_ids),
                       int(limit) if limit is not None else None)
    if not sandbox:
        from ..sandbox.trust import untrusted_code
        bad = [(t.task_id, untrusted_code(t)) for t in out]
        bad = [(i, u) for i, u in bad if u]
        if bad:
            raise ValueError(f"sandbox=false runs task code in-process, but task {bad[0][0]} carries code that is "
                             f"not built-in ({', '.join(bad[0][1][:3])}; {len(bad)} such task(s)); keep the sandbox")
    return out


_INDEX: dict[tuple, dict[str, ArenaTask]] = {}


def task_index(tasks: str | None = None) -> dict[str, ArenaTask]:
    """Every task of a task file by id (cached per file and modification time): the solver and the scorer
    take the file name, not the tasks, so that the log records small, re-creatable parameters."""
    from ..data import resolve_tasks
    from ..task.io import load_tasks

    path = resolve_tasks(tasks).resolve()
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _INDEX:
        _INDEX[key] = {t.task_id: t for t in load_tasks(path)}
    return _INDEX[key]


def sample_of(t: ArenaTask) -> Sample:
    return Sample(id=t.task_id, input=t.query, metadata={
        "task_id": t.task_id, "level": t.level, "conflict_type": t.conflict_type,
        "domain": t.provenance.domain, "impossible": t.impossible})


class _Deferred(Judge):
    """Stands in for the judge inside the solver: the scorer judges impossible tasks."""

    name = DEFERRED

    async def judge(self, task, steps, final_message, goal_checks) -> Verdict:
        return Verdict(False, False, "judged by the scorer", judge=DEFERRED)


_EXECUTORS: dict[Any, Any] = {}  # event loop -> sandbox Executor, shared by every stt_arena task it runs


def _close_executors(closed_loops_only: bool = False) -> None:
    for loop in [lp for lp in _EXECUTORS if not closed_loops_only or lp.is_closed()]:
        _EXECUTORS.pop(loop).close()


atexit.register(_close_executors)


class _Environments:
    """Opens episodes: one sandbox ``Executor`` per event loop (an Inspect ``eval`` runs its tasks in one loop;
    the executor of a finished eval's loop is closed when the next one opens, the last at exit);
    ``sandbox=False``: in-process episodes (built-in tasks only, checked in ``load_benchmark``)."""

    def __init__(self, sandbox: bool):
        self.sandbox = sandbox

    async def open(self, task: ArenaTask) -> Any:
        if not self.sandbox:
            from ..sandbox.local import LocalEpisode
            from ..sandbox.spec import episode_spec
            return _Watched(LocalEpisode(episode_spec(task)))
        loop = asyncio.get_running_loop()
        ex = _EXECUTORS.get(loop)
        if ex is None:
            _close_executors(closed_loops_only=True)
            from ..sandbox.executor import Executor
            ex = _EXECUTORS[loop] = Executor()
        return _Watched(await ex.aopen(task))


class _Watched:
    """An open episode whose tool calls log their trigger events to the Inspect transcript as they fire."""

    def __init__(self, ep: Any):
        self._ep = ep

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ep, name)

    async def acall(self, tool: str, args: dict) -> dict:
        out = await env_op(self._ep, "call", tool, args)
        if out.get("events"):
            transcript().info({"trigger_events": out["events"], "tool": tool, "step": out.get("step"),
                               "now": out.get("now")}, source="stt_arena: trigger fired (hidden from the agent)")
        return out


@solver
def episode_solver(tasks: str | None = None, *, sandbox: bool = True, max_turns: int = 50, user: str = "scripted",
                   timeout_s: float = 900.0, system_prompt: str | None = None, max_observation_chars: int = 16000,
                   seed: int | None = None):
    """Plays the sample's task (looked up by id in ``tasks``) as one episode; see the module docstring."""
    from ..prompts import load_prompt
    prompt = load_prompt("agent_system", system_prompt)
    environments = _Environments(bool(sandbox))
    if user not in ("scripted", "llm"):
        raise ValueError(f"user={user!r}: choose 'scripted' or 'llm' (the 'user' model role)")

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        from ..user import make_user
        t = task_index(tasks)[str(state.sample_id)]
        run = state.epoch - 1
        agent = InspectAgent(get_model(), GenerateConfig(seed=None if seed is None else seed + run),
                             max_observation_chars=max_observation_chars)
        sim = make_user(user, InspectChat(get_model(role="user")) if user == "llm" else None)
        if hasattr(sim, "seed"):
            sim.seed = None if seed is None else seed + run
        ctx = EpisodeContext(task=t, run=run, agent=agent, user=sim, judge=_Deferred(), open_episode=environments.open,
                             system_prompt=prompt, max_turns=max_turns, timeout_s=timeout_s,
                             max_observation_chars=max_observation_chars,
                             seed=None if seed is None else seed + run,
                             meta={"model": str(agent.model), "user_sim": "scripted" if user == "scripted"
                                   else f"llm:{get_model(role='user')}", "harness": "inspect_ai"})
        try:
            record = await run_episode(ctx)
        finally:
            state.messages = list(getattr(agent, "chat", state.messages))
            if agent.last_output is not None:
                state.output = agent.last_output
        state.store.set(RECORD_KEY, record)
        state.metadata.update(
            trigger_events=record["events"], final_state=record["final_state"], termination=record["termination"],
            checklist=[{k: c.get(k) for k in ("id", "kind", "passed", "description")} for c in record["grade"]["items"]])
        state.completed = True
        return state

    return solve


@scorer(metrics=[accuracy(), stderr(), grouped(accuracy(), "level", all=False, name_template="level:{group_name}"),
                 grouped(accuracy(), "conflict_type", all=False, name_template="type:{group_name}")])
def episode_scorer(tasks: str | None = None, judge: str = "heuristic"):
    """Pass = every checklist item holds on the end state (and, on impossible tasks, the judge's verdict)."""
    if judge not in ("heuristic", "model"):
        raise ValueError(f"judge={judge!r}: choose 'heuristic' (offline) or 'model' (the 'judge' model role)")

    async def score(state: TaskState, target: Target) -> Score:
        from ..judge import make_judge
        record = state.store.get(RECORD_KEY)
        if record is None:
            raise RuntimeError(f"sample {state.sample_id}: no episode record in the store (the solver did not finish)")
        t = task_index(tasks)[str(state.sample_id)]
        g = record["grade"]
        if t.impossible:
            g.update(passed=g["checklist_passed"], judge=None, graded_by="checklist")  # re-judged from scratch
            record.setdefault("usage", {})["judge"] = {}
            record["passed"] = g["checklist_passed"]
            await judge_record(t, record, make_judge(InspectChat(get_model(role="judge")) if judge == "model" else None))
            state.store.set(RECORD_KEY, record)
        failed = [c["id"] for c in g["items"] if not c["passed"]]
        why = "all checklist items pass" if not failed else f"failed checklist items: {', '.join(failed)}"
        if g.get("judge"):
            why += f"; judge ({g['judge'].get('judge')}): {'pass' if g['judge'].get('passed') else 'fail'}, " \
                   f"{g['judge'].get('evidence')}"
        return Score(value=1.0 if record["passed"] else 0.0, answer=record.get("final_message") or "",
                     explanation=why, metadata={"grade": g, "passed": record["passed"], "fraction": record["fraction"],
                                                "termination": record["termination"]})

    return score


@task
def stt_arena(tasks: str | None = None, types: str | None = None, levels: str | None = None,
              task_ids: str | None = None, limit: int | None = None, max_turns: int = 50, user: str = "scripted",
              judge: str = "heuristic", sandbox: bool = True, timeout_s: float = 900.0,
              system_prompt: str | None = None, max_observation_chars: int = 16000, seed: int | None = None) -> Task:
    """STT-Arena: spatio-temporal tool use under mid-task triggers. ``tasks``: a task file or 'v1'/'v2'
    (default: the built-in benchmark); ``types``/``levels``/``task_ids``: comma-separated filters;
    ``user``: scripted | llm (model role 'user'); ``judge``: heuristic | model (model role 'judge');
    ``sandbox=false``: in-process environments (built-in tasks only)."""
    chosen = load_benchmark(tasks, types, levels, task_ids, limit, sandbox)
    if tasks is not None and Path(tasks).exists():  # a file: its absolute path (a name: 'v1' or 'v2' as given)
        tasks = str(Path(tasks).resolve())
    return Task(dataset=MemoryDataset([sample_of(t) for t in chosen], name="stt_arena"),
                solver=episode_solver(tasks, sandbox=bool(sandbox), max_turns=int(max_turns), user=user,
                                      timeout_s=float(timeout_s), system_prompt=system_prompt,
                                      max_observation_chars=int(max_observation_chars), seed=seed),
                scorer=episode_scorer(tasks, judge=judge))
