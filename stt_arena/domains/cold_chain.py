"""Cold-chain medical-sample logistics: task families (T1, ST3, ST2, S3), four levels each."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from ..task.models import Activation, Effects, Mutation, Trigger, UserProfile

CLASS = "ColdChainEnv"
DOMAIN = "cold_chain"

CLINICS = ["St. Anne Oncology Clinic", "Riverside Dialysis Center", "Northgate Pediatrics", "Harbor Fertility Unit",
           "Elm Street Transplant Clinic", "Westfield Hematology", "Lakeside Research Ward", "Kingsbridge GP Practice"]
HUBS = ["Ringroad Cold Hub", "Airport Logistics Park", "Eastport Depot", "Southbank Relay", "Millfield Cross-dock",
        "Canal Street Hub", "Old Mill Transfer Point", "Northern Bypass Depot"]
LABS = ["Central Pathology Lab", "Genomics Core Facility", "Regional Virology Lab", "University Biobank",
        "Metro Clinical Chemistry", "Transplant Immunology Lab", "Coastal Reference Lab", "Biomarker Analytics Lab"]
COURIERS = ["Ana Silva", "Tom Becker", "Priya Nair", "Lukas Meyer", "Sara Okafor", "Jon Park", "Mia Rossi",
            "Omar Haddad", "Eva Novak", "Ken Ito", "Lea Dubois", "Raj Patel", "Nina Berg", "Ivo Kral"]
SAMPLES = [("whole_blood", 2.0, 8.0), ("plasma_pk", 2.0, 8.0), ("csf", 2.0, 8.0), ("tissue_biopsy", 2.0, 6.0),
           ("urine_culture", 2.0, 8.0), ("bone_marrow", 2.0, 10.0)]
PERSONAS = ["a clinical trial coordinator", "a hospital logistics dispatcher", "a research nurse",
            "a biobank sample manager"]

_GOAL = '''
def _ok(bid, labs, avoid):
    boxes, ships = state.get("boxes", {}), state.get("shipments", {})
    box = boxes.get(bid)
    if not box or box.get("status") != "in_transit":
        return False
    sh = ships.get(box.get("shipment"))
    if not sh or sh.get("status") != "dispatched" or sh.get("box_id") != bid:
        return False
    if labs and sh["lab_id"] not in labs:
        return False
    lab, c = state["labs"][sh["lab_id"]], state["couriers"][sh["courier_id"]]
    if lab["status"] != "receiving" or box["sample_type"] not in lab["accepts"]:
        return False
    if not (lab["window_open"] <= sh["eta"] <= lab["window_close"]) or sh["eta"] > box["expires_at"]:
        return False
    if not (box["temp_min"] <= box["temp_c"] <= box["temp_max"]):
        return False
    if c["status"] != "on_route" or c.get("shipment") != box["shipment"] or c["shift_end"] < sh["eta"]:
        return False
    for s in sh["path"]:
        if state["sites"][s]["status"] != "operational" or s in avoid:
            return False
    for rid in sh["route_ids"]:
        r = state["routes"][rid]
        if r["status"] != "open" or c["vehicle"] not in r["vehicles"]:
            return False
    return True
'''


def goal(cid: str, desc: str, bids: list[str], labs: list[str] | None = None, avoid: list[str] | None = None,
         no_recharge: bool = False):
    body = _GOAL + f"\nok = all(_ok(b, {labs or []!r}, {avoid or []!r}) for b in {bids!r})\n"
    if no_recharge:
        body += "ok = ok and not any(e['tool'] == 'recharge_coolant' and e['success'] for e in log)\n"
    body += "return ok\n"
    return checks.custom(cid, desc, body, kind="goal")


def detect(cid: str, desc: str, trigger_id: str, tools: list[str], args: dict | None = None):
    """Detection for a *delayed* trigger: a successful query of ``tools`` after the effects landed and before the
    next successful state change. Unlike ``checks.called_after_trigger`` the query on which the effects landed
    counts too (the effects applied before it ran, so it already saw the new state)."""
    return checks.custom(cid, desc, f"""
t = _trigger_step(log, {trigger_id!r})
if t is None:
    return True
fix = min((e["step"] for e in log if e["mutating"] and e["success"] and (e["step"] > t or (
    e["step"] == t and {trigger_id!r} in e.get("events_before", [])))), default=10 ** 9)
