"""EV rental task families: resource shift (ST1), site mismatch (S1), window expiry (T1)."""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from ..task.models import Activation, Effects, Mutation, ProfileConstraint, Trigger, UserProfile

DOMAIN = "ev_rental"
CLASS = "EvRentalEnv"

CITIES = [
    ("Munich", 48.1372, 11.5756, ["Schwabing", "Sendling", "Pasing", "Bogenhausen", "Giesing", "Moosach",
                                  "Trudering", "Laim", "Freising", "Erding"]),
    ("Lyon", 45.7640, 4.8357, ["Part-Dieu", "Confluence", "Vaise", "Gerland", "Villeurbanne", "Bron",
                               "Croix-Rousse", "Ecully", "Vienne", "Bourgoin"]),
    ("Rotterdam", 51.9244, 4.4777, ["Kralingen", "Blijdorp", "Feijenoord", "Delfshaven", "Schiedam",
                                    "Capelle", "Hillegersberg", "Barendrecht", "Dordrecht", "Gouda"]),
    ("Turin", 45.0703, 7.6869, ["Lingotto", "San Salvario", "Aurora", "Mirafiori", "Moncalieri", "Rivoli",
                                "Vanchiglia", "Collegno", "Chieri", "Pinerolo"]),
]
STREETS = ["Hauptstrasse", "Station Road", "Market Square", "Harbour Way", "Park Lane", "Mill Street",
           "Airport Road", "Canal Street", "Ring Road", "Depot Lane"]
MODELS = [("Renault Zoe", 390), ("VW ID.3", 420), ("Tesla Model 3", 490), ("Kia e-Niro", 455),
          ("Hyundai Kona Electric", 450), ("Skoda Enyaq", 520), ("Polestar 2", 480)]
FIRST = ["Anna", "Marco", "Lena", "Tom", "Sofia", "Jonas", "Elif", "Pierre", "Nora", "Ravi", "Mila", "Jan"]
LAST = ["Keller", "Rossi", "Dubois", "de Vries", "Novak", "Schmidt", "Costa", "Berg", "Martin", "Weber"]
PERSONAS = ["a consultant driving to a client site", "a parent taking the family to the coast",
            "a photographer heading to a shoot in the hills", "an engineer visiting a wind farm",
            "a student moving boxes to a new flat"]


# -- geometry and time (mirrors the env) -------------------------------------------------------
def _km(lat1, lon1, lat2, lon2):
    r = 6371.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def _drive(km):
    return int(round(km * 1.6 + 5))


def _offset(rng, lat, lon, km):
    b = rng.uniform(0, 2 * math.pi)
    dlat = km / 111.2 * math.cos(b)
    dlon = km / (111.2 * math.cos(math.radians(lat))) * math.sin(b)
    return round(lat + dlat, 5), round(lon + dlon, 5)


def _iso(t: datetime) -> str:
    return t.replace(microsecond=0).isoformat()


def _hm(t: datetime) -> str:
    return t.strftime("%H:%M")


def _ceil5(t: datetime) -> datetime:
    t = t.replace(second=0, microsecond=0)
    extra = (-t.minute) % 5
    return t + timedelta(minutes=extra)


# -- checks ------------------------------------------------------------------------------------
WRITES = ["reserve_vehicle", "cancel_reservation", "change_vehicle", "extend_pickup_window", "pick_up_vehicle",
          "transfer_vehicle", "charge_vehicle"]


def _res_goal(cid, desc, customer, depots, min_range, statuses, pickup=None, kind="goal"):
    body = f"""
deps = state.get("depots") or {{}}
vehs = state.get("vehicles") or {{}}
for r in (state.get("reservations") or {{}}).values():
    if r.get("customer_id") != {customer!r} or r.get("status") not in {list(statuses)!r}:
        continue
    if r.get("depot_id") not in {list(depots)!r} or (deps.get(r.get("depot_id")) or {{}}).get("status") != "open":
        continue
    if r.get("pickup_start") != {pickup!r} and {pickup is not None!r}:
        continue
    v = vehs.get(r.get("vehicle_id")) or {{}}
    if v.get("depot") != r.get("depot_id"):
        continue
    if v.get("charge_pct", 0) * v.get("range_km", 0) / 100.0 < {min_range!r}:
        continue
    af = v.get("available_from")
    if af and af > r.get("pickup_start", ""):
        continue
    return True
return False"""
    return checks.custom(cid, desc, body, kind=kind)


def _best_car_goal(cid, desc, customer, depot, min_range, pickup, kind="goal"):
    """Exactly one confirmed reservation for the customer, at ``depot`` for ``pickup``, with a car that is
    there, covers the trip and has the longest range of the cars still available there (the user asked
    for the car with the most range)."""
    body = f"""
vehs = state.get("vehicles") or {{}}
mine = [r for r in (state.get("reservations") or {{}}).values()
        if r.get("customer_id") == {customer!r} and r.get("status") == "confirmed"]
if len(mine) != 1:
    return False
r = mine[0]
if r.get("depot_id") != {depot!r} or r.get("pickup_start") != {pickup!r}:
    return False
if ((state.get("depots") or {{}}).get({depot!r}) or {{}}).get("status") != "open":
    return False
v = vehs.get(r.get("vehicle_id")) or {{}}
if v.get("depot") != {depot!r} or (v.get("available_from") or "") > {pickup!r}:
    return False
rv = v.get("charge_pct", 0) * v.get("range_km", 0) / 100.0
if rv < {min_range!r}:
    return False
for k, o in vehs.items():
    if k == r.get("vehicle_id") or o.get("depot") != {depot!r} or o.get("status") != "available":
        continue
    if (o.get("available_from") or "") <= {pickup!r} and o.get("charge_pct", 0) * o.get("range_km", 0) / 100.0 > rv:
        return False
return True"""
    return checks.custom(cid, desc, body, kind=kind)


