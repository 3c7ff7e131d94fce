"""The evaluation runner: filters, asyncio concurrency, resume, progress, usage and the summary."""
from __future__ import annotations

import asyncio
import gc
import logging
import queue
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from ..agents.builtin import BUILTIN_AGENTS, make_builtin
from ..llm.client import LLMClient
from ..task.models import CONFLICT_NAMES, Task
from ..util.aio import within
from .config import EvalConfig
from ..results.metrics import summarize
from ..episode.loop import (EpisodeContext, FatalEvalError, InfraError, JudgePending, format_exc, judge_record,
                           run_episode)
from ..prompts import load_prompt
from ..results.store import CONFIG, SUMMARY, ResultsStore, StoreWriteError

log = logging.getLogger("stt_arena.eval")
LEVEL_NAMES = ("easy", "medium", "hard", "impossible")


class EvalSetupError(ValueError):
    """Bad options or an incompatible results directory; the message says what to change."""


def select_tasks(tasks: list[Task], types=(), levels=(), task_ids=(), limit: int | None = None) -> list[Task]:
    types = [t.strip().upper() for t in types if t.strip()]
    levels = [lv.strip().lower() for lv in levels if lv.strip()]
    bad = [t for t in types if t not in CONFLICT_NAMES]
    if bad:
        raise EvalSetupError(f"--types: unknown conflict type(s) {bad}; choose from {list(CONFLICT_NAMES)}")
    bad = [lv for lv in levels if lv not in LEVEL_NAMES]
    if bad:
        raise EvalSetupError(f"--levels: unknown level(s) {bad}; choose from {list(LEVEL_NAMES)}")
    known = {t.task_id for t in tasks}
    missing = [i for i in task_ids if i not in known]
    if missing:
        raise EvalSetupError(f"--task-ids: no such task(s) {missing[:10]} in the task file")
    out = [t for t in tasks if (not types or t.conflict_type in types) and (not levels or t.level in levels)
           and (not task_ids or t.task_id in task_ids)]
    if limit is not None:
        out = out[:limit]
    if not out:
        raise EvalSetupError("no tasks left after the filters (--types/--levels/--task-ids/--limit)")
    return out


def _benchmark_of(path) -> str | None:
    from ..data import benchmark_version

    return benchmark_version(path) if path else None


def file_sha256(path: str | Path | None) -> str | None:
    import hashlib
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None
    except OSError:
        return None


def _check_resume(store: ResultsStore, cfg: EvalConfig, resume: bool, tasks_sha: str | None = None,
                  allow_task_change: bool = False) -> None:
    old = store.read_config()
    if store.records and not resume:
        raise EvalSetupError(f"{store.root} already holds {len(store.records)} episode(s); pass --resume to "
                             f"continue that run, or choose another --output")
    if resume and old:
        diff = {k: (old.get("identity", {}).get(k), v) for k, v in cfg.identity().items()
                if old.get("identity", {}).get(k) != v}
        if diff:
            raise EvalSetupError(f"--resume: {store.root} was run with different settings: " + "; ".join(
                f"{k}: was {a!r}, now {b!r}" for k, (a, b) in diff.items()))
        was = old.get("tasks_sha256")
        if was and tasks_sha and was != tasks_sha and not allow_task_change:
            raise EvalSetupError(
                f"--resume: {store.root} holds episodes of another task file ({old.get('config', {}).get('tasks_path')}"
                f", sha256 {was[:12]}), not of {cfg.tasks_path} (sha256 {tasks_sha[:12]}); one results "
                f"directory holds one task set: choose another --output (or pass --allow-task-change)")


def error_entry(task_id, run, e: BaseException, attempts: int = 1) -> dict:
    """An errors.jsonl line: which episode, which role (agent | user | judge | sandbox | harness) and
    which cause (connection, timeout, episode_timeout, malformed, http_5xx, sandbox_died, ...)."""
    role = getattr(e, "role", "harness") if isinstance(e, InfraError) else "harness"
    cause = getattr(e, "cause", None) if isinstance(e, InfraError) else type(e).__name__
    return {"task_id": task_id, "run": run, "role": role, "cause": cause or "error",
            "error": format_exc(e) or type(e).__name__, "attempts": attempts,
            "kind": "judge_pending" if isinstance(e, JudgePending) else "infra",
            "time": datetime.now(timezone.utc).isoformat()}


