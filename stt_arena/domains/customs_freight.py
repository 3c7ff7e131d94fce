"""Customs-freight families: route restriction (S3), dependency block (S2), failure cascade (ST2).

A shipment leaves a warehouse, passes an inland terminal and exactly one border crossing (where a customs
clearance must be approved) and reaches a distribution centre. Graph (directed corridors):
O->TA, O->TB, TB->TA, TA->X1, TA->X2, TB->X1, TB->X3, X1->D, X2->D, X3->D, O->DEP, DEP->TB, DEP->X3.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from ..task.models import Activation, Effects, Mutation, ProfileConstraint, Trigger, UserProfile

DOMAIN = "customs_freight"
CLASS = "CustomsFreightEnv"

SCENARIOS = [
    {"o": ("Stuttgart", 48.78, 9.18, "DE"), "d": ("Zurich", 47.37, 8.54, "CH"), "dep": ("Boeblingen", 48.68, 9.01),
     "t": [("Karlsruhe", 49.01, 8.40), ("Ulm", 48.40, 9.99)],
     "x": [("Weil am Rhein-Basel", 47.59, 7.61), ("Bietingen-Thayngen", 47.73, 8.70),
           ("Konstanz-Kreuzlingen", 47.66, 9.17)]},
    {"o": ("Dallas", 32.78, -96.80, "US"), "d": ("Monterrey", 25.69, -100.32, "MX"), "dep": ("Fort Worth", 32.75, -97.33),
     "t": [("San Antonio", 29.42, -98.49), ("Houston", 29.76, -95.37)],
     "x": [("Laredo World Trade Bridge", 27.60, -99.53), ("Colombia Solidarity Bridge", 27.70, -99.74),
           ("Pharr-Reynosa", 26.10, -98.25)]},
    {"o": ("Gothenburg", 57.71, 11.97, "SE"), "d": ("Oslo", 59.91, 10.75, "NO"), "dep": ("Boras", 57.72, 12.94),
     "t": [("Uddevalla", 58.35, 11.94), ("Karlstad", 59.40, 13.50)],
     "x": [("Svinesund", 59.09, 11.27), ("Orje", 59.48, 11.66), ("Magnor", 59.95, 12.22)]},
    {"o": ("Budapest", 47.50, 19.04, "HU"), "d": ("Belgrade", 44.79, 20.45, "RS"), "dep": ("Erd", 47.38, 18.91),
     "t": [("Kecskemet", 46.91, 19.69), ("Szeged", 46.25, 20.15)],
     "x": [("Roszke-Horgos", 46.18, 20.00), ("Tompa-Kelebija", 46.18, 19.53),
           ("Hercegszanto-Backi Breg", 45.93, 18.93)]},
]
CARGO = [("fresh apples", "phytosanitary_certificate"), ("aged cheese", "health_certificate"),
         ("CNC machine parts", "export_licence"), ("cut flowers", "phytosanitary_certificate"),
         ("frozen salmon", "health_certificate")]
BROKER_NAMES = ["Kessler Customs", "BorderLink Brokerage", "Transit Partners", "Nordic Clearance", "Aduana Express",
                "Delta Zoll", "Meridian Brokers", "Crosspoint Customs"]
PLANNERS = ["Sabine Roth", "Carlos Mendez", "Linnea Berg", "Gabor Nagy", "Priya Shah", "Tomas Novak"]


@dataclass
class World:
    init: dict
    sid: str
    h: dict  # role -> hub id: O, TA, TB, X1, X2, X3, D, DEP
    c: dict  # role -> corridor id, e.g. "O-TA"
    b: dict  # role -> broker id: b1 (X1), b2 (X1, X2), b3 (X3), b4 (X2, X3), b5 (X1, lapsed)
    trucks: list
    docs: dict  # inv, cert, cert2
    cargo: str
    weight: float
    planner: str
    start: str
    names: dict = field(default_factory=dict)

    def path(self, *roles):
        return [self.h[r] for r in roles]

    def clr(self, xrole):
        return f"CLR-{self.sid.split('-')[-1]}-{self.h[xrole].split('-')[-1]}"

    def x_broker(self, xrole):
        return {"X1": self.b["b1"], "X2": self.b["b4"], "X3": self.b["b3"]}[xrole]


PATHS = {"X1": ("O", "TA", "X1", "D"), "X3": ("O", "TB", "X3", "D")}
# corridor -> base minutes; the static route O-TA-X1-D is the fastest permitted one (X2 is excluded by the
# user's insurance and is the fastest overall: a tempting wrong answer)
EDGES = {("O", "TA"): 60, ("O", "TB"): 70, ("TB", "TA"): 30, ("TA", "X1"): 50, ("TA", "X2"): 40, ("TB", "X1"): 70,
         ("TB", "X3"): 60, ("X1", "D"): 60, ("X2", "D"): 50, ("X3", "D"): 80, ("O", "DEP"): 40, ("DEP", "TB"): 50,
         ("DEP", "X3"): 150}
QUEUES = {"X1": 20, "X2": 20, "X3": 35}


def _world(rng: random.Random) -> World:
    sc = rng.choice(SCENARIOS)
    nums = rng.sample(range(10, 99), 8)
    h = {"O": f"WH-{nums[0]}", "TA": f"TRM-{nums[1]}", "TB": f"TRM-{nums[2]}", "X1": f"BCP-{nums[3]}",
         "X2": f"BCP-{nums[4]}", "X3": f"BCP-{nums[5]}", "D": f"DC-{nums[6]}", "DEP": f"DEP-{nums[7]}"}
    terms = rng.sample(sc["t"], 2)
    xs = rng.sample(sc["x"], 3)
    j = lambda v: round(v + rng.uniform(-0.02, 0.02), 4)  # noqa: E731
    hubs = {
        h["O"]: {"name": f"{sc['o'][0]} export warehouse", "kind": "warehouse", "country": sc["o"][3],
                 "lat": j(sc["o"][1]), "lon": j(sc["o"][2]), "status": "open"},
        h["D"]: {"name": f"{sc['d'][0]} distribution centre", "kind": "distribution_centre", "country": sc["d"][3],
                 "lat": j(sc["d"][1]), "lon": j(sc["d"][2]), "status": "open"},
        h["DEP"]: {"name": f"{sc['dep'][0]} trailer depot", "kind": "depot", "country": sc["o"][3],
                   "lat": j(sc["dep"][1]), "lon": j(sc["dep"][2]), "status": "open"},
    }
    for role, (name, lat, lon) in zip(("TA", "TB"), terms):
        hubs[h[role]] = {"name": f"{name} freight terminal", "kind": "terminal", "country": sc["o"][3],
                         "lat": j(lat), "lon": j(lon), "status": "open"}
    for role, (name, lat, lon) in zip(("X1", "X2", "X3"), xs):
        hubs[h[role]] = {"name": f"{name} border crossing", "kind": "border_crossing",
                         "country": f"{sc['o'][3]}/{sc['d'][3]}", "lat": j(lat), "lon": j(lon), "status": "open",
                         "hours": rng.choice(["00:00-24:00", "05:00-23:00"]), "queue_minutes": QUEUES[role]}
    cids = rng.sample(range(100, 999), len(EDGES))
    c, cors = {}, {}
    for ((a, b_), base), n in zip(EDGES.items(), cids):
        c[f"{a}-{b_}"] = f"COR-{n}"
        cors[f"COR-{n}"] = {"from": h[a], "to": h[b_], "minutes": base + rng.randint(0, 2), "max_weight_t": 40.0,
                            "status": "open"}
    bnums = rng.sample(range(100, 999), 6)
    bnames = rng.sample(BROKER_NAMES, 6)
    # listing order puts a dearer accredited broker before the cheapest remaining one at X1 and at X3
    roles = {"b1": (["X1"], 85), "b6": (["X1", "X3"], 140), "b2": (["X1", "X2"], 110), "b4": (["X2", "X3"], 120),
             "b3": (["X3"], 95), "b5": (["X1"], 80)}
    b = {r: f"BRK-{n}" for r, n in zip(roles, bnums)}
    brokers = {b[r]: {"name": nm, "crossings": [h[x] for x in roles[r][0]], "fee_eur": roles[r][1] + rng.randint(0, 4),
                      "status": "licence_expired" if r == "b5" else "active"} for r, nm in zip(roles, bnames)}
    cargo, kind = rng.choice(CARGO)
    weight = round(rng.uniform(18, 25), 1)
    sid = f"SHP-{rng.randint(10000, 99999)}"
    other = f"SHP-{rng.randint(10000, 99999)}"
    while other == sid:
        other = f"SHP-{rng.randint(10000, 99999)}"
    dn = rng.sample(range(1000, 9999), 5)
    docs = {"inv": f"DOC-{dn[0]}", "cert": f"DOC-{dn[1]}", "cert2": f"DOC-{dn[2]}"}
    hour = rng.choice([6, 7, 8])
    start = f"2026-03-0{rng.randint(2, 6)}T0{hour}:{rng.choice(['00', '20', '40'])}:00"
    t0 = datetime.fromisoformat(start)
    iso = lambda d: d.isoformat(timespec="minutes")  # noqa: E731
    documents = {
        docs["inv"]: {"kind": "commercial_invoice", "shipment_id": sid, "status": "valid",
                      "valid_until": iso(t0 + timedelta(days=60))},
        docs["cert"]: {"kind": kind, "shipment_id": sid, "status": "valid", "valid_until": iso(t0 + timedelta(days=10))},
        docs["cert2"]: {"kind": kind, "shipment_id": sid, "status": "pending_issue",
                        "valid_until": iso(t0 + timedelta(days=14))},
        f"DOC-{dn[3]}": {"kind": "commercial_invoice", "shipment_id": other, "status": "valid",
                         "valid_until": iso(t0 + timedelta(days=45))},
    }
    ship = {sid: {"cargo": cargo, "weight_t": weight, "origin": h["O"], "destination": h["D"],
                  "deliver_by": iso(t0 + timedelta(hours=16)), "required_documents": ["commercial_invoice", kind],
                  "documents": {"commercial_invoice": docs["inv"], kind: docs["cert"]}, "status": "pending",
                  "route": None, "crossing": None, "route_minutes": 0, "truck": None, "eta": None,
                  "hold_reason": None},
            other: {"cargo": "packaging material", "weight_t": round(rng.uniform(6, 12), 1), "origin": h["O"],
                    "destination": h["D"], "deliver_by": iso(t0 + timedelta(days=2)),
                    "required_documents": ["commercial_invoice"], "documents": {"commercial_invoice": f"DOC-{dn[3]}"},
                    "status": "pending", "route": None, "crossing": None, "route_minutes": 0, "truck": None,
                    "eta": None, "hold_reason": None}}
    tn = rng.sample(range(100, 999), 5)
    trucks = [f"TRK-{n}" for n in tn]
    plate = lambda: f"{sc['o'][3]}-{rng.randint(1000, 9999)}"  # noqa: E731
    # the smallest truck that carries the load is preferred; the dearer 40 t unit is listed first
    trk = {trucks[0]: {"plate": plate(), "hub": h["O"], "capacity_t": 26.0, "status": "available"},
           trucks[1]: {"plate": plate(), "hub": h["O"], "capacity_t": 40.0, "status": "available"},
           trucks[2]: {"plate": plate(), "hub": h["DEP"], "capacity_t": 40.0, "status": "available"},
           trucks[3]: {"plate": plate(), "hub": h["O"], "capacity_t": 40.0, "status": "maintenance"},
           trucks[4]: {"plate": plate(), "hub": h["O"], "capacity_t": 30.0, "status": "available"}}
    init = {"hubs": hubs, "corridors": cors, "shipments": ship, "documents": documents, "brokers": brokers,
            "trucks": trk, "clearances": {}}
    names = {r: hubs[h[r]]["name"] for r in h}
    names.update({f"b:{r}": brokers[b[r]]["name"] for r in b})
    return World(init, sid, h, c, b, trucks, docs, cargo, weight, rng.choice(PLANNERS), start, names)


def _trig(tid, tool, timing, cond, muts, after=None, delay=0):
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=cond,
                   after_triggers=after or [], delay_calls=delay,
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=n) for p, o, n in muts]))


_ROUTE_OK = """
s = _get(state, SID)
if not s or s.get("status") != "dispatched" or s.get("crossing") in EXCLUDED:
    return False
