"""Security suite: hostile env code is rejected by the guard or contained at run time, and neither the
harness nor other episodes are affected."""
import subprocess
import sys

import pytest

from pathlib import Path

from stt_arena.sandbox.executor import (_PKG_PARENT, Executor, SandboxError, _bwrap_cmd, _child_env, box_python,
                                        bwrap_available)
from tests.helpers import attack_env, make_task

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)

GUARD_CASES = {
    "import_os": ("import os\nreturn {'success': True}", ""),
    "import_sys": ("import sys\nreturn {'success': True}", ""),
    "import_subprocess": ("import subprocess\nsubprocess.run(['id'])", ""),
    "import_socket": ("import socket\nsocket.create_connection(('127.0.0.1', 22))", ""),
    "import_ctypes": ("import ctypes\nctypes.CDLL(None)", ""),
    "from_os_import": ("from os import system\nsystem('id')", ""),
    "dunder_import": ("m = __import__('os')\nreturn m", ""),
    "subclasses_walk": ("return ().__class__.__bases__[0].__subclasses__()", ""),
    "open_passwd": ("return open('/etc/passwd').read()", ""),
    "file_write": ("open('/tmp/pwned', 'w').write('x')", ""),
    "eval": ("return eval('1+1')", ""),
    "exec": ("exec('x = 1')", ""),
    "compile": ("return compile('1', 'f', 'eval')", ""),
    "func_globals": ("return self.get_x.__func__.__globals__", ""),
    "builtins_name": ("return __builtins__['open']", ""),
    "generator_frame": ("g = (i for i in [1])\nreturn g.gi_frame.f_globals", ""),
    "traceback_frame": ("try:\n    1 / 0\nexcept Exception as e:\n    return e.__traceback__.tb_frame", ""),
    "traceback_tb_frame_attr": ("try:\n    1 / 0\nexcept Exception as e:\n    t = e.with_traceback(None)\n    return t.tb_frame", ""),
    "getattr_trick": ("return getattr(self, '_' + '_class' + '_' + '_')", ""),
    "format_string_attr": ("return '{0.__class__}'.format(self)", ""),
    "dynamic_format": ("s = '{0.' + 'x}'\nreturn s.format(self)", ""),
    "globals_call": ("return globals()", ""),
    "vars_call": ("return vars(self)", ""),
    "import_importlib": ("import importlib\nreturn importlib.import_module('os')", ""),
    "import_builtins": ("import builtins\nreturn builtins.open", ""),
    "mro_walk": ("return type(self).mro()", ""),
    "dict_attr": ("return self.__dict__", ""),
    "global_stmt": ("global x\nx = 1", ""),
    "multiprocessing_fork": ("import multiprocessing\nmultiprocessing.Process(target=print).start()", ""),
}


@pytest.fixture(scope="module")
def ex():
    with Executor(call_timeout_s=2.0, limits={"cpu_seconds": 20, "memory_mb": 400}) as e:
        yield e


def _canary(ex):
    ep = ex.open(make_task(attack_env("return {'success': True}"), "E"))
    try:
        assert ep.call("get_x", {})["result"] == {"success": True, "data": 1}
    finally:
        ep.close()


@pytest.mark.parametrize("name", sorted(GUARD_CASES))
def test_guard_rejects(ex, name):
    body, top = GUARD_CASES[name]
    with pytest.raises(SandboxError, match="rejected by the sandbox guard"):
        ex.open(make_task(attack_env(body, top), "E"))
    _canary(ex)


RUNTIME_CASES = {
    "module_private_escape": ("import random\nreturn random._os.getcwd()", "AttributeError"),
    "typing_sys_escape": ("import typing\nreturn typing.sys.modules", "AttributeError"),
    "collections_sys": ("import collections\nreturn collections.sys", "AttributeError"),
    "memory_bomb": ("x = 'x' * (10 ** 10)\nreturn x", "MemoryError"),
    "list_memory_bomb": ("x = [0] * (10 ** 9)\nreturn len(x)", "MemoryError"),
    "recursion_bomb": ("def f(n):\n    return f(n + 1)\nreturn f(0)", "RecursionError"),
    "huge_output": ("return {'success': True, 'data': 'x' * 5000000}", "too large"),
    "raises": ("raise ValueError('boom')", "ValueError: boom"),
    "bad_return": ("return object()", None),
}


