"""Container port drayage and cross-border freight: task families (S3, S2, ST2, S1), four levels each."""
from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from ..task.models import Activation, Effects, Mutation, Trigger, UserProfile

CLASS = "PortDrayageEnv"
DOMAIN = "port_drayage"

PORTS = [("Manzanillo", 19.05, -104.31), ("Lazaro Cardenas", 17.96, -102.19), ("Veracruz", 19.20, -96.13),
         ("Altamira", 22.40, -97.93), ("Ensenada", 31.85, -116.62), ("Long Beach", 33.75, -118.21)]
TERMINALS = ["Pier A Container Terminal", "Contecon Terminal", "SSA Terminal", "Hutchison Ports Terminal",
             "TIMSA Terminal", "APM Terminals", "OCUPA Terminal", "CICE Terminal"]
CROSSINGS = ["Laredo World Trade Bridge", "Colombia Solidarity Bridge", "Pharr-Reynosa Bridge", "Otay Mesa",
             "Santa Teresa", "Calexico East", "Nogales Mariposa", "Eagle Pass Bridge II", "Ysleta-Zaragoza",
             "Brownsville Veterans Bridge"]
CONSIGNEES = ["Rio Grande Appliances", "Sonoran Auto Parts", "Bajio Textiles", "Norte Beverage Co.",
              "Delta Home Goods", "Cascade Electronics", "Lonestar Furniture", "Mesa Tools"]
OWNERS = ["MSCU", "MAEU", "CMAU", "HLXU", "ONEU", "EGLV", "TGHU", "OOLU"]
VESSELS = ["MSC Aurora", "Maersk Kinloss", "CMA CGM Rhone", "Ever Given", "ONE Harmony", "Hapag Leverkusen"]
DOCS = ["commercial_invoice", "packing_list", "certificate_of_origin", "bill_of_lading", "pedimento",
        "phytosanitary_certificate"]
DRIVERS = ["J. Ramirez", "M. Okafor", "L. Chen", "A. Novak", "R. Silva", "D. Moreau", "K. Tanaka", "S. Haddad"]
PERSONAS = ["a drayage dispatcher", "a cross-border freight coordinator", "an import logistics planner",
            "a customs brokerage operations lead"]
OK = " and result.get('success')"
NET = ["get_node", "list_nodes", "get_route", "get_move", "list_segments", "list_moves"]
VERIFY = ["get_move", "list_moves", "get_container"]


def _ids(rng: random.Random, k: int, lo: int, hi: int, prefix: str) -> list[str]:
    """k distinct ids whose numbers are at least 3 apart (no +-1 neighbours among them)."""
    while True:
        nums = sorted(rng.sample(range(lo, hi), k))
        if all(b - a >= 3 for a, b in zip(nums, nums[1:])):
            rng.shuffle(nums)
            return [f"{prefix}-{n}" for n in nums]


def _iso(t: datetime) -> str:
    return t.replace(second=0, microsecond=0).isoformat()


_MOVE_GOAL = '''
def _move_ok(cid, dest, crossings, bad_slots):
    c = state["containers"].get(cid)
    if not c or c["customs_status"] != "released":
        return False
    ms = [m for m in state["moves"].values() if m["container_id"] == cid and m["status"] == "dispatched"]
    if len(ms) != 1:
        return False
    m = ms[0]
    if m["destination_id"] != dest or m["eta"] > c["deliver_by"] or m["pickup_node"] != c["location"]:
        return False
    if crossings and m["crossing_id"] not in crossings:
        return False
    b = state["bookings"].get(m["booking_id"])
    if not b or b["status"] != "confirmed" or b["container_id"] != cid or b["slot_id"] in bad_slots:
        return False
    s = state["slots"][b["slot_id"]]
    if s["node_id"] != c["location"] or s["status"] != "open":
        return False
    if any(state["nodes"][n]["status"] != "open" for n in m["path"]):
        return False
    for sid in m["segment_ids"]:
        sg = state["segments"][sid]
        if sg["status"] != "open" or sg["max_load_kg"] < c["gross_kg"]:
            return False
        if c.get("hazmat_class") and not sg["hazmat"]:
            return False
    t = state["trucks"].get(m["truck_id"])
    return bool(t) and t["status"] == "assigned"
'''


def move_goal(cid, desc, container, dest, crossings=None, bad_slots=None):
    body = _MOVE_GOAL + f"\nreturn _move_ok({container!r}, {dest!r}, {crossings or []!r}, {bad_slots or []!r})\n"
    return checks.custom(cid, desc, body, kind="goal")


