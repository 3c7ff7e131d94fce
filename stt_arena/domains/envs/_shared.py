# Helpers shared by the built-in environments: pure functions over ISO times and JSON state.
# An env file that says `from ._shared import *` gets this text inlined in its place by
# generator.family.env_source, so every task's environment source stays one self-contained text that the
# sandbox vets (once per distinct source). Family builders import this module directly, and
# domains.kit.env_functions copies these functions into check source: one arithmetic for env, plan and checks.
from datetime import datetime, timedelta


def iso_min(iso):
    """Minutes after midnight of an ISO time ('2026-03-02T10:15:00' -> 615)."""
    return int(iso[11:13]) * 60 + int(iso[14:16])


def iso_add(iso, minutes):
    """The ISO time ``minutes`` later (negative: earlier)."""
    return (datetime.fromisoformat(iso) + timedelta(minutes=minutes)).isoformat()


def iso_diff(a, b):
    """Whole minutes from ``a`` to ``b`` (negative when ``b`` is earlier)."""
    return int((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() // 60)


def hm(iso):
    """'2026-03-02T10:15:00' -> '10:15'."""
    return iso[11:16]


def overlaps(a0, a1, b0, b1, gap=0):
    """Whether [a0, a1) and [b0, b1) overlap or come closer than ``gap`` minutes (ISO strings)."""
    return iso_diff(b1, a0) < gap and iso_diff(a1, b0) < gap


def free_for(intervals, start, end, gap=0):
    """Whether [start, end) clashes with none of ``intervals`` (dicts with 'start' and 'end'), ``gap``
    minutes apart."""
    return not any(overlaps(start, end, iv["start"], iv["end"], gap) for iv in intervals)


def travel_min(matrix, a, b):
    """Travel minutes between two places of a symmetric table (``matrix[a][b]`` or ``matrix[b][a]``; 0 for
    the same place; None when neither is listed)."""
    if a == b:
        return 0
    row = matrix.get(a) or {}
    if b in row:
        return row[b]
    return (matrix.get(b) or {}).get(a)


def arrival_min(free_from, travel, window_start):
    """Arrival (minutes after midnight) of someone free at ``free_from`` who travels ``travel`` minutes to a
    place that opens at ``window_start``: never before it opens."""
    return max(iso_min(free_from) + travel, iso_min(window_start))
