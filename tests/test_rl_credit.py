"""RL credit reaches tool-call turns: episodes of the real environment, turned into the samples and
advantages ROLL would build (``stt_arena.rl.roll_credit``, a source-referenced reconstruction of ROLL's
native step manager and advantage code), for both shipped configs; the configs' keys checked against ROLL's
config dataclasses (field names extracted from ROLL's source into a fixture by scripts/roll_config_fields.py).
"""
import json
import re
from pathlib import Path

import pytest

from stt_arena.rl.core import STTArenaCore
from stt_arena.rl.roll_credit import ROLL_COMMIT, episode_samples, step_credit
from stt_arena.task.models import FINAL_MESSAGE

yaml = pytest.importorskip("yaml")
ROOT = Path(__file__).resolve().parents[1]
FIELDS = json.loads((ROOT / "tests/fixtures/rl/roll_config_fields.json").read_text())
CONFIGS = ("reinforce_pp.yaml", "grpo.yaml")


def _load(name):
    text = (ROOT / "RL" / name).read_text()
    return yaml.safe_load(text), text


def _qwen(step):
    if step.method == FINAL_MESSAGE:
        return step.arguments["content"]
    return "<tool_call>\n" + json.dumps({"name": step.method, "arguments": step.arguments}) + "\n</tool_call>"


@pytest.fixture(scope="module")
def episodes():
    """A group of 4 rollouts per task (2 follow the oracle plan, 2 the stale normal plan), as ROLL's
    ``group_size: 4`` runs them: per step the reward ``env.step`` returned and whether it was a tool call."""
    core = STTArenaCore(pool_size=24, pool_seed=7)
    tasks = [t for t in core._pool() if not t.impossible][:4]
    out = []
    for t in tasks:
        for k in range(4):
            core.tasks = [t]
            core.reset(0)
            plan = t.plans.oracle if k < 2 else t.plans.normal
            rewards, kinds, done = [], [], False
            for st in plan:
                _, r, done, trunc, info = core.step(_qwen(st))
                rewards.append(r)
                kinds.append("final" if st.method == FINAL_MESSAGE else "tool")
                if done or trunc:
                    break
            if not done:
                _, r, done, _, info = core.step("Task Completed.")
                rewards.append(r)
                kinds.append("final")
            out.append({"task": t.task_id, "k": k, "rewards": rewards, "kinds": kinds,
                        "success": info["metrics"]["success"]})
    assert {e["success"] for e in out} == {True, False}
    return out


def _samples(episodes):
    samples, owners = [], []
    for e in episodes:
        traj_group = f"STTArena_{e['task']}_0"
        ss = episode_samples(e["rewards"], f"{traj_group}_{e['k']}", traj_group,
                             response_tokens=[40 if k == "tool" else 25 for k in e["kinds"]])
        samples += ss
        owners += [(e, i) for i in range(len(ss))]
    return samples, owners


def _tool_credit(episodes, cfg):
    samples, owners = _samples(episodes)
    credit = step_credit(samples, cfg)
    won = [c for c, (e, i) in zip(credit, owners) if e["success"] and e["kinds"][i] == "tool"]
    lost = [c for c, (e, i) in zip(credit, owners) if not e["success"] and e["kinds"][i] == "tool"]
    return won, lost


def test_outcome_comes_at_the_last_step_only(episodes):
    for e in episodes:
        assert all(r == 0.0 for r in e["rewards"][:-1]) and e["rewards"][-1] == float(e["success"])


@pytest.mark.parametrize("name", CONFIGS)
def test_shipped_configs_give_tool_calls_of_a_successful_episode_positive_credit(episodes, name):
    cfg, _ = _load(name)
    won, lost = _tool_credit(episodes, cfg)
    assert won and lost
    assert all(c > 0 for c in won), won           # every tool call of a successful episode is reinforced
    assert all(c < 0 for c in lost), lost         # every tool call of a failed one is discouraged


@pytest.mark.parametrize("estimator", ["reinforce", "grpo"])
def test_per_step_scoring_starves_tool_calls(episodes, estimator):
    """The planted bad case (the configs before this change): each step scored by its own reward."""
    cfg, _ = _load("reinforce_pp.yaml")
    cfg["adv_estimator"] = estimator
    won, _ = _tool_credit(episodes, cfg)
    assert all(c <= 0 for c in won) and any(c < 0 for c in won)