def _world(rng: random.Random, hazmat: bool = False) -> dict:
    """Nodes: T1 planned terminal, T2 second terminal, O off-dock yard, Y truck yard, J port junction,
    J2 inland junction, X1 planned crossing, X2/X3 other crossings, W destination, W2 other warehouse."""
    start = datetime(2026, rng.randint(3, 10), rng.randint(1, 27), rng.randint(6, 9), rng.choice([0, 15, 30, 45]))
    port, plat, plon = rng.choice(PORTS)
    keys = ["T1", "T2", "O", "Y", "J", "J2", "X1", "X2", "X3", "W", "W2"]
    prefix = {"T1": "TRM", "T2": "TRM", "O": "ODY", "Y": "YRD", "J": "JCT", "J2": "JCT", "X1": "XNG", "X2": "XNG",
              "X3": "XNG", "W": "WH", "W2": "WH"}
    nums = _ids(rng, len(keys), 10, 99, "N")
    N = {k: f"{prefix[k]}-{n[2:]}" for k, n in zip(keys, nums)}
    terms = rng.sample(TERMINALS, 2)
    xn = rng.sample(CROSSINGS, 3)
    cons = rng.sample(CONSIGNEES, 2)
    names = {"T1": f"{port} {terms[0]}", "T2": f"{port} {terms[1]}", "O": f"{port} off-dock yard",
             "Y": f"{port} truck yard", "J": f"{port} port gate interchange", "J2": "Inland toll interchange",
             "X1": xn[0], "X2": xn[1], "X3": xn[2], "W": f"{cons[0]} DC", "W2": f"{cons[1]} DC"}
    nodes = {}
    for k in keys:
        kind = {"T": "terminal", "O": "offdock_yard", "Y": "truck_yard", "J": "junction", "X": "border_crossing",
                "W": "warehouse"}[k[0]]
        far = k[0] in "XW"
        nodes[N[k]] = {"name": names[k], "kind": kind, "status": "open", "country": "US" if k[0] == "W" else "MX",
                       "lat": round(plat + (rng.uniform(4, 8) if far else rng.uniform(-0.05, 0.05)), 4),
                       "lon": round(plon + (rng.uniform(-2, 2) if far else rng.uniform(-0.05, 0.05)), 4),
                       "wait_minutes": rng.randint(6, 12) * 5 if kind == "border_crossing" else 0,
                       "hours": "00:00-23:59" if kind != "warehouse" else "06:00-22:00"}
    seg_rng = {"Y-T1": (15, 25), "Y-T2": (15, 25), "Y-O": (15, 25), "T1-T2": (10, 15), "T1-J": (20, 30),
               "T2-J": (20, 30), "O-J": (15, 25), "J-X1": (40, 55), "X1-W": (30, 40), "J-X2": (45, 60),
               "X2-W": (30, 40), "J-J2": (40, 55), "J2-X3": (30, 40), "X3-W": (40, 50), "T2-J2": (75, 90),
               "X2-W2": (30, 40)}
    sid = _ids(rng, len(seg_rng), 100, 990, "SEG")
    S = dict(zip(seg_rng, sid))
    corridors = {"X1": "Corridor 45D", "X2": "Corridor 57", "X3": "Corridor 85", "J2": "Corridor 40"}
    segments = {}
    for (key, rg), x in zip(seg_rng.items(), sid):
        a, b = key.split("-")
        corr = next((v for kk, v in corridors.items() if kk in (a, b)), "Port access road")
        segments[x] = {"a": N[a], "b": N[b], "minutes": rng.randint(*rg), "status": "open", "max_load_kg": 40000,
                       "hazmat": True, "corridor": corr}
    owner = rng.sample(OWNERS, 3)
    C, C2, C3 = [f"{o}{rng.randint(1000000, 9999999)}" for o in owner]
    gross = rng.randint(24, 30) * 1000 + rng.choice([0, 250, 500, 750])
    deliver_by = _iso(start + timedelta(minutes=rng.randint(38, 42) * 10))
    vessel = rng.choice(VESSELS)
    bl = f"BL{rng.randint(100000000, 999999999)}"
    cont = lambda loc, g, hz, cn, dl: {"iso_type": rng.choice(["40HC", "40DV", "20DV"]), "gross_kg": g,  # noqa: E731
                                       "hazmat_class": hz, "location": loc, "vessel": vessel,
                                       "customs_status": "released", "required_doc": None, "consignee": cn,
                                       "deliver_by": dl, "bill_of_lading": bl}
    containers = {C: cont(N["T1"], gross, rng.choice(["3", "8"]) if hazmat else None, cons[0], deliver_by),
                  C2: cont(N["T1"], rng.randint(12, 26) * 1000, None, cons[0], deliver_by),
                  C3: cont(N["T2"], rng.randint(12, 26) * 1000, None, cons[1],
                           _iso(start + timedelta(minutes=rng.randint(50, 70) * 10)))}
    slot_ids = _ids(rng, 8, 100, 990, "APT")
    SL = dict(zip(["T1a", "T1b", "T1x", "T2a", "T2b", "T2x", "Oa", "Ob"], slot_ids))

    def slot(node, s0, s1, cap, booked, fee=0):
        return {"node_id": N[node], "start": _iso(start + timedelta(minutes=s0)),
                "end": _iso(start + timedelta(minutes=s1)), "capacity": cap, "booked": booked, "status": "open",
                "gate": f"Gate {rng.randint(1, 9)}", "fee_usd": fee}

    slots = {SL["T1a"]: slot("T1", -30, rng.randint(14, 18) * 10, 6, rng.randint(1, 4)),
             SL["T1b"]: slot("T1", -30, rng.randint(20, 26) * 10, 6, rng.randint(1, 4)),
             SL["T1x"]: slot("T1", -240, -rng.randint(6, 9) * 10, 6, 6),
             SL["T2a"]: slot("T2", -30, rng.randint(15, 24) * 10, 5, rng.randint(1, 3)),
             SL["T2b"]: slot("T2", -30, rng.randint(15, 24) * 10, 5, 5),
             SL["T2x"]: slot("T2", -240, -rng.randint(6, 9) * 10, 5, 2),
             SL["Oa"]: slot("O", -30, rng.randint(18, 26) * 10, 4, rng.randint(0, 2)),
             SL["Ob"]: slot("O", -30, rng.randint(15, 24) * 10, 4, 4)}
    tk = _ids(rng, 4, 10, 99, "TRK")
    drv = rng.sample(DRIVERS, 4)
    trucks = {tk[0]: {"driver": drv[0], "location": N["Y"], "status": "available", "hazmat_endorsed": True},
              tk[1]: {"driver": drv[1], "location": N["Y"], "status": "available", "hazmat_endorsed": not hazmat},
              tk[2]: {"driver": drv[2], "location": N["Y"], "status": "off_duty", "hazmat_endorsed": True},
              tk[3]: {"driver": drv[3], "location": N["O"], "status": "available", "hazmat_endorsed": False}}
    dids = _ids(rng, 9, 1000, 9999, "DOC")
    docs = {}
    for d, t in zip(dids[:4], rng.sample(DOCS[:4], 4)):
        docs[d] = {"container_id": C, "doc_type": t, "status": "on_file", "reference": f"{t[:3].upper()}-{rng.randint(10000, 99999)}"}
    for d, t in zip(dids[4:7], rng.sample(DOCS, 3)):
        docs[d] = {"container_id": C2, "doc_type": t, "status": "on_file", "reference": f"{t[:3].upper()}-{rng.randint(10000, 99999)}"}
    cfg = {"nodes": nodes, "segments": segments, "containers": containers, "documents": docs, "slots": slots,
           "bookings": {}, "trucks": trucks, "moves": {}, "booking_seq": rng.randint(100, 800),
           "move_seq": rng.randint(100, 800), "terminal_dwell_minutes": 30}
    return dict(start=start, N=N, S=S, SL=SL, C=C, C2=C2, K=tk[0], K2=tk[1], gross=gross, cfg=cfg, dids=dids,
                deliver_by=deliver_by, persona=rng.choice(PERSONAS), po=f"PO-{rng.randint(40000, 99999)}",
                consignee=cons[0])


