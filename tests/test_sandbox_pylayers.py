"""The Python layers, repaired (defence in depth behind the OS layer): the audit hook is an allowlist
out of reach of sandboxed code; trigger expressions and format strings refuse frame, code, generator
and traceback attributes and name rebinding; module views drop evaluators and name-driven mutators;
annotations are stripped at load."""
import subprocess
import sys

import pytest

from stt_arena.sandbox.executor import Executor, SandboxError
from stt_arena.sandbox.guard import GuardError, check_expression, check_source
from tests.helpers import attack_env, make_task


@pytest.fixture(scope="module")
def ex():
    with Executor(call_timeout_s=3.0, limits={"cpu_seconds": 20, "memory_mb": 400}) as e:
        yield e


@pytest.mark.parametrize("expr", [
    "(x for x in [1]).gi_frame.f_back.f_globals",
    "[g.gi_frame for g in [(y for y in [1])]]",
    "result.gi_code",
    "args.tb_frame",
    "now.f_locals",
    "[get('x') for get in [state.get]]",       # rebinding an allowed function
    "[1 for state in [args]]",                  # rebinding a context name
    "any(str(1) for str in [len])",
    "'{0.gi_frame.f_back}' == str(result)",     # an attribute chain in a format template
    "'{0._x}' == ''",
], ids=lambda e: e[:30])
def test_expression_guard_refuses_introspection_and_rebinding(expr):
    with pytest.raises(GuardError):
        check_expression(expr)


def test_expression_guard_still_accepts_plain_conditions():
    for ok in ("get('vehicles.V1.depot') == 'D2' and step >= 2", "[v for v in state.values() if v]",
               "called('book', slot='S1') or minutes > 30", "'{} {}' == '{} {}'"):
        check_expression(ok)


@pytest.mark.parametrize("body", [
    "g = (i for i in [1])\nreturn '{0.gi_frame.f_back.f_globals}'.format(g)",
    "return '{0._secret}'.format(self)",
    "return '{x.gi_frame!r:>{w.f_back}}'.format(x=1, w=2)",
    "return 'a __class__ b'",
    "import enum\nreturn enum.IntEnum._convert_('X', 'os', lambda n: True)",
    "import sys\nreturn sys._getframe()",
], ids=["format_frame", "format_private", "format_nested_spec", "dunder_word", "enum_convert", "getframe"])
def test_env_guard_refuses_format_and_module_pivots(ex, body):
    with pytest.raises(SandboxError, match="rejected by the sandbox guard"):
        ex.open(make_task(attack_env(body), "E"))


PIVOTS = {
    # copy the globals of a harness-side function into this module's globals, then use 'sys'
    "functools_update_wrapper": "import functools\ndef g():\n    return 1\n"
                                "functools.update_wrapper(g, now, assigned=(), updated=('_' + '_globals__',))\n"
                                "return sorted(sys.modules)[:3]",
    "functools_wraps": "import functools\n@functools.wraps(now, assigned=('_' + '_globals__',))\ndef g():\n    return 1\n"
                       "return str(type(g))",
    "singledispatch_annotations": "import functools\nreturn str(functools.singledispatch)",
    "typing_get_type_hints": "import typing\nreturn str(typing.get_type_hints)",
    "typing_forward_ref": "import typing\nreturn str(typing.ForwardRef)",
    "enum_global_enum": "import enum\nreturn str(enum.global_enum)",
    "make_dataclass_module": "import dataclasses\nreturn str(dataclasses.make_dataclass('X', ['a'], module='builtins'))",
}


@pytest.mark.parametrize("name", sorted(PIVOTS))
def test_module_view_pivots_fail_at_run_time(ex, name):
    ep = ex.open(make_task(attack_env(PIVOTS[name]), "E"))
    try:
        r = ep.call("attack")["result"]
    finally:
        ep.close()
    if name == "functools_wraps":  # the standard attributes only: nothing chosen by the caller
        assert r == {"success": True, "data": "<class 'function'>"}
    else:
        assert r["success"] is False and any(k in r["error"] for k in ("AttributeError", "NameError")), r