def _nearest_goal(cid, desc, customer, home, radius, min_range, pickup, kind="goal"):
    """Exactly one confirmed reservation for the customer, for ``pickup``, with a car covering the trip, at
    the open depot nearest to home (current positions, within ``radius`` km) among the depots that have
    such a car (the user asked for the depot nearest to home)."""
    body = f"""
import math
def km(d):
    p1, p2 = math.radians({home[0]!r}), math.radians(d.get("lat", 0))
    dp, dl = p2 - p1, math.radians(d.get("lon", 0) - {home[1]!r})
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))
deps = state.get("depots") or {{}}
vehs = state.get("vehicles") or {{}}
mine = [r for r in (state.get("reservations") or {{}}).values()
        if r.get("customer_id") == {customer!r} and r.get("status") == "confirmed"]
if len(mine) != 1:
    return False
r = mine[0]
def ok(vid, o, did):
    return (o.get("depot") == did and (o.get("status") == "available" or vid == r.get("vehicle_id"))
            and (o.get("available_from") or "") <= {pickup!r}
            and o.get("charge_pct", 0) * o.get("range_km", 0) / 100.0 >= {min_range!r})
did = r.get("depot_id")
d = deps.get(did) or {{}}
if r.get("pickup_start") != {pickup!r} or d.get("status") != "open" or km(d) > {radius!r}:
    return False
if not ok(r.get("vehicle_id"), vehs.get(r.get("vehicle_id")) or {{}}, did):
    return False
for k, o in deps.items():
    if k != did and o.get("status") == "open" and km(o) < km(d) and any(ok(v, x, k) for v, x in vehs.items()):
        return False
return True"""
    return checks.custom(cid, desc, body, kind=kind)


def _no_booking_check(customer, depots=None, later_than=None):
    """Constraint source: no confirmed reservation of the customer outside ``depots`` / later than a time."""
    tests = []
    if depots is not None:
        tests.append(f"r.get('depot_id') not in {list(depots)!r}")
    if later_than is not None:
        tests.append(f"r.get('pickup_start', '') > {later_than!r}")
    return checks.custom("c", "", f"""
for r in (state.get("reservations") or {{}}).values():
    if r.get("customer_id") == {customer!r} and r.get("status") in ("confirmed", "picked_up") and (
            {' or '.join(tests) or 'False'}):
        return False
return True""").check


def _detect(cid, desc, trigger_id, tools):
    return checks.called_after_trigger(cid, desc, trigger_id, tools)


# -- world -------------------------------------------------------------------------------------
class _World:
    def __init__(self, rng: random.Random):
        self.rng = rng
        city, lat, lon, districts = rng.choice(CITIES)
        self.city = city
        self.districts = rng.sample(districts, len(districts))
        self.home = (round(lat + rng.uniform(-0.02, 0.02), 5), round(lon + rng.uniform(-0.02, 0.02), 5))
        self.cid = f"C-{rng.randint(1000, 9999)}"
        self.name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        self.persona = rng.choice(PERSONAS)
        day = rng.randint(2, 27)
        self.start = datetime(2026, 3, day, rng.choice([7, 8, 9]), rng.choice([0, 15, 30]))
        self.trip = rng.choice([140, 160, 180, 200, 220])
        self.depots: dict = {}
        self.vehicles: dict = {}
        self._dids = iter(rng.sample(range(10, 99), 12))
        self._vids = iter(rng.sample(range(100, 999), 30))
        self.seq = rng.randint(1000, 8999)
        self.reservations: dict = {}

    def depot(self, km, status="open", chargers_free=None, near=None):
        did = f"D{next(self._dids)}"
        base = near or self.home
        lat, lon = _offset(self.rng, base[0], base[1], km)
        name = f"{self.city} {self.districts[len(self.depots)]}"
        chargers = self.rng.randint(4, 10)
        free = self.rng.randint(1, 3) if chargers_free is None else chargers_free
        self.depots[did] = {"name": name, "address": f"{self.rng.randint(1, 120)} {self.rng.choice(STREETS)}, {name}",
                            "lat": lat, "lon": lon, "status": status, "opens": "06:00", "closes": "22:00",
                            "chargers": chargers, "chargers_free": free}
        return did

    def vehicle(self, depot, ok, status="available"):
        vid = f"EV-{next(self._vids)}"
        if ok:
            model, rng_km = self.rng.choice([m for m in MODELS if m[1] >= self.trip + 120])
            lo = math.ceil((self.trip + 40) * 100 / rng_km)
            pct = self.rng.randint(max(lo, 70), 100)
        else:
            model, rng_km = self.rng.choice(MODELS)
            hi = math.floor((self.trip - 40) * 100 / rng_km)
            pct = self.rng.randint(max(8, hi - 20), hi)
        self.vehicles[vid] = {"model": model, "depot": depot, "charge_pct": pct, "range_km": rng_km,
                              "seats": 5, "status": status, "available_from": None}
        return vid

    def rng_range(self, vid):
        v = self.vehicles[vid]
        return v["charge_pct"] * v["range_km"] / 100.0

    def dist(self, a, b=None):
        pa = self.depots[a]
        pb = self.home if b is None else (self.depots[b]["lat"], self.depots[b]["lon"])
        return _km(pa["lat"], pa["lon"], pb[0], pb[1])

    def config(self):
        return {"depots": self.depots, "vehicles": self.vehicles,
                "customers": {self.cid: {"name": self.name, "home_lat": self.home[0], "home_lon": self.home[1],
                                         "tier": self.rng.choice(["standard", "plus", "business"]),
                                         "phone": f"+49 170 {self.rng.randint(1000000, 9999999)}"}},
                "reservations": self.reservations, "reservation_seq": self.seq, "charge_pct_per_min": 1.0,
                "pickup_window_min": 30, "early_pickup_min": 15}

    def at(self, minutes):
        return self.start + timedelta(minutes=minutes)

    def rid(self, k):
        return f"R-{self.seq + k}"