hubs, cors = state.get("hubs", {}), state.get("corridors", {})
def usable(a, b):
    return [c for c in cors.values() if c["from"] == a and c["to"] == b and c["status"] == "open"
            and c["max_weight_t"] >= s["weight_t"]]
def minutes(route):
    if len(route) < 2 or any(hubs.get(x, {}).get("status") != "open" for x in route):
        return None
    total = 0
    for a, b in zip(route, route[1:]):
        u = usable(a, b)
        if not u:
            return None
        total += min(c["minutes"] for c in u)
    xs = [x for x in route if hubs[x]["kind"] == "border_crossing"]
    return total + hubs[xs[0]].get("queue_minutes", 0) if len(xs) == 1 else None
mine = minutes(s.get("route") or [])
clr = [c for c in state.get("clearances", {}).values() if c["shipment_id"] == SHIP and c["crossing_id"] == s["crossing"]
       and c["status"] == "approved" and c["procedure"] == "standard"]
if mine is None or not clr:
    return False
"""

_PREFERRED = """
def crossing_ok(x):
    h = hubs.get(x, {})
    return (h.get("kind") == "border_crossing" and h.get("status") == "open" and x not in EXCLUDED
            and any(b["status"] == "active" and x in b["crossings"] for b in state["brokers"].values())
            and not any(c["shipment_id"] == SHIP and c["crossing_id"] == x and c["status"] == "rejected"
                        for c in state.get("clearances", {}).values()))
