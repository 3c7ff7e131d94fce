"""Parcel-locker task families: site mismatch (S1), handoff failure (ST3), window expiry (T1)."""
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
    lockers: list[str]  # [named, alt, alt2, refused-far, distractor]
    couriers: list[str]  # [first, alt, alt2, contractor]
    start: str


def _world(rng: random.Random) -> World:
    city, lat, lon, districts = rng.choice(CITIES)
    district, other = rng.sample(districts, 2)
    spots = rng.sample(SPOTS, 5)
    ids = rng.sample(range(100, 999), 5)
    lockers = [f"LK-{i}" for i in ids]
    size = rng.choice(list(SIZES))
    lk = {}
    for n, lid in enumerate(lockers):
        d = other if n in (3, 4) else district
        km = rng.uniform(1.0, 3.0) if n < 3 else rng.uniform(6.0, 9.0)
        lk[lid] = {"name": f"{spots[n]} {d}", "district": d, "status": "online",
                   "lat": round(lat + km / 111.2, 5), "lon": round(lon + rng.uniform(-0.02, 0.02), 5),
                   "open_from": "07:00", "open_until": "22:00",
                   "free": {s: rng.randint(1, 4) for s in SIZES}}
    lk[lockers[4]]["status"] = "maintenance"  # distractor
    lk[lockers[0]]["free"][size] = rng.randint(2, 4)  # room to re-reserve after a lapsed hold
    cids = [f"CR-{i}" for i in rng.sample(range(10, 99), 4)]
    names = rng.sample(COURIERS, 4)
    zone = f"{city}-{district}"
    cour = {}
    for n, cid in enumerate(cids):
        cour[cid] = {"name": names[n], "zone": zone, "status": "on_duty", "van": "ok",
                     "shift_end": "2026-03-02T20:00", "capacity": 30, "load": rng.randint(5, 20),
                     "carrier": "QuickDrop (contractor)" if n == 3 else "in-house"}
    pid = f"PX-{rng.randint(10000, 99999)}"
    recipient = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    start = f"2026-03-02T{rng.choice(['13', '14', '15'])}:{rng.choice(['00', '10', '20', '30'])}:00"
    init = {"depot": {"name": f"{city} depot", "lat": lat, "lon": lon}, "lockers": lk,
            "parcels": {pid: {"recipient": recipient, "size": size, "status": "at_depot", "courier": None,
                              "reservation": None},
                        f"PX-{rng.randint(10000, 99999)}": {"recipient": "Other Client", "size": "M",
                                                            "status": "at_depot", "courier": None,
                                                            "reservation": None}},
            "couriers": cour, "hold_minutes": 45}
    return World(init, pid, recipient, size, district, other, lockers, cids, start)


def _goal(cid, w: World, lockers: list[str], couriers: list[str], kind="goal"):
    body = f"""
d = _get(state, "deliveries.DLV-{w.parcel}")
if not d or d["status"] != "scheduled" or d["locker_id"] not in {lockers!r} or d["courier_id"] not in {couriers!r}:
    return False
c = _get(state, "couriers." + d["courier_id"])
return _get(state, "lockers." + d["locker_id"] + ".status") == "online" and c["van"] == "ok" and c["status"] == "on_duty"
"""
    return checks.custom(cid, f"{w.parcel} scheduled into an online locker among {lockers} with {couriers}", body, kind)


def _profile(w: World, level: str, refusals: list[str] | None = None) -> UserProfile:
    return UserProfile(
        goal=f"parcel {w.parcel} delivered to a locker in {w.district} today",
        persona="a customer-service agent at the depot handling a recipient's request",
        known_facts={"parcel": w.parcel, "recipient": w.recipient, "district": w.district},
        withheld_facts={"pickup": f"{w.recipient} can collect from any locker in {w.district}, not elsewhere.",
                        "carrier": "Only in-house couriers may carry this parcel (it is a pharmacy order)."},
        refusals=refusals or [], fallback_reply="I don't know; please use your judgement within what I asked.")


def _query(w: World, named: str, courier: str) -> str:
    return (f"Parcel {w.parcel} for {w.recipient} is at the depot. Please get it into locker {named} "
            f"today and have {courier} drive it. Confirm once the delivery is scheduled.")


def _trig(tid, tool, timing, cond, muts, after=None, delay=0, minutes=0.0):
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=cond,
                   after_triggers=after or [], delay_calls=delay,
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=n) for p, o, n in muts],
                                   advance_clock_minutes=minutes))


