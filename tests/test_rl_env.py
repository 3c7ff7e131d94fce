"""The RL environment's GEM-free core and the Qwen parser (always run): episodes, rewards, format penalty,
thread isolation, trainer-forced stops. GEM/ROLL-facing tests are in test_rl_gem.py."""
import json
import threading
from pathlib import Path

import pytest

from stt_arena.rl.core import STTArenaCore
from stt_arena.rl.qwen_format import parse_action
from stt_arena.task.models import FINAL_MESSAGE

ROOT = Path(__file__).resolve().parents[1]


def qwen(step) -> str:
    if step.method == FINAL_MESSAGE:
        return "<think>Done, tell the user.</think>\n" + step.arguments["content"]
    call = json.dumps({"name": step.method, "arguments": step.arguments})
    return f"<think>Next: {step.method}.</think>\n<tool_call>\n{call}\n</tool_call>"


def play(core, plan, final="Task Completed."):
    msgs, info = core.reset_task
    out = None
    for st in plan:
        out = core.step(qwen(st))
        if out[2] or out[3]:
            return out
    return core.step(final)


@pytest.fixture(scope="module")
def pool():
    core = STTArenaCore(pool_size=36, pool_seed=3)
    return core._pool()


def _core(task, **kw):
    core = STTArenaCore(pool_size=36, pool_seed=3, **kw)
    core.tasks = [task]
    core.reset_task = core.reset(0)
    return core


def test_parse_qwen_and_openai_forms():
    p = parse_action('<think>hmm</think>\n<tool_call>\n{"name": "get_x", "arguments": {"a": 1}}\n</tool_call>'
                     '<tool_call>{"name": "y", "arguments": "{}"}</tool_call>')
    assert p.thought == "hmm" and p.calls == [{"name": "get_x", "arguments": {"a": 1}}, {"name": "y", "arguments": {}}]
    assert parse_action("All done, booked S2.").is_final
    assert parse_action('<tool_call>{"name": "x", "arguments": [1]}</tool_call>').error
    assert parse_action("<tool_call>{not json</tool_call>").error
    assert parse_action("").error == "empty response"
    oa = parse_action({"content": None, "tool_calls": [{"id": "c1", "type": "function",
                                                        "function": {"name": "get_x", "arguments": '{"a": 2}'}}]})
    assert oa.calls == [{"name": "get_x", "arguments": {"a": 2}}]
    assert parse_action("reasoning without the opening tag</think>final answer").content == "final answer"


def test_reset_returns_messages_and_tool_schemas(pool):
    core = _core(pool[0])
    msgs, info = core.reset_task
    assert [m["role"] for m in msgs] == ["system", "user"] and msgs[1]["content"] == pool[0].query
    names = {t["function"]["name"] for t in info["tools"]}
    assert "chat_with_user" in names and all(t["type"] == "function" for t in info["tools"])


def test_oracle_like_policy_earns_reward_and_stale_does_not(pool):
    for task in pool[:12]:
        _, r, term, trunc, info = play(_core(task), task.plans.oracle)
        assert term and not trunc and r == 1.0 and info["metrics"]["success"], (task.task_id, info["grade"])
        assert info["metrics"]["trigger_fired"]
        _, r, term, _, info = play(_core(task), task.plans.normal)
        assert term and r == 0.0 and not info["metrics"]["success"], task.task_id


def test_fraction_reward_and_format_penalty(pool):
    task = next(t for t in pool if not t.impossible)
    core = _core(task, reward={"mode": "fraction", "format_penalty": 0.1})
    msgs, r, term, _, info = core.step("<tool_call>{broken json</tool_call>")
    # the penalty is paid at the step of the malformed output
    assert not term and r == -0.1 and "malformed" in msgs[-1]["content"] and msgs[-1]["role"] == "tool"
    _, r, *_ = core.step('<tool_call>{"name": "teleport", "arguments": {}}</tool_call>')  # unknown tool
    assert "Unknown tool 'teleport'" in core.messages[-1]["content"] and r == -0.1
    _, r2, term, _, info = play(core, task.plans.normal)
    assert term and info["metrics"]["n_invalid"] == 2
    assert r2 == pytest.approx(info["metrics"]["checklist_fraction"])
    assert info["metrics"]["reward"] == pytest.approx(info["metrics"]["checklist_fraction"] - 0.2)


