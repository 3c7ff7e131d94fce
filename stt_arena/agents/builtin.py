"""Built-in reference agents (``--model builtin:NAME``): deterministic policies, no model needed.

* ``oracle``    plays the task's oracle plan (its name says it reads the answer key).
* ``stale``     runs the normal plan blindly, ignoring failures: stale-state execution.
* ``retry``     runs the normal plan and re-sends a failing call with argument variants: misdiagnosis.
* ``no-verify`` plays the oracle plan without its verification queries (after the last write; on impossible
  tasks, the re-reads that confirm the block and rule out alternatives before telling the user).
"""
from __future__ import annotations

from ..task.models import CHAT_WITH_USER, FINAL_MESSAGE, PlanStep, Task
from .base import Action, Agent, Observation

DONE = "Task Completed."


def _variants(args: dict) -> list[dict]:
    """Trivial re-phrasings of the same call (what a model does when it treats a change as a typo)."""
    out = [dict(args)]
    for k, v in args.items():
        if isinstance(v, str) and v.strip():
            alt = v.lower() if v != v.lower() else v.upper()
            out.append({**args, k: alt})
            break
        if isinstance(v, int) and not isinstance(v, bool):
            out.append({**args, k: v + 1})
            break
    return out


class PlanAgent(Agent):
    """Plays a list of plan steps; subclasses pick the steps and react to failures."""

    def __init__(self, name: str):
        self.name = name
        self.queue: list[PlanStep] = []
        self.last: PlanStep | None = None

    def plan(self, task: Task) -> list[PlanStep]:
        raise NotImplementedError

    def reset(self, task: Task, tools: list[dict], system_prompt: str, first_message: str) -> None:
        self.queue = list(self.plan(task))
        self.last = None

    def on_result(self, observation: Observation) -> None:
        """Hook: react to a tool result before the next step."""

    async def step(self, observation: Observation | None) -> Action:
        if observation is not None and observation.kind == "tool_result":
            self.on_result(observation)
        if not self.queue:
            return Action(kind="final", content=DONE)
        st = self.queue.pop(0)
        self.last = st
        if st.method == FINAL_MESSAGE:
            return Action(kind="final", content=str(st.arguments.get("content", DONE)))
        if st.method == CHAT_WITH_USER:
            return Action(kind="chat", content=str(st.arguments.get("content", "")))
        return Action(kind="tool", tool=st.method, arguments=dict(st.arguments))


class OracleAgent(PlanAgent):
    def plan(self, task: Task) -> list[PlanStep]:
        return task.plans.oracle


class NoVerifyAgent(PlanAgent):
    def plan(self, task: Task) -> list[PlanStep]:
        return [s for s in task.plans.oracle if s.role != "verify"]


class StaleAgent(PlanAgent):
    def plan(self, task: Task) -> list[PlanStep]:
        return [s for s in task.plans.normal if s.method != FINAL_MESSAGE]


class RetryAgent(StaleAgent):
    """On a failed call, re-sends it with up to ``max_retries`` argument variants, then moves on."""

    max_retries = 2

    def reset(self, task, tools, system_prompt, first_message) -> None:
        super().reset(task, tools, system_prompt, first_message)
        self.retries_left: dict[int, list[dict]] = {}

    def on_result(self, observation: Observation) -> None:
        res = observation.content if isinstance(observation.content, dict) else {}
        if self.last is None or res.get("success", True):
            return
        key = id(self.last)
        pending = self.retries_left.setdefault(key, _variants(self.last.arguments)[: self.max_retries])
        if pending:
            self.queue.insert(0, PlanStep(method=self.last.method, arguments=pending.pop(0), role=self.last.role))
            self.retries_left[id(self.queue[0])] = pending


BUILTIN_AGENTS = {"oracle": OracleAgent, "stale": StaleAgent, "retry": RetryAgent, "no-verify": NoVerifyAgent}


def make_builtin(name: str) -> Agent:
    try:
        return BUILTIN_AGENTS[name](name)
    except KeyError:
        raise ValueError(f"unknown built-in agent {name!r}; choose from {sorted(BUILTIN_AGENTS)}") from None