class EpisodeLoop:
    """Runs (task, run) jobs in one asyncio loop with ``concurrency`` slots and hands each trajectory
    record / infrastructure error to ``on_record`` / ``on_error``. Used in-process by ``Runner`` and
    by each worker process of a sharded run (``shards.py``).

    An episode that fails for infrastructure reasons is re-run up to ``cfg.episode_retries`` times; a
    failed judge is re-run alone on the finished episode (``on_pending`` keeps the episode when the
    judge still fails). The run stops (FatalEvalError) when an endpoint's circuit breaker opens, or
    after ``cfg.max_consecutive_errors`` episodes in a row failed with the same role and cause.
    ``jobs`` items are ``(task, run)`` or ``(task, run, record)``: a finished episode to judge only."""

    def __init__(self, cfg: EvalConfig, system_prompt: str, *, on_record: Callable[[dict], None],
                 on_error: Callable[[dict], None], concurrency: int | None = None,
                 on_pending: Callable[[dict], None] | None = None, open_episode: Callable | None = None,
                 shared_limits: dict | None = None):
        self.cfg, self.system_prompt = cfg, system_prompt
        self.on_record, self.on_error = on_record, on_error
        self.on_pending = on_pending or (lambda rec: None)
        self.concurrency = concurrency or cfg.concurrency
        self.clients: dict[str, LLMClient] = {}
        self.open_episode = open_episode  # (task, default_open) -> awaitable episode; tests, custom envs
        self.shared_limits = shared_limits or {}
        self._limiters: dict[str, Any] = {}
        self._breakers: dict[str, Any] = {}
        self.retried: dict[str, int] = {}

    def _client(self, role: str) -> LLMClient | None:
        mc = getattr(self.cfg, role)
        if mc is None or (role == "agent" and self.cfg.builtin is not None):
            return None
        if role not in self.clients:
            from ..llm.client import CircuitBreaker, RateLimiter
            ep = mc.endpoint()  # every role on one endpoint shares its rate budget and its health
            if mc.rpm and ep not in self._limiters:
                self._limiters[ep] = RateLimiter(mc.rpm, self.shared_limits.get(ep))
            if ep not in self._breakers:
                self._breakers[ep] = CircuitBreaker(mc.breaker_failures, mc.breaker_window_s)
            self.clients[role] = LLMClient(mc, limiter=self._limiters.get(ep) if mc.rpm else None,
                                           breaker=self._breakers[ep])
        return self.clients[role]

    def _episode_seed(self, run: int) -> int | None:
        return None if self.cfg.seed is None else self.cfg.seed + run

    def _agent(self, run: int):
        if self.cfg.builtin is not None:
            return make_builtin(self.cfg.builtin)
        from ..agents.llm import OpenAIAgent
        client = self._client("agent")
        assert client is not None  # a model-backed agent has a model config
        return OpenAIAgent(client, multi_call=self.cfg.multi_call,
                           keep_reasoning=self.cfg.keep_reasoning,
                           max_observation_chars=self.cfg.max_observation_chars, seed=self._episode_seed(run))

    def _user(self, run: int):
        from ..user import make_user
        u = make_user(self.cfg.user_mode, self._client("user"))
        if hasattr(u, "seed"):
            u.seed = self._episode_seed(run)
        return u

    def usage(self) -> dict[str, dict]:
        """This loop's request/retry/token counters per role (and episode re-runs per cause)."""
        out = {role: c.usage.snapshot() for role, c in self.clients.items()}
        if self.retried:
            out["episode_retries"] = dict(self.retried)
        return out

    async def run(self, jobs: list[tuple]) -> dict[str, dict]:
        """Play every job; raises FatalEvalError (after cancelling the rest) when retrying cannot help."""
        from ..judge import make_judge
        cfg = self.cfg
        judge = make_judge(self._client("judge"))
        executor = None
        # The run's built-in code is compiled once (in the fork server, or in this process without the
        # sandbox), in a thread: episodes start meanwhile (an agent's first request needs no environment)
        # and open theirs once it is there, so no environment compiles its own.
        loop = asyncio.get_running_loop()
        if cfg.sandbox:
            from ..sandbox.executor import Executor
            executor = Executor()
            preparing = loop.run_in_executor(None, executor.prepare, [j[0] for j in jobs])

            async def default_open(task: Task):
                await preparing
                return await executor.aopen(task)
        else:
            from ..sandbox.codecache import install_local
            from ..sandbox.local import LocalEpisode
            from ..sandbox.spec import episode_spec
            preparing = loop.run_in_executor(None, install_local, [j[0] for j in jobs])

            async def default_open(task: Task):
                await preparing
                return LocalEpisode(episode_spec(task))
        hook = self.open_episode
        open_ep = default_open if hook is None else (lambda task: hook(task, default_open))
        user_model = cfg.user.model if cfg.user is not None else None
        meta = {"model": cfg.agent.model, "user_sim": cfg.user_mode if cfg.user_mode == "scripted"
                else f"llm:{user_model}", "judge": judge.name}
        sem = asyncio.Semaphore(self.concurrency)
        fatal: list[BaseException] = []
        streak: list = [None, 0]  # (role, cause) of the last episodes that failed in a row, and how many
        tasks_by_id: dict[int, asyncio.Future] = {}

        def stop(e: BaseException) -> None:
            if not fatal:
                fatal.append(e)
                for t in tasks_by_id.values():
                    if t is not asyncio.current_task():
                        t.cancel()

        def failed(task: Task, run: int, e: BaseException, attempts: int) -> None:
            entry = error_entry(task.task_id, run, e, attempts)
            self.on_error(entry)
            key = (entry["role"], entry["cause"])
            streak[1] = streak[1] + 1 if streak[0] == key else 1
            streak[0] = key
            if streak[1] >= cfg.max_consecutive_errors:
                stop(FatalEvalError(
                    f"{streak[1]} episodes in a row failed with the same infrastructure error "
                    f"({entry['role']}: {entry['cause']}), each after {attempts} attempt(s); last: "
                    f"{entry['error'][:300]}"))

        def sink(fn: Callable, *args) -> None:
            """Hand a result over; a failing sink (disk full, read-only) stops the whole run at once."""
            try:
                fn(*args)
            except Exception as e:  # noqa: BLE001
                stop(e)

        async def episode(task: Task, run: int) -> dict:
            ctx = EpisodeContext(task=task, run=run, agent=self._agent(run), user=self._user(run),
                                 judge=judge, open_episode=open_ep, system_prompt=self.system_prompt,
                                 max_turns=cfg.max_turns, timeout_s=cfg.episode_timeout_s,
                                 max_observation_chars=cfg.max_observation_chars,
                                 seed=self._episode_seed(run), meta=meta)
            try:
                return await within(run_episode(ctx), cfg.episode_timeout_s + 120)
            except asyncio.TimeoutError:
                raise InfraError("episode over its deadline by 120s (sandbox or harness stalled)",
                                 "harness", "episode_timeout") from None

        async def one(task: Task, run: int, pending: dict | None = None) -> None:
            async with sem:
                attempt = 0
                while not fatal:
                    attempt += 1
                    try:
                        if pending is None:
                            rec = await episode(task, run)
                        else:  # the agent's episode is done: only its judge runs again
                            rec = await within(judge_record(task, pending, judge), cfg.episode_timeout_s)
                    except FatalEvalError as e:
                        stop(e)
                        return
                    except asyncio.CancelledError:
                        if fatal:
                            return
                        raise
                    except asyncio.TimeoutError:
                        e2 = JudgePending("judge model: no verdict in time", pending or {}, "timeout")
                        err: BaseException = e2
                    except InfraError as e:
                        err = e
                    except Exception as e:  # noqa: BLE001 - a harness bug: logged, never the agent's failure
                        log.exception("episode %s run %s crashed", task.task_id, run)
                        err = e
                    else:
                        streak[0], streak[1] = None, 0
                        sink(self.on_record, rec)
                        return
                    if isinstance(err, JudgePending):
                        pending = err.record
                    cause = getattr(err, "cause", type(err).__name__)
                    if attempt <= cfg.episode_retries and isinstance(err, InfraError):
                        self.retried[cause] = self.retried.get(cause, 0) + 1
                        await asyncio.sleep(min(10.0, cfg.episode_retry_delay_s * attempt))
                        continue
                    if pending is not None:
                        sink(self.on_pending, pending)
                    sink(failed, task, run, err, attempt)
                    return

        gc.freeze()  # what is alive now (modules, tasks) stays out of the collector's full scans: shorter pauses;
        # no collection first (~40 ms with the benchmark loaded, per run and per Ray chunk): garbage frozen with
        # it is collectable again after ``unfreeze`` below
        try:
            for k, job in enumerate(jobs):
                tasks_by_id[k] = asyncio.ensure_future(one(job[0], job[1], job[2] if len(job) > 2 else None))
            await asyncio.gather(*tasks_by_id.values(), return_exceptions=True)
        finally:
            gc.unfreeze()
            for t in tasks_by_id.values():
                t.cancel()
            for c in self.clients.values():
                await c.aclose()
            await asyncio.gather(preparing, return_exceptions=True)  # a closed executor is never started again
            if executor is not None:
                await asyncio.to_thread(executor.close)
        if fatal:
            raise fatal[0]
        return self.usage()


