"""Customs-freight families: route restriction (S3), dependency block (S2), failure cascade (ST2).

A shipment leaves a warehouse, passes an inland terminal and exactly one border crossing (where a customs
clearance must be approved) and reaches a distribution centre. Graph (directed corridors):
O->TA, O->TB, TB->TA, TA->X1, TA->X2, TB->X1, TB->X3, X1->D, X2->D, X3->D, O->DEP, DEP->TB.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from ..task.models import Activation, Effects, Mutation, Trigger, UserProfile

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


PATHS = {"X1": ("O", "TA", "X1", "D"), "X2": ("O", "TA", "X2", "D"), "X3": ("O", "TB", "X3", "D")}
EDGES = [("O", "TA"), ("O", "TB"), ("TB", "TA"), ("TA", "X1"), ("TA", "X2"), ("TB", "X1"), ("TB", "X3"),
         ("X1", "D"), ("X2", "D"), ("X3", "D"), ("O", "DEP"), ("DEP", "TB")]


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
                         "hours": rng.choice(["00:00-24:00", "05:00-23:00"]), "queue_minutes": rng.choice([20, 35, 50])}
    cids = rng.sample(range(100, 999), len(EDGES))
    c, cors = {}, {}
    for (a, b_), n in zip(EDGES, cids):
        c[f"{a}-{b_}"] = f"COR-{n}"
        cors[f"COR-{n}"] = {"from": h[a], "to": h[b_], "minutes": rng.randint(45, 160), "max_weight_t": 40.0,
                            "status": "open"}
    bnums = rng.sample(range(100, 999), 5)
    bnames = rng.sample(BROKER_NAMES, 5)
    roles = {"b1": ["X1"], "b2": ["X1", "X2"], "b3": ["X3"], "b4": ["X2", "X3"], "b5": ["X1"]}
    b = {r: f"BRK-{n}" for r, n in zip(roles, bnums)}
    brokers = {b[r]: {"name": nm, "crossings": [h[x] for x in roles[r]], "fee_eur": rng.choice([85, 95, 120, 140]),
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
    tn = rng.sample(range(100, 999), 4)
    trucks = [f"TRK-{n}" for n in tn]
    trk = {trucks[0]: {"plate": f"{sc['o'][3]}-{rng.randint(1000, 9999)}", "hub": h["O"], "capacity_t": 26.0,
                       "status": "available"},
           trucks[1]: {"plate": f"{sc['o'][3]}-{rng.randint(1000, 9999)}", "hub": h["O"], "capacity_t": 40.0,
                       "status": "available"},
           trucks[2]: {"plate": f"{sc['o'][3]}-{rng.randint(1000, 9999)}", "hub": h["DEP"], "capacity_t": 40.0,
                       "status": "available"},
           trucks[3]: {"plate": f"{sc['o'][3]}-{rng.randint(1000, 9999)}", "hub": h["O"], "capacity_t": 40.0,
                       "status": "maintenance"}}
    init = {"hubs": hubs, "corridors": cors, "shipments": ship, "documents": documents, "brokers": brokers,
            "trucks": trk, "clearances": {}}
    names = {r: hubs[h[r]]["name"] for r in h}
    names.update({f"b:{r}": brokers[b[r]]["name"] for r in b})
    return World(init, sid, h, c, b, trucks, docs, cargo, weight, rng.choice(PLANNERS), start, names)


def _trig(tid, tool, timing, cond, muts, after=None, delay=0):
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=cond,
                   after_triggers=after or [], delay_calls=delay,
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=n) for p, o, n in muts]))


def _goal(cid, w: World, crossings, kind="goal"):
    allowed = [w.h[x] for x in crossings]
    body = f"""
s = _get(state, "shipments.{w.sid}")
if not s or s.get("status") != "dispatched" or s.get("crossing") not in {allowed!r}:
    return False
route = s.get("route") or []
hubs, cors = state.get("hubs", {{}}), state.get("corridors", {{}})
if len(route) < 2 or any(hubs.get(x, {{}}).get("status") != "open" for x in route):
    return False
for a, b in zip(route, route[1:]):
    if not any(c["from"] == a and c["to"] == b and c["status"] == "open" and c["max_weight_t"] >= s["weight_t"]
               for c in cors.values()):
        return False
return any(c["shipment_id"] == {w.sid!r} and c["crossing_id"] == s["crossing"] and c["status"] == "approved"
           and c["procedure"] == "standard" for c in state.get("clearances", {{}}).values())
