"""Ride-hailing families: resource shift (ST1), site mismatch (S1), route restriction (S3).

Layout (km from the rider): zone A around the rider, B east (neighbours A, G), C north (neighbour A),
G further east (neighbour B), F far south-east (no neighbours). Pickup points PA1/PA2 (A), PB1 (B, 250 m),
PC1 (C), and near a second rider position 2.6 km east: PB2 (B) and PG1 (G).
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
    p: dict  # role -> pickup point id: PA1, PA2, PB1, PC1, PB2, PG1
    d: dict  # role -> driver id: D1 (booked), D2 (B), D3 (C), D4 (far F), D5 (premium, A), D6 (offline)
    city: str
    rider: str
    dispatcher: str
    start: str
    labels: dict
    moved: tuple  # (lat, lon) of the rider's second position


def _world(rng: random.Random, d1_zone: str = "A", pc1_far: bool = False) -> World:
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
    pn = rng.sample(range(100, 999), 7)
    p = {r: f"PP-{n}" for r, n in zip(["PA1", "PA2", "PB1", "PC1", "PB2", "PG1", "PF1"], pn)}
    labels = dict(zip(p, rng.sample(places, 6) + ["Depot gate"]))
    where = {"PA1": ((0.06, 0.05), "A"), "PA2": ((-0.15, 0.1), "A"), "PB1": ((0.24, -0.05), "B"),
             "PC1": ((0.0, 0.6 if pc1_far else 0.24), "C"), "PB2": ((2.45, 0.25), "B"),
             "PG1": ((2.75, 0.35), "G"), "PF1": ((8.1, -6.1), "F")}
    pts = {}
    for r, pid in p.items():
        (dx, dy), zr = where[r]
        la, lo = pos(dx, dy, jit=0.01)
        pts[pid] = {"label": f"{labels[r]} ({'rank' if r != 'PF1' else 'staff'})", "zone": z[zr], "lat": la,
                    "lon": lo, "status": "active"}
    dn = rng.sample(range(1000, 9999), 6)
    d = {r: f"DRV-{n}" for r, n in zip(["D1", "D2", "D3", "D4", "D5", "D6"], dn)}
    cars = list(CARS)
    rng.shuffle(cars)
    non_ev = [c for c in cars if c[1] != "ev"]
    evs = [c for c in cars if c[1] == "ev"]
    dpos = {"D1": ((0.8, -0.6) if d1_zone == "A" else (1.3, 0.3), d1_zone), "D2": ((1.9, -0.4), "B"),
            "D3": ((-0.3, 2.0), "C"), "D4": ((8.2, -5.8), "F"), "D5": ((0.5, 0.5), "A"), "D6": ((-0.4, -0.3), "A")}
    car = {"D1": non_ev[0], "D2": evs[0], "D3": non_ev[1], "D4": evs[1], "D5": evs[2], "D6": non_ev[2]}
    drivers = {}
    for r, did in d.items():
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
    requests = {
        rid: {"rider": rider, "seats": rng.choice([1, 2, 3]), "rider_lat": rl[0], "rider_lon": rl[1],
              "pickup_point": None, "dropoff": f"{city} airport departures",
              "pickup_by": (t0 + timedelta(minutes=40)).isoformat(timespec="minutes"), "driver": None,
              "fare_class": None, "status": "open"},
        other: {"rider": rng.choice([r for r in RIDERS if r != rider]), "seats": 1,
                "rider_lat": pts[p["PC1"]]["lat"], "rider_lon": pts[p["PC1"]]["lon"], "pickup_point": p["PC1"],
                "dropoff": f"{city} central station", "driver": None, "fare_class": None,
                "pickup_by": (t0 + timedelta(minutes=90)).isoformat(timespec="minutes"), "status": "open"},
    }
    init = {"zones": zones, "pickup_points": pts, "drivers": drivers, "requests": requests, "trips": {}}
    moved = pos(2.6, 0.3, jit=0.0)
    return World(init, rid, trip, z, p, d, city, rider, rng.choice(DISPATCHERS), start, labels, moved)


def _trig(tid, tool, timing, cond, muts, after=None, delay=0):
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=cond,
                   after_triggers=after or [], delay_calls=delay,
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=n) for p, o, n in muts]))


def _goal(cid, w: World, drivers, points, kind="goal"):
    ds, ps = [w.d[x] for x in drivers], [w.p[x] for x in points]
    body = f"""