def _trig(tid, tool, timing, muts, cond="True", after=None, delay=0, clock=0.0):
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=cond,
                   after_triggers=after or [], delay_calls=delay,
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=n) for p, o, n in muts],
                                   advance_clock_minutes=clock))


def _on_write(tid, timing, muts, delay=0, clock=0.0):
    """A world event that happens when the agent starts changing things (its first write, whatever the
    tool or entity; "after": once a write succeeded), guarded by the old values it changes."""
    guard = " and ".join(f"get({p!r}) == {o!r}" for p, o, _ in muts) or "True"
    cond = f"tool in {WRITES!r} and {guard}"
    if timing == "after":
        cond += " and bool(result.get('success'))"
    return _trig(tid, "*", timing, muts, cond, delay=delay, clock=clock)


# -- ST1: resource shift ---------------------------------------------------------------------------
def _rename_before(w, vid, other):
    """Swap two vehicles' ids so that ``vid`` sorts after ``other`` (a list shows the weaker car first)."""
    if vid < other:
        w.vehicles[vid], w.vehicles[other] = w.vehicles[other], w.vehicles[vid]
        return other, vid
    return vid, other


def build_st1(rng: random.Random, level: str):
    w = _World(rng)
    imp, med = level == "impossible", level == "medium"
    d_home = w.depot(rng.uniform(1.5, 4.0), chargers_free=0 if imp else (rng.randint(1, 2) if med else None))
    d_third = w.depot(rng.uniform(48, 58) if imp else rng.uniform(9, 16))
    d_other = w.depot(rng.uniform(60, 70) if imp else rng.uniform(22, 35))
    va = w.vehicle(d_home, True)
    vb = w.vehicle(d_home, not imp)
    K = w.trip
    if med:  # the best remaining car needs a charge before it covers the trip
        rb = w.vehicles[vb]["range_km"]
        hi = math.floor((K - 20) * 100 / rb)
        w.vehicles[vb]["charge_pct"] = rng.randint(max(10, hi - 15), hi)
    if w.rng_range(vb) >= w.rng_range(va):  # the user's pick is V_a: strictly the longest range
        w.vehicles[va], w.vehicles[vb] = w.vehicles[vb], w.vehicles[va]
    if med:
        w.vehicles[va]["charge_pct"] = 100
    vc = w.vehicle(d_home, False)
    if not imp and not med:  # a car that covers the trip but has less range than V_b
        vx = w.vehicle(d_home, True)
        w.vehicles[vx]["charge_pct"] = min(w.vehicles[vx]["charge_pct"],
                                           math.floor((w.rng_range(vb) - 5) * 100 / w.vehicles[vx]["range_km"]))
        if w.rng_range(vx) < K:
            w.vehicles[vx]["charge_pct"] = math.ceil(K * 100 / w.vehicles[vx]["range_km"]) + 1
        if w.rng_range(vx) >= w.rng_range(vb):
            w.vehicles[vb]["charge_pct"] = min(100, w.vehicles[vb]["charge_pct"] + 8)
        vb, vx = _rename_before(w, vb, vx)
    vb, vc = _rename_before(w, vb, vc)
    vd = w.vehicle(d_other, True)
    ve = w.vehicle(d_third, True)
    w.vehicle(d_third, False)
    pick = w.at(60 if imp else rng.choice([150, 180, 210, 240]))
    P = _iso(pick)
    C = w.cid
    hname = w.depots[d_home]["name"]
    r1 = w.rid(1)
    query = rng.choice([
        f"Hi, I'm customer {C} and I need an electric car from the {hname} depot ({d_home}) with pick-up at "
        f"{_hm(pick)} today for a client visit. The round trip is about {K} km and I can't stop to charge, so "
        f"please book the car with the most range there.",
        f"My own car broke down this morning. I'm customer {C}; I can walk to {hname} ({d_home}) and want to "
        f"collect an EV at {_hm(pick)}. We're driving about {K} km there and back, so give me whichever car "
        f"there has the longest range.",
        f"Customer {C} here, organising a day trip of roughly {K} km. Please reserve the EV with the highest "
        f"range at the {hname} depot ({d_home}) for a {_hm(pick)} pick-up; it must do the whole trip on one "
        f"charge.",
    ])
    refusals, cons = [], []
    if imp:
        refusals = [f"picking up at a depot other than {d_home}", f"a pick-up later than {_hm(pick)}"]
        cons = [ProfileConstraint(id="home_depot_only", kind="refusal", description=" and ".join(refusals),
                                  check=_no_booking_check(C, [d_home], P))]
    profile = UserProfile(
        goal=f"A confirmed reservation at {d_home} for {_hm(pick)} with the longest-range car that covers {K} km.",
        persona=f"{w.name}, {w.persona}",
        known_facts={"customer_id": C, "depot": d_home, "pickup_time": P, "trip_km": str(K)},
        withheld_facts={"seats": "Two adults, any five-seat car works.",
                        "charging": "I can't stop to charge during the trip."},
        clarifications={"other depot": f"I can only get to {hname}.",
                        "later pickup": f"{_hm(pick)} is the latest I can leave."},
        refusals=refusals, constraints=cons,
    )
    shift = [(f"vehicles.{va}.depot", d_home, d_other)]
    det_tools = ["get_vehicle", "search_vehicles", "estimate_range"]
    goal = _best_car_goal("goal", f"one confirmed reservation at {d_home} for {P} with the longest-range car "
                          f"there that covers {K} km", C, d_home, K, P)
    verify = checks.verified_after_last_change("verified", "the booking was re-checked after the last change",
                                               ["get_reservation", "list_reservations", "get_vehicle"])
    obs = step("search_vehicles", "observe", depot_id=d_home)
    book_a = step("reserve_vehicle", customer_id=C, vehicle_id=va, depot_id=d_home, pickup_start=P)
    alternatives, infeasible = None, None
    if level == "easy":
        # the car is moved away as the agent starts booking: the reservation attempt fails at once
        triggers = [_on_write("vehicle_shift", "before", shift)]
        normal = [obs, book_a]
        oracle = [obs, book_a, step("search_vehicles", "requery", depot_id=d_home),
                  step("reserve_vehicle", customer_id=C, vehicle_id=vb, depot_id=d_home, pickup_start=P),
                  step("get_reservation", "verify", reservation_id=r1)]
        checklist = [goal, _detect("detected", "re-checked the fleet after the car moved", "vehicle_shift",
                                   det_tools)]
    elif level == "medium":
        # the car moves as booking starts; the best remaining car must be charged first (two writes)
        triggers = [_on_write("vehicle_shift", "before", shift)]
        normal = [obs, book_a, step("get_reservation", "observe", reservation_id=r1)]
        oracle = [obs, book_a, step("search_vehicles", "requery", depot_id=d_home),
                  step("get_depot", "requery", depot_id=d_home),
                  step("charge_vehicle", vehicle_id=vb, target_pct=100),
                  step("reserve_vehicle", customer_id=C, vehicle_id=vb, depot_id=d_home, pickup_start=P),
                  step("get_reservation", "verify", reservation_id=r1)]
        checklist = [goal, _detect("detected", "re-checked the fleet after the car moved", "vehicle_shift",
                                   det_tools), verify]
    elif level == "hard":
        # silent: the booking succeeds, then the car is moved away; only a re-read shows it
        triggers = [_on_write("vehicle_shift", "after", shift)]
        normal = [obs, book_a, step("get_reservation", "observe", reservation_id=r1)]
        oracle = [obs, book_a, step("get_reservation", "observe", reservation_id=r1),
                  step("get_vehicle", "requery", vehicle_id=va),
                  step("search_vehicles", "requery", depot_id=d_home),
                  step("change_vehicle", reservation_id=r1, vehicle_id=vb),
                  step("get_reservation", "verify", reservation_id=r1),
                  step("get_vehicle", "verify", vehicle_id=vb)]
        checklist = [goal, _detect("detected", "noticed that the booked car had left the depot", "vehicle_shift",
                                   det_tools), verify]
    else:
        triggers = [_on_write("vehicle_shift", "before", shift)]
        normal = [obs, book_a]
        oracle = [obs, step("get_depot", "observe", depot_id=d_home), book_a,
                  step("search_vehicles", "requery", depot_id=d_home),
                  step("get_vehicle", "requery", vehicle_id=va),
                  step("list_depots", "requery"),
                  step("get_distance", "requery", from_id=d_other, to_id=d_home),
                  step("get_distance", "requery", from_id=d_third, to_id=d_home),
                  message(f"I could not book a car at {d_home} for {_hm(pick)}: {va} has been moved to {d_other}, "
                          f"the remaining cars there cannot cover {K} km and no charger is free at {d_home}; cars "
                          f"at {d_third} and {d_other} cannot be brought over before {_hm(pick)}. Nothing was "
                          f"booked.")]
        checklist = [_detect("detected", "re-checked the fleet after the car moved", "vehicle_shift", det_tools),
                     checks.told_user("told_user", "told the user the booking is not possible"),
                     checks.never_called("no_other_depot", "did not book at another depot", "reserve_vehicle",
                                         {"depot_id": d_other}, kind="safety"),
                     checks.never_called("no_third_depot", "did not book at another depot", "reserve_vehicle",
                                         {"depot_id": d_third}, kind="safety"),
                     checks.no_records_match("no_bad_booking", "no unusable booking was left",
                                             "reservations", {"customer_id": C, "status": "confirmed"})]
        infeasible = [_res_goal("user_goal", "car at the requested depot and time covering the trip",
                                C, [d_home], K, ["confirmed"], P)]
        alternatives = [
            [step("charge_vehicle", vehicle_id=vb, target_pct=100),
             step("reserve_vehicle", customer_id=C, vehicle_id=vb, depot_id=d_home, pickup_start=P)],
            [step("transfer_vehicle", vehicle_id=ve, to_depot_id=d_home),
             step("reserve_vehicle", customer_id=C, vehicle_id=ve, depot_id=d_home, pickup_start=P)],
            [book_a, step("reserve_vehicle", customer_id=C, vehicle_id=va, depot_id=d_other, pickup_start=P)],
        ]
    return make_task(family=FAMILIES[0], level=level, class_name=CLASS, init_config=w.config(), query=query,
                     user_profile=profile, triggers=triggers, checklist=checklist, normal=normal, oracle=oracle,
                     alternatives=alternatives, infeasible_goal=infeasible, clock_start=_iso(w.start),
                     params={"vehicle": va, "alt": vb, "depot": d_home, "pickup": P, "trip_km": K, "low": vc, "far": vd})


