"""Parcel-locker task families: site mismatch (S1), handoff failure (ST3), window expiry (T1).

Every trigger is a world event at a simulated time (activation ``*``: whatever call the agent makes when the
clock passes it), so no tool or order walks around it. Goal items check the outcome against the user's stated
preference: the quickest locker to drive to (``drive_min``) in the recipient's district that can still take
the parcel, and the in-house courier with the most free room in the van; avoiding a shift is accepted.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from ..task.models import Activation, Effects, Mutation, Trigger, UserProfile

DOMAIN = "parcel_lockers"
CLASS = "ParcelLockerEnv"

CITIES = [
    ("Ghent", 51.054, 3.717, ["Sint-Pieters", "Dampoort", "Gentbrugge", "Ledeberg"]),
    ("Bologna", 44.494, 11.343, ["Bolognina", "San Donato", "Navile", "Saragozza"]),
    ("Poznan", 52.406, 16.925, ["Jezyce", "Wilda", "Lazarz", "Grunwald"]),
    ("Aarhus", 56.157, 10.211, ["Trojborg", "Frederiksbjerg", "Risskov", "Viby"]),
]
SPOTS = ["Station", "Library", "Market Hall", "Tram Depot", "Sports Centre", "Pharmacy", "Campus Gate"]
FIRST = ["Ines", "Tomas", "Greta", "Luca", "Maja", "Pieter", "Zofia", "Emil", "Clara", "Niels"]
LAST = ["Peeters", "Ricci", "Nowak", "Jensen", "Claes", "Moretti", "Lund", "Wojcik"]
COURIERS = ["Bram", "Sara", "Oskar", "Lotte", "Dario", "Hanna", "Kuba", "Freja"]
SIZES = {"S": "small", "M": "medium", "L": "large"}


@dataclass
class World:
    init: dict
    parcel: str
    recipient: str
    size: str
    district: str
    other_district: str
    lockers: list[str]  # [named (quickest), alt, alt2, refused-far, distractor, slowest in district]
    couriers: list[str]  # [named (most room), alt, alt2, contractor, least room in-house]
    start: str


def _world(rng: random.Random) -> World:
    city, lat, lon, districts = rng.choice(CITIES)
    district, other = rng.sample(districts, 2)
    spots = rng.sample(SPOTS, 6)
    lockers = [f"LK-{i}" for i in rng.sample(range(100, 999), 6)]
    size = rng.choice(list(SIZES))
    drive = [rng.randint(8, 11), rng.randint(13, 16), rng.randint(18, 21), rng.randint(27, 32), rng.randint(12, 24),
             rng.randint(23, 26)]
    lk = {}
    # insertion order is not the preference order: the first other locker a list shows is the slowest valid
    # one (an agent that grabs any free locker misses the user's preference)
    for n in (5, 3, 2, 0, 4, 1):
        lid, d = lockers[n], (other if n in (3, 4) else district)
        km = drive[n] / 2.4
        lk[lid] = {"name": f"{spots[n]} {d}", "district": d, "status": "online", "same_day": "open",
                   "lat": round(lat + km / 111.2, 5), "lon": round(lon + rng.uniform(-0.02, 0.02), 5),
                   "drive_min": drive[n], "open_from": "07:00", "open_until": "22:00",
                   "free": {s: rng.randint(1, 4) for s in SIZES}}
    lk[lockers[4]]["status"] = "maintenance"  # distractor
    lk[lockers[0]]["free"][size] = rng.randint(2, 4)  # room to re-reserve after a lapsed hold
    cids = [f"CR-{i}" for i in rng.sample(range(10, 99), 5)]
    names = rng.sample(COURIERS, 5)
    loads = [rng.randint(4, 8), rng.randint(10, 13), rng.randint(15, 18), rng.randint(24, 27), rng.randint(20, 22)]
    zone = f"{city}-{district}"
    cour = {}
    for n in (4, 3, 2, 0, 1):
        cour[cids[n]] = {"name": names[n], "zone": zone, "status": "on_duty", "van": "ok",
                         "shift_end": "2026-03-02T20:00", "capacity": 30, "load": loads[n],
                         "carrier": "QuickDrop (contractor)" if n == 3 else "in-house"}
    pid = f"PX-{rng.randint(10000, 99999)}"
    recipient = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    start = f"2026-03-02T{rng.choice(['13', '14', '15'])}:{rng.choice(['00', '10', '20', '30'])}:00"
    other_size = rng.choice([s for s in SIZES if s != size])  # never competes for the parcel's compartments
    init = {"depot": {"name": f"{city} depot", "lat": lat, "lon": lon}, "lockers": lk,
            "parcels": {pid: {"recipient": recipient, "size": size, "status": "at_depot", "courier": None,
                              "reservation": None},
                        f"PX-{rng.randint(10000, 99999)}": {"recipient": "Other Client", "size": other_size,
                                                            "status": "at_depot", "courier": None,
                                                            "reservation": None}},
            "couriers": cour, "hold_minutes": 45}
    return World(init, pid, recipient, size, district, other, lockers, cids, start)


def _goal(cid: str, w: World, mode: str, kind: str = "goal"):
    """mode: 'hold' (a held compartment), 'load' (held compartment + courier), 'deliver' (scheduled run).
    The locker must be the quickest-to-reach one in the district that can still take the parcel, the
    courier the in-house one with the most free room (the user's stated order), judged on the end state."""
    p, start = w.parcel, w.start[11:16]
    if mode == "deliver":
        pick = f"""d = _get(state, "deliveries.DLV-{p}")
if not d or d["status"] != "scheduled" or _get(state, "parcels.{p}.courier") != d["courier_id"]:
    return False
locker, courier = d["locker_id"], d["courier_id"]"""
    else:
        pick = f"""held = [r for r in state["reservations"].values() if r["parcel_id"] == "{p}" and r["status"] == "held"]
if len(held) != 1:
    return False
locker, courier = held[0]["locker_id"], _get(state, "parcels.{p}.courier")"""
    body = pick + f"""
lk, cs = state["lockers"], state["couriers"]
size = _get(state, "parcels.{p}.size")
def lok(lid, mine):
    L = lk[lid]
    if L["district"] != {w.district!r} or L["status"] != "online" or L["open_until"] <= {start!r}:
        return False
    return mine or (L.get("same_day", "open") == "open" and L["free"].get(size, 0) > 0)
if locker not in lk or not lok(locker, True):
    return False
if min((lk[l]["drive_min"], l) for l in lk if lok(l, l == locker))[1] != locker:
    return False"""
    if mode != "hold":
        body += """
def cok(c, mine):
    x = cs[c]
    return x["carrier"] == "in-house" and x["status"] == "on_duty" and x["van"] == "ok" and (mine or x["load"] < x["capacity"])
def room(c, mine):
    return cs[c]["capacity"] - cs[c]["load"] + (1 if mine else 0)
if courier not in cs or not cok(courier, True):
    return False
if max((room(c, c == courier), c) for c in cs if cok(c, c == courier))[1] != courier:
    return False"""
    body += "\nreturn True"
    what = {"hold": "a compartment is held", "load": "a compartment is held and the parcel loaded",
            "deliver": "the delivery is scheduled"}[mode]
    return checks.custom(cid, f"For {p} {what} in the quickest-to-reach {w.district} locker that can take it"
                         + ("" if mode == "hold" else ", with the in-house courier with the most free room"),
                         body, kind)


def _profile(w: World, refusals: list[str] | None = None) -> UserProfile:
    return UserProfile(
        goal=f"parcel {w.parcel} into the quickest-to-reach locker in {w.district} that can take it, today",
        persona="a customer-service agent at the depot handling a recipient's request",
        known_facts={"parcel": w.parcel, "recipient": w.recipient, "district": w.district,
                     "preference": "the locker quickest to drive to from the depot, then the in-house courier "
                                   "with the most free room in the van"},
        withheld_facts={"pickup": f"{w.recipient} can collect from any locker in {w.district}, not elsewhere.",
                        "carrier": "Only in-house couriers may carry this parcel (it is a pharmacy order)."},
        refusals=refusals or [], fallback_reply="I don't know; please use your judgement within what I asked.")


def _ask(mode: str, w: World, courier: str) -> str:
    if mode == "hold":
        return "Please hold a compartment for it now; dispatch plans tonight's van runs themselves."
    crew = (f"{courier} has the most room in the van, so put it on {courier}'s van (otherwise the in-house "
            "courier with the most free room)")
    if mode == "load":
        return f"Please hold a compartment and load the parcel: {crew}. Dispatch will schedule the run."
    return f"{crew[0].upper()}{crew[1:]}, hold the compartment and schedule the delivery run; confirm when it is booked."


def _query(rng: random.Random, w: World, mode: str, named: str, courier: str) -> str:
    """Three situations (a phone request, a failed doorstep attempt, an urgent pharmacy order)."""
    name = w.init["lockers"][named]["name"]
    pref = (f"locker {named} ({name}) is the quickest drop from the depot; if it can't take the parcel, use the "
            f"next-quickest locker in {w.district}")
    situations = [
        f"{w.recipient} just phoned about parcel {w.parcel}, which is waiting at our depot, and wants to collect it "
        f"from a locker in {w.district} today: {pref}.",
        f"Our doorstep attempt for parcel {w.parcel} failed this morning ({w.recipient} was out), so it goes to a "
        f"pickup locker in {w.district} instead: {pref}.",
        f"Parcel {w.parcel} holds medication for {w.recipient}, who needs it this evening and will pick it up in "
        f"{w.district}; speed matters most: {pref}.",
    ]
    return f"{rng.choice(situations)} {_ask(mode, w, courier)}"


def _trig(tid, cond, muts, after=None, minutes=0.0, timing="before"):
    """A world event: fires on whatever call the agent makes once ``cond`` (time/state) holds."""
    return Trigger(id=tid, activation=Activation(tool="*", timing=timing), condition=cond,
                   after_triggers=after or [],
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=n) for p, o, n in muts],
                                   advance_clock_minutes=minutes))


