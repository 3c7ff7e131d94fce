"""Environment pools on Ray: sandboxed ``STTArenaCore`` environments served to ROLL's env workers on any node.

ROLL runs on Ray; its env workers usually build each environment in their own process
(``gem.make("stt_arena", **env_config)``). With pools, the environments (and their sandbox fork servers)
live in a few ``EnvPool`` actors instead, on the nodes chosen for them (CPU nodes beside the GPU ones), and
the env worker holds a thin proxy: ``env_type: stt_arena_pool`` (``STTArenaPoolEnv``), whose ``reset`` /
``step`` are actor calls returning exactly what ``STTArenaEnv`` returns. Optional: the local env stays
the default.

Start the pools once per cluster, before ROLL (detached, named, in namespace ``stt_arena``)::

    python -m stt_arena.rl.env_pool start --address auto --pools 4 --envs-per-pool 64
    python -m stt_arena.rl.env_pool status --address auto
    python -m stt_arena.rl.env_pool stop --address auto

A pool that dies (its node lost) ends the episodes it served as truncated with ``failure_mode:
env_pool_lost`` (a reset fails with ``env_reset_failed``, which ROLL drops), never as an exception in the
env worker; the next ``reset`` picks a live pool.
"""
from __future__ import annotations

import argparse
import itertools
import threading
import uuid
from typing import Any

try:  # the GEM base class where gem-llm is installed ('[rl]' extra); the proxy works the same without it
    import gem
    _Base: Any = gem.Env
except ImportError:
    _Base = object

NAMESPACE = "stt_arena"
PREFIX = "stt_arena_env_pool"


class EnvPool:
    """A Ray actor (threaded: ``max_concurrency`` = its capacity) holding environments by id."""

    def __init__(self, capacity: int = 64):
        self.capacity = capacity
        self.envs: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.served = 0

    def create(self, env_config: dict) -> str:
        from .core import STTArenaCore
        with self.lock:
            if len(self.envs) >= self.capacity:
                raise RuntimeError(f"env pool full ({self.capacity} environments): start more pools or raise "
                                   f"--envs-per-pool")
            env_id = uuid.uuid4().hex
            self.envs[env_id] = None
        try:
            core = STTArenaCore(**env_config)
        except BaseException:
            with self.lock:
                self.envs.pop(env_id, None)
            raise
        with self.lock:
            self.envs[env_id] = core
        return env_id

    def _env(self, env_id: str) -> Any:
        core = self.envs.get(env_id)
        if core is None:
            raise KeyError(f"no environment {env_id} in this pool (closed, or the pool restarted)")
        return core

    def reset(self, env_id: str, seed: int | None = None) -> tuple[list[dict], dict]:
        self.served += 1
        return self._env(env_id).reset(seed)

    def step(self, env_id: str, action: Any) -> tuple:
        return self._env(env_id).step(action)

    def env_info(self, env_id: str) -> dict:
        return self._env(env_id).env_info

    def close(self, env_id: str) -> None:
        with self.lock:
            core = self.envs.pop(env_id, None)
        if core is not None:
            core.close()

    def load(self) -> dict:
        return {"envs": len(self.envs), "capacity": self.capacity, "episodes": self.served}


def pool_names(namespace: str = NAMESPACE, prefix: str = PREFIX) -> list[str]:
    import ray
    return sorted(a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                  if a["namespace"] == namespace and a["name"].startswith(prefix))


def start_pools(n: int, envs_per_pool: int = 64, namespace: str = NAMESPACE, prefix: str = PREFIX,
                num_cpus: float = 1.0, detached: bool = True) -> list[Any]:
    """``n`` named pool actors spread over the nodes (``SPREAD``); returns their handles."""
    import ray
    have = set(pool_names(namespace, prefix))
    actors: list[Any] = []
    for k in itertools.count():
        if len(actors) == n:
            break
        name = f"{prefix}_{k}"
        if name in have:
            continue
        opts: dict[str, Any] = {"name": name, "namespace": namespace, "num_cpus": num_cpus,
                                "max_concurrency": envs_per_pool + 4, "scheduling_strategy": "SPREAD"}
        if detached:
            opts["lifetime"] = "detached"
        actors.append(ray.remote(EnvPool).options(**opts).remote(envs_per_pool))
    ray.get([a.load.remote() for a in actors])  # started (or raises why not)
    return actors