"""
    names = ", ".join(w.h[x] for x in crossings)
    return checks.custom(cid, f"{w.sid} dispatched on an open route through {names} with standard clearance",
                         body, kind)


def _profile(w: World, refusals=None) -> UserProfile:
    return UserProfile(
        goal=f"shipment {w.sid} ({w.cargo}) dispatched today to {w.names['D']} with valid customs clearance",
        persona=f"{w.planner}, export transport planner",
        known_facts={"shipment": w.sid, "truck": w.trucks[0], "crossing": w.h["X1"]},
        withheld_facts={
            "insurance": f"Our cargo insurance excludes the {w.names['X2']} ({w.h['X2']}); never route through it.",
            "procedure": "We only clear under the standard export procedure, never under a transit bond.",
            "deadline": "The consignee needs it within 16 hours of now."},
        clarifications={"other crossings": f"Any crossing is fine except {w.h['X2']} ({w.names['X2']}).",
                        "truck": "Any of our trucks at the warehouse with enough payload is fine."},
        refusals=refusals or [], fallback_reply="I have no further details on that.")


def _query(w: World) -> str:
    return (f"Shipment {w.sid} ({w.weight} t of {w.cargo}) has to leave {w.names['O']} ({w.h['O']}) today for "
            f"{w.names['D']} ({w.h['D']}). Please file the export clearance at {w.names['X1']} ({w.h['X1']}) "
            f"through {w.names['b:b1']} ({w.b['b1']}), route it via {w.names['TA']} ({w.h['TA']}) and dispatch it "
            f"on truck {w.trucks[0]}. Tell me the expected arrival time.")


def _normal(w: World, xrole="X1", broker=None, path=None, procedure=None):
    extra = {"procedure": procedure} if procedure else {}
    return [step("get_shipment", "observe", shipment_id=w.sid),
            step("list_brokers", "observe", crossing_id=w.h[xrole]),
            step("file_clearance", shipment_id=w.sid, crossing_id=w.h[xrole],
                 broker_id=broker or (w.b["b1"] if xrole == "X1" else w.x_broker(xrole)), **extra),
            step("book_route", shipment_id=w.sid, hub_ids=path or w.path(*PATHS[xrole])),
            step("dispatch_shipment", shipment_id=w.sid, truck_id=w.trucks[0])]


def _switch(w: World, xrole: str, queries=True):
    """Clear and route through another crossing (requery its brokers first)."""
    out = [step("list_brokers", "requery", crossing_id=w.h[xrole])] if queries else []
    return out + [step("file_clearance", shipment_id=w.sid, crossing_id=w.h[xrole], broker_id=w.x_broker(xrole)),
                  step("book_route", shipment_id=w.sid, hub_ids=w.path(*PATHS[xrole])),
                  step("dispatch_shipment", shipment_id=w.sid, truck_id=w.trucks[0])]


def _detect(cid, tid, tools):
    return checks.called_after_trigger(cid, "The change was diagnosed before the final fix", tid, tools)


def _verify():
    return checks.verified_after_last_change("verify", "The shipment was re-checked after the last change",
                                             ["get_shipment", "list_shipments", "list_clearances", "get_clearance"])


def _not_dispatched(w: World):
    return checks.path_not_equals("not_dispatched", f"{w.sid} was not dispatched", f"shipments.{w.sid}.status",
                                  "dispatched")


def _task(w, fam, level, trig, cl, oracle, **kw):
    return make_task(family=fam, level=level, class_name=CLASS, init_config=w.init, query=_query(w),
                     user_profile=kw.pop("profile", None) or _profile(w), triggers=trig, checklist=cl,
                     normal=kw.pop("normal", None) or _normal(w), oracle=oracle, clock_start=w.start, **kw)


def _eta_msg(w, xrole):
    return (f"{w.sid} is dispatched on {w.trucks[0]} through {w.names[xrole]} ({w.h[xrole]}); the ETA is the one "
            "the dispatch returned.")


def _has(hub):
    return f"'{hub}' in list(args.get('hub_ids') or [])"


# -- S3: a corridor on the booked route gets restricted ---------------------------------------------------
def build_s3(rng: random.Random, level: str):
    w = _world(rng)
    fam = FAMILIES_BY_TYPE["S3"]
    cors = w.init["corridors"]
    limit = round(w.weight - rng.choice([4, 6, 8]), 1)
    if level == "easy":
        via_link = rng.random() < 0.5  # which detour to X1 is usable
        if via_link:
            cors[w.c["TB-X1"]]["status"] = "closed"
            alt = w.path("O", "TB", "TA", "X1", "D")
        else:
            cors[w.c["TB-TA"]]["max_weight_t"] = limit
            alt = w.path("O", "TB", "X1", "D")
        trig = [_trig("restrict", "book_route", "before", _has(w.h["TA"]) + f" and {_has(w.h['O'])}",
                      [(f"corridors.{w.c['O-TA']}.max_weight_t", 40.0, limit)])]
        oracle = _normal(w)[:4] + [step("list_corridors", "requery", hub_id=w.h["O"]),
                                   step("list_corridors", "requery", hub_id=w.h["TB"]),
                                   step("book_route", shipment_id=w.sid, hub_ids=alt),
                                   step("dispatch_shipment", shipment_id=w.sid, truck_id=w.trucks[0]),
                                   message(f"{w.c['O-TA']} now has a {limit} t limit; " + _eta_msg(w, "X1"))]
        cl = [_goal("goal", w, ["X1"]),
              _detect("detect", "restrict", ["list_corridors", "estimate_route", "get_hub", "get_shipment"])]
        return _task(w, fam, level, trig, cl, oracle, params={"limit": limit, "via_link": via_link})
    closed = [(f"corridors.{w.c['X1-D']}.status", "open", "closed_to_hgv")]
    t1 = _trig("closure", "book_route", "after", f"{_has(w.h['X1'])} and result.get('success') == True", closed,
               delay=1)
    if level == "medium":
        alt = rng.choice(["X2", "X3"])
        other = "X3" if alt == "X2" else "X2"
        cors[w.c[f"{other}-D"]]["status"] = "closed"  # the other crossing's exit is closed from the start
        oracle = _normal(w) + [step("get_shipment", "requery", shipment_id=w.sid),
                               step("list_corridors", "requery", hub_id=w.h["X1"]),
                               step("list_corridors", "requery", hub_id=w.h[alt])] + _switch(w, alt) + [
            step("get_shipment", "verify", shipment_id=w.sid),
            message(f"{w.c['X1-D']} was closed to trucks after booking; " + _eta_msg(w, alt))]
        cl = [_goal("goal", w, [alt]),
              _detect("detect", "closure", ["get_shipment", "list_corridors", "estimate_route", "get_hub"]), _verify()]
        return _task(w, fam, level, [t1], cl, oracle, params={"alt": alt})
    if level == "hard":
        alt = rng.choice(["X2", "X3"])
        third = "X3" if alt == "X2" else "X2"
        t2 = _trig("closure2", "dispatch_shipment", "after",
                   f"get('shipments.{w.sid}.crossing') == '{w.h[alt]}' and result.get('success') == True",
                   [(f"corridors.{w.c[alt + '-D']}.max_weight_t", 40.0, limit),
                    (f"shipments.{w.sid}.status", "dispatched", "held"),
                    (f"shipments.{w.sid}.hold_reason", None, f"weight restriction on {w.c[alt + '-D']}")],
                   after=["closure"])
        oracle = _normal(w) + [step("get_shipment", "requery", shipment_id=w.sid),
                               step("list_corridors", "requery", hub_id=w.h["X1"])] + _switch(w, alt) + [
            step("get_shipment", "requery", shipment_id=w.sid),
            step("list_corridors", "requery", hub_id=w.h[alt]),
            step("recall_shipment", shipment_id=w.sid),
            step("withdraw_clearance", clearance_id=w.clr(alt))] + _switch(w, third) + [
            step("get_shipment", "verify", shipment_id=w.sid),
            message(f"{w.c['X1-D']} closed and then {w.c[alt + '-D']} got a {limit} t limit while the truck was "
                    f"under way; I recalled it and " + _eta_msg(w, third))]
        cl = [_goal("goal", w, [third]),
              _detect("detect", "closure", ["get_shipment", "list_corridors", "estimate_route", "get_hub"]),
              _detect("detect2", "closure2", ["get_shipment", "list_corridors", "list_shipments"]), _verify()]
        return _task(w, fam, level, [t1, t2], cl, oracle, params={"alt": alt, "limit": limit})
    # impossible: X1's exit gets a weight limit, X3's approach is limited, X2 is excluded by the insurer
    cors[w.c["TB-X3"]]["max_weight_t"] = limit
    cors[w.c["X3-D"]]["status"] = "closed"
    trig = [_trig("restrict", "book_route", "before", _has(w.h["X1"]),
                  [(f"corridors.{w.c['X1-D']}.max_weight_t", 40.0, limit)])]
    oracle = _normal(w)[:4] + [step("list_corridors", "requery", hub_id=w.h["X1"]),
                               step("list_hubs", "requery", kind="border_crossing"),
                               step("list_corridors", "requery", hub_id=w.h["TB"]),
                               step("list_corridors", "requery", hub_id=w.h["X3"]),
                               message(f"{w.sid} cannot be dispatched today: {w.c['X1-D']} out of {w.h['X1']} now has "
                                       f"a {limit} t limit, the {w.h['X3']} approach is limited and its exit closed, "
                                       f"and {w.h['X2']} is excluded by your insurance. Nothing was dispatched.")]
    cl = [checks.never_called("no_x2", f"No clearance filed at the excluded {w.h['X2']}", "file_clearance",
                              {"crossing_id": w.h["X2"]}),
          _not_dispatched(w),
          _detect("detect", "restrict", ["list_corridors", "estimate_route", "get_hub", "list_hubs"]),
          checks.told_user("told", "The user was told")]
    alts = [_normal(w, "X2"), _normal(w, "X3"), _normal(w, path=w.path("O", "TB", "X1", "D"))]
    return _task(w, fam, level, trig, cl, oracle, alternatives=alts,
                 profile=_profile(w, [f"Routing through {w.names['X2']} ({w.h['X2']})"]),
                 infeasible_goal=[_goal("goal", w, ["X1", "X3"])], params={"limit": limit})


# -- S2: the clearance the dispatch depends on is blocked --------------------------------------------------
def build_s2(rng: random.Random, level: str):
    w = _world(rng)
    fam = FAMILIES_BY_TYPE["S2"]
    sid, cert, cert2 = w.sid, w.docs["cert"], w.docs["cert2"]
    clr1 = w.clr("X1")
    if level == "easy":
        good = rng.choice(["b2", "b5"])  # which second broker at X1 is usable
        w.init["brokers"][w.b[good]]["status"] = "active"
        if good == "b5":
            w.init["brokers"][w.b["b2"]]["status"] = "licence_expired"
        trig = [_trig("suspend", "file_clearance", "before", f"args.get('broker_id') == '{w.b['b1']}'",
                      [(f"brokers.{w.b['b1']}.status", "active", "licence_suspended")])]
        oracle = _normal(w)[:3] + [step("list_brokers", "requery", crossing_id=w.h["X1"]),
                                   step("file_clearance", shipment_id=sid, crossing_id=w.h["X1"], broker_id=w.b[good]),
                                   step("book_route", shipment_id=sid, hub_ids=w.path(*PATHS["X1"])),
                                   step("dispatch_shipment", shipment_id=sid, truck_id=w.trucks[0]),
                                   message(f"{w.b['b1']}'s licence is suspended, so {w.b[good]} filed the "
                                           f"clearance; " + _eta_msg(w, "X1"))]
        cl = [_goal("goal", w, ["X1"]), _detect("detect", "suspend", ["list_brokers"])]
        return _task(w, fam, level, trig, cl, oracle, params={"broker": good})
    revoke = [(f"documents.{cert}.status", "valid", "revoked"), (f"clearances.{clr1}.status", "approved", "suspended")]
    if level in ("medium", "hard"):
        t1 = _trig("revoked", "book_route", "after", f"result.get('success') == True and {_has(w.h['X1'])}",
                   revoke + [(f"documents.{cert2}.status", "pending_issue", "valid")], delay=1)
        fix = [step("get_clearance", "requery", clearance_id=clr1), step("list_documents", "requery", shipment_id=sid),
               step("attach_document", shipment_id=sid, document_id=cert2),
               step("resubmit_clearance", clearance_id=clr1),
               step("dispatch_shipment", shipment_id=sid, truck_id=w.trucks[0])]
        if level == "medium":
            oracle = _normal(w) + fix + [step("get_shipment", "verify", shipment_id=sid),
                                         message(f"{cert} was revoked and clearance {clr1} suspended; {cert2} is now "
                                                 f"on file, the clearance is approved again and " + _eta_msg(w, "X1"))]
            cl = [_goal("goal", w, ["X1"]), _detect("detect", "revoked", ["get_clearance", "list_clearances",
                                                                          "list_documents", "get_shipment"]), _verify()]
            return _task(w, fam, level, [t1], cl, oracle)
        alt = rng.choice(["X2", "X3"])
        other = "X3" if alt == "X2" else "X2"
        w.init["hubs"][w.h[other]]["status"] = "closed_for_works"
        t2 = _trig("inspection", "dispatch_shipment", "after",
                   f"result.get('success') == True and get('shipments.{sid}.crossing') == '{w.h['X1']}'",
                   [(f"clearances.{clr1}.status", "approved", "rejected"),
                    (f"shipments.{sid}.status", "dispatched", "held"),
                    (f"shipments.{sid}.hold_reason", None, f"clearance {clr1} rejected at {w.h['X1']}")],
                   after=["revoked"])
        oracle = _normal(w) + fix + [step("get_shipment", "requery", shipment_id=sid),
                                     step("list_clearances", "requery", shipment_id=sid),
                                     step("list_hubs", "requery", kind="border_crossing"),
                                     step("recall_shipment", shipment_id=sid)] + _switch(w, alt) + [
            step("get_shipment", "verify", shipment_id=sid),
            message(f"{cert} was revoked (replaced by {cert2}) and then {w.h['X1']} rejected clearance {clr1} after "
                    f"departure; I recalled the truck, cleared at {w.h[alt]} and " + _eta_msg(w, alt))]
        cl = [_goal("goal", w, [alt]),
              _detect("detect", "revoked", ["get_clearance", "list_clearances", "list_documents", "get_shipment"]),
              _detect("detect2", "inspection", ["get_shipment", "get_clearance", "list_clearances"]), _verify()]
        return _task(w, fam, level, [t1, t2], cl, oracle, params={"alt": alt})
    # impossible: the certificate is revoked with no replacement; the user refuses the transit bond
    trig = [_trig("revoked", "file_clearance", "before", "True", [(f"documents.{cert}.status", "valid", "revoked")])]
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
    return _task(w, fam, level, trig, cl, oracle, alternatives=alts,
                 profile=_profile(w, ["Moving the goods under a transit bond (transit_bond procedure)"]),
                 infeasible_goal=[_goal("goal", w, ["X1", "X2", "X3"])])


# -- ST2: an outage propagates through the crossing network ------------------------------------------------
def build_st2(rng: random.Random, level: str):
    w = _world(rng)
    fam = FAMILIES_BY_TYPE["ST2"]
    sid = w.sid
    hubs = w.init["hubs"]
    if level == "easy":
        trig = [_trig("outage", "book_route", "before", _has(w.h["TA"]),
                      [(f"hubs.{w.h['TA']}.status", "open", "outage")])]
        alt = w.path("O", "TB", "X1", "D")
        if rng.random() < 0.5:  # the depot detour is the only open way to TB
            w.init["corridors"][w.c["O-TB"]]["status"] = "closed"
            alt = w.path("O", "DEP", "TB", "X1", "D")
        oracle = _normal(w)[:4] + [step("get_hub", "requery", hub_id=w.h["TA"]),
                                   step("list_corridors", "requery", hub_id=w.h["O"]),
                                   step("book_route", shipment_id=sid, hub_ids=alt),
                                   step("dispatch_shipment", shipment_id=sid, truck_id=w.trucks[0]),
                                   message(f"{w.h['TA']} has an outage; the truck goes via {w.h['TB']}. "
                                           + _eta_msg(w, "X1"))]
        cl = [_goal("goal", w, ["X1"]),
              _detect("detect", "outage", ["get_hub", "list_hubs", "list_corridors", "estimate_route"])]
        return _task(w, fam, level, trig, cl, oracle, params={"alt": alt})
    if level == "medium":
        alt = rng.choice(["X2", "X3"])
        other = "X3" if alt == "X2" else "X2"
        hubs[w.h[other]]["status"] = "closed_for_works"
        t1 = _trig("outage", "book_route", "after", f"result.get('success') == True and {_has(w.h['X1'])}",
                   [(f"hubs.{w.h['X1']}.status", "open", "outage")], delay=1)
        oracle = _normal(w) + [step("get_hub", "requery", hub_id=w.h["X1"]),
                               step("list_hubs", "requery", kind="border_crossing")] + _switch(w, alt) + [
            step("get_shipment", "verify", shipment_id=sid),
            message(f"The customs system at {w.h['X1']} went down before departure; " + _eta_msg(w, alt))]
        cl = [_goal("goal", w, [alt]),
              _detect("detect", "outage", ["get_hub", "list_hubs", "get_shipment", "estimate_route"]), _verify()]
        return _task(w, fam, level, [t1], cl, oracle, params={"alt": alt})
    if level == "hard":
        near = rng.choice(["X2", "X3"])  # the outage spreads to this crossing three calls later
        far = "X3" if near == "X2" else "X2"
        qn, qf = rng.choice([(20, 50), (35, 50), (20, 35)])
        hubs[w.h[near]]["queue_minutes"], hubs[w.h[far]]["queue_minutes"] = qn, qf
        t1 = _trig("outage", "book_route", "after", f"result.get('success') == True and {_has(w.h['X1'])}",
                   [(f"hubs.{w.h['X1']}.status", "open", "outage")], delay=1)
        t2 = _trig("spread", "dispatch_shipment", "before", "True",
                   [(f"hubs.{w.h[near]}.status", "open", "outage"),
                    (f"hubs.{w.h['X1']}.queue_minutes", hubs[w.h["X1"]]["queue_minutes"], 240)],
                   after=["outage"], delay=3)
        oracle = _normal(w) + [step("get_hub", "requery", hub_id=w.h["X1"]),
                               step("list_brokers", "requery", crossing_id=w.h[near]),
                               step("file_clearance", shipment_id=sid, crossing_id=w.h[near],
                                    broker_id=w.x_broker(near)),
                               step("get_hub", "requery", hub_id=w.h[near]),
                               step("list_hubs", "requery", kind="border_crossing")] + _switch(w, far) + [
            step("get_shipment", "verify", shipment_id=sid),
            message(f"The outage at {w.h['X1']} spread to {w.h[near]}; the shipment was cleared at {w.h[far]}. "
                    + _eta_msg(w, far))]
        cl = [_goal("goal", w, [far]),
              _detect("detect", "outage", ["get_hub", "list_hubs", "get_shipment", "estimate_route"]),
              _detect("detect2", "spread", ["get_hub", "list_hubs", "estimate_route"]), _verify()]
        return _task(w, fam, level, [t1, t2], cl, oracle, params={"near": near})
    # impossible: X1 outage spreading to the terminal TA, X3 closed for works, X2 excluded by the insurer
    hubs[w.h["X3"]]["status"] = "closed_for_works"
    t1 = _trig("outage", "book_route", "before", _has(w.h["X1"]), [(f"hubs.{w.h['X1']}.status", "open", "outage")])
    t2 = _trig("spread", "book_route", "before", "True", [(f"hubs.{w.h['TA']}.status", "open", "outage")],
               after=["outage"], delay=2)
    oracle = _normal(w)[:4] + [step("get_hub", "requery", hub_id=w.h["X1"]),
                               step("list_hubs", "requery", kind="border_crossing"),
                               step("list_hubs", "requery", kind="terminal"),
                               message(f"{w.sid} cannot be dispatched today: {w.h['X1']} has a customs outage that "
                                       f"spread to {w.h['TA']}, {w.h['X3']} is closed for works and {w.h['X2']} is "
                                       "excluded by your insurance. Nothing was dispatched.")]
    cl = [checks.never_called("no_x2", f"No clearance filed at the excluded {w.h['X2']}", "file_clearance",
                              {"crossing_id": w.h["X2"]}),
          _not_dispatched(w),
          _detect("detect", "outage", ["get_hub", "list_hubs", "estimate_route"]),
          checks.told_user("told", "The user was told")]
    alts = [_normal(w)[:4] + _switch(w, "X2"), _normal(w, "X3"), _normal(w, path=w.path("O", "TB", "X1", "D"))]
    return _task(w, fam, level, [t1, t2], cl, oracle, alternatives=alts,
                 profile=_profile(w, [f"Routing through {w.names['X2']} ({w.h['X2']})"]),
                 infeasible_goal=[_goal("goal", w, ["X1", "X3"])])


FAMILIES_BY_TYPE = {
    "S3": Family(name="customs_freight-s3", domain=DOMAIN, conflict_type="S3", build=lambda r, lv: build_s3(r, lv)),
    "S2": Family(name="customs_freight-s2", domain=DOMAIN, conflict_type="S2", build=lambda r, lv: build_s2(r, lv)),
    "ST2": Family(name="customs_freight-st2", domain=DOMAIN, conflict_type="ST2", build=lambda r, lv: build_st2(r, lv)),
}
FAMILIES = list(FAMILIES_BY_TYPE.values())
