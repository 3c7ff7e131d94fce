"""Executor.prepare: built-in code is compiled once in the fork server (workers and graders inherit it);
code that is not built-in still goes through the guard in a worker, prepared or not."""
import json
import os
import signal

import pytest

from stt_arena.data import default_tasks_path
from stt_arena.sandbox.executor import Executor, SandboxError
from stt_arena.task.io import load_tasks

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)


@pytest.fixture(scope="module")
def task():
    return load_tasks(default_tasks_path())[0]


def _stats(ep, grader: bool = False) -> dict:
    """The worker's stats, or its grader's: its own, else the shared grader that graded it last."""
    if grader and ep._grader is None:
        (_gen, host), = ep._shared._idle
        target = host._grader
    else:
        target = ep._grader if grader else ep
    r = target.request({"op": "stats"})
    assert r["ok"], r
    return r


def _grade(ep, task) -> None:
    out = ep.grade([c.model_dump() for c in task.checklist], [c.model_dump() for c in task.infeasible_goal])
    assert all(c["error"] is None for c in out["checks"]), out


def test_without_prepare_each_worker_compiles_its_code(task):
    with Executor(shared_graders=False) as ex:
        ep = ex.open(task)
        try:
            _grade(ep, task)
            assert _stats(ep)["env_cache"][1] == 1  # a miss: guarded and compiled in the worker
            assert _stats(ep, grader=True)["check_cache"][1] >= 1
        finally:
            ep.close()


def test_prepared_builtin_code_is_inherited_by_workers_and_graders(task):
    with Executor() as ex:
        assert ex.prepare([task]) == 1 + len(task.checklist) + len(task.infeasible_goal) + 1  # + trigger exprs
        assert ex.prepare([task]) == 0  # once
        for _ in range(3):
            ep = ex.open(task)
            try:
                _grade(ep, task)
                env, checks = _stats(ep)["env_cache"], _stats(ep, grader=True)["check_cache"]
                assert env == [1, 0] and checks[1] == 0 and checks[0] >= 1, (env, checks)
            finally:
                ep.close()
        assert ex._graders.started == 1  # built-in checks: one shared grader served all three


def _status(ex) -> dict:
    """The fork server's own report (no fork request may be in flight)."""
    with ex._lock:
        ctrl = ex._control()
        ctrl.settimeout(10)
        ctrl.sendall(b'{"op": "status"}')
        return json.loads(ctrl.recv(4096))


def _host_pid(ex, pid: int) -> int:
    """The host's pid of a process the fork server names by its own (PID namespace) pid."""
    import psutil

    def read(p) -> tuple[list[int], str, int] | None:  # (NSpid, cmdline, depth); None: gone meanwhile
        try:
            with open(f"/proc/{p.pid}/status") as f:
                ns = [int(x) for x in next(line for line in f if line.startswith("NSpid:")).split()[1:]]
            return ns, " ".join(p.cmdline()), len(p.parents())
        except (OSError, psutil.Error):
            return None
    procs = [(p.pid, got) for p in psutil.Process(ex._proc.pid).children(recursive=True) if (got := read(p))]
    server = min((got for _pid, got in procs if "stt_arena.sandbox.forkserver" in got[1]), key=lambda g: g[2])
    level = len(server[0]) - 1
    (found,) = [hp for hp, (ns, _c, _d) in procs if len(ns) > level and ns[level] == pid]
    return found


def test_prepared_checks_live_in_the_grader_template_not_where_workers_are_forked(task):
    """Workers never run checks: the prepared checks go to the grader template (which starts the
    shared graders), so the process that forks every episode's worker stays small."""
    n_checks = len(task.checklist) + len(task.infeasible_goal)
    with Executor() as ex:
        ex.prepare([task])
        assert isinstance(_status(ex)["template"], int)
        ep = ex.open(task)
        try:
            held = _stats(ep)["cached"]
            assert held["checks"] == 0 and held["env"] >= 1 and held["exprs"] >= 1, held
            _grade(ep, task)
            grader = _stats(ep, grader=True)
            assert grader["cached"]["checks"] >= n_checks and grader["check_cache"][1] == 0, grader
        finally:
            ep.close()


def test_without_its_grader_template_the_fork_server_starts_graders_itself(task):
    """The planted failure: the template dies; shared graders then come from the fork server (checks
    compiled in the grader on first use) and grading is unchanged."""
    with Executor() as ex:
        ex.prepare([task])
        os.kill(_host_pid(ex, _status(ex)["template"]), signal.SIGKILL)
        ep = ex.open(task)
        try:
            _grade(ep, task)
            grader = _stats(ep, grader=True)
            assert grader["check_cache"][1] >= 1 and ep.alive, grader  # compiled there: not inherited
        finally:
            ep.close()
        assert _status(ex)["template"] is None and ex._graders.started == 1


