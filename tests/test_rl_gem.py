"""GEM- and ROLL-facing side of the RL environment: registration, env contracts, configs, launch script.

Tests that need ``gem-llm`` (the ``[rl]`` extra) skip without it; the config checks always run.
"""
import importlib
import json
import re
import threading
from pathlib import Path

import pytest

from stt_arena.benchmark.generate import generate
from stt_arena.task.models import FINAL_MESSAGE

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ("reinforce_pp.yaml", "grpo.yaml")


def _resolve(node, root):
    """Top-level ``${key}`` interpolations, as OmegaConf resolves them for ROLL (``oc.env`` left as is)."""
    if isinstance(node, dict):
        return {k: _resolve(v, root) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, root) for v in node]
    m = re.fullmatch(r"\$\{(\w+)\}", node) if isinstance(node, str) else None
    return _resolve(root[m.group(1)], root) if m else node


def _cfg(name):
    yaml = pytest.importorskip("yaml")
    raw = yaml.safe_load((ROOT / "RL" / name).read_text())
    return _resolve(raw, raw)


@pytest.mark.parametrize("name", CONFIGS)
def test_roll_configs_load_and_name_our_env_manager(name):
    cfg = _cfg(name)
    # consistency, not tuning: the values are the user's to change
    assert cfg["pretrain"] and cfg["max_steps"] > 0
    assert 0 < cfg["actor_train"]["training_args"]["learning_rate"] < 1e-3
    tm = cfg["train_env_manager"]
    new_tokens = cfg["actor_infer"]["generating_args"]["max_new_tokens"]
    assert cfg["sequence_length"] > new_tokens > 0
    assert cfg["rollout_batch_size"] % (tm["num_env_groups"] * tm["group_size"]) == 0  # whole env groups
    kl = cfg["init_kl_coef"] if cfg["add_token_level_kl"] else cfg["kl_loss_coef"]
    assert kl >= 0 and cfg["adv_estimator"] == "step_reinforce"  # credit per step: tests/test_rl_credit.py
    vm = cfg["val_env_manager"]
    assert cfg["val_batch_size"] % (vm["num_env_groups"] * vm["group_size"]) == 0
    for tag in tm["tags"] + vm["tags"]:
        env = cfg["custom_envs"][tag]
        mod, _, cls = env["env_manager_cls"].rpartition(".")
        assert mod == "stt_arena.rl.env_manager" and hasattr(importlib.import_module(mod), cls)
        assert env["env_type"] in ("stt_arena", "stt_arena_text")
        # ROLL's TrajEnvManager.__init__ (also AgentNativeStepEnvManager's) reads these two keys
        assert "agent_system_template" in env and "agent_template" in env
        assert env["max_tokens_per_step"] == new_tokens and env["max_steps"] == env["env_config"]["max_steps"]
        if "task_file" in env["env_config"]:
            assert (ROOT / env["env_config"]["task_file"]).exists()


def test_launch_script_passes_a_relative_config_path():
    text = (ROOT / "RL" / "launch.sh").read_text()
    assert "relpath" in text and "start_agentic_pipeline.py" in text  # hydra's initialize() refuses absolute paths


@pytest.fixture(scope="module")
def gem():
    gem = pytest.importorskip("gem")
    from stt_arena.rl.env_manager import register_envs
    register_envs()
    return gem


def qwen(step):
    if step.method == FINAL_MESSAGE:
        return step.arguments["content"] + "<|im_end|>"
    return "<tool_call>\n" + json.dumps({"name": step.method, "arguments": step.arguments}) + "\n</tool_call><|im_end|>"


def test_registration_is_idempotent(gem):
    from stt_arena.rl.env_manager import ENV_IDS, register_envs

    assert register_envs() == list(ENV_IDS)
    importlib.reload(importlib.import_module("stt_arena.rl.env_manager"))  # a second import: no error
    assert register_envs() == list(ENV_IDS)


def _task_env(gem, env_id, task, **kw):
    env = gem.make(env_id, pool_size=8, pool_seed=3, **kw)
    env.core.tasks = [task]
    return env


