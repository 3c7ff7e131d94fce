"""The `stt-arena` command line."""
from __future__ import annotations

import sys

import typer


app = typer.Typer(add_completion=False, no_args_is_help=True, help="Spatio-temporal tool-use arena for LLM agents.")
synth_app = typer.Typer(no_args_is_help=True, help="Task synthesis: procedural generator and the LLM pipeline.")
app.add_typer(synth_app, name="synth")


def _version(value: bool) -> None:
    if value:
        from . import __version__
        sys.stdout.write(f"stt-arena {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit"),
          allow_unsandboxed: bool = typer.Option(
              False, "--allow-unsandboxed", help="where the OS sandbox layer is unavailable, run task code that is "
              "not built-in behind the Python layers only (STT_ARENA_ALLOW_UNSANDBOXED=1)")) -> None:
    """Spatio-temporal tool-use arena for LLM agents."""
    if allow_unsandboxed:
        import os
        os.environ["STT_ARENA_ALLOW_UNSANDBOXED"] = "1"  # read by every Executor, in worker processes too


def main() -> None:  # pragma: no cover
    app()


# Each subpackage registers its own commands (its ``commands.register``).
from .analysis.commands import register as _analysis  # noqa: E402
from .benchmark.commands import register as _benchmark  # noqa: E402
from .eval.commands import register as _eval  # noqa: E402
from .export.commands import register as _export  # noqa: E402
from .inspect_ai.commands import register as _inspect_ai  # noqa: E402
from .refine.commands import register as _refine  # noqa: E402
from .synth.commands import register as _synth  # noqa: E402

_eval(app)
_benchmark(app, synth_app)
_analysis(app)
_refine(app)
_export(app)
_inspect_ai(app)
_synth(synth_app)
