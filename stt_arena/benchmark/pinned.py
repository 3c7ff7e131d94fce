"""Benchmark v2: a pinned family list, independent draws per cell, every task through all per-task gates.

Adding a family or a domain never changes the shipped tasks: the build draws only from ``V2_FAMILIES`` (by
name, in this order). Each (type, level) cell draws ``attempt = 0, 1, ...`` from its own seed string, so cells
validate in parallel processes and the result does not depend on the number of workers.
"""
from __future__ import annotations

import multiprocessing as mp
import random
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from typing import Callable

from ..domains import all_families
from ..task.models import ConflictType, Task
from .generate import GenerationError, fingerprint, plan_cells, variant_key
from ..generator.family import Family

V2_SEED = 2027
V2_SIZE = 252
V2_MAX_TRIES = 24
V2_FAMILIES: tuple[str, ...] = (
    "clinic_appointments-t1", "clinic_appointments-s1", "clinic_appointments-st3", "clinic_appointments-t2",
    "cold_chain-t1", "cold_chain-st3", "cold_chain-st2", "cold_chain-s3", "construction_equipment-s2",
    "construction_equipment-st1", "construction_equipment-s3", "customs_freight-s3", "customs_freight-s2",
    "customs_freight-st2", "ev_rental-st1", "ev_rental-s1", "ev_rental-t1", "event_ticketing-t3",
    "event_ticketing-t2", "event_ticketing-t1", "flight_rebooking-t1", "flight_rebooking-t2",
    "flight_rebooking-st3", "flight_rebooking-st2", "hotel_travel-t1", "hotel_travel-t3", "hotel_travel-s1",
    "hub_inventory-st2", "hub_inventory-s2", "hub_inventory-t3", "hub_inventory-st1", "irrigation-t3",
    "irrigation-s3", "irrigation-st2", "irrigation-t2", "parcel_lockers-s1", "parcel_lockers-st3",
    "parcel_lockers-t1", "port_drayage-st2", "port_drayage-s3", "port_drayage-s1", "port_drayage-s2",
    "ride_hailing-st1", "ride_hailing-s1", "ride_hailing-s3", "scooter_fleet-st1", "scooter_fleet-s1",
    "scooter_fleet-s3", "scooter_fleet-s2", "vaccine_distribution-t3", "vaccine_distribution-st3",
    "vaccine_distribution-s2", "vaccine_distribution-t2", "warehouse_dispatch-t2", "warehouse_dispatch-s2",
    "warehouse_dispatch-st1", "rail_connections-st3", "rail_connections-st2", "rail_connections-s3",
    "field_service-t1", "field_service-st1", "field_service-s1",
    "hospital_theatre-t2", "hospital_theatre-t3", "hospital_theatre-st3", "lastmile_delivery-t1",
    "lastmile_delivery-s1", "lastmile_delivery-t3", "ambulance_dispatch-t2", "ambulance_dispatch-st2",
    "ambulance_dispatch-st3", "campus_rooms-t3", "campus_rooms-s2", "campus_rooms-st1", "airport_gates-t2",
    "airport_gates-st3", "airport_gates-s3", "grid_restoration-s2", "grid_restoration-st1", "grid_restoration-st2",
)


def pinned_families(names: tuple[str, ...] = V2_FAMILIES, pool: tuple[Family, ...] | None = None) -> tuple[Family, ...]:
    by_name = {f.name: f for f in (pool or all_families())}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise GenerationError(f"pinned families missing from the code: {missing}")
    return tuple(by_name[n] for n in names)


def cell_draws(n: int, families: tuple[Family, ...]) -> list[tuple[str, str, list[Family]]]:
    """(type, level, families in the order to try) per cell: the families of the least-used domains first
    (so every domain gets its share), ties broken by the family list order rotated by the cell's rank."""
    by_type: dict[str, list[Family]] = defaultdict(list)
    for f in families:
        by_type[f.conflict_type].append(f)
    types: list[str] = [t.value for t in ConflictType if t.value in by_type]
    rank: dict[tuple[str, str], int] = defaultdict(int)
    used: dict[str, int] = defaultdict(int)
    out = []
    for ctype, level in plan_cells(n, types):
        opts = [f for f in by_type[ctype] if level in f.levels]
        if not opts:
            raise GenerationError(f"no pinned family of type {ctype} supports level {level}")
        k = rank[(ctype, level)]
        rank[(ctype, level)] += 1
        rot = opts[k % len(opts):] + opts[:k % len(opts)]
        order = sorted(rot, key=lambda f: (used[f.domain], rot.index(f)))
        used[order[0].domain] += 1
        out.append((ctype, level, order))
    return out


