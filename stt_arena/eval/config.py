"""Evaluation settings: the paper's protocol as defaults, each part overridable."""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..llm.client import ModelConfig

BUILTIN_PREFIX = "builtin:"


class EvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: ModelConfig
    user: ModelConfig | None = None
    judge: ModelConfig | None = None
    user_mode: Literal["scripted", "llm"] = "scripted"
    tasks_path: str = ""
    max_turns: int = Field(50, ge=1)
    runs: int = Field(3, ge=1)
    seed: int | None = None
    concurrency: int = Field(4, ge=1)
    workers: int = Field(1, ge=1, description="processes sharing the concurrency slots (each its own event "
                         "loop, sandbox fork server and HTTP pools); results do not depend on it")
    ray: str | None = Field(None, description="run the episodes on a Ray cluster: auto, host:port or local "
                            "(a cluster started for the run) (eval/ray_shards.py); results do not depend on it")
    episode_timeout_s: float = Field(900.0, gt=0)
    episode_retries: int = Field(2, ge=0, description="re-runs of an episode that failed for infrastructure "
                                 "reasons (endpoint, sandbox); a failed judge is re-run alone")
    episode_retry_delay_s: float = Field(2.0, ge=0)
    max_consecutive_errors: int = Field(10, ge=1, description="stop the run after this many episodes in a "
                                        "row failed with the same infrastructure error")
    multi_call: Literal["first", "all"] = "first"
    keep_reasoning: bool = True
    max_observation_chars: int = Field(16000, ge=200)
    sandbox: bool = True
    system_prompt_path: str | None = None
    types: list[str] = Field(default_factory=list)
    levels: list[str] = Field(default_factory=list)
    task_ids: list[str] = Field(default_factory=list)
    limit: int | None = None

    @property
    def builtin(self) -> str | None:
        m = self.agent.model
        return m[len(BUILTIN_PREFIX):] if m.startswith(BUILTIN_PREFIX) else None

    def identity(self) -> dict[str, Any]:
        """Settings that must match for ``--resume`` to continue a run (runs/filters may change)."""
        return {"agent_model": self.agent.model, "base_url": self.agent.base_url,
                "temperature": self.agent.temperature, "user_mode": self.user_mode,
                "user_model": self.user.model if self.user else None,
                "judge_model": self.judge.model if self.judge else None, "max_turns": self.max_turns,
                "seed": self.seed, "multi_call": self.multi_call}


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "model"
