"""The OS layer holds alone: the Python layers (guard, restricted builtins, audit hook) are turned off
and environment code runs arbitrary Python (os, subprocess, ctypes, signals, /proc, sockets, fork).
Each promise of the threat model is asserted from the harness's side."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stt_arena.sandbox.executor import _PKG_PARENT, Executor, os_layer_status
from tests.helpers import attack_env, make_task

OK, WHY = os_layer_status()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not OK, reason=f"the OS sandbox layer is unavailable here: {WHY}")]
SECRET = "sk-test-canary-0123456789"
UNGUARDED = {"python_layers": False, "processes": 6, "file_size": 1 << 20, "memory_mb": 400, "cpu_seconds": 20}


@pytest.fixture(scope="module")
def ex():
    os.environ["STT_TEST_API_KEY"] = SECRET  # in the harness's environment, as API keys are
    try:
        with Executor(call_timeout_s=5.0, limits=UNGUARDED) as e:
            yield e
    finally:
        os.environ.pop("STT_TEST_API_KEY", None)


def run(ex, body: str, **kw) -> dict:
    """Open an episode whose ``attack`` tool runs ``body`` (returning a dict), call it once."""
    ep = ex.open(make_task(attack_env(body), "E"), **kw)
    try:
        r = ep.call("attack")["result"]
        assert r.get("success"), r
        return r.get("data")
    finally:
        ep.close()


def pid_ns_members(ns: str) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink(f"/proc/{d}/ns/pid") == ns:
                    out.append(int(d))
            except OSError:
                pass
    return out


def test_python_layers_really_are_off(ex):
    assert not ex.layers["ast_guard"] and not ex.layers["audit_hook"]
    d = run(ex, "import os, sys, ctypes, subprocess\nreturn {'success': True, 'data': [os.getpid(), "
                "type(__builtins__).__name__, 'ctypes' in sys.modules]}")
    assert d == [1, "module", True]  # PID 1 of its own namespace, real builtins, ctypes imported


def test_no_file_write_outside_scratch(ex):
    targets = ["/", "/usr", "/etc", "/dev", "/opt/stt-arena/stt_arena/sandbox", os.path.dirname(os.__file__),
               _PKG_PARENT, "/root", "/var/tmp", "/proc"]
    body = f"""
import os
out = {{}}
for d in {targets!r}:
    try:
        with open(os.path.join(d, 'stt_pwned'), 'w') as f:
            f.write('x')
        out[d] = 'WROTE'
    except OSError as e:
        out[d] = type(e).__name__
try:
    os.chmod('/dev/null', 0o600)
    out['chmod'] = 'CHANGED'
except OSError as e:
    out['chmod'] = type(e).__name__
with open('/tmp/scratch.txt', 'w') as f:
    f.write('ok')
out['scratch'] = open('/tmp/scratch.txt').read()
return {{'success': True, 'data': out}}
"""
    d = run(ex, body)
    assert d.pop("scratch") == "ok"
    assert "WROTE" not in d.values() and d["chmod"] != "CHANGED", d
    for t in targets:
        assert not Path(t, "stt_pwned").exists()
    assert oct(os.stat("/dev/null").st_mode & 0o777) == "0o666"


def test_scratch_is_private_to_the_episode(ex):
    run(ex, "open('/tmp/left_behind', 'w').write('x')\nreturn {'success': True}")
    assert run(ex, "import os\nreturn {'success': True, 'data': os.listdir('/tmp')}") == []
    assert not Path("/tmp/left_behind").exists()


def test_the_working_directory_is_the_private_scratch_and_nothing_persists(ex):
    """Found in review: the worker's working directory was the fork server's /tmp, shared by every episode
    (a symlink target or a directory name carried data to later episodes, and filled host memory)."""
    body = """
import os
out = {"same_dev": os.stat(".").st_dev == os.stat("/tmp").st_dev, "cwd": os.getcwd(), "parent": os.listdir("/..")}
for where in (".", "/"):
    try:
        os.symlink("SECRET-FROM-A", os.path.join(where, "channel"))
        out[where] = "WROTE"
    except OSError as e:
        out[where] = type(e).__name__