def test_reconstruction_follows_rolls_formulas():
    """Hand-computed: two trajectories of one group, step_reinforce with gamma 0.5, group mean, no std."""
    s = episode_samples([0.0, 0.0, 1.0], "g_0", "g") + episode_samples([0.0, 0.0], "g_1", "g")
    cfg = {"adv_estimator": "step_reinforce", "step_reward_gamma": 0.5,
           "reward_normalization": {"grouping": "traj_group_id", "norm_mean_type": "group"}}
    returns = [0.25, 0.5, 1.0, 0.0, 0.0]
    mean = sum(returns) / 5
    assert step_credit(s, cfg) == pytest.approx([r - mean for r in returns])
    one = episode_samples([1.0], "h_0", "h")  # a one-sample group with a std: ROLL gives 0, not NaN
    cfg["reward_normalization"]["norm_std_type"] = "group"
    assert step_credit(one, cfg) == [0.0]


def _unknown_keys(node, cls, path=""):
    bad = []
    for k, v in node.items():
        if k not in FIELDS[cls]:
            bad.append(path + k)
        elif FIELDS[cls][k] and isinstance(v, dict):
            bad += _unknown_keys(v, FIELDS[cls][k], f"{path}{k}.")
    return bad


def _key_problems(cfg, text):
    """Keys ROLL's ``dacite.from_dict(AgenticConfig, ...)`` would silently ignore: allowed only at the top
    level as Hydra's own section or as interpolation sources (``${key}`` used elsewhere in the file)."""
    used = set(re.findall(r"\$\{(\w+)\}", text))
    return [k for k in _unknown_keys(cfg, "AgenticConfig") if not ("." not in k and (k == "hydra" or k in used))]


@pytest.mark.parametrize("name", CONFIGS)
def test_config_keys_exist_in_rolls_dataclasses(name):
    assert FIELDS["_source"]["commit"] == ROLL_COMMIT
    cfg, text = _load(name)
    assert _key_problems(cfg, text) == []
    assert cfg["step_reward_gamma"] == 1.0 and cfg["batch_adjust_mode"] in ("copy", "delete", "auto", "random_sample")
    for tag in cfg["custom_envs"]:  # reward keys are ours: RewardConfig.of rejects unknown ones
        from stt_arena.rl.reward import RewardConfig
        r = RewardConfig.of(cfg["custom_envs"][tag]["env_config"].get("reward"))
        assert not r.shaped  # the paper's outcome reward by default


def test_key_check_rejects_typos():
    cfg, text = _load("grpo.yaml")
    cfg["adv_estimater"] = cfg.pop("adv_estimator")
    cfg["reward_normalization"]["norm_mean"] = "group"
    cfg["actor_infer"]["generating_args"]["max_new_token"] = 10
    assert sorted(_key_problems(cfg, text)) == ["actor_infer.generating_args.max_new_token", "adv_estimater",
                                                 "reward_normalization.norm_mean"]


def test_shaped_rewards_are_paid_at_the_step_that_earns_them_and_off_by_default():
    core = STTArenaCore(pool_size=24, pool_seed=7, reward={"detection_bonus": 0.2, "verification_bonus": 0.3})
    task = next(t for t in core._pool() if not t.impossible and any(st.role == "verify" for st in t.plans.oracle))
    core.tasks = [task]
    core.reset(0)
    rewards = [core.step(_qwen(st))[1] for st in task.plans.oracle if st.method != FINAL_MESSAGE]
    _, final, _, _, info = core.step("Done.")
    assert sorted(r for r in rewards if r) == [0.2, 0.3] and rewards[0] == 0.0
    assert info["metrics"]["reward"] == pytest.approx(1.5) and info["metrics"]["outcome_reward"] == 1.0
    plain = STTArenaCore(pool_size=24, pool_seed=7)
    plain.tasks = [task]
    plain.reset(0)
    assert [plain.step(_qwen(st))[1] for st in task.plans.oracle if st.method != FINAL_MESSAGE] == [0.0] * len(rewards)
    with pytest.raises(ValueError, match="unknown reward key"):
        STTArenaCore(pool_size=24, pool_seed=7, reward={"detection": 0.2})


def _import_roll(tmp_path, monkeypatch):
    """ROLL's own advantage code, where ROLL is importable (torch, ray, tensordict, imageio, codetiming; its
    source on the path). Its transfer backend imports ``transfer_queue`` at module level, unused by the
    functions below: a placeholder lets them import. ROLL's logger writes ./output/logs: run from tmp."""
    import importlib.util
    import sys
    import types

    for dep in ("torch", "ray", "tensordict", "imageio", "codetiming"):
        if importlib.util.find_spec(dep) is None:
            pytest.skip(f"ROLL needs {dep}")
    if importlib.util.find_spec("roll") is None:
        pytest.skip("ROLL is not importable (put its source on PYTHONPATH)")
    monkeypatch.chdir(tmp_path)
    if importlib.util.find_spec("transfer_queue") is None:
        monkeypatch.setitem(sys.modules, "transfer_queue", types.ModuleType("transfer_queue"))
    from roll.distributed.scheduler.protocol import DataProto
    from roll.pipeline.agentic import utils
    from roll.pipeline.agentic.agentic_config import RewardNormalizationConfig
    from roll.utils.functionals import expand_to_token_level
    return DataProto, utils, RewardNormalizationConfig, expand_to_token_level