r, t = _get(state, "requests.{w.rid}"), _get(state, "trips.{w.trip}")
if not r or not t or r.get("status") != "confirmed" or t.get("status") != "confirmed":
    return False
if t["driver_id"] not in {ds!r} or t["pickup_point"] not in {ps!r} or r["pickup_point"] != t["pickup_point"]:
    return False
d, p = state["drivers"][t["driver_id"]], state["pickup_points"][t["pickup_point"]]
zones = state["zones"]
pz, dz = zones[p["zone"]], zones[d["zone"]]
if d["status"] != "en_route" or d["fare_class"] != "standard" or p["status"] != "active":
    return False
if pz["status"] != "open" or dz["status"] != "open":
    return False
if d["zone"] != p["zone"] and p["zone"] not in dz["neighbors"]:
    return False
if ("ev_only" in pz["restrictions"] or "ev_only" in dz["restrictions"]) and d["powertrain"] != "ev":
    return False
return True
"""
    return checks.custom(cid, f"{w.rid} confirmed with a standard-fare driver at a usable pickup point", body, kind)


def _profile(w: World, refusals=None) -> UserProfile:
    return UserProfile(
        goal=f"a standard-fare car confirmed for {w.rider} (request {w.rid}) in time for the pickup",
        persona=f"{w.dispatcher}, fleet dispatcher",
        known_facts={"request": w.rid, "pickup point": w.p["PA1"], "driver": w.d["D1"]},
        withheld_facts={"walking": f"{w.rider} has two large suitcases and will not walk more than 300 m.",
                        "fare": "Standard fare only: no premium upgrade, the corporate account does not cover it.",
                        "deadline": "The pickup has to happen within 40 minutes of the request."},
        clarifications={"other drivers": "Any standard-fare driver who can make the pickup is fine.",
                        "pickup point": "Another pickup point is fine if it is within 300 m of the rider."},
        refusals=refusals or [], fallback_reply="I don't know more than that.")


def _query(w: World) -> str:
    return (f"{w.rider} (request {w.rid}) needs a standard car to the airport from {w.city}. Please set the pickup "
            f"at {w.labels['PA1']} ({w.p['PA1']}), assign driver {w.d['D1']} and confirm the trip. "
            f"Tell me the pickup time.")


def _normal(w: World, point="PA1", driver="D1"):
    return [step("get_ride_request", "observe", request_id=w.rid),
            step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p[point]),
            step("assign_driver", request_id=w.rid, driver_id=w.d[driver]),
            step("confirm_trip", request_id=w.rid)]


def _detect(cid, tid, tools):
    return checks.called_after_trigger(cid, "The change was diagnosed before the final fix", tid, tools)


def _verify():
    return checks.verified_after_last_change("verify", "The trip was re-checked after the last change",
                                             ["get_trip", "get_ride_request", "list_ride_requests"])


def _no_trip(w: World):
    return checks.no_records_match("no_trip", "No trip confirmed", "trips", {"status": "confirmed"})


def _task(w, fam, level, trig, cl, oracle, **kw):
    return make_task(family=fam, level=level, class_name=CLASS, init_config=w.init, query=_query(w),
                     user_profile=kw.pop("profile", None) or _profile(w), triggers=trig, checklist=cl,
                     normal=kw.pop("normal", None) or _normal(w), oracle=oracle, clock_start=w.start, **kw)


def _confirm(w):
    return step("confirm_trip", request_id=w.rid)


def _drv_pos(w: World, role: str):
    d = w.init["drivers"][w.d[role]]
    return d["zone"], d["lat"], d["lon"]


# -- ST1: the assigned driver is moved elsewhere by fleet balancing ----------------------------------------
def build_st1(rng: random.Random, level: str):
    w = _world(rng)
    fam = FAMILIES_BY_TYPE["ST1"]
    d1 = w.d["D1"]
    zf = w.init["zones"][w.z["F"]]
    z1, la1, lo1 = _drv_pos(w, "D1")
    flat, flon = round(zf["lat"] + 0.004, 5), round(zf["lon"] - 0.003, 5)
    shift = [(f"drivers.{d1}.zone", z1, w.z["F"]), (f"drivers.{d1}.lat", la1, flat), (f"drivers.{d1}.lon", lo1, flon)]
    drivers = w.init["drivers"]
    if level == "easy":
        good, bad = rng.sample(["D2", "D3"], 2)
        drivers[w.d[bad]]["status"] = "on_trip"
        trig = [_trig("shift", "assign_driver", "before", f"args.get('driver_id') == '{d1}'", shift)]
        oracle = _normal(w)[:3] + [step("list_drivers", "requery", status="available"),
                                   step("assign_driver", request_id=w.rid, driver_id=w.d[good]), _confirm(w),
                                   message(f"{d1} was moved to zone {w.z['F']}; {w.d[good]} is confirmed instead.")]
        cl = [_goal("goal", w, ["D2", "D3"], ["PA1", "PA2", "PB1", "PC1"]),
              _detect("detect", "shift", ["list_drivers", "get_driver", "estimate_pickup"])]
        return _task(w, fam, level, trig, cl, oracle, params={"driver": good})
    shifted = _trig("shift", "assign_driver", "after",
                    f"args.get('driver_id') == '{d1}' and result.get('success') == True", shift, delay=1)
    first, second = rng.sample(["D2", "D3"], 2)
    fix = [step("get_driver", "requery", driver_id=d1), step("list_drivers", "requery", status="available"),
           step("unassign_driver", request_id=w.rid),
           step("assign_driver", request_id=w.rid, driver_id=w.d[first]), _confirm(w)]
    if level == "medium":
        drivers[w.d[second]]["status"] = "on_trip"
        oracle = _normal(w) + fix + [step("get_trip", "verify", trip_id=w.trip),
                                     message(f"{d1} was rebalanced to zone {w.z['F']} after assignment; "
                                             f"{w.d[first]} is confirmed instead.")]
        cl = [_goal("goal", w, ["D2", "D3"], ["PA1", "PA2", "PB1", "PC1"]),
              _detect("detect", "shift", ["list_drivers", "get_driver", "estimate_pickup", "get_ride_request"]),
              _verify()]
        return _task(w, fam, level, [shifted], cl, oracle, params={"driver": first})
    if level == "hard":
        f = w.d[first]
        lost = _trig("offline", "confirm_trip", "after",
                     f"result.get('success') == True and get('requests.{w.rid}.driver') == '{f}'",
                     [(f"drivers.{f}.status", "en_route", "offline"),
                      (f"trips.{w.trip}.status", "confirmed", "driver_unavailable")], after=["shift"])
        oracle = _normal(w) + fix + [step("get_trip", "requery", trip_id=w.trip),
                                     step("get_driver", "requery", driver_id=f),
                                     step("cancel_trip", trip_id=w.trip),
                                     step("list_drivers", "requery", status="available"),
                                     step("estimate_pickup", "requery", driver_id=w.d[second], pickup_point_id=w.p["PA1"]),
                                     step("assign_driver", request_id=w.rid, driver_id=w.d[second]), _confirm(w),
                                     step("get_trip", "verify", trip_id=w.trip),
                                     message(f"{d1} was rebalanced away and then {f} went offline after confirming; "
                                             f"{w.d[second]} is now confirmed.")]
        cl = [_goal("goal", w, [second], ["PA1"]),
              _detect("detect", "shift", ["list_drivers", "get_driver", "estimate_pickup", "get_ride_request"]),
              _detect("detect2", "offline", ["get_trip", "get_driver", "list_drivers", "get_ride_request"]), _verify()]
        return _task(w, fam, level, [shifted, lost], cl, oracle, params={"first": first})
    # impossible: every standard driver in range is busy or offline; only a premium upgrade is left
    drivers[w.d["D2"]]["status"] = "offline"
    drivers[w.d["D3"]]["status"] = "on_trip"
    trig = [_trig("shift", "assign_driver", "before", f"args.get('driver_id') == '{d1}'", shift)]
    oracle = _normal(w)[:3] + [step("get_driver", "requery", driver_id=d1),
                               step("list_drivers", "requery", status="available"),
                               message(f"I could not confirm a car: {d1} was moved to zone {w.z['F']}, the other "
                                       f"standard drivers near {w.rider} are offline or on a trip, and the only free "
                                       f"car nearby ({w.d['D5']}) is premium fare, which you ruled out. No trip "
                                       "was confirmed.")]
    cl = [checks.never_called("no_premium", "No premium driver assigned", "assign_driver", {"driver_id": w.d["D5"]}),
          _no_trip(w), _detect("detect", "shift", ["list_drivers", "get_driver", "estimate_pickup"]),
          checks.told_user("told", "The user was told")]
    alts = [_normal(w, driver=r) for r in ("D5", "D2")]
    alts.append(_normal(w)[:3] + [step("reposition_driver", driver_id=w.d["D4"], zone_id=w.z["A"]),
                                  step("assign_driver", request_id=w.rid, driver_id=w.d["D4"]), _confirm(w)])
    return _task(w, fam, level, trig, cl, oracle, alternatives=alts,
                 profile=_profile(w, [f"A premium-fare upgrade (e.g. driver {w.d['D5']})"]),
                 infeasible_goal=[_goal("goal", w, ["D1", "D2", "D3", "D4", "D5", "D6"], list(w.p))])


# -- S1: the pickup site no longer matches the rider -----------------------------------------------------
def build_s1(rng: random.Random, level: str):
    w = _world(rng, pc1_far=level == "impossible")
    fam = FAMILIES_BY_TYPE["S1"]
    pts = w.init["pickup_points"]
    pa1 = w.p["PA1"]
    if level == "easy":
        good, bad = rng.sample(["PA2", "PB1"], 2)
        pts[w.p[bad]]["status"] = "closed"
        trig = [_trig("closed", "confirm_trip", "before", f"get('requests.{w.rid}.pickup_point') == '{pa1}'",
                      [(f"pickup_points.{pa1}.status", "active", "closed")])]
        oracle = _normal(w) + [step("list_pickup_points", "requery", request_id=w.rid),
                               step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p[good]), _confirm(w),
                               message(f"{pa1} was closed; the pickup is now at {w.labels[good]} ({w.p[good]}).")]
        cl = [_goal("goal", w, ["D1"], [good]),
              _detect("detect", "closed", ["list_pickup_points", "get_pickup_point", "get_ride_request"])]
        return _task(w, fam, level, trig, cl, oracle, params={"point": good})
    req = w.init["requests"][w.rid]
    moved = [(f"requests.{w.rid}.rider_lat", req["rider_lat"], w.moved[0]),
             (f"requests.{w.rid}.rider_lon", req["rider_lon"], w.moved[1])]
    t1 = _trig("moved", "assign_driver", "after", f"result.get('success') == True", moved, delay=1)
    fix = [step("get_ride_request", "requery", request_id=w.rid),
           step("list_pickup_points", "requery", request_id=w.rid),
           step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p["PB2"]), _confirm(w)]
    if level == "medium":
        oracle = _normal(w) + fix + [step("get_trip", "verify", trip_id=w.trip),
                                     message(f"{w.rider} is at another entrance 2.6 km east; the pickup is now "
                                             f"{w.labels['PB2']} ({w.p['PB2']}) with {w.d['D1']}.")]
        cl = [_goal("goal", w, ["D1", "D2"], ["PB2", "PG1"]),
              _detect("detect", "moved", ["get_ride_request", "list_pickup_points", "get_pickup_point"]), _verify()]
        return _task(w, fam, level, [t1], cl, oracle)
    if level == "hard":
        pb2 = w.p["PB2"]
        t2 = _trig("closed", "confirm_trip", "after",
                   f"result.get('success') == True and get('requests.{w.rid}.pickup_point') == '{pb2}'",
                   [(f"pickup_points.{pb2}.status", "active", "closed"),
                    (f"trips.{w.trip}.status", "confirmed", "pickup_invalid")], after=["moved"])
        oracle = _normal(w) + fix + [step("get_trip", "requery", trip_id=w.trip),
                                     step("list_pickup_points", "requery", request_id=w.rid),
                                     step("cancel_trip", trip_id=w.trip),
                                     step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p["PG1"]),
                                     step("get_zone", "requery", zone_id=w.z["G"]),
                                     step("list_drivers", "requery", zone_id=w.z["B"]),
                                     step("assign_driver", request_id=w.rid, driver_id=w.d["D2"]), _confirm(w),
                                     step("get_trip", "verify", trip_id=w.trip),
                                     message(f"{w.rider} moved 2.6 km east and then {pb2} closed; the pickup is now "
                                             f"{w.p['PG1']} in zone {w.z['G']} with {w.d['D2']}.")]
        cl = [_goal("goal", w, ["D2"], ["PG1"]),
              _detect("detect", "moved", ["get_ride_request", "list_pickup_points", "get_pickup_point"]),
              _detect("detect2", "closed", ["get_trip", "list_pickup_points", "get_pickup_point"]), _verify()]
        return _task(w, fam, level, [t1, t2], cl, oracle)
    # impossible: every pickup point within 300 m is closed; the remaining one is 600 m away
    pts[w.p["PA2"]]["status"] = "closed"
    pts[w.p["PB1"]]["status"] = "closed"
    trig = [_trig("closed", "confirm_trip", "before", f"get('requests.{w.rid}.pickup_point') == '{pa1}'",
                  [(f"pickup_points.{pa1}.status", "active", "closed")])]
    oracle = _normal(w) + [step("get_pickup_point", "requery", pickup_point_id=w.p["PA1"]),
                           step("list_pickup_points", "requery", request_id=w.rid),
                           message(f"I could not confirm the trip: {w.p['PA1']} was closed, {w.p['PA2']} and "
                                   f"{w.p['PB1']} are closed too, and the only open point ({w.p['PC1']}) is about 600 m "
                                   f"away, more than {w.rider} can walk. No trip was confirmed.")]
    cl = [checks.never_called("no_far_point", "The rider was not sent 600 m away", "set_pickup_point",
                              {"pickup_point_id": w.p["PC1"]}),
          _no_trip(w), _detect("detect", "closed", ["list_pickup_points", "get_pickup_point", "get_ride_request"]),
          checks.told_user("told", "The user was told")]
    alts = [_normal(w, point=x) for x in ("PA2", "PB1")]
    alts.append(_normal(w) + [step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p["PC1"]), _confirm(w)])
    return _task(w, fam, level, trig, cl, oracle, alternatives=alts,
                 profile=_profile(w, [f"Any pickup point more than 300 m from the rider (e.g. {w.p['PC1']})"]),
                 infeasible_goal=[_goal("goal", w, ["D1", "D2", "D3"], ["PA1", "PA2", "PB1", "PB2", "PG1"])])


# -- S3: the pickup zone gets a traffic restriction ------------------------------------------------------
def build_s3(rng: random.Random, level: str):
    impossible = level == "impossible"
    w = _world(rng, d1_zone="B", pc1_far=impossible)
    fam = FAMILIES_BY_TYPE["S3"]
    za, zb = w.z["A"], w.z["B"]
    drivers, pts = w.init["drivers"], w.init["pickup_points"]
    if level == "easy":
        good, bad = rng.sample(["D2", "D3"], 2)
        drivers[w.d[good]].update(powertrain="ev", vehicle="Kia Niro EV")
        drivers[w.d[bad]].update(powertrain="diesel", vehicle="Skoda Octavia")
        trig = [_trig("lez", "assign_driver", "before", f"args.get('driver_id') == '{w.d['D1']}'",
                      [(f"zones.{za}.restrictions", [], ["ev_only"])])]
        oracle = _normal(w)[:3] + [step("get_zone", "requery", zone_id=za),
                                   step("list_drivers", "requery", status="available"),
                                   step("assign_driver", request_id=w.rid, driver_id=w.d[good]), _confirm(w),
                                   message(f"Zone {za} became electric-only; {w.d[good]} (EV) is confirmed.")]
        cl = [_goal("goal", w, [good], ["PA1"]),
              _detect("detect", "lez", ["get_zone", "list_zones", "list_drivers", "get_driver"])]
        return _task(w, fam, level, trig, cl, oracle, params={"driver": good})
    closure = [(f"zones.{za}.status", "open", "closed_to_traffic")]
    if level in ("medium", "hard"):
        t1 = _trig("closure", "assign_driver", "after", "result.get('success') == True", closure, delay=1)
        fix = [step("get_zone", "requery", zone_id=za), step("list_pickup_points", "requery", request_id=w.rid),
               step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p["PB1"]), _confirm(w)]
        if level == "medium":
            oracle = _normal(w) + fix + [step("get_trip", "verify", trip_id=w.trip),
                                         message(f"Zone {za} was closed to traffic; the pickup moved to "
                                                 f"{w.p['PB1']} just across in zone {zb}.")]
            cl = [_goal("goal", w, ["D1", "D2", "D3"], ["PB1", "PC1"]),
                  _detect("detect", "closure", ["get_zone", "list_zones", "list_pickup_points", "get_pickup_point"]),
                  _verify()]
            return _task(w, fam, level, [t1], cl, oracle)
        t2 = _trig("spread", "confirm_trip", "after",
                   f"result.get('success') == True and get('requests.{w.rid}.pickup_point') == '{w.p['PB1']}'",
                   [(f"zones.{zb}.status", "open", "closed_to_traffic"),
                    (f"trips.{w.trip}.status", "confirmed", "route_blocked")], after=["closure"])
        oracle = _normal(w) + fix + [step("get_trip", "requery", trip_id=w.trip),
                                     step("list_zones", "requery"),
                                     step("cancel_trip", trip_id=w.trip),
                                     step("list_pickup_points", "requery", request_id=w.rid),
                                     step("set_pickup_point", request_id=w.rid, pickup_point_id=w.p["PC1"]),
                                     step("list_drivers", "requery", zone_id=w.z["C"]),
                                     step("assign_driver", request_id=w.rid, driver_id=w.d["D3"]), _confirm(w),
                                     step("get_trip", "verify", trip_id=w.trip),
                                     message(f"Zone {za} and then zone {zb} were closed to traffic; the pickup is "
                                             f"now {w.p['PC1']} in zone {w.z['C']} with {w.d['D3']}.")]
        cl = [_goal("goal", w, ["D3"], ["PC1"]),
              _detect("detect", "closure", ["get_zone", "list_zones", "list_pickup_points", "get_pickup_point"]),
              _detect("detect2", "spread", ["get_trip", "get_zone", "list_zones", "get_driver"]), _verify()]
        return _task(w, fam, level, [t1, t2], cl, oracle)
    # impossible: zone A closed, the B point closed for works, the C point too far for the rider
    pts[w.p["PB1"]]["status"] = "closed"
    trig = [_trig("closure", "assign_driver", "before", "True", closure)]
    oracle = _normal(w)[:3] + [step("get_zone", "requery", zone_id=za),
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
    return _task(w, fam, level, trig, cl, oracle, alternatives=alts,
                 profile=_profile(w, [f"Any pickup point more than 300 m from the rider (e.g. {w.p['PC1']})"]),
                 infeasible_goal=[_goal("goal", w, ["D1", "D2", "D3"], ["PA1", "PA2", "PB1", "PB2", "PG1"])])


FAMILIES_BY_TYPE = {
    "ST1": Family(name="ride_hailing-st1", domain=DOMAIN, conflict_type="ST1", build=lambda r, lv: build_st1(r, lv)),
    "S1": Family(name="ride_hailing-s1", domain=DOMAIN, conflict_type="S1", build=lambda r, lv: build_s1(r, lv)),
    "S3": Family(name="ride_hailing-s3", domain=DOMAIN, conflict_type="S3", build=lambda r, lv: build_s3(r, lv)),
}
FAMILIES = list(FAMILIES_BY_TYPE.values())
