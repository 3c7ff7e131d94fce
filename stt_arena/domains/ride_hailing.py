"""Ride-hailing families: resource shift (ST1), site mismatch (S1), route restriction (S3).

Layout (km from the rider): zone A around the rider, B east (neighbours A, G), C north (neighbour A),
G further east (neighbour B), F far south-east (no neighbours). Pickup points by walking distance: PA1 (A,
~80 m), PA2 (A, ~180 m), PC1 (C, ~220 m; 600 m when far), PB1 (B, ~265 m); near a second rider position
2.6 km east: PB2 (B, ~160 m) and PG1 (G, ~300 m).

The user's stated preference (in every query): the pickup point nearest the rider, and the nearest
standard-fare driver who can serve it. Goal items check exactly that over the final state (outcome
checks, gate I8), so "some valid driver" is not enough (gate I10). Triggers fire on the state they model
(activation "*" with state guards, or the only tool that touches the entity: gate BIND).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from ..task.models import Activation, Effects, Mutation, Trigger, UserProfile

DOMAIN = "ride_hailing"
CLASS = "RideHailingEnv"

CITIES = [
    ("Lisbon", 38.7139, -9.1394, ["Baixa", "Cais do Sodre", "Graca", "Alcantara", "Oriente"],
     ["Rossio station", "Praca do Comercio", "Time Out Market", "Miradouro da Graca", "Docas", "LX Factory"]),
    ("Madrid", 40.4168, -3.7038, ["Sol", "Retiro", "Chamberi", "Salamanca", "Barajas"],
     ["Puerta del Sol", "Plaza Mayor", "Atocha", "Retiro north gate", "Serrano", "Goya"]),
    ("Toronto", 43.6532, -79.3832, ["Downtown", "Distillery", "Annex", "Leslieville", "Pearson"],
     ["Union Station", "Front St W", "King St W", "Distillery Lane", "Queen St E", "Bloor St"]),
    ("Melbourne", -37.8136, 144.9631, ["CBD", "Southbank", "Fitzroy", "Richmond", "Tullamarine"],
     ["Flinders Street", "Federation Square", "Crown Casino", "Brunswick St", "Swan St", "Collins St"]),
    ("Warsaw", 52.2297, 21.0122, ["Srodmiescie", "Praga", "Mokotow", "Wola", "Okecie"],
     ["Centralna station", "Palace of Culture", "Nowy Swiat", "Zabkowska", "Rondo ONZ", "Plac Zbawiciela"]),
]
RIDERS = ["Ana Ferreira", "Lucas Moreau", "Emma Clarke", "Noah Schmidt", "Sofia Rossi", "Jonas Lind", "Mia Kowalska"]
DISPATCHERS = ["Rita Alves", "Omar Haddad", "Grace Liu", "Tomasz Wrobel", "Elena Vidal"]
CARS = [("Toyota Corolla Hybrid", "hybrid"), ("Skoda Octavia", "diesel"), ("Tesla Model 3", "ev"),
        ("Kia Niro EV", "ev"), ("Hyundai Ioniq 5", "ev"), ("VW Passat", "diesel")]


@dataclass
class World:
    init: dict
    rid: str
    trip: str
    z: dict  # role -> zone id: A, B, C, G, F
    p: dict  # role -> pickup point id: PA1, PA2, PB1, PC1, PB2, PG1, PF1
    d: dict  # role -> driver id: D1 (requested), D2 (B), D3 (C), D4 (far F), D5 (premium, A), D6 (offline)
    city: str
    rider: str
    dispatcher: str
    start: str
    labels: dict
    moved: tuple  # (lat, lon) of the rider's second position
    kx: float     # km per degree of longitude here
    dest: str


SITUATIONS = [
    ("airport departures", "an early flight", "two large suitcases"),
    ("university hospital, outpatient entrance", "a hospital appointment", "a walking frame"),
    ("convention centre, hall 2", "a keynote talk", "a box of demo equipment"),
    ("central station, main entrance", "a connecting train", "a child seat"),
]


def _world(rng: random.Random, d1_zone: str = "A", pc1_far: bool = False, d3_near: bool = False) -> World:
    city, lat0, lon0, znames, places = rng.choice(CITIES)
    kx = 111.0 * math.cos(math.radians(lat0))

    def pos(dx, dy, jit=0.03):
        return (round(lat0 + (dy + rng.uniform(-jit, jit)) / 111.0, 5),
                round(lon0 + (dx + rng.uniform(-jit, jit)) / kx, 5))

    zn = rng.sample(range(10, 99), 5)
    z = {r: f"Z-{n}" for r, n in zip("ABCGF", zn)}
    names = rng.sample(znames, 5)
    centres = {"A": (0.2, 0.1), "B": (1.8, 0.0), "C": (0.0, 1.8), "G": (3.6, 0.2), "F": (8.0, -6.0)}
    nbr = {"A": ["B", "C"], "B": ["A", "G"], "C": ["A"], "G": ["B"], "F": []}
    zones = {}
    for (r, zid), nm in zip(z.items(), names):
        la, lo = pos(*centres[r], jit=0.0)
        zones[zid] = {"name": nm, "lat": la, "lon": lo, "radius_km": 1.2 if r != "F" else 2.5,
                      "neighbors": [z[x] for x in nbr[r]], "status": "open", "restrictions": []}
    pn = sorted(rng.sample(range(100, 999), 7))
    # ids (the listing order) do not follow walking distance: the user's order is by distance, not by listing
    p = {r: f"PP-{n}" for r, n in zip(["PC1", "PB1", "PA1", "PA2", "PB2", "PG1", "PF1"], pn)}
    p = {r: p[r] for r in ["PA1", "PA2", "PB1", "PC1", "PB2", "PG1", "PF1"]}
    labels = dict(zip(p, rng.sample(places, 6) + ["Depot gate"]))
    where = {"PA1": ((0.06, 0.05), "A"), "PA2": ((-0.15, 0.1), "A"), "PB1": ((0.26, -0.05), "B"),
             "PC1": ((0.0, 0.6 if pc1_far else 0.22), "C"), "PB2": ((2.45, 0.25), "B"),
             "PG1": ((2.85, 0.45), "G"), "PF1": ((8.1, -6.1), "F")}
    pts = {}
    for r, pid in p.items():
        (dx, dy), zr = where[r]
        la, lo = pos(dx, dy, jit=0.003)
        pts[pid] = {"label": f"{labels[r]} ({'rank' if r != 'PF1' else 'staff'})", "zone": z[zr], "lat": la,
                    "lon": lo, "status": "active"}
    dn = rng.sample(range(1000, 9999), 6)
    d = {r: f"DRV-{n}" for r, n in zip(["D1", "D2", "D3", "D4", "D5", "D6"], dn)}
    cars = list(CARS)
    rng.shuffle(cars)
    non_ev = [c for c in cars if c[1] != "ev"]
    evs = [c for c in cars if c[1] == "ev"]
    dpos = {"D1": ((0.8, -0.6) if d1_zone == "A" else (1.3, 0.3), d1_zone), "D2": ((1.9, -0.4), "B"),
            "D3": ((-0.3, 1.4 if d3_near else 2.6), "C"), "D4": ((8.2, -5.8), "F"), "D5": ((0.5, 0.5), "A"),
            "D6": ((-0.4, -0.3), "A")}
    car = {"D1": non_ev[0], "D2": evs[0], "D3": non_ev[1], "D4": evs[1], "D5": evs[2], "D6": non_ev[2]}
    drivers = {}
    # listing order: the requested driver, then the unusable ones, then the two alternatives (the farther one
    # first: the user's order is by distance, not by listing)
    order = ["D1", "D6", "D4", "D5"] + (["D2", "D3"] if d3_near else ["D3", "D2"])
    for r in order:
        did = d[r]
        (dx, dy), zr = dpos[r]
        la, lo = pos(dx, dy)
        drivers[did] = {"name": rng.choice(["Rui", "Ines", "Marco", "Aisha", "Pavel", "Chen", "Lea", "Sam", "Olu"]),
                        "vehicle": car[r][0], "powertrain": car[r][1], "seats": 4,
                        "fare_class": "premium" if r == "D5" else "standard", "zone": z[zr], "lat": la, "lon": lo,
                        "status": "offline" if r == "D6" else "available", "request": None}
    rnum = rng.randint(10000, 99999)
    rid, trip = f"REQ-{rnum}", f"TRP-{rnum}"
    other = f"REQ-{rnum + rng.randint(1, 50)}"
    hh = rng.choice([7, 8, 9, 17, 18])
    start = f"2026-03-0{rng.randint(2, 6)}T{hh:02d}:{rng.choice(['05', '20', '35'])}:00"
    t0 = datetime.fromisoformat(start)
    rl = pos(0.0, 0.0, jit=0.0)
    rider = rng.choice(RIDERS)
    dest = rng.choice(SITUATIONS)
    requests = {
        rid: {"rider": rider, "seats": rng.choice([1, 2, 3]), "rider_lat": rl[0], "rider_lon": rl[1],
              "pickup_point": None, "dropoff": f"{city} {dest[0]}",
              "pickup_by": (t0 + timedelta(minutes=40)).isoformat(timespec="minutes"), "driver": None,
              "fare_class": None, "status": "open"},
        other: {"rider": rng.choice([r for r in RIDERS if r != rider]), "seats": 1,
                "rider_lat": pts[p["PF1"]]["lat"], "rider_lon": pts[p["PF1"]]["lon"], "pickup_point": p["PF1"],
                "dropoff": f"{city} central station", "driver": None, "fare_class": None,
                "pickup_by": (t0 + timedelta(minutes=90)).isoformat(timespec="minutes"), "status": "open"},
    }
    init = {"zones": zones, "pickup_points": pts, "drivers": drivers, "requests": requests, "trips": {}}
    moved = pos(2.6, 0.3, jit=0.0)
    return World(init, rid, trip, z, p, d, city, rider, rng.choice(DISPATCHERS), start, labels, moved,
                 round(kx, 4), dest[1] + "|" + dest[2])


def _trig(tid, tool, timing, cond, muts, after=None, delay=0):
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=cond,
                   after_triggers=after or [], delay_calls=delay,
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=n) for p, o, n in muts]))


def _goal(cid, w: World, confirmed=True, pref=True, kind="goal"):
    """The request is served (assigned, or confirmed with a live trip) by a standard-fare driver at a usable
    pickup point within the rider's 300 m; with ``pref``: no usable point is nearer the rider and no free
    standard driver who could serve that point is nearer to it (the user's stated order)."""
    body = f"""
KX = {w.kx!r}
def km(a, b):
    dx, dy = (a["lon"] - b["lon"]) * KX, (a["lat"] - b["lat"]) * 111.0
    return (dx * dx + dy * dy) ** 0.5
r = _get(state, "requests.{w.rid}") or {{}}
if {confirmed!r}:
    t = _get(state, "trips.{w.trip}") or {{}}
    if r.get("status") != "confirmed" or t.get("status") != "confirmed":
        return False
    if t.get("driver_id") != r.get("driver") or t.get("pickup_point") != r.get("pickup_point"):
        return False
elif r.get("status") not in ("assigned", "confirmed"):
    return False
zones, pts, drivers = state["zones"], state["pickup_points"], state["drivers"]
rider = {{"lat": r["rider_lat"], "lon": r["rider_lon"]}}
def usable(p):
    return p["status"] == "active" and zones[p["zone"]]["status"] == "open" and 1000 * km(rider, p) <= 300
def serves(d, p):
    dz = zones[d["zone"]]
    if d["fare_class"] != "standard" or d["seats"] < r["seats"] or dz["status"] != "open":
        return False
    if d["zone"] != p["zone"] and p["zone"] not in dz["neighbors"]:
        return False
    ev = "ev_only" in zones[p["zone"]]["restrictions"] or "ev_only" in dz["restrictions"]
    return d["powertrain"] == "ev" or not ev
p, d = pts.get(r.get("pickup_point") or ""), drivers.get(r.get("driver") or "")
if p is None or d is None or not usable(p) or not serves(d, p):
    return False
if d["status"] not in ("assigned", "en_route") or d.get("request") not in (None, "{w.rid}"):
    return False
if not {pref!r}:
    return True
if any(usable(q) and 1000 * km(rider, q) < 1000 * km(rider, p) - 20 for q in pts.values()):
    return False
return not any(e["status"] == "available" and serves(e, p) and km(e, p) < km(d, p) - 0.1
               for e in drivers.values())
"""
    what = "confirmed" if confirmed else "assigned"
    return checks.custom(cid, f"{w.rid} {what}: nearest usable pickup point, nearest standard driver who serves it",
                         body, kind)


def _profile(w: World, refusals=None, constraints=None) -> UserProfile:
    why, luggage = w.dest.split("|")
    return UserProfile(
        goal=f"a standard-fare car for {w.rider} (request {w.rid}) in time for {why}: the pickup point nearest "
             f"the rider and the nearest standard driver who can serve it",
        persona=f"{w.dispatcher}, fleet dispatcher",
        known_facts={"request": w.rid, "pickup point": w.p["PA1"], "driver": w.d["D1"],
                     "preference": "nearest pickup point to the rider, then the nearest standard-fare driver"},
        withheld_facts={"walking": f"{w.rider} has {luggage} and will not walk more than 300 m.",
                        "fare": "Standard fare only: no premium upgrade, the corporate account does not cover it.",
                        "deadline": "The pickup has to happen within 40 minutes of the request."},
        clarifications={"other drivers": "Then the nearest standard-fare driver who can make the pickup.",
                        "pickup point": "Then the nearest open pickup point within 300 m of the rider."},
        refusals=refusals or [], constraints=constraints or [], fallback_reply="I don't know more than that.")


def _query(rng: random.Random, w: World, templates: list) -> str:
    why, luggage = w.dest.split("|")
    return rng.choice(templates)(w, why, luggage)


def _normal(w: World, point="PA1", driver="D1", confirm=True):
    out = [step("get_ride_request", "observe", request_id=w.rid),
           step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p[point]),
           step("assign_driver", request_id=w.rid, driver_id=w.d[driver])]
    return out + ([step("confirm_trip", request_id=w.rid)] if confirm else [])


