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


_PREF = '''
def _dist(src, dst, veh):
    """Shortest minutes over open routes and operational sites for vehicle type veh (None: unreachable)."""
    sites = state["sites"]
    if sites.get(src, {}).get("status") != "operational" or sites.get(dst, {}).get("status") != "operational":
        return None
    best, todo, done = {src: 0}, [src], set()
    while todo:
        todo.sort(key=lambda n: best[n])
        n = todo.pop(0)
        if n in done:
            continue
        done.add(n)
        if n == dst:
            return best[n]
        for r in state["routes"].values():
            if r["status"] != "open" or veh not in r["vehicles"]:
                continue
            for a, b in ((r["a"], r["b"]), (r["b"], r["a"])):
                if a == n and sites.get(b, {}).get("status") == "operational" and best[n] + r["minutes"] < best.get(b, 10 ** 9):
                    best[b] = best[n] + r["minutes"]
                    todo.append(b)
    return None


def _lab_open(lid, bid):
    """Could the box still reach lab lid in its receiving window (from the time it was dispatched)?"""
    from datetime import datetime, timedelta
    lab, box = state["labs"][lid], state["boxes"][bid]
    sh = state["shipments"][box["shipment"]]
    if lab["status"] != "receiving" or box["sample_type"] not in lab["accepts"]:
        return False
    if lab["booked"] >= lab["capacity"] and sh["lab_id"] != lid:
        return False
    m = _dist(box["site"], lab["site"], state["couriers"][sh["courier_id"]]["vehicle"])
    if m is None:
        return False
    eta = (datetime.fromisoformat(sh["dispatched_at"]) + timedelta(minutes=m + 10)).isoformat()
    return lab["window_open"] <= eta <= lab["window_close"] and eta <= box["expires_at"]


def _ranked(bid, ranking):
    """The user's lab order: the box goes to the first lab of ranking that can still take it."""
    sh = state["shipments"][state["boxes"][bid]["shipment"]]
    for lid in ranking:
        if lid == sh["lab_id"]:
            return True
        if _lab_open(lid, bid):
            return False
    return False


def _relay(bid, hub):
    """The user's relay order: a van courier, the one with the latest shift at its handoff site, at the
    planned hub unless no van there can still take the box."""
    sh = state["shipments"][state["boxes"][bid]["shipment"]]
    c = state["couriers"][sh["courier_id"]]
    if c["vehicle"] != "van":
        return False
    def vans(site):
        return [o for o in state["couriers"].values() if o["status"] == "available" and o["site"] == site
                and o["vehicle"] == "van" and o["shift_end"] >= sh["eta"]]
    if any(o["shift_end"] > c["shift_end"] for o in vans(c["site"])):
        return False
    h = state["sites"][hub]
    if c["site"] != hub and h["status"] == "operational" and h.get("dock") == "open" and vans(hub):
        return False
    return True
'''


def goal(cid: str, desc: str, bids: list[str], labs: list[str] | None = None, avoid: list[str] | None = None,
         no_recharge: bool = False, ranking: list[str] | None = None, van: bool = False, relay: str = ""):
    """Valid delivery of every box; with ``ranking`` / ``van`` / ``relay`` also the user's stated order."""
    body = _GOAL + (_PREF if ranking or relay else "")
    body += f"\nok = all(_ok(b, {labs or []!r}, {avoid or []!r}) for b in {bids!r})\n"
    if ranking:
        body += f"ok = ok and all(_ranked(b, {ranking!r}) for b in {bids!r})\n"
    if van:
        body += ("ok = ok and all(state['couriers'][state['shipments'][state['boxes'][b]['shipment']]['courier_id']]"
                 f"['vehicle'] == 'van' for b in {bids!r})\n")
    if relay:
        body += f"ok = ok and all(_relay(b, {relay!r}) for b in {bids!r})\n"
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
    if LB > LD:  # lists are sorted by id: the user's last choice LB is listed before the second choice LD
        LB, LD = LD, LB
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


