"""Parse Python-style call strings: ``[Name With Spaces(a="x", b=1), other(c=[1, 2])]``.

Shared by the API-Bank (``API-Request: [ApiName(key='value')]``), ToolACE (bracket lists, names may contain
spaces) and Dolci (newline-separated calls) loaders. Argument values go through ``ast`` first; a fallback
handles the broken quoting found in real data, e.g. ``attendees='['John', 'Jane']'`` (kept as the inner text).
"""
from __future__ import annotations

import ast
import re
from typing import Any

__all__ = ["CallParseError", "parse_calls", "parse_call_prefix", "looks_like_calls"]

_QUOTES = "'\""
_SEPARATORS = " \t\r\n,;"
_NAMED_CONSTANTS = {"true": True, "false": False, "null": None, "none": None}
_KEY_RE = re.compile(r"(?:^|,)\s*([A-Za-z_][\w\-.]*)\s*=(?!=)")
_CALL_LIST_RE = re.compile(r"^\s*\[\s*[^\s\[\]\"'(){}=,][^\[\]\"'(){}=\n]*\(")


class CallParseError(ValueError):
    """A call string could not be parsed."""


def looks_like_calls(text: str) -> bool:
    """Heuristic: does ``text`` start like a bracketed call list ``[name(``?"""
    return bool(_CALL_LIST_RE.match(text or ""))


def parse_calls(text: str, known_names: tuple[str, ...] | list[str] = ()) -> list[dict[str, Any]]:
    """Parse every call in ``text`` (optionally wrapped in ``[...]``) into ``{"name", "arguments"}`` dicts.

    Calls may be separated by commas, semicolons or newlines. ``known_names`` lets names containing
    parentheses (``Countries All (min)``) be matched. Raises :class:`CallParseError` on anything left over.
    """
    s = (text or "").strip()
    if s.startswith("["):
        calls, end = parse_call_prefix(s, known_names)
        if s[end:].strip():
            raise CallParseError(f"unexpected text after call list: {s[end:end + 40]!r}")
        return calls
    calls, pos = [], 0
    while True:
        pos = _skip(s, pos, _SEPARATORS)
        if pos >= len(s):
            return calls
        call, pos = _scan_call(s, pos, known_names)
        calls.append(call)


def parse_call_prefix(text: str, known_names: tuple[str, ...] | list[str] = ()) -> tuple[list[dict], int]:
    """Parse a leading ``[call, call, ...]`` list; return the calls and the index just past ``]``."""
    pos = _skip(text, 0, " \t\r\n")
    if pos >= len(text) or text[pos] != "[":
        raise CallParseError("call list must start with '['")
    calls: list = []
    pos += 1
    while True:
        pos = _skip(text, pos, _SEPARATORS)
        if pos >= len(text):
            raise CallParseError("unterminated call list (missing ']')")
        if text[pos] == "]":
            return calls, pos + 1
        call, pos = _scan_call(text, pos, known_names)
        calls.append(call)


def _skip(s: str, pos: int, chars: str) -> int:
    while pos < len(s) and s[pos] in chars:
        pos += 1
    return pos


def _scan_call(s: str, pos: int, known_names) -> tuple[dict, int]:
    name, open_at = None, -1
    for known in sorted(known_names, key=len, reverse=True):  # names that contain '(' themselves
        if s.startswith(known, pos):
            after = _skip(s, pos + len(known), " \t")
            if after < len(s) and s[after] == "(":
                name, open_at = known, after
                break
    if name is None:
        open_at = s.find("(", pos)
        name = s[pos:open_at].strip() if open_at >= 0 else ""
        if open_at < 0 or not name or any(c in name for c in "\n[]{}=\"'"):
            raise CallParseError(f"expected a call 'name(...)' at {s[pos:pos + 40]!r}")
    close_at = _matching_paren(s, open_at)
    return {"name": name, "arguments": parse_arguments(s[open_at + 1:close_at])}, close_at + 1


def _matching_paren(s: str, open_at: int) -> int:
    """Index of the ``)`` closing ``s[open_at]``: quote-aware first, then ignoring quotes (broken quoting)."""
    for quote_aware in (True, False):
        depth, quote, i = 0, None, open_at
        while i < len(s):
            c = s[i]
            if quote:
                if c == "\\":
                    i += 1
                elif c == quote:
                    quote = None
            elif quote_aware and c in _QUOTES:
                quote = c
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    return i
            i += 1
    raise CallParseError(f"unbalanced parentheses in {s[open_at:open_at + 60]!r}")


def parse_arguments(args: str) -> dict[str, Any]:
    """``a="x", b=1`` -> ``{"a": "x", "b": 1}``; positional arguments are keyed ``_0``, ``_1``..."""
    if not args.strip():
        return {}
    try:
        node = ast.parse(f"_f({args})", mode="eval").body
    except SyntaxError:
        return _fallback_arguments(args)
    if not isinstance(node, ast.Call):
        raise CallParseError(f"not an argument list: {args[:60]!r}")
    out: dict[str, Any] = {f"_{i}": _literal(a) for i, a in enumerate(node.args)}
    for kw in node.keywords:
        if kw.arg is None:
            raise CallParseError("'**' arguments are not supported")
        out[kw.arg] = _literal(kw.value)
    return out


def _fallback_arguments(args: str) -> dict[str, Any]:
    """Split at ``, key=`` boundaries; values that still fail keep their text minus the outer quotes."""
    matches = list(_KEY_RE.finditer(args))
    if not matches or args[:matches[0].start()].strip():
        raise CallParseError(f"cannot parse arguments {args[:80]!r}")
    out: dict[str, Any] = {}
    for m, nxt in zip(matches, matches[1:] + [None]):
        raw = args[m.end():nxt.start() if nxt else len(args)].strip()
        try:
            out[m.group(1)] = _literal(ast.parse(raw, mode="eval").body)
        except SyntaxError:
            if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in _QUOTES:
                out[m.group(1)] = raw[1:-1]
            else:
                raise CallParseError(f"cannot parse value of {m.group(1)!r}: {raw[:60]!r}") from None
    return out


def _literal(node: ast.AST) -> Any:
    """Like ``ast.literal_eval`` but tolerant: JSON constants, bare names become strings, else source text."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {(_literal(k) if k is not None else "**"): _literal(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        val = _literal(node.operand)
        if isinstance(val, (int, float)):
            return -val if isinstance(node.op, ast.USub) else val
    if isinstance(node, ast.Name):
        return _NAMED_CONSTANTS.get(node.id.lower(), node.id)
    return ast.unparse(node)
