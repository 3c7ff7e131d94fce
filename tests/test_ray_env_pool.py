"""RL environment pools on Ray (stt_arena/rl/env_pool.py): a proxy env on the driver plays episodes in pool
actors on other nodes with the same messages, rewards and info as a local environment; a lost pool ends its
episode as truncated (env_pool_lost) and the next reset binds to a live pool; no pool is a failed reset, not
an exception. Skips where Ray cannot start."""
from __future__ import annotations

import time

import pytest

from stt_arena.data import examples_path
from stt_arena.rl.core import STTArenaCore
from stt_arena.task.io import load_tasks

from .test_rl_env import qwen
from .ray_helpers import two_node_cluster

pytestmark = pytest.mark.slow
NS = "stt_arena_test"


@pytest.fixture(scope="module")
def pools():
    with two_node_cluster():
        from stt_arena.rl.env_pool import start_pools
        yield start_pools(2, envs_per_pool=8, namespace=NS, prefix="pool", num_cpus=0.5, detached=False)


def _episode(env, seed, task):
    """reset, the oracle plan as Qwen text, then the final answer; every step's return value."""
    out = [env.reset(seed)]
    for st in task.plans.oracle:
        r = env.step(qwen(st))
        out.append(r)
        if r[2] or r[3]:
            return out
    out.append(env.step("Task Completed."))
    return out


def _comparable(steps):
    keep = []
    for s in steps:
        if len(s) == 2:
            keep.append((s[0], {k: v for k, v in s[1].items()}))
        else:
            msgs, reward, term, trunc, info = s
            keep.append((msgs, reward, term, trunc, info.get("metrics"), info.get("grade"), info.get("stop_reason")))
    return keep


@pytest.mark.parametrize("sandbox", [False, True])
def test_pool_env_plays_like_a_local_env(pools, sandbox):
    from stt_arena.rl.env_pool import STTArenaPoolEnv
    tasks = load_tasks(examples_path())
    conf = {"task_file": str(examples_path()), "sandbox": sandbox, "max_steps": 30}
    local = STTArenaCore(**conf)
    far = STTArenaPoolEnv(pool="pool", namespace=NS, **conf)
    for seed in range(3):
        task = tasks[__import__("random").Random(seed).randrange(len(tasks))]
        a, b = _episode(local, seed, task), _episode(far, seed, task)
        assert not far.env_reset_failed
        assert _comparable(a) == _comparable(b)
        assert b[-1][1] == 1.0 and b[-1][2]  # the oracle's reward at the end
        assert far.env_info["task_id"] == task.task_id
    far.close()
    local.close()


def test_a_lost_pool_truncates_its_episode_and_the_next_reset_moves(pools):
    import ray

    from stt_arena.rl.env_pool import STTArenaPoolEnv, start_pools
    extra = start_pools(1, envs_per_pool=4, namespace=NS, prefix="lone", num_cpus=0, detached=False)[0]
    env = STTArenaPoolEnv(pool="lone", namespace=NS, task_file=str(examples_path()))
    msgs, info = env.reset(0)
    assert msgs and not env.env_reset_failed
    ray.kill(extra)  # its node lost, as far as the proxy can tell
    for _ in range(300):  # ray.kill is asynchronous: the next step must meet a dead actor, not race it
        try:
            ray.get(extra.load.remote(), timeout=10)
        except ray.exceptions.RayActorError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the killed pool actor still answers")
    out = env.step('<tool_call>{"name": "chat_with_user", "arguments": {"message": "Which one?"}}</tool_call>')
    assert out[2] and out[3] and out[4]["failure_mode"] == "env_pool_lost" and out[1] == 0.0
    assert out[0] == msgs  # the history it had, nothing invented
    # no live pool under that prefix: a failed reset (ROLL drops the group), not an exception
    msgs, info = env.reset(1)
    assert env.env_reset_failed and info["failure_mode"] == "env_reset_failed" and msgs == []
    env.pool_name = "pool"  # the group that is alive
    msgs, info = env.reset(1)
    assert msgs and not env.env_reset_failed
    env.close()


def test_no_such_pool_is_a_failed_reset(pools):
    from stt_arena.rl.env_pool import STTArenaPoolEnv
    env = STTArenaPoolEnv(pool="nowhere", namespace=NS, task_file=str(examples_path()))
    msgs, info = env.reset(0)
    assert env.env_reset_failed and "no env pool named nowhere" in info["error_msg"]