SITUATIONS = {
    "T1": ["The trial's day-1 pharmacokinetic draw has just finished.",
           "A patient travelled two hours for this biopsy, so the sample must not be lost.",
           "The sponsor's monitor checks tomorrow that every sample arrived the same day."],
    "ST2": ["There are reports of power cuts in the city this morning.",
            "Today's samples belong to the interim analysis, which is due this week.",
            "The lab asked for the samples as early as possible today."],
    "S3": ["The road authority announced works around the hubs this week.",
           "It is the first shipment under the new transport contract.",
           "The samples are for a rare-disease cohort and cannot be redrawn."],
    "ST3": ["The courier's shift was cut short by the dispatcher this morning.",
            "Traffic held the courier up and the shift will end before the lab.",
            "The courier has to leave early for a family matter."],
}


def _rank_txt(w) -> str:
    return (f"If {w['LA']} cannot receive it today, send it to {w['LD']}, and only if that fails to {w['LB']}.")


def _lab_query(w, ctype, rng, boxes, courier, van=False):
    st = w["stype"]
    sit = rng.choice(SITUATIONS[ctype])
    vtxt = " The samples may only travel in a refrigerated van." if van else ""
    what = " and ".join(boxes)
    return (f"{sit} Box{'es' if len(boxes) > 1 else ''} {what} with {st} samples for study {w['study']} "
            f"{'are' if len(boxes) > 1 else 'is'} ready at {w['CL']}; please have courier {courier} take "
            f"{'them' if len(boxes) > 1 else 'it'} to {_lab(w, 'LA')['name']} ({w['LA']}) today. "
            f"{_rank_txt(w)}{vtxt}")


def _ranking(w):
    return [w["LA"], w["LD"], w["LB"]]


def _known(w, extra=None):
    known = {"box": w["B1"], "sample_type": w["stype"], "pickup_site": w["CL"], "courier": w["K"][0],
             "lab order": f"{w['LA']}, then {w['LD']}, then {w['LB']}"}
    known.update(extra or {})
    return known


def _withheld(w):
    return {"study_code": w["study"], "box_expiry": w["cfg"]["boxes"][w["B1"]]["expires_at"]}


def _start_trig(tid, muts):
    """A change announced right after the agent starts (it lands one call later): deferred, whatever the
    agent does first."""
    return _trig(tid, "*", "True", muts, timing="after", delay=1)


def _labs_solvable(fam, level, w, rng, ctype, trig_easy, trig_med, silent1, silent2, det_tools, van=False,
                   what=""):
    """The three solvable levels shared by T1, ST2 and S3: the box's lab becomes unusable; the user's lab order
    picks the next one. easy: at the dispatch (explicit); medium: announced right after the start, the dispatch
    fails later; hard: silently after dispatch, then the redirected lab fails too (cascade)."""
    B1, K, LA, LD, LB = w["B1"], w["K"], w["LA"], w["LD"], w["LB"]
    st = w["stype"]
    query = _lab_query(w, ctype, rng, [B1], K[0], van)
    profile = _profile(w, f"{B1} received today by the first lab of the user's order that can take it", _known(w),
                       _withheld(w))
    g = goal("delivered", "box received by the first lab of the user's order that can still take it", [B1],
             ranking=_ranking(w), van=van)
    normal = [step("get_box", "observe", box_id=B1), step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA)]
    if level in ("easy", "medium"):
        trig = [trig_easy] if level == "easy" else [trig_med]
        tid = trig[0].id
        oracle = [step("get_box", "observe", box_id=B1), step("list_labs", "observe", sample_type=st),
                  step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA)] + \
            [step(t, "requery", **a) for t, a in det_tools[:1]] + \
            [step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LD),
             message(f"{what}; {B1} goes to {LD}, the next lab on your list.")]
        cl = [g, checks.called_after_trigger("detect", "re-checked after the change", tid,
                                             sorted({t for t, _ in det_tools} | {"get_lab", "list_labs"}))]
        return _task(fam, level, w, query, profile, trig, cl, normal, oracle)
    sh = _sh(w, 1)
    trig = [silent1, silent2]
    oracle = [step("get_box", "observe", box_id=B1), step("list_labs", "observe", sample_type=st),
              step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LA),
              step("get_shipment", "requery", shipment_id=sh)] + [step(t, "requery", **a) for t, a in det_tools[:1]] + \
        [step("redirect_shipment", shipment_id=sh, lab_id=LD),
         step("get_shipment", "requery", shipment_id=sh)] + [step(t, "requery", **a) for t, a in det_tools[1:2]] + \
        [step("redirect_shipment", shipment_id=sh, lab_id=LB), step("list_shipments", "verify"),
         message(f"{what}, and then {LD} could not take it either; {B1} now goes to {LB}.")]
    tools = sorted({t for t, _ in det_tools} | {"get_shipment", "get_lab", "list_labs"})
    cl = [g, checks.called_after_trigger("detect_1", "noticed the first change", silent1.id, tools),
          checks.called_after_trigger("detect_2", "noticed the second change", silent2.id, tools),
          checks.verified_after_last_change("verify", "end state checked", ["list_shipments", "get_shipment"])]
    return _task(fam, level, w, query, profile, trig, cl, normal, oracle)


