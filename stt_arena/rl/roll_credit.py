"""How ROLL turns our episodes into training samples and advantages, reconstructed without torch/ray so the
RL configs can be checked on any machine (``tests/test_rl_credit.py``). Each function names the ROLL code it
follows; source read at alibaba/ROLL@8eb27cc2dc34c4d1310b169d9b86d339004d811a. KL terms are left out (zero
at the start of training, when both policies are the SFT checkpoint).

* ``AgentNativeStepEnvManager.formulate_rollouts`` (roll/pipeline/agentic/env_manager/
  agent_native_env_manager.py): one sample per step (the chat rendered up to that step + the step's
  response); ``scores`` holds the *step's* reward at its last token; ``step_scores`` = that reward,
  ``episode_scores`` = the sum over the episode; ``traj_id`` / ``traj_group_id`` from ``run_rollout_loop``.
* ``compute_discounted_returns`` (roll/pipeline/agentic/utils.py): for ``step_reinforce`` and ``gigpo``,
  ``step_rewards[t] = step_scores[t] + step_reward_gamma * step_rewards[t+1]`` within each trajectory.
* ``compute_response_level_rewards`` (same file): ``step_reinforce`` normalises ``step_rewards``; every
  other estimator but ``gigpo`` normalises ``scores.sum(-1)`` (= the step's own reward), with
  ``agentic_reward_norm`` (grouping, ``norm_mean_type``, ``norm_std_type``; unbiased std; zero when a group
  has one sample or a std <= 1e-6), then ``reward_clip``.
* ``expand_to_token_level`` + ``compute_reinforce_return`` (roll/utils/functionals.py): the response-level
  reward sits on the last token and is accumulated backwards with ``gamma``; then ``masked_whiten`` over
  all response tokens of the batch when ``whiten_advantages``, then ``advantage_clip``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

ROLL_COMMIT = "8eb27cc2dc34c4d1310b169d9b86d339004d811a"


@dataclass
class Sample:
    """One training sample as the native step manager builds it (the fields the advantage code reads)."""
    traj_id: str
    traj_group_id: str
    tag: str
    step: int
    step_score: float
    episode_score: float
    n_response_tokens: int = 1


def episode_samples(step_rewards: list[float], traj_id: str, traj_group_id: str, tag: str = "STTArena",
                    response_tokens: list[int] | None = None) -> list[Sample]:
    """``formulate_rollouts``: one sample per action, scored with the reward ``env.step`` returned for it."""
    episode = float(sum(step_rewards))
    toks = response_tokens or [1] * len(step_rewards)
    return [Sample(traj_id, traj_group_id, tag, i, float(r), episode, int(toks[i]))
            for i, r in enumerate(step_rewards)]


def _norm(values: np.ndarray, keys: list[str], grouping: str, mean_type, std_type) -> np.ndarray:
    """``agentic_reward_norm``."""
    out = np.zeros_like(values)
    batch_mean, batch_std = values.mean(), (values.std(ddof=1) if len(values) > 1 else np.nan)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys if grouping != "batch" else ["default"] * len(values)):
        groups[k].append(i)
    for idx in groups.values():
        v = values[idx]
        mean = batch_mean if mean_type == "batch" else v.mean() if mean_type == "group" else 0.0
        if std_type in ("batch", "group"):
            std = batch_std if std_type == "batch" else (v.std(ddof=1) if len(v) > 1 else np.nan)
            ok = len(v) > 1 and np.isfinite(std) and abs(std) > 1e-6
            out[idx] = (v - mean) / (std + 1e-6) if ok else 0.0
        else:
            out[idx] = v - mean
    return out


def response_level_rewards(samples: list[Sample], cfg: dict) -> np.ndarray:
    """``compute_discounted_returns`` + ``compute_response_level_rewards`` for one batch of samples."""
    est = cfg.get("adv_estimator", "gae")
    if est in ("gae", "gigpo", "agentic_reinforce"):
        raise NotImplementedError(f"adv_estimator {est!r} is not reconstructed here")
    if est == "step_reinforce":
        gamma = float(cfg.get("step_reward_gamma", 0.95))
        values = np.zeros(len(samples))
        by_traj: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(samples):
            by_traj[s.traj_id].append(i)
        for idx in by_traj.values():
            running = 0.0
            for i in sorted(idx, key=lambda j: samples[j].step, reverse=True):
                running = samples[i].step_score + gamma * running
                values[i] = running
    else:
        values = np.array([s.step_score for s in samples], dtype=float)
    rn = cfg.get("reward_normalization") or {}
    grouping = rn.get("grouping", "batch")
    keys = [str(getattr(s, grouping, "")) if grouping != "batch" else "" for s in samples]
    out = _norm(values, keys, grouping, rn.get("norm_mean_type"), rn.get("norm_std_type"))
    if cfg.get("reward_clip"):
        out = np.clip(out, -cfg["reward_clip"], cfg["reward_clip"])
    return out


def token_advantages(samples: list[Sample], cfg: dict) -> list[np.ndarray]:
    """Per-sample advantages of its response tokens (``compute_reinforce_return``, whitening, clip)."""
    r = response_level_rewards(samples, cfg)
    gamma = float(cfg.get("gamma", 1.0))
    advs = [r[i] * gamma ** np.arange(s.n_response_tokens - 1, -1, -1, dtype=float) for i, s in enumerate(samples)]
    if cfg.get("whiten_advantages"):
        flat = np.concatenate(advs)
        mean, var = flat.mean(), flat.var(ddof=1)
        advs = [(a - mean) / np.sqrt(var + 1e-8) for a in advs]
    clip = cfg.get("advantage_clip")
    return [np.clip(a, -clip, clip) if clip is not None else a for a in advs]


def step_credit(samples: list[Sample], cfg: dict) -> list[float]:
    """Mean advantage of each sample's response tokens: the credit its action gets."""
    return [float(a.mean()) for a in token_advantages(samples, cfg)]
