"""Static AST guard for untrusted environment code, check functions and trigger expressions.

Kept free of third-party imports: it runs inside the sandbox worker too.
"""
from __future__ import annotations

import ast
import re
import string
from _thread import allocate_lock
from typing import Any

ALLOWED_MODULES = frozenset({
    "datetime", "math", "re", "copy", "json", "typing", "collections", "itertools", "random",
    "functools", "heapq", "bisect", "statistics", "string", "enum", "dataclasses", "decimal",
    "fractions",
})

FORBIDDEN_NAMES = frozenset({
    "exec", "eval", "compile", "open", "globals", "locals", "vars", "getattr", "setattr", "delattr",
    "__import__", "breakpoint", "input", "memoryview", "help", "dir", "exit", "quit", "__builtins__",
    "__loader__", "__spec__",
})

FORBIDDEN_ATTRS = frozenset({
    "f_globals", "f_locals", "f_back", "f_builtins", "f_code", "f_trace", "tb_frame", "tb_next",
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code",
    "format_map", "mro", "func_globals", "im_func", "_convert_", "_getframe", "_current_frames",
})

# Attribute families that lead from a value to frames, code, globals or tracebacks.
INTROSPECTION_PREFIXES = ("f_", "gi_", "cr_", "ag_", "tb_", "co_", "func_", "im_")
_DUNDER_WORD = re.compile(r"__[A-Za-z]\w*__")


def forbidden_attr(name: str, private: bool = False) -> bool:
    """Dunder, introspection (frames, code, generators, tracebacks) or, with ``private``, any ``_name``."""
    return (name.startswith("__") or (private and name.startswith("_")) or name in FORBIDDEN_ATTRS
            or name.startswith(INTROSPECTION_PREFIXES))


def format_fields_problem(text: str) -> str | None:
    """Why a ``str.format`` template may not be used (an attribute chain in a replacement field)."""
    if "{" not in text:
        return None
    try:
        fields = [f for _, f, spec, _ in string.Formatter().parse(text) if f is not None] + [
            f for _, _, spec, _ in string.Formatter().parse(text) if spec and "{" in spec
            for _, f, _, _ in string.Formatter().parse(spec) if f is not None]
    except ValueError:
        return None  # not a valid template: .format would raise
    for f in fields:
        for attr in re.findall(r"\.([^.\[]*)", f):
            if forbidden_attr(attr, private=True):
                return f"format field '{{{f}}}' reaches attribute '{attr}'"
    return None


# Trigger conditions and guards: a small expression language over plain data.
EXPR_FUNCS = frozenset({
    "len", "get", "min", "max", "abs", "any", "all", "sum", "str", "int", "float", "bool", "round",
    "sorted", "list", "set", "dict", "tuple", "parse_time", "called", "count_calls",
})
EXPR_METHODS = frozenset({
    "get", "keys", "values", "items", "startswith", "endswith", "lower", "upper", "strip", "count",
    "isoformat", "date", "time", "weekday",
})
_EXPR_NODES = (
    ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Name, ast.Load,
    ast.Constant, ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.Dict, ast.Set, ast.Call,
    ast.Attribute, ast.keyword, ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.comprehension,
    ast.Store, ast.boolop, ast.operator, ast.unaryop, ast.cmpop,
)


_PARSE_LOCK = allocate_lock()  # threading.Lock, without importing threading: the fork server never
# loads it (its at-fork hook would cost every worker ~0.3 ms)


def parse(source: str, mode: str = "exec") -> Any:
    """``ast.parse`` serialised across threads (CPython 3.11 can raise SystemError when two threads
    build ASTs at once)."""
    with _PARSE_LOCK:
        return ast.parse(source, mode=mode)


def compile_tree(tree: Any, filename: str, mode: str = "exec"):
    """``compile`` of an AST under the same lock as ``parse``."""
    with _PARSE_LOCK:
        return compile(tree, filename, mode)