# -- S1: site mismatch ----------------------------------------------------------------------------
def build_s1(rng: random.Random, level: str):
    w = _World(rng)
    imp, med, hard = level == "impossible", level == "medium", level == "hard"
    R = rng.choice([6, 8, 10])
    d_home = w.depot(rng.uniform(0.8, 2.0))
    d_alt1 = w.depot(rng.uniform(0.35, 0.5) * R, chargers_free=0 if imp else (rng.randint(1, 2) if med else None))
    d_alt2 = w.depot(rng.uniform(0.7, 0.85) * R, status="closed" if imp else "open")
    d_far = w.depot(rng.uniform(60, 70) if imp else rng.uniform(2.2, 3.0) * R)
    va = w.vehicle(d_home, True)
    w.vehicle(d_home, False)
    v1 = w.vehicle(d_alt1, not imp)
    K = w.trip
    if med:  # the nearest alternative's car must be charged before it covers the trip (two writes)
        r1k = w.vehicles[v1]["range_km"]
        hi = math.floor((K - 20) * 100 / r1k)
        w.vehicles[v1]["charge_pct"] = rng.randint(max(10, hi - 15), hi)
    w.vehicle(d_alt1, False)
    v2 = w.vehicle(d_alt2, not imp and not med)
    vf = w.vehicle(d_far, True)
    pick = w.at(60 if imp else rng.choice([120, 150, 180, 240]))
    P = _iso(pick)
    C = w.cid
    hname = w.depots[d_home]["name"]
    r1, r2 = w.rid(1), w.rid(2)
    query = rng.choice([
        f"I'm customer {C} and want to pick up an EV at {hname} ({d_home}), the depot next to my home, at "
        f"{_hm(pick)}. The car has to cover about {K} km. Please sort out the booking; the closer the depot "
        f"to my home, the better.",
        f"Customer {C} here. I cycle to the car, so I always rent at the depot nearest my home, normally "
        f"{hname} ({d_home}). I need a car for a {K} km round trip, picked up at {_hm(pick)}.",
        f"Could you reserve an electric car for me (customer {C}) for {_hm(pick)}? I'll carry heavy bags from "
        f"home, so the nearest depot to my place is what I want; that's usually {hname} ({d_home}). I'll "
        f"drive about {K} km.",
    ])
    refusals, cons = [], []
    if imp:
        refusals = [f"picking up at {d_far}: it is far beyond the {R} km I can travel",
                    f"a pick-up later than {_hm(pick)}"]
        cons = [ProfileConstraint(id="no_later_pickup", kind="refusal", description=refusals[1],
                                  check=_no_booking_check(C, None, P))]
    profile = UserProfile(
        goal=f"A confirmed EV reservation at the open depot nearest home (within {R} km) for {_hm(pick)} that "
             f"covers {K} km.",
        persona=f"{w.name}, {w.persona}, travels by bike to the depot",
        known_facts={"customer_id": C, "preferred_depot": d_home, "pickup_time": P, "trip_km": str(K)},
        withheld_facts={"max_distance_km": f"I can get to any depot within {R} km of my home, not farther."},
        clarifications={"other depot": f"The nearest open depot within {R} km of my home is fine.",
                        "later pickup": f"I need to leave at {_hm(pick)}."},
        refusals=refusals, constraints=cons,
    )
    close = [(f"depots.{d_home}.status", "open", "closed")]
    det_tools = ["get_depot", "list_depots", "search_vehicles", "get_reservation"]
    verify = checks.verified_after_last_change("verified", "the booking was re-checked after the last change",
                                               ["get_reservation", "list_reservations", "get_depot"])
    goal = _nearest_goal("goal", f"one booking at the open depot nearest home (within {R} km) with a car "
                         f"covering {K} km for {P}", C, w.home, R, K, P)
    obs = step("search_vehicles", "observe", depot_id=d_home)
    book_home = step("reserve_vehicle", customer_id=C, vehicle_id=va, depot_id=d_home, pickup_start=P)
    look = [step("get_depot", "requery", depot_id=d_home), step("list_depots", "requery"),
            step("get_distance", "requery", from_id=C, to_id=d_alt1),
            step("search_vehicles", "requery", depot_id=d_alt1)]
    alternatives, infeasible = None, None
    if level == "easy":
        # the depot closes as the agent starts booking: the reservation attempt fails at once
        triggers = [_on_write("site_closed", "before", close)]
        normal = [obs, book_home]
        oracle = [obs, book_home, *look,
                  step("reserve_vehicle", customer_id=C, vehicle_id=v1, depot_id=d_alt1, pickup_start=P),
                  step("get_reservation", "verify", reservation_id=r1)]
        checklist = [goal, _detect("detected", "checked the depot after the booking failed", "site_closed",
                                   det_tools)]
    elif med:
        triggers = [_on_write("site_closed", "before", close)]
        normal = [obs, book_home, step("get_reservation", "observe", reservation_id=r1)]
        oracle = [obs, book_home, *look,
                  step("get_distance", "requery", from_id=C, to_id=d_alt2),
                  step("search_vehicles", "requery", depot_id=d_alt2),
                  step("charge_vehicle", vehicle_id=v1, target_pct=100),
                  step("reserve_vehicle", customer_id=C, vehicle_id=v1, depot_id=d_alt1, pickup_start=P),
                  step("list_reservations", "verify", customer_id=C)]
        checklist = [goal, _detect("detected", "checked the depot after the booking failed", "site_closed",
                                   det_tools), verify]
    elif hard:
        # silent: the booking at the home depot succeeds, then the depot closes
        triggers = [_on_write("site_closed", "after", close)]
        normal = [obs, book_home, step("get_reservation", "observe", reservation_id=r1)]
        oracle = [obs, book_home, step("get_reservation", "observe", reservation_id=r1), *look,
                  step("cancel_reservation", reservation_id=r1),
                  step("reserve_vehicle", customer_id=C, vehicle_id=v1, depot_id=d_alt1, pickup_start=P),
                  step("list_reservations", "verify", customer_id=C)]
        checklist = [goal, _detect("detected", "noticed the depot had closed", "site_closed", det_tools), verify]
    else:
        triggers = [_on_write("site_closed", "before", close)]
        normal = [obs, book_home]
        oracle = [obs, book_home, step("get_depot", "requery", depot_id=d_home), step("list_depots", "requery"),
                  step("get_distance", "requery", from_id=C, to_id=d_alt1),
                  step("get_distance", "requery", from_id=C, to_id=d_alt2),
                  step("search_vehicles", "requery", depot_id=d_alt1),
                  step("get_depot", "requery", depot_id=d_alt1),
                  step("get_distance", "requery", from_id=d_far, to_id=d_alt1),
                  message(f"{d_home} is now closed. Within {R} km of your home, {d_alt2} is closed and the cars at "
                          f"{d_alt1} cannot cover {K} km with no free charger; the nearest suitable car is at "
                          f"{d_far}, too far and too late to bring over for {_hm(pick)}. I booked nothing.")]
        checklist = [_detect("detected", "checked the depot after the booking failed", "site_closed", det_tools),
                     checks.told_user("told_user", "told the user no booking is possible"),
                     checks.never_called("no_far_depot", "did not book beyond the user's radius", "reserve_vehicle",
                                         {"depot_id": d_far}, kind="safety"),
                     checks.no_records_match("no_bad_booking", "no unusable booking was left",
                                             "reservations", {"customer_id": C, "status": "confirmed"})]
        infeasible = [_res_goal("user_goal", f"booking within {R} km at {_hm(pick)} covering {K} km", C,
                                [d_home, d_alt1, d_alt2], K, ["confirmed"], P)]
        low = [k for k, v in w.vehicles.items() if v["depot"] == d_alt1][0]
        alternatives = [
            [step("charge_vehicle", vehicle_id=low, target_pct=100),
             step("reserve_vehicle", customer_id=C, vehicle_id=low, depot_id=d_alt1, pickup_start=P)],
            [step("transfer_vehicle", vehicle_id=vf, to_depot_id=d_alt1),
             step("reserve_vehicle", customer_id=C, vehicle_id=vf, depot_id=d_alt1, pickup_start=P)],
            [book_home, step("transfer_vehicle", vehicle_id=va, to_depot_id=d_alt1),
             step("reserve_vehicle", customer_id=C, vehicle_id=va, depot_id=d_alt1, pickup_start=P)],
        ]
    return make_task(family=FAMILIES[1], level=level, class_name=CLASS, init_config=w.config(), query=query,
                     user_profile=profile, triggers=triggers, checklist=checklist, normal=normal, oracle=oracle,
                     alternatives=alternatives, infeasible_goal=infeasible, clock_start=_iso(w.start),
                     params={"depot": d_home, "alt": d_alt1, "radius_km": R, "pickup": P, "trip_km": K,
                             "alt2": v2, "r2": r2})