def _bk(w, k: int) -> str:
    return f"BK-{w['cfg']['booking_seq'] + k}"


def _mv(w, k: int) -> str:
    return f"MV-{w['cfg']['move_seq'] + k}"


def _profile(w, goal_txt, known, withheld, refusals=None, clar=None):
    return UserProfile(goal=goal_txt, persona=w["persona"], known_facts=known, withheld_facts=withheld,
                       clarifications=clar or {}, refusals=refusals or [],
                       fallback_reply="I don't know that; please check the system.")


def _trig(tid, tool, cond, muts, timing="before", delay=0, after=None):
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=cond,
                   delay_calls=delay, after_triggers=after or [],
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=nw) for p, o, nw in muts]))


def _task(fam, level, w, query, profile, triggers, checklist, normal, oracle, alternatives=None, infeasible=None):
    return make_task(family=fam, level=level, class_name=CLASS, init_config=w["cfg"], query=query,
                     user_profile=profile, triggers=triggers, checklist=checklist, normal=normal, oracle=oracle,
                     alternatives=alternatives, infeasible_goal=infeasible, clock_start=w["start"].isoformat(),
                     params={"container": w["C"], "deliver_by": w["deliver_by"]})


def _base(w):
    """Shared names, known facts, query and the static plan's steps."""
    N, SL, C, K = w["N"], w["SL"], w["C"], w["K"]
    nodes = w["cfg"]["nodes"]
    known = {"container": C, "terminal": N["T1"], "pickup_slot": SL["T1a"], "truck": K, "crossing": N["X1"],
             "destination": N["W"]}
    withheld = {"purchase_order": w["po"], "delivery_deadline": w["deliver_by"]}
    term, cross = f"{nodes[N['T1']]['name']} ({N['T1']})", f"{nodes[N['X1']]['name']} ({N['X1']})"
    ask = f"Please book pickup slot {SL['T1a']} for it and dispatch truck {K} to haul it across {cross}."
    situations = [  # three situations; which one is drawn from the task's random ids (the PO number)
        f"Container {C} is discharged at {term} and has to reach {w['consignee']}'s warehouse {N['W']} today. {ask}",
        f"{w['consignee']} is waiting on container {C} to restart a production line; it sits at {term} and "
        f"must be at their warehouse {N['W']} today. {ask}",
        f"Our customs broker just cleared the paperwork for container {C} at {term}; {w['consignee']} wants it "
        f"delivered to warehouse {N['W']} before their receiving dock closes today. {ask}",
    ]
    query = situations[int("".join(ch for ch in str(w["po"]) if ch.isdigit()) or 0) % 3]
    return known, withheld, query


def _dispatch(w, bk: int, xng: str, role="action"):
    return step("dispatch_move", role, container_id=w["C"], truck_id=w["K"], booking_id=_bk(w, bk),
                destination_id=w["N"]["W"], crossing_id=w["N"][xng])


def _normal(w, observe_move=False):
    plan = [step("get_container", "observe", container_id=w["C"]),
            step("book_slot", slot_id=w["SL"]["T1a"], container_id=w["C"]), _dispatch(w, 1, "X1")]
    if observe_move:
        plan.append(step("get_move", "observe", move_id=_mv(w, 1)))
    return plan


def _start(w, extra=None):
    """The oracle's opening: observe, book the planned slot."""
    return [step("get_container", "observe", container_id=w["C"]), extra or step("list_nodes", "observe", kind="border_crossing"),
            step("book_slot", slot_id=w["SL"]["T1a"], container_id=w["C"])]


def _goal(w, **kw):
    return move_goal("delivered", "container on a valid dispatched move arriving in time", w["C"], w["N"]["W"], **kw)


def _add_x4(w, rng, other) -> tuple[str, list[str]]:
    """A fourth crossing with the longest wait and an id listed before the others (``XNG-0n``)."""
    nodes, N, cfg = w["cfg"]["nodes"], w["N"], w["cfg"]
    used = {n["name"] for n in nodes.values()}
    x4 = f"XNG-0{rng.randint(1, 9)}"
    nodes[x4] = dict(nodes[N[other]], name=next(c for c in CROSSINGS if c not in used),
                     wait_minutes=max(n["wait_minutes"] for n in nodes.values()) + 20)
    segs = []
    for a_, b_, mins in ((N["J"], x4, rng.randint(50, 60)), (x4, N["W"], rng.randint(35, 45))):
        sid = next(f"SEG-{k}" for k in iter(lambda: rng.randint(10, 99), None) if f"SEG-{k}" not in cfg["segments"])
        cfg["segments"][sid] = {"a": a_, "b": b_, "minutes": mins, "status": "open", "max_load_kg": 40000,
                                "hazmat": True, "corridor": "Corridor 2"}
        segs.append(sid)
    return x4, segs


_PERMIT_PREF = '''
def _permit_preferred(cid, first, roads):
    """The user's order: the planned crossing while its roads take the load, else the open crossing with the
    shortest border wait whose roads take it."""
    c = state["containers"][cid]
    ms = [m for m in state["moves"].values() if m["container_id"] == cid and m["status"] == "dispatched"]
    if len(ms) != 1:
        return False
    def ok(x):
        if state["nodes"][x]["status"] != "open":
            return False
        for sid in roads[x]:
            sg = state["segments"][sid]
            if sg["status"] != "open" or sg["max_load_kg"] < c["gross_kg"] or (c.get("hazmat_class") and not sg["hazmat"]):
                return False
        return True
    x = ms[0]["crossing_id"]
    if ok(first):
        return x == first
    cands = [(state["nodes"][k]["wait_minutes"], k) for k in roads if ok(k)]
    return bool(cands) and min(cands)[1] == x
'''