class GuardError(ValueError):
    """Code rejected by the guard; ``violations`` lists (line, message)."""

    def __init__(self, violations: list[tuple[int, str]], what: str = "code"):
        self.violations = violations
        lines = "; ".join(f"line {ln}: {msg}" for ln, msg in violations[:8])
        super().__init__(f"{what} rejected by the sandbox guard: {lines}")


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def check_source(source: str, what: str = "code") -> ast.Module:
    """Parse and vet a module's source; return the tree or raise GuardError."""
    try:
        tree = parse(source)
    except SyntaxError as e:
        raise GuardError([(e.lineno or 0, f"syntax error: {e.msg}")], what) from None
    problems: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        ln = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in ALLOWED_MODULES:
                    problems.append((ln, f"import of '{alias.name}' is not allowed"))
        elif isinstance(node, ast.ImportFrom):
            if node.level or (node.module or "").split(".")[0] not in ALLOWED_MODULES:
                problems.append((ln, f"import from '{node.module}' is not allowed"))
            for alias in node.names:
                if alias.name == "*" or alias.name.startswith("_"):
                    problems.append((ln, f"import of '{alias.name}' is not allowed"))
        elif isinstance(node, ast.Name):
            if node.id in FORBIDDEN_NAMES or (_dunder(node.id) and node.id != "__name__"):
                problems.append((ln, f"use of '{node.id}' is not allowed"))
        elif isinstance(node, ast.Attribute):
            if forbidden_attr(node.attr):
                problems.append((ln, f"access to attribute '{node.attr}' is not allowed"))
            elif node.attr == "format" and not (
                isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            ):
                problems.append((ln, "str.format is allowed on string literals only"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "__" in node.value and ("{" in node.value or node.value.startswith("__")
                                       or _DUNDER_WORD.search(node.value)):
                problems.append((ln, "string literal with a dunder name is not allowed"))
            elif why := format_fields_problem(node.value):
                problems.append((ln, why))
        elif isinstance(node, (ast.Global,)):
            problems.append((ln, "global statements are not allowed"))
    if problems:
        raise GuardError(problems, what)
    return strip_annotations(tree)


class _StripAnnotations(ast.NodeTransformer):
    """Annotations become ``None``: nothing (typing, dataclasses, singledispatch) ever evaluates a
    string annotation from untrusted code. Annotated class fields stay fields."""

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.annotation = None
        return node

    def _fn(self, node):
        node.returns = None
        self.generic_visit(node)
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = _fn

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AnnAssign:
        node.annotation = ast.copy_location(ast.Constant(None), node.annotation)
        self.generic_visit(node)
        return node


def strip_annotations(tree: ast.Module) -> ast.Module:
    return ast.fix_missing_locations(_StripAnnotations().visit(tree))


EXPR_CONTEXT = frozenset({"state", "args", "tool", "step", "result", "now", "minutes", "fired", "True", "False",
                          "None"})


def check_expression(expr: str, what: str = "expression") -> ast.Expression:
    """Vet a trigger condition / guard: plain data access, comparisons and a few functions; comprehension
    variables may not rebind a context name or an allowed function."""
    reserved = EXPR_FUNCS | EXPR_CONTEXT
    try:
        tree = parse(expr, mode="eval")
    except SyntaxError as e:
        raise GuardError([(1, f"syntax error in {expr!r}: {e.msg}")], what) from None
    problems: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, _EXPR_NODES):
            problems.append((1, f"{type(node).__name__} is not allowed in {expr!r}"))
        elif isinstance(node, ast.Name) and (node.id.startswith("_") or node.id in FORBIDDEN_NAMES):
            problems.append((1, f"name '{node.id}' is not allowed"))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in reserved:
            problems.append((1, f"rebinding '{node.id}' is not allowed"))
        elif isinstance(node, ast.Attribute) and forbidden_attr(node.attr, private=True):
            problems.append((1, f"attribute '{node.attr}' is not allowed"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (why := format_fields_problem(node.value)):
            problems.append((1, why))
        elif isinstance(node, ast.Call):
            f = node.func
            ok = (isinstance(f, ast.Name) and f.id in EXPR_FUNCS) or (
                isinstance(f, ast.Attribute) and f.attr in EXPR_METHODS
            )
            if not ok:
                problems.append((1, f"call of {ast.unparse(f)!r} is not allowed"))
    if problems:
        raise GuardError(problems, what)
    return tree
