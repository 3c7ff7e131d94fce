"""Reports over one or more results directories: Markdown, charts and a static HTML trajectory viewer."""
from .build import build_report, load_runs

__all__ = ["build_report", "load_runs"]
