"""One rich console for all commands: wide tables even when output is piped to a file."""
from __future__ import annotations

import sys

from rich.console import Console

console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
