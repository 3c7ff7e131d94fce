"""One rich console for all commands: wide tables even when output is piped to a file; errors and
warnings go to stderr (``err_console`` / ``fail``) so that piped results stay clean."""
from __future__ import annotations

import sys
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