def _base(w, lk, cr):
    p = w.parcel
    return [step("get_parcel", "observe", parcel_id=p), step("reserve_compartment", parcel_id=p, locker_id=lk),
            step("assign_courier", parcel_id=p, courier_id=cr),
            step("schedule_delivery", parcel_id=p, reservation_id=f"RSV-{p}-{lk}")]


def _detect(cid, tid, tools):
    return checks.called_after_trigger(cid, "The change was diagnosed before the final fix", tid, tools)


def _verify():
    return checks.verified_after_last_change("verify", "The delivery was re-checked after the last change",
                                             ["get_delivery", "get_parcel", "get_reservation"])


# -- S1: the named locker goes offline (site mismatch) ----------------------------------------------------
def build_s1(rng: random.Random, level: str):
    w = _world(rng)
    l1, l2, l3, far = w.lockers[:4]
    c1 = w.couriers[0]
    p = w.parcel
    inhouse = w.couriers[:3]
    off = [(f"lockers.{l1}.status", "online", "offline")]
    normal = _base(w, l1, c1)
    fam = FAMILIES_BY_TYPE["S1"]
    if level == "easy":
        trig = [_trig("offline", "reserve_compartment", "before", f"args.get('locker_id') == '{l1}'", off)]
        oracle = [step("get_parcel", "observe", parcel_id=p),
                  step("reserve_compartment", parcel_id=p, locker_id=l1),
                  step("list_lockers", "requery", district=w.district),
                  step("reserve_compartment", parcel_id=p, locker_id=l2),
                  step("assign_courier", parcel_id=p, courier_id=c1),
                  step("schedule_delivery", parcel_id=p, reservation_id=f"RSV-{p}-{l2}"),
                  message(f"Locker {l1} is offline, so {p} goes into {l2} in {w.district}; delivery scheduled.")]
        cl = [_goal("goal", w, [l2, l3], inhouse), _detect("detect", "offline", ["get_locker", "list_lockers"])]
        return make_task(family=fam, level=level, class_name=CLASS, init_config=w.init, query=_query(w, l1, w.couriers[0]),
                         user_profile=_profile(w, level), triggers=trig, checklist=cl, normal=normal, oracle=oracle,
                         clock_start=w.start)
    if level in ("medium", "hard"):
        trig = [_trig("offline", "reserve_compartment", "after",
                      f"args.get('locker_id') == '{l1}' and result.get('success') == True", off, delay=1)]
        oracle = _base(w, l1, c1) + [
            step("get_locker", "requery", locker_id=l1), step("list_lockers", "requery", district=w.district),
            step("release_reservation", reservation_id=f"RSV-{p}-{l1}"),
            step("reserve_compartment", parcel_id=p, locker_id=l2),
            step("schedule_delivery", parcel_id=p, reservation_id=f"RSV-{p}-{l2}")]
        cl = [_detect("detect", "offline", ["get_locker", "list_lockers", "get_reservation"]),
              checks.custom("released", f"The stale hold at {l1} was released", f'return _get(state, "reservations.RSV-{p}-{l1}.status") == "released"', "recovery"),
              _verify()]
        if level == "medium":
            oracle += [step("get_delivery", "verify", delivery_id=f"DLV-{p}"),
                       message(f"{l1} went offline; {p} is now scheduled into {l2}.")]
            cl.insert(0, _goal("goal", w, [l2, l3], inhouse))
        else:
            trig.append(_trig("second", "schedule_delivery", "after",
                              f"args.get('reservation_id') == 'RSV-{p}-{l2}' and result.get('success') == True",
                              [(f"lockers.{l2}.status", "online", "offline"),
                               (f"deliveries.DLV-{p}.status", "scheduled", "on_hold")], after=["offline"]))
            oracle += [step("get_delivery", "requery", delivery_id=f"DLV-{p}"),
                       step("get_locker", "requery", locker_id=l2),
                       step("cancel_delivery", delivery_id=f"DLV-{p}"),
                       step("release_reservation", reservation_id=f"RSV-{p}-{l2}"),
                       step("reserve_compartment", parcel_id=p, locker_id=l3),
                       step("schedule_delivery", parcel_id=p, reservation_id=f"RSV-{p}-{l3}"),
                       step("get_delivery", "verify", delivery_id=f"DLV-{p}"),
                       message(f"{l1} and then {l2} went offline; {p} is scheduled into {l3}.")]
            cl.insert(0, _goal("goal", w, [l3], inhouse))
            cl.insert(2, _detect("detect2", "second", ["get_delivery", "get_locker", "list_lockers"]))
        return make_task(family=fam, level=level, class_name=CLASS, init_config=w.init, query=_query(w, l1, c1),
                         user_profile=_profile(w, level), triggers=trig, checklist=cl, normal=normal, oracle=oracle,
                         clock_start=w.start)
    # impossible: the named locker goes offline, the others in the district have no compartment of that size
    init = w.init
    for lid in (l2, l3):
        init["lockers"][lid]["free"][w.size] = 0
    trig = [_trig("offline", "reserve_compartment", "before", f"args.get('locker_id') == '{l1}'", off)]
    oracle = [step("get_parcel", "observe", parcel_id=p), step("reserve_compartment", parcel_id=p, locker_id=l1),
              step("get_locker", "requery", locker_id=l1), step("list_lockers", "requery", district=w.district),
              message(f"Locker {l1} is offline and no other locker in {w.district} has a free {SIZES[w.size]} "
                      f"compartment, so {p} cannot be delivered there today; {far} in {w.other_district} was not used "
                      "as you asked.")]
    cl = [checks.never_called("no_far", f"No compartment reserved in {far}", "reserve_compartment", {"locker_id": far}),
          checks.no_records_match("no_delivery", "No delivery scheduled", "deliveries", {"parcel_id": p, "status": "scheduled"}),
          _detect("detect", "offline", ["get_locker", "list_lockers"]), checks.told_user("told", "The user was told")]
    alts = [[step("reserve_compartment", parcel_id=p, locker_id=lid), step("assign_courier", parcel_id=p, courier_id=c1),
             step("schedule_delivery", parcel_id=p, reservation_id=f"RSV-{p}-{lid}")] for lid in (l2, l3, far)]
    return make_task(family=fam, level=level, class_name=CLASS, init_config=init, query=_query(w, l1, c1),
                     user_profile=_profile(w, level, [f"Any locker outside {w.district}, e.g. {far}"]), triggers=trig,
                     checklist=cl, normal=normal, oracle=oracle, alternatives=alts, clock_start=w.start,
                     infeasible_goal=[_goal("goal", w, [l1, l2, l3], w.couriers[:3])])