@pytest.mark.parametrize("name", sorted(RUNTIME_CASES))
def test_runtime_contained(ex, name):
    body, expect = RUNTIME_CASES[name]
    bystander = ex.open(make_task(attack_env("return {'success': True}"), "E"))
    ep = ex.open(make_task(attack_env(body), "E"))
    out = ep.call("attack", {})
    if expect is None:
        assert out["result"]["success"] is True  # a non-JSON object is stringified, not a crash
    else:
        assert out["result"]["success"] is False and expect in out["result"]["error"]
    assert ep.alive and ep.call("get_x", {})["result"]["data"] == 1  # the episode survives a refused attack
    assert bystander.call("get_x", {})["result"]["data"] == 1
    ep.close()
    bystander.close()
    _canary(ex)


@pytest.mark.parametrize("body", ["while True:\n    pass", "return 10 ** (10 ** 9)"], ids=["infinite_loop", "cpu_bigint"])
def test_hang_killed(ex, body):
    bystander = ex.open(make_task(attack_env("return {'success': True}"), "E"))
    ep = ex.open(make_task(attack_env(body), "E"))
    out = ep.call("attack", {})
    assert out["result"]["success"] is False and "timed out" in out["result"]["error"]
    assert not ep.alive and "terminated" in ep.call("get_x", {})["result"]["error"]
    assert bystander.call("get_x", {})["result"]["data"] == 1
    bystander.close()
    _canary(ex)


def test_hang_at_import_is_init_error(ex):
    src = "while True:\n    pass\n" + attack_env("return 1", "")
    with pytest.raises(SandboxError, match="timed out"):
        Executor(call_timeout_s=1.0).open(make_task(src, "E"))
    _canary(ex)


AUDIT_PROBES = {
    "open": "open('/etc/passwd').read()",
    "write": "open('/tmp/stt_pwned', 'w')",
    "socket": "import socket; socket.create_connection(('127.0.0.1', 9))",
    "subprocess": "import subprocess; subprocess.run(['true'])",
    "system": "import os; os.system('true')",
    "fork": "import os; os.fork()",
    "listdir": "import os; os.listdir('/')",
    "frames": "import sys; sys._current_frames()",
}


@pytest.mark.parametrize("name", sorted(AUDIT_PROBES))
def test_audit_hook_blocks(name):
    """Defence in depth: even code that got past the guard is stopped by the worker's audit hook."""
    pre = "import os, socket, subprocess, sys\nfrom stt_arena.sandbox.audit import install_audit_hook\ninstall_audit_hook()\n"
    code = pre + "try:\n    " + AUDIT_PROBES[name] + "\nexcept PermissionError as e:\n    print('BLOCKED', e)\n"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert "BLOCKED" in r.stdout, r.stdout + r.stderr


@pytest.mark.skipif(not bwrap_available(), reason="bubblewrap not usable here")
@pytest.mark.parametrize("probe", [
    "open('/etc/passwd')",
    "import socket; socket.create_connection(('127.0.0.1', 22), timeout=2)",
    "open(PKG + '/stt_pwned', 'w')",
])
def test_bwrap_isolation(probe):
    probe = f"PKG = {_PKG_PARENT!r}\n" + probe
    r = subprocess.run(_bwrap_cmd() + [box_python(), "-c", probe], capture_output=True, text=True,
                       timeout=30, env=_child_env())
    assert r.returncode != 0
    assert any(k in r.stderr for k in ("FileNotFoundError", "OSError", "ConnectionRefused", "Read-only", "unreachable"))
    assert not Path(_PKG_PARENT, "stt_pwned").exists()


def test_legit_stdlib_use_still_works(ex):
    body = """
from collections import namedtuple, defaultdict
from dataclasses import dataclass
import math, json, re, itertools, statistics
P = namedtuple('P', 'a b')
d = defaultdict(int)
d['k'] += 2
return {'success': True, 'data': [P(1, 2).a, d['k'], math.floor(2.5), json.dumps([1]),
        bool(re.match('a', 'ab')), list(itertools.islice(itertools.count(), 2)), statistics.mean([1, 3])]}
"""
    ep = ex.open(make_task(attack_env(body), "E"))
    assert ep.call("attack", {})["result"]["data"] == [1, 2, 2, "[1]", True, [0, 1], 2]
    ep.close()


def test_layers_reported(ex):
    layers = ex.layers
    assert all(layers[k] for k in ("ast_guard", "audit_hook", "resource_limits", "process_per_episode"))
    assert layers["bwrap"] == bwrap_available()
