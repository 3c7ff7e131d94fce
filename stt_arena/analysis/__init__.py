"""Failure-mode analysis of trajectory records (``stt-arena analyze``)."""
from .detectors import (FAILURE_MODES, Finding, analyze_record, detect, frequency_table, is_query_tool,
                        trigger_index)

__all__ = ["FAILURE_MODES", "Finding", "analyze_record", "detect", "frequency_table", "is_query_tool",
           "trigger_index"]