def _detect(cid, tid, tools):
    return checks.called_after_trigger(cid, "The change was diagnosed before the final fix", tid, tools)


def _verify():
    return checks.verified_after_last_change("verify", "The trip was re-checked after the last change",
                                             ["get_trip", "get_ride_request", "list_ride_requests"])


def _no_trip(w: World):
    return checks.no_records_match("no_trip", "No trip confirmed", "trips", {"status": "confirmed"})


def _task(rng, w, fam, level, trig, cl, oracle, templates, **kw):
    return make_task(family=fam, level=level, class_name=CLASS, init_config=w.init, query=_query(rng, w, templates),
                     user_profile=kw.pop("profile", None) or _profile(w), triggers=trig, checklist=cl,
                     normal=kw.pop("normal", None) or _normal(w), oracle=oracle, clock_start=w.start, **kw)


def _confirm(w):
    return step("confirm_trip", request_id=w.rid)


def _estimates(w: World, roles, point):
    return [step("estimate_pickup", "requery", driver_id=w.d[r], pickup_point_id=w.p[point]) for r in roles]


PREF = "we always take the pickup point nearest the rider and the nearest standard-fare car that can serve it"


# -- ST1: the requested driver is moved elsewhere by fleet balancing ---------------------------------------
ST1_ASSIGN = [
    lambda w, why, lug: (f"{w.rider} has {why} and is waiting near {w.labels['PA1']}. Set the pickup of request "
                         f"{w.rid} to {w.p['PA1']} and put driver {w.d['D1']} on it; I will confirm the trip myself "
                         f"once the rider replies. As always, {PREF}."),
    lambda w, why, lug: (f"Pre-assign request {w.rid} for {w.rider}: pickup {w.p['PA1']}, driver {w.d['D1']}, who "
                         f"is closest right now. The rider travels with {lug}, so {PREF}. Leave it unconfirmed."),
    lambda w, why, lug: (f"Our account manager asked us to hold a car for {w.rider} ({w.rid}) ahead of {why}. "
                         f"Pickup at {w.labels['PA1']} ({w.p['PA1']}) with {w.d['D1']}, assigned but not "
                         f"confirmed yet. Usual rule: {PREF}."),
]
ST1_CONFIRM = [
    lambda w, why, lug: (f"{w.rider} (request {w.rid}) needs a standard car in {w.city} for {why}. Set the pickup "
                         f"at {w.labels['PA1']} ({w.p['PA1']}), assign driver {w.d['D1']} and confirm the trip. "
                         f"As always, {PREF}. Tell me the pickup time."),
    lambda w, why, lug: (f"Book {w.rid}: {w.rider} is travelling with {lug} to {w.init['requests'][w.rid]['dropoff']}."
                         f" Use pickup {w.p['PA1']} and driver {w.d['D1']}, then confirm; {PREF}."),
    lambda w, why, lug: (f"Rush job for a VIP client: {w.rider} must make {why}. Please get {w.d['D1']} to "
                         f"{w.labels['PA1']} ({w.p['PA1']}) on request {w.rid} and confirm the trip. Company rule: "
                         f"{PREF}."),
]