def _attack(ex, body: str, top: str = "") -> dict:
    ep = ex.open(make_task(attack_env(body, top), "E"))
    try:
        return ep.call("attack")["result"]
    finally:
        ep.close()


def test_dataclass_field_names_cannot_carry_code(ex):
    """Found in review: a computed ``__annotations__`` key was pasted by ``dataclass`` into generated source
    run with the real builtins (``__import__('sys')``); three-argument ``type`` took the dunder name."""
    inj = ("ann, imp = '_' + '_annotations__', '_' + '_import' + '_' + '_'\n"
           "C = type('C', (list,), {ann: {'append(' + imp + \"('sys'))\": int}})\n")
    r = _attack(ex, inj + "import dataclasses\nb = dataclasses.dataclass(C, init=False, repr=False)()\nb == b\n"
                "return {'success': True, 'data': str(b[0])}")
    assert r["success"] is False and "not allowed" in r["error"], r
    # a dataclass from a class statement works (it failed to load before: no module for the env's classes)
    top = "import dataclasses\n@dataclasses.dataclass(frozen=True)\nclass K:\n    x: int = 1\n    y: str = 'a'\n"
    r = _attack(ex, "return {'success': True, 'data': [repr(K()), K(2) == K(2), hash(K()) == hash(K())]}", top)
    assert r == {"success": True, "data": ["K(x=1, y='a')", True, True]}, r
    r = _attack(ex, "return {'success': True, 'data': [str(type(1)), "
                    "isinstance(int, type), isinstance(1, type), type('N', (), {'a': 1}).a]}")
    assert r == {"success": True, "data": ["<class 'int'>", True, False, 1]}, r


def test_string_annotations_are_stripped_and_annotated_code_still_runs(ex):
    top = "class P:\n    a: 'int' = 1\n    b: 'list'\n\n    def f(self, x: 'int') -> 'str':\n        return str(x)\n"
    body = "return {'success': True, 'data': [P.a, P().f(2), hasattr(P, 'b')]}"
    ep = ex.open(make_task(attack_env(body, top), "E"))
    try:
        assert ep.call("attack")["result"]["data"] == [1, "2", False]
    finally:
        ep.close()
    tree = check_source("def f(x: 'evil', *a: 'e', **k: 'e') -> 'evil':\n    y: 'evil' = 1\n    return y\n")
    import ast
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value == "evil"]


AUDIT_PRE = ("import os, socket, subprocess, sys\nfrom stt_arena.sandbox import audit\nfrom stt_arena.sandbox.audit "
             "import install_audit_hook\ninstall_audit_hook()\n")


def test_audit_hook_configuration_is_out_of_reach():
    """Rewriting the module's allowlist (what an enum/functools pivot could do) changes nothing: the
    installed hook holds its own copy in a closure."""
    code = AUDIT_PRE + ("audit.ALLOWED_EVENTS = frozenset({'open', 'os.listdir', 'import'})\n"
                        "audit.make_hook = lambda *a: (lambda e, a: None)\n"
                        "try:\n    open('/etc/hostname')\n    print('OPENED')\n"
                        "except PermissionError as e:\n    print('BLOCKED', e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert "BLOCKED" in r.stdout and "OPENED" not in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("probe", ["os.listdir('/')", "socket.socket()", "subprocess.Popen(['true'])",
                                   "import ctypes", "sys._current_frames()", "os.getcwd() and open('x', 'w')",
                                   "__import__('json').loads('1') and __import__('pickle')"])
def test_allowlist_refuses_what_it_does_not_name(probe):
    code = AUDIT_PRE + f"try:\n    {probe}\n    print('RAN')\nexcept PermissionError as e:\n    print('BLOCKED', e)\n"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert "BLOCKED" in r.stdout and "RAN" not in r.stdout, r.stdout + r.stderr


def test_triggers_with_introspection_are_rejected_at_open(ex):
    trig = {"id": "t", "activation": {"tool": "add", "timing": "before"},
            "condition": "[f for f in [(x for x in [1]).gi_frame]]",
            "effects": {"mutations": [{"state_path": "mode", "old": "normal", "new": "locked"}]}}
    with pytest.raises(SandboxError, match="not allowed"):
        ex.open(make_task(triggers=[trig]))