def test_native_env_full_episode_oracle_and_stale(gem):
    tasks = [t for t in generate(8, 11, "train") if not t.impossible][:3]
    for task in tasks:
        for plan, want in ((task.plans.oracle, 1.0), (task.plans.normal, 0.0)):
            env = _task_env(gem, "stt_arena", task)
            obs, info = env.reset(seed=0)
            assert not env.env_reset_failed and env.env_info["task_id"] == task.task_id
            assert obs[0]["role"] == "system" and "chat_with_user" in {t["function"]["name"] for t in info["tools"]}
            out = None
            for st in plan:
                out = env.step(action=qwen(st))
                if out[2]:
                    break
            if not out[2]:
                out = env.step(action="Task Completed.<|im_end|>")
            assert out[1] == want and out[2], (task.task_id, out[4]["grade"])
            assert out[4]["metrics"]["trigger_fired"] and out[4]["metrics_agg_mode"]["success"] == "last"


def test_text_env_follows_traj_env_manager_contract(gem):
    task = next(t for t in generate(8, 11, "train") if not t.impossible)
    env = _task_env(gem, "stt_arena_text", task)
    obs, info = env.reset(seed=0)
    assert obs == task.query and "<tools>" in info["env_instruction"] and "<tool_call>" in info["env_instruction"]
    obs, r, term, _, info = env.step(action=qwen(task.plans.oracle[0]))
    assert isinstance(obs, str) and obs and info["use_tool"] and not term
    obs, r, term, _, info = env.step(action="{oops")  # no tool call, but text: a final answer
    assert term and isinstance(obs, str)


def test_reset_failure_is_reported_not_raised(gem):
    env = gem.make("stt_arena", pool_size=8, pool_seed=3)
    env.core.tasks = []
    obs, info = env.reset(seed=1)
    assert env.env_reset_failed and obs == [] and info["failure_mode"] == "env_reset_failed"


def test_many_gem_envs_in_threads_stay_isolated(gem):
    tasks = [t for t in generate(12, 5, "train") if not t.impossible][:8]
    rewards = {}

    def worker(i, task):
        env = _task_env(gem, "stt_arena", task)
        for ep in range(2):  # two episodes per env: reset reuses the instance
            env.reset(seed=ep)
            plan = task.plans.oracle if (i + ep) % 2 == 0 else task.plans.normal
            out = None
            for st in plan:
                out = env.step(action=qwen(st))
                if out[2]:
                    break
            if not out[2]:
                out = env.step(action="Task Completed.")
            rewards[i, ep] = out[1]

    ths = [threading.Thread(target=worker, args=(i, t)) for i, t in enumerate(tasks)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    assert rewards == {(i, ep): 1.0 if (i + ep) % 2 == 0 else 0.0 for i in range(len(tasks)) for ep in range(2)}


def test_env_manager_subclasses_rolls_managers_when_roll_is_importable(monkeypatch):
    """With ROLL importable (faked here: ROLL needs torch/ray), the class paths are ROLL subclasses."""
    import importlib.machinery
    import sys
    import types

    fakes = {}
    for name in ("roll", "roll.pipeline", "roll.pipeline.agentic", "roll.pipeline.agentic.env_manager",
                 "roll.pipeline.agentic.env_manager.agent_native_env_manager",
                 "roll.pipeline.agentic.env_manager.traj_env_manager"):
        mod = types.ModuleType(name)
        mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
        fakes[name] = mod
    fakes["roll.pipeline.agentic.env_manager.traj_env_manager"].TrajEnvManager = type("TrajEnvManager", (), {})
    fakes["roll.pipeline.agentic.env_manager.agent_native_env_manager"].AgentNativeStepEnvManager = type(
        "AgentNativeStepEnvManager", (fakes["roll.pipeline.agentic.env_manager.traj_env_manager"].TrajEnvManager,), {})
    for name, mod in fakes.items():
        monkeypatch.setitem(sys.modules, name, mod)
    em = importlib.reload(importlib.import_module("stt_arena.rl.env_manager"))
    try:
        assert em.STTArenaNativeEnvManager.__mro__[1].__name__ == "AgentNativeStepEnvManager"
        assert em.STTArenaTrajEnvManager.__mro__[1].__name__ == "TrajEnvManager"
    finally:
        monkeypatch.undo()
        importlib.reload(em)
    with pytest.raises(ImportError, match="ROLL is not installed"):
        em.STTArenaNativeEnvManager()


def test_task_file_relative_to_the_package(gem):
    env = gem.make("stt_arena", task_file="stt_arena/data/benchmark_v1.jsonl")
    msgs, info = env.reset(seed=3)
    assert info["task_id"] and len(env.core.tasks) > 10