def test_prepared_code_survives_a_fork_server_restart(task):
    with Executor() as ex:
        ex.prepare([task])
        os.killpg(ex._proc.pid, signal.SIGKILL)
        ex._proc.wait()
        ep = ex.open(task)  # a new server: the prepared code is sent again before any worker
        try:
            assert _stats(ep)["env_cache"] == [1, 0]
        finally:
            ep.close()


def test_code_that_is_not_builtin_is_not_prepared_and_still_guarded(task):
    edited = task.model_copy(deep=True)
    edited.environment.source += "\n# edited\n"
    for c in edited.checklist:
        c.check += "\n# edited\n"
    hostile = task.model_copy(deep=True)
    hostile.environment.source += "\nimport os\n"
    with Executor() as ex:
        # the hostile task's untouched (built-in) checks and both tasks' (same, built-in) trigger expressions;
        # neither edited source, nor the edited checks
        assert ex.prepare([edited, hostile]) == len(task.checklist) + len(task.infeasible_goal) + 1
        ep = ex.open(edited)
        try:
            _grade(ep, edited)
            assert _stats(ep)["env_cache"] == [0, 1]  # vetted in the worker, not the fork server
            assert _stats(ep, grader=True)["check_cache"][1] >= len(edited.checklist)
        finally:
            ep.close()
        with pytest.raises(SandboxError, match="(?i)import"):
            ex.open(hostile)


def test_a_tasks_checks_never_reach_the_fork_server(task):
    """Found in review: checks a grader had vetted rode to the fork server, so every later worker inherited
    them compiled (another task's answer key, readable past the Python layers). Environment code still
    does (it is what workers run)."""
    edited = task.model_copy(deep=True)
    edited.environment.source += "\n# edited\n"
    for c in edited.checklist:
        c.check += "\n# edited: secret answer key\n"
    with Executor() as ex:
        ep = ex.open(edited)
        try:
            _grade(ep, edited)
        finally:
            ep.close()
        for _ in range(24):  # past every spare prepared before (16)
            ex.open(edited).close()
        ep = ex.open(edited)
        try:
            held = _stats(ep)
            assert held["cached"]["checks"] == 0 and held["env_cache"] == [1, 0], held
        finally:
            ep.close()


