"""Shared e-scooter / e-bike fleet: task families ST1 (resource shift, all levels), S1 (site mismatch: medium,
hard, impossible), S3 (route restriction: medium, hard) and S2 (dependency block: medium, hard).

The user's stated order: the best-charged free vehicles in the staging zone (then the named fallback zone);
goal items check it over the final state. Triggers are state/time-guarded (activation "*", or the only tool
that touches the entity)."""
from __future__ import annotations

import heapq
import random
from datetime import datetime, timedelta

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from ..task.models import Activation, Effects, Mutation, ProfileConstraint, Trigger, UserProfile

DOMAIN = "scooter_fleet"
CLASS = "ScooterFleetEnv"

CITIES = [
    ("Lisbon", 38.7223, -9.1393, ["Baixa", "Chiado", "Alfama", "Belem", "Alcantara", "Graca", "Campo de Ourique",
                                  "Areeiro", "Parque das Nacoes", "Benfica", "Estrela", "Santos"]),
    ("Vienna", 48.2082, 16.3738, ["Innere Stadt", "Leopoldstadt", "Wieden", "Mariahilf", "Neubau", "Josefstadt",
                                  "Alsergrund", "Favoriten", "Ottakring", "Doebling", "Landstrasse", "Praterstern"]),
    ("Copenhagen", 55.6761, 12.5683, ["Indre By", "Noerrebro", "Vesterbro", "Oesterbro", "Christianshavn",
                                      "Frederiksberg", "Valby", "Amager", "Nordhavn", "Bispebjerg", "Sydhavn",
                                      "Islands Brygge"]),
    ("Milan", 45.4642, 9.19, ["Brera", "Navigli", "Isola", "Porta Romana", "Citta Studi", "Bicocca", "Tortona",
                              "Lambrate", "NoLo", "Sempione", "Porta Nuova", "Bovisa"]),
]
VENUES = ["a product launch", "a tech conference", "a stadium concert", "a city marathon", "a trade fair",
          "a corporate offsite", "a film festival screening"]
FIRST = ["Ines", "Paul", "Clara", "Mateo", "Freya", "Oskar", "Leila", "Bruno", "Hanna", "Yusuf", "Marta", "Nils"]
LAST = ["Almeida", "Huber", "Jensen", "Bianchi", "Moreau", "Kowalski", "Lund", "Ferreira", "Vogel", "Sato"]
COMPANIES = ["Brightline Events", "Northwind Media", "Okapi Labs", "Meridian Congress", "Tidewater Studios",
             "Kestrel Partners"]
ROLES = ["V", "P", "Q", "S", "M1", "M2", "M3", "M4", "R", "F"]
# role layout (lat/lon offsets in km-ish units) for plausible coordinates
LAYOUT = {"V": (0, 0), "P": (0.4, 0.3), "Q": (-0.4, 0.3), "S": (-2.5, -2.0), "M1": (-1.2, -1.0),
          "M2": (-2.6, -0.2), "M3": (-1.4, 0.9), "M4": (-0.6, 2.2), "R": (1.0, 0.9), "F": (6.0, 7.0)}


def _iso(t: datetime) -> str:
    return t.replace(microsecond=0).isoformat()


def _hm(t: datetime) -> str:
    return t.strftime("%H:%M")


def _shortest(links: dict, src: str, dst: str):
    """Mirror of the env's route search (same tie-breaking)."""
    dist, prev, heap = {src: 0}, {}, [(0, src)]
    while heap:
        d, z = heapq.heappop(heap)
        if z == dst:
            break
        if d > dist.get(z, 10 ** 9):
            continue
        for lid, ln in sorted(links.items()):
            if ln["status"] != "open" or z not in (ln["a"], ln["b"]):
                continue
            o = ln["b"] if ln["a"] == z else ln["a"]
            nd = d + ln["minutes"]
            if nd < dist.get(o, 10 ** 9):
                dist[o], prev[o] = nd, z
                heapq.heappush(heap, (nd, o))
    if dst not in dist:
        return None, None
    path = [dst]
    while path[-1] != src:
        path.append(prev[path[-1]])
    return list(reversed(path)), dist[dst]


