"""The worker's audit hook: an allowlist of runtime events, held in a closure.

Defence in depth behind the OS layer. Events not on the list raise PermissionError, so file, socket,
process, import, ctypes, code-object and frame-introspection events are refused without naming them.
The list lives in the hook's closure cell (no module global a sandboxed pivot could rewrite), and an
audit hook cannot be removed once installed.
"""
from __future__ import annotations

import sys

ALLOWED_EVENTS = frozenset({
    "compile", "exec",                      # the runtime compiles vetted code; dataclasses/namedtuple exec
    "object.__setattr__", "object.__delattr__",  # setting attributes on classes (class bodies, enum)
    "sys._getframe",                        # namedtuple / dataclasses / enum read the caller's module
    "builtins.id",
    "time.sleep",
})


def make_hook(allowed: frozenset = ALLOWED_EVENTS):
    def _audit(event: str, args) -> None:
        if event not in allowed:
            raise PermissionError(f"sandbox: '{event}' is not allowed")
    return _audit


def install_audit_hook() -> None:
    sys.addaudithook(make_hook())
