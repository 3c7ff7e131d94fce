"""The workers' seccomp deny-list, compiled to BPF in the harness with ``pyseccomp`` (libseccomp).

The fork server only loads the bytes (``oslayer.install_seccomp``), so neither the binding nor
site-packages is needed inside the sandbox. Denied calls fail with EPERM; ``clone3`` fails with ENOSYS
(its flags cannot be inspected, and libc falls back to ``clone``, whose namespace flags are denied).
"""
from __future__ import annotations

import errno
import tempfile
from functools import lru_cache

DENIED = (
    "socket", "socketpair",  # no new sockets: a worker talks to the harness on the one it was handed
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount", "umount2", "unshare", "setns",
    "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "pidfd_open", "pidfd_send_signal",
    "pidfd_getfd", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "pivot_root", "chroot", "open_by_handle_at", "name_to_handle_at",
    "userfaultfd", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "acct", "quotactl", "quotactl_fd",
    "lookup_dcookie", "iopl", "ioperm", "syslog", "vhangup", "settimeofday", "clock_settime",
    "clock_adjtime", "adjtimex", "sethostname", "setdomainname", "uselib", "kcmp", "personality",
    "mbind", "migrate_pages", "move_pages", "set_mempolicy", "fanotify_init", "nfsservctl",
)
_NS_FLAGS = (0x00020000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x02000000,
             0x00000080)  # NEWNS UTS IPC USER PID NET, CLONE_NEWCGROUP, CLONE_NEWTIME


@lru_cache(maxsize=1)
def build_bpf() -> tuple[bytes | None, str]:
    """``(program, "")`` or ``(None, why)`` where the binding or libseccomp is missing."""
    try:
        import pyseccomp as sc
    except Exception as e:  # noqa: BLE001 - ImportError, or OSError when libseccomp.so.2 is absent
        return None, f"pyseccomp unavailable ({type(e).__name__}: {e})"
    try:
        f = sc.SyscallFilter(sc.ALLOW)
        for name in DENIED:
            try:
                f.add_rule(sc.ERRNO(errno.EPERM), name)
            except Exception:  # noqa: BLE001 - not a syscall on this architecture
                pass
        f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
        for flag in _NS_FLAGS:
            f.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
        f.add_rule(sc.ERRNO(errno.EPERM), "ioctl", sc.Arg(1, sc.EQ, 0x5412))  # TIOCSTI: typing into a tty
        with tempfile.TemporaryFile() as t:
            f.export_bpf(t)
            t.seek(0)
            return t.read(), ""
    except Exception as e:  # noqa: BLE001
        return None, f"seccomp filter could not be built ({type(e).__name__}: {e})"
