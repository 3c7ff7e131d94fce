"""Eval-loop throughput through the real openai client against a local scripted OpenAI server.

The server plays each task's oracle plan as tool calls. Prints:
* zero-latency server: episodes/s and tool steps/s at concurrency 1, 16, 64;
* server sleeping --latency s per completion: wall time vs the ideal (sum of latencies / concurrency);
* peak RSS of this process at concurrency 256;
* where the CPU went per completion: this harness process, the scripted server (its own process), and
  the rest of the machine (sandbox fork server and workers, plus anything else running), from
  /proc/stat where available. On a small machine all three share the same cores.

    python scripts/bench_eval.py [--episodes 64] [--latency 0.2] [--no-sandbox] [--workers N]
    python scripts/bench_eval.py --baseline [--rounds 2]   # ours vs a minimal aiohttp harness (issue 16),
                                                            # and vs that harness with a confined process
                                                            # per episode (the floor of any such harness)
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import tempfile
import time
from contextlib import contextmanager

from stt_arena.data import default_tasks_path
from stt_arena.eval.config import EvalConfig
from stt_arena.eval.runner import run_eval
from stt_arena.llm.client import ModelConfig
from stt_arena.task.io import load_tasks
from stt_arena.task.models import FINAL_MESSAGE
from stt_arena.testing.fake_openai import FakeOpenAIServer


def oracle_policy(tasks, delay: float):
    """A server-side script: the next oracle step of the task named in the first user message."""
    by_query = {t.query: t for t in tasks}

    def reply(body: dict):
        msgs = body["messages"]
        task = by_query[next(m["content"] for m in msgs if m["role"] == "user")]
        turn = sum(1 for m in msgs if m["role"] == "assistant")
        plan = [s for s in task.plans.oracle]
        item: dict = {"delay": delay} if delay else {}
        if turn >= len(plan) or plan[turn].method == FINAL_MESSAGE:
            content = plan[turn].arguments.get("content", "Task Completed") if turn < len(plan) else "Task Completed"
            return {**item, "content": content}
        st = plan[turn]
        return {**item, "tool_calls": [{"name": st.method, "arguments": st.arguments}]}

    return reply


def _serve(tasks, delay: float, conn) -> None:
    with FakeOpenAIServer(oracle_policy(tasks, delay), record=False) as sv:
        conn.send(sv.base_url)
        conn.recv()  # until the harness is done
        late = dict(getattr(sv, "late", {}))  # (an older checkout's server records none)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    conn.send((ru.ru_utime + ru.ru_stime, late))


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies over all cores, or None without /proc/stat."""
    try:
        with open("/proc/stat") as f:
            vals = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return sum(vals) - idle, sum(vals)


class CpuGroup:
    """CPU seconds of a whole process tree through a cgroup-v1 ``cpuacct`` group (root only): every process
    the members start (sandbox fork server, workers, graders) is charged, even ones no parent waits for.
    ``seconds()`` is None where no writable cpuacct hierarchy exists."""

    ROOT = "/sys/fs/cgroup/cpuacct"

    def __init__(self, name: str):
        self.path = f"{self.ROOT}/stt-bench-{os.getpid()}-{name}"
        try:
            os.makedirs(self.path, exist_ok=True)
            self.ok = True
        except OSError:
            self.ok = False

    def add(self, pid: int) -> None:
        if self.ok:
            with open(f"{self.path}/cgroup.procs", "w") as f:
                f.write(str(pid))

    def seconds(self) -> float | None:
        if not self.ok:
            return None
        with open(f"{self.path}/cpuacct.usage") as f:
            return int(f.read()) / 1e9

    def close(self) -> None:
        if not self.ok:
            return
        try:
            with open(f"{self.path}/cgroup.procs") as f:
                pids = f.read().split()
            for pid in pids:  # back to the root group, then remove this one
                with open(f"{self.ROOT}/cgroup.procs", "w") as f:
                    f.write(pid)
            os.rmdir(self.path)
        except OSError:
            pass


def _self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


