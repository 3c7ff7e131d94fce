"""``python -m stt_arena.inspect_ai LOG OUT_DIR``: the ``stt-arena inspect-import`` command."""
import typer

from .commands import inspect_import_command

typer.run(inspect_import_command)