def draw(seed: int, index: int, attempt: int, level: str, options: list[Family]) -> Task:
    fam = options[attempt % len(options)]
    return fam.build(random.Random(f"v2:{seed}:{index}:{attempt}"), level)


def _try_cell(args) -> tuple[int, int, Task | None, list[str]]:
    seed, index, level, names, start, tries, check_name = args
    fams = pinned_families(names)
    by = {f.name: f for f in fams}
    options = [by[n] for n in names if n in by]
    check = _CHECKS[check_name]
    reasons: list[str] = []
    for attempt in range(start, tries):
        t = draw(seed, index, attempt, level, options)
        why = check(t)
        if not why:
            return index, attempt, t, reasons
        reasons.append(f"{options[attempt % len(options)].name}#{attempt}: {why}")
    return index, tries, None, reasons


def _all_gates(task: Task) -> str:
    from .validation import ALL_GATES, validate_task
    from .validity import open_local

    gates = [g for g in ALL_GATES if g != "I10"]
    rep = validate_task(task, open_local, gates, trusted=True)
    return "" if rep.valid else "; ".join(f"{g}:{rep.reason(g)}" for g in gates if rep.gate_ok(g) is False) or \
        "; ".join(rep.problems())[:200]


def _no_check(task: Task) -> str:
    return ""


_CHECKS: dict[str, Callable[[Task], str]] = {"gates": _all_gates, "none": _no_check}


def generate_v2(n: int = V2_SIZE, seed: int = V2_SEED, names: tuple[str, ...] = V2_FAMILIES, workers: int = 2,
                check: str = "gates", tries: int = V2_MAX_TRIES, attempts: dict[int, int] | None = None,
                progress=None) -> tuple[list[Task], dict[int, list[str]]]:
    """The v2 task list and, per cell, the rejected draws with their gate reason codes.

    ``attempts`` (index -> attempt) replays a known build without running the gates (for tests)."""
    cells = cell_draws(n, pinned_families(names))
    jobs = []
    for i, (ctype, level, opts) in enumerate(cells):
        start = attempts[i] if attempts else 0
        jobs.append((seed, i, level, tuple(f.name for f in opts), start, start + 1 if attempts else tries,
                     "none" if attempts else check))
    results: dict[int, tuple[int, Task | None, list[str]]] = {}
    if workers > 1 and not attempts:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            for idx, att, task, why in pool.map(_try_cell, jobs, chunksize=1):
                results[idx] = (att, task, why)
                if progress:
                    progress(idx)
    else:
        for j in jobs:
            idx, att, task, why = _try_cell(j)
            results[idx] = (att, task, why)
    tasks, rejected, seen = [], {}, set[str]()
    for i, (ctype, level, _) in enumerate(cells):
        att, task, why = results[i]
        # a repeat, or a copy of an earlier task of its family and level that differs only in ids and values:
        # take the cell's next passing draw
        while task is not None and ({fingerprint(task), variant_key(task)} & seen):
            if attempts:
                raise GenerationError(f"cell {i}: the recorded attempt {att} repeats an earlier task")
            why.append(f"attempt {att}: {'duplicate' if fingerprint(task) in seen else 'same variant'} of an "
                       f"earlier task")
            _, att, task, more = _try_cell((*jobs[i][:4], att + 1, tries, jobs[i][6]))
            why += more
        rejected[i] = why
        if task is None:
            raise GenerationError(f"cell {i} ({ctype}/{level}): no draw passed in {tries} tries: {why[-3:]}")
        seen |= {fingerprint(task), variant_key(task)}
        task = task.model_copy(update={"task_id": f"stt2-{ctype.lower()}-{level}-{i:05d}"})
        task.provenance.seed = seed
        task.provenance.benchmark = "v2"
        task.provenance.extra = {**task.provenance.extra, "split": "test", "index": i, "attempt": att}
        tasks.append(task)
    return tasks, rejected
