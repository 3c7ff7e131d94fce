"""Sandbox executor benchmark: round trip vs in-process call, episode start, grading, memory, parallel
throughput.

Usage: python scripts/bench_executor.py [--calls 3000] [--starts 200] [--live 40]
       python scripts/bench_executor.py --compare /tmp/prev --rounds 2   # another checkout's executor
                                                                          # (e.g. `git worktree add /tmp/prev
                                                                          # HEAD~N`), run alternately
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time

import psutil

from stt_arena.data import examples_path
from stt_arena.sandbox.executor import Executor
from stt_arena.sandbox.local import LocalEpisode
from stt_arena.sandbox.spec import episode_spec
from stt_arena.task.io import load_tasks

TOOL, ARGS = "get_slot", {"slot_id": "S2"}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _fork_server(ex: Executor) -> "psutil.Process | None":
    """The fork server: the first Python process the executor started (spares, workers and the grader
    template are its children; any of them may exit while we look)."""
    procs: dict[int, int] = {}  # pid -> parent pid
    for p in psutil.Process().children(recursive=True):
        try:
            if p.name().startswith("python"):
                procs[p.pid] = p.ppid()
        except psutil.Error:
            pass
    tops = [pid for pid, ppid in procs.items() if ppid not in procs]
    return psutil.Process(tops[0]) if len(tops) == 1 else None


def episode_cpu(ex: Executor, n: int) -> None:
    """CPU per sandboxed episode by process, cgroup-measured (needs a writable cpuacct hierarchy: root):
    open, the task's oracle calls, grading, close; ``n`` distinct built-in tasks, prepared, one at a time."""
    from bench_eval import CpuGroup

    from stt_arena.data import default_tasks_path
    from stt_arena.task.models import FINAL_MESSAGE
    tasks = load_tasks(default_tasks_path())[:n]
    ex.prepare(tasks)
    for t in tasks[:4]:
        ex.open(t).close()
    fs = _fork_server(ex)
    group = CpuGroup("episode")
    if fs is None or not group.ok:
        print("\n== CPU per episode ==\nunavailable here (needs root for a cpuacct cgroup)")
        group.close()
        return
    for p in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        try:
            group.add(p.pid)
        except OSError:  # gone meanwhile
            pass
    fs_cpu = lambda: sum(fs.cpu_times()[:2])  # noqa: E731
    t0, h0, f0, calls = group.seconds(), time.process_time(), fs_cpu(), 0
    for t in tasks:
        ep = ex.open(t)
        for st in t.plans.oracle:
            if st.method != FINAL_MESSAGE:
                ep.call(st.method, st.arguments)
                calls += 1
        ep.grade([c.model_dump() for c in t.checklist], [c.model_dump() for c in t.infeasible_goal])
        ep.close()
    total, harness, server = group.seconds() - t0, time.process_time() - h0, fs_cpu() - f0
    group.close()
    per = lambda x: 1000 * x / len(tasks)  # noqa: E731
    print(f"\n== CPU per episode (open, {calls / len(tasks):.1f} oracle calls, grade, close; {len(tasks)} tasks) ==\n"
          f"total {per(total):.2f} ms: harness {per(harness):.2f}, fork server {per(server):.2f}, workers and "
          f"graders {per(total - harness - server):.2f}")


_FLOOR = r"""
import os, resource, sys
from stt_arena.sandbox import forkserver, oslayer  # the fork server's imports: its size
mode, n, bpf = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
def cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime
p0, c0 = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
for _ in range(n):
    pid = os.fork() if mode == "fork" else oslayer.clone_isolated()
    if pid == 0:
        if mode == "confine":
            oslayer.confine(bpf or None)
        os._exit(0)
    os.waitpid(pid, 0)
print(1000 * (cpu(resource.RUSAGE_SELF) - p0 + cpu(resource.RUSAGE_CHILDREN) - c0) / n)
"""


_WORK = r"""
import os, resource, sys
from stt_arena.sandbox import forkserver, oslayer  # the fork server's imports
from stt_arena.sandbox.local import LocalEpisode
from stt_arena.sandbox.spec import episode_spec
from stt_arena.data import default_tasks_path
from stt_arena.task.io import load_tasks
from stt_arena.task.models import FINAL_MESSAGE
mode, n, bpf = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
jobs = [(episode_spec(t), [(s.method, s.arguments) for s in t.plans.oracle if s.method != FINAL_MESSAGE],
         [c.model_dump() for c in t.checklist], [c.model_dump() for c in t.infeasible_goal])
        for t in load_tasks(default_tasks_path())[:n]]
def play(spec, calls, items, goals):
    ep = LocalEpisode(spec)
    for m, args in calls:
        ep.call(m, args)
    ep.grade(items, goals)
for job in jobs:
    play(*job)  # warm: guard and compile caches, as a prepared fork server holds them
def cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime
p0, c0 = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
for job in jobs:
    if mode == "in-process":
        play(*job)
        continue
    pid = oslayer.clone_isolated()
    if pid == 0:
        oslayer.confine(bpf or None)
        play(*job)
        os._exit(0)
    os.waitpid(pid, 0)
print(1000 * (cpu(resource.RUSAGE_SELF) - p0 + cpu(resource.RUSAGE_CHILDREN) - c0) / n)
"""


