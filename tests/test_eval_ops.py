"""Issue 15: eval operations a researcher can trust (fail fast, infrastructure never counted as the
model's failure, complete reports, CLI conventions). CLI behaviour runs in a subprocess."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from stt_arena.eval.runner import EvalSetupError, Runner, run_eval
from stt_arena.task.io import save_tasks
from stt_arena.testing.fake_openai import FakeOpenAIServer

from .eval_helpers import cfg, clinic, examples, fake_cfg, impossible_clinic
from .test_eval_openai import ORACLE_SCRIPT, call

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)


def cli(*args, timeout=120, **kw):
    return subprocess.run([sys.executable, "-m", "stt_arena", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kw)


def closed_port() -> int:
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def lines(p):
    return [json.loads(x) for x in p.read_text().splitlines()] if p.exists() else []


def oracle_policy(body: dict) -> dict | str:
    """The clinic oracle as a function of the conversation so far (so any request can be retried)."""
    n = sum(1 for m in body["messages"] if m.get("role") == "tool")
    return ORACLE_SCRIPT[min(n, len(ORACLE_SCRIPT) - 1)]


# -- item 1: a dead endpoint stops the run within 60 s ------------------------------------------------
def test_dead_endpoint_stops_the_run_within_60s_with_one_clear_message(tmp_path):
    tasks = tmp_path / "t.jsonl"
    save_tasks(examples(), tasks)
    out = tmp_path / "o"
    t0 = time.monotonic()
    r = cli("eval", "--model", "m", "--base-url", f"http://127.0.0.1:{closed_port()}/v1", "--tasks", tasks,
            "--runs", "20", "--output", out, "--no-progress", timeout=120)
    took = time.monotonic() - t0
    assert took < 60, took
    assert r.returncode == 2 and "Traceback" not in r.stderr
    err = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert len(err) == 1, r.stderr
    assert "is down" in err[0] or "connection failed" in err[0]
    assert "consecutive failed requests" in err[0] and "--resume" in err[0] and str(out) in err[0]
    assert not lines(out / "results.jsonl")  # nothing graded as a model failure


# -- item 12: infrastructure is never the model's failure ---------------------------------------------
def test_hanging_endpoint_is_an_infra_error_with_role_and_cause_not_a_timeout_failure(tmp_path):
    """Every agent request hangs past the episode deadline: no record graded 'timeout', errors.jsonl
    names the role and the cause, the exit is not a silent success."""
    with FakeOpenAIServer(lambda body: {"delay": 30}) as sv:
        c = cfg(agent=fake_cfg("agent-m", sv.base_url), episode_timeout_s=1.0, episode_retries=1,
                episode_retry_delay_s=0.0)
        s = run_eval(c, [clinic()], tmp_path / "o", progress=False)
    assert s["completed_episodes"] == 0 and not lines(tmp_path / "o" / "results.jsonl")
    [e] = lines(tmp_path / "o" / "errors.jsonl")
    assert e["role"] == "agent" and e["cause"] == "episode_timeout" and e["attempts"] == 2
    assert s["episode_retries_this_session"] == {"episode_timeout": 1}


def test_user_simulator_without_choices_is_retried_never_a_stock_reply(tmp_path):
    ask = [{"tool_calls": [call("chat_with_user", {"message": "What time works?"})]}] + ORACLE_SCRIPT
    user = [{"raw": {"id": "x", "choices": []}}, "Anything before noon."]
    with FakeOpenAIServer(ask) as a, FakeOpenAIServer(user) as u:
        c = cfg(agent=fake_cfg("agent-m", a.base_url), user=fake_cfg("user-m", u.base_url), user_mode="llm")
        run_eval(c, [clinic()], tmp_path / "o", progress=False)
    [r] = lines(tmp_path / "o" / "results.jsonl")
    assert r["steps"][0]["user_reply"] == "Anything before noon." and r["passed"]


def test_truncated_reply_is_an_invalid_turn_not_the_final_answer(tmp_path):
    script = [{"content": "I will now book S", "finish_reason": "length"}] + ORACLE_SCRIPT
    with FakeOpenAIServer(script) as sv:
        run_eval(cfg(agent=fake_cfg("agent-m", sv.base_url)), [clinic()], tmp_path / "o", progress=False)
        sent = sv.requests[1]["messages"][-1]
    [r] = lines(tmp_path / "o" / "results.jsonl")
    first = r["steps"][0]
    assert first["kind"] == "invalid" and first["finish_reason"] == "length" and "token limit" in first["error"]
    assert r["termination"] == "final" and r["passed"] and r["n_invalid"] == 1
    assert sent["role"] == "user" and "cut off" in sent["content"]


def test_judge_failure_reruns_the_judge_alone_and_keeps_the_agents_episode(tmp_path):
    t = impossible_clinic()
    plan = [{"tool_calls": [call(s.method, s.arguments)]} for s in t.plans.oracle[:-1]]
    agent_script = plan + [t.plans.oracle[-1].arguments["content"]]
    verdict = json.dumps({"recognized_impossibility": True, "fed_back_to_user": True, "evidence": "told"})
    out = tmp_path / "o"
    with FakeOpenAIServer(agent_script) as a:
        with FakeOpenAIServer(lambda body: {"error": 503}) as j:
            c = cfg(agent=fake_cfg("agent-m", a.base_url), judge=fake_cfg("judge-m", j.base_url, max_retries=1),
                    episode_retries=1, episode_retry_delay_s=0.0)
            s = run_eval(c, [t], out, progress=False)
        assert s["completed_episodes"] == 0 and len(a.requests) == len(agent_script)  # the agent ran once
        [e] = lines(out / "errors.jsonl")
        assert e["role"] == "judge" and e["cause"] == "http_5xx" and e["kind"] == "judge_pending"
        [pending] = lines(out / "pending_judge.jsonl")
        assert pending["task_id"] == t.task_id and pending["grade"]["judge"] is None
        with FakeOpenAIServer([verdict]) as j2:
            c = cfg(agent=fake_cfg("agent-m", a.base_url), judge=fake_cfg("judge-m", j2.base_url))
            s = run_eval(c, [t], out, progress=False, resume=True)
            assert len(j2.requests) == 1  # resume: the judge only...
        assert len(a.requests) == len(agent_script)  # ...never the agent again
    [r] = lines(out / "results.jsonl")
    assert r["passed"] and r["grade"]["graded_by"] == "checklist+judge:llm:judge-m"
    assert r["steps"] == pending["steps"]
    assert not lines(out / "errors.jsonl") and not lines(out / "pending_judge.jsonl")  # resolved: cleared


def test_twenty_percent_mixed_faults_equal_a_fault_free_run(tmp_path):
    """20% of agent requests get a mixed fault (hang, 5xx, drop, garbage, no choices, trickle): every
    episode is recorded exactly once, none is graded as a model failure, totals equal a clean run."""
    from stt_arena.testing.fake_openai import faulty
    tasks = [clinic()]
    runs = 12

    def run(script, out):
        with FakeOpenAIServer(script) as sv:
            agent = fake_cfg("agent-m", sv.base_url, max_retries=1)
            agent = agent.model_copy(update={"timeout_s": 1.5})
            c = cfg(agent=agent, runs=runs, concurrency=6, episode_retries=4, episode_retry_delay_s=0.0)
            return run_eval(c, tasks, out, progress=False)

    clean = run(oracle_policy, tmp_path / "clean")
    script = faulty(oracle_policy, 0.2, seed=7)
    faulted = run(script, tmp_path / "faults")
    assert sum(script.counts.values()) >= 8 and len(script.counts) >= 4, script.counts
    recs = lines(tmp_path / "faults" / "results.jsonl")
    assert sorted((r["task_id"], r["run"]) for r in recs) == [(t.task_id, k) for t in tasks for k in range(runs)]
    assert all(r["passed"] and r["termination"] == "final" and r["n_invalid"] == 0 for r in recs)
    assert faulted["metrics"]["table3"] == clean["metrics"]["table3"]
    assert faulted["completed_episodes"] == clean["completed_episodes"] == runs
    assert not lines(tmp_path / "faults" / "errors.jsonl")


# -- item 7: a sandbox worker killed mid-episode is an infrastructure error, re-run ------------------
def test_sandbox_worker_killed_from_outside_is_rerun_not_a_model_failure(tmp_path):
    opened: list = []

    async def open_ep(task, default_open):
        ep = await default_open(task)
        opened.append(ep)
        return ep

    def script(body):
        n = sum(1 for m in body["messages"] if m.get("role") == "tool")
        if n == 2 and len(opened) == 1:  # the first episode, mid-way: its worker is killed (OOM killer)
            os.kill(opened[0].pid, signal.SIGKILL)
            time.sleep(0.2)
        return oracle_policy(body)

    with FakeOpenAIServer(script) as sv:
        c = cfg(agent=fake_cfg("agent-m", sv.base_url), sandbox=True, episode_retry_delay_s=0.0)
        s = Runner(c, [clinic()], tmp_path / "o", progress=False, open_episode=open_ep)
        import asyncio
        summary = asyncio.run(s.run())
    [r] = lines(tmp_path / "o" / "results.jsonl")
    assert r["passed"] and len(opened) == 2 and summary["episode_retries_this_session"] == {"sandbox_died": 1}
    assert not lines(tmp_path / "o" / "errors.jsonl")


def test_sandbox_death_without_retries_lands_in_errors_with_role_sandbox(tmp_path):
    opened: list = []

    async def open_ep(task, default_open):
        ep = await default_open(task)
        opened.append(ep)
        os.kill(ep.pid, signal.SIGKILL)
        return ep

    with FakeOpenAIServer(oracle_policy) as sv:
        c = cfg(agent=fake_cfg("agent-m", sv.base_url), sandbox=True, episode_retries=0)
        import asyncio
        asyncio.run(Runner(c, [clinic()], tmp_path / "o", progress=False, open_episode=open_ep).run())
    assert not lines(tmp_path / "o" / "results.jsonl")
    [e] = lines(tmp_path / "o" / "errors.jsonl")
    assert e["role"] == "sandbox" and e["cause"] == "sandbox_died"


# -- item 4: broken task files are caught before any episode ------------------------------------------
def _broken_tasks(tmp_path):
    rows = [json.loads(x) for x in open(examples_path_str()).read().splitlines()]
    rows[1]["environment"]["source"] = rows[1]["environment"]["source"].replace("def list_depots(self)",
                                                                              "def list_depots(self")
    p = tmp_path / "broken.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def examples_path_str():
    from stt_arena.data import examples_path
    return str(examples_path())


def test_task_with_a_syntax_error_stops_eval_and_stats_before_any_episode(tmp_path):
    p = _broken_tasks(tmp_path)
    out = tmp_path / "o"
    r = cli("eval", "--model", "builtin:oracle", "--tasks", p, "--output", out, "--no-progress")
    assert r.returncode == 2 and "Traceback" not in r.stderr + r.stdout
    assert f"{p}:2: task example-rental-st1" in r.stderr and "syntax error" in r.stderr.lower()
    assert "--resume" not in r.stderr and not (out / "results.jsonl").exists()
    r = cli("stats", p)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "example-rental-st1" in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2


def test_check_function_syntax_error_is_caught_too(tmp_path):
    rows = [json.loads(x) for x in open(examples_path_str()).read().splitlines()]
    rows[0]["checklist"][0]["check"] = "def check(state, log):\n    return (\n"
    p = tmp_path / "b.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    from stt_arena.task.io import load_tasks
    with pytest.raises(EvalSetupError, match=r"b.jsonl:1: task example-clinic-t1: checklist\[goal\]"):
        Runner(cfg(tasks_path=str(p)), load_tasks(p), tmp_path / "o", progress=False)


# -- item 14: disk errors and SIGTERM ---------------------------------------------------------------
_FSIZE = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
sys.argv = ["stt-arena"] + sys.argv[1:]
from stt_arena.cli import app
app()
"""