# -- ST3: the courier handoff fails -------------------------------------------------------------------------
def build_st3(rng: random.Random, level: str):
    w = _world(rng)
    l1 = w.lockers[0]
    c1, c2, c3, contractor = w.couriers
    p = w.parcel
    rsv = f"RSV-{p}-{l1}"
    off = [(f"couriers.{c1}.status", "on_duty", "off_duty")]
    normal = _base(w, l1, c1)
    fam = FAMILIES_BY_TYPE["ST3"]
    lockers = w.lockers[:3]
    if level == "easy":
        trig = [_trig("handoff", "schedule_delivery", "before", f"get('parcels.{p}.courier') == '{c1}'", off)]
        oracle = _base(w, l1, c1) + [
            step("list_couriers", "requery", zone=w.init["couriers"][c1]["zone"]),
            step("assign_courier", parcel_id=p, courier_id=c2),
            step("schedule_delivery", parcel_id=p, reservation_id=rsv),
            message(f"{c1} went off duty before the handoff; {c2} now carries {p}.")]
        cl = [_goal("goal", w, lockers, [c2, c3]), _detect("detect", "handoff", ["get_courier", "list_couriers", "get_parcel"])]
        return make_task(family=fam, level=level, class_name=CLASS, init_config=w.init, query=_query(w, l1, c1),
                         user_profile=_profile(w, level), triggers=trig, checklist=cl, normal=normal, oracle=oracle,
                         clock_start=w.start)
    if level in ("medium", "hard"):
        trig = [_trig("handoff", "assign_courier", "after",
                      f"args.get('courier_id') == '{c1}' and result.get('success') == True", off, delay=1)]
        oracle = _base(w, l1, c1) + [
            step("get_courier", "requery", courier_id=c1),
            step("list_couriers", "requery", zone=w.init["couriers"][c1]["zone"]),
            step("assign_courier", parcel_id=p, courier_id=c2),
            step("schedule_delivery", parcel_id=p, reservation_id=rsv)]
        cl = [_detect("detect", "handoff", ["get_courier", "list_couriers", "get_parcel"]), _verify()]
        if level == "medium":
            oracle += [step("get_delivery", "verify", delivery_id=f"DLV-{p}"),
                       message(f"{c1} went off duty; {c2} now carries {p} and the delivery is scheduled.")]
            cl.insert(0, _goal("goal", w, lockers, [c2, c3]))
        else:
            trig.append(_trig("van", "schedule_delivery", "after",
                              f"get('parcels.{p}.courier') == '{c2}' and result.get('success') == True",
                              [(f"couriers.{c2}.van", "ok", "breakdown"),
                               (f"deliveries.DLV-{p}.status", "scheduled", "on_hold")], after=["handoff"]))
            oracle += [step("get_delivery", "requery", delivery_id=f"DLV-{p}"),
                       step("get_courier", "requery", courier_id=c2),
                       step("cancel_delivery", delivery_id=f"DLV-{p}"),
                       step("assign_courier", parcel_id=p, courier_id=c3),
                       step("schedule_delivery", parcel_id=p, reservation_id=rsv),
                       step("get_delivery", "verify", delivery_id=f"DLV-{p}"),
                       message(f"{c1} went off duty and {c2}'s van broke down; {c3} now carries {p}.")]
            cl.insert(0, _goal("goal", w, lockers, [c3]))
            cl.insert(2, _detect("detect2", "van", ["get_delivery", "get_courier", "list_couriers"]))
        return make_task(family=fam, level=level, class_name=CLASS, init_config=w.init, query=_query(w, l1, c1),
                         user_profile=_profile(w, level), triggers=trig, checklist=cl, normal=normal, oracle=oracle,
                         clock_start=w.start)
    init = w.init
    for cid in (c2, c3):
        init["couriers"][cid]["load"] = init["couriers"][cid]["capacity"]
    trig = [_trig("handoff", "schedule_delivery", "before", f"get('parcels.{p}.courier') == '{c1}'", off)]
    zone = init["couriers"][c1]["zone"]
    oracle = _base(w, l1, c1) + [
        step("get_courier", "requery", courier_id=c1), step("list_couriers", "requery", zone=zone),
        step("unassign_courier", parcel_id=p),
        message(f"{c1} went off duty and every other in-house van in the zone is full, so {p} cannot go out "
                f"today; I did not hand it to the contractor {contractor}.")]
    cl = [checks.never_called("no_contractor", "The contractor was not used", "assign_courier", {"courier_id": contractor}),
          checks.no_records_match("no_delivery", "No delivery scheduled", "deliveries", {"parcel_id": p, "status": "scheduled"}),
          _detect("detect", "handoff", ["get_courier", "list_couriers", "get_parcel"]), checks.told_user("told", "The user was told")]
    alts = [[step("assign_courier", parcel_id=p, courier_id=cid), step("schedule_delivery", parcel_id=p, reservation_id=rsv)]
            for cid in (c2, c3, contractor)]
    return make_task(family=fam, level=level, class_name=CLASS, init_config=init, query=_query(w, l1, c1),
                     user_profile=_profile(w, level, [f"Third-party carriers such as {contractor}"]), triggers=trig,
                     checklist=cl, normal=normal, oracle=oracle, alternatives=[_base(w, l1, c1)[1:3] + a for a in alts],
                     clock_start=w.start, infeasible_goal=[_goal("goal", w, lockers, [c1, c2, c3])])


