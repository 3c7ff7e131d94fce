"""Prompt text files shipped in ``stt_arena/prompts/`` (editable; override paths on the command line)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def load_prompt(name: str, override: str | Path | None = None) -> str:
    """The text of ``prompts/<name>.md``, or of ``override`` when given."""
    if override:
        p = Path(override)
        if not p.exists():
            raise FileNotFoundError(f"prompt file {p}: no such file")
        return p.read_text(encoding="utf-8")
    return resources.files("stt_arena").joinpath(f"prompts/{name}.md").read_text(encoding="utf-8")
