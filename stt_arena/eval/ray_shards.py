"""Ray runs (``--ray ADDRESS``): the episodes of one eval spread over the nodes of a Ray cluster.

One ``EvalWorker`` actor per node (``--workers`` actors per node), each with its own event loop, sandbox
fork server and HTTP pools, pulls small chunks of jobs from the driver (work stealing: a slow or lost node
holds back only its chunks in flight) and streams every record / error back as its episode finishes (a
streaming generator per chunk). ``--concurrency`` is global: the driver keeps at most that many episodes in
flight over the live actors. ``--rpm`` holds across nodes: every rate limiter asks one ``RateSlots`` actor
for its next slot. The driver keeps the only results store (as ``shards.run_sharded``), so ``--resume``
after the driver dies works as for a local run; an actor lost with its node has its unfinished episodes
re-queued for the others and counted as infrastructure retries (``episode_retries["node_died"]``).
"""
from __future__ import annotations

import asyncio
import logging
import math
import queue as queue_mod
import threading
import time
from collections import deque
from typing import Any, Callable

from ..episode.loop import FatalEvalError, format_exc
from ..task.models import Task
from .config import EvalConfig
from .shards import _merge_usage

log = logging.getLogger("stt_arena.eval.ray")
INSTALL_HINT = "pip install 'stt-arena[ray]'"
START_TIMEOUT_S = 120.0  # an eval worker not started by then (no free CPU on its node) is left out
MAX_CHUNK = 64  # jobs per pull at most (guided self-scheduling: smaller chunks as the queue drains)


class RayUnavailable(RuntimeError):
    """Ray is not installed or the cluster cannot be reached; the message says what to do."""


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailable(f"--ray needs Ray, which is not installed here: {INSTALL_HINT}") from None
    return ray


def connect(address: str) -> bool:
    """Join the cluster at ``address`` (``auto``, ``host:port``) or start one on this machine (``local``);
    True when this call started the connection (the caller shuts it down). ``ray://`` (Ray Client) is refused:
    it has no streaming generators."""
    ray = require_ray()
    if address.startswith("ray://"):
        raise RayUnavailable(f"--ray {address}: Ray Client connections cannot stream results back (no streaming "
                             f"generators over Ray Client); run the command on a cluster node with --ray auto, "
                             f"or submit it: ray job submit --address http://HEAD:8265 -- stt-arena eval ... --ray auto")
    if ray.is_initialized():
        return False
    kw: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": True}
    try:
        if address in ("", "local"):
            ray.init(address="local", include_dashboard=False, **kw)  # never a stale cluster file
        else:
            ray.init(address=address, **kw)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise RayUnavailable(f"--ray {address}: cannot connect to a Ray cluster ({e}); start one with "
                             f"`ray start --head`, or pass --ray local") from None
    return True


class RateSlots:
    """One per run (a Ray actor): the next free request slot per endpoint, as wall-clock time (``time.time``,
    NTP-synchronised across the nodes), so the actor call's own latency does not move a request's slot."""

    def __init__(self) -> None:
        self.next: dict[str, float] = {}

    def reserve(self, endpoint: str, interval: float) -> float:
        """The wall-clock time at which the caller may send its request."""
        now = time.time()
        slot = max(now, self.next.get(endpoint, 0.0))
        self.next[endpoint] = slot + interval
        return slot


class ActorSlots:
    """The ``shared`` object ``llm.client.RateLimiter`` takes (``get_lock()``, ``value``), backed by a
    ``RateSlots`` actor: reading ``value`` reserves a slot there and returns it on this machine's
    ``time.monotonic`` scale; the limiter's write-back is a no-op (the actor already moved on). One blocking
    actor call per request (~1 ms on one host), made on the worker's event loop; spacing across machines is
    as good as their clock synchronisation."""

    def __init__(self, actor: Any, endpoint: str, rpm: float):
        self.actor, self.endpoint, self.interval = actor, endpoint, 60.0 / rpm
        self._lock = threading.Lock()

    def get_lock(self) -> threading.Lock:
        return self._lock

    @property
    def value(self) -> float:
        import ray
        slot = ray.get(self.actor.reserve.remote(self.endpoint, self.interval))
        return time.monotonic() + (slot - time.time())

    @value.setter
    def value(self, _slot: float) -> None:
        pass


