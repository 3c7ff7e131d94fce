"""One turn loop (stt_arena.episode): the eval loop and the RL environment record identical steps for the
same scripted episode, including invalid turns (unknown tool, bad arguments) and a chat with the user."""
import json

import pytest

from stt_arena.agents.base import Action, Agent
from stt_arena.episode.loop import EpisodeContext, run_episode
from stt_arena.judge import make_judge
from stt_arena.prompts import load_prompt
from stt_arena.rl.core import STTArenaCore
from stt_arena.sandbox.executor import Executor
from stt_arena.sandbox.local import LocalEpisode
from stt_arena.sandbox.spec import episode_spec
from stt_arena.task.models import CHAT_WITH_USER, FINAL_MESSAGE
from stt_arena.user.scripted import ScriptedUser

from .eval_helpers import examples


def _script(task):
    """The oracle plan plus two invalid turns, as (OpenAI assistant message, eval Action) pairs."""
    first = next(s for s in task.plans.oracle if s.method not in (CHAT_WITH_USER, FINAL_MESSAGE))
    bad_args = {k: [1, 2] for k in first.arguments} or {"x": [1]}
    steps = [("no_such_tool", {"a": 1}), (first.method, bad_args)]
    steps += [(s.method, dict(s.arguments)) for s in task.plans.oracle]
    out = []
    for i, (name, args) in enumerate(steps):
        if name == FINAL_MESSAGE:
            text = str(args.get("content", ""))
            out.append(({"role": "assistant", "content": text}, Action(kind="final", content=text)))
            continue
        if name == CHAT_WITH_USER:
            args = {"message": str(args.get("content", args.get("message", "")))}
        msg = {"role": "assistant", "content": "", "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]}
        act = (Action(kind="chat", content=args["message"], message=msg) if name == CHAT_WITH_USER
               else Action(kind="tool", tool=name, arguments=args, message=msg))
        out.append((msg, act))
    return out


class _Scripted(Agent):
    def __init__(self, actions):
        self.actions = actions

    def reset(self, task, tools, system_prompt, first_message):
        self.queue = list(self.actions)

    async def step(self, observation):
        return self.queue.pop(0)


@pytest.mark.parametrize("sandbox", [False, True])
async def test_eval_and_rl_record_identical_steps(sandbox):
    task = next(t for t in examples() if any(s.method == CHAT_WITH_USER for s in t.plans.oracle)
                or t.task_id == "example-clinic-t1")
    script = _script(task)
    ex = Executor() if sandbox else None
    try:
        async def open_ep(t):
            return await ex.aopen(t) if ex else LocalEpisode(episode_spec(t))
        ctx = EpisodeContext(task=task, run=0, agent=_Scripted([a for _, a in script]), user=ScriptedUser(),
                             judge=make_judge(), open_episode=open_ep, system_prompt=load_prompt("agent_system"),
                             max_turns=len(script) + 1)
        rec = await run_episode(ctx)
        core = STTArenaCore(sandbox=sandbox, max_steps=len(script) + 1)
        core.tasks = [task]
        core.reset(0)
        out = None
        for msg, _ in script:
            out = core.step(msg)
        assert out is not None and out[2], "the RL episode ended on the final reply"
        assert [s["kind"] for s in rec["steps"]][:2] == ["invalid", "invalid"]
        assert rec["steps"] == core.steps
        assert rec["passed"] == out[4]["metrics"]["success"]
    finally:
        if ex:
            ex.close()