@pytest.mark.parametrize("name,override", [("reinforce_pp.yaml", {}), ("grpo.yaml", {}),
                                           ("reinforce_pp.yaml", {"adv_estimator": "reinforce"}),
                                           ("grpo.yaml", {"adv_estimator": "grpo"}),
                                           ("reinforce_pp.yaml", {"whiten_advantages": True, "step_reward_gamma": 0.9})])
def test_reconstruction_matches_rolls_own_code(episodes, name, override, tmp_path, monkeypatch):
    """Where ROLL imports, the same samples go through ROLL's ``compute_discounted_returns``,
    ``compute_response_level_rewards`` and ``agentic_compute_advantage`` (batch built as
    ``formulate_rollouts`` builds it) and give the credit ``roll_credit`` computes."""
    import types

    DataProto, utils, RNC, expand = _import_roll(tmp_path, monkeypatch)  # skips without ROLL
    import numpy as np
    import torch
    from tensordict import TensorDict

    cfg, _ = _load(name)
    cfg.update(override)
    samples, _ = _samples(episodes)
    prompt, width = 5, 5 + max(s.n_response_tokens for s in samples) + 3
    ids, att, pos, resp, scores = [], [], [], [], []
    for s in samples:
        n = prompt + s.n_response_tokens
        a = [1] * n + [0] * (width - n)
        att.append(a)
        ids.append([7] * n + [0] * (width - n))
        pos.append(list(range(n)) + [0] * (width - n))
        resp.append([0] * prompt + [1] * s.n_response_tokens + [0] * (width - n))
        sc = [0.0] * width
        sc[n - 1] = s.step_score
        scores.append(sc)
    obj = lambda xs: np.array(xs, dtype=object)  # noqa: E731
    batch = DataProto(batch=TensorDict({"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(att),
                                        "position_ids": torch.tensor(pos),
                                        "response_mask": torch.tensor(resp, dtype=torch.bool),
                                        "scores": torch.tensor(scores)}, batch_size=len(samples)),
                      non_tensor_batch={"traj_id": obj([s.traj_id for s in samples]),
                                        "traj_group_id": obj([s.traj_group_id for s in samples]),
                                        "step": obj([s.step for s in samples]), "tags": obj([s.tag for s in samples]),
                                        "step_scores": obj([s.step_score for s in samples]),
                                        "episode_scores": obj([s.episode_score for s in samples])})
    rn = cfg["reward_normalization"]
    pc = types.SimpleNamespace(adv_estimator=cfg["adv_estimator"], reward_clip=cfg.get("reward_clip"),
                               reward_normalization=RNC(grouping=rn["grouping"], norm_mean_type=rn["norm_mean_type"],
                                                        norm_std_type=rn["norm_std_type"]))
    batch = utils.compute_discounted_returns(batch, cfg["adv_estimator"], cfg["step_reward_gamma"])
    batch, _ = utils.compute_response_level_rewards(batch, pc)
    batch.batch["token_level_rewards"] = expand(batch)
    batch = utils.agentic_compute_advantage(batch, gamma=1.0, lambd=0.95, adv_estimator=cfg["adv_estimator"],
                                            advantage_clip=cfg.get("advantage_clip"),
                                            whiten_advantages=cfg.get("whiten_advantages", False), pipeline_config=pc)
    mask = batch.batch["response_mask"][:, 1:].float()
    theirs = ((batch.batch["advantages"] * mask).sum(-1) / mask.sum(-1)).tolist()
    assert theirs == pytest.approx(step_credit(samples, cfg), abs=1e-4)


def test_field_fixture_matches_rolls_dataclasses(tmp_path, monkeypatch):
    """Where ROLL imports, the extracted field names are exactly its dataclasses' fields."""
    import dataclasses

    _import_roll(tmp_path, monkeypatch)
    from roll.configs.worker_config import WorkerConfig
    from roll.pipeline.agentic.agentic_config import AgenticConfig, EnvManagerConfig, RewardNormalizationConfig

    for cls in (AgenticConfig, EnvManagerConfig, RewardNormalizationConfig, WorkerConfig):
        assert {f.name for f in dataclasses.fields(cls)} == set(FIELDS[cls.__name__]), cls.__name__