return any(t <= e["step"] < fix and e["success"] and not e["mutating"]
           and (e["step"] > t or {trigger_id!r} in e.get("events_before", []))
           and any(_match(e, tool, {args or {}!r}) for tool in {tools!r}) for e in log)""", kind="detection")


def _iso(t: datetime) -> str:
    return t.replace(second=0, microsecond=0).isoformat()


def _world(rng: random.Random) -> dict:
    """A city network: clinic CL, hubs H1/H2/H3, lab sites SA (via H1 only), SB (via H2 only), SD (via H3),
    SC (distractor lab, wrong sample types)."""
    day, hour, minute = rng.randint(2, 27), rng.randint(7, 9), rng.choice([0, 10, 15, 20, 30, 40, 45])
    start = datetime(2026, 3, day, hour, minute)
    n = rng.sample(range(10, 99), 20)
    CL, H1, H2, H3 = f"CLN-{n[0]}", f"HUB-{n[1]}", f"HUB-{n[2]}", f"HUB-{n[3]}"
    SA, SB, SC, SD = (f"LS-{n[i]}" for i in (4, 5, 6, 7))
    ln = rng.sample(range(100, 999), 4)
    LA, LB, LC, LD = (f"LAB-{x}" for x in ln)
    cn = rng.sample(range(10, 99), 10)
    K = [f"CR-{x}" for x in cn]
    bn = rng.sample(range(1000, 9999), 3)
    B1, B2, B3 = (f"CB-{x}" for x in bn)
    clinic, hubs, labn, cour = rng.choice(CLINICS), rng.sample(HUBS, 3), rng.sample(LABS, 4), rng.sample(COURIERS, 10)
    stype, tmin, tmax = rng.choice(SAMPLES)
    other = [s for s, _, _ in SAMPLES if s != stype]
    lat0, lon0 = round(rng.uniform(45.0, 52.0), 3), round(rng.uniform(5.0, 12.0), 3)

    def site(name, kind, coolant, dock):
        return {"name": name, "kind": kind, "lat": round(lat0 + rng.uniform(-0.08, 0.08), 4),
                "lon": round(lon0 + rng.uniform(-0.12, 0.12), 4), "status": "operational", "dock": dock,
                "coolant_station": coolant}

    sites = {CL: site(clinic, "clinic", True, "none"), H1: site(hubs[0], "hub", True, "open"),
             H2: site(hubs[1], "hub", True, "open"), H3: site(hubs[2], "hub", False, "open"),
             SA: site(labn[0], "lab", False, "none"), SB: site(labn[1], "lab", False, "none"),
             SC: site(labn[2], "lab", False, "none"), SD: site(labn[3], "lab", False, "none")}
    rn = rng.sample(range(10, 99), 8)
    R = {k: f"RT-{x}" for k, x in zip(["CL-H1", "CL-H2", "H1-SA", "H2-SB", "H1-H2", "CL-H3", "H3-SD", "CL-SC"], rn)}
    mins = {"CL-H1": (12, 20), "CL-H2": (14, 22), "H1-SA": (10, 18), "H2-SB": (10, 18), "H1-H2": (15, 25),
            "CL-H3": (25, 35), "H3-SD": (20, 30), "CL-SC": (8, 14)}
    ends = {"CL": CL, "H1": H1, "H2": H2, "H3": H3, "SA": SA, "SB": SB, "SC": SC, "SD": SD}
    routes = {}
    for key, rid in R.items():
        a, b = key.split("-")
        routes[rid] = {"a": ends[a], "b": ends[b], "minutes": rng.randint(*mins[key]), "status": "open",
                       "vehicles": ["van", "bike"]}
    w_open = _iso(start - timedelta(minutes=rng.choice([60, 90, 120])))

    def lab(lid, s, name, accepts):
        cap = rng.randint(9, 14)
        return {"lab_id": lid, "name": name, "site": s, "accepts": accepts, "status": "receiving",
                "window_open": w_open, "window_close": _iso(start + timedelta(minutes=rng.randint(330, 420))),
                "capacity": cap, "booked": rng.randint(2, cap - 4)}

    labs = {LA: lab(LA, SA, labn[0], sorted([stype, rng.choice(other)])), LB: lab(LB, SB, labn[1], [stype]),
            LC: lab(LC, SC, labn[2], sorted(rng.sample(other, 2))), LD: lab(LD, SD, labn[3], sorted([stype, other[0]]))}

    def courier(i, s, vehicle, status="available"):
        return {"name": cour[i], "site": s, "vehicle": vehicle, "status": status,
                "shift_end": _iso(start + timedelta(minutes=rng.randint(360, 480))), "shipment": None}

    # K0 van @CL (primary), K1 bike @CL, K2 van @H1 (planned relay), K3 van @H1 (alt), K4 bike @H1,
    # K5 van @H2, K6 van @H2 (off duty, distractor), K7 van @H3
    couriers = {K[0]: courier(0, CL, "van"), K[1]: courier(1, CL, "bike"), K[2]: courier(2, H1, "van"),
                K[3]: courier(3, H1, "van"), K[4]: courier(4, H1, "bike"), K[5]: courier(5, H2, "van"),
                K[6]: courier(6, H2, "van", "off_duty"), K[7]: courier(7, H3, "van")}

    def box(stp, lo, hi, s):
        return {"sample_type": stp, "site": s, "temp_c": round(rng.uniform(lo + 1.5, hi - 1.5), 1), "temp_min": lo,
                "temp_max": hi, "expires_at": _iso(start + timedelta(minutes=rng.randint(240, 300))),
                "status": "awaiting_pickup", "shipment": None, "coolant_minutes": 360, "recharges": 0}

    o = next(x for x in SAMPLES if x[0] != stype)
    boxes = {B1: box(stype, tmin, tmax, CL), B2: box(stype, tmin, tmax, CL), B3: box(o[0], o[1], o[2], CL)}
    seq = rng.randint(200, 899)
    cfg = {"sites": sites, "routes": routes, "labs": labs, "couriers": couriers, "boxes": boxes, "shipments": {},
           "handoffs": [], "incidents": [], "shipment_seq": seq, "pickup_minutes": 10}
    return dict(start=start, CL=CL, H1=H1, H2=H2, H3=H3, SA=SA, SB=SB, SC=SC, SD=SD, LA=LA, LB=LB, LC=LC, LD=LD,
                K=K, B1=B1, B2=B2, B3=B3, R=R, stype=stype, seq=seq, cfg=cfg, persona=rng.choice(PERSONAS),
                study=f"{rng.choice(['ONC', 'CAR', 'NEU', 'HEM'])}-{rng.randint(100, 999)}")


def _t(w, minutes: int) -> str:
    return _iso(w["start"] + timedelta(minutes=minutes))


def _lab(w, key):
    return w["cfg"]["labs"][w[key]]


def _profile(w, goal_txt, known, withheld, refusals=None, clar=None):
    return UserProfile(goal=goal_txt, persona=w["persona"], known_facts=known, withheld_facts=withheld,
                       clarifications=clar or {}, refusals=refusals or [],
                       fallback_reply="I don't know; please check the system.")


def _trig(tid, tool, cond, muts, timing="before", delay=0, after=None):
    """A trigger that only fires on the state it was designed for (every mutation's old value is current) and,
    for after-timing, only when the activating call succeeded: it never turns an agent's detour into a task error."""
    guards = [f"({cond})"] + [f"get({p!r}) == {o!r}" for p, o, _ in muts]
    if timing == "after":
        guards.append("bool(result) and result.get('success') == True")
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=" and ".join(guards),
                   delay_calls=delay, after_triggers=after or [],
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=nw) for p, o, nw in muts]))


