"""Inspect's entry point (``[project.entry-points.inspect_ai] stt_arena``): importing it registers the task."""
from .task import stt_arena  # noqa: F401