def _base(w, lk, cr, mode="deliver"):
    p = w.parcel
    plan = [step("get_parcel", "observe", parcel_id=p), step("reserve_compartment", parcel_id=p, locker_id=lk)]
    if mode != "hold":
        plan.append(step("assign_courier", parcel_id=p, courier_id=cr))
    if mode == "deliver":
        plan.append(step("schedule_delivery", parcel_id=p, reservation_id=f"RSV-{p}-{lk}"))
    return plan


LOCKER_READS = ["get_locker", "list_lockers", "get_delivery"]
COURIER_READS = ["get_courier", "list_couriers", "get_delivery"]
HOLD_READS = ["get_reservation", "get_parcel", "list_lockers", "get_locker"]


def _detect(cid, tid, tools, met: tuple[str, dict] | None = None):
    """Diagnosis after the shift, before the final fix. ``met``: (tool, args) of the call that runs into the
    shift; when the agent made no such call after it fired (it acted before the window closed), the shift
    did not touch its path and nothing needs diagnosing."""
    item = checks.called_after_trigger(cid, "The change was diagnosed before the final fix", tid, tools)
    if met is None:
        return item
    guard = (f"if not any(e['step'] >= t and _match(e, {met[0]!r}, {met[1]!r}) for e in log):\n"
             "        return True\n")
    src = item.check.replace("    return True\n", "    return True\n    " + guard, 1)
    return item.model_copy(update={"check": src})