return {"success": True, "data": out}
"""
    d = run(ex, body)
    assert d["same_dev"] and d["cwd"] == "/tmp" and d["/"] != "WROTE", d
    later = run(ex, "import os\nreturn {'success': True, 'data': [os.listdir('.'), os.listdir('/tmp')]}")
    assert later == [[], []]
    # the fork server's own working directory (its sys.path[0]) is read-only: no module can be planted there
    planted = run(ex, "import os\ntry:\n    os.chdir('/')\n    os.mkdir('/json')\n    r = 'WROTE'\n"
                      "except OSError as e:\n    r = type(e).__name__\nreturn {'success': True, 'data': r}")
    assert planted != "WROTE"


def test_a_worker_that_stops_reading_cannot_hang_the_blocking_api(ex):
    """Found in review: the blocking API's send had no deadline, so a request larger than the socket buffer
    to a worker that stopped reading blocked the harness forever (the call timeout covered the reply only)."""
    ep = ex.open(make_task(attack_env("import sys, time\nsys.modules['stt_arena.sandbox.protocol'].recv = "
                                      "lambda *a, **k: time.sleep(10 ** 6)\nreturn {'success': True}"), "E"))
    try:
        assert ep.call("attack")["result"]["success"]
        t = time.monotonic()
        r = ep.call("get_x", {"blob": "A" * 900_000})
        assert time.monotonic() - t < 15 and r["result"]["success"] is False and not ep.alive, r
    finally:
        ep.close()


def test_no_network(ex):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    abstract = f"\0stt-test-{os.getpid()}"
    usrv = socket.socket(socket.AF_UNIX)
    usrv.bind(abstract)
    usrv.listen(4)
    body = f"""
import socket
out = {{}}
for name, fam, addr in [('tcp', socket.AF_INET, ('127.0.0.1', {port})), ('dns', socket.AF_INET, ('8.8.8.8', 53)),
                        ('abstract', socket.AF_UNIX, {abstract!r}), ('v6', socket.AF_INET6, ('::1', {port}))]:
    try:
        s = socket.socket(fam)
        s.settimeout(1)
        s.connect(addr)
        out[name] = 'CONNECTED'
    except OSError as e:
        out[name] = type(e).__name__
try:
    out['ifaces'] = [n for _, n in socket.if_nameindex()]
except OSError as e:
    out['ifaces'] = type(e).__name__
return {{'success': True, 'data': out}}
"""
    try:
        srv.setblocking(False)
        d = run(ex, body)
        with pytest.raises(BlockingIOError):
            srv.accept()  # nobody reached the harness's listener
    finally:
        srv.close()
        usrv.close()
    assert "CONNECTED" not in d.values(), d
    assert d["ifaces"] in (["lo"], "PermissionError")  # loopback only, and no socket may be created


def test_no_view_of_other_processes_or_the_harness_environment(ex):
    body = """
import os
seen = []
for pid in range(1, 5000):
    try:
        os.kill(pid, 0)
        seen.append(pid)
    except ProcessLookupError:
        pass
    except PermissionError:
        seen.append(pid)
env_files = {}
for p in ['/proc/self/environ', '/proc/1/environ', '/proc/%d/environ' % os.getppid()]:
    try:
        env_files[p] = open(p, 'rb').read().decode(errors='replace')
    except OSError as e:
        env_files[p] = type(e).__name__
return {'success': True, 'data': {'seen': seen, 'proc': os.listdir('/proc'), 'env': dict(os.environ),
        'files': env_files, 'uid': [os.getuid(), os.geteuid()], 'ppid': os.getppid()}}
"""
    d = run(ex, body)
    assert d["seen"] == [1, 2] and d["proc"] == [] and d["ppid"] == 0  # itself and its own episode's grader
    assert SECRET not in json.dumps(d) and "STT_TEST_API_KEY" not in d["env"]
    assert set(d["env"]) <= {"PATH", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "LANG", "PWD"}
    assert 0 not in d["uid"]


def test_cannot_signal_or_trace_siblings_the_fork_server_or_the_harness(ex):
    bystander = ex.open(make_task(attack_env("return {'success': True}"), "E"))
    try:
        body = f"""
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
out = {{}}
for name, call in [('kill_harness', lambda: os.kill({os.getpid()}, signal.SIGKILL)),
                   ('kill_bystander', lambda: os.kill({bystander.pid}, signal.SIGKILL))]:
    try:
        call()
        out[name] = 'SENT'
    except OSError as e:
        out[name] = type(e).__name__