def test_max_steps_truncates(pool):
    core = _core(pool[0], max_steps=3)
    call = '<tool_call>{"name": "chat_with_user", "arguments": {"message": "Anything else?"}}</tool_call>'
    outs = [core.step(call) for _ in range(3)]
    assert outs[-1][3] is True and outs[-1][4]["stop_reason"] == "max_steps"
    with pytest.raises(RuntimeError):
        core.step(call)


def test_threads_step_isolated_environments(pool):
    tasks = [t for t in pool if not t.impossible][:8]
    results = {}

    def worker(i, task):
        core = _core(task)
        plan = task.plans.oracle if i % 2 == 0 else task.plans.normal
        results[i] = play(core, plan)[1]

    ths = [threading.Thread(target=worker, args=(i, t)) for i, t in enumerate(tasks)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    assert [results[i] for i in range(len(tasks))] == [1.0 if i % 2 == 0 else 0.0 for i in range(len(tasks))]


def test_sandboxed_episode_same_reward(pool):
    task = pool[1]
    assert play(_core(task, sandbox=True), task.plans.oracle)[1] == 1.0


def test_openai_tool_call_dicts_are_accepted(pool):
    task = pool[2]
    core = _core(task)
    first = task.plans.oracle[0]
    msg = {"content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
        "name": first.method, "arguments": json.dumps(first.arguments)}}]}
    msgs, r, term, _, info = core.step(msg)
    assert not term and msgs[-2]["tool_calls"][0]["id"] == "c1" and msgs[-1]["role"] == "tool"
    assert core.steps[-1]["kind"] == "tool" and core.steps[-1]["tool"] == first.method


def test_special_tokens_multi_calls_and_forced_stop(pool):
    task = next(t for t in pool if not t.impossible)
    core = _core(task)
    first, second = task.plans.oracle[0], task.plans.oracle[1]
    two = qwen(first) + "\n<tool_call>" + json.dumps({"name": second.method, "arguments": second.arguments}) \
        + "</tool_call><|im_end|>"
    msgs, r, term, _, info = core.step(two)
    assert not term and "<|im_end|>" not in msgs[-3]["content"] and info["use_tool"]
    assert [m["role"] for m in msgs[-2:]] == ["tool", "tool"] and msgs[-1]["content"].startswith("Not executed")
    assert core.n_calls == 1 and core.steps[-1]["tool"] == first.method

    class Stop:  # what ROLL passes when generation was cut (an EpisodeStopReason enum member)
        value = "max_length"
    _, r, term, trunc, info = core.step(Stop())
    assert term and trunc and r == 0.0 and info["stop_reason"] == "forced:max_length"


def test_oracle_with_end_tokens_and_failure_mode_flags(pool):
    task = next(t for t in pool if not t.impossible)
    core = _core(task)
    for st in task.plans.oracle:
        out = core.step(qwen(st) + "<|im_end|>")
        if out[2]:
            break
    else:
        out = core.step("Task Completed.<|im_end|>")
    assert out[1] == 1.0 and out[4]["failure_mode"] == ""
    flagged = 0
    for t in pool[:12]:
        info = play(_core(t), t.plans.normal)[4]
        assert {"mode_stale_state", "mode_misdiagnosis", "mode_missing_verification"} <= set(info["metrics"])
        assert all(isinstance(v, (bool, int, float)) for v in info["metrics"].values())
        flagged += bool(info["failure_mode"])
    assert flagged > 0  # the stale plan shows up as a failure mode somewhere
