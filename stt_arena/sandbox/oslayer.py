"""The per-episode OS layer, applied inside the fork server's bubblewrap sandbox (stdlib + ctypes only).

Each worker gets its own user namespace (uid mapped to the sandbox's non-root uid, no capabilities once
set up), PID namespace (the worker is PID 1: when it dies the kernel kills everything it started), mount
namespace (empty tmpfs over ``/proc``, private tmpfs ``/tmp`` scratch), IPC and UTS namespaces,
``no_new_privs`` and a seccomp deny-list (a BPF program built by the harness, see ``seccomp_filter``)
that also denies creating sockets; the fork server's network namespace has no interface but loopback. Linux only; ``enter`` raises OSError where a step is refused.
"""
from __future__ import annotations

import ctypes
import os
import struct

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
# No network namespace per worker (creating and tearing one down costs milliseconds of kernel time): the
# fork server's namespace has no interface but loopback, and the seccomp filter denies creating sockets.
NS_FLAGS = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REC, _MS_PRIVATE = 2, 4, 8, 0x4000, 1 << 18
_PR_SET_NO_NEW_PRIVS, _PR_CAPBSET_DROP, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 24, 22, 2
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
SCRATCH_BYTES = 16 << 20

_libc = None


def _c():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _ok(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


_SYS_CLONE = {"x86_64": 56, "aarch64": 220}
_SIGCHLD = 17


def clone_isolated() -> int:
    """``os.fork`` into new user, mount, PID, IPC and UTS namespaces in one system call: the
    child (0 returned) is PID 1 there, its uid/gid mapped to the current ones. The caller must be
    single-threaded. Raises OSError where the kernel refuses."""
    nr = _SYS_CLONE.get(os.uname().machine)
    if nr is None:
        raise OSError(38, f"clone_isolated: unsupported machine {os.uname().machine}")
    uid, gid = os.geteuid(), os.getegid()
    api, py = ctypes.pythonapi, ctypes.PyDLL(None, use_errno=True)  # PyDLL: the GIL stays held, as in os.fork
    api.PyOS_BeforeFork()
    pid = py.syscall(ctypes.c_long(nr), ctypes.c_ulong(NS_FLAGS | _SIGCHLD), ctypes.c_void_p(0),
                     ctypes.c_void_p(0), ctypes.c_void_p(0), ctypes.c_void_p(0))
    if pid == 0:
        api.PyOS_AfterFork_Child()
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
        return 0
    err = ctypes.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, f"clone: {os.strerror(err)}")
    return pid


CGROUP_BOX = "/cgroup"  # where the executor's per-episode cgroup parents are mounted inside bubblewrap


def new_cgroup_name() -> str:
    return "ep-" + os.urandom(6).hex()


def join_cgroups(limits: dict[str, int], name: str) -> str:
    """Move this process (the episode's PID 1) into cgroup ``name`` under each mounted controller, made
    if new or reused (an empty one: its worker is gone), with ``{"pids.max": n, "memory.max"|
    "memory.limit_in_bytes": bytes}`` written first; returns ``name``."""
    for ctrl in sorted(os.listdir(CGROUP_BOX)):
        d = f"{CGROUP_BOX}/{ctrl}/{name}"
        try:
            os.mkdir(d)
        except FileExistsError:
            pass
        for f, value in limits.items():
            if os.path.exists(f"{d}/{f}"):
                _write(f"{d}/{f}", str(value))
        _write(f"{d}/cgroup.procs", "0")
    return name


REUSE_MAX_BYTES = 4 << 20  # memory still charged to an empty cgroup (slab, cache) above this: not reused


