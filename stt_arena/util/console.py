"""One rich console for all commands: wide tables even when output is piped to a file; errors and
warnings go to stderr (``err_console`` / ``fail``) so that piped results stay clean."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


def warn(msg: str) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {escape(msg)}")


def fail(msg: str, code: int = 2) -> NoReturn:
    """Print ``error: msg`` (one line, stderr) and exit with ``code``."""
    import typer
    err_console.print(f"[red]error:[/red] {escape(msg)}")
    raise typer.Exit(code)


def write_text_atomic(path: Path, text: str, flag: str) -> None:
    """Write atomically (a crash leaves the previous file); an OS error is a one-line error naming ``flag``."""
    import os
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        fail(f"{flag} {path}: cannot write: {e.strerror or e}")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 is not what a user expects of an output file
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        fail(f"{flag} {path}: cannot write: {e.strerror or e}")