def build_st1(rng: random.Random, level: str):
    w = _world(rng, d3_near=rng.random() < 0.5)
    fam = FAMILIES_BY_TYPE["ST1"]
    d1 = w.d["D1"]
    zf = w.init["zones"][w.z["F"]]
    z1, la1, lo1 = _drv_pos(w, "D1")
    flat, flon = round(zf["lat"] + 0.004, 5), round(zf["lon"] - 0.003, 5)
    shift = [(f"drivers.{d1}.zone", z1, w.z["F"]), (f"drivers.{d1}.lat", la1, flat), (f"drivers.{d1}.lon", lo1, flon)]
    home = f"get('drivers.{d1}.lat') == {la1!r} and get('drivers.{d1}.zone') == '{z1}'"
    drivers = w.init["drivers"]
    pa1 = w.init["pickup_points"][w.p["PA1"]]
    near = min(["D2", "D3"], key=lambda r: (drivers[w.d[r]]["lat"] - pa1["lat"]) ** 2 * 111.0 ** 2
               + ((drivers[w.d[r]]["lon"] - pa1["lon"]) * w.kx) ** 2)
    far = "D3" if near == "D2" else "D2"
    look = [step("list_drivers", "requery", status="available")] + _estimates(w, [far, near], "PA1")
    if level == "easy":
        # fleet balancing pulls the driver away as soon as the request has a pickup point
        trig = [_trig("shift", "*", "before", f"get('requests.{w.rid}.pickup_point') is not None and "
                      f"get('drivers.{d1}.status') == 'available' and {home}", shift)]
        oracle = _normal(w, confirm=False) + look + [
            step("assign_driver", request_id=w.rid, driver_id=w.d[near]),
            step("get_ride_request", "verify", request_id=w.rid),
            message(f"{d1} was moved to zone {w.z['F']}; {w.d[near]}, the nearest standard driver, is assigned.")]
        cl = [_goal("goal", w, confirmed=False),
              _detect("detect", "shift", ["list_drivers", "get_driver", "estimate_pickup", "get_ride_request"])]
        return _task(rng, w, fam, level, trig, cl, oracle, ST1_ASSIGN, normal=_normal(w, confirm=False),
                     params={"driver": near})
    if level == "medium":
        # rebalanced right after the assignment: the confirmation finds the driver out of range
        trig = [_trig("shift", "*", "before", f"get('drivers.{d1}.status') == 'assigned' and {home}", shift)]
        oracle = _normal(w) + [step("get_driver", "requery", driver_id=d1)] + look + [
            step("unassign_driver", request_id=w.rid),
            step("assign_driver", request_id=w.rid, driver_id=w.d[near]), _confirm(w),
            step("get_trip", "verify", trip_id=w.trip),
            message(f"{d1} was rebalanced to zone {w.z['F']} after assignment; {w.d[near]} is confirmed instead.")]
        cl = [_goal("goal", w), _detect("detect", "shift", ["list_drivers", "get_driver", "estimate_pickup",
                                                            "get_ride_request"]), _verify()]
        return _task(rng, w, fam, level, trig, cl, oracle, ST1_CONFIRM, params={"driver": near})
    if level == "hard":
        # silent: once the trip is confirmed, the driver is pulled to another zone and the trip loses its driver
        trig = [_trig("shift", "*", "after", f"get('trips.{w.trip}.status') == 'confirmed' and "
                      f"get('trips.{w.trip}.driver_id') == '{d1}' and {home}",
                      shift + [(f"drivers.{d1}.status", "en_route", "available"),
                               (f"trips.{w.trip}.status", "confirmed", "driver_reassigned")])]
        oracle = _normal(w) + [step("get_trip", "requery", trip_id=w.trip), step("get_driver", "requery", driver_id=d1)
                               ] + look + [step("cancel_trip", trip_id=w.trip),
                                           step("assign_driver", request_id=w.rid, driver_id=w.d[near]), _confirm(w),
                                           step("get_trip", "verify", trip_id=w.trip),
                                           message(f"{d1} was rebalanced to zone {w.z['F']} after the confirmation; "
                                                   f"{w.d[near]} is now confirmed.")]
        cl = [_goal("goal", w), _detect("detect", "shift", ["get_trip", "list_drivers", "get_driver",
                                                            "get_ride_request"]), _verify()]
        return _task(rng, w, fam, level, trig, cl, oracle, ST1_CONFIRM, params={"driver": near})
    # impossible: every standard driver in range is busy or offline; only a premium upgrade is left
    drivers[w.d["D2"]]["status"] = "offline"
    drivers[w.d["D3"]]["status"] = "on_trip"
    trig = [_trig("shift", "*", "before", f"get('requests.{w.rid}.pickup_point') is not None and "
                  f"get('drivers.{d1}.status') == 'available' and {home}", shift)]
    oracle = _normal(w)[:3] + [step("get_driver", "requery", driver_id=d1),
                               step("list_drivers", "requery", status="available"),
                               message(f"I could not confirm a car: {d1} was moved to zone {w.z['F']}, no other "
                                       f"standard driver can serve {w.rider}: {w.d['D2']} is offline and "
                                       f"{w.d['D3']} is on a trip, and the only free car nearby ({w.d['D5']}) is "
                                       "premium fare, which you ruled out. No trip was confirmed.")]
    cl = [checks.never_called("no_premium", "No premium driver assigned", "assign_driver", {"driver_id": w.d["D5"]}),
          _no_trip(w), _detect("detect", "shift", ["list_drivers", "get_driver", "estimate_pickup"]),
          checks.told_user("told", "The user was told")]
    alts = [_normal(w, driver=r) for r in ("D5", "D2")]
    alts.append(_normal(w)[:3] + [step("reposition_driver", driver_id=w.d["D4"], zone_id=w.z["A"]),
                                  step("assign_driver", request_id=w.rid, driver_id=w.d["D4"]), _confirm(w)])
    return _task(rng, w, fam, level, trig, cl, oracle, ST1_CONFIRM, alternatives=alts,
                 profile=_profile(w, [f"A premium-fare upgrade (e.g. driver {w.d['D5']})"]),
                 infeasible_goal=[_goal("goal", w, pref=False)])