# -- checks ------------------------------------------------------------------------------------
def _goal(cid, desc, req, zones, qty, min_b, due, kind="goal", confirmed=True, pref=True):
    """The request holds ``qty`` valid vehicles in an accepted zone (the first accepted zone whose parking is
    allowed: the user's order), confirmed unless ``confirmed`` is False; with ``pref``: no free vehicle in
    that zone carries more charge than a held one (the user's "best-charged first")."""
    body = f"""
r = (state.get("requests") or {{}}).get({req!r})
if not r or r.get("zone") not in {list(zones)!r}:
    return False
if {confirmed!r} and r.get("status") != "confirmed":
    return False
first = next((z for z in {list(zones)!r} if (state["zones"].get(z) or {{}}).get("rule") != "no_parking"), None)
if {pref!r} and r.get("zone") != first:
    return False
held = [(state.get("vehicles") or {{}}).get(v) or {{}} for v in r.get("vehicles") or []]
low = min([v.get("battery_pct", 0) for v in held] or [0])
if {pref!r} and any(v.get("status") == "available" and v.get("zone") == r["zone"] and v.get("battery_pct", 0) > low
                    for v in (state.get("vehicles") or {{}}).values()):
    return False
if (state["zones"].get(r["zone"]) or {{}}).get("rule") == "no_parking":
    return False
vs = r.get("vehicles") or []
if len(vs) != {qty!r} or len(set(vs)) != len(vs):
    return False
for vid in vs:
    v = (state.get("vehicles") or {{}}).get(vid) or {{}}
    if v.get("status") != "held" or v.get("request") != {req!r} or v.get("zone") != r["zone"]:
        return False
    if v.get("battery_pct", 0) < {min_b!r}:
        return False
    if v.get("available_from") and v["available_from"] > {due!r}:
        return False
    if v.get("job") and ((state.get("jobs") or {{}}).get(v["job"]) or {{}}).get("status") != "en_route":
        return False
return True"""
    return checks.custom(cid, desc, body, kind=kind)


def _detect(cid, desc, tid, tools):
    return checks.called_after_trigger(cid, desc, tid, tools)


def _verify():
    return checks.verified_after_last_change("verified", "the request was re-checked after the last change",
                                             ["get_request", "get_vehicle", "get_job", "list_vehicles"])


def _trig(tid, tool, timing, muts, cond="True", after=None, delay=0):
    if timing == "after":  # only a call that went through activates an "after" trigger
        cond = f"bool(result.get('success')) and ({cond})"
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=cond,
                   after_triggers=after or [], delay_calls=delay,
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=n) for p, o, n in muts]))


