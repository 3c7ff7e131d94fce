"""Process-count and memory limits for a whole episode tree, through cgroups (harness side).

RLIMIT_NPROC bounds an episode's processes only when the sandbox's uid is not host root (the kernel
exempts root); RLIMIT_AS bounds one process. Where a writable ``pids`` (and ``memory``) controller
exists (cgroup v1 or v2; typically when the harness runs as root), each worker is moved into its own
cgroup before any environment code runs, with ``pids.max`` and a memory cap for everything it starts.
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path

_MOUNT = Path("/sys/fs/cgroup")
_LIMIT_FILES = {"pids": ("pids.max",), "memory": ("memory.max", "memory.limit_in_bytes")}


def _own_paths() -> dict[str, Path]:
    """controller -> this process's cgroup directory, for v1 hierarchies and the v2 one."""
    out: dict[str, Path] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        _, ctrls, rel = line.split(":", 2)
        rel = rel.lstrip("/")
        if not ctrls:  # v2: usable where this cgroup already delegates the controllers to children
            base = _MOUNT / "unified" if (_MOUNT / "unified" / "cgroup.controllers").exists() else _MOUNT
            try:
                v2 = (base / rel / "cgroup.subtree_control").read_text().split()
            except OSError:
                continue
            for c in ("pids", "memory"):
                if c in v2:
                    out.setdefault(c, base / rel)
        else:
            for c in ctrls.split(","):
                if c in _LIMIT_FILES:
                    out[c] = _MOUNT / c / rel
    return out


def pids_writable() -> bool:
    """Whether a pids controller this process may create cgroups under exists (no side effects)."""
    own = _own_paths().get("pids")
    return bool(own and os.access(own, os.W_OK))


class TreeLimits:
    """Per-episode cgroups under ``stt-arena-<pid>-<n>`` next to the harness's own."""

    _serial = itertools.count()

    def __init__(self) -> None:
        self.bases: dict[str, Path] = {}
        self.pending: list[Path] = []
        self.live: set[Path] = set()
        self.adopted: set[Path] = set()  # joined by workers themselves: the fork server reuses them
        self._n = itertools.count()
        tag = f"stt-arena-{os.getpid()}-{next(self._serial)}"
        for ctrl, own in _own_paths().items():
            _sweep_stale(own)
            base = own / tag
            try:
                base.mkdir()
            except OSError:
                continue
            if any((base / f).exists() for f in _LIMIT_FILES[ctrl]):
                self.bases[ctrl] = base
            else:
                _rmdir(base)

    @property
    def pids(self) -> bool:
        return "pids" in self.bases

    def files(self, processes: int, memory_mb: int) -> dict[str, int]:
        """Limit files and values for an episode's cgroups (whichever exist in each controller)."""
        return {"pids.max": processes + 2, "memory.max": memory_mb << 20, "memory.limit_in_bytes": memory_mb << 20}

    def adopt(self, name: str, processes: int, memory_mb: int, default_processes: int, default_mb: int) -> list[Path]:
        """The cgroups a worker joined by itself (named ``name``); limits rewritten if this episode's differ
        (the fork server writes its own again when it reuses the cgroup for a later worker)."""
        dirs = [base / name for base in self.bases.values()]
        if (processes, memory_mb) != (default_processes, default_mb):
            for d in dirs:
                for f, value in self.files(processes, memory_mb).items():
                    try:
                        (d / f).write_text(str(value))
                    except OSError:
                        pass
        self.live.update(dirs)
        self.adopted.update(dirs)
        return dirs

    def place(self, pid: int, processes: int, memory_mb: int) -> list[Path]:
        """Move ``pid`` into fresh cgroups capped at ``processes`` more processes and ``memory_mb``."""
        self.pending = [p for p in self.pending if not _rmdir(p)]
        made = []
        for ctrl, base in self.bases.items():
            d = base / f"ep-{next(self._n)}"
            try:
                d.mkdir()
                value = str(processes + 2) if ctrl == "pids" else str(int(memory_mb) << 20)
                for f in _LIMIT_FILES[ctrl]:
                    if (d / f).exists():
                        (d / f).write_text(value)
                        break
                (d / "cgroup.procs").write_text(str(pid))
                made.append(d)
                self.live.add(d)
            except OSError:
                _rmdir(d)
        return made

    def release(self, dirs: list[Path]) -> None:
        """After the worker was killed: cgroups the harness made removed now or on a later ``place``/
        ``close``; those the worker joined are left to the fork server, which reuses them once empty."""
        self.live.difference_update(dirs)
        mine = [d for d in dirs if d not in self.adopted]
        self.adopted.difference_update(dirs)
        self.pending += [d for d in mine if not _rmdir(d)]

    def sweep(self) -> None:
        """Remove the empty cgroups a fork server that is gone left (none of a live episode's)."""
        for base in self.bases.values():
            for d in base.iterdir() if base.is_dir() else ():
                if d.is_dir() and d not in self.live:
                    _rmdir(d)

    def close(self) -> None:
        import time
        deadline = time.monotonic() + 2
        self.pending += sorted(self.live) + [d for b in self.bases.values() if b.is_dir() for d in b.iterdir()
                                             if d.is_dir()]
        self.live, self.adopted = set(), set()
        while self.pending and time.monotonic() < deadline:
            self.pending = [p for p in self.pending if not _rmdir(p)]
            if self.pending:
                time.sleep(0.02)
        for base in self.bases.values():
            _rmdir(base)
        self.bases = {}


def _sweep_stale(own: Path) -> None:
    """Remove the (empty) cgroups left by executors of processes that no longer exist."""
    try:
        stale = [d for d in own.glob("stt-arena-*-*") if not Path(f"/proc/{d.name.split('-')[2]}").exists()]
    except OSError:
        return
    for d in stale:
        for child in d.glob("ep-*"):
            _rmdir(child)
        _rmdir(d)


def _rmdir(p: Path) -> bool:
    try:
        p.rmdir()
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False