# -- S1: the pickup site no longer matches the rider -----------------------------------------------------
S1_MOVE = [
    lambda w, why, lug: (f"{w.rider} ({w.rid}) walked over to {w.labels['PA1']}; driver {w.d['D1']} is already "
                         f"assigned. Please move the pickup to {w.p['PA1']}. Remember {PREF}."),
    lambda w, why, lug: (f"Quick change on {w.rid}: the rider has {lug} and asked to be picked up at "
                         f"{w.labels['PA1']} ({w.p['PA1']}) instead. Keep {w.d['D1']} on it; {PREF}."),
    lambda w, why, lug: (f"{w.rider} is running late for {why} and is standing at {w.labels['PA1']}. Switch the "
                         f"pickup of {w.rid} to {w.p['PA1']} so {w.d['D1']} finds them. Our rule: {PREF}."),
]


def build_s1(rng: random.Random, level: str):
    w = _world(rng, pc1_far=level == "impossible")
    fam = FAMILIES_BY_TYPE["S1"]
    pts, drivers = w.init["pickup_points"], w.init["drivers"]
    req = w.init["requests"][w.rid]
    pa1, d1 = w.p["PA1"], w.d["D1"]
    lat0 = req["rider_lat"]
    if level == "easy":
        # the request is already assigned (pickup at PB1); the rank the user names closes when it is set
        req.update(pickup_point=w.p["PB1"], driver=d1, status="assigned", fare_class="standard")
        drivers[d1].update(status="assigned", request=w.rid)
        trig = [_trig("closed", "set_pickup_point", "before", f"get('pickup_points.{pa1}.status') == 'active'",
                      [(f"pickup_points.{pa1}.status", "active", "closed")])]
        normal = [step("get_ride_request", "observe", request_id=w.rid),
                  step("set_pickup_point", request_id=w.rid, pickup_point_id=pa1)]
        oracle = normal + [step("list_pickup_points", "requery", request_id=w.rid),
                           step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p["PA2"]),
                           step("get_ride_request", "verify", request_id=w.rid),
                           message(f"{pa1} was closed; the pickup is now at {w.labels['PA2']} ({w.p['PA2']}), the "
                                   f"nearest open point, with {d1}.")]
        cl = [_goal("goal", w, confirmed=False),
              _detect("detect", "closed", ["list_pickup_points", "get_pickup_point", "get_ride_request"])]
        return _task(rng, w, fam, level, trig, cl, oracle, S1_MOVE, normal=normal, params={"point": "PA2"})
    # the rider moves 2.6 km east (another entrance); D2 is busy, D3 cannot serve zone B
    drivers[w.d["D2"]]["status"] = "on_trip"
    moved = [(f"requests.{w.rid}.rider_lat", lat0, w.moved[0]),
             (f"requests.{w.rid}.rider_lon", req["rider_lon"], w.moved[1])]
    if level == "medium":
        trig = [_trig("moved", "*", "before", f"get('requests.{w.rid}.status') == 'assigned' and "
                      f"get('requests.{w.rid}.rider_lat') == {lat0!r}", moved)]
        oracle = _normal(w) + [step("get_ride_request", "requery", request_id=w.rid),
                               step("list_pickup_points", "requery", request_id=w.rid),
                               step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p["PB2"]), _confirm(w),
                               step("get_trip", "verify", trip_id=w.trip),
                               message(f"{w.rider} is at another entrance 2.6 km east; the pickup is now "
                                       f"{w.labels['PB2']} ({w.p['PB2']}) with {d1}.")]
        cl = [_goal("goal", w), _detect("detect", "moved", ["get_ride_request", "list_pickup_points",
                                                            "get_pickup_point"]), _verify()]
        return _task(rng, w, fam, level, trig, cl, oracle, ST1_CONFIRM)
    if level == "hard":
        # silent: the rider moves once the trip is confirmed; the trip still looks fine
        trig = [_trig("moved", "*", "after", f"get('trips.{w.trip}.status') == 'confirmed' and "
                      f"get('requests.{w.rid}.rider_lat') == {lat0!r}", moved)]
        oracle = _normal(w) + [step("get_ride_request", "requery", request_id=w.rid),
                               step("list_pickup_points", "requery", request_id=w.rid),
                               step("cancel_trip", trip_id=w.trip),
                               step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p["PB2"]),
                               step("assign_driver", request_id=w.rid, driver_id=d1), _confirm(w),
                               step("get_trip", "verify", trip_id=w.trip),
                               message(f"{w.rider} moved 2.6 km east after the confirmation; the pickup is now "
                                       f"{w.p['PB2']} with {d1}.")]
        cl = [_goal("goal", w), _detect("detect", "moved", ["get_ride_request", "list_pickup_points",
                                                            "get_pickup_point"]), _verify()]
        return _task(rng, w, fam, level, trig, cl, oracle, ST1_CONFIRM)
    # impossible: every pickup point within 300 m is closed; the remaining one is 600 m away
    pts[w.p["PA2"]]["status"] = "closed"
    pts[w.p["PB1"]]["status"] = "closed"
    trig = [_trig("closed", "set_pickup_point", "before", f"get('pickup_points.{pa1}.status') == 'active'",
                  [(f"pickup_points.{pa1}.status", "active", "closed")])]
    oracle = _normal(w)[:2] + [step("get_pickup_point", "requery", pickup_point_id=pa1),
                               step("list_pickup_points", "requery", request_id=w.rid),
                               message(f"I could not confirm the trip: {pa1} was closed, {w.p['PA2']} and "
                                       f"{w.p['PB1']} are closed too, and the only open point ({w.p['PC1']}) is about "
                                       f"600 m away, more than {w.rider} can walk. No trip was confirmed.")]
    cl = [checks.never_called("no_far_point", "The rider was not sent 600 m away", "set_pickup_point",
                              {"pickup_point_id": w.p["PC1"]}),
          _no_trip(w), _detect("detect", "closed", ["list_pickup_points", "get_pickup_point", "get_ride_request"]),
          checks.told_user("told", "The user was told")]
    alts = [_normal(w, point=x) for x in ("PA2", "PB1")]
    alts.append(_normal(w) + [step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p["PC1"]), _confirm(w)])
    return _task(rng, w, fam, level, trig, cl, oracle, ST1_CONFIRM, alternatives=alts,
                 profile=_profile(w, [f"Any pickup point more than 300 m from the rider (e.g. {w.p['PC1']})"]),
                 infeasible_goal=[_goal("goal", w, pref=False)])