# -- world -------------------------------------------------------------------------------------
class _World:
    def __init__(self, rng: random.Random, far_detour: bool = False):
        self.rng = rng
        city, lat, lon, districts = rng.choice(CITIES)
        self.city = city
        names = rng.sample(districts, len(ROLES))
        ids = rng.sample(range(10, 99), len(ROLES))
        self.z = {role: f"Z-{i}" for role, i in zip(ROLES, ids)}
        self.zones = {}
        for role, nm in zip(ROLES, names):
            dy, dx = LAYOUT[role]
            zl = round(lat + dy / 111.2 + rng.uniform(-0.001, 0.001), 5)
            zo = round(lon + dx / 78.0 + rng.uniform(-0.001, 0.001), 5)
            self.zones[self.z[role]] = {
                "name": f"{city} {nm}", "lat": zl, "lon": zo,
                "bounds": [round(zl - 0.003, 5), round(zo - 0.004, 5), round(zl + 0.003, 5), round(zo + 0.004, 5)],
                "rule": "slow" if role in ("R", "M2") else "none", "parking_capacity": rng.randint(20, 60)}
        z = self.z
        spec = [("S", "M1", (5, 7)), ("M1", "V", (4, 6)), ("S", "M2", (6, 7)), ("M2", "M3", (5, 7)),
                ("M3", "V", (26, 30) if far_detour else (5, 7)), ("M1", "M2", (4, 6)), ("M3", "M4", (4, 6)),
                ("M4", "V", (27, 31) if far_detour else (6, 8)), ("V", "P", (2, 3)), ("V", "Q", (3, 4)),
                ("P", "Q", (3, 4)), ("R", "P", (4, 6)), ("F", "M4", (35, 42))]
        lids = rng.sample(range(100, 999), len(spec))
        self.links = {}
        self.lk = {}
        for (a, b, (lo, hi)), n in zip(spec, lids):
            lid = f"L-{n}"
            self.links[lid] = {"a": z[a], "b": z[b], "minutes": rng.randint(lo, hi), "status": "open"}
            self.lk[(a, b)] = self.lk[(b, a)] = lid
        self.vehicles = {}
        self.vans = {}
        self.requests = {}
        self._vids = iter(rng.sample(range(1000, 9999), 30))
        self._vans = iter(rng.sample(range(10, 99), 6))
        self.start = datetime(2026, 4, rng.randint(2, 27), rng.choice([7, 8, 9, 10]), rng.choice([0, 10, 20, 30, 40]))
        self.min_b = rng.choice([50, 60, 70])
        self.job_seq = rng.randint(200, 800)
        self.name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        self.company = rng.choice(COMPANIES)
        self.event = rng.choice(VENUES)
        self.vtype = rng.choice(["scooter", "ebike"])

    def zname(self, role):
        return self.zones[self.z[role]]["name"]

    def vehicle(self, role, good=True, status="available", vtype=None):
        vt = vtype or self.vtype
        vid = f"{'SC' if vt == 'scooter' else 'EB'}-{next(self._vids)}"
        batt = self.rng.randint(max(self.min_b + 10, 72), 100) if good else self.rng.randint(8, self.min_b - 25)
        self.vehicles[vid] = {"type": vt, "zone": self.z[role], "battery_pct": batt, "status": status,
                              "available_from": None, "request": None, "job": None}
        return vid

    def van(self, role, packs=0, status="active"):
        vid = f"VAN-{next(self._vans)}"
        self.vans[vid] = {"zone": self.z[role], "status": status, "packs": packs, "capacity": 6,
                          "shift_end": _iso(self.start + timedelta(hours=8)), "free_from": None}
        return vid

    def request(self, qty, due_min, role="V"):
        rid = f"SR-{self.rng.randint(1000, 9999)}"
        self.due = _iso(self.start + timedelta(minutes=due_min))
        self.requests[rid] = {"id": rid, "customer": self.company, "zone": self.z[role], "qty": qty,
                              "vehicle_type": self.vtype, "min_battery": self.min_b, "due": self.due,
                              "vehicles": [], "status": "open"}
        # a distractor request of another customer, already confirmed elsewhere
        other = f"SR-{self.rng.randint(1000, 9999)}"
        while other == rid:
            other = f"SR-{self.rng.randint(1000, 9999)}"
        dv = self.vehicle("Q" if role != "Q" else "P", True, status="held")
        self.vehicles[dv]["request"] = other
        self.requests[other] = {"id": other, "customer": self.rng.choice([c for c in COMPANIES if c != self.company]),
                                "zone": self.vehicles[dv]["zone"], "qty": 1, "vehicle_type": self.vtype,
                                "min_battery": 40, "due": _iso(self.start + timedelta(minutes=30)),
                                "vehicles": [dv], "status": "confirmed"}
        return rid

    def route(self, a, b, closed=()):
        links = {k: dict(v, status="closed" if k in closed else v["status"]) for k, v in self.links.items()}
        return _shortest(links, self.z[a], self.z[b])

    def job(self, k=1):
        return f"J-{self.job_seq + k}"

    def config(self):
        return {"zones": self.zones, "links": self.links, "vehicles": self.vehicles, "vans": self.vans,
                "requests": self.requests, "jobs": {}, "job_seq": self.job_seq, "load_minutes": 3}

    def profile(self, goal, refusals=None, extra_clar=None, extra_withheld=None, constraints=None):
        v = self.z["V"]
        clar = {"other zone": f"The vehicles have to be at {self.zname('V')} ({v}).",
                "later time": f"{_hm(datetime.fromisoformat(self.due))} is the latest; the guests leave then."}
        clar.update(extra_clar or {})
        withheld = {"budget": "Rebalancing van trips are covered by our fleet contract.",
                    "contact": f"On-site contact is {self.name}, phone +351 91{self.rng.randint(1000000, 9999999)}."}
        withheld.update(extra_withheld or {})
        return UserProfile(goal=goal, persona=f"{self.name}, operations lead at {self.company}, organising {self.event}",
                           known_facts={"request_id": next(iter(self.requests)), "zone": v,
                                        "due": self.due, "min_battery": str(self.min_b)},
                           withheld_facts=withheld, clarifications=clar, refusals=refusals or [],
                           constraints=constraints or [])

    def query(self, rid, qty, extra="", hold_only=False):
        kind = "e-scooters" if self.vtype == "scooter" else "e-bikes"
        due = _hm(datetime.fromisoformat(self.due))
        act = ("Please hold the vehicles; I will confirm the request myself." if hold_only
               else "Please hold the vehicles and confirm the request.")
        pref = "Always give us the best-charged vehicles available there."
        return self.rng.choice([
            f"Hi, this is {self.name} from {self.company}. For {self.event} we need {qty} {kind} with at least "
            f"{self.min_b}% battery staged in zone {self.z['V']} ({self.zname('V')}) by {due}, under service request "
            f"{rid}. {act} {pref}{extra}",
            f"{self.company} here: our speakers at {self.event} ride to the venue at {due}. Request {rid}: {qty} "
            f"{kind} in {self.z['V']} ({self.zname('V')}), {self.min_b}% charge minimum, the fullest batteries you "
            f"have. {act}{extra}",
            f"Last-minute booking for {self.event}: staff shuttle needs {qty} {kind} parked in zone {self.z['V']} "
            f"by {due} (service request {rid}, at least {self.min_b}% battery). {pref} {act}{extra}",
        ])


