"""In-process episodes for trusted code (built-in benchmark validation, throughput runs)."""
from __future__ import annotations

from .runtime import EnvRuntime


class LocalEpisode:
    """Same interface as the sandboxed episode, without process isolation: trusted code only."""

    isolated = False

    def __init__(self, spec: dict):
        self.rt = EnvRuntime(spec)
        self.events: list[dict] = self.rt.events
        self.alive = True

    def list_tools(self) -> list[dict]:
        return self.rt.list_tools()

    def call(self, tool: str, args: dict | None = None) -> dict:
        return self.rt.call(tool, args or {})

    def record_message(self, role: str, content: str) -> None:
        self.rt.record_message(role, content)

    def snapshot(self) -> dict:
        return self.rt.snapshot()

    def log(self) -> list[dict]:
        return list(self.rt.log)

    def run_checks(self, items: list[dict]) -> list[dict]:
        return self.rt.run_checks(items)

    def grade(self, checklist: list[dict], goals: list[dict]) -> dict:
        return self.rt.grade(checklist, goals)

    def close(self) -> None:
        self.alive = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