# -- S3: the pickup zone gets a traffic restriction ------------------------------------------------------
S3_ASSIGN = [
    lambda w, why, lug: (f"The pickup of {w.rid} ({w.rider}) is set at {w.labels['PA1']} ({w.p['PA1']}). Please "
                         f"assign driver {w.d['D1']}; I will confirm later. As always, {PREF}."),
    lambda w, why, lug: (f"{w.rider} has {why}; request {w.rid} already has its pickup at {w.p['PA1']}. Put "
                         f"{w.d['D1']} on it (no confirmation yet). Rule of the account: {PREF}."),
    lambda w, why, lug: (f"Hold a car for {w.rid}: the rider, travelling with {lug}, waits at {w.labels['PA1']}. "
                         f"Assign {w.d['D1']} and leave it unconfirmed; {PREF}."),
]


def build_s3(rng: random.Random, level: str):
    w = _world(rng, d1_zone="B", pc1_far=level != "easy")
    fam = FAMILIES_BY_TYPE["S3"]
    za = w.z["A"]
    drivers, pts = w.init["drivers"], w.init["pickup_points"]
    req = w.init["requests"][w.rid]
    if level == "easy":
        # both alternatives are electric; the nearer one is listed last
        for r, car in (("D2", "Kia Niro EV"), ("D3", "Hyundai Ioniq 5")):
            drivers[w.d[r]].update(powertrain="ev", vehicle=car)
        near = "D2"
        req["pickup_point"] = w.p["PA1"]
        trig = [_trig("lez", "assign_driver", "before", f"get('zones.{za}.restrictions') == []",
                      [(f"zones.{za}.restrictions", [], ["ev_only"])])]
        normal = [step("get_ride_request", "observe", request_id=w.rid),
                  step("assign_driver", request_id=w.rid, driver_id=w.d["D1"])]
        oracle = normal + [step("get_zone", "requery", zone_id=za),
                           step("list_drivers", "requery", status="available")] + _estimates(w, ["D3", "D2"], "PA1") + [
            step("assign_driver", request_id=w.rid, driver_id=w.d[near]),
            step("get_ride_request", "verify", request_id=w.rid),
            message(f"Zone {za} became electric-only; {w.d[near]}, the nearest standard EV, is assigned.")]
        cl = [_goal("goal", w, confirmed=False),
              _detect("detect", "lez", ["get_zone", "list_zones", "list_drivers", "get_driver", "estimate_pickup"])]
        return _task(rng, w, fam, level, trig, cl, oracle, S3_ASSIGN, normal=normal, params={"driver": near})
    closure = [(f"zones.{za}.status", "open", "closed_to_traffic")]
    if level == "medium":
        # zone A closes to traffic right after the assignment: the confirmation fails
        trig = [_trig("closure", "*", "before", f"get('requests.{w.rid}.status') == 'assigned' and "
                      f"get('zones.{za}.status') == 'open'", closure)]
        oracle = _normal(w) + [step("get_zone", "requery", zone_id=za),
                               step("list_pickup_points", "requery", request_id=w.rid),
                               step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p["PB1"]), _confirm(w),
                               step("get_trip", "verify", trip_id=w.trip),
                               message(f"Zone {za} was closed to traffic; the pickup moved to {w.p['PB1']} just "
                                       f"across in zone {w.z['B']}, with {w.d['D1']}.")]
        cl = [_goal("goal", w), _detect("detect", "closure", ["get_zone", "list_zones", "list_pickup_points",
                                                              "get_pickup_point"]), _verify()]
        return _task(rng, w, fam, level, trig, cl, oracle, ST1_CONFIRM)
    if level == "hard":
        # silent: the zone closes once the trip is confirmed; the trip record still says confirmed
        trig = [_trig("closure", "*", "after", f"get('trips.{w.trip}.status') == 'confirmed' and "
                      f"get('zones.{za}.status') == 'open'", closure)]
        oracle = _normal(w) + [step("get_zone", "requery", zone_id=za),
                               step("list_pickup_points", "requery", request_id=w.rid),
                               step("cancel_trip", trip_id=w.trip),
                               step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p["PB1"]),
                               step("assign_driver", request_id=w.rid, driver_id=w.d["D1"]), _confirm(w),
                               step("get_trip", "verify", trip_id=w.trip),
                               message(f"Zone {za} was closed to traffic after the confirmation; the pickup is now "
                                       f"{w.p['PB1']} in zone {w.z['B']} with {w.d['D1']}.")]
        cl = [_goal("goal", w), _detect("detect", "closure", ["get_zone", "list_zones", "list_pickup_points",
                                                              "get_pickup_point"]), _verify()]
        return _task(rng, w, fam, level, trig, cl, oracle, ST1_CONFIRM)
    # impossible: zone A closed, the B point closed for works, the C point too far for the rider
    pts[w.p["PB1"]]["status"] = "closed"
    trig = [_trig("closure", "set_pickup_point", "before", f"get('zones.{za}.status') == 'open'", closure)]
    oracle = _normal(w)[:2] + [step("get_zone", "requery", zone_id=za),
                               step("list_pickup_points", "requery", request_id=w.rid),
                               message(f"I could not confirm a pickup: zone {za} is closed to traffic, the nearest "
                                       f"point outside it ({w.p['PB1']}) is closed, and {w.p['PC1']} is about 600 m "
                                       f"away, more than {w.rider} can walk. No trip was confirmed.")]
    cl = [checks.never_called("no_far_point", "The rider was not sent 600 m away", "set_pickup_point",
                              {"pickup_point_id": w.p["PC1"]}),
          _no_trip(w), _detect("detect", "closure", ["get_zone", "list_zones", "list_pickup_points"]),
          checks.told_user("told", "The user was told")]
    alts = [_normal(w, point="PC1", driver="D3"), _normal(w, point="PB1"),
            _normal(w)[:3] + [step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p["PC1"]),
                              step("assign_driver", request_id=w.rid, driver_id=w.d["D3"]), _confirm(w)]]
    return _task(rng, w, fam, level, trig, cl, oracle, ST1_CONFIRM, alternatives=alts,
                 profile=_profile(w, [f"Any pickup point more than 300 m from the rider (e.g. {w.p['PC1']})"]),
                 infeasible_goal=[_goal("goal", w, pref=False)])


def _drv_pos(w: World, role: str):
    d = w.init["drivers"][w.d[role]]
    return d["zone"], d["lat"], d["lon"]


FAMILIES_BY_TYPE = {
    "ST1": Family(name="ride_hailing-st1", domain=DOMAIN, conflict_type="ST1", build=lambda r, lv: build_st1(r, lv)),
    "S1": Family(name="ride_hailing-s1", domain=DOMAIN, conflict_type="S1", build=lambda r, lv: build_s1(r, lv)),
    "S3": Family(name="ride_hailing-s3", domain=DOMAIN, conflict_type="S3", build=lambda r, lv: build_s3(r, lv)),
}
FAMILIES = list(FAMILIES_BY_TYPE.values())