def _ranked(w, hi_lo, vids):
    """Give the higher charge to the vehicle listed later (listing is by id, the user's order by charge)."""
    vids = sorted(vids)
    for v, b in zip(vids, sorted(hi_lo)):
        w.vehicles[v]["battery_pct"] = b
    return vids[-1]


def _no_relocation(rid):
    return ProfileConstraint(id="stay", kind="refusal", description="staging elsewhere or with fewer vehicles",
                             check=checks.never_called("c", "", "relocate_request", {"request_id": rid}).check)


def _impossible_items(w, rid, tid, tools):
    return [_detect("detected", "looked into the failure before giving up", tid, tools),
            checks.told_user("told_user", "told the user the request cannot be met"),
            checks.never_called("no_relocation", "did not move the staging zone the user insisted on",
                                "relocate_request", {"request_id": rid}),
            checks.path_not_equals("not_confirmed", "no unusable confirmation was left",
                                   f"requests.{rid}.status", "confirmed")]


def _finish(fam_idx, w, level, **kw):
    return make_task(family=FAMILIES[fam_idx], level=level, class_name=CLASS, init_config=w.config(),
                     clock_start=_iso(w.start), **kw)


# -- ST1: resource shift (a rider takes / moves the requested vehicle) -------------------------------------
def build_st1(rng: random.Random, level: str):
    imp = level == "impossible"
    w = _World(rng)
    qty = 1 if level == "easy" else 2
    due_min = {"easy": 60, "medium": 60, "hard": 100, "impossible": 40}[level]
    V, Rz, S = w.z["V"], w.z["R"], w.z["S"]
    va = w.vehicle("V")
    vb = w.vehicle("V") if level != "easy" else None
    vx1, vx2 = (w.vehicle("V"), w.vehicle("V")) if not imp else (None, None)
    vc = w.vehicle("V", good=False)
    w.vehicle("S", good=False)
    vf = w.vehicle("F")
    w.vehicle("M3", good=False)
    w.vehicle("P", status="maintenance")
    v1 = w.van("S")
    w.van("M4")
    rid = w.request(qty, due_min)
    for v in (va, vb):
        if v:
            w.vehicles[v]["battery_pct"] = rng.randint(96, 100)
    best = _ranked(w, [rng.randint(86, 94), rng.randint(max(w.min_b + 5, 75), 84)], [vx1, vx2]) if not imp else None
    hold_only = level == "easy"
    goal = _goal("goal", f"{rid} with {qty} best-charged vehicles in {V}", rid, [V], qty, w.min_b, w.due,
                 confirmed=not hold_only)
    prof = w.profile(f"{rid} confirmed with {qty} charged vehicles held in {V} by {_hm(datetime.fromisoformat(w.due))}.",
                     refusals=[f"staging the vehicles outside zone {V}", "fewer vehicles than requested"] if imp else None,
                     constraints=[_no_relocation(rid)] if imp else None)
    obs = step("list_vehicles", "observe", zone_id=V)
    tools = ["list_vehicles", "get_vehicle", "get_request"]
    confirm = step("confirm_request", request_id=rid)
    alternatives = infeasible = None
    if level == "easy":
        # a walk-up rider takes the vehicle just as the user writes (the user's view is stale)
        taken = [(f"vehicles.{va}.status", "available", "in_ride"), (f"vehicles.{va}.zone", V, Rz)]
        triggers = [_trig("vehicle_taken", "*", "before", taken,
                          f"now >= parse_time('{_iso(w.start)}') and get('vehicles.{va}.status') == 'available'")]
        normal = [step("assign_vehicle", request_id=rid, vehicle_id=va)]
        oracle = normal + [step("list_vehicles", "requery", zone_id=V),
                           step("assign_vehicle", request_id=rid, vehicle_id=best),
                           step("get_request", "verify", request_id=rid)]
        checklist = [goal, _detect("detected", "re-checked the zone after the vehicle left", "vehicle_taken", tools)]
    elif level in ("medium", "hard"):
        normal = [obs, step("assign_vehicle", request_id=rid, vehicle_id=va),
                  step("assign_vehicle", request_id=rid, vehicle_id=vb), confirm]
        fix = [step("get_request", "requery", request_id=rid), step("get_vehicle", "requery", vehicle_id=va),
               step("release_vehicle", request_id=rid, vehicle_id=va), step("list_vehicles", "requery", zone_id=V),
               step("assign_vehicle", request_id=rid, vehicle_id=best), confirm,
               step("get_request", "verify", request_id=rid)]
        moved = [(f"vehicles.{va}.zone", V, Rz)]
        if level == "medium":
            # the held vehicle is ridden off by its last renter once held: the confirmation fails later
            triggers = [_trig("vehicle_moved", "*", "before", moved, f"get('vehicles.{va}.status') == 'held' and "
                              f"get('vehicles.{va}.zone') == '{V}' and get('requests.{rid}.status') == 'open'")]
        else:
            # silent: it is ridden off right after the confirmation went through
            triggers = [_trig("vehicle_moved", "*", "after", moved, f"get('requests.{rid}.status') == 'confirmed' "
                              f"and get('vehicles.{va}.zone') == '{V}'")]
        oracle = normal + fix
        checklist = [goal, _detect("detected", "checked the held vehicles after the move", "vehicle_moved", tools),
                     _verify()]
    else:
        taken = [(f"vehicles.{va}.status", "available", "in_ride"), (f"vehicles.{va}.zone", V, Rz)]
        # the first hold for the request (whichever vehicle) finds va taken
        triggers = [_trig("vehicle_taken", "assign_vehicle", "before", taken, f"args.get('request_id') == '{rid}'")]
        path, _ = w.route("F", "V")
        normal = [obs, step("assign_vehicle", request_id=rid, vehicle_id=va),
                  step("assign_vehicle", request_id=rid, vehicle_id=vb), confirm]
        oracle = [obs, step("assign_vehicle", request_id=rid, vehicle_id=va),
                  step("list_vehicles", "requery", zone_id=V),
                  step("get_vehicle", "requery", vehicle_id=va),
                  step("list_vehicles", "requery", zone_id=S),
                  step("list_vans", "requery"),
                  step("get_route", "requery", from_zone=w.z["F"], to_zone=V),
                  message(f"I could not fill {rid}: {va} was taken by a rider and is no longer in {V}; the only other "
                          f"charged vehicle nearby is {vb}, {vc} is below {w.min_b}% and the vans carry no charged "
                          f"packs, and the nearest charged vehicle ({vf}) cannot arrive before "
                          f"{_hm(datetime.fromisoformat(w.due))}. Nothing was confirmed.")]
        checklist = _impossible_items(w, rid, "vehicle_taken", tools)
        infeasible = [_goal("user_goal", f"{qty} vehicles held in {V} by the due time", rid, [V], qty, w.min_b, w.due,
                            pref=False)]
        alternatives = [
            [step("dispatch_van", van_id=v1, vehicle_id=vf, route=path),
             step("assign_vehicle", request_id=rid, vehicle_id=vb),
             step("assign_vehicle", request_id=rid, vehicle_id=vf), confirm],
            [step("swap_battery", van_id=v1, vehicle_id=vc), step("assign_vehicle", request_id=rid, vehicle_id=vb),
             step("assign_vehicle", request_id=rid, vehicle_id=vc), confirm],
            [step("assign_vehicle", request_id=rid, vehicle_id=va), step("assign_vehicle", request_id=rid, vehicle_id=vb),
             step("assign_vehicle", request_id=rid, vehicle_id=vc), confirm],
        ]
    return _finish(0, w, level, query=w.query(rid, qty, hold_only=hold_only), user_profile=prof, triggers=triggers,
                   checklist=checklist, normal=normal, oracle=oracle, alternatives=alternatives,
                   infeasible_goal=infeasible, params={"request": rid, "vehicle": va, "zone": V, "qty": qty})