def test_code_cache_serves_later_runs_and_revets_a_bad_entry(task, tmp_path, monkeypatch):
    from stt_arena.sandbox import codecache, runtime
    monkeypatch.setenv(codecache.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(codecache, "_memory", {})
    item = {"env": [task.environment.source, task.environment.class_name]}
    first = codecache.compiled(item)
    (path,) = tmp_path.glob("*/*.json")
    codecache._memory.clear()
    calls = []
    monkeypatch.setattr(runtime, "export", lambda it: calls.append(it) or first)
    assert codecache.compiled(item) == first and not calls  # a later process: read, not vetted again
    codecache._memory.clear()
    path.write_text('{"env": ["other source", "X"], "code": ""}')  # not this item's entry
    assert codecache.compiled(item) == first and calls == [item]
    codecache._memory.clear()
    path.write_text("{truncated")
    assert codecache.compiled(item) == first and len(calls) == 2


def test_code_cache_off_keeps_nothing_on_disk(task, tmp_path, monkeypatch):
    from stt_arena.sandbox import codecache
    monkeypatch.setenv(codecache.CACHE_ENV, "0")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(codecache, "_memory", {})
    codecache.compiled({"checks": [task.checklist[0].check]})
    assert codecache.cache_dir() is None and not list(tmp_path.rglob("*.json"))


def test_installed_code_behaves_like_code_compiled_in_place(task):
    """The marshalled path and the guard-and-compile path grade the same episode the same way."""
    results = []
    for prepared in (False, True):
        with Executor() as ex:
            if prepared:
                ex.prepare([task])
            ep = ex.open(task)
            try:
                for st in task.plans.oracle:
                    if st.method not in ("respond_to_user", "chat_with_user"):
                        ep.call(st.method, st.arguments)
                out = ep.grade([c.model_dump() for c in task.checklist], [c.model_dump() for c in task.infeasible_goal])
                results.append(({c["id"]: c["passed"] for c in out["checks"]}, out["state"] if "state" in out else None,
                                 _stats(ep)["env_cache"]))
            finally:
                ep.close()
    (plain, s1, env1), (fast, s2, env2) = results
    assert plain == fast and all(plain.values()) and s1 == s2
    assert env1 == [0, 1] and env2 == [1, 0]


def test_edited_checks_get_their_own_grader_and_builtin_ones_share(task):
    edited = task.model_copy(deep=True)
    edited.checklist[0].check += "\n# edited\n"
    with Executor() as ex:
        ep1, ep2 = ex.open(task), ex.open(edited)
        try:
            assert ep1._grader is None and ep1._shared is ex._graders
            assert ep2._grader is not None and ep2._shared is None  # forked at hand-over, never ran env code
            _grade(ep1, task)
            _grade(ep2, edited)
        finally:
            ep1.close()
            ep2.close()
        assert ex._graders.started == 1


def test_a_failed_shared_grader_ends_the_episode_and_is_replaced(task):
    with Executor() as ex:
        ep = ex.open(task)
        _grade(ep, task)
        ep.close()
        (_gen, host), = ex._graders._idle
        import psutil
        for grader in psutil.Process(host.pid).children():  # the grader crashes (with or without the OS layer)
            grader.kill()
        ep = ex.open(task)
        try:
            out = ep.grade([c.model_dump() for c in task.checklist], [])
            assert not ep.alive and "grader failed" in ep.death  # infrastructure, not the agent's failure
            assert all(not c["passed"] and c["error"] for c in out["checks"])
        finally:
            ep.close()
        ep = ex.open(task)
        try:
            _grade(ep, task)
            assert ep.alive and ex._graders.started == 2
        finally:
            ep.close()


def test_shared_graders_do_not_outlive_their_fork_server(task):
    with Executor() as ex:
        ep = ex.open(task)
        _grade(ep, task)
        ep.close()
        os.killpg(ex._proc.pid, signal.SIGKILL)
        ex._proc.wait()
        ep = ex.open(task)
        try:
            _grade(ep, task)  # not the dead server's grader: a new one, no failure
            assert ep.alive and ex._graders.started == 2
        finally:
            ep.close()


async def test_async_grading_shares_graders_across_concurrent_episodes(task):
    import asyncio
    with Executor() as ex:
        ex.prepare([task])

        async def one():
            ep = await ex.aopen(task)
            try:
                for st in task.plans.oracle:
                    if st.method not in ("respond_to_user", "chat_with_user"):
                        await ep.acall(st.method, st.arguments)
                out = await ep.agrade([c.model_dump() for c in task.checklist], [])
                return [c["passed"] for c in out["checks"]], ep.alive
            finally:
                await ep.aclose()

        got = await asyncio.gather(*(one() for _ in range(12)))
        assert all(all(p) and alive for p, alive in got), got
        assert 1 <= ex._graders.started <= 12 and len(ex._graders._idle) <= ex._graders.MAX_IDLE


def test_hostile_state_does_not_poison_the_shared_grader(task):
    """Untrusted data (an edited env with odd values) reaches a shared grader only as JSON: the next
    episode on the same grader is graded exactly as on a fresh one."""
    odd = task.model_copy(deep=True)
    odd.environment.source += "\n# edited: not built-in\n"
    nest: dict = {"leaf": "x"}
    for _ in range(40):
        nest = {"d": nest, "__class__": "x", "__builtins__": {"open": "y"}}
    pid = next(iter(odd.environment.init_config["patients"]))
    odd.environment.init_config["patients"][pid].update(name="x" * 300_000, extra=nest)
    with Executor() as ex:
        ep = ex.open(odd)
        try:
            assert ep._shared is ex._graders  # its checks are built-in
            out = ep.grade([c.model_dump() for c in odd.checklist], [])
            assert all(c["error"] is None for c in out["checks"]), out
        finally:
            ep.close()
        ep = ex.open(task)
        try:
            for st in task.plans.oracle:
                if st.method not in ("respond_to_user", "chat_with_user"):
                    ep.call(st.method, st.arguments)
            out = ep.grade([c.model_dump() for c in task.checklist], [])
            assert all(c["passed"] for c in out["checks"]) and ex._graders.started == 1, out
        finally:
            ep.close()


def test_shared_graders_retire_after_max_uses(task, monkeypatch):
    """A grader's CPU limit counts every grading it ran: it is replaced before it could run out."""
    from stt_arena.sandbox.executor import GraderPool
    monkeypatch.setattr(GraderPool, "MAX_USES", 2)
    with Executor() as ex:
        for _ in range(5):
            ep = ex.open(task)
            try:
                _grade(ep, task)
            finally:
                ep.close()
        assert ex._graders.started == 3  # uses 1-2, 3-4, 5


def test_prepare_is_best_effort_when_the_fork_server_does_not_take_it(task, monkeypatch):
    """A fork server that fails while taking the prepared code: the run goes on, code compiled per episode."""
    def broken(self, ctrl, items):
        raise BrokenPipeError(32, "Broken pipe")
    monkeypatch.setattr(Executor, "_send_warm_chunks", broken)
    with Executor() as ex:
        assert ex.prepare([task]) == 0 and not ex._prepared
        ep = ex.open(task)  # a new server, nothing prepared to resend
        try:
            _grade(ep, task)
            assert _stats(ep)["env_cache"] == [0, 1]
        finally:
            ep.close()


def test_prepared_trigger_expressions_are_inherited_and_others_are_passed_on(task):
    """Built-in trigger expressions are prepared like built-in code: every worker starts with them compiled.
    An edited expression is guarded in the worker, and the harness passes it on to the fork server."""
    from stt_arena.sandbox.codecache import item_id
    from stt_arena.sandbox.triggers import expressions
    n = len(expressions([t.model_dump() for t in task.triggers]))
    assert n >= 1
    edited = task.model_copy(deep=True)
    edited.triggers[0].condition = f"({edited.triggers[0].condition}) and True"
    with Executor() as ex:
        ex.prepare([task, edited])
        for _ in range(2):
            ep = ex.open(task)
            try:
                assert _stats(ep)["expr_cache"] == [n, 0]  # compiled in the fork server, not here
            finally:
                ep.close()
        ep = ex.open(edited)
        try:
            assert _stats(ep)["expr_cache"] == [n - 1, 1]  # the edited one: guarded in the worker
        finally:
            ep.close()
        item = {"exprs": expressions([t.model_dump() for t in edited.triggers])}
        assert item_id(item) in ex._warm_sent  # queued for the fork server (later workers inherit it)


def test_a_refused_trigger_expression_is_refused_in_every_worker(task):
    """Refusals are not cached anywhere: the same hostile condition fails the second episode too."""
    bad = task.model_copy(deep=True)
    bad.triggers[0].condition = "().__class__.__bases__[0].__subclasses__()"
    with Executor() as ex:
        for _ in range(3):
            with pytest.raises(SandboxError, match="(?i)condition"):
                ex.open(bad)


def test_an_oversize_prepared_item_goes_as_source_or_not_at_all(task, monkeypatch):
    """A prepared item over the per-datagram limit is sent without its marshalled code (the fork server
    compiles the source itself); one whose source alone is over it is left to the workers."""
    from stt_arena.sandbox import executor as X
    from stt_arena.sandbox.triggers import expressions
    n = len(expressions([t.model_dump() for t in task.triggers]))
    from stt_arena.sandbox.codecache import builtin_items, compiled
    item = next(it for it in builtin_items([task]) if "exprs" in it)
    limit = 400
    assert len(json.dumps(item)) <= limit < len(json.dumps(compiled(item)))  # over it only with its code
    assert limit < len(task.environment.source)
    monkeypatch.setattr(X, "WARM_ITEM_BYTES", limit)
    with Executor() as ex:
        ex.prepare([task])
        ep = ex.open(task)
        try:
            st = _stats(ep)
            assert st["expr_cache"] == [n, 0]  # sent as source, compiled by the fork server
            assert st["env_cache"] == [0, 1]  # too big even as source: vetted in the worker
        finally:
            ep.close()


def test_prepared_code_in_many_chunks_and_an_unfinished_sequence(task, monkeypatch):
    """Each prepared item in its own control message ("more" until the last): all of it is inherited. A
    sequence the harness never finishes (it died mid-way) does not stop the server: the next request ends it."""
    from stt_arena.sandbox import executor as X
    monkeypatch.setattr(X, "WARM_CHUNK_BYTES", 1)
    with Executor() as ex:
        assert ex.prepare([task]) >= 3
        ep = ex.open(task)
        try:
            assert _stats(ep)["env_cache"] == [1, 0]
        finally:
            ep.close()
        with ex._lock:  # an unfinished sequence: "more" and then nothing
            ctrl = ex._control()
            ctrl.sendall(b'{"op": "warm", "more": true, "items": []}')
            assert ctrl.recv(4096)
        step = task.plans.oracle[0]
        for _ in range(3):  # served as before (spares are made on demand while none wait)
            ep = ex.open(task)
            try:
                assert ep.call(step.method, step.arguments)["result"]
            finally:
                ep.close()


def test_the_fork_server_loads_no_threading_or_asyncio():
    """Every worker is a fork of the fork server: threading's at-fork hook would run in each (~0.3 ms and
    ~80 copied pages per episode), and asyncio is dead weight in every fork."""
    import subprocess
    import sys
    from pathlib import Path
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-S", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                          "import stt_arena.sandbox.forkserver; "
                          "print(sorted(m for m in ('threading', 'asyncio') if m in sys.modules))", root],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
