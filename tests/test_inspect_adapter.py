"""Issue 20: the benchmark as an Inspect AI task. The same scripted model (the local OpenAI-protocol server,
through the real ``openai`` client in ``stt-arena eval`` and through Inspect's ``openai`` provider) must pass
exactly the same tasks on both paths; the Inspect log shows the trigger events and reads back as trajectory
records for ``report``/``analyze``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)

pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval  # noqa: E402

from stt_arena.data import default_tasks_path  # noqa: E402
from stt_arena.eval.runner import run_eval  # noqa: E402
from stt_arena.inspect_ai.convert import records_from_log, write_results  # noqa: E402
from stt_arena.inspect_ai.task import load_benchmark, stt_arena  # noqa: E402
from stt_arena.results.store import ResultsFileError, load_results  # noqa: E402
from stt_arena.task.io import load_tasks, save_tasks  # noqa: E402
from stt_arena.task.models import CHAT_WITH_USER, FINAL_MESSAGE  # noqa: E402
from stt_arena.testing.fake_openai import FakeOpenAIServer  # noqa: E402

from .eval_helpers import cfg, fake_cfg  # noqa: E402


ARGS = {"responses_api": False, "api_key": "test-key"}  # Inspect's openai provider on the local server


def _pick() -> list:
    """10 tasks spread over the four levels and the nine conflict types of the built-in benchmark."""
    tasks = load_tasks(default_tasks_path())
    types = sorted({t.conflict_type for t in tasks})
    out: list = []
    for i in range(10):
        level, ctype = ("easy", "medium", "hard", "impossible")[i % 4], types[i % len(types)]
        out.append(next(t for t in tasks if t.level == level and t not in out
                        and (t.conflict_type == ctype or not any(x.level == level and x.conflict_type == ctype
                                                                 for x in tasks))))
    return out


def _replies(task, mode: str) -> list:
    """The scripted model's replies, turn by turn: the oracle plan, the stale normal plan, or the oracle
    after a call to a tool that does not exist (an invalid turn, not a crash)."""
    plan = task.plans.normal if mode == "stale" else task.plans.oracle
    out: list = [{"tool_calls": [{"name": "no_such_tool", "arguments": {"x": 1}}]}] if mode == "bogus" else []
    for st in plan:
        if st.method == FINAL_MESSAGE:
            out.append({"content": str(st.arguments.get("content", "Task Completed."))})
        elif st.method == CHAT_WITH_USER:
            out.append({"tool_calls": [{"name": CHAT_WITH_USER, "arguments": {"message": st.arguments.get("content", "")}}]})
        else:
            out.append({"tool_calls": [{"name": st.method, "arguments": st.arguments}]})
    if not out or "content" not in out[-1]:
        out.append({"content": "Task Completed."})
    return out


def _policy(tasks, modes: dict[str, str]):
    by_query = {t.query: t for t in tasks}

    def reply(body: dict):
        msgs = body["messages"]
        t = by_query[next(m["content"] for m in msgs if m["role"] == "user")]
        items = _replies(t, modes[t.task_id])
        return items[min(sum(1 for m in msgs if m["role"] == "assistant"), len(items) - 1)]

    return reply


def _inspect(tasks, sv, log_dir, **targs):
    [log] = inspect_eval(stt_arena(task_ids=",".join(t.task_id for t in tasks), **targs), model="openai/fake-model",
                         model_base_url=sv.base_url, model_args=ARGS, log_dir=str(log_dir),
                         log_format="json", display="none", max_connections=4)
    assert log.status == "success", log.error
    return log


@pytest.fixture(scope="module")
def both_paths(tmp_path_factory):
    """The same 10 tasks and scripted actions through ``stt-arena eval`` and ``inspect eval`` (sandboxed)."""
    tmp = tmp_path_factory.mktemp("inspect")
    tasks = _pick()
    modes = {t.task_id: ("stale" if i % 3 == 1 else "bogus" if i % 3 == 2 else "oracle") for i, t in enumerate(tasks)}
    with FakeOpenAIServer(_policy(tasks, modes)) as sv:
        run_eval(cfg(agent=fake_cfg("fake-model", sv.base_url), sandbox=True), tasks, tmp / "eval", progress=False)
        log = _inspect(tasks, sv, tmp / "logs")
    recs = [json.loads(x) for x in (tmp / "eval" / "results.jsonl").read_text().splitlines()]
    return tasks, modes, recs, log, tmp


def test_inspect_and_stt_arena_eval_pass_exactly_the_same_tasks(both_paths):
    tasks, modes, recs, log, _ = both_paths
    ours = {r["task_id"]: r["passed"] for r in recs}
    theirs = {str(s.id): s.scores["episode_scorer"].value == 1.0 for s in log.samples}
    assert len(ours) == len(theirs) == 10 and ours == theirs
    assert all(ours[i] for i, m in modes.items() if m != "stale")  # oracle (after a bad call too) passes
    assert not any(ours[i] for i, m in modes.items() if m == "stale")  # the stale script fails the same ones
    by_id = {str(s.id): s for s in log.samples}
    for r in recs:  # the same protocol: same steps, invalid turns, trigger events and termination
        rec = by_id[r["task_id"]].store["stt_arena_record"]
        assert [(s["kind"], s.get("tool")) for s in rec["steps"]] == [(s["kind"], s.get("tool")) for s in r["steps"]]
        assert len(rec["events"]) == len(r["events"]) and rec["termination"] == r["termination"]
    bogus = next(i for i, m in modes.items() if m == "bogus")
    assert by_id[bogus].store["stt_arena_record"]["steps"][0]["kind"] == "invalid"


def test_metrics_report_pass_per_level_and_type(both_paths):
    tasks, _, recs, log, _ = both_paths
    metrics = log.results.scores[0].metrics
    for lv in {t.level for t in tasks}:
        got = [r["passed"] for r in recs if r["level"] == lv]
        assert metrics[f"level:{lv}"].value == pytest.approx(sum(got) / len(got))
    for ty in {t.conflict_type for t in tasks}:
        got = [r["passed"] for r in recs if r["conflict_type"] == ty]
        assert metrics[f"type:{ty}"].value == pytest.approx(sum(got) / len(got))
    assert metrics["accuracy"].value == pytest.approx(sum(r["passed"] for r in recs) / 10)


def test_log_json_shows_trigger_events_and_final_state(both_paths):
    _, _, recs, log, _ = both_paths
    data = json.loads(Path(log.location).read_text())
    header = json.dumps([data["plan"], data["eval"]["scorers"]])
    assert "class_name" not in header and len(header) < 5000  # parameters, not the tasks, in the log header
    fired = {r["task_id"]: len(r["events"]) for r in recs}
    assert sum(fired.values()) > 0
    for s in data["samples"]:
        assert len(s["metadata"]["trigger_events"]) == fired[s["id"]]
        assert s["metadata"]["final_state"] and s["metadata"]["checklist"]
        infos = [e for e in s["events"] if e["event"] == "info" and "trigger fired" in (e.get("source") or "")]
        assert sum(len(e["data"]["trigger_events"]) for e in infos) == fired[s["id"]]


def test_report_reads_the_inspect_log_through_inspect_import(both_paths):
    _, _, recs, log, tmp = both_paths
    got, config = records_from_log(log.location)
    assert {r["task_id"]: r["passed"] for r in got} == {r["task_id"]: r["passed"] for r in recs}
    assert config["label"] == "openai/fake-model" and config["benchmark"] and config["tasks_sha256"]
    assert all(r["grade"]["items"] and r["steps"] for r in got)
    r = subprocess.run([sys.executable, "-m", "stt_arena", "inspect-import", log.location, str(tmp / "imported")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "wrote 10 episode(s)" in r.stdout, r.stderr
    back, cfg = load_results(tmp / "imported")
    assert {x["task_id"]: x["passed"] for x in back} == {x["task_id"]: x["passed"] for x in recs}
    assert cfg["tasks_sha256"] == config["tasks_sha256"]
    r = subprocess.run([sys.executable, "-m", "stt_arena", "report", str(tmp / "imported"), "-o", str(tmp / "report")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "openai/fake-model" in (tmp / "report" / "report.md").read_text()
    with pytest.raises(ResultsFileError, match="already holds results"):  # nothing overwritten
        write_results(log.location, tmp / "imported")


def test_inspect_import_fails_in_one_line_and_writes_nothing(tmp_path):
    from typer.testing import CliRunner

    from stt_arena.cli import app

    (tmp_path / "broken.eval").write_text("not a log")
    r = CliRunner().invoke(app, ["inspect-import", str(tmp_path / "broken.eval"), str(tmp_path / "o")])
    assert r.exit_code == 2 and "not a readable Inspect log" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o" / "results.jsonl").exists()


def test_a_log_of_another_task_or_a_broken_file_is_refused(tmp_path, both_paths):
    _, _, _, log, _ = both_paths
    other = json.loads(Path(log.location).read_text())
    other["eval"]["task"] = "someone_else/qa"
    (tmp_path / "other.json").write_text(json.dumps(other))
    with pytest.raises(ResultsFileError, match="not of stt_arena"):
        records_from_log(tmp_path / "other.json")
    (tmp_path / "broken.eval").write_text("not a log")
    with pytest.raises(ResultsFileError, match="broken.eval: not a readable Inspect log"):
        records_from_log(tmp_path / "broken.eval")


def test_filters_and_in_process_runs_refuse_untrusted_code(tmp_path):
    sel = load_benchmark(types="T1,S2", levels="hard")
    assert sel and {(t.conflict_type, t.level) for t in sel} <= {("T1", "hard"), ("S2", "hard")}
    with pytest.raises(ValueError, match="no such task"):
        load_benchmark(task_ids="nope")
    t = sel[0].model_copy(deep=True)
    t.environment.source += "\n# changed\n"  # no longer the built-in code
    save_tasks([t], tmp_path / "t.jsonl")
    with pytest.raises(ValueError, match=f"task {t.task_id} carries code that is not built-in"):
        load_benchmark(str(tmp_path / "t.jsonl"), sandbox=False)
    assert load_benchmark(str(tmp_path / "t.jsonl"))  # sandboxed: accepted (the sandbox decides at open)


def test_llm_user_and_model_judge_are_inspect_model_roles(tmp_path):
    """``user=llm`` and ``judge=model`` run on Inspect's 'user' and 'judge' model roles: the user's replies
    come from that model, and its verdict (here a refusal) decides the impossible task."""
    from inspect_ai.model import get_model

    task = next(t for t in load_tasks(default_tasks_path()) if t.impossible
                and any(s.method == CHAT_WITH_USER for s in t.plans.oracle))

    def roles(body: dict):
        first = body["messages"][0]["content"]
        if "The agent's final message to the user:" in first:
            return json.dumps({"recognized_impossibility": True, "fed_back_to_user": False, "evidence": "scripted"})
        return "Role-model user here: please go ahead. ###STOP###"

    with FakeOpenAIServer(_policy([task], {task.task_id: "oracle"})) as agent, FakeOpenAIServer(roles) as rm:
        role = get_model("openai/role-m", base_url=rm.base_url, responses_api=False, api_key="test-key", memoize=False)
        [log] = inspect_eval(stt_arena(task_ids=task.task_id, user="llm", judge="model"), model="openai/fake-model",
                             model_base_url=agent.base_url, model_args=ARGS,
                             model_roles={"user": role, "judge": role}, log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    [s] = log.samples
    rec = s.store["stt_arena_record"]
    chats = [st for st in rec["steps"] if st["kind"] == "chat"]
    assert chats and chats[0]["user_reply"] == "Role-model user here: please go ahead." and chats[0]["user_done"]
    grade = s.scores["episode_scorer"].metadata["grade"]
    assert grade["checklist_passed"] and grade["judge"]["judge"] == "llm:openai/role-m"
    assert s.scores["episode_scorer"].value == 0.0 and not grade["passed"]  # the judge's verdict decided
    assert rec["user_sim"] == "llm:openai/role-m"
    assert rec["grade"]["judge"]["judge"] == "llm:openai/role-m"  # the store holds the scorer's grade too


def test_inspect_limits_end_the_episode_as_agent_error_and_it_is_still_graded(tmp_path):
    """Inspect's token limit (the agent's budget) ends the episode like an HTTP 400 in ``stt-arena eval``:
    ``agent_error``, graded on the state reached, never a crash or a missing record."""
    task = next(t for t in load_tasks(default_tasks_path()) if t.level == "hard")
    with FakeOpenAIServer(_policy([task], {task.task_id: "oracle"})) as sv:
        [log] = inspect_eval(stt_arena(task_ids=task.task_id), model="openai/fake-model", model_base_url=sv.base_url,
                             model_args=ARGS, token_limit=3000, log_dir=str(tmp_path),
                             display="none")
    [s] = log.samples
    rec = s.store["stt_arena_record"]
    assert rec["termination"] == "agent_error" and "token limit" in rec["error"]
    assert s.scores["episode_scorer"].value == 0.0 and rec["grade"]["items"]


def test_endpoint_errors_are_sample_errors_never_failures_and_epochs_are_runs(tmp_path):
    ts = _pick()[:2]
    policy = _policy(ts, {t.task_id: "oracle" for t in ts})

    def script(body):  # the second task's requests fail at the endpoint
        if any(m["role"] == "user" and m["content"] == ts[1].query for m in body["messages"]):
            return {"error": 404, "message": "no such model"}
        return policy(body)

    with FakeOpenAIServer(script) as sv:
        [log] = inspect_eval(stt_arena(task_ids=f"{ts[0].task_id},{ts[1].task_id}"), model="openai/fake-model",
                             model_base_url=sv.base_url, model_args=ARGS, epochs=2,
                             fail_on_error=False, log_dir=str(tmp_path), display="none")
    recs, config = records_from_log(log.location)
    assert sorted((r["task_id"], r["run"], r["passed"]) for r in recs) == [(ts[0].task_id, 0, True), (ts[0].task_id, 1, True)]
    assert sorted((e["task_id"], e["run"]) for e in config["errors"]) == [(ts[1].task_id, 0), (ts[1].task_id, 1)]
    assert all("404" in e["error"] for e in config["errors"])


def test_one_sandbox_executor_per_eval_loop_and_a_finished_evals_is_closed(tmp_path):
    """Each ``inspect eval`` runs in its own event loop; the sandbox fork server of a finished eval does
    not outlive the next one (a long eval-set process would otherwise keep one per eval)."""
    from stt_arena.inspect_ai import task as mod

    ts = _pick()[:1]
    seen = []
    with FakeOpenAIServer(_policy(ts, {ts[0].task_id: "oracle"})) as sv:
        for i in range(2):
            [log] = inspect_eval(stt_arena(task_ids=ts[0].task_id), model="openai/fake-model", model_base_url=sv.base_url,
                                 model_args=ARGS, log_dir=str(tmp_path / str(i)), display="none")
            assert log.samples[0].scores["episode_scorer"].value == 1.0
            [ex] = mod._EXECUTORS.values()
            seen.append((ex, ex._proc.pid))
    assert seen[0][0] is not seen[1][0]
    assert seen[0][0]._proc is None  # the first eval's fork server: killed when the second eval opened its own
    with pytest.raises(ProcessLookupError):
        os.kill(seen[0][1], 0)


def test_inspect_score_re_judges_impossible_tasks_without_rerunning_the_agent(both_paths):
    """The scorer works from the episode record in the log: ``inspect score`` with another judge (here a
    model judge on the 'judge' role that rejects every message) changes only the impossible tasks."""
    from inspect_ai import score
    from inspect_ai.model import get_model

    from stt_arena.inspect_ai.task import episode_scorer

    tasks, _, recs, log, _ = both_paths
    verdict = json.dumps({"recognized_impossibility": False, "fed_back_to_user": False, "evidence": "no"})
    with FakeOpenAIServer(lambda body: verdict) as sv:
        judge = get_model("openai/judge-m", base_url=sv.base_url, responses_api=False, api_key="test-key", memoize=False)
        again = score(log, episode_scorer(judge="model"), model_roles={"judge": judge}, action="overwrite",
                      model=get_model("openai/fake-model", base_url=sv.base_url, **ARGS, memoize=False), display="none")
    before = {r["task_id"]: r["passed"] for r in recs}
    impossible = {t.task_id for t in tasks if t.impossible}
    after = {str(s.id): s.scores["episode_scorer"].value == 1.0 for s in again.samples}
    assert impossible and any(before[i] for i in impossible)
    assert after == {i: (False if i in impossible else p) for i, p in before.items()}
    assert len(sv.requests) == len(impossible)  # only the judge ran


def test_reading_a_log_without_inspect_ai_installed_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "inspect_ai.log", None)  # as if the [inspect] extra were not installed
    (tmp_path / "x.eval").write_text("whatever")
    with pytest.raises(ResultsFileError, match=r"x.eval: reading an Inspect log needs inspect_ai \(pip install"):
        records_from_log(tmp_path / "x.eval")
