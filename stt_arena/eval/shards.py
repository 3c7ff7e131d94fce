"""Sharded runs: ``--workers N`` splits the episodes over N processes, each with its own event loop,
sandbox fork server and HTTP pools, so the harness's per-turn Python work uses N cores.

The parent keeps the only results store: workers send each record / error back over a pipe and the
parent writes it (same whole-line, resumable files as a one-process run). Jobs are dealt round-robin
from the longest-first list, so every shard gets a similar load with its long episodes first.
"""
from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import threading
import time
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, cast

from ..episode.loop import FatalEvalError, format_exc
from ..task.models import Task
from .config import EvalConfig


def split(jobs: list, concurrency: int, workers: int) -> list[tuple[list, int]]:
    """(jobs, slots) per shard: jobs dealt round-robin, slots as even as possible (each >= 1)."""
    workers = max(1, min(workers, len(jobs), concurrency))
    return [(jobs[k::workers], concurrency // workers + (k < concurrency % workers)) for k in range(workers)]


def _exit_with_parent(ppid: int) -> None:
    """A worker whose parent died (kill -9) stops at once instead of running episodes nobody records."""
    while os.getppid() == ppid:
        time.sleep(0.5)
    os._exit(3)


def _worker(cfg: EvalConfig, system_prompt: str, jobs: list[tuple[Task, int]], slots: int,
            conn: Connection, shared_limits: dict | None = None) -> None:
    """Process entry: run this shard, stream ("record" | "error", dict) messages, then one final
    ("done", usage) | ("fatal", message) | ("crash", message)."""
    from .runner import EpisodeLoop
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    lock = threading.Lock()  # one whole message at a time on the pipe

    def send(kind: str, obj: Any) -> None:
        with lock:
            conn.send((kind, obj))

    loop = EpisodeLoop(cfg, system_prompt, concurrency=slots, on_record=lambda r: send("record", r),
                       on_error=lambda e: send("error", e), on_pending=lambda r: send("pending", r),
                       shared_limits=shared_limits)
    try:
        send("done", asyncio.run(loop.run(jobs)))
    except FatalEvalError as e:
        send("fatal", str(e))
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which decides
        send("crash", format_exc(e) or type(e).__name__)
    finally:
        conn.close()


def _merge_usage(total: dict[str, dict], part: dict[str, dict]) -> None:
    for role, snap in part.items():
        acc = total.setdefault(role, {})
        for k, v in snap.items():
            acc[k] = acc.get(k, 0) + v


class ShardSet:
    """The worker processes of one run and the parent's side of their pipes."""

    def __init__(self, cfg: EvalConfig, system_prompt: str, jobs: list[tuple[Task, int]], workers: int):
        ctx = mp.get_context("spawn")  # a clean interpreter: safe whatever threads the parent has
        # one rate budget per endpoint for all workers and roles (--rpm is per endpoint, not per process)
        self.shared_limits = {mc.endpoint(): ctx.Value("d", 0.0) for mc in (cfg.agent, cfg.user, cfg.judge)
                              if mc is not None and mc.rpm}
        self.procs: list[Any] = []  # spawn-context processes
        self.conns: dict[Any, int] = {}
        self.jobs: dict[int, int] = {}
        for k, (part, slots) in enumerate(split(jobs, cfg.concurrency, workers)):
            recv, send = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_worker, args=(cfg, system_prompt, part, slots, send, self.shared_limits),
                            daemon=True,
                            name=f"stt-arena-eval-{k}")
            p.start()
            send.close()
            self.procs.append(p)
            self.conns[recv] = k
            self.jobs[k] = len(part)
        self.stop = threading.Event()

    def collect(self, on_record: Callable[[dict], None], on_error: Callable[[dict], None],
                on_pending: Callable[[dict], None] | None = None) -> dict[str, dict]:
        """Blocking: route messages until every worker is done; returns the merged usage."""
        usage: dict[str, dict] = {}
        fatal: str | None = None
        live: dict[Any, int] = dict(self.conns)
        while live and not self.stop.is_set():
            for ready in wait(list(live), timeout=0.5):
                conn = cast(Connection, ready)
                k = live[conn]
                obj: Any
                try:
                    kind, obj = conn.recv()
                except (EOFError, OSError):
                    kind, obj = "crash", f"exited with code {self.procs[k].exitcode}"
                if kind == "record":
                    on_record(obj)
                elif kind == "error":
                    on_error(obj)
                elif kind == "pending":
                    if on_pending is not None:
                        on_pending(obj)
                else:
                    del live[conn]
                    if kind == "done":
                        _merge_usage(usage, obj)
                    elif kind == "fatal":
                        fatal = fatal or obj
                        self.terminate()
                    elif not fatal:  # after a fatal error the others are stopped on purpose
                        on_error({"task_id": None, "run": None, "kind": "infra", "role": "harness",
                                  "cause": "worker_died",
                                  "error": f"eval worker {k} ({self.jobs[k]} episodes) stopped: {obj}; "
                                           f"its unfinished episodes run again on --resume"})
        if fatal:
            raise FatalEvalError(fatal)
        return usage

    def terminate(self) -> None:
        for p in self.procs:
            if p.is_alive():
                p.terminate()

    def close(self) -> None:
        self.stop.set()
        self.terminate()
        for p in self.procs:
            p.join(5)
        for c in self.conns:
            c.close()


async def run_sharded(cfg: EvalConfig, system_prompt: str, jobs: list[tuple[Task, int]], workers: int, *,
                      on_record: Callable[[dict], None], on_error: Callable[[dict], None],
                      on_pending: Callable[[dict], None] | None = None) -> dict[str, dict]:
    """Run ``jobs`` over ``workers`` processes; the sinks are called from a collector thread."""
    shards = ShardSet(cfg, system_prompt, jobs, workers)
    try:
        return await asyncio.to_thread(shards.collect, on_record, on_error, on_pending)
    finally:
        shards.close()
