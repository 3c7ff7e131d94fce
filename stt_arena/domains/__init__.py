"""Built-in domains. Each module ``stt_arena/domains/<domain>.py`` defines ``FAMILIES`` and its env
class lives in ``stt_arena/domains/envs/<domain>.py`` (plain source, shipped as text)."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache


@lru_cache(maxsize=1)
def all_families() -> tuple:
    fams: list = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "envs":
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        fams.extend(getattr(mod, "FAMILIES", []))
    names = [f.name for f in fams]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise RuntimeError(f"duplicate family names: {sorted(dup)}")
    return tuple(fams)