def _task(fam, level, w, query, profile, triggers, checklist, normal, oracle, alternatives=None, infeasible=None,
          params=None):
    return make_task(family=fam, level=level, class_name=CLASS, init_config=w["cfg"], query=query,
                     user_profile=profile, triggers=triggers, checklist=checklist, normal=normal, oracle=oracle,
                     alternatives=alternatives, infeasible_goal=infeasible, clock_start=w["start"].isoformat(),
                     params=params or {})


def _sh(w, k: int) -> str:
    return f"SH-{w['seq'] + k}"


# ---------------------------------------------------------------------------------------------- T1
def build_t1(rng: random.Random, level: str):
    fam = FAMILIES[0]
    w = _world(rng)
    B1, B2, LA, LB, LD, K = w["B1"], w["B2"], w["LA"], w["LB"], w["LD"], w["K"]
    la, lb, ld = _lab(w, "LA"), _lab(w, "LB"), _lab(w, "LD")
    st = w["stype"]
    known = {"box": B1, "sample_type": st, "pickup_site": w["CL"], "courier": K[0], "preferred_lab": LA}
    withheld = {"study_code": w["study"], "box_expiry": w["cfg"]["boxes"][B1]["expires_at"]}
    cutoff = _t(w, rng.randint(2, 6))
    if level == "easy":
        trig = [_trig("la_cutoff", "dispatch_box", f"args.get('box_id') == {B1!r} and args.get('lab_id') == {LA!r}",
                      [(f"labs.{LA}.window_close", la["window_close"], cutoff)])]
        query = (f"Box {B1} with {st} samples for study {w['study']} is ready at {w['CL']}. "
                 f"Please have courier {K[0]} take it to {la['name']} ({LA}) today.")
        checklist = [goal("delivered", "box on a valid dispatched shipment", [B1]),
                     checks.called_after_trigger("detect", "re-checked lab receiving hours", "la_cutoff",
                                                 ["get_lab", "list_labs"])]
        normal = [step("get_box", "observe", box_id=B1), step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA)]
        oracle = [step("get_box", "observe", box_id=B1), step("list_labs", "observe", sample_type=st),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("get_lab", "requery", lab_id=LA),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LB)]
        return _task(fam, level, w, query, _profile(w, f"{B1} dispatched to a lab that can receive it today", known,
                                                     withheld), trig, checklist, normal, oracle)
    if level == "medium":
        bx = w["cfg"]["boxes"][B1]
        hot = round(bx["temp_max"] + rng.choice([0.8, 1.1, 1.4, 1.9]), 1)
        trig = [_trig("excursion", "dispatch_box", f"args.get('box_id') == {B1!r}",
                      [(f"boxes.{B1}.temp_c", bx["temp_c"], hot), (f"boxes.{B1}.expires_at", bx["expires_at"], cutoff)],
                      timing="after", delay=1)]
        query = (f"Box {B1} ({st}, study {w['study']}) is packed at {w['CL']}. "
                 f"Send it with courier {K[0]} to {la['name']} ({LA}) and make sure it arrives within its stability window.")
        checklist = [goal("delivered", "box on a valid dispatched shipment", [B1]),
                     detect("detect", "re-read the box logger", "excursion", ["get_box"], {"box_id": B1}),
                     checks.records_match("recharged", "box coolant replaced", "boxes", {"recharges": 1},
                                          at_least=True, kind="recovery"),
                     checks.verified_after_last_change("verify", "end state checked",
                                                       ["list_shipments", "get_shipment", "get_box"])]
        normal = [step("get_box", "observe", box_id=B1),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("get_shipment", "observe", shipment_id=_sh(w, 1))]
        oracle = [step("get_box", "observe", box_id=B1), step("get_lab", "observe", lab_id=LA),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("get_shipment", "requery", shipment_id=_sh(w, 1)),
                  step("get_box", "requery", box_id=B1),
                  step("cancel_shipment", shipment_id=_sh(w, 1)),
                  step("recharge_coolant", box_id=B1),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("list_shipments", "verify")]
        return _task(fam, level, w, query, _profile(w, f"{B1} reaches {LA} inside its stability window", known,
                                                     withheld), trig, checklist, normal, oracle)
    if level == "hard":
        trig = [_trig("la_cutoff", "dispatch_box", f"args.get('box_id') == {B1!r} and args.get('lab_id') == {LA!r}",
                      [(f"labs.{LA}.window_close", la["window_close"], _t(w, rng.randint(10, 14)))], timing="after"),
                _trig("lb_intake", "dispatch_box", f"args.get('box_id') == {B2!r}",
                      [(f"labs.{LB}.capacity", lb["capacity"], lb["booked"] + 1)], delay=1, after=["la_cutoff"])]
        query = (f"Two {st} boxes for study {w['study']}, {B1} and {B2}, are ready at {w['CL']}. "
                 f"Courier {K[0]} takes {B1} and courier {K[1]} takes {B2}, both to {la['name']} ({LA}). "
                 f"Both must be received today.")
        known.update({"second_box": B2, "second_courier": K[1]})
        checklist = [goal("delivered", "both boxes on valid dispatched shipments", [B1, B2]),
                     checks.called_after_trigger("detect_cutoff", "noticed the lab's changed hours", "la_cutoff",
                                                 ["get_lab", "list_labs"]),
                     detect("detect_intake", "noticed the intake change", "lb_intake", ["get_lab", "list_labs"]),
                     checks.verified_after_last_change("verify", "end state checked", ["list_shipments", "get_shipment"])]
        normal = [step("get_box", "observe", box_id=B1), step("get_box", "observe", box_id=B2),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("dispatch_box", box_id=B2, courier_id=K[1], lab_id=LA)]
        oracle = [step("get_box", "observe", box_id=B1), step("get_box", "observe", box_id=B2),
                  step("list_labs", "observe", sample_type=st),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("dispatch_box", box_id=B2, courier_id=K[1], lab_id=LA),
                  step("get_lab", "requery", lab_id=LA),
                  step("list_labs", "requery", sample_type=st),
                  step("redirect_shipment", shipment_id=_sh(w, 1), lab_id=LB),
                  step("dispatch_box", box_id=B2, courier_id=K[1], lab_id=LD),
                  step("list_shipments", "verify")]
        return _task(fam, level, w, query, _profile(w, f"{B1} and {B2} received by a lab today", known, withheld),
                     trig, checklist, normal, oracle)
    # impossible: LA closes early, LD closed for the day, LB refused by the user (protocol)
    ld["window_close"] = _t(w, -rng.randint(20, 50))
    trig = [_trig("la_cutoff", "dispatch_box", f"args.get('box_id') == {B1!r}",
                  [(f"labs.{LA}.window_close", la["window_close"], cutoff)])]
    withheld["protocol"] = f"study {w['study']} samples may only be analysed at {LA} or {LD}"
    query = (f"Box {B1} with {st} samples for study {w['study']} is ready at {w['CL']}. "
             f"Please have courier {K[0]} deliver it to {la['name']} ({LA}) today.")
    refusal = f"sending {B1} to {LB} ({lb['name']}): not validated for study {w['study']}"
    checklist = [checks.called_after_trigger("detect", "re-checked lab receiving hours", "la_cutoff",
                                             ["get_lab", "list_labs"]),
                 checks.never_called("no_refused_lab", "did not send the box to the refused lab", "dispatch_box",
                                     {"lab_id": LB}),
                 checks.no_records_match("no_bad_dispatch", "no shipment left dispatched", "shipments",
                                         {"box_id": B1, "status": "dispatched"}),
                 checks.told_user("told", "told the user")]
    infeasible = [goal("goal_protocol_lab", "box received today by a protocol lab", [B1], labs=[LA, LD])]
    normal = [step("get_box", "observe", box_id=B1), step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA)]
    oracle = [step("get_box", "observe", box_id=B1), step("get_lab", "observe", lab_id=LA),
              step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
              step("get_lab", "requery", lab_id=LA), step("list_labs", "requery", sample_type=st),
              message(f"{LA} has stopped receiving for today and {LD} is closed, so {B1} cannot reach a protocol "
                      f"lab today. I have not dispatched it.")]
    alts = [[step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LD)],
            [step("dispatch_box", box_id=B1, courier_id=K[1], lab_id=LA)],
            [step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LB)]]
    return _task(fam, level, w, query, _profile(w, f"{B1} received today by {LA} or {LD}", known, withheld,
                                                 refusals=[refusal]), trig, checklist, normal, oracle, alts, infeasible)


