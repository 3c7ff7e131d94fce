"""Request bodies built incrementally: a conversation grows by one or two messages a turn and its tool
specs never change, so their JSON is encoded once (``EncodedList``) instead of every turn."""
from __future__ import annotations

import json
from typing import Any, Iterable


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


class EncodedList(list):
    """A list that keeps each item's JSON, for items that are appended and not changed afterwards (the
    chat agent's history and tool specs). Any other change to the list itself (insert, pop, slice
    assignment...) drops the saved encodings: the body is then encoded whole, as for a plain list."""

    def __init__(self, items: Iterable[Any] = ()):
        super().__init__()
        self.encoded: list[str] | None = []
        for it in items:
            self.append(it)

    def append(self, item: Any) -> None:
        super().append(item)
        if self.encoded is not None:
            self.encoded.append(_dumps(item))

    def json(self) -> str | None:
        """The list's JSON from the saved encodings, or None when they are stale."""
        if self.encoded is None or len(self.encoded) != len(self):
            return None
        return "[" + ", ".join(self.encoded) + "]"

    def _stale(name: str):  # type: ignore[misc]
        def method(self, *a: Any, **kw: Any) -> Any:
            self.encoded = None
            return getattr(list, name)(self, *a, **kw)
        method.__name__ = name
        return method

    for _name in ("extend", "insert", "pop", "remove", "clear", "sort", "reverse", "__setitem__",
                  "__delitem__", "__iadd__", "__imul__"):
        locals()[_name] = _stale(_name)
    del _name, _stale


def json_body(body: dict[str, Any]) -> bytes:
    """``json.dumps(body)`` as UTF-8, taking ``EncodedList`` values' saved JSON where valid; ASCII-escaped
    where some text is not valid UTF-8 (a lone surrogate a model sent earlier in the conversation)."""
    try:
        return _json_body(body)
    except UnicodeEncodeError:
        return json.dumps(body, ensure_ascii=True).encode()


def _json_body(body: dict[str, Any]) -> bytes:
    saved = {k: v.json() for k, v in body.items() if isinstance(v, EncodedList)}
    saved = {k: v for k, v in saved.items() if v is not None}
    if not saved:
        return _dumps(body).encode()
    rest = _dumps({k: v for k, v in body.items() if k not in saved})
    parts = [f"{_dumps(k)}: {v}" for k, v in saved.items()]
    if rest != "{}":
        parts.append(rest[1:-1])
    return ("{" + ", ".join(parts) + "}").encode()