def work_floor(n: int) -> None:
    """The same episodes' work (init, oracle calls, grading) without our executor: in-process, then each in
    a confined child of a warm process (namespaces, mounts, no privileges, seccomp; no IPC, no separate
    grader, no cgroup): what a process per episode costs at least with the work in it."""
    from stt_arena.sandbox.seccomp_filter import build_bpf
    bpf, _why = build_bpf()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.environ.get("PYTHONPATH") or root)
    print("\n== the same episodes' work without the executor (CPU ms per episode) ==")
    for mode in ("in-process", "confined child"):
        out = subprocess.run([sys.executable, "-c", _WORK, mode, str(n), (bpf or b"").hex()], env=env,
                             capture_output=True, text=True)
        got = out.stdout.strip()
        print(f"{mode:15s} {f'{float(got):.2f}' if got else 'unavailable (' + (out.stderr.strip().splitlines() or ['?'])[-1] + ')'}")


def isolation_floor(n: int = 200) -> None:
    """What a process per episode costs before any episode work: fork + exit of a process the size of the
    fork server (its imports, no prepared code), then in new namespaces, then confined as a worker is
    (mounts, no privileges, seccomp). Run on the host, not inside bubblewrap."""
    from stt_arena.sandbox.seccomp_filter import build_bpf
    bpf, _why = build_bpf()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.environ.get("PYTHONPATH") or root)
    print("\n== isolation floor per episode (CPU ms, parent + child, no episode work) ==")
    for mode in ("fork", "namespaces", "confine"):
        out = subprocess.run([sys.executable, "-c", _FLOOR, mode, str(n), (bpf or b"").hex()], env=env,
                             capture_output=True, text=True)
        got = out.stdout.strip() or f"unavailable ({(out.stderr.strip().splitlines() or ['?'])[-1]})"
        print(f"{mode:11s} {got if not out.stdout.strip() else f'{float(got):.2f}'}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--starts", type=int, default=200)
    ap.add_argument("--live", type=int, default=40)
    ap.add_argument("--parallel-calls", type=int, default=2000)
    ap.add_argument("--compare", metavar="ROOT", help="checkout whose stt_arena is the previous executor")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--core", action="store_true", help="round trip, start, grade, memory and CPU per episode only")
    ap.add_argument("--episodes", type=int, default=96, help="built-in v2 tasks played for the CPU per episode")
    a = ap.parse_args()
    if a.compare:
        return compare(a)
    task = next(t for t in load_tasks(examples_path()) if t.task_id == "example-clinic-t1")

    with Executor() as ex:
        print(f"layers: {', '.join(k for k, v in ex.layers.items() if v)}")
        local = LocalEpisode(episode_spec(task))
        method = getattr(local.rt.env, TOOL)
        direct = timed(lambda: method(**ARGS), a.calls)
        runtime = timed(lambda: local.call(TOOL, ARGS), a.calls)
        ep = ex.open(task)
        for _ in range(200):
            ep.call(TOOL, ARGS)
        sandbox = timed(lambda: ep.call(TOOL, ARGS), a.calls)
        ep.close()
        print("\n== tool-call round trip (ms) ==")
        print(f"{'path':34s} {'p50':>9s} {'p99':>9s} {'ratio p50':>10s}")
        base = pct(direct, 0.5)
        for name, xs in (("direct method call (in-process)", direct), ("runtime call (triggers, log)", runtime),
                         ("sandbox round trip", sandbox)):
            print(f"{name:34s} {pct(xs, .5) * 1e3:9.4f} {pct(xs, .99) * 1e3:9.4f} {pct(xs, .5) / base:9.0f}x")

        starts = timed(lambda: ex.open(task).close(), a.starts)
        print(f"\n== episode start (open + init + close) ==\np50 {pct(starts, .5) * 1e3:.2f} ms   "
              f"p99 {pct(starts, .99) * 1e3:.2f} ms")
        items = [c.model_dump() for c in task.checklist]

        def graded():
            e = ex.open(task)
            e.call(TOOL, ARGS)
            e.grade(items, [])
            e.close()
        grades = timed(graded, max(20, a.starts // 4))
        print(f"\n== episode with one call and grading (open, call, grade, close) ==\np50 "
              f"{pct(grades, .5) * 1e3:.2f} ms   p99 {pct(grades, .99) * 1e3:.2f} ms")

        eps = [ex.open(task) for _ in range(a.live)]
        procs = [psutil.Process(e.pid) for e in eps]
        rss = [p.memory_info().rss for p in procs]
        full = [p.memory_full_info() for p in procs]
        print(f"\n== memory per live episode ({a.live} live) ==")
        print(f"RSS mean {statistics.mean(rss) / 2**20:.1f} MB (shared pages counted in each)   "
              f"PSS mean {statistics.mean(f.pss for f in full) / 2**20:.1f} MB   "
              f"USS mean {statistics.mean(f.uss for f in full) / 2**20:.1f} MB")
        kids = [c for p in procs for c in p.children()]  # each episode's grader, where it has one
        if kids:
            kf = [c.memory_full_info() for c in kids]
            n = len(eps)
            print(f"with its grader: PSS {(sum(f.pss for f in full) + sum(f.pss for f in kf)) / n / 2**20:.1f} MB   "
                  f"USS {(sum(f.uss for f in full) + sum(f.uss for f in kf)) / n / 2**20:.1f} MB   "
                  f"(grader RSS {statistics.mean(c.memory_info().rss for c in kids) / 2**20:.1f} MB, shared pages counted)")
        for e in eps:
            e.close()
        episode_cpu(ex, a.episodes)
        work_floor(a.episodes)
        isolation_floor()
        if a.core:
            return

        print("\n== tool calls per second, N parallel episodes (threads, one episode each) ==")
        for n in (1, 2, 4, 8):
            eps = [ex.open(task) for _ in range(n)]
            per = a.parallel_calls // n

            def run(e):
                for _ in range(per):
                    e.call(TOOL, ARGS)

            ths = [threading.Thread(target=run, args=(e,)) for e in eps]
            t = time.perf_counter()
            for th in ths:
                th.start()
            for th in ths:
                th.join()
            dt = time.perf_counter() - t
            print(f"N={n:2d}: {per * n / dt:8.0f} calls/s")
            for e in eps:
                e.close()
        print(f"(machine: {psutil.cpu_count()} CPUs)")


FIGURES = {"round trip p50 (ms)": r"sandbox round trip\s+([\d.]+)", "round trip p99 (ms)": r"sandbox round trip\s+[\d.]+\s+([\d.]+)",
           "episode start p50 (ms)": r"close\) ==\np50 ([\d.]+)", "episode start p99 (ms)": r"close\) ==\np50 [\d.]+ ms\s+p99 ([\d.]+)",
           "open+call+grade p50 (ms)": r"grade, close\) ==\np50 ([\d.]+)", "RSS per episode (MB)": r"RSS mean ([\d.]+)",
           "PSS per episode (MB)": r"PSS mean ([\d.]+)", "USS per episode (MB)": r"USS mean ([\d.]+)",
           "PSS with grader (MB)": r"with its grader: PSS ([\d.]+)", "USS with grader (MB)": r"grader: PSS [\d.]+ MB\s+USS ([\d.]+)",
           "CPU per episode (ms)": r"\) ==\ntotal ([\d.]+) ms", "  harness (ms)": r"ms: harness ([\d.]+)",
           "  fork server (ms)": r"fork server ([\d.]+)", "  workers, graders (ms)": r"and graders ([\d.]+)",
           "floor: fork + exit (ms)": r"\nfork +([\d.]+)", "floor: + namespaces (ms)": r"\nnamespaces +([\d.]+)",
           "floor: + confined (ms)": r"\nconfine +([\d.]+)", "work in-process (ms)": r"\nin-process +([\d.]+)",
           "work in a confined child (ms)": r"\nconfined child +([\d.]+)"}


def compare(a) -> None:
    """This checkout's executor and ROOT's, alternately, same arguments; figures side by side."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    args = [sys.executable, os.path.abspath(__file__), "--core", "--calls", str(a.calls), "--starts", str(a.starts),
            "--live", str(a.live), "--episodes", str(a.episodes)]
    runs: dict[str, list[dict]] = {"current": [], "previous": []}
    for r in range(a.rounds):
        for name, root in (("previous", a.compare), ("current", here)) if r % 2 else (("current", here), ("previous", a.compare)):
            env = dict(os.environ, PYTHONPATH=root)
            out = subprocess.run(args, capture_output=True, text=True, env=env, cwd=root).stdout
            got = {k: float(m.group(1)) for k, rx in FIGURES.items() if (m := re.search(rx, out))}
            runs[name].append(got)
            print(f"round {r + 1} {name:8s} ({out.splitlines()[0] if out else 'no output'})", flush=True)
    print(f"\n{'figure':28s} {'current (runs)':>26s} {'previous (runs)':>26s}")
    for k in FIGURES:
        cur = " / ".join(f"{g[k]:.2f}" for g in runs["current"] if k in g) or "-"
        prev = " / ".join(f"{g[k]:.2f}" for g in runs["previous"] if k in g) or "-"
        print(f"{k:28s} {cur:>26s} {prev:>26s}")


if __name__ == "__main__":
    main()