class EvalWorker:
    """A Ray actor: runs chunks of jobs on one background event loop (shared executor and limiters) and
    streams ("record" | "error" | "pending", dict) messages, then ("done", usage) | ("fatal", msg) |
    ("crash", msg), per chunk."""

    def __init__(self, cfg: EvalConfig, system_prompt: str, tasks: dict[str, Task], slots_actor: Any = None):
        self.cfg, self.system_prompt, self.tasks = cfg, system_prompt, tasks
        self.shared = {mc.endpoint(): ActorSlots(slots_actor, mc.endpoint(), mc.rpm)
                       for mc in (cfg.agent, cfg.user, cfg.judge) if mc is not None and mc.rpm and slots_actor}
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True, name="stt-arena-ray-loop").start()
        self.executor: Any = None
        self._lock = threading.Lock()
        from . import runner  # noqa: F401 - imported now, not on the first episode's clock (rate slots)
        if cfg.builtin is None:
            from ..agents import llm  # noqa: F401

    def node(self) -> str:
        import ray
        return ray.get_runtime_context().get_node_id()

    def _open(self, task: Task, default_open: Callable) -> Any:
        """The episodes' opener (an awaitable). Not a coroutine method: one would make Ray run this actor as
        an async actor, all of its chunks on Ray's event loop thread, one after the other."""
        if not self.cfg.sandbox:
            return default_open(task)
        return self.executor.aopen(task)

    def _start_executor(self) -> None:
        """One fork server for every chunk of this actor, the run's built-in code compiled in it once."""
        with self._lock:
            if self.executor is None:
                from ..sandbox.executor import Executor
                ex = Executor()
                ex.prepare(list(self.tasks.values()))
                self.executor = ex

    def run_chunk(self, chunk: list[tuple[str, int, dict | None]], slots: int = 1):
        """Play ``chunk`` with ``slots`` episodes at a time; a generator of messages (streamed by Ray)."""
        from .runner import EpisodeLoop
        if self.cfg.sandbox:
            self._start_executor()
        out: queue_mod.Queue = queue_mod.Queue()
        jobs = [(self.tasks[tid], run) if rec is None else (self.tasks[tid], run, rec) for tid, run, rec in chunk]
        # the actor's executor replaces the loop's own (sandbox=False: the loop starts none)
        loop = EpisodeLoop(self.cfg.model_copy(update={"sandbox": False}), self.system_prompt, concurrency=slots,
                           on_record=lambda r: out.put(("record", r)), on_error=lambda e: out.put(("error", e)),
                           on_pending=lambda r: out.put(("pending", r)), open_episode=self._open,
                           shared_limits=self.shared)

        async def play() -> None:
            try:
                out.put(("done", await loop.run(jobs)))
            except FatalEvalError as e:
                out.put(("fatal", str(e)))
            except BaseException as e:  # noqa: BLE001 - reported to the driver, which decides
                out.put(("crash", format_exc(e) or type(e).__name__))
        asyncio.run_coroutine_threadsafe(play(), self.loop)
        while True:
            kind, obj = out.get()
            yield kind, obj
            if kind in ("done", "fatal", "crash"):
                return

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()


class _Chunk:
    def __init__(self, actor: Any, jobs: list[tuple], slots: int):
        self.actor, self.jobs, self.slots = actor, jobs, slots
        self.left = {(j[0].task_id, j[1]) for j in jobs}

    @property
    def running(self) -> int:
        return min(self.slots, len(self.left))


