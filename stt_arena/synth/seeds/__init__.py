"""Stage 1 seed-query loaders (API-Bank, ToolACE, Dolci) producing normalised :class:`SeedQuery` objects.

``load_seeds(path)`` detects the source from the file contents (falling back on the path's name); each loader
raises :class:`SeedFormatError` on malformed input, or with ``skip_bad=True`` records it in ``result.errors``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .api_bank import load_api_bank
from .dolci import load_dolci
from .models import SOURCES, Message, SeedFormatError, SeedList, SeedQuery, ToolCall, ToolSchema
from .toolace import load_toolace

__all__ = ["load_seeds", "detect_source", "dump_seeds", "load_api_bank", "load_toolace", "load_dolci", "SeedQuery",
           "SeedList", "SeedFormatError", "Message", "ToolCall", "ToolSchema", "SOURCES"]

LOADERS = {"api-bank": load_api_bank, "toolace": load_toolace, "dolci": load_dolci}
_KEY_RE = re.compile(r'"(conversations|messages|requirement|expected_output|role)"\s*:\s*("?\w*)')
_BY_KEY = {"conversations": "toolace", "messages": "dolci", "requirement": "api-bank", "expected_output": "api-bank"}
_NAME_HINTS = (("api-bank", "api-bank"), ("api_bank", "api-bank"), ("apibank", "api-bank"),
               ("toolace", "toolace"), ("dolci", "dolci"))


def _sniff(f: Path) -> str | None:
    if f.suffix == ".parquet":
        return "dolci"
    with f.open(encoding="utf-8", errors="replace") as fh:
        head = fh.read(65536)
    m = _KEY_RE.search(head)
    if m is None:
        return None
    if m.group(1) == "role":  # a bare message: API-Bank dialogues use User/AI/API
        return "api-bank" if m.group(2).strip('"') in ("User", "AI", "API") else None
    return _BY_KEY[m.group(1)]


def detect_source(path: str | Path) -> str:
    """Guess ``api-bank`` / ``toolace`` / ``dolci`` from the first data file's keys, then from the path name."""
    path = Path(path)
    if path.is_dir():
        if (path / "all_apis.csv").exists() or (path / "init_database").is_dir():
            return "api-bank"
        files = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".jsonl", ".parquet")
                       and "init_database" not in p.parts and p.stat().st_size)
    elif path.is_file():
        files = [path]
    else:
        raise FileNotFoundError(path)
    for f in files[:5]:
        if found := _sniff(f):
            return found
    lowered = str(path.resolve()).lower()
    for hint, source in _NAME_HINTS:
        if hint in lowered:
            return source
    raise SeedFormatError(path, None, "cannot tell the seed source (api-bank, toolace, dolci); pass source=")


def load_seeds(path: str | Path, source: str | None = None, *, skip_bad: bool = False, **options) -> SeedList:
    """Load seed queries from ``path`` (file or folder). ``options`` go to the source's loader
    (e.g. ``catalog=`` / ``init_db_dir=`` for API-Bank). Returns a list with ``.errors`` and ``.skipped``."""
    source = source or detect_source(path)
    if source not in LOADERS:
        raise ValueError(f"unknown seed source {source!r}; expected one of {', '.join(SOURCES)}")
    return LOADERS[source](path, skip_bad=skip_bad, **options)


def dump_seeds(seeds: list[SeedQuery], out: str | Path) -> Path:
    """Write seeds as JSONL (one ``SeedQuery`` per line)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for s in seeds:
            fh.write(json.dumps(s.model_dump(mode="json"), ensure_ascii=False) + "\n")
    return out
