"""Rewards: the paper's outcome reward at the last step, plus optional shaped terms paid at the step that
earns them (all off by default).

* outcome (last step): 1 when every checklist item passes (and the judge agrees, impossible tasks), else 0;
  ``mode: fraction`` gives the passed fraction (halved when the judge disagrees);
* ``format_penalty``: subtracted at each malformed output or unknown tool;
* ``detection_bonus``: paid once, at the agent's first state re-read (a query tool) after a change fired;
* ``verification_bonus``: paid once, at the first query after a successful state-changing call made after
  the change (the agent checked the end state of its recovery).

The episode's return (sum of step rewards) is floored at ``min_reward``.
"""
from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class RewardConfig:
    mode: str = "binary"  # "binary": 1 if every item passes (and the judge agrees), else 0; "fraction"
    format_penalty: float = 0.0  # per malformed output, at that step (0: off)
    detection_bonus: float = 0.0  # at the first re-read of the state after the change (0: off)
    verification_bonus: float = 0.0  # at the first end-state check after the recovery's state change (0: off)
    min_reward: float = -1.0

    def __post_init__(self):
        if self.mode not in ("binary", "fraction"):
            raise ValueError(f"reward.mode must be 'binary' or 'fraction', not {self.mode!r}")
        for f in fields(self):
            if f.name != "mode" and not isinstance(getattr(self, f.name), (int, float)):
                raise ValueError(f"reward.{f.name} must be a number, not {getattr(self, f.name)!r}")

    @classmethod
    def of(cls, spec: dict | None) -> "RewardConfig":
        spec = dict(spec or {})
        unknown = sorted(set(spec) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown reward key(s) {unknown}; known: {[f.name for f in fields(cls)]}")
        return cls(**spec)

    @property
    def shaped(self) -> bool:
        return bool(self.format_penalty or self.detection_bonus or self.verification_bonus)


def outcome_reward(cfg: RewardConfig, checks: list[dict], verdict: dict | None) -> tuple[float, bool, float]:
    """Return (outcome reward, passed, checklist fraction)."""
    fraction = sum(c["passed"] for c in checks) / len(checks) if checks else 0.0
    judge_ok = verdict is None or bool(verdict.get("passed"))
    passed = bool(checks) and fraction == 1.0 and judge_ok
    base = float(passed) if cfg.mode == "binary" else fraction * (1.0 if judge_ok else 0.5)
    return base, passed, fraction


def episode_reward(cfg: RewardConfig, checks: list[dict], verdict: dict | None,
                   n_invalid: int) -> tuple[float, bool, float]:
    """Outcome minus the format penalties, floored (the whole episode's return, as one number)."""
    base, passed, fraction = outcome_reward(cfg, checks, verdict)
    return max(cfg.min_reward, base - cfg.format_penalty * n_invalid), passed, fraction
