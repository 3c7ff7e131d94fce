"""Episode reward: the checklist (binary by default, or its passed fraction), the judge for impossible
tasks, and an optional penalty per malformed output."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RewardConfig:
    mode: str = "binary"  # "binary": 1 if every item passes (and the judge agrees), else 0; "fraction"
    format_penalty: float = 0.1  # subtracted per malformed output
    min_reward: float = -1.0


def episode_reward(cfg: RewardConfig, checks: list[dict], verdict: dict | None,
                   n_invalid: int) -> tuple[float, bool, float]:
    """Return (reward, passed, checklist fraction)."""
    if cfg.mode not in ("binary", "fraction"):
        raise ValueError(f"reward mode must be 'binary' or 'fraction', not {cfg.mode!r}")
    fraction = sum(c["passed"] for c in checks) / len(checks) if checks else 0.0
    judge_ok = verdict is None or bool(verdict.get("passed"))
    passed = bool(checks) and fraction == 1.0 and judge_ok
    base = float(passed) if cfg.mode == "binary" else fraction * (1.0 if judge_ok else 0.5)
    return max(cfg.min_reward, base - cfg.format_penalty * n_invalid), passed, fraction