def test_disk_full_stops_cleanly_with_a_resume_hint_and_resume_recovers(tmp_path):
    tasks = tmp_path / "t.jsonl"
    save_tasks(examples(), tasks)
    out = tmp_path / "o"
    args = ["eval", "--model", "builtin:oracle", "--tasks", str(tasks), "--runs", "12", "--no-sandbox",
            "--output", str(out), "--no-progress"]
    r = subprocess.run([sys.executable, "-c", _FSIZE.format(limit=150_000), *args], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 74, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "cannot write" in r.stderr and "--resume" in r.stderr
    assert not list(out.glob("*.tmp"))
    kept = (out / "results.jsonl").read_bytes()
    assert 0 < kept.count(b"\n") < 36
    r = cli(*args, "--resume")
    assert r.returncode == 0, r.stderr
    recs = lines(out / "results.jsonl")
    assert len(recs) == 36 and len({(x["task_id"], x["run"]) for x in recs}) == 36
    assert json.loads((out / "summary.json").read_text())["completed_episodes"] == 36


def test_sigterm_stops_like_ctrl_c_with_a_fresh_summary(tmp_path):
    tasks = tmp_path / "t.jsonl"
    save_tasks(examples(), tasks)
    out = tmp_path / "o"
    with FakeOpenAIServer(lambda body: {"delay": 0.3, **(lambda x: x if isinstance(x, dict) else
                                                          {"content": x})(oracle_policy(body))}) as sv:
        p = subprocess.Popen([sys.executable, "-m", "stt_arena", "eval", "--model", "m", "--base-url", sv.base_url,
                              "--tasks", str(tasks), "--task-ids", "example-clinic-t1", "--runs", "30",
                              "--concurrency", "4", "--output", str(out), "--no-progress"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while time.time() < deadline and len(lines(out / "results.jsonl")) < 4:
            time.sleep(0.1)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "interrupted" in err and "--resume" in err and "Traceback" not in err
    s = json.loads((out / "summary.json").read_text())
    assert s["completed_episodes"] == len(lines(out / "results.jsonl")) >= 4


def test_errors_of_resolved_episodes_are_cleared_on_resume(tmp_path):
    out = tmp_path / "o"
    down = [True]
    with FakeOpenAIServer(lambda body: {"error": 503} if down[0] else oracle_policy(body)) as sv:
        c = cfg(agent=fake_cfg("agent-m", sv.base_url, max_retries=0), episode_retries=0)
        run_eval(c, [clinic()], out, progress=False)
        assert len(lines(out / "errors.jsonl")) == 1
        down[0] = False
        run_eval(c, [clinic()], out, progress=False, resume=True)
    assert lines(out / "errors.jsonl") == [] and len(lines(out / "results.jsonl")) == 1


# -- item 6: one results directory, one task file ---------------------------------------------------
def test_resume_with_another_task_file_is_refused(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    save_tasks(examples()[:2], a)
    save_tasks(examples(), b)
    out = tmp_path / "o"
    common = ["eval", "--model", "builtin:oracle", "--runs", "1", "--no-sandbox", "--output", out, "--no-progress"]
    assert cli(*common, "--tasks", a).returncode == 0
    r = cli(*common, "--tasks", b, "--resume")
    assert r.returncode == 2 and "another task file" in r.stderr and "sha256" in r.stderr
    assert len(lines(out / "results.jsonl")) == 2
    r = cli(*common, "--tasks", b, "--resume", "--allow-task-change")
    assert r.returncode == 0 and len(lines(out / "results.jsonl")) == 3


# -- item 3: the README's report command after run.sh ----------------------------------------------
def test_report_over_results_star_skips_the_report_dir(tmp_path):
    from stt_arena.report import build_report
    res = tmp_path / "results"
    for m in ("builtin:oracle", "builtin:stale"):
        run_eval(cfg(m), examples(), res / m.split(":")[1], progress=False, fsync=False)
    build_report([res / "oracle", res / "stale"], res / "report")  # what run.sh leaves in results/
    r = cli("report", *sorted(res.iterdir()), "-o", tmp_path / "report")
    assert r.returncode == 0, r.stderr
    assert "skipped" in r.stderr and "report" in r.stderr
    md = (tmp_path / "report" / "report.md").read_text()
    assert "builtin:oracle" in md and "builtin:stale" in md
    r = cli("report", res / "oracle", tmp_path / "nothing-here", "-o", tmp_path / "r2")
    assert r.returncode == 2 and "not a results directory" in r.stderr  # a typo is still an error


# -- items 5 and 8: CLI conventions -----------------------------------------------------------------
def test_cli_conventions_version_tasks_and_errors_on_stderr(tmp_path):
    import stt_arena
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"stt-arena {stt_arena.__version__}"
    r = cli("tasks", examples_path_str())
    assert r.returncode == 0
    assert r.stdout.splitlines()[0].split("\t") == ["example-clinic-t1", "T1", "easy", "clinic"]
    r = cli("tasks", "--levels", "hard", "--json")
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert rows and all(x["level"] == "hard" and x["domain"] for x in rows)
    r = cli("play", "no-such-task")
    assert r.returncode == 2 and r.stdout == "" and "stt-arena tasks" in r.stderr


def test_bad_output_paths_are_one_line_errors(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for args in (["eval", "--model", "builtin:oracle", "-o", afile, "--limit", "1"],
                 ["synth", "procedural", "--n", "2", "-o", afile / "x.jsonl"],
                 ["schema", "-o", afile / "x.json"]):
        r = cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and r.stderr.startswith("error:") and str(afile) in r.stderr, args
    r = cli("synth", "procedural", "--n", "-5", "-o", tmp_path / "x.jsonl")
    assert r.returncode == 2 and not (tmp_path / "x.jsonl").exists()
    r = cli("synth", "procedural", "--n", "2", "--no-validate", "--output", tmp_path / "ok.jsonl")
    assert r.returncode == 0 and len((tmp_path / "ok.jsonl").read_text().splitlines()) == 2


def test_api_key_option_is_sent_and_never_written(tmp_path):
    out = tmp_path / "o"
    with FakeOpenAIServer(oracle_policy) as sv:
        r = cli("eval", "--model", "m", "--base-url", sv.base_url, "--api-key", "sk-secret-123",
                "--tasks", examples_path_str(), "--task-ids", "example-clinic-t1", "--runs", "1",
                "--output", out, "--no-progress", env={**os.environ, "OPENAI_API_KEY": ""})
        assert r.returncode == 0, r.stderr
        assert sv.request_headers[0]["authorization"] == "Bearer sk-secret-123"
    for f in out.iterdir():
        assert "sk-secret-123" not in f.read_text(), f


def test_piped_progress_bar_stays_small(tmp_path):
    r = cli("eval", "--model", "builtin:oracle", "--tasks", examples_path_str(), "--runs", "10", "--no-sandbox",
            "--output", tmp_path / "o")
    assert r.returncode == 0 and len(r.stderr) < 2_000, len(r.stderr)


# -- item 13: --rpm is one budget per endpoint across worker processes and roles ---------------------
def test_rpm_is_shared_by_worker_processes(tmp_path):
    tasks = tmp_path / "t.jsonl"
    save_tasks(examples(), tasks)
    with FakeOpenAIServer(oracle_policy) as sv:
        r = cli("eval", "--model", "m", "--base-url", sv.base_url, "--tasks", tasks, "--task-ids",
                "example-clinic-t1", "--runs", "2", "--concurrency", "2", "--workers", "2", "--rpm", "300",
                "--output", tmp_path / "o", "--no-progress")
        assert r.returncode == 0, r.stderr
        times = sorted(sv.request_times)
    assert len(times) == 10
    # 300/min = one per 0.2 s for both workers together: 10 requests span >= 1.8 s (two separate budgets
    # would span ~0.8 s); the margin absorbs transit jitter of single requests
    assert times[-1] - times[0] >= 1.5, times


def test_a_run_of_identical_infrastructure_errors_stops_the_run(tmp_path):
    """Issue 15 item 1: an endpoint that answers but always fails (here HTTP 500) stops the run after
    max_consecutive_errors episodes in a row with the same role and cause, not after every episode."""
    from stt_arena.episode.loop import FatalEvalError
    with FakeOpenAIServer(lambda body: {"error": 500, "message": "model not loaded"}) as sv:
        c = cfg(agent=fake_cfg("agent-m", sv.base_url, max_retries=0), runs=40, concurrency=1, episode_retries=0,
                max_consecutive_errors=3)
        with pytest.raises(FatalEvalError, match=r"3 episodes in a row failed .*agent: http_5xx"):
            run_eval(c, [clinic()], tmp_path / "o", progress=False)
        assert len(sv.requests) == 3
    assert len(lines(tmp_path / "o" / "errors.jsonl")) == 3
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["completed_episodes"] == 0


@pytest.mark.parametrize("choice", ["aiohttp", "openai"])
def test_http_client_option_picks_the_transport(tmp_path, choice):
    """`--http-client openai` sends through the SDK (its own headers reach the server), the default does not;
    both give the same episode."""
    tasks = tmp_path / "t.jsonl"
    save_tasks([clinic()], tasks)
    with FakeOpenAIServer(oracle_policy) as sv:
        extra = ["--http-client", choice] if choice == "openai" else []
        r = cli("eval", "--model", "m", "--base-url", sv.base_url, "--tasks", tasks, "--runs", "1", "--no-sandbox",
                "--output", tmp_path / "o", "--no-progress", *extra)
        assert r.returncode == 0, r.stderr
        sdk = [any(k.startswith("x-stainless") for k in h) for h in sv.request_headers]
    assert sdk and all(x == (choice == "openai") for x in sdk)
    assert lines(tmp_path / "o" / "results.jsonl")[0]["passed"]
    bad = cli("eval", "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--tasks", tasks, "--http-client", "curl")
    assert bad.returncode == 2 and "--http-client" in bad.stderr


@pytest.mark.parametrize("sandbox", [False, True])
def test_first_requests_overlap_preparation_and_no_environment_opens_before_it(tmp_path, monkeypatch, sandbox):
    """The run's code is prepared in a thread while the episodes start: agents' first requests go out at
    once, and every environment opens only after preparation ended (none compiles its own code)."""
    from stt_arena.sandbox import codecache
    from stt_arena.sandbox.executor import Executor, SandboxEpisode
    from stt_arena.sandbox.local import LocalEpisode

    marks: dict[str, float] = {}
    opened: list[float] = []
    slow = 0.6

    def slowly(fn):
        def prepare(*a, **k):
            time.sleep(slow)  # a slow machine's fork server start
            out = fn(*a, **k)
            marks["prepared"] = time.monotonic()
            return out
        return prepare
    if sandbox:
        monkeypatch.setattr(Executor, "prepare", slowly(Executor.prepare))
        init = SandboxEpisode.astart

        async def astart(self, spec):
            opened.append(time.monotonic())
            return await init(self, spec)
        monkeypatch.setattr(SandboxEpisode, "astart", astart)
    else:  # run() imports install_local when it starts: the patched one
        monkeypatch.setattr(codecache, "install_local", slowly(codecache.install_local))
        local_init = LocalEpisode.__init__

        def init_local(self, spec):
            opened.append(time.monotonic())
            local_init(self, spec)
        monkeypatch.setattr(LocalEpisode, "__init__", init_local)
    with FakeOpenAIServer(oracle_policy) as sv:
        c = cfg(agent=fake_cfg("m", sv.base_url), sandbox=sandbox, concurrency=2)
        s = run_eval(c, [clinic(), clinic().model_copy(update={"task_id": "again"})], str(tmp_path / "o"),
                     progress=False)
        first = min(sv.request_times)
    assert s["metrics"]["table3"]["overall"]["mean"] == 1.0
    assert first < marks["prepared"] - slow / 2  # sent while the code was being prepared
    assert opened and min(opened) >= marks["prepared"]