def permit_goal(w, roads):
    body = (_MOVE_GOAL + _PERMIT_PREF + f"\nreturn _move_ok({w['C']!r}, {w['N']['W']!r}, [], []) and "
            f"_permit_preferred({w['C']!r}, {w['N']['X1']!r}, {roads!r})\n")
    return checks.custom("delivered", "container on a permitted route in time, over the planned crossing or else "
                         "the shortest wait", body, kind="goal")


# ---------------------------------------------------------------------------------------------- ST2
_XING_PREF = '''
def _xing_preferred(cid, first):
    """The user's order: the planned crossing while it is open, else the open crossing with the shortest wait."""
    ms = [m for m in state["moves"].values() if m["container_id"] == cid and m["status"] == "dispatched"]
    if len(ms) != 1:
        return False
    x = ms[0]["crossing_id"]
    if state["nodes"].get(first, {}).get("status") == "open":
        return x == first
    opened = [(n["wait_minutes"], k) for k, n in state["nodes"].items()
              if n["kind"] == "border_crossing" and n["status"] == "open"]
    return bool(opened) and min(opened)[1] == x
'''


def xing_goal(w):
    body = (_MOVE_GOAL + _XING_PREF + f"\nreturn _move_ok({w['C']!r}, {w['N']['W']!r}, [], []) and "
            f"_xing_preferred({w['C']!r}, {w['N']['X1']!r})\n")
    return checks.custom(
        "delivered", "container on a valid move in time, over the planned crossing or else the shortest wait",
        body, kind="goal")


def _closes(tid, node, minute, after=None, delay=0):
    """A crossing closes at a simulated minute: fires on whatever call the agent makes once the clock passes it."""
    return Trigger(id=tid, activation=Activation(tool="*", timing="before"),
                   condition=f"minutes >= {minute} and get('nodes.{node}.status') == 'open'",
                   after_triggers=after or [], delay_calls=delay,
                   effects=Effects(mutations=[Mutation(state_path=f"nodes.{node}.status", old="open", new="closed")]))


def build_st2(rng: random.Random, level: str):
    """The planned border crossing closes (a timed event): cross where the user's order says (the planned
    crossing while open, else the shortest border wait)."""
    fam = FAMILIES[0]
    w = _world(rng)
    N, C, cfg = w["N"], w["C"], w["cfg"]
    known, withheld, query = _base(w)
    query += " If that crossing can't be used, take the open crossing with the shortest border wait."
    goal_txt = f"{C} dispatched to {N['W']} and delivered by the deadline"
    # the longer-wait crossing gets the smaller id: listings (sorted by id) show it first
    lo, hi = sorted([N["X2"], N["X3"]], key=lambda x: int(x.split("-")[1]))
    alt, other = ("X2", "X3") if N["X2"] == hi else ("X3", "X2")
    nodes = cfg["nodes"]
    nodes[N[other]]["wait_minutes"] = max(nodes[N[other]]["wait_minutes"], nodes[N[alt]]["wait_minutes"] + 15)
    if level != "impossible":  # a fourth, slowest crossing listed first: a cascade never leaves the answer on top
        _add_x4(w, rng, other)
    normal = _normal(w)
    head = normal[:3]
    if level in ("easy", "medium"):
        # easy: closed when the truck is dispatched; medium: the closure notice lands one call later (deferred)
        trig = [_closes("x1_outage", N["X1"], 2 if level == "easy" else 1, delay=0 if level == "easy" else 1)]
        checklist = [xing_goal(w), checks.called_after_trigger("detect", "checked the crossings after the failed dispatch",
                                                               "x1_outage", NET),
                     checks.verified_after_last_change("verify", "end state checked", VERIFY)]
        oracle = head + [step("get_node", "requery", node_id=N["X1"]),
                         step("list_nodes", "requery", kind="border_crossing"), _dispatch(w, 1, alt),
                         step("get_move", "verify", move_id=_mv(w, 1))]
        return _task(fam, level, w, query, _profile(w, goal_txt, known, withheld), trig, checklist, normal, oracle)
    if level == "hard":  # then the chosen crossing closes under the dispatched move (silent)
        trig = [_closes("x1_outage", N["X1"], 2), _closes("alt_outage", N[alt], 6, ["x1_outage"])]
        checklist = [xing_goal(w),
                     checks.called_after_trigger("detect_x1", "noticed the first crossing outage", "x1_outage", NET),
                     checks.called_after_trigger("detect_alt", "noticed the second crossing outage", "alt_outage", NET),
                     checks.verified_after_last_change("verify", "end state checked", VERIFY)]
        oracle = head + [step("get_node", "requery", node_id=N["X1"]),
                         step("list_nodes", "requery", kind="border_crossing"), _dispatch(w, 1, alt),
                         step("list_nodes", "requery", kind="border_crossing"),
                         step("cancel_move", move_id=_mv(w, 1)),
                         step("get_route", "requery", from_node=N["T1"], to_node=N[other], container_id=C),
                         _dispatch(w, 1, other), step("list_moves", "verify", container_id=C)]
        return _task(fam, level, w, query, _profile(w, goal_txt, known, withheld), trig, checklist, normal, oracle)
    # impossible: X1 is closed, the overflow backs X2 up past the deadline, X3 is refused (broker not registered)
    cfg["nodes"][N["X2"]]["wait_minutes"] = rng.randint(50, 60) * 10
    trig = [_closes("x1_outage", N["X1"], 0)]
    withheld["broker"] = f"our customs broker only files entries at {N['X1']} and {N['X2']}"
    refusal = f"crossing at {N['X3']} ({cfg['nodes'][N['X3']]['name']}): our broker is not registered there"
    checklist = [checks.called_after_trigger("detect", "checked the crossings after the failed dispatch", "x1_outage", NET),
                 checks.never_called("no_x3", "did not route over the refused crossing", "dispatch_move",
                                     {"crossing_id": N["X3"]}),
                 checks.no_records_match("no_move", "no move left dispatched", "moves", {"status": "dispatched"}),
                 checks.told_user("told", "told the user")]
    infeasible = [_goal(w, crossings=[N["X1"], N["X2"]])]
    oracle = _start(w) + [_dispatch(w, 1, "X1"), step("get_node", "requery", node_id=N["X1"]),
                          step("get_node", "requery", node_id=N["X2"]),
                          step("cancel_booking", booking_id=_bk(w, 1)),
                          message(f"{N['X1']} is closed and the queue at {N['X2']} is "
                                  f"{cfg['nodes'][N['X2']]['wait_minutes']} minutes, so {C} cannot reach {N['W']} "
                                  f"by {w['deliver_by'][11:16]} over a crossing your broker uses. I have not dispatched "
                                  f"the truck and released booking {_bk(w, 1)}.")]
    book = step("book_slot", slot_id=w["SL"]["T1a"], container_id=C)
    alts = [[book, _dispatch(w, 1, "X2")], [book, _dispatch(w, 1, "X3")], [book, _dispatch(w, 1, "X1")]]
    return _task(fam, level, w, query, _profile(w, goal_txt + f" via {N['X1']} or {N['X2']}", known, withheld,
                                                 refusals=[refusal]), trig, checklist, normal, oracle, alts,
                 infeasible)