@contextmanager
def server_process(tasks, delay: float, cpu: dict | None = None):
    """The scripted server in its own process, so its CPU time is not charged to the harness; its CPU
    seconds land in ``cpu["server"]``, how late its delayed replies went out (past arrival + delay: the
    server's own queueing, not the harness's) in ``cpu["server_late"]``."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_serve, args=(tasks, delay, child), daemon=True)
    p.start()
    try:
        yield parent.recv()
    finally:
        parent.send("stop")
        if parent.poll(10) and cpu is not None:
            cpu["server"], cpu["server_late"] = parent.recv()
        p.join(10)


def run(tasks, concurrency: int, delay: float, sandbox: bool, workers: int = 1) -> tuple[dict, float, int]:
    cpu: dict = {}
    with server_process(tasks, delay, cpu) as base_url, tempfile.TemporaryDirectory() as d:
        agent = ModelConfig(model="bench-agent", base_url=base_url, max_retries=2, timeout_s=60)
        cfg = EvalConfig(agent=agent, runs=1, concurrency=concurrency, sandbox=sandbox, workers=workers)
        group = CpuGroup("ours")  # after the server forked: it is not charged
        group.add(os.getpid())
        ticks0, self0, tree0 = _cpu_ticks(), _self_cpu(), group.seconds()
        t = time.perf_counter()
        s = run_eval(cfg, tasks, d, progress=False, fsync=False)
        wall = time.perf_counter() - t
        ticks1, cpu["harness"], tree1 = _cpu_ticks(), _self_cpu() - self0, group.seconds()
        group.close()
        if tree0 is not None and tree1 is not None:
            cpu["tree"] = tree1 - tree0
        recs = [json.loads(x) for x in open(f"{d}/results.jsonl")]
    if ticks0 and ticks1:
        busy, total = ticks1[0] - ticks0[0], ticks1[1] - ticks0[1]
        cpu["busy_pct"] = 100 * busy / max(1, total)
        cpu["machine"] = busy / max(1, total) * wall * (os.cpu_count() or 1)
    s["cpu"] = cpu
    s["longest_episode_turns"] = max(r["n_turns"] for r in recs)
    s["completions_by_task"] = {r["task_id"]: r["n_tool_calls"] + 1 for r in recs}
    if len(recs) != len(tasks):
        print(f"  warning: {len(tasks) - len(recs)} episode(s) missing; errors: {s['errors_this_session']}")
    return s, wall, sum(r["n_tool_calls"] for r in recs)


_ZYGOTE = r"""
import gc, json, os, signal, socket, sys
from stt_arena.sandbox import forkserver, oslayer  # noqa: F401 - the fork server's imports: its size
from stt_arena.sandbox.local import LocalEpisode
specs, bpf = json.load(open(sys.argv[1])), bytes.fromhex(sys.argv[2])
ctrl = socket.socket(fileno=int(sys.argv[3]))
for spec in specs:
    LocalEpisode(spec)  # warm: guard and compile caches, as a prepared fork server holds them
gc.collect()
gc.freeze()
pid = oslayer.clone_isolated()  # a probe: can children be confined here?
if pid == 0:
    oslayer.confine(bpf or None)
    os._exit(0)
ctrl.send(b"ready" if os.waitpid(pid, 0)[1] == 0 else b"refused")
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
while True:
    msg, fds, _flags, _addr = socket.recv_fds(ctrl, 64, 1)
    if not msg:
        break
    if oslayer.clone_isolated() == 0:
        os.closerange(3, fds[0])
        oslayer.confine(bpf or None)
        ep, f = LocalEpisode(specs[int(msg)]), socket.socket(fileno=fds[0]).makefile("rwb")
        for line in f:
            req = json.loads(line)
            f.write(json.dumps(ep.call(req["tool"], req["args"])).encode() + b"\n")
            f.flush()
        os._exit(0)
    os.close(fds[0])
