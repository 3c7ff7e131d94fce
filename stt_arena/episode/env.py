"""The episode's environment handle: opened in the background (eval) or already open (RL), each operation
in its asyncio form where the episode has one (sandboxed: native socket I/O)."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable

from .errors import InfraError


async def env_op(ep: Any, name: str, *args: Any) -> Any:
    """Episode operation ``name``: ``a<name>`` when the episode has one, a thread for other isolated
    episodes, a plain call for in-process ones."""
    afn = getattr(ep, "a" + name, None)
    if afn is not None:
        return await afn(*args)
    fn = getattr(ep, name)
    if getattr(ep, "isolated", False):
        return await asyncio.to_thread(fn, *args)
    return fn(*args)


def _dead(task_id: str, ep: Any, what: str) -> None:
    if ep is not None and getattr(ep, "alive", True) is False and getattr(ep, "death", None) != "closed":
        raise InfraError(f"task {task_id}: the sandbox worker died during {what}: {getattr(ep, 'death', None)}",
                         "sandbox", "sandbox_died")


class Opening:
    """Opened in the background from the start of the episode: the sandbox's fork and init overlap the
    agent's first model call instead of adding to the episode's latency."""

    def __init__(self, task_id: str, opening: Awaitable[Any]):
        self.task_id = task_id
        self.future = asyncio.ensure_future(opening)

    async def get(self) -> Any:
        try:
            return await asyncio.shield(self.future)  # a cancelled caller must not cancel the open
        except asyncio.CancelledError:
            raise
        except Exception as e:  # bad task or sandbox failure: not the agent's fault
            raise InfraError(f"task {self.task_id}: could not open the environment: {e}", "sandbox",
                             "open_failed") from e

    def check_alive(self, what: str) -> None:
        """A sandbox worker that died under the episode (killed from outside, OOM): an infrastructure
        error, re-run, never the agent's failure."""
        done = self.future.done() and not self.future.cancelled() and self.future.exception() is None
        _dead(self.task_id, self.future.result() if done else None, what)

    async def close(self) -> None:
        """Close the environment, or cancel its opening (a half-opened sandbox worker is killed)."""
        if not self.future.done():
            self.future.cancel()
        try:
            ep = await self.future
        except BaseException:  # noqa: BLE001 - never opened: nothing to close
            return
        try:
            await env_op(ep, "close")
        except Exception:  # noqa: BLE001 - closing must not hide the real outcome
            pass


class Opened:
    """An episode that is already open, driven by its blocking operations (the RL environment, which
    runs each step to completion)."""

    isolated = False

    def __init__(self, task_id: str, ep: Any):
        self.task_id, self.ep = task_id, ep

    async def get(self) -> "Opened":
        return self

    def check_alive(self, what: str) -> None:
        _dead(self.task_id, self.ep, what)

    @property
    def alive(self) -> bool:
        return getattr(self.ep, "alive", True)

    def call(self, tool: str, args: dict) -> dict:
        return self.ep.call(tool, args)

    def record_message(self, role: str, content: str) -> None:
        self.ep.record_message(role, content)

    def grade(self, checklist: list[dict], goals: list[dict]) -> dict:
        return self.ep.grade(checklist, goals)

    async def close(self) -> None:
        self.ep.close()