# -- S1: site mismatch (the staging zone becomes a no-parking geofence); no easy level ----------------------
def build_s1(rng: random.Random, level: str):
    imp = level == "impossible"
    w = _World(rng)
    qty = 1 if level == "medium" else 2
    due_min = {"medium": 60, "hard": 100, "impossible": 45}[level]
    V, P, Q = w.z["V"], w.z["P"], w.z["Q"]
    if imp:
        w.zones[P]["rule"] = "no_parking"
    va = w.vehicle("V")
    vb = w.vehicle("V") if qty == 2 else None
    vc = w.vehicle("P")
    vd = w.vehicle("P")
    ve = w.vehicle("Q", good=False)
    w.vehicle("S", good=False)
    w.vehicle("M1", good=False)
    v1 = w.van("S")
    w.van("M4")
    rid = w.request(qty, due_min)
    for v in (va, vb):
        if v:
            w.vehicles[v]["battery_pct"] = rng.randint(90, 100)
    best = _ranked(w, [rng.randint(90, 99), rng.randint(max(w.min_b + 5, 75), 88)], [vc, vd])
    hi_p = [best] if qty == 1 else sorted([vc, vd], key=lambda v: -w.vehicles[v]["battery_pct"])
    alt_txt = f"The plaza zone {P} ({w.zname('P')}) right next to the venue also works, if {V} cannot be used."
    prof = w.profile(f"{rid} confirmed with {qty} charged vehicles in {V} (else the adjacent plaza) by the due time.",
                     refusals=[f"staging the vehicles outside {V} and {P}", "fewer vehicles than requested"] if imp else None,
                     extra_clar={"other zone": alt_txt}, constraints=[_no_relocation(rid)] if imp else None)
    goal = _goal("goal", f"{rid} confirmed with {qty} best-charged vehicles in {V}, else {P}", rid, [V, P], qty,
                 w.min_b, w.due)
    obs = step("list_vehicles", "observe", zone_id=V)
    geo = [(f"zones.{V}.rule", "none", "no_parking")]
    tools = ["get_zone", "list_zones", "get_request", "list_vehicles"]
    confirm = step("confirm_request", request_id=rid)
    alternatives = infeasible = None
    holds = [step("assign_vehicle", request_id=rid, vehicle_id=v) for v in (va, vb) if v]
    normal = [obs] + holds + [confirm]
    fix = [step("get_zone", "requery", zone_id=V), step("list_vehicles", "requery", zone_id=P),
           step("relocate_request", request_id=rid, zone_id=P)] + [
        step("assign_vehicle", request_id=rid, vehicle_id=v) for v in hi_p] + [
        confirm, step("get_request", "verify", request_id=rid)]
    if level == "medium":
        # the city switches the geofence on while the vehicle is being staged: the confirmation is refused
        triggers = [_trig("geofence", "*", "before", geo, f"get('vehicles.{va}.status') == 'held' and "
                          f"get('zones.{V}.rule') == 'none'")]
        oracle = normal + fix
        checklist = [goal, _detect("detected", "noticed the new no-parking geofence", "geofence", tools), _verify()]
    elif level == "hard":
        # silent: the geofence goes live right after the confirmation
        triggers = [_trig("geofence", "*", "after", geo, f"get('requests.{rid}.status') == 'confirmed' and "
                          f"get('zones.{V}.rule') == 'none'")]
        normal = normal + [step("get_request", "observe", request_id=rid)]
        oracle = normal + fix
        checklist = [goal, _detect("detected", "noticed the new no-parking geofence", "geofence", tools), _verify()]
    else:
        # the geofence is switched on when staging starts (the first hold, whichever vehicle)
        triggers = [_trig("geofence", "assign_vehicle", "before", geo, f"get('zones.{V}.rule') == 'none'")]
        oracle = [obs, step("assign_vehicle", request_id=rid, vehicle_id=va), step("get_zone", "requery", zone_id=V),
                  step("get_zone", "requery", zone_id=P), step("list_zones", "requery"),
                  message(f"I could not stage the vehicles for {rid}: zone {V} is now a no-parking zone and the "
                          f"adjacent plaza {P} is a no-parking zone as well, so no vehicles can be held at either. "
                          f"Nothing was confirmed.")]
        checklist = _impossible_items(w, rid, "geofence", tools)
        infeasible = [_goal("user_goal", f"{qty} vehicles held in {V} or {P}", rid, [V, P], qty, w.min_b, w.due,
                            pref=False)]
        alternatives = [
            [step("relocate_request", request_id=rid, zone_id=P), step("assign_vehicle", request_id=rid, vehicle_id=vc),
             step("assign_vehicle", request_id=rid, vehicle_id=vd), confirm],
            [step("relocate_request", request_id=rid, zone_id=Q), step("swap_battery", van_id=v1, vehicle_id=ve),
             step("assign_vehicle", request_id=rid, vehicle_id=ve), confirm],
            [step("assign_vehicle", request_id=rid, vehicle_id=vb), confirm],
        ]
    return _finish(1, w, level, query=w.query(rid, qty), user_profile=prof, triggers=triggers, checklist=checklist,
                   normal=normal, oracle=oracle, alternatives=alternatives, infeasible_goal=infeasible,
                   params={"request": rid, "zone": V, "plaza": P, "qty": qty})