# ---------------------------------------------------------------------------------------------- S3
def build_s3(rng: random.Random, level: str):
    fam = FAMILIES[1]
    hazmat = rng.random() < 0.5
    w = _world(rng, hazmat=hazmat)
    N, S, C, cfg = w["N"], w["S"], w["C"], w["cfg"]
    segs = cfg["segments"]
    known, withheld, query = _base(w)
    goal_txt = f"{C} dispatched to {N['W']} on a permitted route, delivered by the deadline"
    limit = rng.randint(16, 22) * 1000

    def restrict(key):
        if hazmat:
            return [(f"segments.{S[key]}.hazmat", True, False)]
        return [(f"segments.{S[key]}.max_load_kg", 40000, limit)]

    def static(key):
        if hazmat:
            segs[S[key]]["hazmat"] = False
        else:
            segs[S[key]]["max_load_kg"] = limit

    det = ["list_segments", "get_route", "get_move", "get_node"]
    c1 = f"args.get('container_id') == {C!r} and args.get('crossing_id') == {N['X1']!r}"
    x1_key = rng.choice(["J-X1", "X1-W"])
    if level in ("easy", "medium", "hard"):
        query += " If its roads can't take this load, use the crossing with the shortest border wait whose roads can."
        lo, hi = sorted([N["X2"], N["X3"]])
        alt, other = ("X2", "X3") if N["X2"] == hi else ("X3", "X2")  # the longer wait is listed first
        nodes = cfg["nodes"]
        nodes[N[other]]["wait_minutes"] = max(nodes[N[other]]["wait_minutes"], nodes[N[alt]]["wait_minutes"] + 15)
        x4, x4_segs = _add_x4(w, rng, other)
        roads = {N["X1"]: [S["J-X1"], S["X1-W"]], N["X2"]: [S["J-X2"], S["X2-W"]],
                 N["X3"]: [S["J-J2"], S["J2-X3"], S["X3-W"]], x4: x4_segs}
        alt_key = "J-X2" if alt == "X2" else "J2-X3"

        def posted(tid, key, minute, after=None, delay=0):
            """A road restriction posted at a simulated minute (activation '*': whatever call comes next)."""
            muts = restrict(key)
            p, o, _ = muts[0]
            return Trigger(id=tid, activation=Activation(tool="*", timing="before"),
                           condition=f"minutes >= {minute} and get({p!r}) == {o!r}", after_triggers=after or [],
                           delay_calls=delay,
                           effects=Effects(mutations=[Mutation(state_path=pp, old=oo, new=nn) for pp, oo, nn in muts]))
        normal = _normal(w)
        head = normal[:3]
        verify = checks.verified_after_last_change("verify", "end state checked", VERIFY)
        if level in ("easy", "medium"):
            trig = [posted("x1_restricted", x1_key, 2 if level == "easy" else 1, delay=0 if level == "easy" else 1)]
            checklist = [permit_goal(w, roads), checks.called_after_trigger(
                "detect", "checked the road restrictions after the refusal", "x1_restricted", det), verify]
            oracle = head + [step("list_segments", "requery", node_id=N["X1"]),
                             step("get_route", "requery", from_node=N["T1"], to_node=N[alt], container_id=C),
                             _dispatch(w, 1, alt), step("get_move", "verify", move_id=_mv(w, 1))]
            return _task(fam, level, w, query, _profile(w, goal_txt, known, withheld), trig, checklist, normal, oracle)
        trig = [posted("x1_restricted", x1_key, 2), posted("alt_restricted", alt_key, 6, ["x1_restricted"])]
        checklist = [permit_goal(w, roads),
                     checks.called_after_trigger("detect_x1", "noticed the first restriction", "x1_restricted", det),
                     checks.called_after_trigger("detect_alt", "noticed the second restriction", "alt_restricted", det),
                     verify]
        oracle = head + [step("list_segments", "requery", node_id=N["X1"]),
                         step("get_route", "requery", from_node=N["T1"], to_node=N[alt], container_id=C),
                         _dispatch(w, 1, alt), step("get_move", "requery", move_id=_mv(w, 1)),
                         step("list_segments", "requery", node_id=N[alt]), step("cancel_move", move_id=_mv(w, 1)),
                         step("get_route", "requery", from_node=N["T1"], to_node=N[other], container_id=C),
                         _dispatch(w, 1, other), step("list_moves", "verify", container_id=C)]
        return _task(fam, level, w, query, _profile(w, goal_txt, known, withheld), trig, checklist, normal, oracle)
    static("J-X2")
    # impossible: X1 corridor restricted, X2 corridor posted, X3 refused (broker not registered there)
    trig = [_trig("x1_restricted", "dispatch_move", c1, restrict(x1_key))]
    withheld["broker"] = f"our customs broker only files entries at {N['X1']} and {N['X2']}"
    refusal = f"crossing at {N['X3']} ({cfg['nodes'][N['X3']]['name']}): our broker is not registered there"
    checklist = [checks.called_after_trigger("detect", "checked the road restrictions after the refusal",
                                             "x1_restricted", det),
                 checks.never_called("no_x3", "did not route over the refused crossing", "dispatch_move",
                                     {"crossing_id": N["X3"]}),
                 checks.no_records_match("no_move", "no move left dispatched", "moves", {"status": "dispatched"}),
                 checks.told_user("told", "told the user")]
    infeasible = [_goal(w, crossings=[N["X1"], N["X2"]])]
    what = f"hazmat class {cfg['containers'][C]['hazmat_class']}" if hazmat else f"{w['gross']} kg"
    oracle = _start(w, step("list_segments", "observe", node_id=N["J"])) + [
        _dispatch(w, 1, "X1"), step("list_segments", "requery", node_id=N["X1"]),
        step("get_route", "requery", from_node=N["T1"], to_node=N["X2"], container_id=C),
        step("cancel_booking", booking_id=_bk(w, 1)),
        message(f"The roads to {N['X1']} and to {N['X2']} are now restricted and closed to {C} ({what}); the only "
                f"permitted crossing is {N['X3']}, where your broker is not registered. I have not dispatched the "
                f"truck and released booking {_bk(w, 1)}.")]
    book = step("book_slot", slot_id=w["SL"]["T1a"], container_id=C)
    alts = [[book, _dispatch(w, 1, "X2")], [book, _dispatch(w, 1, "X3")], [book, _dispatch(w, 1, "X1")]]
    return _task(fam, level, w, query, _profile(w, goal_txt + f" via {N['X1']} or {N['X2']}", known, withheld,
                                                 refusals=[refusal]), trig, checklist, _normal(w), oracle, alts,
                 infeasible)