# ---------------------------------------------------------------------------------------------- ST3
def _in_transit(w, rng):
    """B1 already on the way with courier K0, whose shift ends before the ETA: a relay at H1 is planned."""
    cfg, B1, K = w["cfg"], w["B1"], w["K"]
    sid = _sh(w, 0)
    r1, r2 = w["R"]["CL-H1"], w["R"]["H1-SA"]
    eta = _t(w, cfg["routes"][r1]["minutes"] + cfg["routes"][r2]["minutes"] + rng.randint(25, 40))
    cfg["shipments"][sid] = {"box_id": B1, "courier_id": K[0], "lab_id": w["LA"], "path": [w["CL"], w["H1"], w["SA"]],
                             "route_ids": [r1, r2], "eta": eta, "status": "dispatched",
                             "dispatched_at": _t(w, -rng.randint(20, 35))}
    cfg["boxes"][B1].update(status="in_transit", shipment=sid)
    cfg["couriers"][K[0]].update(status="on_route", shipment=sid, shift_end=_t(w, rng.randint(15, 25)))
    cfg["labs"][w["LA"]]["booked"] += 1
    return sid


def build_st3(rng: random.Random, level: str):
    fam = FAMILIES[1]
    w = _world(rng)
    cfg, B1, K, H1, H2, LA = w["cfg"], w["B1"], w["K"], w["H1"], w["H2"], w["LA"]
    sid = _in_transit(w, rng)
    c = cfg["couriers"]
    la = _lab(w, "LA")
    known = {"shipment": sid, "box": B1, "current_courier": K[0], "relay_courier": K[2], "relay_hub": H1}
    withheld = {"study_code": w["study"], "current_courier_shift_end": c[K[0]]["shift_end"]}
    query = (f"Courier {K[0]} is carrying box {B1} (shipment {sid}) to {la['name']} ({LA}) but goes off shift soon. "
             f"Please hand the box over to {K[2]} at hub {H1} so the delivery completes today.")
    base_normal = [step("get_shipment", "observe", shipment_id=sid),
                   step("handoff_box", shipment_id=sid, to_courier_id=K[2], site_id=H1)]
    if level == "easy":
        trig = [_trig("relay_off", "handoff_box", f"args.get('to_courier_id') == {K[2]!r}",
                      [(f"couriers.{K[2]}.status", "available", "off_duty")])]
        alt = rng.choice([K[3], K[4]])
        checklist = [goal("delivered", "shipment carried by a valid courier", [B1]),
                     checks.called_after_trigger("detect", "re-checked the relay courier", "relay_off",
                                                 ["get_courier", "list_couriers"])]
        oracle = [step("get_shipment", "observe", shipment_id=sid), step("get_courier", "observe", courier_id=K[2]),
                  step("handoff_box", shipment_id=sid, to_courier_id=K[2], site_id=H1),
                  step("list_couriers", "requery", site_id=H1),
                  step("handoff_box", shipment_id=sid, to_courier_id=alt, site_id=H1)]
        return _task(fam, level, w, query, _profile(w, f"{B1} handed over and delivered today", known, withheld),
                     trig, checklist, base_normal, oracle)
    if level == "medium":
        c[K[3]]["shift_end"] = _t(w, rng.randint(3, 7))
        c[K[4]]["status"] = "off_duty"
        trig = [_trig("relay_fault", "handoff_box", f"args.get('to_courier_id') == {K[2]!r}",
                      [(f"couriers.{K[2]}.status", "on_route", "vehicle_fault")], timing="after")]
        checklist = [goal("delivered", "shipment carried by a valid courier", [B1]),
                     checks.called_after_trigger("detect", "re-checked the relay courier", "relay_fault",
                                                 ["get_courier", "list_couriers"]),
                     checks.records_match("second_relay", "a second handoff was made", "handoffs", {"to": K[5]},
                                          kind="recovery"),
                     checks.verified_after_last_change("verify", "end state checked", ["get_shipment", "list_shipments"])]
        normal = base_normal + [step("get_shipment", "observe", shipment_id=sid)]
        oracle = [step("get_shipment", "observe", shipment_id=sid), step("get_courier", "observe", courier_id=K[2]),
                  step("handoff_box", shipment_id=sid, to_courier_id=K[2], site_id=H1),
                  step("get_courier", "requery", courier_id=K[2]),
                  step("list_couriers", "requery", site_id=H1), step("list_couriers", "requery", site_id=H2),
                  step("reroute_shipment", shipment_id=sid, via_site=H2),
                  step("handoff_box", shipment_id=sid, to_courier_id=K[5], site_id=H2),
                  step("get_shipment", "verify", shipment_id=sid)]
        return _task(fam, level, w, query, _profile(w, f"{B1} handed over and delivered today", known, withheld),
                     trig, checklist, normal, oracle)
    if level == "hard":
        c[K[4]]["status"] = "off_duty"
        trig = [_trig("relay_shift", "handoff_box", f"args.get('to_courier_id') == {K[2]!r}",
                      [(f"couriers.{K[2]}.shift_end", c[K[2]]["shift_end"], _t(w, rng.randint(6, 9)))], timing="after"),
                _trig("dock_closed", "handoff_box", f"args.get('site_id') == {H1!r}",
                      [(f"sites.{H1}.dock", "open", "closed")], after=["relay_shift"])]
        checklist = [goal("delivered", "shipment carried by a valid courier", [B1]),
                     checks.called_after_trigger("detect_shift", "re-checked the relay courier", "relay_shift",
                                                 ["get_courier", "list_couriers"]),
                     checks.called_after_trigger("detect_dock", "checked the hub after the refused handoff",
                                                 "dock_closed", ["get_site", "list_sites"]),
                     checks.verified_after_last_change("verify", "end state checked", ["get_shipment", "list_shipments"])]
        oracle = [step("get_shipment", "observe", shipment_id=sid), step("get_courier", "observe", courier_id=K[2]),
                  step("handoff_box", shipment_id=sid, to_courier_id=K[2], site_id=H1),
                  step("get_courier", "requery", courier_id=K[2]),
                  step("list_couriers", "requery", site_id=H1),
                  step("handoff_box", shipment_id=sid, to_courier_id=K[3], site_id=H1),
                  step("get_site", "requery", site_id=H1),
                  step("list_couriers", "requery", site_id=H2),
                  step("reroute_shipment", shipment_id=sid, via_site=H2),
                  step("handoff_box", shipment_id=sid, to_courier_id=K[5], site_id=H2),
                  step("get_shipment", "verify", shipment_id=sid)]
        return _task(fam, level, w, query, _profile(w, f"{B1} handed over and delivered today", known, withheld),
                     trig, checklist, base_normal, oracle)
    c[K[3]]["shift_end"] = _t(w, rng.randint(3, 7))
    c[K[4]]["status"] = "off_duty"
    c[K[7]]["status"] = "off_duty"
    trig = [_trig("relay_off", "handoff_box", f"args.get('to_courier_id') == {K[2]!r}",
                  [(f"couriers.{K[2]}.status", "available", "off_duty")])]
    withheld["corridor_rule"] = f"biosafety permit covers only the {H1} corridor; {B1} must not pass {H2}"
    refusal = f"routing {B1} through hub {H2} (outside the biosafety permit)"
    checklist = [checks.called_after_trigger("detect", "re-checked the relay courier", "relay_off",
                                             ["get_courier", "list_couriers"]),
                 checks.never_called("no_h2", "did not route through the refused hub", "reroute_shipment",
                                     {"via_site": H2}),
                 checks.told_user("told", "told the user")]
    infeasible = [goal("goal_relay", "box relayed inside the permitted corridor", [B1], avoid=[H2])]
    oracle = [step("get_shipment", "observe", shipment_id=sid), step("get_courier", "observe", courier_id=K[2]),
              step("handoff_box", shipment_id=sid, to_courier_id=K[2], site_id=H1),
              step("list_couriers", "requery", site_id=H1),
              message(f"{K[2]} is now off duty and no other courier at {H1} can take {B1} before {LA}'s "
                      f"delivery deadline; the only other relay passes {H2}, which you ruled out. The box stays with {K[0]}.")]
    alts = [[step("handoff_box", shipment_id=sid, to_courier_id=K[3], site_id=H1)],
            [step("handoff_box", shipment_id=sid, to_courier_id=K[4], site_id=H1)],
            [step("reroute_shipment", shipment_id=sid, via_site=H2),
             step("handoff_box", shipment_id=sid, to_courier_id=K[5], site_id=H2)]]
    return _task(fam, level, w, query, _profile(w, f"{B1} relayed at {H1} and delivered today", known, withheld,
                                                 refusals=[refusal]), trig, checklist, base_normal, oracle, alts,
                 infeasible)