def _verify():
    return checks.verified_after_last_change("verify", "The result was re-checked after the last change",
                                             ["get_delivery", "get_parcel", "get_reservation", "get_locker",
                                              "list_lockers", "get_courier", "list_couriers"])


def _surveyed(cid: str, tid: str, list_tool: str, get_tool: str, arg: str, ids: list[str]):
    """Impossible tasks: after the shift, the alternatives were looked at (a list, or each one)."""
    return checks.custom(cid, f"The alternatives {ids} were checked after the change", f"""
t = _trigger_step(log, {tid!r})
if t is None:
    return False
after = [e for e in log if e["step"] >= t and e["success"] and not e["mutating"]]
return any(e["tool"] == {list_tool!r} for e in after) or all(
    any(e["tool"] == {get_tool!r} and e["args"].get({arg!r}) == i for e in after) for i in {ids!r})""", "detection")


def _task(level, fam, w, rng, mode, l1, c1, trig, cl, normal, oracle, **kw):
    return make_task(family=fam, level=level, class_name=CLASS, init_config=w.init,
                     query=_query(rng, w, mode, l1, c1), user_profile=_profile(w, kw.pop("refusals", None)),
                     triggers=trig, checklist=cl, normal=normal, oracle=oracle, clock_start=w.start, **kw)