# ---------------------------------------------------------------------------------------------- S1
def build_s1(rng: random.Random, level: str):
    fam = FAMILIES[2]
    w = _world(rng)
    N, SL, C, cfg = w["N"], w["SL"], w["C"], w["cfg"]
    known, withheld, query = _base(w)
    goal_txt = f"{C} picked up where it sits and delivered to {N['W']} by the deadline"
    det = ["get_container", "list_containers", "get_move", "list_slots", "get_booking"]
    loc = lambda a, b: (f"containers.{C}.location", N[a], N[b])  # noqa: E731
    # which T2 slot is free varies; the other is full
    if rng.random() < 0.5:
        cfg["slots"][SL["T2a"]], cfg["slots"][SL["T2b"]] = cfg["slots"][SL["T2b"]], cfg["slots"][SL["T2a"]]
        t2_free = SL["T2b"]
    else:
        t2_free = SL["T2a"]
    book2 = step("book_slot", slot_id=t2_free, container_id=C)
    if level != "impossible":
        # both T2 slots workable; the later-ending one has the smaller id (listed first), the user wants the earliest
        sa, sb = sorted([SL["T2a"], SL["T2b"]])
        ea, eb = cfg["slots"][sa]["end"], cfg["slots"][sb]["end"]
        for sid in (sa, sb):
            cfg["slots"][sid]["booked"] = min(cfg["slots"][sid]["booked"], cfg["slots"][sid]["capacity"] - 2)
        if ea == eb:
            eb = _iso(datetime.fromisoformat(eb) - timedelta(minutes=20))
        cfg["slots"][sa]["end"], cfg["slots"][sb]["end"] = max(ea, eb), min(ea, eb)
        t2_free = sb
        book2 = step("book_slot", slot_id=t2_free, container_id=C)
        query += (" If the box is no longer there or that slot can't be used, book the earliest-ending open slot "
                  "without a gate fee where the box now sits.")
        start_hm = _iso(w["start"])
        slot_pref = f"""
c = state["containers"][{C!r}]
bk = [b for b in state["bookings"].values() if b["container_id"] == {C!r} and b["status"] == "confirmed"]
if len(bk) != 1:
    return False
mine = bk[0]["slot_id"]
def ok(sid):
    s = state["slots"][sid]
    return s["node_id"] == c["location"] and s["status"] == "open" and not s.get("fee_usd") \\
        and s["end"] > {start_hm!r} and (sid == mine or s["booked"] < s["capacity"])
if not ok(mine):
    return False
return min((state["slots"][k]["end"], k) for k in state["slots"] if ok(k))[1] == mine"""
        slot_goal = checks.custom("slot", "a pickup slot in the user's order where the container sits", slot_pref, "goal")
        p_, o_, _n = loc("T1", "T2")

        def moved(tid, a_, b_, minute, after=None, delay=0):
            pp, oo, nn = loc(a_, b_)
            return Trigger(id=tid, activation=Activation(tool="*", timing="before"),
                           condition=f"minutes >= {minute} and get({pp!r}) == {oo!r}", after_triggers=after or [],
                           delay_calls=delay, effects=Effects(mutations=[Mutation(state_path=pp, old=oo, new=nn)]))
        verify = checks.verified_after_last_change("verify", "end state checked", VERIFY + ["get_booking", "list_slots"])
    if level == "easy":  # the box is moved before the slot is booked: one corrective booking
        normal = [step("get_container", "observe", container_id=C), step("book_slot", slot_id=SL["T1a"], container_id=C)]
        oracle = normal + [step("get_container", "requery", container_id=C),
                           step("list_slots", "requery", node_id=N["T2"]), book2,
                           step("get_booking", "verify", booking_id=_bk(w, 1))]
        checklist = [slot_goal, checks.called_after_trigger("detect", "re-checked the container after the refusal",
                                                            "relocated", det), verify]
        query = re.sub(r" and dispatch truck \S+ to haul it across .*?\)\.", "; our dispatcher sends the truck later.", query)
        return _task(fam, level, w, query, _profile(w, goal_txt, known, withheld), [moved("relocated", "T1", "T2", 1)],
                     checklist, normal, oracle)
    if level in ("medium", "hard"):  # the move lands one call after the booking: the dispatch reveals it
        trig = [moved("relocated", "T1", "T2", 1, delay=1)]
        checklist = [_goal(w), slot_goal, checks.called_after_trigger("detect", "noticed the relocation", "relocated", det),
                     verify]
        normal = _normal(w)
        oracle = normal + [step("get_container", "requery", container_id=C),
                           step("list_slots", "requery", node_id=N["T2"]),
                           step("cancel_booking", booking_id=_bk(w, 1)), book2, _dispatch(w, 2, "X1")]
        if level == "medium":
            oracle += [step("get_move", "verify", move_id=_mv(w, 1))]
        else:  # then the box is moved again, to the off-dock yard, after the truck was dispatched (silent)
            trig.append(moved("relocated_again", "T2", "O", 8, ["relocated"]))
            checklist.insert(3, checks.called_after_trigger("detect_o", "noticed the second relocation",
                                                            "relocated_again", det))
            oracle += [step("get_container", "requery", container_id=C), step("cancel_move", move_id=_mv(w, 1)),
                       step("cancel_booking", booking_id=_bk(w, 2)),
                       step("list_slots", "requery", node_id=N["O"]),
                       step("book_slot", slot_id=SL["Oa"], container_id=C), _dispatch(w, 3, "X1"),
                       step("get_move", "verify", move_id=_mv(w, 2))]
        return _task(fam, level, w, query, _profile(w, goal_txt, known, withheld), trig, checklist, normal, oracle)
    # impossible: moved to T2, whose only free slot before the deadline is a premium after-hours slot (refused)
    fee = rng.randint(25, 45) * 10
    cfg["slots"][t2_free]["fee_usd"] = fee
    cfg["slots"][t2_free]["gate"] = "Premium gate"
    # the relocation is in force from the agent's first call, whatever the call (not a reaction to one booking)
    p_, o_, n_ = loc("T1", "T2")
    trig = [Trigger(id="relocated", activation=Activation(tool="*", timing="before"), condition=f"get({p_!r}) == {o_!r}",
                    effects=Effects(mutations=[Mutation(state_path=p_, old=o_, new=n_)]))]
    withheld["budget"] = "no premium gate fees are approved for this container"
    refusal = f"booking premium slot {t2_free} (gate fee {fee} USD not approved)"
    checklist = [checks.called_after_trigger("detect", "re-checked the container after the refusal", "relocated", det),
                 checks.never_called("no_premium", "did not book the refused premium slot", "book_slot",
                                     {"slot_id": t2_free}),
                 checks.no_records_match("no_move", "no move dispatched", "moves", {"status": "dispatched"}),
                 checks.told_user("told", "told the user")]
    infeasible = [_goal(w, bad_slots=[t2_free])]
    oracle = [step("get_container", "observe", container_id=C), step("list_slots", "observe", node_id=N["T1"]),
              step("book_slot", slot_id=SL["T1a"], container_id=C),
              step("get_container", "requery", container_id=C), step("list_slots", "requery", node_id=N["T2"]),
              message(f"{C} was relocated to {N['T2']}, so slot {SL['T1a']} at {N['T1']} cannot be used. At "
                      f"{N['T2']} the standard slots are full or closed and the only free one, {t2_free}, carries a "
                      f"{fee} USD premium gate fee you have not approved. I have not booked or dispatched anything.")]
    other_t2 = SL["T2a"] if t2_free == SL["T2b"] else SL["T2b"]
    alts = [[step("book_slot", slot_id=t2_free, container_id=C), _dispatch(w, 1, "X1")],
            [step("book_slot", slot_id=other_t2, container_id=C), _dispatch(w, 1, "X1")],
            [step("book_slot", slot_id=SL["T2x"], container_id=C), _dispatch(w, 1, "X1")],
            [step("book_slot", slot_id=SL["T1a"], container_id=C), _dispatch(w, 1, "X1")]]
    return _task(fam, level, w, query, _profile(w, goal_txt + " without premium gate fees", known, withheld,
                                                 refusals=[refusal]), trig, checklist, _normal(w), oracle, alts,
                 infeasible)