def cgroup_state(name: str) -> str:
    """``"free"`` (empty, reusable), ``"busy"`` (has processes), ``"stale"`` (empty, but more than
    ``REUSE_MAX_BYTES`` still charged to it: the next episode would start under that charge) or ``"gone"``."""
    try:
        ctrls = os.listdir(CGROUP_BOX)
        if not ctrls:
            return "gone"
        stale = False
        for ctrl in ctrls:
            d = f"{CGROUP_BOX}/{ctrl}/{name}"
            with open(f"{d}/cgroup.procs") as f:
                if f.read().strip():
                    return "busy"
            for usage in ("memory.usage_in_bytes", "memory.current"):
                if os.path.exists(f"{d}/{usage}"):
                    with open(f"{d}/{usage}") as f:
                        stale = stale or int(f.read() or 0) > REUSE_MAX_BYTES
        return "stale" if stale else "free"
    except (OSError, ValueError):
        return "gone"


def remove_cgroup(name: str) -> bool:
    """rmdir ``name`` under every controller; False while it still has processes."""
    for ctrl in os.listdir(CGROUP_BOX):
        try:
            os.rmdir(f"{CGROUP_BOX}/{ctrl}/{name}")
        except FileNotFoundError:
            pass
        except OSError:
            return False
    return True


def private_mounts() -> None:
    """In the new mount namespace: nothing propagates out, ``/proc`` and the cgroup tree hidden, a
    private ``/tmp``."""
    c = _c()
    _ok(c.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "mount --make-rprivate /")
    if os.path.isdir(CGROUP_BOX):
        _ok(c.mount(b"none", CGROUP_BOX.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC,
                    b"size=4k,mode=0555"), "mount tmpfs on the cgroup tree")
    _ok(c.mount(b"none", b"/proc", b"tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, b"size=4k,mode=0555"),
        "mount tmpfs on /proc")
    _ok(c.mount(b"none", b"/tmp", b"tmpfs", _MS_NOSUID | _MS_NODEV,
                f"size={SCRATCH_BYTES},mode=0700".encode()), "mount tmpfs on /tmp")
    os.chdir("/tmp")  # the private one: a working directory from before the mount is the shared one


def drop_privileges() -> None:
    """No capabilities (bounding, ambient, effective, permitted, inheritable) and no_new_privs."""
    c = _c()
    for cap in range(64):
        if c.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # past the last capability this kernel knows
    c.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    hdr = struct.pack("Ii", _LINUX_CAPABILITY_VERSION_3, 0)
    data = bytes(24)  # two cap_user_data_t {effective, permitted, inheritable}, all zero
    _ok(c.capset(ctypes.c_char_p(hdr), ctypes.c_char_p(data)), "capset")
    _ok(c.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp(bpf: bytes) -> None:
    """Load a classic-BPF seccomp program (8-byte instructions) for this process and its children."""
    buf = ctypes.create_string_buffer(bpf, len(bpf))
    prog = _SockFprog(len(bpf) // 8, ctypes.addressof(buf))
    _ok(_c().prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp")


def close_fds_except(keep: set[int]) -> None:
    """Close every descriptor above stderr not in ``keep``."""
    low = 3
    for fd in sorted(k for k in keep if k >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 4096)


def confine(bpf: bytes | None) -> None:
    """In the new namespaces' PID 1: private mounts, no privileges, seccomp."""
    private_mounts()
    drop_privileges()
    if bpf:
        install_seccomp(bpf)


def probe(bpf_hex: str) -> None:
    """Exit 0 when every step works here (run inside the fork server's bubblewrap sandbox)."""
    pid = clone_isolated()
    if pid == 0:
        try:
            confine(bytes.fromhex(bpf_hex) if bpf_hex else None)
            assert os.getpid() == 1 and not os.listdir("/proc")
            os._exit(0)
        except BaseException as e:  # noqa: BLE001
            os.write(2, f"os layer probe: {type(e).__name__}: {e}\n".encode())
            os._exit(1)
    os.close(os.pidfd_open(pid))  # the harness signals workers through pidfds (Linux >= 5.3)
    _, status = os.waitpid(pid, 0)
    raise SystemExit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    import sys
    probe(sys.argv[1] if len(sys.argv) > 1 else "")