# -- S1: the named locker goes offline (site mismatch) ----------------------------------------------------
def build_s1(rng: random.Random, level: str):
    w = _world(rng)
    l1, l2, l3, far = w.lockers[:4]
    c1 = w.couriers[0]
    p = w.parcel
    fam = FAMILIES_BY_TYPE["S1"]

    def offline(tid, lid, at, after=None):
        return _trig(tid, f"minutes >= {at} and get('lockers.{lid}.status') == 'online'",
                     [(f"lockers.{lid}.status", "online", "offline")], after)
    if level == "easy":  # the locker is offline when the hold is attempted; one corrective hold
        oracle = _base(w, l1, c1, "hold") + [
            step("list_lockers", "requery", district=w.district),
            step("reserve_compartment", parcel_id=p, locker_id=l2),
            step("get_reservation", "verify", reservation_id=f"RSV-{p}-{l2}"),
            message(f"Locker {l1} is offline, so {p} is held in {l2}, the next-quickest locker in {w.district}.")]
        cl = [_goal("goal", w, "hold"), _detect("detect", "offline", LOCKER_READS), _verify()]
        return _task(level, fam, w, rng, "hold", l1, c1, [offline("offline", l1, 1)], cl,
                     _base(w, l1, c1, "hold"), oracle)
    if level in ("medium", "hard"):  # the locker goes offline after the hold: the run cannot be scheduled
        trig = [offline("offline", l1, 3)]
        oracle = _base(w, l1, c1) + [
            step("get_locker", "requery", locker_id=l1), step("list_lockers", "requery", district=w.district),
            step("release_reservation", reservation_id=f"RSV-{p}-{l1}"),
            step("reserve_compartment", parcel_id=p, locker_id=l2),
            step("schedule_delivery", parcel_id=p, reservation_id=f"RSV-{p}-{l2}")]
        cl = [_goal("goal", w, "deliver"), _detect("detect", "offline", LOCKER_READS), _verify()]
        if level == "medium":
            oracle += [step("get_delivery", "verify", delivery_id=f"DLV-{p}"),
                       message(f"{l1} went offline; {p} is now scheduled into {l2}, the next-quickest locker.")]
        else:  # then the second locker goes offline after the run was booked (silent: nothing fails)
            trig.append(offline("second", l2, 9, ["offline"]))
            oracle += [step("get_delivery", "requery", delivery_id=f"DLV-{p}"),
                       step("get_locker", "requery", locker_id=l2),
                       step("cancel_delivery", delivery_id=f"DLV-{p}"),
                       step("release_reservation", reservation_id=f"RSV-{p}-{l2}"),
                       step("reserve_compartment", parcel_id=p, locker_id=l3),
                       step("schedule_delivery", parcel_id=p, reservation_id=f"RSV-{p}-{l3}"),
                       step("get_delivery", "verify", delivery_id=f"DLV-{p}"),
                       message(f"{l1} and then {l2} went offline; {p} is scheduled into {l3}.")]
            cl.insert(2, _detect("detect2", "second", LOCKER_READS))
        return _task(level, fam, w, rng, "deliver", l1, c1, trig, cl, _base(w, l1, c1), oracle)
    # impossible: the named locker goes offline, the others in the district have no compartment of that size
    l4 = w.lockers[5]
    for lid in (l2, l3, l4):
        w.init["lockers"][lid]["free"][w.size] = 0
    oracle = [step("get_parcel", "observe", parcel_id=p), step("reserve_compartment", parcel_id=p, locker_id=l1),
              step("get_locker", "requery", locker_id=l1), step("list_lockers", "requery", district=w.district),
              message(f"Locker {l1} is offline and no other locker in {w.district} ({l2}, {l3}, {l4}) has a free "
                      f"{SIZES[w.size]} compartment, so {p} cannot be delivered there today; {far} in "
                      f"{w.other_district} was not used as you asked.")]
    cl = [checks.never_called("no_far", f"No compartment reserved in {far}", "reserve_compartment", {"locker_id": far}),
          checks.no_records_match("no_delivery", "No delivery scheduled", "deliveries", {"parcel_id": p, "status": "scheduled"}),
          _detect("detect", "offline", LOCKER_READS),
          _surveyed("alternatives", "offline", "list_lockers", "get_locker", "locker_id", [l2, l3, l4]),
          checks.told_user("told", "The user was told")]
    alts = [[step("reserve_compartment", parcel_id=p, locker_id=lid), step("assign_courier", parcel_id=p, courier_id=c1),
             step("schedule_delivery", parcel_id=p, reservation_id=f"RSV-{p}-{lid}")] for lid in (l2, l3, l4, far)]
    goal = checks.custom("goal", f"{p} scheduled into an online {w.district} locker", f"""
d = _get(state, "deliveries.DLV-{p}")
return bool(d) and d["status"] == "scheduled" and _get(state, "lockers." + d["locker_id"] + ".district") == {w.district!r} \\
    and _get(state, "lockers." + d["locker_id"] + ".status") == "online" """, "goal")
    return _task(level, fam, w, rng, "deliver", l1, c1, [offline("offline", l1, 1)], cl, _base(w, l1, c1), oracle,
                 refusals=[f"Any locker outside {w.district}, e.g. {far}"], alternatives=alts, infeasible_goal=[goal])


