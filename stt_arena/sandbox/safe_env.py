"""Restricted globals for untrusted code: safe builtins, filtered modules, simulated clock and rng."""
from __future__ import annotations

import builtins
import sys
import bisect
import collections
import collections.abc
import copy
import dataclasses
import datetime as _dt
import decimal
import enum
import fractions
import functools
import keyword
import heapq
import itertools
import json
import math
import random as _random
import re
import statistics
import string
import time
import types
import typing
from typing import Any
import _strptime  # noqa: F401 - datetime.strptime imports it lazily; pre-load it

from .guard import ALLOWED_MODULES

_SAFE_BUILTIN_NAMES = (
    "abs all any ascii bin bool bytes callable chr complex dict divmod enumerate filter float format "
    "frozenset hash hex int isinstance issubclass iter len list map max min next oct ord pow range repr "
    "reversed round set slice sorted str sum tuple zip object property staticmethod classmethod super "
    "type id hasattr NotImplemented Ellipsis True False None"
).split()

_EXCEPTIONS = [n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)]

# Evaluators (string annotations are evaluated with the real builtins), helpers that publish names into
# any module by name (enum) or copy attributes chosen by name (functools, replaced below).
_HIDDEN = {
    "typing": {"get_type_hints", "ForwardRef", "evaluate_forward_ref", "get_overloads", "clear_overloads"},
    "string": {"Formatter"},
    "random": {"SystemRandom"},
    "enum": {"global_enum", "global_enum_repr", "global_flag_repr", "global_str"},
    "functools": {"singledispatch", "singledispatchmethod", "update_wrapper", "wraps"},
    "dataclasses": {"make_dataclass"},
}


def _update_wrapper(wrapper, wrapped, assigned=None, updated=None):
    """``functools.update_wrapper`` with its standard attributes only (no names chosen by the caller)."""
    return functools.update_wrapper(wrapper, wrapped)


def _wraps(wrapped, assigned=None, updated=None):
    return functools.wraps(wrapped)


def _dataclass(cls=None, /, **kw):
    """``dataclasses.dataclass`` for field names that are identifiers only: it pastes them into the source
    of the methods it generates (found in review: a crafted ``__annotations__`` key ran code there with
    the real builtins)."""
    def wrap(c):
        for name in c.__dict__.get("__annotations__", {}):
            if not (isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)):
                raise TypeError(f"dataclass field names must be identifiers, not {name!r}")
        if isinstance(c.__module__, str) and c.__module__ not in sys.modules:
            # dataclasses reads the class's module (and runs the methods it generates in its namespace):
            # a module with the sandbox's builtins, not the real ones (and not None: it failed before)
            mod = types.ModuleType(c.__module__)
            mod.__dict__["__builtins__"] = _SAFE_BUILTINS
            sys.modules[c.__module__] = mod
        if c.__dict__.get("__doc__") is None:
            c.__doc__ = c.__name__  # else dataclasses builds one with inspect.signature (code objects: refused)
        return dataclasses.dataclass(c, **kw)
    return wrap if cls is None else wrap(cls)


_REPLACED: dict[str, dict[str, Any]] = {"functools": {"update_wrapper": _update_wrapper, "wraps": _wraps},
             "dataclasses": {"dataclass": _dataclass}}

_TYPE_DUNDERS = frozenset({"__module__", "__qualname__", "__doc__", "__slots__"})


class _TypeMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, type)

    def __subclasscheck__(cls, sub) -> bool:
        return issubclass(sub, type)

    def __call__(cls, *args, **kw):
        if len(args) == 1 and not kw:
            return type(args[0])
        if len(args) == 3 and isinstance(args[2], dict):
            bad = [k for k in args[2] if not isinstance(k, str) or (k.startswith("__") and k not in _TYPE_DUNDERS)]
            if bad:
                raise TypeError(f"type(): names {bad[:3]!r} are not allowed in the sandbox")
        return type(*args, **kw)


class SafeType(metaclass=_TypeMeta):
    """The sandbox's ``type``: ``type(x)`` and ``isinstance(c, type)`` as usual; a class made with three
    arguments gets no dunder names (the AST guard refuses them in source; a computed string would
    otherwise define hooks such as ``__annotations__`` or ``__reduce_ex__``)."""


def harden_process() -> None:
    """In a sandbox worker only: stdlib helpers that write into modules chosen by name refuse."""
    def refused(*a, **k):
        raise PermissionError("sandbox: enum._convert_ is not allowed")
    type.__setattr__(enum.Enum, "_convert_", classmethod(refused))