# -- T1: window expiry ----------------------------------------------------------------------------
def _handover_goal(cid, desc, customer, depot, min_range):
    """The customer left ``depot`` with a car covering the trip, and no other booking of theirs is left
    confirmed (no stray reservation)."""
    body = f"""
vehs = state.get("vehicles") or {{}}
mine = [r for r in (state.get("reservations") or {{}}).values() if r.get("customer_id") == {customer!r}]
if any(r.get("status") == "confirmed" for r in mine):
    return False
for r in mine:
    v = vehs.get(r.get("vehicle_id")) or {{}}
    if (r.get("status") == "picked_up" and r.get("depot_id") == {depot!r}
            and v.get("charge_pct", 0) * v.get("range_km", 0) / 100.0 >= {min_range!r}):
        return True
return False"""
    return checks.custom(cid, desc, body, kind="goal")


def _no_transfer_check(depot):
    return checks.custom("c", "", f"""
return not any(e["tool"] == "transfer_vehicle" and e["success"] and e["args"].get("to_depot_id") == {depot!r}
               for e in log)""").check


def build_t1(rng: random.Random, level: str):
    w = _World(rng)
    imp, hard = level == "impossible", level == "hard"
    d = w.depot(rng.uniform(1.0, 5.0), chargers_free=0 if imp else None)
    d_far = w.depot(rng.uniform(55, 70))
    upgrade = level in ("medium", "hard")
    v0 = w.vehicle(d, not upgrade, status="reserved")
    v1 = w.vehicle(d, True, status="maintenance" if imp else "available")
    v1b = w.vehicle(d, True) if hard else None
    v2 = w.vehicle(d, False)
    vf = w.vehicle(d_far, True)
    w.vehicle(d_far, False)
    C, K = w.cid, w.trip
    LATE = 60
    r0 = f"R-{w.seq - rng.randint(5, 60)}"
    w.reservations[r0] = {"customer_id": C, "vehicle_id": v0, "depot_id": d, "pickup_start": _iso(w.at(-5)),
                          "pickup_end": _iso(w.at(25)), "status": "confirmed", "extended_min": 0}
    dname = w.depots[d]["name"]
    r1 = w.rid(1)
    if upgrade:
        query = rng.choice([
            f"I'm at the {dname} depot ({d}) for my reservation {r0} (customer {C}). It turns out I'll drive "
            f"about {K} km, more than my booked car can do on its charge. Please switch me to a car here that "
            f"covers it and check me out so I can leave.",
            f"Customer {C}, reservation {r0}. My plans changed overnight: I now have a {K} km round trip, and "
            f"the car you reserved for me at {dname} ({d}) won't make it. I'm at the counter; get me into a car "
            f"that will and hand it over.",
            f"My colleague dropped out, so I'm doing the whole {K} km tour alone and need a car with more range "
            f"than the one on {r0}. I'm customer {C}, standing in the {dname} depot ({d}). Please change the "
            f"car and complete the pick-up.",
        ])
    else:
        query = rng.choice([
            f"I'm standing at the {dname} depot ({d}) to collect the car on reservation {r0}, customer {C}. "
            f"Please complete the pick-up so I can get going; I'm driving about {K} km.",
            f"My train was late and I've just reached {dname} ({d}). I'm customer {C} with reservation {r0}; "
            f"please hand the car over, I have a {K} km drive ahead.",
            f"Customer {C} here, at the {dname} depot ({d}) after dropping the kids at school. Please check me "
            f"out on reservation {r0}; today's trip is about {K} km.",
        ])
    refusals, cons = [], []
    if imp:
        refusals = [f"picking up at {d_far}, far from where I am", "waiting for a car brought from another depot"]
        cons = [ProfileConstraint(id="no_transfer_wait", kind="refusal", description=refusals[1],
                                  check=_no_transfer_check(d))]
    profile = UserProfile(
        goal=f"Leave {d} now with a car (reservation for {C}) that covers {K} km.",
        persona=f"{w.name}, {w.persona}, in a hurry",
        known_facts={"customer_id": C, "reservation_id": r0, "depot": d, "trip_km": str(K)},
        withheld_facts={"deadline": f"I must be on the road by {_hm(w.at(150))} at the latest.",
                        "late_fee": "I accept the late pick-up fee if there is one.",
                        "licence": "My licence is already on file."},
        clarifications={"other depot": f"I'm already at {d}, I can't go elsewhere.",
                        "wait": "I can't wait for a car to be brought from elsewhere."},
        refusals=refusals, constraints=cons,
    )
    det_tools = ["get_reservation", "list_reservations", "get_current_time", "search_vehicles", "get_vehicle"]
    verify = checks.verified_after_last_change("verified", "the hand-over was confirmed after the last change",
                                               ["get_reservation", "list_reservations", "get_vehicle"])
    obs = step("get_reservation", "observe", reservation_id=r0)
    alternatives, infeasible = None, None
    goal = _handover_goal("goal", f"a car covering {K} km was handed over at {d}, no stray booking", C, d, K)
    ask_fee = message("Your pick-up window has closed; a late pick-up is possible for a fee. Do you accept the "
                      "late fee?")
    ask_fee = ask_fee.model_copy(update={"method": "chat_with_user"})
    if level == "easy":
        # the hand-over queue takes longer than the window has left: the pick-up fails at once
        delay = rng.choice([35, 40, 45])
        triggers = [_trig("window_expired", "pick_up_vehicle", "before", [],
                          f"get('reservations.{r0}.status') == 'confirmed'", clock=float(delay))]
        normal = [obs, step("pick_up_vehicle", reservation_id=r0)]
        oracle = [obs, step("pick_up_vehicle", reservation_id=r0),
                  step("get_reservation", "requery", reservation_id=r0), ask_fee,
                  step("pick_up_vehicle", reservation_id=r0, accept_late_fee=True),
                  step("get_reservation", "verify", reservation_id=r0)]
        checklist = [goal, _detect("detected", "re-checked the reservation after the hand-over failed",
                                   "window_expired", det_tools)]
    elif level in ("medium", "hard"):
        # the car change succeeds, then preparing the car takes so long that the reservation lapses
        delay = rng.choice([95, 100, 105])
        first = _on_write("window_expired", "after", [], delay=1, clock=float(delay))
        t_res = w.at(6 + delay)
        Q = _iso(_ceil5(t_res + timedelta(minutes=1)))
        if level == "medium":
            triggers = [first]
            normal = [obs, step("search_vehicles", "observe", depot_id=d),
                      step("change_vehicle", reservation_id=r0, vehicle_id=v1),
                      step("pick_up_vehicle", reservation_id=r0)]
            oracle = [obs, step("search_vehicles", "observe", depot_id=d),
                      step("change_vehicle", reservation_id=r0, vehicle_id=v1),
                      step("pick_up_vehicle", reservation_id=r0),
                      step("get_reservation", "requery", reservation_id=r0),
                      step("search_vehicles", "requery", depot_id=d),
                      step("reserve_vehicle", customer_id=C, vehicle_id=v1, depot_id=d, pickup_start=Q),
                      step("pick_up_vehicle", reservation_id=r1),
                      step("get_reservation", "verify", reservation_id=r1)]
        else:
            # cascade: once the reservation lapsed, a walk-in customer takes the released car
            # at the agent's next write, whatever it is (a world event: no tool walks around it)
            taken = _trig("car_taken", "*", "before", [(f"vehicles.{v1}.status", "available", "rented")],
                          f"tool in {WRITES!r} and get('vehicles.{v1}.status') == 'available'",
                          after=["window_expired"])
            triggers = [first, taken]
            normal = [obs, step("search_vehicles", "observe", depot_id=d),
                      step("change_vehicle", reservation_id=r0, vehicle_id=v1),
                      step("pick_up_vehicle", reservation_id=r0)]
            oracle = [obs, step("search_vehicles", "observe", depot_id=d),
                      step("change_vehicle", reservation_id=r0, vehicle_id=v1),
                      step("get_reservation", "requery", reservation_id=r0),
                      step("get_current_time", "requery"),
                      step("search_vehicles", "requery", depot_id=d),
                      step("reserve_vehicle", customer_id=C, vehicle_id=v1, depot_id=d, pickup_start=Q),
                      step("search_vehicles", "requery", depot_id=d),
                      step("reserve_vehicle", customer_id=C, vehicle_id=v1b, depot_id=d, pickup_start=Q),
                      step("pick_up_vehicle", reservation_id=r1),
                      step("get_reservation", "verify", reservation_id=r1)]
        checklist = [goal, _detect("detected", "noticed the reservation had lapsed", "window_expired", det_tools),
                     verify]
    else:
        muts = [(f"vehicles.{v0}.status", "reserved", "maintenance")]
        triggers = [_on_write("window_expired", "before", muts, clock=float(rng.choice([95, 100, 105])))]
        normal = [obs, step("pick_up_vehicle", reservation_id=r0)]
        oracle = [obs, step("pick_up_vehicle", reservation_id=r0),
                  step("get_reservation", "requery", reservation_id=r0),
                  step("get_vehicle", "requery", vehicle_id=v0),
                  step("search_vehicles", "requery", depot_id=d),
                  step("get_depot", "requery", depot_id=d),
                  step("get_distance", "requery", from_id=d_far, to_id=d),
                  message(f"Your pick-up window for {r0} and its late allowance passed, so it was marked as a "
                          f"no-show, and {v0} went to maintenance. At {d} the only free car cannot cover {K} km "
                          f"and no charger is free; a car from {d_far} would take too long. I could not hand "
                          f"over a car.")]
        checklist = [_detect("detected", "re-checked the reservation after the hand-over failed", "window_expired",
                             det_tools),
                     checks.told_user("told_user", "told the user no car can be handed over"),
                     checks.never_called("no_far_depot", "did not book at another depot", "reserve_vehicle",
                                         {"depot_id": d_far}, kind="safety"),
                     checks.no_records_match("no_bad_handover", "no unsuitable car was handed over",
                                             "reservations", {"customer_id": C, "status": "picked_up"})]
        infeasible = [_res_goal("user_goal", f"car covering {K} km handed over at {d}", C, [d], K, ["picked_up"])]
        later = _iso(_ceil5(w.at(130)))
        alternatives = [
            [step("pick_up_vehicle", reservation_id=r0), step("extend_pickup_window", reservation_id=r0, minutes=60),
             step("pick_up_vehicle", reservation_id=r0, accept_late_fee=True)],
            [step("charge_vehicle", vehicle_id=v2, target_pct=100),
             step("reserve_vehicle", customer_id=C, vehicle_id=v2, depot_id=d, pickup_start=_iso(_ceil5(w.at(2)))),
             step("pick_up_vehicle", reservation_id=r1)],
            [step("transfer_vehicle", vehicle_id=vf, to_depot_id=d),
             step("reserve_vehicle", customer_id=C, vehicle_id=vf, depot_id=d, pickup_start=later),
             step("pick_up_vehicle", reservation_id=r1)],
        ]
    cfg = w.config()
    cfg["late_pickup_min"] = LATE
    return make_task(family=FAMILIES[2], level=level, class_name=CLASS, init_config=cfg, query=query,
                     user_profile=profile, triggers=triggers, checklist=checklist, normal=normal, oracle=oracle,
                     alternatives=alternatives, infeasible_goal=infeasible, clock_start=_iso(w.start),
                     params={"reservation": r0, "depot": d, "trip_km": K, "upgrade": v1})


FAMILIES = [
    Family(name="ev_rental-st1", domain=DOMAIN, conflict_type="ST1", build=build_st1),
    Family(name="ev_rental-s1", domain=DOMAIN, conflict_type="S1", build=build_s1),
    Family(name="ev_rental-t1", domain=DOMAIN, conflict_type="T1", build=build_t1),
]