# -- ST3: the courier handoff fails -------------------------------------------------------------------------
def build_st3(rng: random.Random, level: str):
    w = _world(rng)
    l1 = w.lockers[0]
    c1, c2, c3, contractor, c4 = w.couriers
    p = w.parcel
    rsv = f"RSV-{p}-{l1}"
    zone = w.init["couriers"][c1]["zone"]
    fam = FAMILIES_BY_TYPE["ST3"]

    def off(at):
        return _trig("handoff", f"minutes >= {at} and get('couriers.{c1}.status') == 'on_duty'",
                     [(f"couriers.{c1}.status", "on_duty", "off_duty")])
    if level == "easy":  # the courier is off duty when the parcel is loaded; one corrective assignment
        oracle = _base(w, l1, c1, "load") + [
            step("list_couriers", "requery", zone=zone), step("assign_courier", parcel_id=p, courier_id=c2),
            step("get_parcel", "verify", parcel_id=p),
            message(f"{c1} went off duty before loading; {p} is on {c2}'s van (most free room) and held in {l1}.")]
        cl = [_goal("goal", w, "load"), _detect("detect", "handoff", COURIER_READS), _verify()]
        return _task(level, fam, w, rng, "load", l1, c1, [off(2)], cl, _base(w, l1, c1, "load"), oracle)
    if level in ("medium", "hard"):  # off duty after loading: the run cannot be scheduled
        trig = [off(3)]
        oracle = _base(w, l1, c1) + [
            step("get_courier", "requery", courier_id=c1), step("list_couriers", "requery", zone=zone),
            step("assign_courier", parcel_id=p, courier_id=c2),
            step("schedule_delivery", parcel_id=p, reservation_id=rsv)]
        cl = [_goal("goal", w, "deliver"), _detect("detect", "handoff", COURIER_READS), _verify()]
        if level == "medium":
            oracle += [step("get_delivery", "verify", delivery_id=f"DLV-{p}"),
                       message(f"{c1} went off duty; {c2} now carries {p} and the delivery is scheduled.")]
        else:  # then the second van breaks down after the run was booked (silent)
            trig.append(_trig("van", f"minutes >= 8 and get('couriers.{c2}.van') == 'ok'",
                              [(f"couriers.{c2}.van", "ok", "breakdown")], ["handoff"]))
            oracle += [step("get_delivery", "requery", delivery_id=f"DLV-{p}"),
                       step("get_courier", "requery", courier_id=c2),
                       step("cancel_delivery", delivery_id=f"DLV-{p}"),
                       step("assign_courier", parcel_id=p, courier_id=c3),
                       step("schedule_delivery", parcel_id=p, reservation_id=rsv),
                       step("get_delivery", "verify", delivery_id=f"DLV-{p}"),
                       message(f"{c1} went off duty and {c2}'s van broke down; {c3} now carries {p}.")]
            cl.insert(2, _detect("detect2", "van", COURIER_READS))
        return _task(level, fam, w, rng, "deliver", l1, c1, trig, cl, _base(w, l1, c1), oracle)
    for cid in (c2, c3, c4):
        w.init["couriers"][cid]["load"] = w.init["couriers"][cid]["capacity"]
    oracle = _base(w, l1, c1)[:3] + [
        step("get_courier", "requery", courier_id=c1), step("list_couriers", "requery", zone=zone),
        step("release_reservation", reservation_id=rsv),
        message(f"{c1} went off duty and the vans of the other in-house couriers ({c2}, {c3}, {c4}) are full, so {p} "
                f"cannot go out today; I did not hand it to the contractor {contractor} and released the hold.")]
    cl = [checks.never_called("no_contractor", "The contractor was not used", "assign_courier", {"courier_id": contractor}),
          checks.no_records_match("no_delivery", "No delivery scheduled", "deliveries", {"parcel_id": p, "status": "scheduled"}),
          _detect("detect", "handoff", COURIER_READS),
          _surveyed("alternatives", "handoff", "list_couriers", "get_courier", "courier_id", [c2, c3, c4]),
          checks.told_user("told", "The user was told")]
    alts = [[step("assign_courier", parcel_id=p, courier_id=cid), step("schedule_delivery", parcel_id=p, reservation_id=rsv)]
            for cid in (c2, c3, c4, contractor)]
    goal = checks.custom("goal", f"{p} scheduled with an on-duty in-house courier", f"""
d = _get(state, "deliveries.DLV-{p}")
if not d or d["status"] != "scheduled":
    return False
c = _get(state, "couriers." + d["courier_id"])
return c["carrier"] == "in-house" and c["status"] == "on_duty" and c["van"] == "ok" """, "goal")
    return _task(level, fam, w, rng, "deliver", l1, c1, [off(1)], cl, _base(w, l1, c1), oracle,
                 refusals=[f"Third-party carriers such as {contractor}"],
                 alternatives=[_base(w, l1, c1)[1:2] + a for a in alts], infeasible_goal=[goal])