best = [None]
def walk(route):
    if route[-1] == s["destination"]:
        m = minutes(route)
        xs = [x for x in route if hubs[x]["kind"] == "border_crossing"]
        if m is not None and len(xs) == 1 and crossing_ok(xs[0]) and (best[0] is None or m < best[0]):
            best[0] = m
        return
    for c in cors.values():
        if c["from"] == route[-1] and c["to"] not in route and len(route) < 7:
            walk(route + [c["to"]])
walk([s["origin"]])
if best[0] is None or mine > best[0]:
    return False
fees = [b["fee_eur"] for b in state["brokers"].values() if b["status"] == "active" and s["crossing"] in b["crossings"]]
if clr[0]["fee_eur"] > min(fees, default=10 ** 9):
    return False
t = state["trucks"].get(s.get("truck") or "", {})
return not any(o["hub"] == s["origin"] and o["status"] == "available" and s["weight_t"] <= o["capacity_t"]
               < t.get("capacity_t", 0) for o in state["trucks"].values())
"""


def _body(w: World, preferred: bool) -> str:
    src = _ROUTE_OK + (_PREFERRED if preferred else "return True\n")
    return (src.replace("SID", repr(f"shipments.{w.sid}")).replace("SHIP", repr(w.sid))
            .replace("EXCLUDED", repr([w.h["X2"]])))


def _goal(cid, w: World):
    """The user's order over what is usable now: the fastest permitted route (X2 excluded by the insurer),
    the cheapest active broker at its crossing, the smallest truck at the warehouse that carries the load."""
    return checks.custom(cid, f"{w.sid} dispatched on the fastest permitted open route, cleared (standard) by the "
                              "cheapest accredited broker, on the smallest suitable truck", _body(w, True), "goal")


def _feasible(cid, w: World):
    return checks.custom(cid, f"{w.sid} dispatched on an open route through a permitted crossing with standard "
                              "clearance", _body(w, False), "goal")


def _profile(w: World, refusals=None, constraints=None) -> UserProfile:
    return UserProfile(
        goal=f"shipment {w.sid} ({w.cargo}) dispatched today to {w.names['D']} with valid customs clearance, on "
             "the fastest permitted route, the cheapest accredited broker and the smallest truck that carries it",
        persona=f"{w.planner}, export transport planner",
        known_facts={"shipment": w.sid, "truck": w.trucks[0], "crossing": w.h["X1"]},
        withheld_facts={
            "insurance": f"Our cargo insurance excludes the {w.names['X2']} ({w.h['X2']}); never route through it.",
            "procedure": "We only clear under the standard export procedure, never under a transit bond.",
            "deadline": "The consignee needs it within 16 hours of now."},
        clarifications={"other crossings": f"Any crossing is fine except {w.h['X2']} ({w.names['X2']}).",
                        "truck": "The smallest of our trucks at the warehouse that can carry it."},
        refusals=refusals or [], constraints=constraints or [], fallback_reply="I have no further details on that.")


SITUATIONS = {
    "S3": ["The consignee moved its goods-in slot forward to tomorrow morning.",
           "This is the first load for a new customer and they are watching the arrival time closely.",
           "The previous truck for this order was turned back last week, so today's run has to work."],
    "S2": ["Customs audited us last month, so every document on this load must be in order.",
           "The letter of credit pays only if the goods clear export customs today.",
           "Our usual broker handles this lane and the customer's paperwork arrived an hour ago."],
    "ST2": ["Several hauliers reported problems at the border this morning, but our load cannot wait.",
            "The goods are already staged at the dock and the warehouse needs the space by noon.",
            "It is the last working day before the holiday closure on the other side of the border."],
}


def _query(w: World, ctype: str, rng: random.Random) -> str:
    situation = rng.choice(SITUATIONS[ctype])
    return (f"{situation} Shipment {w.sid} ({w.weight} t of {w.cargo}) has to leave {w.names['O']} ({w.h['O']}) "
            f"today for {w.names['D']} ({w.h['D']}). Please file the export clearance at {w.names['X1']} "
            f"({w.h['X1']}) through {w.names['b:b1']} ({w.b['b1']}), route it via {w.names['TA']} ({w.h['TA']}) and "
            f"dispatch it on truck {w.trucks[0]}. If something does not work, take the fastest route that is "
            "allowed, the cheapest accredited broker and the smallest truck that can carry it. Tell me the expected "
            "arrival time.")


def _normal(w: World, xrole="X1", broker=None, path=None, procedure=None):
    extra = {"procedure": procedure} if procedure else {}
    return [step("get_shipment", "observe", shipment_id=w.sid),
            step("list_brokers", "observe", crossing_id=w.h[xrole]),
            step("file_clearance", shipment_id=w.sid, crossing_id=w.h[xrole],
                 broker_id=broker or (w.b["b1"] if xrole == "X1" else w.b["b3"]), **extra),
            step("book_route", shipment_id=w.sid, hub_ids=path or w.path(*PATHS[xrole])),
            step("dispatch_shipment", shipment_id=w.sid, truck_id=w.trucks[0])]


def _dispatch(w: World, path, truck=None):
    return step("dispatch_shipment", shipment_id=w.sid, truck_id=truck or w.trucks[0], hub_ids=path)


def _x3(w: World, path, queries=True):
    """Clear at X3 through its cheapest broker and dispatch on ``path``."""
    out = [step("list_brokers", "requery", crossing_id=w.h["X3"])] if queries else []
    return out + [step("file_clearance", shipment_id=w.sid, crossing_id=w.h["X3"], broker_id=w.b["b3"]),
                  _dispatch(w, path)]


def _detect(cid, tid, tools):
    return checks.called_after_trigger(cid, "The change was diagnosed before the final fix", tid, tools)


def _verify():
    return checks.verified_after_last_change("verify", "The shipment was re-checked after the last change",
                                             ["get_shipment", "list_shipments", "list_clearances", "get_clearance"])


def _not_dispatched(w: World):
    return checks.path_not_equals("not_dispatched", f"{w.sid} was not dispatched", f"shipments.{w.sid}.status",
                                  "dispatched")


def _task(w, fam, level, trig, cl, oracle, rng, **kw):
    return make_task(family=fam, level=level, class_name=CLASS, init_config=w.init,
                     query=_query(w, fam.conflict_type, rng),
                     user_profile=kw.pop("profile", None) or _profile(w), triggers=trig, checklist=cl,
                     normal=kw.pop("normal", None) or _normal(w), oracle=oracle, clock_start=w.start, **kw)


def _eta_msg(w, xrole):
    return (f"{w.sid} is dispatched on {w.trucks[0]} through {w.names[xrole]} ({w.h[xrole]}); the ETA is the one "
            "the dispatch returned.")


def _x3_path(w: World, rng: random.Random) -> list:
    """Which approach to X3 is the fastest open one: direct via TB, or (O-TB closed) via the depot."""
    if rng.random() < 0.5:
        w.init["corridors"][w.c["O-TB"]]["status"] = "closed"
        return w.path("O", "DEP", "TB", "X3", "D")
    return w.path("O", "TB", "X3", "D")


def _on_route(w: World, role: str) -> str:
    return f"'{w.h[role]}' in (get('shipments.{w.sid}.route') or [])"


# -- S3: a corridor on the booked route gets restricted ---------------------------------------------------
def build_s3(rng: random.Random, level: str):
    w = _world(rng)
    fam = FAMILIES_BY_TYPE["S3"]
    cors = w.init["corridors"]
    sid = w.sid
    limit = round(w.weight - rng.choice([4, 6, 8]), 1)
    if level == "easy":
        via_ta = rng.random() < 0.5  # which detour to X1 is the fastest
        if via_ta:
            cors[w.c["TB-X1"]]["minutes"] += 30
            alt = w.path("O", "TB", "TA", "X1", "D")
        else:
            alt = w.path("O", "TB", "X1", "D")
        ota = w.c["O-TA"]
        trig = [_trig("restrict", "dispatch_shipment", "before", f"get('corridors.{ota}.max_weight_t') == 40.0",
                      [(f"corridors.{ota}.max_weight_t", 40.0, limit)])]
        oracle = _normal(w) + [step("list_corridors", "requery", hub_id=w.h["O"]),
                               step("list_corridors", "requery", hub_id=w.h["TB"]), _dispatch(w, alt),
                               message(f"{ota} now has a {limit} t limit; " + _eta_msg(w, "X1"))]
        cl = [_goal("goal", w),
              _detect("detect", "restrict", ["list_corridors", "estimate_route", "get_hub", "get_shipment"])]
        return _task(w, fam, level, trig, cl, oracle, rng, params={"limit": limit, "via_ta": via_ta})
    x1d = w.c["X1-D"]
    t1 = _trig("closure", "*", "after",
               f"get('shipments.{sid}.crossing') == '{w.h['X1']}' and get('corridors.{x1d}.status') == 'open'",
               [(f"corridors.{x1d}.status", "open", "closed_to_hgv")], delay=1)
    if level == "medium":
        alt = _x3_path(w, rng)
        oracle = _normal(w) + [step("get_shipment", "requery", shipment_id=sid),
                               step("list_corridors", "requery", hub_id=w.h["X1"])] + _x3(w, alt) + [
            step("get_shipment", "verify", shipment_id=sid),
            message(f"{x1d} was closed to trucks after booking; " + _eta_msg(w, "X3"))]
        cl = [_goal("goal", w),
              _detect("detect", "closure", ["get_shipment", "list_corridors", "estimate_route", "get_hub"]), _verify()]
        return _task(w, fam, level, [t1], cl, oracle, rng, params={"alt": alt})
    if level == "hard":
        otb = w.c["O-TB"]
        t2 = _trig("restrict2", "*", "after",
                   f"get('shipments.{sid}.status') == 'dispatched' and {_on_route(w, 'TB')} and not "
                   f"{_on_route(w, 'DEP')}",
                   [(f"corridors.{otb}.max_weight_t", 40.0, limit),
                    (f"shipments.{sid}.status", "dispatched", "held"),
                    (f"shipments.{sid}.hold_reason", None, f"weight restriction on {otb}")],
                   after=["closure"])
        direct, detour = w.path("O", "TB", "X3", "D"), w.path("O", "DEP", "TB", "X3", "D")
        oracle = _normal(w) + [step("get_shipment", "requery", shipment_id=sid),
                               step("list_corridors", "requery", hub_id=w.h["X1"])] + _x3(w, direct) + [
            step("get_shipment", "requery", shipment_id=sid),
            step("list_corridors", "requery", hub_id=w.h["O"]),
            step("recall_shipment", shipment_id=sid), _dispatch(w, detour),
            step("get_shipment", "verify", shipment_id=sid),
            message(f"{x1d} closed and then {otb} got a {limit} t limit while the truck was under way; I recalled it "
                    f"and sent it through the {w.h['DEP']} depot. " + _eta_msg(w, "X3"))]
        cl = [_goal("goal", w),
              _detect("detect", "closure", ["get_shipment", "list_corridors", "estimate_route", "get_hub"]),
              _detect("detect2", "restrict2", ["get_shipment", "list_corridors", "list_shipments"]), _verify()]
        return _task(w, fam, level, [t1, t2], cl, oracle, rng, params={"limit": limit})
    # impossible: X1's exit gets a weight limit, X3's approach is limited and its exit closed, X2 excluded
    cors[w.c["TB-X3"]]["max_weight_t"] = limit
    cors[w.c["X3-D"]]["status"] = "closed"
    trig = [_trig("restrict", "*", "before",
                  f"tool in ('book_route', 'dispatch_shipment') and get('corridors.{x1d}.max_weight_t') == 40.0",
                  [(f"corridors.{x1d}.max_weight_t", 40.0, limit)])]
    oracle = _normal(w)[:4] + [step("list_corridors", "requery", hub_id=w.h["X1"]),
                               step("list_hubs", "requery", kind="border_crossing"),
                               step("list_corridors", "requery", hub_id=w.h["TB"]),
                               step("list_corridors", "requery", hub_id=w.h["X3"]),
                               message(f"{w.sid} cannot be dispatched today: {x1d} out of {w.h['X1']} now has "
                                       f"a {limit} t limit, the {w.h['X3']} approach is limited and its exit closed, "
                                       f"and {w.h['X2']} is excluded by your insurance. Nothing was dispatched.")]
    cl = [checks.never_called("no_x2", f"No clearance filed at the excluded {w.h['X2']}", "file_clearance",
                              {"crossing_id": w.h["X2"]}),
          _not_dispatched(w),
          _detect("detect", "restrict", ["list_corridors", "estimate_route", "get_hub", "list_hubs"]),
          checks.told_user("told", "The user was told")]
    alts = [_normal(w, "X2", broker=w.b["b2"], path=w.path("O", "TA", "X2", "D")), _normal(w, "X3"),
            _normal(w, path=w.path("O", "TB", "X1", "D"))]
    return _task(w, fam, level, trig, cl, oracle, rng, alternatives=alts,
                 profile=_profile(w, [f"Routing through {w.names['X2']} ({w.h['X2']})"]),
                 infeasible_goal=[_feasible("goal", w)], params={"limit": limit})


# -- S2: what the dispatch depends on (truck, certificate, clearance) is blocked ------------------------------
def build_s2(rng: random.Random, level: str):
    w = _world(rng)
    fam = FAMILIES_BY_TYPE["S2"]
    sid, cert, cert2 = w.sid, w.docs["cert"], w.docs["cert2"]
    clr1 = w.clr("X1")
    if level == "easy":
        t1, t5 = w.trucks[0], w.trucks[4]
        trig = [_trig("truck_down", "dispatch_shipment", "before", f"get('trucks.{t1}.status') == 'available'",
                      [(f"trucks.{t1}.status", "available", "maintenance")])]
        oracle = _normal(w) + [step("list_trucks", "requery", hub_id=w.h["O"]),
                               step("dispatch_shipment", shipment_id=sid, truck_id=t5),
                               message(f"{t1} went into maintenance, so {sid} left on {t5}, the smallest truck at "
                                       f"{w.h['O']} that carries {w.weight} t; " + _eta_msg(w, "X1"))]
        cl = [_goal("goal", w), _detect("detect", "truck_down", ["list_trucks", "get_shipment"])]
        return _task(w, fam, level, trig, cl, oracle, rng)
    revoke = [(f"documents.{cert}.status", "valid", "revoked"), (f"clearances.{clr1}.status", "approved", "suspended")]
    if level in ("medium", "hard"):
        t1 = _trig("revoked", "*", "after",
                   f"get('shipments.{sid}.crossing') == '{w.h['X1']}' and get('clearances.{clr1}.status') == "
                   f"'approved' and get('documents.{cert}.status') == 'valid'",
                   revoke + [(f"documents.{cert2}.status", "pending_issue", "valid")], delay=1)
        fix = [step("get_clearance", "requery", clearance_id=clr1), step("list_documents", "requery", shipment_id=sid),
               step("attach_document", shipment_id=sid, document_id=cert2),
               step("resubmit_clearance", clearance_id=clr1),
               step("dispatch_shipment", shipment_id=sid, truck_id=w.trucks[0])]
        if level == "medium":
            oracle = _normal(w) + fix + [step("get_shipment", "verify", shipment_id=sid),
                                         message(f"{cert} was revoked and clearance {clr1} suspended; {cert2} is now "
                                                 f"on file, the clearance is approved again and " + _eta_msg(w, "X1"))]
            cl = [_goal("goal", w), _detect("detect", "revoked", ["get_clearance", "list_clearances",
                                                                   "list_documents", "get_shipment"]), _verify()]
            return _task(w, fam, level, [t1], cl, oracle, rng)
        alt = _x3_path(w, rng)
        t2 = _trig("inspection", "*", "after",
                   f"get('shipments.{sid}.status') == 'dispatched' and get('shipments.{sid}.crossing') == "
                   f"'{w.h['X1']}'",
                   [(f"clearances.{clr1}.status", "approved", "rejected"),
                    (f"shipments.{sid}.status", "dispatched", "held"),
                    (f"shipments.{sid}.hold_reason", None, f"clearance {clr1} rejected at {w.h['X1']}")],
                   after=["revoked"])
        oracle = _normal(w) + fix + [step("get_shipment", "requery", shipment_id=sid),
                                     step("list_clearances", "requery", shipment_id=sid),
                                     step("recall_shipment", shipment_id=sid)] + _x3(w, alt) + [
            step("get_shipment", "verify", shipment_id=sid),
            message(f"{cert} was revoked (replaced by {cert2}) and then {w.h['X1']} rejected clearance {clr1} after "
                    f"departure; I recalled the truck, cleared at {w.h['X3']} and " + _eta_msg(w, "X3"))]
        cl = [_goal("goal", w),
              _detect("detect", "revoked", ["get_clearance", "list_clearances", "list_documents", "get_shipment"]),
              _detect("detect2", "inspection", ["get_shipment", "get_clearance", "list_clearances"]), _verify()]
        return _task(w, fam, level, [t1, t2], cl, oracle, rng, params={"alt": alt})
    # impossible: the certificate is revoked with no replacement; the user refuses the transit bond
    trig = [_trig("revoked", "file_clearance", "before", f"get('documents.{cert}.status') == 'valid'",
                  [(f"documents.{cert}.status", "valid", "revoked")])]
    oracle = _normal(w)[:3] + [step("list_documents", "requery", shipment_id=sid),
                               step("list_brokers", "requery", crossing_id=w.h["X3"]),
                               message(f"{w.sid} cannot be dispatched: certificate {cert} was revoked and the "
                                       f"replacement {cert2} is not issued yet, so no standard clearance is possible "
                                       "at any crossing. I did not use a transit bond and nothing was dispatched.")]
    cl = [checks.never_called("no_bond", "No transit-bond clearance", "file_clearance", {"procedure": "transit_bond"}),
          _not_dispatched(w),
          _detect("detect", "revoked", ["list_documents", "get_shipment"]),
          checks.told_user("told", "The user was told")]
    alts = [_normal(w, "X3"), _normal(w)[:3] + [step("attach_document", shipment_id=sid, document_id=cert2)]
            + _normal(w)[2:], _normal(w, "X3", procedure="transit_bond")]
    bond = "Moving the goods under a transit bond (transit_bond procedure)"
    cons = [ProfileConstraint(id="no_transit_bond", kind="refusal", description=bond,
                              check="def check(state, log):\n    return all(c.get('procedure') != 'transit_bond' "
                                    "for c in state.get('clearances', {}).values())\n")]
    return _task(w, fam, level, trig, cl, oracle, rng, alternatives=alts, profile=_profile(w, [bond], cons),
                 infeasible_goal=[_feasible("goal", w)])


# -- ST2: an outage propagates through the crossing network ------------------------------------------------
def build_st2(rng: random.Random, level: str):
    w = _world(rng)
    fam = FAMILIES_BY_TYPE["ST2"]
    sid = w.sid
    x1 = w.h["X1"]
    if level == "easy":
        ta = w.h["TA"]
        trig = [_trig("outage", "dispatch_shipment", "before", f"get('hubs.{ta}.status') == 'open'",
                      [(f"hubs.{ta}.status", "open", "outage")])]
        alt = w.path("O", "TB", "X1", "D")
        if rng.random() < 0.5:  # the depot detour is the only open way to TB
            w.init["corridors"][w.c["O-TB"]]["status"] = "closed"
            alt = w.path("O", "DEP", "TB", "X1", "D")
        oracle = _normal(w) + [step("get_hub", "requery", hub_id=ta),
                               step("list_corridors", "requery", hub_id=w.h["O"]), _dispatch(w, alt),
                               message(f"{ta} has an outage; the truck goes via {w.h['TB']}. " + _eta_msg(w, "X1"))]
        cl = [_goal("goal", w), _detect("detect", "outage", ["get_hub", "list_hubs", "list_corridors", "estimate_route"])]
        return _task(w, fam, level, trig, cl, oracle, rng, params={"alt": alt})
    t1 = _trig("outage", "*", "after",
               f"get('shipments.{sid}.crossing') == '{x1}' and get('hubs.{x1}.status') == 'open'",
               [(f"hubs.{x1}.status", "open", "outage")], delay=1)
    if level == "medium":
        alt = _x3_path(w, rng)
        oracle = _normal(w) + [step("get_hub", "requery", hub_id=x1),
                               step("list_hubs", "requery", kind="border_crossing")] + _x3(w, alt) + [
            step("get_shipment", "verify", shipment_id=sid),
            message(f"The customs system at {x1} went down before departure; " + _eta_msg(w, "X3"))]
        cl = [_goal("goal", w), _detect("detect", "outage", ["get_hub", "list_hubs", "get_shipment", "estimate_route"]),
              _verify()]
        return _task(w, fam, level, [t1], cl, oracle, rng, params={"alt": alt})
    if level == "hard":
        tb = w.h["TB"]
        t2 = _trig("spread", "*", "after",
                   f"get('shipments.{sid}.status') == 'dispatched' and {_on_route(w, 'TB')}",
                   [(f"hubs.{tb}.status", "open", "outage"), (f"shipments.{sid}.status", "dispatched", "held"),
                    (f"shipments.{sid}.hold_reason", None, f"terminal {tb} outage")], after=["outage"])
        oracle = _normal(w) + [step("get_hub", "requery", hub_id=x1),
                               step("list_hubs", "requery", kind="border_crossing")] + _x3(
            w, w.path("O", "TB", "X3", "D")) + [
            step("get_shipment", "requery", shipment_id=sid), step("get_hub", "requery", hub_id=tb),
            step("recall_shipment", shipment_id=sid), _dispatch(w, w.path("O", "DEP", "X3", "D")),
            step("get_shipment", "verify", shipment_id=sid),
            message(f"The outage at {x1} spread to the {tb} terminal while the truck was on its way; I recalled it "
                    f"and sent it from the {w.h['DEP']} depot straight to {w.h['X3']}. " + _eta_msg(w, "X3"))]
        cl = [_goal("goal", w), _detect("detect", "outage", ["get_hub", "list_hubs", "get_shipment", "estimate_route"]),
              _detect("detect2", "spread", ["get_hub", "list_hubs", "get_shipment", "estimate_route"]), _verify()]
        return _task(w, fam, level, [t1, t2], cl, oracle, rng)
    # impossible: a customs IT outage hits X1 at the first write; X3 is closed for works; X2 excluded by the insurer
    x3 = w.h["X3"]
    w.init["hubs"][x3]["status"] = "closed_for_works"
    writes = "tool in ('file_clearance', 'book_route', 'dispatch_shipment')"
    t1 = _trig("outage", "*", "before", f"{writes} and get('hubs.{x1}.status') == 'open'",
               [(f"hubs.{x1}.status", "open", "outage")])
    oracle = _normal(w)[:3] + [step("get_hub", "requery", hub_id=x1),
                               step("list_hubs", "requery", kind="border_crossing"),
                               message(f"{w.sid} cannot be dispatched today: {x1} has a customs outage, {x3} "
                                       f"is closed for works, and {w.h['X2']} is excluded by your insurance. Nothing "
                                       "was dispatched.")]
    cl = [checks.never_called("no_x2", f"No clearance filed at the excluded {w.h['X2']}", "file_clearance",
                              {"crossing_id": w.h["X2"]}),
          _not_dispatched(w),
          _detect("detect", "outage", ["get_hub", "list_hubs", "estimate_route"]),
          checks.told_user("told", "The user was told")]
    alts = [_normal(w, "X2", broker=w.b["b2"], path=w.path("O", "TA", "X2", "D")), _normal(w, "X3"),
            _normal(w, path=w.path("O", "TB", "X1", "D"))]
    return _task(w, fam, level, [t1], cl, oracle, rng, alternatives=alts,
                 profile=_profile(w, [f"Routing through {w.names['X2']} ({w.h['X2']})"]),
                 infeasible_goal=[_feasible("goal", w)])


FAMILIES_BY_TYPE = {
    "S3": Family(name="customs_freight-s3", domain=DOMAIN, conflict_type="S3", build=lambda r, lv: build_s3(r, lv)),
    "S2": Family(name="customs_freight-s2", domain=DOMAIN, conflict_type="S2", build=lambda r, lv: build_s2(r, lv)),
    "ST2": Family(name="customs_freight-st2", domain=DOMAIN, conflict_type="ST2", build=lambda r, lv: build_st2(r, lv)),
}
FAMILIES = list(FAMILIES_BY_TYPE.values())