class SinkThread:
    """The results store's writes (validation, JSON, fsync) on one thread, in hand-over order, off the
    event loop. A failed write is raised at the next hand-over (the run stops) and by ``close``, which
    first writes everything handed over."""

    def __init__(self) -> None:
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self.error: BaseException | None = None
        self._t = threading.Thread(target=self._run, name="stt-arena-store", daemon=True)
        self._t.start()

    def _run(self) -> None:
        while (item := self._q.get()) is not None:
            fn, arg = item
            if self.error is None:
                try:
                    fn(arg)
                except BaseException as e:  # noqa: BLE001 - handed to the loop at the next hand-over
                    self.error = e

    def wrap(self, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        def hand_over(arg: Any) -> None:
            if self.error is not None:
                raise self.error
            self._q.put((fn, arg))
        return hand_over

    def close(self) -> None:
        if self._t.is_alive():
            self._q.put(None)
            self._t.join()
        if self.error is not None:
            raise self.error


def _admit_untrusted(tasks: list[Task]) -> None:
    """Fail before any episode when task code is not built-in and the OS sandbox layer is unavailable
    (without --allow-unsandboxed): such tasks would be refused episode by episode."""
    from ..sandbox.executor import allowed_by_user, os_layer_status
    from ..sandbox.trust import untrusted_code

    if allowed_by_user():
        return
    ok, why = os_layer_status()  # cached; the executor asks the same at its start
    if ok:
        return
    foreign = [t.task_id for t in tasks if untrusted_code(t)]  # hashes every shipped task once: only here
    if foreign:
        raise EvalSetupError(f"{len(foreign)} task(s) carry code that is not built-in (e.g. {foreign[0]}) and the OS "
                             f"sandbox layer is unavailable ({why}); install bubblewrap with user namespaces, or pass "
                             f"--allow-unsandboxed to run them behind the Python layers only")


class Runner:
    def __init__(self, cfg: EvalConfig, tasks: list[Task], output: str | Path, *, resume: bool = False,
                 progress: bool = True, on_record: Callable[[dict], None] | None = None, fsync: bool = True,
                 allow_task_change: bool = False, open_episode: Callable | None = None):
        if cfg.builtin is not None and cfg.builtin not in BUILTIN_AGENTS:
            raise EvalSetupError(f"--model builtin:{cfg.builtin}: unknown built-in agent; choose from "
                                 + ", ".join(f"builtin:{n}" for n in BUILTIN_AGENTS))
        if cfg.user_mode == "llm" and cfg.user is None:
            raise EvalSetupError("--user llm needs --user-model")
        self.cfg = cfg
        self.tasks = select_tasks(tasks, cfg.types, cfg.levels, cfg.task_ids, cfg.limit)
        self.system_prompt = load_prompt("agent_system", cfg.system_prompt_path)
        from .preflight import check_loadable
        # the task file's loadability (programmatic callers passing Task objects without a file: skipped)
        broken = check_loadable(self.tasks, cfg.tasks_path, guard=cfg.sandbox) if cfg.tasks_path else []
        if broken:
            more = f" (and {len(broken) - 5} more)" if len(broken) > 5 else ""
            raise EvalSetupError(f"{len(broken)} task(s) cannot be loaded, nothing was run: "
                                 + " | ".join(broken[:5]) + more + "; `stt-arena validate` checks a task file")
        if cfg.sandbox and open_episode is None:
            _admit_untrusted(self.tasks)
        out = Path(output)
        if out.exists() and not out.is_dir():
            raise EvalSetupError(f"--output {out}: exists and is not a directory")
        try:
            self.store = ResultsStore(output, fsync=fsync)
        except OSError as e:
            raise EvalSetupError(f"--output {out}: cannot create the results directory: {e.strerror or e}") from None
        self.tasks_sha256 = file_sha256(cfg.tasks_path)
        _check_resume(self.store, cfg, resume, self.tasks_sha256, allow_task_change)
        self.progress = progress
        self.on_record = on_record
        self.errors: list[dict] = []
        self.session_usage: dict[str, dict] = {}
        self.open_episode = open_episode
        self._bar = None

    def jobs(self) -> list[tuple]:
        """Episodes still to run, longest expected first (oracle plan length): a shorter tail at the end.
        A finished episode whose judge failed is a job ``(task, run, record)``: only its judge runs."""
        todo = [(t, r) if (t.task_id, r) not in self.store.pending else (t, r, self.store.pending[(t.task_id, r)])
                for r in range(self.cfg.runs) for t in self.tasks if not self.store.has(t.task_id, r)]
        return sorted(todo, key=lambda j: (len(j) == 2, -len(j[0].plans.oracle)))

    def _write_config(self) -> None:
        old = self.store.read_config() or {}
        cfg = self.cfg.model_dump(mode="json")
        self.store.write_json(CONFIG, {
            "identity": self.cfg.identity(), "config": cfg, "label": self.cfg.agent.model,
            "task_ids": [t.task_id for t in self.tasks], "n_tasks": len(self.tasks),
            "tasks_sha256": self.tasks_sha256 or old.get("tasks_sha256"),
            "benchmark": _benchmark_of(self.cfg.tasks_path) or old.get("benchmark"),
            "created": old.get("created") or datetime.now(timezone.utc).isoformat(),
            "updated": datetime.now(timezone.utc).isoformat()})

    # -- sinks (called from the loop, or from the collector thread of a sharded run) -----------
    def _record(self, rec: dict) -> None:
        self.store.add(rec)
        if self.on_record:
            self.on_record(rec)
        if self._bar is not None:
            self._bar.update(1)
            self._postfix(self._bar)

    def _error(self, err: dict) -> None:
        self.errors.append(err)
        self.store.add_error(err)
        msg = (f"error ({err.get('role', '?')}: {err.get('cause', '?')}): {err.get('task_id')} run "
               f"{err.get('run')}: {str(err['error'])[:300]}")
        if self._bar is not None:
            self._bar.write(msg, file=sys.stderr)
        else:
            log.warning(msg)

    def _pending(self, rec: dict) -> None:
        self.store.add_pending(rec)

    async def run(self) -> dict:
        """Play the remaining episodes and write the summary. A results directory that cannot be
        written raises StoreWriteError after the running episodes were stopped; what was written stays."""
        cfg = self.cfg
        self._write_config()
        jobs = self.jobs()
        total = len(self.tasks) * cfg.runs
        workers = min(cfg.workers, len(jobs), cfg.concurrency)
        if self.progress:
            from tqdm import tqdm
            tty = sys.stderr.isatty()  # piped: a line every 30 s, not a redraw per episode (log size)
            self._bar = tqdm(total=total, initial=total - len(jobs), desc=f"eval {cfg.agent.model}", unit="ep",
                             dynamic_ncols=tty, mininterval=0.1 if tty else 30.0, maxinterval=30.0 if tty else 60.0,
                             ncols=None if tty else 100, file=sys.stderr)
            self._postfix(self._bar)
        t0 = time.monotonic()
        failure: BaseException | None = None
        term = self._on_sigterm()
        writer = SinkThread()
        record, error, pending = writer.wrap(self._record), writer.wrap(self._error), writer.wrap(self._pending)
        try:
            if cfg.ray:
                from .ray_shards import run_ray
                self.session_usage = await run_ray(cfg, self.system_prompt, jobs, cfg.ray, on_record=record,
                                                   on_error=error, on_pending=pending)
            elif workers > 1:
                from .shards import run_sharded
                self.session_usage = await run_sharded(cfg, self.system_prompt, jobs, workers,
                                                       on_record=record, on_error=error, on_pending=pending)
            else:
                loop = EpisodeLoop(cfg, self.system_prompt, on_record=record, on_error=error,
                                   on_pending=pending, open_episode=self.open_episode)
                try:
                    await loop.run(jobs)
                finally:
                    self.session_usage = loop.usage()
        except OSError as e:
            failure = e if isinstance(e, StoreWriteError) else StoreWriteError(e.errno, str(e))
        except asyncio.CancelledError as e:
            if not self.interrupted:
                failure = e
        except BaseException as e:
            failure = e
        finally:
            try:
                writer.close()  # everything handed over is written before the summary
            except OSError as e:
                if failure is None or not isinstance(failure, StoreWriteError):
                    failure = e if isinstance(e, StoreWriteError) else StoreWriteError(e.errno, str(e))
            except BaseException as e:  # noqa: BLE001
                failure = failure or e
            if self._bar is not None:
                self._bar.close()
            summary = self.summary(time.monotonic() - t0)
            try:
                self.store.compact_errors()
                self.store.write_json(SUMMARY, summary)
            except OSError as e:
                if failure is None:
                    failure = e if isinstance(e, StoreWriteError) else StoreWriteError(e.errno, str(e))
            self.store.close()
            if term:
                term()
        if self.interrupted:
            raise KeyboardInterrupt
        if failure is not None:
            raise failure
        return summary

    def _on_sigterm(self):
        """SIGTERM (kill, a scheduler's stop) ends the run like Ctrl-C: the running episodes are cancelled
        between two awaits (never inside a results write) and the summary is written. Returns the undo."""
        import signal
        self.interrupted = False
        loop, me = asyncio.get_running_loop(), asyncio.current_task()

        def stop() -> None:
            self.interrupted = True
            me.cancel()
        try:
            loop.add_signal_handler(signal.SIGTERM, stop)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
            return None
        return lambda: loop.remove_signal_handler(signal.SIGTERM)

    def _postfix(self, bar) -> None:
        recs = self.store.records
        if recs:
            bar.set_postfix_str(f"pass {100 * sum(bool(r['passed']) for r in recs) / len(recs):.1f}% "
                                f"({len(recs)} done, {len(self.errors)} err)", refresh=False)

    def summary(self, wall_s: float) -> dict:
        ids = {t.task_id for t in self.tasks}
        recs = [r for r in self.store.records if r["task_id"] in ids and int(r["run"]) < self.cfg.runs]
        usage: dict[str, Any] = {}
        for role in ("agent", "user", "judge"):
            tot = {"prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0, "calls": 0}
            for r in recs:
                for k, v in ((r.get("usage") or {}).get(role) or {}).items():
                    tot[k] = tot.get(k, 0) + v
            usage[role] = tot
        retries = dict(self.session_usage.get("episode_retries") or {})
        for role, snap in self.session_usage.items():
            if role in usage:
                usage[role]["this_session"] = snap
        return {"model": self.cfg.agent.model, "output": str(self.store.root),
                "expected_episodes": len(self.tasks) * self.cfg.runs, "completed_episodes": len(recs),
                "errors_this_session": len(self.errors), "wall_s_this_session": round(wall_s, 3),
                "episode_retries_this_session": retries,
                "workers": max(1, min(self.cfg.workers, self.cfg.concurrency)),
                "usage": usage, "total_cost": sum(u["cost"] for u in usage.values()),
                "metrics": summarize(recs), "created": datetime.now(timezone.utc).isoformat()}


def run_eval(cfg: EvalConfig, tasks: list[Task], output: str | Path, **kw) -> dict:
    return asyncio.run(Runner(cfg, tasks, output, **kw).run())