class STTArenaPoolEnv(_Base):
    """GEM id ``stt_arena_pool``: the ``STTArenaEnv`` contract (messages + ``info["tools"]``,
    ``env_reset_failed``, ``env_info``) with the environment in an ``EnvPool`` actor. ``pool``: a pool
    name, or the prefix of a group of pools (the least loaded live one is used); the other keys are
    ``STTArenaCore``'s."""

    def __init__(self, pool: str = PREFIX, namespace: str = NAMESPACE, call_timeout_s: float = 600.0,
                 **env_config: Any):
        if _Base is not object:
            super().__init__()
        self.pool_name, self.namespace, self.timeout = pool, namespace, call_timeout_s
        self.env_config = env_config
        self.actor: Any = None
        self.env_id: str | None = None
        self.env_reset_failed = False
        self._info: dict = {}
        self._last: list[dict] = []

    def _pick(self) -> None:
        """Bind to the least loaded live pool and create our environment there."""
        import ray
        names = pool_names(self.namespace, self.pool_name)
        if not names:
            raise RuntimeError(f"no env pool named {self.pool_name}* in namespace {self.namespace}: start them "
                               f"with python -m stt_arena.rl.env_pool start")
        handles = [ray.get_actor(n, namespace=self.namespace) for n in names]
        loads = []
        for h in handles:
            try:
                lo = ray.get(h.load.remote(), timeout=30)
                loads.append((lo["envs"] / max(1, lo["capacity"]), h))
            except Exception:  # noqa: BLE001 - a dead or unreachable pool is skipped
                continue
        if not loads:
            raise RuntimeError(f"every env pool named {self.pool_name}* is unreachable")
        self.actor = min(loads, key=lambda x: x[0])[1]
        self.env_id = ray.get(self.actor.create.remote(self.env_config), timeout=self.timeout)

    def _call(self, method: str, *args: Any) -> Any:
        import ray
        return ray.get(getattr(self.actor, method).remote(self.env_id, *args), timeout=self.timeout)

    def reset(self, seed: int | None = None):
        import ray
        for attempt in range(2):  # a pool lost since the last episode: bind to another once
            try:
                if self.actor is None:
                    self._pick()
                messages, info = self._call("reset", seed)
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError, RuntimeError, KeyError) as e:
                self.actor = self.env_id = None
                if attempt == 0 and isinstance(e, (ray.exceptions.RayActorError, KeyError)):
                    continue
                self.env_reset_failed = True
                return [], {"tools": [], "error_msg": f"{type(e).__name__}: {str(e)[:500]}",
                            "failure_mode": "env_reset_failed"}
            except Exception as e:  # noqa: BLE001 - the env's own reset failure (bad task, sandbox start)
                self.env_reset_failed = True
                return [], {"tools": [], "error_msg": f"{type(e).__name__}: {str(e)[:500]}",
                            "failure_mode": "env_reset_failed"}
            self.env_reset_failed = False
            self._last, self._info = list(messages), {"task_id": info.get("task_id")}
            return messages, info
        raise AssertionError("unreachable")

    def step(self, action: Any):
        import ray
        try:
            out = self._call("step", action)
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as e:
            self.actor = self.env_id = None  # the next reset binds to a live pool
            info = {"metrics": {"success": False, "reward": 0.0}, "metrics_agg_mode": {}, "use_tool": False,
                    "stop_reason": "env_pool_lost", "failure_mode": "env_pool_lost",
                    "error_messages": [f"{type(e).__name__}: {str(e)[:500]}"], **self._info}
            return list(self._last), 0.0, True, True, info
        self._last = out[0]
        return out

    @property
    def env_info(self) -> dict:
        if self.actor is None:
            return dict(self._info)
        try:
            return self._call("env_info")
        except Exception:  # noqa: BLE001 - informational only
            return dict(self._info)

    def close(self) -> None:
        if self.actor is not None and self.env_id is not None:
            try:
                self._call("close")
            except Exception:  # noqa: BLE001 - a dead pool has nothing to close
                pass
        self.actor = self.env_id = None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m stt_arena.rl.env_pool", description=__doc__.split("\n\n")[0])
    ap.add_argument("action", choices=("start", "status", "stop"))
    ap.add_argument("--address", default="auto", help="Ray cluster address (default: auto)")
    ap.add_argument("--pools", type=int, default=1)
    ap.add_argument("--envs-per-pool", type=int, default=64)
    ap.add_argument("--num-cpus", type=float, default=1.0, help="CPUs reserved per pool actor")
    ap.add_argument("--namespace", default=NAMESPACE)
    ap.add_argument("--prefix", default=PREFIX)
    a = ap.parse_args(argv)
    from ..eval.ray_shards import connect
    import ray
    connect(a.address)
    if a.action == "start":
        start_pools(a.pools, a.envs_per_pool, a.namespace, a.prefix, a.num_cpus)
    names = pool_names(a.namespace, a.prefix)
    for n in names:
        h = ray.get_actor(n, namespace=a.namespace)
        if a.action == "stop":
            ray.kill(h)
            print(f"stopped {n}")
        else:
            print(n, ray.get(h.load.remote(), timeout=30))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
