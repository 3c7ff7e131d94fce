"""The fork server's cgroup reuse, without a kernel: states read from a planted cgroup tree, and the
bookkeeping that decides what is reused, kept waiting or removed (the real reuse is tested in
``test_sandbox_oslayer.py``)."""
import pytest

from stt_arena.sandbox import forkserver, oslayer


@pytest.fixture
def box(tmp_path, monkeypatch):
    monkeypatch.setattr(oslayer, "CGROUP_BOX", str(tmp_path))

    def make(name: str, procs: str = "", usage: int | None = None, ctrls=("memory", "pids")) -> None:
        for ctrl in ctrls:
            d = tmp_path / ctrl / name
            d.mkdir(parents=True, exist_ok=True)
            (d / "cgroup.procs").write_text(procs)
            if ctrl == "memory" and usage is not None:
                (d / "memory.usage_in_bytes").write_text(str(usage))
    return make


def test_cgroup_states(box):
    box("free", usage=200 << 10)
    box("busy", procs="42\n", usage=200 << 10)
    box("stale", usage=oslayer.REUSE_MAX_BYTES + 1)  # e.g. dentries its worker made, still charged
    box("half", ctrls=("pids",))  # removed from one controller already
    assert [oslayer.cgroup_state(n) for n in ("free", "busy", "stale", "half", "missing")] == \
        ["free", "busy", "stale", "gone", "gone"]


def test_recycling_reuses_only_empty_uncharged_cgroups(box, monkeypatch):
    for name, procs, usage in (("a", "", 0), ("b", "7", 0), ("c", "", 64 << 20), ("d", "", 0)):
        box(name, procs=procs, usage=usage)
    removed: list[str] = []

    def remove(name: str) -> bool:  # cgroupfs removes a directory with its control files; a plain one cannot
        import shutil
        for ctrl in ("memory", "pids"):
            shutil.rmtree(f"{oslayer.CGROUP_BOX}/{ctrl}/{name}", ignore_errors=True)
        removed.append(name)
        return True
    monkeypatch.setattr(oslayer, "remove_cgroup", remove)
    server = forkserver.ForkServer.__new__(forkserver.ForkServer)
    server.busy, server.free = forkserver.deque(["c", "a", "b", "d", "gone"]), []
    monkeypatch.setattr(forkserver, "FREE_CGROUPS", 1)
    server.recycle_cgroups()
    # c: charged, removed; a: reused; b: still in use, waits; d: free but over the cap, removed; gone: forgotten
    assert server.free == ["a"] and list(server.busy) == ["b"] and removed == ["c", "d"]
    server.isolate, server.tree = True, {"pids.max": 8}
    assert server._spare_cgroup() == "a" and server._spare_cgroup().startswith("ep-")  # then a new one
