"""The benchmark: building it from the pinned families, validity checks and gates, replay, statistics."""
