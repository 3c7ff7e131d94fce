"""``stt-arena inspect-import LOG OUT_DIR``: an Inspect log of the ``stt_arena`` task as a results directory,
read by ``report``, ``analyze``, ``refine`` and ``export-sft`` like one written by ``stt-arena eval``."""
from __future__ import annotations

from pathlib import Path

import typer

from ..util.console import console, fail


def inspect_import_command(
    log: Path = typer.Argument(..., help="an Inspect log (.eval or .json) of the stt_arena task"),
    out: Path = typer.Argument(..., help="results directory to create (must not hold results yet)"),
) -> None:
    """Convert an Inspect AI log of the stt_arena task into a results directory."""
    from ..results.store import ResultsFileError
    from .convert import write_results

    try:
        s = write_results(log, out)
    except (ResultsFileError, OSError) as e:
        fail(str(e))
    console.print(f"wrote {s['records']} episode(s) ({s['passed']} passed) and {s['errors']} sample error(s) "
                  f"to {s['out']}")


def register(app: typer.Typer) -> None:
    app.command("inspect-import")(inspect_import_command)