# ---------------------------------------------------------------------------------------------- S2
def build_s2(rng: random.Random, level: str):
    fam = FAMILIES[3]
    w = _world(rng)
    N, SL, C, C2, cfg = w["N"], w["SL"], w["C"], w["C2"], w["cfg"]
    docs = cfg["documents"]
    known, withheld, query = _base(w)
    goal_txt = f"{C} released by customs, dispatched to {N['W']} and delivered by the deadline"
    det = ["get_container", "list_documents", "get_move", "list_containers"]
    mine = [d for d in w["dids"][:4]]
    need_a, need_b = rng.sample(mine, 2)
    type_a, type_b = docs[need_a]["doc_type"], docs[need_b]["doc_type"]
    # a rejected earlier version of the first required document (a distractor)
    stale = w["dids"][7]
    docs[stale] = {"container_id": C, "doc_type": type_a, "status": "rejected", "reference": f"{type_a[:3].upper()}-{rng.randint(10000, 99999)}"}

    def hold(doc_type, frm="released"):
        return [(f"containers.{C}.customs_status", frm, "hold"), (f"containers.{C}.required_doc", None, doc_type)]

    c1 = f"args.get('container_id') == {C!r}"
    K = w["K"]
    def timed(tid, muts, minute, extra="", after=None):
        """Customs acts at a simulated minute (activation '*': whatever call the agent makes then)."""
        p0, o0, _ = muts[0]
        return Trigger(id=tid, activation=Activation(tool="*", timing="before"),
                       condition=f"minutes >= {minute} and get({p0!r}) == {o0!r}{extra}", after_triggers=after or [],
                       effects=Effects(mutations=[Mutation(state_path=p_, old=o_, new=n_) for p_, o_, n_ in muts]))
    normal = _normal(w)
    if level == "medium":  # the hold is placed before the dispatch: file the document, dispatch again
        trig = [timed("hold", hold(type_a), 2)]
        checklist = [_goal(w), checks.called_after_trigger("detect", "looked into the customs hold", "hold", det),
                     checks.verified_after_last_change("verify", "end state checked", VERIFY)]
        oracle = normal + [step("get_container", "requery", container_id=C),
                           step("list_documents", "requery", container_id=C),
                           step("submit_document", container_id=C, document_id=need_a), _dispatch(w, 1, "X1"),
                           step("get_move", "verify", move_id=_mv(w, 1))]
        return _task(fam, level, w, query, _profile(w, goal_txt, known, withheld), trig, checklist, normal, oracle)
    if level == "hard":
        # a hold on the first document; once it is accepted customs asks for a second one and the terminal closes
        # the booked slot meanwhile: the user's slot order (named slot, else the earliest-ending fee-free open slot)
        query += " If that slot can't be used, book the earliest-ending open slot without a gate fee at the terminal."
        start_hm = _iso(w["start"])
        slot_pref = f"""
c = state["containers"][{C!r}]
bk = [b for b in state["bookings"].values() if b["container_id"] == {C!r} and b["status"] == "confirmed"]
if len(bk) != 1:
    return False
mine = bk[0]["slot_id"]
def ok(sid):
    s = state["slots"][sid]
    return s["node_id"] == c["location"] and s["status"] == "open" and not s.get("fee_usd") \\
        and s["end"] > {start_hm!r} and (sid == mine or s["booked"] < s["capacity"])
if not ok(mine):
    return False
return min((state["slots"][k]["end"], k) for k in state["slots"] if ok(k))[1] == mine"""
        trig = [timed("hold", hold(type_a), 2),
                timed("second_hold", hold(type_b) + [(f"slots.{SL['T1a']}.status", "open", "closed")], 5,
                      f" and get('containers.{C}.required_doc') == None", ["hold"])]
        checklist = [_goal(w), checks.custom("slot", "pickup slot in the user's order", slot_pref, "goal"),
                     checks.called_after_trigger("detect_1", "noticed the first hold", "hold", det),
                     checks.called_after_trigger("detect_2", "noticed the second hold", "second_hold",
                                                 det + ["list_slots", "get_booking"]),
                     checks.verified_after_last_change("verify", "end state checked", VERIFY)]
        oracle = normal + [step("list_documents", "requery", container_id=C),
                           step("submit_document", container_id=C, document_id=need_a),
                           step("get_container", "requery", container_id=C),
                           step("list_documents", "requery", container_id=C),
                           step("submit_document", container_id=C, document_id=need_b),
                           step("get_booking", "requery", booking_id=_bk(w, 1)),
                           step("list_slots", "requery", node_id=N["T1"]),
                           step("cancel_booking", booking_id=_bk(w, 1)),
                           step("book_slot", slot_id=SL["T1b"], container_id=C),
                           _dispatch(w, 2, "X1"), step("get_move", "verify", move_id=_mv(w, 1))]
        return _task(fam, level, w, query, _profile(w, goal_txt, known, withheld), trig, checklist, normal, oracle)
    # impossible: the hold needs a document that is not on file (only a rejected version); the sister
    # container from the same bill of lading is released but the user refuses to swap it in
    missing = rng.choice([d for d in DOCS if d not in {docs[x]["doc_type"] for x in mine}])
    docs[stale]["doc_type"] = missing
    docs[stale]["reference"] = f"{missing[:3].upper()}-{rng.randint(10000, 99999)}"
    sis = next((d for d in w["dids"][4:7] if docs[d]["doc_type"] == missing), w["dids"][4])
    docs[sis]["doc_type"] = missing
    trig = [_trig("hold", "dispatch_move", c1, hold(missing))]
    withheld["sister_container"] = f"{C2} on the same bill of lading belongs to a different purchase order"
    refusal = f"dispatching the sister container {C2} instead (different purchase order)"
    checklist = [checks.called_after_trigger("detect", "looked into the customs hold", "hold", det),
                 checks.never_called("no_swap", "did not ship the refused sister container", "dispatch_move",
                                     {"container_id": C2}),
                 checks.no_records_match("no_move", "no move dispatched", "moves", {"status": "dispatched"}),
                 checks.told_user("told", "told the user")]
    infeasible = [_goal(w)]
    oracle = _start(w, step("list_documents", "observe", container_id=C)) + [
        _dispatch(w, 1, "X1"), step("get_container", "requery", container_id=C),
        step("list_documents", "requery", container_id=C), step("cancel_booking", booking_id=_bk(w, 1)),
        message(f"Customs placed a hold on {C} that requires a {missing}; the only one on file ({stale}) was "
                f"rejected, so the container cannot be released or dispatched today. I have not dispatched the truck, "
                f"released booking {_bk(w, 1)} and did not swap in {C2}.")]
    book = step("book_slot", slot_id=SL["T1a"], container_id=C)
    alts = [[book, step("submit_document", container_id=C, document_id=stale), _dispatch(w, 1, "X1")],
            [book, step("submit_document", container_id=C, document_id=sis), _dispatch(w, 1, "X1")],
            [book, _dispatch(w, 1, "X1")] + [step("submit_document", container_id=C, document_id=d) for d in mine]
            + [_dispatch(w, 1, "X1")],
            [step("book_slot", slot_id=SL["T1b"], container_id=C2),
             step("dispatch_move", container_id=C2, truck_id=K, booking_id=_bk(w, 1), destination_id=N["W"],
                  crossing_id=N["X1"])]]
    return _task(fam, level, w, query, _profile(w, goal_txt, known, withheld, refusals=[refusal]), trig, checklist,
                 _normal(w), oracle, alts, infeasible)


FAMILIES = [
    Family(name="port_drayage-st2", domain=DOMAIN, conflict_type="ST2", build=build_st2),
    Family(name="port_drayage-s3", domain=DOMAIN, conflict_type="S3", build=build_s3),
    Family(name="port_drayage-s1", domain=DOMAIN, conflict_type="S1", build=build_s1),
    # S2 has no honest easy level here (a customs hold always needs a filing and a new dispatch: two writes);
    # S2 easy is covered by hub_inventory-s2
    Family(name="port_drayage-s2", domain=DOMAIN, conflict_type="S2", build=build_s2,
           levels=("medium", "hard", "impossible")),
]