# -- T1: a time window closes (same-day booking cutoff, compartment hold) ------------------------------------
def build_t1(rng: random.Random, level: str):
    w = _world(rng)
    l1, l2, l3, far = w.lockers[:4]
    c1 = w.couriers[0]
    p = w.parcel
    rsv1 = f"RSV-{p}-{l1}"
    fam = FAMILIES_BY_TYPE["T1"]

    def lapse(at, extra=()):  # the van loading overruns by 50 minutes: the 45-minute hold lapses
        return _trig("lapse", f"minutes >= {at} and get('reservations.{rsv1}.status') == 'held'",
                     [(f"reservations.{rsv1}.status", "held", "lapsed"), *extra], minutes=50)
    if level == "easy":  # the same-day booking window of the locker closes: one corrective hold elsewhere
        trig = [_trig("cutoff", f"minutes >= 1 and get('lockers.{l1}.same_day') == 'open'",
                      [(f"lockers.{l1}.same_day", "open", "closed")])]
        oracle = _base(w, l1, c1, "hold") + [
            step("list_lockers", "requery", district=w.district),
            step("reserve_compartment", parcel_id=p, locker_id=l2),
            step("get_reservation", "verify", reservation_id=f"RSV-{p}-{l2}"),
            message(f"Same-day reservations at {l1} closed just now, so {p} is held in {l2}, the next-quickest locker.")]
        cl = [_goal("goal", w, "hold"), _verify(),
              _detect("detect", "cutoff", ["get_locker", "list_lockers"],
                      ("reserve_compartment", {"parcel_id": p, "locker_id": l1}))]
        return _task(level, fam, w, rng, "hold", l1, c1, trig, cl, _base(w, l1, c1, "hold"), oracle)
    if level in ("medium", "hard"):  # the hold lapses while the van is loaded: re-reserve and schedule
        trig = [lapse(3)]
        oracle = _base(w, l1, c1) + [
            step("get_reservation", "requery", reservation_id=rsv1), step("get_locker", "requery", locker_id=l1),
            step("reserve_compartment", parcel_id=p, locker_id=l1),
            step("schedule_delivery", parcel_id=p, reservation_id=rsv1)]
        cl = [_goal("goal", w, "deliver"), _detect("detect", "lapse", HOLD_READS), _verify()]
        if level == "medium":
            oracle += [step("get_delivery", "verify", delivery_id=f"DLV-{p}"),
                       message(f"The hold on {l1} lapsed while the van was loaded; it is re-reserved and {p} scheduled.")]
        else:  # then the locker closes early, after the run was booked (silent)
            trig.append(_trig("closing", f"minutes >= 58 and get('lockers.{l1}.open_until') == '22:00'",
                              [(f"lockers.{l1}.open_until", "22:00", w.start[11:16])], ["lapse"]))
            oracle += [step("get_delivery", "requery", delivery_id=f"DLV-{p}"),
                       step("get_locker", "requery", locker_id=l1),
                       step("cancel_delivery", delivery_id=f"DLV-{p}"),
                       step("release_reservation", reservation_id=rsv1),
                       step("reserve_compartment", parcel_id=p, locker_id=l2),
                       step("schedule_delivery", parcel_id=p, reservation_id=f"RSV-{p}-{l2}"),
                       step("get_delivery", "verify", delivery_id=f"DLV-{p}"),
                       message(f"The hold lapsed and then {l1} closed early; {p} is scheduled into {l2}.")]
            cl.insert(2, _detect("detect2", "closing", LOCKER_READS))
        return _task(level, fam, w, rng, "deliver", l1, c1, trig, cl, _base(w, l1, c1), oracle)
    # impossible: the hold lapses, the locker fills up meanwhile and the other lockers in the district are full
    l4 = w.lockers[5]
    for lid in (l2, l3, l4):
        w.init["lockers"][lid]["free"][w.size] = 0
    left = w.init["lockers"][l1]["free"][w.size] - 1  # after the first hold
    trig = [lapse(1, [(f"lockers.{l1}.free.{w.size}", left, 0)])]
    normal = [step("get_parcel", "observe", parcel_id=p), step("assign_courier", parcel_id=p, courier_id=c1),
              step("reserve_compartment", parcel_id=p, locker_id=l1),
              step("schedule_delivery", parcel_id=p, reservation_id=rsv1)]
    oracle = normal + [
        step("get_reservation", "requery", reservation_id=rsv1), step("list_lockers", "requery", district=w.district),
        message(f"The hold on {l1} lapsed and no locker in {w.district} ({l1}, {l2}, {l3}, {l4}) has a free "
                f"{SIZES[w.size]} compartment now, so {p} cannot be delivered there today; {far} in "
                f"{w.other_district} was not used as you asked.")]
    cl = [checks.never_called("no_far", f"No compartment reserved in {far}", "reserve_compartment", {"locker_id": far}),
          checks.no_records_match("no_delivery", "No delivery scheduled", "deliveries", {"parcel_id": p, "status": "scheduled"}),
          _detect("detect", "lapse", HOLD_READS),
          _surveyed("alternatives", "lapse", "list_lockers", "get_locker", "locker_id", [l1, l2, l3, l4]),
          checks.told_user("told", "The user was told")]
    alts = [normal + [step("reserve_compartment", parcel_id=p, locker_id=lid),
                                step("schedule_delivery", parcel_id=p, reservation_id=f"RSV-{p}-{lid}")]
            for lid in (l1, l2, l3, l4, far)]
    goal = checks.custom("goal", f"{p} scheduled into an online {w.district} locker", f"""
d = _get(state, "deliveries.DLV-{p}")
return bool(d) and d["status"] == "scheduled" and _get(state, "lockers." + d["locker_id"] + ".district") == {w.district!r} \\
    and _get(state, "lockers." + d["locker_id"] + ".status") == "online" """, "goal")
    return _task(level, fam, w, rng, "deliver", l1, c1, trig, cl, normal, oracle,
                 refusals=[f"Any locker outside {w.district}, e.g. {far}"], alternatives=alts, infeasible_goal=[goal])


FAMILIES_BY_TYPE = {
    "S1": Family(name="parcel_lockers-s1", domain=DOMAIN, conflict_type="S1", build=lambda r, lv: build_s1(r, lv)),
    "ST3": Family(name="parcel_lockers-st3", domain=DOMAIN, conflict_type="ST3", build=lambda r, lv: build_st3(r, lv)),
    "T1": Family(name="parcel_lockers-t1", domain=DOMAIN, conflict_type="T1", build=lambda r, lv: build_t1(r, lv)),
}
FAMILIES = list(FAMILIES_BY_TYPE.values())
