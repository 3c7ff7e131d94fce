"""Small builders shared by the tests."""
from __future__ import annotations

import textwrap

from stt_arena.task.models import Task

COUNTER_ENV = '''
import random
from datetime import datetime


class CounterEnv:
    MUTATING_TOOLS = ["add", "set_mode"]

    def __init__(self, init_config: dict):
        self.count = init_config.get("count", 0)
        self.mode = init_config.get("mode", "normal")
        self.items = init_config.get("items", {})

    def get_count(self) -> dict:
        """Read the counter."""
        return {"success": True, "data": {"count": self.count, "mode": self.mode}}

    def get_time(self) -> dict:
        """Read the simulated clock."""
        return {"success": True, "data": {"now": now().isoformat(), "dt": datetime.now().isoformat()}}

    def roll(self) -> dict:
        """A seeded random number."""
        return {"success": True, "data": random.randint(1, 10 ** 6)}

    def add(self, n: int = 1) -> dict:
        """Add to the counter.

        Args:
            n: amount
        """
        if self.mode == "locked":
            return {"success": False, "error": "counter locked"}
        self.count += n
        return {"success": True, "message": f"count={self.count}"}

    def set_mode(self, mode: str) -> dict:
        """Set the mode."""
        self.mode = mode
        return {"success": True, "message": mode}
'''


def make_task(source: str = COUNTER_ENV, class_name: str = "CounterEnv", triggers=None, init=None,
              checklist=None, oracle=None, normal=None, **kw) -> Task:
    return Task.model_validate({
        "task_id": kw.pop("task_id", "t"), "conflict_type": kw.pop("conflict_type", "T1"),
        "level": kw.pop("level", "easy"), "query": kw.pop("query", "Do it. Now."),
        "environment": {"class_name": class_name, "source": textwrap.dedent(source), "init_config": init or {},
                        **kw.pop("env", {})},
        "triggers": triggers or [],
        "checklist": checklist or [{"id": "c", "check": "def c(state):\n    return state['count'] > 0"}],
        "plans": {"oracle": oracle or [], "normal": normal or []},
        **kw,
    })


def attack_env(body: str, top: str = "") -> str:
    """An env class whose ``attack`` tool runs ``body``."""
    body = textwrap.indent(textwrap.dedent(body).strip(), " " * 8)
    return f"{textwrap.dedent(top)}\nclass E:\n    def __init__(self, c):\n        self.x = 1\n\n" \
           f"    def get_x(self):\n        return {{'success': True, 'data': self.x}}\n\n" \
           f"    def attack(self):\n{body}\n"


def proc_alive(pid: int) -> bool:
    """The process exists and is not a zombie (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def proc_children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (Linux /proc)."""
    import os
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def exits_soon(pid: int, seconds: float = 10.0) -> bool:
    """Waits up to ``seconds`` for the process to be gone."""
    import time
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not proc_alive(pid):
            return True
        time.sleep(0.02)
    return not proc_alive(pid)