# ---------------------------------------------------------------------------------------------- ST2
def build_st2(rng: random.Random, level: str):
    fam = FAMILIES[2]
    w = _world(rng)
    B1, B2, K, H1, H2, LA, LB, LD = w["B1"], w["B2"], w["K"], w["H1"], w["H2"], w["LA"], w["LB"], w["LD"]
    la, lb, ld = _lab(w, "LA"), _lab(w, "LB"), _lab(w, "LD")
    st = w["stype"]
    known = {"box": B1, "sample_type": st, "pickup_site": w["CL"], "courier": K[0], "preferred_lab": LA}
    withheld = {"study_code": w["study"], "box_expiry": w["cfg"]["boxes"][B1]["expires_at"]}
    out = lambda tid, site, **kw: _trig(tid, kw.pop("tool", "dispatch_box"), kw.pop("cond", "True"),  # noqa: E731
                                        [(f"sites.{site}.status", "operational", "outage")], **kw)
    query = (f"Box {B1} ({st}, study {w['study']}) is waiting at {w['CL']}. "
             f"Please send it with courier {K[0]} to {la['name']} ({LA}) and keep me posted if anything changes.")
    if level == "easy":
        trig = [out("h1_outage", H1, cond=f"args.get('box_id') == {B1!r} and args.get('lab_id') == {LA!r}")]
        checklist = [goal("delivered", "box on a valid dispatched shipment", [B1]),
                     checks.called_after_trigger("detect", "checked the network after the failed dispatch",
                                                 "h1_outage", ["list_sites", "get_site", "get_travel_time", "list_routes"])]
        normal = [step("get_box", "observe", box_id=B1), step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA)]
        oracle = [step("get_box", "observe", box_id=B1), step("list_labs", "observe", sample_type=st),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("list_sites", "requery"),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LB)]
        return _task(fam, level, w, query, _profile(w, f"{B1} delivered today", known, withheld), trig, checklist,
                     normal, oracle)
    if level == "medium":
        trig = [out("h1_outage", H1, cond=f"args.get('box_id') == {B1!r}", timing="after", delay=1)]
        checklist = [goal("delivered", "box on a valid dispatched shipment", [B1]),
                     detect("detect", "re-checked the shipment's path", "h1_outage",
                            ["get_shipment", "list_sites", "get_site"]),
                     checks.verified_after_last_change("verify", "end state checked", ["list_shipments"])]
        normal = [step("get_box", "observe", box_id=B1), step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("get_lab", "observe", lab_id=LA), step("list_shipments", "observe")]
        oracle = [step("get_box", "observe", box_id=B1), step("get_lab", "observe", lab_id=LA),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("get_lab", "observe", lab_id=LA), step("list_shipments", "observe"),
                  step("get_shipment", "requery", shipment_id=_sh(w, 1)),
                  step("list_labs", "requery", sample_type=st),
                  step("redirect_shipment", shipment_id=_sh(w, 1), lab_id=LB),
                  step("list_shipments", "verify")]
        return _task(fam, level, w, query, _profile(w, f"{B1} delivered today", known, withheld), trig, checklist,
                     normal, oracle)
    if level == "hard":
        trig = [out("h1_outage", H1, cond=f"args.get('box_id') == {B2!r}", timing="after", delay=1),
                out("h2_outage", H2, tool="redirect_shipment", timing="after", delay=1, after=["h1_outage"])]
        ld["capacity"] = max(ld["capacity"], ld["booked"] + 4)
        query = (f"Boxes {B1} and {B2} ({st}, study {w['study']}) are waiting at {w['CL']}. "
                 f"Send {B1} with {K[0]} to {la['name']} ({LA}) and {B2} with {K[1]} to {lb['name']} ({LB}). "
                 f"Both must be received today.")
        known.update({"second_box": B2, "second_courier": K[1], "second_lab": LB})
        checklist = [goal("delivered", "both boxes on valid dispatched shipments", [B1, B2]),
                     detect("detect_h1", "noticed the first outage", "h1_outage",
                            ["get_shipment", "list_sites", "get_site"]),
                     detect("detect_h2", "noticed the propagated outage", "h2_outage",
                            ["get_shipment", "list_sites", "get_site"]),
                     checks.verified_after_last_change("verify", "end state checked", ["list_shipments"])]
        normal = [step("get_box", "observe", box_id=B1), step("get_box", "observe", box_id=B2),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("dispatch_box", box_id=B2, courier_id=K[1], lab_id=LB), step("list_shipments", "observe")]
        oracle = [step("get_box", "observe", box_id=B1), step("get_box", "observe", box_id=B2),
                  step("list_labs", "observe", sample_type=st),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("dispatch_box", box_id=B2, courier_id=K[1], lab_id=LB),
                  step("list_shipments", "observe"),
                  step("get_shipment", "requery", shipment_id=_sh(w, 1)),
                  step("redirect_shipment", shipment_id=_sh(w, 1), lab_id=LB),
                  step("get_shipment", "requery", shipment_id=_sh(w, 2)),
                  step("list_sites", "requery"),
                  step("redirect_shipment", shipment_id=_sh(w, 1), lab_id=LD),
                  step("redirect_shipment", shipment_id=_sh(w, 2), lab_id=LD),
                  step("list_shipments", "verify")]
        return _task(fam, level, w, query, _profile(w, f"{B1} and {B2} received today", known, withheld), trig,
                     checklist, normal, oracle)
    trig = [out("h1_outage", H1, cond=f"args.get('box_id') == {B1!r}"),
            out("h2_outage", H2, cond=f"args.get('box_id') == {B1!r}", after=["h1_outage"])]
    withheld["accreditation"] = f"only {LA} and {LB} are accredited for study {w['study']}"
    refusal = f"sending {B1} to {LD} ({ld['name']}): not accredited for study {w['study']}"
    checklist = [checks.called_after_trigger("detect", "checked the network after the failed dispatch", "h1_outage",
                                             ["list_sites", "get_site", "get_travel_time", "list_routes"]),
                 checks.never_called("no_refused_lab", "did not send the box to the refused lab", "dispatch_box",
                                     {"lab_id": LD}),
                 checks.no_records_match("no_bad_dispatch", "no shipment left dispatched", "shipments",
                                         {"box_id": B1, "status": "dispatched"}),
                 checks.told_user("told", "told the user")]
    infeasible = [goal("goal_accredited", "box received today by an accredited lab", [B1], labs=[LA, LB])]
    normal = [step("get_box", "observe", box_id=B1), step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA)]
    oracle = [step("get_box", "observe", box_id=B1), step("list_labs", "observe", sample_type=st),
              step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
              step("list_sites", "requery"),
              step("get_travel_time", "requery", from_site=w["CL"], to_site=w["SB"]),
              message(f"Hubs {H1} and {H2} are both in outage, so neither {LA} nor {LB} can be reached today. "
                      f"{B1} stays at {w['CL']}.")]
    alts = [[step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LB)],
            [step("dispatch_box", box_id=B1, courier_id=K[1], lab_id=LA)],
            [step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LD)]]
    return _task(fam, level, w, query, _profile(w, f"{B1} received today by {LA} or {LB}", known, withheld,
                                                 refusals=[refusal]), trig, checklist, normal, oracle, alts, infeasible)