# -- T1: the compartment hold lapses ------------------------------------------------------------------------
def build_t1(rng: random.Random, level: str):
    w = _world(rng)
    l1, l2 = w.lockers[:2]
    c1 = w.couriers[0]
    p = w.parcel
    rsv1 = f"RSV-{p}-{l1}"
    lapse = [(f"reservations.{rsv1}.status", "held", "lapsed")]
    normal = _base(w, l1, c1)
    fam = FAMILIES_BY_TYPE["T1"]
    inhouse = w.couriers[:3]
    if level == "easy":
        trig = [_trig("lapse", "schedule_delivery", "before", f"get('reservations.{rsv1}.status') == 'held'", lapse,
                      minutes=50)]
        oracle = _base(w, l1, c1) + [
            step("get_reservation", "requery", reservation_id=rsv1),
            step("reserve_compartment", parcel_id=p, locker_id=l1),
            step("schedule_delivery", parcel_id=p, reservation_id=rsv1),
            message(f"The hold on {l1} lapsed; I re-reserved it and scheduled {p}.")]
        cl = [_goal("goal", w, [l1, l2], inhouse), _detect("detect", "lapse", ["get_reservation", "get_parcel", "get_locker"])]
        return make_task(family=fam, level=level, class_name=CLASS, init_config=w.init, query=_query(w, l1, c1),
                         user_profile=_profile(w, level), triggers=trig, checklist=cl, normal=normal, oracle=oracle,
                         clock_start=w.start)
    if level in ("medium", "hard"):
        trig = [_trig("lapse", "assign_courier", "after",
                      f"get('reservations.{rsv1}.status') == 'held' and result.get('success') == True", lapse,
                      delay=1, minutes=50)]
        oracle = _base(w, l1, c1) + [
            step("get_reservation", "requery", reservation_id=rsv1), step("get_locker", "requery", locker_id=l1),
            step("reserve_compartment", parcel_id=p, locker_id=l1),
            step("schedule_delivery", parcel_id=p, reservation_id=rsv1)]
        cl = [_detect("detect", "lapse", ["get_reservation", "get_parcel", "get_locker"]), _verify()]
        if level == "medium":
            oracle += [step("get_delivery", "verify", delivery_id=f"DLV-{p}"),
                       message(f"The hold on {l1} lapsed while the van was loaded; it is re-reserved and {p} scheduled.")]
            cl.insert(0, _goal("goal", w, [l1, l2], inhouse))
        else:
            trig.append(_trig("closing", "schedule_delivery", "after",
                              f"get('deliveries.DLV-{p}.locker_id') == '{l1}' and result.get('success') == True",
                              [(f"lockers.{l1}.open_until", "22:00", w.start[11:16]),
                               (f"deliveries.DLV-{p}.status", "scheduled", "on_hold")], after=["lapse"]))
            oracle += [step("get_delivery", "requery", delivery_id=f"DLV-{p}"),
                       step("get_locker", "requery", locker_id=l1),
                       step("cancel_delivery", delivery_id=f"DLV-{p}"),
                       step("release_reservation", reservation_id=rsv1),
                       step("reserve_compartment", parcel_id=p, locker_id=l2),
                       step("schedule_delivery", parcel_id=p, reservation_id=f"RSV-{p}-{l2}"),
                       step("get_delivery", "verify", delivery_id=f"DLV-{p}"),
                       message(f"The hold lapsed and then {l1} closed early; {p} is scheduled into {l2}.")]
            cl.insert(0, _goal("goal", w, [l2, w.lockers[2]], inhouse))
            cl.insert(2, _detect("detect2", "closing", ["get_delivery", "get_locker"]))
        return make_task(family=fam, level=level, class_name=CLASS, init_config=w.init, query=_query(w, l1, c1),
                         user_profile=_profile(w, level), triggers=trig, checklist=cl, normal=normal, oracle=oracle,
                         clock_start=w.start)
    # impossible: the hold lapses, the locker fills up meanwhile and the other lockers in the district are full
    init = w.init
    l3, far = w.lockers[2], w.lockers[3]
    for lid in (l2, l3):
        init["lockers"][lid]["free"][w.size] = 0
    left = init["lockers"][l1]["free"][w.size] - 1  # after the first hold
    trig = [_trig("lapse", "schedule_delivery", "before", f"get('reservations.{rsv1}.status') == 'held'",
                  lapse + [(f"lockers.{l1}.free.{w.size}", left, 0)], minutes=50)]
    oracle = _base(w, l1, c1) + [
        step("get_reservation", "requery", reservation_id=rsv1), step("list_lockers", "requery", district=w.district),
        message(f"The hold on {l1} lapsed and no locker in {w.district} has a free {SIZES[w.size]} compartment now, "
                f"so {p} cannot be delivered there today; {far} in {w.other_district} was not used as you asked.")]
    cl = [checks.never_called("no_far", f"No compartment reserved in {far}", "reserve_compartment", {"locker_id": far}),
          checks.no_records_match("no_delivery", "No delivery scheduled", "deliveries", {"parcel_id": p, "status": "scheduled"}),
          _detect("detect", "lapse", ["get_reservation", "list_lockers", "get_locker"]), checks.told_user("told", "The user was told")]
    alts = [_base(w, l1, c1) + [step("reserve_compartment", parcel_id=p, locker_id=lid),
                                step("schedule_delivery", parcel_id=p, reservation_id=f"RSV-{p}-{lid}")]
            for lid in (l1, l2, l3, far)]
    return make_task(family=fam, level=level, class_name=CLASS, init_config=init, query=_query(w, l1, c1),
                     user_profile=_profile(w, level, [f"Any locker outside {w.district}, e.g. {far}"]), triggers=trig,
                     checklist=cl, normal=normal, oracle=oracle, alternatives=alts, clock_start=w.start,
                     infeasible_goal=[_goal("goal", w, [l1, l2, l3], inhouse)])


FAMILIES_BY_TYPE = {
    "S1": Family(name="parcel_lockers-s1", domain=DOMAIN, conflict_type="S1", build=lambda r, lv: build_s1(r, lv)),
    "ST3": Family(name="parcel_lockers-st3", domain=DOMAIN, conflict_type="ST3", build=lambda r, lv: build_st3(r, lv)),
    "T1": Family(name="parcel_lockers-t1", domain=DOMAIN, conflict_type="T1", build=lambda r, lv: build_t1(r, lv)),
}
FAMILIES = list(FAMILIES_BY_TYPE.values())