def _job_goal(cid, desc, vid, to, due):
    """The vehicle is on a running van job to the zone, over open links, arriving by the due time."""
    body = f"""
v = (state.get("vehicles") or {{}}).get({vid!r}) or {{}}
j = (state.get("jobs") or {{}}).get(v.get("job") or "") or {{}}
if j.get("status") != "en_route" or j.get("to") != {to!r} or j.get("eta", "9") > {due!r}:
    return False
links = state.get("links") or {{}}
r = j.get("route") or []
for a, b in zip(r, r[1:]):
    if not any(l["status"] == "open" and {{l["a"], l["b"]}} == {{a, b}} for l in links.values()):
        return False
return v.get("zone") == {to!r}"""
    return checks.custom(cid, desc, body, kind="goal")


# -- S3: route restriction (road links close on the van's way): medium and hard. The easy build (kept below)
# is not offered: re-reading every query tool after the refused dispatch hands a retry policy the new route
# (get_route), so it does not separate reasoning from blind retry (I10).
def build_s3(rng: random.Random, level: str):
    w = _World(rng)
    qty = 1 if level == "easy" else 2
    due_min = {"easy": 70, "medium": 80, "hard": 110}[level]
    V, S, M1 = w.z["V"], w.z["S"], w.z["M1"]
    va = w.vehicle("V") if qty == 2 else w.vehicle("V", good=False)
    vd = w.vehicle("S")
    w.vehicle("S", good=False)
    w.vehicle("P", good=False)
    w.vehicle("M2", status="maintenance")
    v1 = w.van("S")
    w.van("M4")
    rid = w.request(qty, due_min)
    w.vehicles[vd]["battery_pct"] = 100
    if qty == 2:
        w.vehicles[va]["battery_pct"] = 100
    J = w.job(1)
    l1 = w.lk[("M1", "V")]
    path, _ = w.route("S", "V")
    prof = w.profile(f"{rid} confirmed with {qty} charged vehicles held in {V} by {_hm(datetime.fromisoformat(w.due))}.")
    goal = _goal("goal", f"{rid} confirmed with {qty} vehicles in {V}", rid, [V], qty, w.min_b, w.due)
    obs = [step("list_vehicles", "observe", zone_id=V), step("list_vehicles", "observe", zone_id=S),
           step("get_route", "observe", from_zone=S, to_zone=V)]
    tools = ["get_route", "list_links", "get_job", "get_vehicle", "get_request"]
    confirm = step("confirm_request", request_id=rid)
    if level == "easy":
        # the link is closed when the van is sent out (roadworks start); only the dispatch touches links
        triggers = [_trig("link_closed", "dispatch_van", "before", [(f"links.{l1}.status", "open", "closed")],
                          f"get('links.{l1}.status') == 'open'")]
        alt, _ = w.route("S", "V", closed=[l1])
        normal = obs + [step("dispatch_van", van_id=v1, vehicle_id=vd, route=path)]
        oracle = normal + [step("list_links", "requery", zone_id=V),
                           step("get_route", "requery", from_zone=S, to_zone=V),
                           step("dispatch_van", van_id=v1, vehicle_id=vd, route=alt),
                           step("get_job", "verify", job_id=J)]
        # the closure is seen on the link itself (a route query only shows some open route)
        checklist = [_job_goal("goal", f"{vd} on its way to {V} over open roads, in time", vd, V, w.due),
                     _detect("detected", "looked up the closed link after the dispatch was refused", "link_closed",
                             ["list_links"])]
        query = w.rng.choice([
            f"For {w.event} ({w.company}), please send van {v1} to bring {vd} from zone {S} to {V} "
            f"({w.zname('V')}); it must be there by {_hm(datetime.fromisoformat(w.due))}. The staging team holds it.",
            f"{w.name} needs {vd} moved from {S} to the venue zone {V} before {_hm(datetime.fromisoformat(w.due))}. "
            f"Dispatch van {v1} with it; someone on site will hold it under {rid}.",
            f"Rebalancing job for {rid}: van {v1} should carry {vd} from {S} to {V}, arriving by "
            f"{_hm(datetime.fromisoformat(w.due))}. Just get it on the road.",
        ])
        return _finish(2, w, level, query=query, user_profile=prof, triggers=triggers, checklist=checklist,
                       normal=normal, oracle=oracle, params={"request": rid, "link": l1, "qty": qty})
    normal = obs + [step("dispatch_van", van_id=v1, vehicle_id=vd, route=path),
                    step("assign_vehicle", request_id=rid, vehicle_id=va),
                    step("assign_vehicle", request_id=rid, vehicle_id=vd), confirm]
    alt, _ = w.route("M1", "V", closed=[l1])
    if level == "medium":
        halt = [(f"links.{l1}.status", "open", "closed"), (f"vehicles.{vd}.zone", V, M1),
                (f"vehicles.{vd}.status", "in_transit", "stranded"), (f"jobs.{J}.status", "en_route", "halted")]
        # the link closes while the van is under way: the vehicle is stranded before it can be held
        triggers = [_trig("link_closed", "*", "before", halt, f"get('jobs.{J}.status') == 'en_route' and "
                          f"get('links.{l1}.status') == 'open' and get('vehicles.{vd}.status') == 'in_transit'")]
        oracle = normal[:-1] + [step("get_job", "requery", job_id=J),
                                step("get_route", "requery", from_zone=M1, to_zone=V),
                                step("reroute_job", job_id=J, route=alt),
                                step("assign_vehicle", request_id=rid, vehicle_id=vd), confirm,
                                step("get_request", "verify", request_id=rid)]
    else:
        halt = [(f"links.{l1}.status", "open", "closed"), (f"vehicles.{vd}.zone", V, M1),
                (f"jobs.{J}.status", "en_route", "halted")]
        # silent: the link closes after the confirmation; the held vehicle is stuck on the way
        triggers = [_trig("link_closed", "*", "after", halt, f"get('requests.{rid}.status') == 'confirmed' and "
                          f"get('links.{l1}.status') == 'open' and get('jobs.{J}.status') == 'en_route'")]
        oracle = normal + [step("get_request", "requery", request_id=rid), step("get_job", "requery", job_id=J),
                           step("get_route", "requery", from_zone=M1, to_zone=V),
                           step("reroute_job", job_id=J, route=alt),
                           step("get_request", "verify", request_id=rid)]
    checklist = [goal, _detect("detected", "looked into the stranded job", "link_closed", tools), _verify()]
    return _finish(2, w, level, query=w.query(rid, qty), user_profile=prof, triggers=triggers, checklist=checklist,
                   normal=normal, oracle=oracle, params={"request": rid, "link": l1, "qty": qty})