def _in_transit_cond(w):
    return f"get('boxes.{w['B1']}.status') == 'in_transit'"


def _at_lab_cond(w, lab_key):
    lab = _lab(w, lab_key)
    return f"get('labs.{w[lab_key]}.booked') == {lab['booked'] + 1}"


# ---------------------------------------------------------------------------------------------- T1
def build_t1(rng: random.Random, level: str):
    fam = FAMILIES[0]
    w = _world(rng)
    B1, LA, LB, LD, K = w["B1"], w["LA"], w["LB"], w["LD"], w["K"]
    la, lb, ld = _lab(w, "LA"), _lab(w, "LB"), _lab(w, "LD")
    st = w["stype"]
    cut = (f"labs.{LA}.window_close", la["window_close"], _t(w, rng.randint(2, 6)))
    if level != "impossible":
        ld["capacity"] = ld["booked"] + 2
        det = [("get_lab", {"lab_id": LA}), ("get_lab", {"lab_id": LD})]
        return _labs_solvable(
            fam, level, w, rng, "T1",
            trig_easy=_trig("la_cutoff", "dispatch_box", "True", [cut]),
            trig_med=_start_trig("la_cutoff", [cut]),
            silent1=_trig("la_cutoff", "*", _in_transit_cond(w), [(cut[0], cut[1], _t(w, rng.randint(8, 12)))],
                          timing="after"),
            silent2=_trig("ld_full", "*", _at_lab_cond(w, "LD"), [(f"labs.{LD}.status", "receiving", "intake_closed")],
                          timing="after", after=["la_cutoff"]),
            det_tools=det, what=f"{LA} stopped receiving early today")
    # impossible: LA closes early, LD closed for the day, LB refused by the user (protocol)
    ld["window_close"] = _t(w, -rng.randint(20, 50))
    trig = [_trig("la_cutoff", "*", "tool in ('dispatch_box', 'redirect_shipment')", [cut])]
    withheld = _withheld(w)
    withheld["protocol"] = f"study {w['study']} samples may only be analysed at {LA} or {LD}"
    query = (f"{rng.choice(SITUATIONS['T1'])} Box {B1} with {st} samples for study {w['study']} is ready at "
             f"{w['CL']}. Please have courier {K[0]} deliver it to {la['name']} ({LA}) today, or to {LD} if {LA} "
             "cannot take it.")
    refusal = f"sending the box to {LB} ({lb['name']}): not validated for study {w['study']}"
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
                      f"lab today; the only other lab, {LB}, is not validated for the study, as you said. I have not "
                      "dispatched it.")]
    alts = [[step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LD)],
            [step("dispatch_box", box_id=B1, courier_id=K[1], lab_id=LA)],
            [step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LB)]]
    return _task(fam, level, w, query, _profile(w, f"{B1} received today by {LA} or {LD}", _known(w), withheld,
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
    # vans at H1: K2 (planned, latest shift), K4 (next), K3 (earliest); K3 is listed first (lists sort by id)
    if K[3] > K[4]:
        K[3], K[4] = K[4], K[3]
        c[K[3]], c[K[4]] = c[K[4]], c[K[3]]
    c[K[4]]["vehicle"] = "van"
    c[K[2]]["shift_end"], c[K[4]]["shift_end"], c[K[3]]["shift_end"] = _t(w, 470), _t(w, 430), _t(w, 380)
    la = _lab(w, "LA")
    known = {"shipment": sid, "box": B1, "current_courier": K[0], "relay_courier": K[2], "relay_hub": H1}
    withheld = {"study_code": w["study"], "current_courier_shift_end": c[K[0]]["shift_end"]}
    query = (f"{rng.choice(SITUATIONS['ST3'])} Courier {K[0]} is carrying box {B1} (shipment {sid}) to {la['name']} "
             f"({LA}). Please hand the box over to {K[2]} at hub {H1} so the delivery completes today. If {K[2]} "
             f"cannot take it, use the van courier whose shift lasts longest, at {H1} if possible.")
    base_normal = [step("get_shipment", "observe", shipment_id=sid),
                   step("handoff_box", shipment_id=sid, to_courier_id=K[2], site_id=H1)]
    # the relay courier's change lands before any call that takes the courier (handoff or a new dispatch)
    takes_k2 = (f"tool in ('handoff_box', 'dispatch_box') and {K[2]!r} in (args.get('to_courier_id'), "
                "args.get('courier_id'))")
    g = goal("delivered", "relayed to the van courier the user's order picks, delivered today", [B1], relay=H1)
    profile = _profile(w, f"{B1} handed over and delivered today", known, withheld)
    if level == "easy":
        trig = [_trig("relay_off", "*", takes_k2, [(f"couriers.{K[2]}.status", "available", "off_duty")])]
        checklist = [g, checks.called_after_trigger("detect", "re-checked the relay courier", "relay_off",
                                                    ["get_courier", "list_couriers"])]
        oracle = [step("get_shipment", "observe", shipment_id=sid), step("get_courier", "observe", courier_id=K[2]),
                  step("handoff_box", shipment_id=sid, to_courier_id=K[2], site_id=H1),
                  step("list_couriers", "requery", site_id=H1),
                  step("handoff_box", shipment_id=sid, to_courier_id=K[4], site_id=H1),
                  message(f"{K[2]} went off duty; {K[4]}, the van courier at {H1} with the longest shift, took {B1}.")]
        return _task(fam, level, w, query, profile, trig, checklist, base_normal, oracle)
    if level == "medium":
        c[K[3]]["shift_end"] = _t(w, rng.randint(3, 7))
        c[K[4]]["status"] = "off_duty"
        trig = [_trig("relay_fault", "*", takes_k2, [(f"couriers.{K[2]}.status", "available", "vehicle_fault")])]
        checklist = [g, checks.called_after_trigger("detect", "re-checked the relay courier", "relay_fault",
                                                    ["get_courier", "list_couriers"]),
                     checks.verified_after_last_change("verify", "end state checked", ["get_shipment", "list_shipments"])]
        oracle = [step("get_shipment", "observe", shipment_id=sid), step("get_courier", "observe", courier_id=K[2]),
                  step("handoff_box", shipment_id=sid, to_courier_id=K[2], site_id=H1),
                  step("get_courier", "requery", courier_id=K[2]),
                  step("list_couriers", "requery", site_id=H1), step("list_couriers", "requery", site_id=H2),
                  step("reroute_shipment", shipment_id=sid, via_site=H2),
                  step("handoff_box", shipment_id=sid, to_courier_id=K[5], site_id=H2),
                  step("get_shipment", "verify", shipment_id=sid),
                  message(f"{K[2]}'s van broke down and no other van at {H1} can reach {LA} in time; {B1} was "
                          f"rerouted via {H2} and handed to {K[5]}.")]
        return _task(fam, level, w, query, profile, trig, checklist, base_normal, oracle)
    if level == "hard":
        c[K[3]]["shift_end"] = _t(w, rng.randint(3, 7))
        trig = [_trig("relay_shift", "*", f"get('couriers.{K[2]}.shipment') == {sid!r}",
                      [(f"couriers.{K[2]}.shift_end", c[K[2]]["shift_end"], _t(w, rng.randint(6, 9)))], timing="after"),
                _trig("dock_closed", "handoff_box", "True", [(f"sites.{H1}.dock", "open", "closed")],
                      after=["relay_shift"])]
        checklist = [g, checks.called_after_trigger("detect_shift", "re-checked the relay courier", "relay_shift",
                                                    ["get_courier", "list_couriers", "get_shipment"]),
                     checks.called_after_trigger("detect_dock", "checked the hub after the refused handoff",
                                                 "dock_closed", ["get_site", "list_sites"]),
                     checks.verified_after_last_change("verify", "end state checked", ["get_shipment", "list_shipments"])]
        oracle = [step("get_shipment", "observe", shipment_id=sid), step("get_courier", "observe", courier_id=K[2]),
                  step("handoff_box", shipment_id=sid, to_courier_id=K[2], site_id=H1),
                  step("get_courier", "requery", courier_id=K[2]),
                  step("list_couriers", "requery", site_id=H1),
                  step("handoff_box", shipment_id=sid, to_courier_id=K[4], site_id=H1),
                  step("get_site", "requery", site_id=H1),
                  step("list_couriers", "requery", site_id=H2),
                  step("reroute_shipment", shipment_id=sid, via_site=H2),
                  step("handoff_box", shipment_id=sid, to_courier_id=K[5], site_id=H2),
                  step("get_shipment", "verify", shipment_id=sid),
                  message(f"{K[2]}'s shift was cut short and then the {H1} dock closed; {B1} was rerouted via {H2} "
                          f"and handed to {K[5]}.")]
        return _task(fam, level, w, query, profile, trig, checklist, base_normal, oracle)
    c[K[3]]["shift_end"] = _t(w, rng.randint(3, 7))
    c[K[4]]["status"] = "off_duty"
    c[K[7]]["status"] = "off_duty"
    trig = [_trig("relay_off", "*", takes_k2, [(f"couriers.{K[2]}.status", "available", "off_duty")])]
    withheld["corridor_rule"] = f"biosafety permit covers only the {H1} corridor; the box must not pass {H2}"
    refusal = f"routing the box through hub {H2} (outside the biosafety permit)"
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
    B1, K, H1, H2, H3, LA, LB, LD = w["B1"], w["K"], w["H1"], w["H2"], w["H3"], w["LA"], w["LB"], w["LD"]
    ld = _lab(w, "LD")
    st = w["stype"]
    out = lambda site: (f"sites.{site}.status", "operational", "outage")  # noqa: E731
    if level != "impossible":
        det = [("list_sites", {}), ("get_site", {"site_id": H3})]
        return _labs_solvable(
            fam, level, w, rng, "ST2",
            trig_easy=_trig("h1_outage", "dispatch_box", "True", [out(H1)]),
            trig_med=_start_trig("h1_outage", [out(H1)]),
            silent1=_trig("h1_outage", "*", _in_transit_cond(w), [out(H1)], timing="after"),
            silent2=_trig("h3_outage", "*", _at_lab_cond(w, "LD"), [out(H3)], timing="after", after=["h1_outage"]),
            det_tools=det, what=f"Hub {H1}, the only way to {LA}, has a power outage")
    trig = [_trig("h1_outage", "*", "tool in ('dispatch_box', 'redirect_shipment', 'reroute_shipment')", [out(H1)]),
            _trig("h2_outage", "*", "True", [out(H2)], after=["h1_outage"])]
    withheld = _withheld(w)
    withheld["accreditation"] = f"only {LA} and {LB} are accredited for study {w['study']}"
    refusal = f"sending the box to {LD} ({ld['name']}): not accredited for study {w['study']}"
    query = (f"{rng.choice(SITUATIONS['ST2'])} Box {B1} ({st}, study {w['study']}) is waiting at {w['CL']}. "
             f"Please send it with courier {K[0]} to {_lab(w, 'LA')['name']} ({LA}), or to {LB} if {LA} cannot "
             "take it, and keep me posted if anything changes.")
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
              step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LB),
              step("get_travel_time", "requery", from_site=w["CL"], to_site=w["SB"]),
              message(f"Hubs {H1} and {H2} are both in outage, so neither {LA} nor {LB} can be reached today. "
                      f"{B1} stays at {w['CL']}.")]
    alts = [[step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LB)],
            [step("dispatch_box", box_id=B1, courier_id=K[1], lab_id=LA)],
            [step("dispatch_box", box_id=B1, courier_id=K[0], lab_id=LD)]]
    return _task(fam, level, w, query, _profile(w, f"{B1} received today by {LA} or {LB}", _known(w), withheld,
                                                 refusals=[refusal]), trig, checklist, normal, oracle, alts, infeasible)