"""


class Zygote:
    """The process-per-episode floor for the minimal harness: a warm process (the fork server's imports,
    the episodes' code compiled) that starts each episode's tools in a child of its own, as confined as
    our workers (namespaces, mounts, no privileges, seccomp), reached over a socket pair (JSON lines).
    No cgroup, no separate grader, no frames, limits or triggers log beyond the in-process runtime's."""

    def __init__(self, tasks):
        import socket
        import subprocess
        import sys

        from stt_arena.sandbox.seccomp_filter import build_bpf
        from stt_arena.sandbox.spec import episode_spec
        self.index: dict[str, int] = {}
        specs = []
        for t in tasks:
            self.index[t.task_id] = len(specs)
            specs.append(episode_spec(t))
        self._file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(specs, self._file)
        self._file.close()
        self.ctrl, theirs = socket.socketpair()
        bpf, _why = build_bpf()
        self.proc = subprocess.Popen([sys.executable, "-c", _ZYGOTE, self._file.name, (bpf or b"").hex(),
                                      str(theirs.fileno())], pass_fds=[theirs.fileno()])
        theirs.close()
        if self.ctrl.recv(16) != b"ready":
            self.close()
            raise RuntimeError("no confined process per episode here (user namespaces or seccomp refused)")

    async def open(self, task):
        """A (reader, writer) pair to a fresh confined child serving ``task``'s tools."""
        import asyncio
        import socket
        mine, theirs = socket.socketpair()
        socket.send_fds(self.ctrl, [str(self.index[task.task_id]).encode()], [theirs.fileno()])
        theirs.close()
        return await asyncio.open_unix_connection(sock=mine, limit=1 << 26)

    def close(self) -> None:
        self.ctrl.close()
        try:
            self.proc.wait(10)
        finally:
            os.unlink(self._file.name)


async def _minimal_episodes(tasks, base_url: str, concurrency: int, zygote: Zygote | None = None) -> int:
    """The baseline: a minimal harness doing the same HTTP work (one aiohttp session, the same request body:
    messages + tool schemas, the same server and plans) with in-process tools (or, with ``zygote``, each
    episode's tools in a confined child process) and no grading, recording, validation, retries or sandbox
    layers beyond that. Returns the number of completions."""
    import asyncio

    import aiohttp

    from stt_arena.episode import agent_tools
    from stt_arena.sandbox.local import LocalEpisode
    from stt_arena.sandbox.spec import episode_spec

    from stt_arena.prompts import load_prompt

    sem, done = asyncio.Semaphore(concurrency), [0]
    system = load_prompt("agent_system")  # the same system prompt as ours: the same request sizes

    async def episode(session, task):
        async with sem:
            if zygote is not None:
                reader, writer = await zygote.open(task)

                async def call(name: str, args: dict) -> dict:
                    writer.write(json.dumps({"tool": name, "args": args}).encode() + b"\n")
                    return json.loads(await reader.readline())
            else:
                ep = LocalEpisode(episode_spec(task))

                async def call(name: str, args: dict) -> dict:
                    return ep.call(name, args)
            tools = agent_tools(task)
            msgs = [{"role": "system", "content": system}, {"role": "user", "content": task.query}]
            for _ in range(50):
                async with session.post(f"{base_url}/chat/completions",
                                        json={"model": "m", "messages": msgs, "tools": tools}) as r:
                    body = await r.json()
                done[0] += 1
                msg = body["choices"][0]["message"]
                calls = msg.get("tool_calls") or []
                msgs.append({"role": "assistant", "content": msg.get("content") or "", "tool_calls": calls[:1]}
                            if calls else {"role": "assistant", "content": msg.get("content") or ""})
                if not calls:
                    break
                fn = calls[0]["function"]
                out = await call(fn["name"], json.loads(fn["arguments"] or "{}"))
                msgs.append({"role": "tool", "tool_call_id": calls[0]["id"], "content": json.dumps(out["result"])})
            if zygote is not None:
                writer.close()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.gather(*(episode(session, t) for t in tasks))
    return done[0]


def run_minimal(tasks, concurrency: int, delay: float, isolated: bool = False) -> tuple[dict, float, int]:
    """The minimal harness on the same scripted server: (cpu, wall, completions); ``isolated``: each
    episode's tools in a confined process of its own (``Zygote``, started before the clock)."""
    import asyncio

    cpu: dict = {}
    with server_process(tasks, delay, cpu) as base_url:
        zygote = Zygote(tasks) if isolated else None
        group = CpuGroup("minimal")
        group.add(os.getpid())
        if zygote is not None:
            group.add(zygote.proc.pid)
        ticks0, self0, tree0 = _cpu_ticks(), _self_cpu(), group.seconds()
        t = time.perf_counter()
        completions = asyncio.run(_minimal_episodes(tasks, base_url, concurrency, zygote))
        wall = time.perf_counter() - t
        ticks1, cpu["harness"], tree1 = _cpu_ticks(), _self_cpu() - self0, group.seconds()
        group.close()
        if zygote is not None:
            zygote.close()
        if tree0 is not None and tree1 is not None:
            cpu["tree"] = tree1 - tree0
    if ticks0 and ticks1:
        busy, total = ticks1[0] - ticks0[0], ticks1[1] - ticks0[1]
        cpu["busy_pct"] = 100 * busy / max(1, total)
        cpu["machine"] = busy / max(1, total) * wall * (os.cpu_count() or 1)
    return {"cpu": cpu}, wall, completions


def own_cpu(c: dict) -> float:
    """CPU seconds of a harness's whole process tree (sandbox included, server excluded): the cgroup's
    figure where measured, else every core's busy time minus the server's (counts other jobs too)."""
    return c["tree"] if "tree" in c else c["machine"] - c.get("server", 0.0)


def list_schedule(durations: list[float], slots: int) -> float:
    """Makespan of running ``durations`` in this order on ``slots`` slots, each job on the first free slot,
    with zero overhead: what a harness with this job order could at best do."""
    import heapq
    free = [0.0] * slots
    for d in durations:
        heapq.heapreplace(free, free[0] + d)
    return max(free)


def schedule_ideals(eps, per_task: dict, delay: float, c: int) -> tuple[float, float]:
    """(ours, minimal): zero-overhead makespans of each harness's job order (ours longest oracle plan first,
    as ``Runner.jobs``; the minimal harness in list order)."""
    dur = [per_task[t.task_id] * delay for t in eps]
    ours = [per_task[t.task_id] * delay for t in sorted(eps, key=lambda t: -len(t.plans.oracle))]
    return list_schedule(ours, c), list_schedule(dur, c)


def _late_ms(c: dict) -> str:
    late = c.get("server_late") or {}
    return f"{1000 * late.get('late_s', 0.0) / max(1, late.get('replies', 0)):.1f}"


def cpu_line(s: dict, completions: int) -> str:
    c = s["cpu"]
    ms = lambda sec: 1000 * sec / max(1, completions)  # noqa: E731
    line = f"harness {ms(c['harness']):.2f}"
    if "server" in c:
        line += f", server {ms(c['server']):.2f}"
    if "tree" in c:
        line += f", sandbox and other children {ms(max(0.0, c['tree'] - c['harness'])):.2f} ms CPU per completion " \
                f"(cgroup); all {os.cpu_count()} cores {c.get('busy_pct', 0):.0f}% busy"
    elif "machine" in c:
        rest = c["machine"] - c["harness"] - c.get("server", 0.0)
        line += f", rest of machine {ms(max(0.0, rest)):.2f} ms CPU per completion; all {os.cpu_count()} " \
                f"cores {c['busy_pct']:.0f}% busy"
    if (c.get("server_late") or {}).get("replies"):
        line += f"; server replies late by {_late_ms(c)} ms on average"
    return line


def _copies(tasks, n: int):
    """``n`` episodes cycling over ``tasks`` (fresh ids, so each is its own episode)."""
    out = (tasks * (1 + n // len(tasks)))[:n]
    return [t.model_copy(update={"task_id": f"{t.task_id}#{i}"}) for i, t in enumerate(out)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", default=str(default_tasks_path()))
    ap.add_argument("--episodes", type=int, default=64)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--load", type=int, default=8, help="episodes per concurrency slot in the latency runs")
    ap.add_argument("--sandbox", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--workers", type=int, default=1, help="eval processes for the latency runs (--workers)")
    ap.add_argument("--baseline", action="store_true", help="only: ours vs a minimal aiohttp harness, alternately "
                    "(CPU per completion = the harness's whole process tree by cgroup where writable, else the "
                    "whole machine minus the server; the sandbox counts as ours)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds for --baseline")
    ap.add_argument("--latency-only", action="store_true", help="--baseline: only the c=64 --latency setting")
    a = ap.parse_args()
    all_tasks = load_tasks(a.tasks)
    tasks = _copies(all_tasks, a.episodes)
    print(f"{len(tasks)} episodes per setting, sandbox={a.sandbox}")

    if a.baseline:
        print("\n== against a minimal harness (asyncio + aiohttp, in-process tools; alternating runs) ==")
        print("   'proc': the same minimal harness with each episode's tools in a confined process of its own")
        print("   (namespaces, mounts, no privileges, seccomp; JSON lines over a socket pair): the floor of any")
        print("   harness that keeps a process per episode, as ours does")
        print(f"{'setting':>22s} {'ours ep/s':>10s} {'min ep/s':>9s} {'proc ep/s':>10s} {'ms CPU/compl: ours':>19s} "
              f"{'min':>6s} {'proc':>6s} {'ours/min':>9s} {'proc/min':>9s} {'ours/proc':>10s}")
        settings = ((64, a.latency),) if a.latency_only else ((16, 0.0), (64, 0.0), (64, a.latency))
        for c, delay in settings:
            eps = tasks if delay == 0 else _copies(all_tasks, a.load * c)
            for rnd in range(a.rounds):
                s, wall, steps = run(eps, c, delay, a.sandbox)
                ours_c = steps + len(eps)
                ours = own_cpu(s["cpu"]) / ours_c * 1000
                m, mwall, mc = run_minimal(eps, c, delay)
                mine = own_cpu(m["cpu"]) / max(1, mc) * 1000
                try:
                    p, pwall, pc = run_minimal(eps, c, delay, isolated=True)
                    proc = own_cpu(p["cpu"]) / max(1, pc) * 1000
                except RuntimeError as e:  # no user namespaces or seccomp: no such floor here
                    print(f"   proc: unavailable ({e})")
                    p, pwall, pc, proc = {"cpu": {}}, float("inf"), 0, float("nan")
                label = f"c={c} {'0 ms' if not delay else f'{delay * 1000:.0f} ms'} #{rnd + 1}"
                r = lambda x, y: x / max(1e-9, y)  # noqa: E731
                print(f"{label:>22s} {len(eps) / wall:10.1f} {len(eps) / mwall:9.1f} {len(eps) / pwall:10.1f} "
                      f"{ours:19.2f} {mine:6.2f} {proc:6.2f} {r(ours, mine):9.1f} {r(proc, mine):9.1f} "
                      f"{r(ours, proc):10.1f}")
                if delay:
                    ideal = ours_c * delay / c
                    o_sched, m_sched = schedule_ideals(eps, s["completions_by_task"], delay, c)
                    print(f"{'':>22s} overhead vs sum/c: ours {100 * (wall / ideal - 1):.1f}%, minimal "
                          f"{100 * (mwall / (mc * delay / c) - 1):.1f}%, proc {100 * (pwall / (pc * delay / c) - 1):.1f}%; "
                          f"vs its own job order's zero-overhead schedule: ours {100 * (wall / o_sched - 1):.1f}% "
                          f"(schedule {100 * (o_sched / ideal - 1):.1f}% over sum/c), minimal "
                          f"{100 * (mwall / m_sched - 1):.1f}%, proc {100 * (pwall / m_sched - 1):.1f}% (schedule "
                          f"{100 * (m_sched / ideal - 1):.1f}%)")
                    print(f"{'':>22s} server lateness (its own queueing past arrival + {delay * 1000:.0f} ms): ours "
                          f"{_late_ms(s['cpu'])}, minimal {_late_ms(m['cpu'])}, proc {_late_ms(p['cpu'])} ms per reply")
        return

    print("\n== zero-latency server ==")
    print(f"{'concurrency':>11s} {'episodes/s':>11s} {'tool steps/s':>13s} {'pass':>6s}")
    for c in (1, 16, 64):
        s, wall, steps = run(tasks, c, 0.0, a.sandbox)
        passed = s["metrics"]["table3"]["overall"]["mean"] or 0
        print(f"{c:11d} {len(tasks) / wall:11.1f} {steps / wall:13.1f} {passed * 100:5.0f}%")
        print(f"{'':11s} {cpu_line(s, steps + len(tasks))}")

    print(f"\n== server sleeping {a.latency * 1000:.0f} ms per completion ({a.load}x concurrency episodes, "
          f"{a.workers} eval process(es)) ==")
    print(f"{'concurrency':>11s} {'episodes':>9s} {'wall s':>8s} {'ideal s':>8s} {'overhead':>9s} "
          f"{'longest ep s':>13s} {'vs sum/c + longest':>19s}")
    for c in (16, 64):
        eps = _copies(all_tasks, a.load * c)
        s, wall, steps = run(eps, c, a.latency, a.sandbox, a.workers)
        completions = steps + len(eps)  # one completion per tool call plus the final reply
        ideal = completions * a.latency / c  # sum of latencies / concurrency
        longest = s["longest_episode_turns"] * a.latency  # no schedule can finish before its longest episode
        bound = ideal + longest  # what a greedy scheduler with zero overhead can guarantee
        print(f"{c:11d} {len(eps):9d} {wall:8.2f} {ideal:8.2f} {100 * (wall / ideal - 1):8.1f}% {longest:13.2f} "
              f"{100 * (wall / bound - 1):18.1f}%")
        print(f"{'':11s} {cpu_line(s, completions)}")

    big = _copies(all_tasks, 256)
    run(big, 256, 0.0, a.sandbox)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n== concurrency 256 ({len(big)} episodes) ==\npeak RSS of the harness process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