_REAL = {
    "datetime": _dt, "math": math, "re": re, "copy": copy, "json": json, "typing": typing,
    "collections": collections, "itertools": itertools, "random": _random, "functools": functools,
    "heapq": heapq, "bisect": bisect, "statistics": statistics, "string": string, "enum": enum,
    "dataclasses": dataclasses, "decimal": decimal, "fractions": fractions,
}
assert set(_REAL) == set(ALLOWED_MODULES)


def _filtered(mod: types.ModuleType) -> types.SimpleNamespace:
    """Public, non-module attributes only: no path from a module to os or sys."""
    hidden = _HIDDEN.get(mod.__name__, set())
    ns = {
        k: v for k, v in vars(mod).items()
        if not k.startswith("_") and k not in hidden and not isinstance(v, types.ModuleType)
    }
    ns.update(_REPLACED.get(mod.__name__, {}))
    return types.SimpleNamespace(**ns)


_STATIC_SHIMS = {name: _filtered(mod) for name, mod in _REAL.items() if name not in ("datetime", "random")}
_STATIC_SHIMS["collections"].abc = _filtered(collections.abc)


class SimClock:
    """Simulated time: ``start`` plus minutes advanced per tool call and by triggers."""

    def __init__(self, start: str, minutes_per_call: float = 1.0):
        self.start = _dt.datetime.fromisoformat(start)
        self.minutes_per_call = float(minutes_per_call)
        self.elapsed = 0.0

    def now(self) -> _dt.datetime:
        return self.start + _dt.timedelta(minutes=self.elapsed)

    def advance(self, minutes: float | None = None) -> None:
        self.elapsed += self.minutes_per_call if minutes is None else float(minutes)


def _datetime_shim(clock: SimClock) -> types.SimpleNamespace:
    class datetime(_dt.datetime):  # noqa: N801 - mirrors the stdlib name
        @classmethod
        def now(cls, tz=None):
            t = clock.now()
            return cls.fromisoformat(t.isoformat()) if tz is None else cls.fromisoformat(t.isoformat()).replace(tzinfo=tz)

        @classmethod
        def today(cls):
            return cls.now()

        @classmethod
        def utcnow(cls):
            return cls.now()

    class date(_dt.date):  # noqa: N801
        @classmethod
        def today(cls):
            d = clock.now().date()
            return cls(d.year, d.month, d.day)

    return types.SimpleNamespace(**{**_DT_ATTRS, "datetime": datetime, "date": date})


_DT_ATTRS = vars(_filtered(_dt))
_RANDOM_ATTRS = vars(_filtered(_random))
_RANDOM_BOUND = [n for n in _RANDOM_ATTRS if callable(b := getattr(_random.Random(), n, None))
                 and not isinstance(b, type) and not n[0].isupper()]  # what an rng binds: its methods


def _random_shim(rng: _random.Random) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{**_RANDOM_ATTRS, **{n: getattr(rng, n) for n in _RANDOM_BOUND}})


_C_INTERNAL = {"time": time, "_strptime": sys.modules["_strptime"]}


_SAFE_BUILTINS = {n: getattr(builtins, n) for n in _SAFE_BUILTIN_NAMES}
_SAFE_BUILTINS.update({n: getattr(builtins, n) for n in _EXCEPTIONS})
_SAFE_BUILTINS["__build_class__"] = builtins.__build_class__
_SAFE_BUILTINS["type"] = SafeType


def make_globals(clock: SimClock, rng: _random.Random, module_name: str = "stt_env") -> dict:
    """Fresh globals for one episode's untrusted code (the clock- and rng-bound ``datetime`` and
    ``random`` shims are made on first import: most check functions import neither)."""
    shims: dict = dict(_STATIC_SHIMS)
    bound = {"datetime": lambda: _datetime_shim(clock), "random": lambda: _random_shim(rng)}

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        root = name.split(".")[0]
        if root in _C_INTERNAL and not level:  # imports made by C code (strftime, strptime), never by env code:
            return _C_INTERNAL[root]          # the AST guard rejects `import time` in env source
        if root in bound and not level and root not in shims:
            shims[root] = bound[root]()
        if level or root not in shims:
            raise ImportError(f"import of '{name}' is not allowed in the sandbox")
        mod = shims[root]
        if fromlist:  # from a.b import c -> return the innermost module
            for part in name.split(".")[1:]:
                mod = getattr(mod, part)
        return mod

    def _print(*args, **kwargs):
        return None

    safe = dict(_SAFE_BUILTINS, __import__=guarded_import, print=_print)
    return {"__builtins__": safe, "__name__": module_name, "now": clock.now}