for name, nr, args in [('ptrace_attach', 101, (16, {bystander.pid}, 0, 0)), ('pidfd_open', 434, ({os.getpid()}, 0)),
                       ('process_vm_readv', 310, ({os.getpid()}, 0, 0, 0, 0, 0))]:
    out[name] = [libc.syscall(nr, *args), ctypes.get_errno()]
try:
    os.kill(-1, signal.SIGKILL)  # everything this process may signal
except ProcessLookupError:
    pass
return {{'success': True, 'data': out}}
"""
        d = run(ex, body)
        assert d["kill_harness"] == d["kill_bystander"] == "ProcessLookupError", d
        assert all(d[k][0] == -1 for k in ("ptrace_attach", "pidfd_open", "process_vm_readv")), d
        assert bystander.call("get_x")["result"]["data"] == 1  # the sibling episode is untouched
        assert run(ex, "return {'success': True, 'data': 7}") == 7  # and the fork server still serves
    finally:
        bystander.close()


def test_seccomp_and_capabilities(ex):
    body = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
out = {}
for name, nr, args in [('unshare_user', 272, (0x10000000,)), ('mount', 165, (b'none', b'/tmp', b'tmpfs', 0, None)),
                       ('bpf', 321, (0, 0, 0)), ('keyctl', 250, (0, 0)), ('perf_event_open', 298, (0, 0, -1, -1, 0)),
                       ('setns', 308, (0, 0)), ('kexec_load', 246, (0, 0, 0, 0)), ('clone_newuser', 56, (0x10000000 | 17, 0, 0, 0, 0)),
                       ('chroot', 161, (b'/tmp',)), ('io_uring_setup', 425, (1, 0)), ('socket', 41, (2, 1, 0))]:
    out[name] = [libc.syscall(nr, *args), ctypes.get_errno()]
try:
    os.setuid(0)
    out['setuid0'] = 'ROOT'
except OSError as e:
    out['setuid0'] = type(e).__name__
hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)
data = (ctypes.c_uint32 * 6)()
libc.capget(hdr, data)
out['caps'] = list(data)
return {'success': True, 'data': out}
"""
    if os.uname().machine != "x86_64":
        pytest.skip("syscall numbers below are x86_64's")
    d = run(ex, body)
    caps = d.pop("caps")
    assert d.pop("setuid0") != "ROOT" and caps == [0] * 6
    assert all(rc == -1 and err in (1, 38) for rc, err in d.values()), d  # EPERM (ENOSYS for clone3)


def test_closing_leaves_no_process_and_processes_are_bounded(ex):
    body = """
import os, subprocess, time
made, refused = 0, 0
for i in range(12):
    try:
        pid = os.fork()
    except OSError:
        refused += 1
        continue
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:  # detached grandchild
                time.sleep(60)
        finally:
            os._exit(0)
    made += 1
try:
    subprocess.Popen(['/bin/sh', '-c', 'sleep 60'], start_new_session=True)
except OSError:
    pass
time.sleep(0.2)
return {'success': True, 'data': [made, refused]}
"""
    ep = ex.open(make_task(attack_env(body), "E"))
    ns = os.readlink(f"/proc/{ep.pid}/ns/pid")
    made, refused = ep.call("attack")["result"]["data"]
    assert refused > 0 and len(pid_ns_members(ns)) <= UNGUARDED["processes"] + 2  # + the worker and its grader
    assert len(pid_ns_members(ns)) > 1  # it did start processes, detached ones among them
    ep.close()
    deadline = time.time() + 5
    while pid_ns_members(ns) and time.time() < deadline:
        time.sleep(0.05)
    assert pid_ns_members(ns) == []