# ---------------------------------------------------------------------------------------------- S3
def build_s3(rng: random.Random, level: str):
    fam = FAMILIES[3]
    w = _world(rng)
    cfg, B1, B2, K, H1, LA, LB = w["cfg"], w["B1"], w["B2"], w["K"], w["H1"], w["LA"], w["LB"]
    la, lb = _lab(w, "LA"), _lab(w, "LB")
    st = w["stype"]
    R = w["R"]["H1-SA"]
    ban = (f"routes.{R}.vehicles", ["van", "bike"], ["bike"])
    close = (f"routes.{R}.status", "open", "closed")
    known = {"box": B1, "sample_type": st, "pickup_site": w["CL"], "courier": K[0], "lab": LA}
    withheld = {"study_code": w["study"], "box_expiry": cfg["boxes"][B1]["expires_at"]}
    query = (f"Box {B1} ({st}, study {w['study']}) is ready at {w['CL']}. "
             f"Our van driver {K[0]} should bring it to {la['name']} ({LA}) this morning.")
    det_tools = ["list_routes", "get_travel_time", "get_shipment"]
    if level == "easy":
        trig = [_trig("van_ban", "dispatch_box", f"args.get('box_id') == {B1!r} and args.get('courier_id') == {K[0]!r}",
                      [ban])]
        checklist = [goal("delivered", "box on a valid dispatched shipment", [B1]),
                     checks.called_after_trigger("detect", "checked the routes after the failed dispatch", "van_ban",
                                                 ["list_routes", "get_travel_time"])]
        normal = [step("get_box", "observe", box_id=B1), step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA)]
        oracle = [step("get_box", "observe", box_id=B1), step("list_couriers", "observe", site_id=w["CL"]),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("list_routes", "requery", site_id=H1),
                  step("dispatch_box", box_id=B1, courier_id=K[1], lab_id=LA)]
        return _task(fam, level, w, query, _profile(w, f"{B1} delivered to {LA}", known, withheld), trig, checklist,
                     normal, oracle)
    if level == "medium":
        trig = [_trig("van_ban", "dispatch_box", f"args.get('box_id') == {B1!r}", [ban], timing="after", delay=1)]
        checklist = [goal("delivered", "box on a valid dispatched shipment", [B1]),
                     detect("detect", "re-checked the shipment's roads", "van_ban", det_tools),
                     checks.verified_after_last_change("verify", "end state checked", ["list_shipments"])]
        normal = [step("get_box", "observe", box_id=B1), step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("get_lab", "observe", lab_id=LA), step("list_shipments", "observe")]
        oracle = [step("get_box", "observe", box_id=B1), step("list_couriers", "observe", site_id=w["CL"]),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("get_lab", "observe", lab_id=LA), step("list_shipments", "observe"),
                  step("get_shipment", "requery", shipment_id=_sh(w, 1)),
                  step("list_couriers", "requery", site_id=H1),
                  step("handoff_box", shipment_id=_sh(w, 1), to_courier_id=K[4], site_id=H1),
                  step("list_shipments", "verify")]
        return _task(fam, level, w, query, _profile(w, f"{B1} delivered to {LA}", known, withheld), trig, checklist,
                     normal, oracle)
    if level == "hard":
        trig = [_trig("van_ban", "dispatch_box", f"args.get('box_id') == {B1!r}", [ban], timing="after"),
                _trig("road_closed", "dispatch_box", f"args.get('box_id') == {B2!r}", [close], timing="after",
                      delay=2, after=["van_ban"])]
        lb["capacity"] = max(lb["capacity"], lb["booked"] + 4)
        query = (f"Boxes {B1} and {B2} ({st}, study {w['study']}) are ready at {w['CL']}. "
                 f"Van driver {K[0]} takes {B1} and bike courier {K[1]} takes {B2}, both to {la['name']} ({LA}). "
                 f"Both must arrive this morning.")
        known.update({"second_box": B2, "second_courier": K[1]})
        checklist = [goal("delivered", "both boxes on valid dispatched shipments", [B1, B2]),
                     checks.called_after_trigger("detect_ban", "noticed the vehicle restriction", "van_ban", det_tools),
                     detect("detect_closure", "noticed the road closure", "road_closed", det_tools),
                     checks.verified_after_last_change("verify", "end state checked", ["list_shipments"])]
        normal = [step("get_box", "observe", box_id=B1), step("get_box", "observe", box_id=B2),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("dispatch_box", box_id=B2, courier_id=K[1], lab_id=LA)]
        oracle = [step("get_box", "observe", box_id=B1), step("get_box", "observe", box_id=B2),
                  step("list_labs", "observe", sample_type=st),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
                  step("get_shipment", "requery", shipment_id=_sh(w, 1)),
                  step("dispatch_box", box_id=B2, courier_id=K[1], lab_id=LA),
                  step("list_routes", "observe", site_id=H1),
                  step("get_shipment", "observe", shipment_id=_sh(w, 2)),
                  step("list_routes", "requery", site_id=H1),
                  step("redirect_shipment", shipment_id=_sh(w, 1), lab_id=LB),
                  step("redirect_shipment", shipment_id=_sh(w, 2), lab_id=LB),
                  step("list_shipments", "verify")]
        return _task(fam, level, w, query, _profile(w, f"{B1} and {B2} received this morning", known, withheld),
                     trig, checklist, normal, oracle)
    trig = [_trig("road_closed", "dispatch_box", f"args.get('box_id') == {B1!r}", [close])]
    withheld["assay"] = f"the assay for study {w['study']} is only run at {LA}"
    refusal = f"sending {B1} to any lab other than {LA}"
    checklist = [checks.called_after_trigger("detect", "checked the routes after the failed dispatch", "road_closed",
                                             ["list_routes", "get_travel_time"]),
                 checks.never_called("no_other_lab_b", "did not send the box elsewhere", "dispatch_box", {"lab_id": LB}),
                 checks.never_called("no_other_lab_d", "did not send the box elsewhere", "dispatch_box",
                                     {"lab_id": w["LD"]}),
                 checks.no_records_match("no_bad_dispatch", "no shipment left dispatched", "shipments",
                                         {"box_id": B1, "status": "dispatched"}),
                 checks.told_user("told", "told the user")]
    infeasible = [goal("goal_la", f"box delivered to {LA}", [B1], labs=[LA])]
    normal = [step("get_box", "observe", box_id=B1), step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA)]
    oracle = [step("get_box", "observe", box_id=B1), step("get_lab", "observe", lab_id=LA),
              step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
              step("list_routes", "requery", site_id=w["SA"]),
              step("get_travel_time", "requery", from_site=w["CL"], to_site=w["SA"], vehicle="bike"),
              message(f"Road {R}, the only access to {LA}, is closed to all vehicles, so {B1} cannot reach {LA} "
                      f"this morning. I have not dispatched it.")]
    alts = [[step("dispatch_box", box_id=B1, courier_id=K[1], lab_id=LA)],
            [step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LB)],
            [step("dispatch_box", box_id=B1, courier_id=K[7], lab_id=LA)]]
    return _task(fam, level, w, query, _profile(w, f"{B1} delivered to {LA} this morning", known, withheld,
                                                 refusals=[refusal]), trig, checklist, normal, oracle, alts, infeasible)


FAMILIES = [
    Family(name="cold_chain-t1", domain=DOMAIN, conflict_type="T1", build=build_t1),
    Family(name="cold_chain-st3", domain=DOMAIN, conflict_type="ST3", build=build_st3),
    Family(name="cold_chain-st2", domain=DOMAIN, conflict_type="ST2", build=build_st2),
    Family(name="cold_chain-s3", domain=DOMAIN, conflict_type="S3", build=build_s3),
]