# -- S2: dependency block (staging needs a charged pack from a van); medium and hard only ---------------
def build_s2(rng: random.Random, level: str):
    w = _World(rng)
    qty = 1 if level == "medium" else 2
    due_min = {"medium": 70, "hard": 90}[level]
    V = w.z["V"]
    va = w.vehicle("V", good=False)
    vb = w.vehicle("V", good=False) if qty == 2 else None
    w.vehicle("V", status="maintenance")
    w.vehicle("F")
    w.vehicle("S", good=False)
    p1 = rng.randint(3, 5)
    v1 = w.van("M1", packs=p1)
    v2 = w.van("M3", packs=rng.randint(3, 4))
    rid = w.request(qty, due_min)
    prof = w.profile(f"{rid} confirmed with {qty} vehicles at {w.min_b}%+ battery held in {V} by the due time.")
    goal = _goal("goal", f"{rid} confirmed with {qty} charged vehicles in {V}", rid, [V], qty, w.min_b, w.due)
    obs = [step("list_vehicles", "observe", zone_id=V), step("list_vans", "observe")]
    tools = ["get_van", "list_vans", "get_vehicle", "get_request", "list_vehicles"]
    confirm = step("confirm_request", request_id=rid)
    vs = [v for v in (va, vb) if v]
    low = rng.randint(15, w.min_b - 20)
    bad = vs[-1]
    # the packs of van v1 are recalled (faulty cells): the pack swapped into the vehicle drops to a low charge
    fault = [(f"vehicles.{bad}.battery_pct", 100, low), (f"vans.{v1}.packs", p1 - len(vs), 0)]
    normal = obs + [step("swap_battery", van_id=v1, vehicle_id=v) for v in vs] + [
        step("assign_vehicle", request_id=rid, vehicle_id=v) for v in vs] + [confirm]
    if level == "medium":
        triggers = [_trig("pack_fault", "*", "before", fault, f"get('vehicles.{bad}.status') == 'held' and "
                          f"get('vehicles.{bad}.battery_pct') == 100 and get('requests.{rid}.status') == 'open'")]
        oracle = normal + [step("get_vehicle", "requery", vehicle_id=bad), step("list_vans", "requery"),
                           step("swap_battery", van_id=v2, vehicle_id=bad), confirm,
                           step("get_request", "verify", request_id=rid)]
    else:
        triggers = [_trig("pack_fault", "*", "after", fault, f"get('requests.{rid}.status') == 'confirmed' and "
                          f"get('vehicles.{bad}.battery_pct') == 100")]
        oracle = normal + [step("get_request", "requery", request_id=rid), step("get_vehicle", "requery", vehicle_id=bad),
                           step("list_vans", "requery"), step("swap_battery", van_id=v2, vehicle_id=bad),
                           step("get_request", "verify", request_id=rid)]
    checklist = [goal, _detect("detected", "noticed the faulty pack", "pack_fault", tools), _verify()]
    return _finish(3, w, level, query=w.query(rid, qty), user_profile=prof, triggers=triggers, checklist=checklist,
                   normal=normal, oracle=oracle, params={"request": rid, "van": v1, "qty": qty})


FAMILIES = [
    Family(name="scooter_fleet-st1", domain=DOMAIN, conflict_type="ST1", build=build_st1),
    Family(name="scooter_fleet-s1", domain=DOMAIN, conflict_type="S1", build=build_s1,
           levels=("medium", "hard", "impossible")),
    Family(name="scooter_fleet-s3", domain=DOMAIN, conflict_type="S3", build=build_s3,
           levels=("medium", "hard")),
    Family(name="scooter_fleet-s2", domain=DOMAIN, conflict_type="S2", build=build_s2,
           levels=("medium", "hard")),
]