def test_per_episode_limits_apply_to_the_tree(ex):
    assert ex.layers["tree_limits"]
    body = "import os, time\nn = 0\nfor i in range(8):\n    try:\n        if os.fork() == 0:\n            time.sleep(30)\n" \
           "        n += 1\n    except OSError:\n        break\nreturn {'success': True, 'data': n}"
    assert run(ex, body, limits={**UNGUARDED, "processes": 2}) == 2
    assert run(ex, body) == UNGUARDED["processes"]


def test_a_hung_episode_is_killed_with_its_whole_tree(ex):
    body = "import os, time\nif os.fork() == 0:\n    time.sleep(60)\nwhile True:\n    pass"
    ep = ex.open(make_task(attack_env(body), "E"))
    ns = os.readlink(f"/proc/{ep.pid}/ns/pid")
    out = ep.call("attack")
    assert out["sandbox_error"] == "dead" and "timed out" in out["result"]["error"]
    deadline = time.time() + 5
    while pid_ns_members(ns) and time.time() < deadline:
        time.sleep(0.05)
    assert pid_ns_members(ns) == []


def test_memory_of_the_tree_is_bounded(ex):
    body = """
import os
try:
    x = bytearray(900 << 20)
    return {'success': True, 'data': 'ALLOCATED'}
except MemoryError:
    return {'success': True, 'data': 'MemoryError'}
"""
    assert run(ex, body) == "MemoryError"


DETACHED = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(60)\n"
            "    os._exit(0)\ntime.sleep(0.2)\nreturn {'success': True}")


def test_nothing_survives_the_executor_or_a_killed_harness(tmp_path):
    with Executor(limits=UNGUARDED) as ex:
        ep = ex.open(make_task(attack_env(DETACHED), "E"))
        ns = os.readlink(f"/proc/{ep.pid}/ns/pid")
        ep.call("attack")
        assert len(pid_ns_members(ns)) >= 2
    deadline = time.time() + 5  # the executor closed without closing the episode
    while pid_ns_members(ns) and time.time() < deadline:
        time.sleep(0.05)
    assert pid_ns_members(ns) == []

    script = tmp_path / "harness.py"  # a harness killed with SIGKILL mid-episode
    script.write_text(
        "import os, sys\nsys.path.insert(0, %r)\nfrom stt_arena.sandbox.executor import Executor\n"
        "from tests.helpers import attack_env, make_task\nex = Executor(limits=%r)\n"
        "ep = ex.open(make_task(attack_env(%r), 'E'))\nep.call('attack')\n"
        "print(os.readlink(f'/proc/{ep.pid}/ns/pid'), flush=True)\nos.kill(os.getpid(), 9)\n"
        % (str(Path(__file__).resolve().parents[1]), UNGUARDED, DETACHED))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    ns = r.stdout.strip()
    assert ns.startswith("pid:["), r.stdout + r.stderr
    deadline = time.time() + 5
    while pid_ns_members(ns) and time.time() < deadline:
        time.sleep(0.05)
    assert pid_ns_members(ns) == []


def test_reused_cgroups_never_carry_an_episodes_limits_over(ex):
    """Cgroups are reused once empty (no cgroup made and removed per episode); a worker that gets one
    again runs under the executor's limits, not the lower ones an earlier episode set there."""
    body = ("import os, time\nn = 0\nfor i in range(8):\n    try:\n        if os.fork() == 0:\n            time.sleep(30)\n"
            "        n += 1\n    except OSError:\n        break\nx = bytearray(250 << 20)\n"
            "return {'success': True, 'data': [n, len(x)]}")
    task = make_task(attack_env(body), "E")
    ep = ex.open(task, limits={**UNGUARDED, "processes": 2, "memory_mb": 120})
    first = sorted(d.name for d in ep.cgroups)
    ep.close()
    if not first:
        pytest.skip("no writable cgroup controller here")
    for _ in range(300):
        ep = ex.open(task)
        try:
            if sorted(d.name for d in ep.cgroups) == first:
                r = ep.call("attack")["result"]
                assert r.get("data") == [UNGUARDED["processes"], 250 << 20], r
                return
        finally:
            ep.close()
    pytest.fail("no cgroup was reused in 300 episodes")