class RayRun:
    """The driver's side: job queue, actors, in-flight chunks, sinks."""

    def __init__(self, cfg: EvalConfig, system_prompt: str, jobs: list[tuple]):
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy as Affinity
        self.ray, self.cfg = ray, cfg
        self.queue: deque = deque(jobs)
        tasks = {j[0].task_id: j[0] for j in jobs}
        here = ray.get_runtime_context().get_node_id()
        self.slots_actor = None
        if any(mc is not None and mc.rpm for mc in (cfg.agent, cfg.user, cfg.judge)):
            self.slots_actor = ray.remote(RateSlots).options(
                num_cpus=0, scheduling_strategy=Affinity(here, soft=True)).remote()
        nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= 1]
        if not nodes:
            raise RayUnavailable("--ray: the cluster has no live node with a CPU for an eval worker")
        worker = ray.remote(EvalWorker)
        tasks_ref = ray.put(tasks)
        started: list[Any] = []
        for n in nodes:
            cpus = min(1.0, n["Resources"]["CPU"] / cfg.workers)  # --workers N fit on the node whatever its size
            for _ in range(cfg.workers):
                started.append(worker.options(
                    num_cpus=cpus, max_concurrency=cfg.concurrency + 2, max_restarts=0,
                    scheduling_strategy=Affinity(n["NodeID"], soft=False)).remote(cfg, system_prompt, tasks_ref,
                                                                                  self.slots_actor))
        # a node whose CPUs other jobs hold would leave its worker pending, and the run waiting on it forever
        probes = {a.node.remote(): a for a in started}
        ready, late = ray.wait(list(probes), num_returns=len(probes), timeout=START_TIMEOUT_S)
        self.actors: list[Any] = []
        for ref in ready:
            try:
                ray.get(ref)
                self.actors.append(probes[ref])
            except ray.exceptions.RayError as e:
                log.warning("a ray eval worker failed to start: %s", str(e)[:300])
        for ref in late:
            log.warning("a ray eval worker did not start within %.0f s (its node's CPUs are taken?); run without it",
                        START_TIMEOUT_S)
            ray.kill(probes[ref])
        if not self.actors:
            raise RayUnavailable(f"--ray: no eval worker could start on the cluster within {START_TIMEOUT_S:.0f} s "
                                 f"(every node's CPUs taken, or the workers cannot import stt_arena: install "
                                 f"stt-arena on every node)")
        self.inflight: dict[Any, _Chunk] = {}
        self.done: set[tuple[str, int]] = set()
        self.deaths: dict[tuple[str, int], int] = {}
        self.retried: dict[str, int] = {}
        self.streak: list = [None, 0]
        self.stop = threading.Event()

    def _busy(self, actor: Any) -> int:
        return sum(c.running for c in self.inflight.values() if c.actor is actor)

    def _dispatch(self) -> None:
        """Top up every live actor to its share of the global concurrency: one chunk per call and actor, as
        many slots as it has free, ``len(queue) / (2 x concurrency)`` jobs per slot (guided self-scheduling:
        few chunks while the queue is long, since each costs its worker ~0.1 s of CPU to set up, single
        jobs at the end, so that no node holds back a long tail)."""
        if not self.actors:
            return
        conc = self.cfg.concurrency
        share = math.ceil(conc / len(self.actors))
        room = conc - sum(c.running for c in self.inflight.values())
        for actor in sorted(self.actors, key=self._busy):
            free = min(share - self._busy(actor), room)
            if free <= 0 or not self.queue:
                continue
            n = min(len(self.queue), MAX_CHUNK, free * max(1, len(self.queue) // (2 * conc)))
            jobs = [self.queue.popleft() for _ in range(n)]
            chunk = [(j[0].task_id, j[1], j[2] if len(j) > 2 else None) for j in jobs]
            slots = min(free, n)
            self.inflight[actor.run_chunk.remote(chunk, slots)] = _Chunk(actor, jobs, slots)
            room -= slots

    def _lost(self, gen: Any, chunk: _Chunk, why: str, on_error: Callable[[dict], None]) -> None:
        """The actor died (its node, or its process): its unfinished jobs go back to the queue."""
        if chunk.actor in self.actors:
            self.actors.remove(chunk.actor)
            try:  # "unavailable" may be a network blip: make sure it runs nothing more
                self.ray.kill(chunk.actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
            log.warning("ray eval worker lost (%s); its unfinished episodes run elsewhere", why[:200])
        for g, c in list(self.inflight.items()):
            if c.actor is chunk.actor:
                del self.inflight[g]
                started = len(c.jobs) - len(c.left) + c.slots  # a chunk's jobs start in order (FIFO semaphore)
                for k, job in enumerate(c.jobs):
                    key = (job[0].task_id, job[1])
                    if key not in c.left or key in self.done:
                        continue
                    if k >= started:  # never started there: back to the queue, no retry counted
                        self.queue.appendleft(job)
                        continue
                    self.deaths[key] = self.deaths.get(key, 0) + 1
                    if self.deaths[key] <= self.cfg.episode_retries:
                        self.retried["node_died"] = self.retried.get("node_died", 0) + 1
                        self.queue.appendleft(job)
                    else:
                        on_error({"task_id": key[0], "run": key[1], "kind": "infra", "role": "harness",
                                  "cause": "node_died", "attempts": self.deaths[key],
                                  "error": f"the Ray worker running it died {self.deaths[key]} time(s): {why[:300]}"})
        if not self.actors and self.queue:
            raise FatalEvalError(f"every Ray eval worker is gone (last: {why[:300]}); {len(self.queue)} "
                                 f"episode(s) not run; they run on --resume")

    def _message(self, chunk: _Chunk, kind: str, obj: Any, usage: dict, sinks: tuple) -> bool:
        """Route one message; True when the chunk is finished."""
        on_record, on_error, on_pending = sinks
        if kind == "record":
            key = (obj["task_id"], int(obj["run"]))
            chunk.left.discard(key)
            if key not in self.done:  # a re-run whose first record arrived after all: written once
                self.done.add(key)
                self.streak[:] = [None, 0]
                on_record(obj)
        elif kind == "error":
            chunk.left.discard((obj.get("task_id"), obj.get("run")))
            on_error(obj)
            key = (obj.get("role"), obj.get("cause"))
            self.streak[:] = [key, self.streak[1] + 1 if self.streak[0] == key else 1]
            if self.streak[1] >= self.cfg.max_consecutive_errors:
                raise FatalEvalError(f"{self.streak[1]} episodes in a row failed with the same infrastructure "
                                     f"error ({key[0]}: {key[1]}); last: {str(obj.get('error'))[:300]}")
        elif kind == "pending":
            if on_pending is not None:
                on_pending(obj)
        elif kind == "done":
            _merge_usage(usage, obj)
            return True
        elif kind == "fatal":
            raise FatalEvalError(obj)
        else:  # crash: a harness bug in the worker; its unfinished episodes are left for --resume
            on_error({"task_id": None, "run": None, "kind": "infra", "role": "harness", "cause": "worker_crashed",
                      "error": f"ray eval worker crashed: {obj}; {len(chunk.left)} episode(s) run again on --resume"})
            return True
        return False

    def collect(self, on_record: Callable[[dict], None], on_error: Callable[[dict], None],
                on_pending: Callable[[dict], None] | None = None) -> dict[str, dict]:
        """Blocking: dispatch and route until every job is done; returns the merged usage."""
        ray = self.ray
        usage: dict[str, dict] = {}
        sinks = (on_record, on_error, on_pending)
        self._dispatch()
        while self.inflight and not self.stop.is_set():
            ready, _ = ray.wait(list(self.inflight), num_returns=1, timeout=0.5)
            for gen in ready:
                chunk = self.inflight.get(gen)
                if chunk is None:
                    continue
                try:
                    kind, obj = ray.get(next(gen))
                except StopIteration:
                    kind, obj = "crash", "its stream ended without a final message"
                except ray.exceptions.RayTaskError as e:
                    kind, obj = "crash", str(e)[:2000]
                except ray.exceptions.RayError as e:  # actor or node died, object lost
                    self._lost(gen, chunk, f"{type(e).__name__}: {' '.join(str(e).split())}", on_error)
                    continue
                if self.stop.is_set():
                    break
                if self._message(chunk, kind, obj, usage, sinks):
                    del self.inflight[gen]
            self._dispatch()
        if self.retried:
            usage["episode_retries"] = dict(self.retried)
        return usage

    def close(self) -> None:
        self.stop.set()
        for a in self.actors:
            try:
                self.ray.get(a.close.remote(), timeout=5)
            except Exception:  # noqa: BLE001 - a dead actor has nothing to close
                pass
        for a in self.actors + ([self.slots_actor] if self.slots_actor is not None else []):
            self.ray.kill(a)


async def run_ray(cfg: EvalConfig, system_prompt: str, jobs: list[tuple], address: str, *,
                  on_record: Callable[[dict], None], on_error: Callable[[dict], None],
                  on_pending: Callable[[dict], None] | None = None) -> dict[str, dict]:
    """Run ``jobs`` on the Ray cluster at ``address``; the sinks are called from a collector thread."""
    ray = require_ray()
    owned = await asyncio.to_thread(connect, address)
    run: RayRun | None = None
    try:
        run = await asyncio.to_thread(RayRun, cfg, system_prompt, jobs)
        usage = await asyncio.to_thread(run.collect, on_record, on_error, on_pending)
        return usage
    finally:
        if run is not None:
            run.close()
        if owned:
            ray.shutdown()