# ---------------------------------------------------------------------------------------------- S3
def build_s3(rng: random.Random, level: str):
    fam = FAMILIES[3]
    w = _world(rng)
    B1, K, LA, LB = w["B1"], w["K"], w["LA"], w["LB"]
    st = w["stype"]
    R, R3 = w["R"]["H1-SA"], w["R"]["H3-SD"]
    ban = (f"routes.{R}.vehicles", ["van", "bike"], ["bike"])
    if level != "impossible":
        det = [("list_routes", {"site_id": w["H1"]}), ("list_routes", {"site_id": w["H3"]})]
        return _labs_solvable(
            fam, level, w, rng, "S3",
            trig_easy=_trig("van_ban", "dispatch_box", "True", [ban]),
            trig_med=_start_trig("van_ban", [ban]),
            silent1=_trig("van_ban", "*", _in_transit_cond(w), [ban], timing="after"),
            silent2=_trig("road_closed", "*", _at_lab_cond(w, "LD"), [(f"routes.{R3}.status", "open", "closed")],
                          timing="after", after=["van_ban"]),
            det_tools=det, van=True, what=f"Road {R} into {LA} is now closed to vans")
    close = (f"routes.{R}.status", "open", "closed")
    trig = [_trig("road_closed", "dispatch_box", "True", [close])]
    withheld = _withheld(w)
    withheld["assay"] = f"the assay for study {w['study']} is only run at {LA}"
    refusal = f"sending the box to {LB} or {w['LD']} (the assay runs only at {LA})"
    query = (f"{rng.choice(SITUATIONS['S3'])} Box {B1} ({st}, study {w['study']}) is ready at {w['CL']}. "
             f"Our van driver {K[0]} should bring it to {_lab(w, 'LA')['name']} ({LA}) this morning.")
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
    return _task(fam, level, w, query, _profile(w, f"{B1} delivered to {LA} this morning", _known(w), withheld,
                                                 refusals=[refusal]), trig, checklist, normal, oracle, alts, infeasible)


FAMILIES = [
    Family(name="cold_chain-t1", domain=DOMAIN, conflict_type="T1", build=build_t1),
    Family(name="cold_chain-st3", domain=DOMAIN, conflict_type="ST3", build=build_st3),
    Family(name="cold_chain-st2", domain=DOMAIN, conflict_type="ST2", build=build_st2),
    Family(name="cold_chain-s3", domain=DOMAIN, conflict_type="S3", build=build_s3),
]
