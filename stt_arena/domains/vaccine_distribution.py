"""Vaccine distribution: task families (T3, ST3, S2, T2), four levels each."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from ..task.models import Activation, Effects, Mutation, Trigger, UserProfile

CLASS = "VaccineDistributionEnv"
DOMAIN = "vaccine_distribution"

TOWNS = ["Aldmoor", "Brackenford", "Colwick", "Dunhallow", "Eastleigh", "Farrowby", "Glenmere", "Hartwell",
         "Ivybridge", "Kingsmead", "Larkhill", "Marston", "Northcote", "Oakridge", "Pellham", "Redbourne"]
MRNA = ["Comirnaty JN.1", "Spikevax JN.1"]
PROTEIN = "Nuvaxovid XBB.1.5"
FLU = ["Fluad Tetra", "Vaxigrip Tetra", "Flucelvax"]
GROUPS = ["residents aged 75+", "care-home residents", "immunocompromised patients", "healthcare workers",
          "pregnant women", "residents aged 65-74", "care-home staff", "people with chronic lung disease"]
COURIERS = ["Aisha Khan", "Ben Carter", "Chloe Martin", "Daniel Osei", "Elena Petrova", "Finn Murphy",
            "Grace Liu", "Hamid Rahimi", "Isla Brown", "Jonas Weber", "Kofi Mensah", "Laura Costa"]
PERSONAS = ["a regional immunisation coordinator", "a vaccine logistics officer", "a clinic network pharmacist",
            "a public health operations lead"]


def _ids(rng: random.Random, k: int, lo: int, hi: int, prefix: str) -> list[str]:
    while True:
        nums = sorted(rng.sample(range(lo, hi), k))
        if all(b - a >= 3 for a, b in zip(nums, nums[1:])):
            rng.shuffle(nums)
            return [f"{prefix}-{n}" for n in nums]


def _iso(t: datetime) -> str:
    return t.replace(second=0, microsecond=0).isoformat()


_COVER = '''
def _dl_ok(did, d, allowed, avoid):
    if d["status"] != "in_transit":
        return False
    lot, s, c = state["lots"][d["lot_id"]], state["sessions"][d["session_id"]], state["couriers"][d["courier_id"]]
    if lot["status"] != "released" or d["eta"] > lot["expires_at"] or lot["product"] not in s["products"]:
        return False
    if (allowed and lot["product"] not in allowed) or d["eta"] > s["start"] or d["clinic_id"] != s["clinic_id"]:
        return False
    if c["status"] != "on_route" or c.get("delivery_id") != did or c["fridge"] != "ok" or c["shift_end"] < d["eta"]:
        return False
    return all(state["sites"][p]["status"] == "operational" and p not in avoid for p in d["path"])

def _covered(sid, allowed, avoid):
    for q in state["quotas"].values():
        used = sum(d["doses"] for d in state["deliveries"].values() if d["status"] == "in_transit"
                   and d["clinic_id"] == q["clinic_id"] and d["product"] == q["product"] and d["day"] == q["day"])
        if used > q["limit"]:
            return False
    got = sum(d["doses"] for k, d in state["deliveries"].items() if d["session_id"] == sid and _dl_ok(k, d, allowed, avoid))
    return got >= state["sessions"][sid]["doses_needed"]
'''


def cover_goal(cid, desc, sid, allowed=None, avoid=None):
    body = _COVER + f"\nreturn _covered({sid!r}, {allowed or []!r}, {avoid or []!r})\n"
    return checks.custom(cid, desc, body, kind="goal")


_PRIO = '''
def _prio(lot, sids, total, must=None):
    rem = total
    for k in sorted(sids, key=lambda x: state["sessions"][x]["rank"]):
        have = sum(a["doses"] for a in state["allocations"].values()
                   if a["session_id"] == k and a["lot_id"] == lot and a["status"] == "active")
        exp = min(state["sessions"][k]["doses_needed"], rem)
        if have != exp:
            return False
        if must and k == must and have < state["sessions"][k]["doses_needed"]:
            return False
        rem -= exp
    return True
'''


def prio_goal(cid, desc, lot, sids, total, must=None):
    body = _PRIO + f"\nreturn _prio({lot!r}, {sids!r}, {total!r}, {must!r})\n"
    return checks.custom(cid, desc, body, kind="goal")


_FEFO = """
def _fefo(sid, allowed):
    s = state["sessions"][sid]
    ok = allowed or s["products"]
    used = set(d["lot_id"] for k, d in state["deliveries"].items() if d["session_id"] == sid and _dl_ok(k, d, [], []))
    if not used:
        return False
    last = max(state["lots"][x]["expires_at"] for x in used)
    for k, lot in state["lots"].items():
        if k in used or lot["status"] != "released" or lot["product"] not in ok:
            continue
        if lot["expires_at"] < last and lot["doses"] - lot["reserved"] > 0:
            return False
    return True
"""


def fefo_goal(cid, desc, sid):
    """Covered, and first-expiry-first-out: no released lot of the session's products that expires before a lot
    used for it still has doses left (the user's stated rule)."""
    body = _COVER + _FEFO + f"""
sent = sum(d["doses"] for d in state["deliveries"].values() if d["session_id"] == {sid!r} and d["status"] == "in_transit")
if sent != state["sessions"][{sid!r}]["doses_needed"]:
    return False  # exactly the doses asked for, no recalled or surplus delivery left on the road
return _covered({sid!r}, [], []) and _fefo({sid!r}, [])
"""
    return checks.custom(cid, desc, body, kind="goal")


def fefo_product_goal(cid, desc, sid):
    """Covered within quotas, and per product first-expiry-first-out: no released lot of a product sent to the
    session expires before the lot used for it while it still has enough doses."""
    body = _COVER + f"""
if not _covered({sid!r}, [], []):
    return False
for k, d in state["deliveries"].items():
    if d["session_id"] != {sid!r} or not _dl_ok(k, d, [], []):
        continue
    mine = state["lots"][d["lot_id"]]
    for j, lot in state["lots"].items():
        if j != d["lot_id"] and lot["product"] == mine["product"] and lot["status"] == "released" \
                and lot["site_id"] == mine["site_id"] and lot["expires_at"] < mine["expires_at"] \
                and lot["doses"] - lot["reserved"] >= d["doses"]:
            return False
return True
"""
    return checks.custom(cid, desc, body, kind="goal")


def longest_shift_goal(cid, desc, sid, did):
    """Covered, and the box rides with the courier whose shift runs longest among those free at the handoff
    depot (the user's stated rule); without a handoff the original courier is fine."""
    body = _COVER + f"""
d = state["deliveries"].get({did!r}) or {{}}
if not _covered({sid!r}, [], []):
    return False
hs = [h for h in state["handoffs"] if h["delivery_id"] == {did!r}]
if not hs:
    return True
site = hs[-1]["site_id"]
mine = state["couriers"][d["courier_id"]]["shift_end"]
return not any(c["status"] == "available" and c["site_id"] == site and c["fridge"] == "ok" and c["shift_end"] > mine
               for c in state["couriers"].values())
"""
    return checks.custom(cid, desc, body, kind="goal")


def top_goal(cid, desc, lot, clinic):
    """The clinic's current rank-1 session fully allocated from the lot, and nothing else allocated."""
    body = f"""
ss = {{k: v for k, v in state["sessions"].items() if v["clinic_id"] == {clinic!r}}}
top = min(ss, key=lambda k: ss[k]["rank"])
act = [a for a in state["allocations"].values() if a["status"] == "active"]
if any(a["session_id"] != top or a["lot_id"] != {lot!r} for a in act):
    return False
return sum(a["doses"] for a in act) == ss[top]["doses_needed"]
"""
    return checks.custom(cid, desc, body, kind="goal")


def _excursion_if(tid, did):
    return checks.custom("excursion", "the excursion was reported (when the fault happened)", f"""
if _trigger_step(log, {tid!r}) is None:
    return True
return any(x.get("delivery_id") == {did!r} for x in state.get("excursions", []))""", kind="recovery")


def _world(rng: random.Random, late: bool = False) -> dict:
    """Cold stores CS1 (main) and CS2 (far), relay depots X and Y, clinic C (target) and C2 (distractor)."""
    day = rng.randint(2, 26)
    if late:
        start = datetime(2026, 3, day, 23, rng.choice([5, 10, 15, 20, 25, 30]))
        s_start = datetime(2026, 3, day, 8, 0) + timedelta(days=1, minutes=rng.choice([0, 15, 30, 45, 60, 90]))
        shift = lambda: _iso(start + timedelta(minutes=rng.randint(66, 76) * 10))  # noqa: E731
    else:
        start = datetime(2026, 3, day, rng.randint(6, 8), rng.choice([0, 10, 15, 20, 30, 40, 45]))
        s_start = start + timedelta(minutes=rng.randint(30, 36) * 10)
        shift = lambda: _iso(start + timedelta(minutes=rng.randint(48, 60) * 10))  # noqa: E731
    keys = ["CS1", "CS2", "X", "Y", "C", "C2"]
    nums = rng.sample(range(10, 99), 6)
    pre = {"CS1": "CS", "CS2": "CS", "X": "DEP", "Y": "DEP", "C": "CLN", "C2": "CLN"}
    P = {k: f"{pre[k]}-{n}" for k, n in zip(keys, nums)}
    towns = rng.sample(TOWNS, 6)
    kind = {"CS1": "cold_store", "CS2": "cold_store", "X": "depot", "Y": "depot", "C": "clinic", "C2": "clinic"}
    label = {"cold_store": "Regional Cold Store", "depot": "Relay Depot", "clinic": "Health Centre"}
    lat0, lon0 = round(rng.uniform(50.5, 55.0), 3), round(rng.uniform(-3.5, 0.5), 3)
    sites = {}
    for k, t in zip(keys, towns):
        sites[P[k]] = {"name": f"{t} {label[kind[k]]}", "kind": kind[k], "status": "operational",
                       "lat": round(lat0 + rng.uniform(-0.4, 0.4), 4), "lon": round(lon0 + rng.uniform(-0.6, 0.6), 4)}
        if kind[k] == "depot":
            sites[P[k]]["handoff_bay"] = "open"
    rngs = {("CS1", "C"): (40, 60), ("CS1", "X"): (25, 35), ("X", "C"): (25, 35), ("CS1", "Y"): (30, 40),
            ("Y", "C"): (30, 40), ("CS2", "C"): (70, 90), ("CS2", "Y"): (40, 50), ("CS1", "C2"): (30, 50),
            ("X", "Y"): (15, 25), ("CS2", "C2"): (50, 70)}
    mins = {k: rng.randint(*v) for k, v in rngs.items()}
    legs = {f"{P[a]}|{P[b]}": m for (a, b), m in mins.items()}
    p1, p2 = rng.sample(MRNA, 2)
    pf = rng.choice(FLU)
    N = rng.randint(10, 28) * 10
    ln = _ids(rng, 5, 1000, 9999, "LOT")
    exp_far = _iso(start + timedelta(days=rng.randint(20, 60)))

    def lot(prod, site, doses):
        return {"product": prod, "site_id": P[site], "doses": doses, "reserved": 0, "expires_at": exp_far,
                "status": "released", "batch": f"{rng.choice('ABCFHKM')}{rng.randint(1000, 9999)}"}

    lots = {ln[0]: lot(p1, "CS1", N + rng.randint(5, 15) * 10), ln[1]: lot(p1, "CS1", N + rng.randint(5, 15) * 10),
            ln[2]: lot(p2, "CS1", N + rng.randint(5, 15) * 10), ln[3]: lot(p1, "CS2", N + rng.randint(5, 15) * 10),
            ln[4]: lot(pf, "CS1", rng.randint(20, 60) * 10)}
    sday = _iso(s_start)[:10]
    qn = _ids(rng, 6, 10, 99, "QV")
    reset = _iso(datetime.fromisoformat(sday + "T00:00:00")) if late else _iso(
        datetime.fromisoformat(sday + "T00:00:00") + timedelta(days=1))

    def quota(clinic, prod, limit):
        return {"clinic_id": P[clinic], "product": prod, "day": sday, "limit": limit,
                "status": "provisional" if late else "issued", "resets_at": reset}

    quotas = {qn[0]: quota("C", p1, N + rng.randint(10, 30) * 10), qn[1]: quota("C", p2, N + rng.randint(10, 30) * 10),
              qn[2]: quota("C", PROTEIN, N + rng.randint(10, 30) * 10), qn[3]: quota("C2", p1, rng.randint(20, 50) * 10),
              qn[4]: quota("C2", p2, rng.randint(20, 50) * 10), qn[5]: quota("C", pf, rng.randint(20, 50) * 10)}
    sn = _ids(rng, 4, 100, 999, "SES")
    groups = rng.sample(GROUPS, 4)
    sessions = {sn[0]: {"clinic_id": P["C"], "group": groups[0], "rank": 1, "start": _iso(s_start), "doses_needed": N,
                        "products": [p1, p2]},
                sn[3]: {"clinic_id": P["C2"], "group": groups[3], "rank": 1,
                        "start": _iso(s_start + timedelta(minutes=rng.choice([30, 60, 90]))),
                        "doses_needed": rng.randint(5, 15) * 10, "products": [p1, p2]}}
    kn = _ids(rng, 8, 10, 99, "CR")
    names = rng.sample(COURIERS, 8)
    where = ["CS1", "CS1", "X", "X", "X", "Y", "CS2", "CS1"]
    couriers = {}
    for i, (k, nm, s) in enumerate(zip(kn, names, where)):
        couriers[k] = {"name": nm, "site_id": P[s], "status": "off_duty" if i in (4, 7) else "available",
                       "shift_end": shift(), "fridge": "ok", "capacity": rng.randint(40, 80) * 10, "delivery_id": None}
    cfg = {"sites": sites, "legs": legs, "lots": lots, "quotas": quotas, "sessions": sessions, "allocations": {},
           "couriers": couriers, "deliveries": {}, "handoffs": [], "excursions": [],
           "delivery_seq": rng.randint(200, 800), "allocation_seq": rng.randint(100, 800), "load_minutes": 15}
    return dict(start=start, P=P, mins=mins, p1=p1, p2=p2, pf=pf, N=N, L=ln, Q=qn, S=sn, K=kn, cfg=cfg,
                persona=rng.choice(PERSONAS), ref=f"IMM-{rng.randint(1000, 9999)}")


def _t(w, minutes: int) -> str:
    return _iso(w["start"] + timedelta(minutes=minutes))


def _dl(w, k: int) -> str:
    return f"DL-{w['cfg']['delivery_seq'] + k}"


def _al(w, k: int) -> str:
    return f"AL-{w['cfg']['allocation_seq'] + k}"


def _profile(w, goal_txt, known, withheld, refusals=None):
    return UserProfile(goal=goal_txt, persona=w["persona"], known_facts=known, withheld_facts=withheld,
                       refusals=refusals or [], fallback_reply="I don't know; please check the system.")


def _trig(tid, tool, cond, muts, timing="before", delay=0, after=None, clock=0.0):
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=cond,
                   delay_calls=delay, after_triggers=after or [],
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=nw) for p, o, nw in muts],
                                   advance_clock_minutes=clock))


def _task(fam, level, w, query, profile, triggers, checklist, normal, oracle, alternatives=None, infeasible=None):
    return make_task(family=fam, level=level, class_name=CLASS, init_config=w["cfg"], query=query,
                     user_profile=profile, triggers=triggers, checklist=checklist, normal=normal, oracle=oracle,
                     alternatives=alternatives, infeasible_goal=infeasible, clock_start=w["start"].isoformat(),
                     params={"doses": w["N"]})


def _sess(w):
    return w["cfg"]["sessions"][w["S"][0]]


# ---------------------------------------------------------------------------------------------- ST3
ST3_QUERIES = [
    lambda w, D0, N, C, SM, K0, K2, X: (f"Courier {K0} is bringing {N} doses of {w['p1']} (delivery {D0}) to {C} for "
                                        f"session {SM}, but goes off shift soon. Please hand the cool box over to {K2} "
                                        f"at depot {X} so the session can start on time. Our rule for relays: the box "
                                        f"goes to the courier whose shift runs longest."),
    lambda w, D0, N, C, SM, K0, K2, X: (f"{K0}'s van with {D0} ({N} doses for {SM} at {C}) has to be relieved at depot "
                                        f"{X}: {K0} is close to the driving-hours limit. Relay it to {K2}; if you pick "
                                        f"anyone else, take the one on duty longest."),
    lambda w, D0, N, C, SM, K0, K2, X: (f"Session {SM} at {C} is waiting for delivery {D0}. {K0} cannot finish the "
                                        f"run, so please arrange the relay at {X} with {K2}, who has the longest shift "
                                        f"there (we always relay to the longest-serving courier)."),
]


def build_st3(rng: random.Random, level: str):
    fam = FAMILIES[1]
    w = _world(rng)
    cfg, P, K, L, N = w["cfg"], w["P"], w["K"], w["L"], w["N"]
    SM = w["S"][0]
    X, Y, C = P["X"], P["Y"], P["C"]
    c = cfg["couriers"]
    D0 = _dl(w, 0)
    eta = _t(w, w["mins"][("X", "C")] + rng.randint(30, 40))
    cfg["deliveries"][D0] = {"lot_id": L[0], "session_id": SM, "clinic_id": C, "product": w["p1"], "doses": N,
                             "courier_id": K[0], "path": [P["CS1"], X, C], "eta": eta, "day": _sess(w)["start"][:10],
                             "status": "in_transit", "created_at": _t(w, -rng.randint(20, 35))}
    cfg["lots"][L[0]]["reserved"] = N
    c[K[0]].update(status="on_route", delivery_id=D0, shift_end=_t(w, rng.randint(15, 25)))
    cfg["lots"][L[3]]["status"] = "quarantine"
    # shifts at the relay depot: K2 longest; of K3/K4, the one listed later (larger id) runs longer
    k3, k4 = sorted([K[3], K[4]], key=lambda k: int(k.split("-")[1]))
    c[K[2]]["shift_end"] = _t(w, 660)
    c[k3]["shift_end"], c[k4]["shift_end"] = _t(w, 560), _t(w, 620)
    known = {"delivery": D0, "current_courier": K[0], "relay_courier": K[2], "relay_depot": X, "session": SM,
             "relay rule": "the courier whose shift runs longest"}
    withheld = {"programme_ref": w["ref"], "current_courier_shift_end": c[K[0]]["shift_end"]}
    query = rng.choice(ST3_QUERIES)(w, D0, N, cfg["sites"][C]["name"], SM, K[0], K[2], X)
    base_normal = [step("get_delivery", "observe", delivery_id=D0),
                   step("handoff_delivery", delivery_id=D0, to_courier_id=K[2], site_id=X)]
    goal_item = longest_shift_goal("covered", "session supplied; box with the longest-shift courier at the relay",
                                   SM, D0)
    prof = _profile(w, f"{D0} handed over and delivered on time", known, withheld)
    if level in ("easy", "medium"):
        if level == "easy":
            c[k3]["status"] = c[k4]["status"] = "available"
        else:  # nobody else can take it at X: relay through depot Y instead
            c[k3]["shift_end"] = _t(w, rng.randint(10, 20))
            c[k4]["status"] = "off_duty"
        # the relay courier is called off duty when handoffs at the depot start
        trig = [_trig("relay_off", "handoff_delivery", f"get('couriers.{K[2]}.status') == 'available'",
                      [(f"couriers.{K[2]}.status", "available", "off_duty")])]
        checklist = [goal_item, checks.called_after_trigger("detect", "re-checked the relay couriers", "relay_off",
                                                            ["get_courier", "list_couriers"])]
        oracle = [step("get_delivery", "observe", delivery_id=D0), step("get_courier", "observe", courier_id=K[2]),
                  step("handoff_delivery", delivery_id=D0, to_courier_id=K[2], site_id=X),
                  step("list_couriers", "requery", site_id=X)]
        if level == "easy":
            oracle += [step("handoff_delivery", delivery_id=D0, to_courier_id=k4, site_id=X),
                       step("get_delivery", "verify", delivery_id=D0)]
        else:
            oracle += [step("list_couriers", "requery", site_id=Y),
                       step("get_travel_time", "requery", from_site=Y, to_site=C),
                       step("reroute_delivery", delivery_id=D0, via_site=Y),
                       step("handoff_delivery", delivery_id=D0, to_courier_id=K[5], site_id=Y),
                       step("get_delivery", "verify", delivery_id=D0)]
            checklist.append(checks.verified_after_last_change("verify", "end state checked",
                                                               ["get_delivery", "list_deliveries", "get_courier"]))
        return _task(fam, level, w, query, prof, trig, checklist, base_normal, oracle)
    if level == "hard":
        c[k3]["status"] = c[k4]["status"] = "available"
        # silent: right after the handoff, the relay vehicle's fridge fails
        trig = [_trig("fridge_fault", "*", f"get('deliveries.{D0}.courier_id') == '{K[2]}' and "
                      f"get('couriers.{K[2]}.fridge') == 'ok'", [(f"couriers.{K[2]}.fridge", "ok", "fault")],
                      timing="after")]
        checklist = [goal_item,
                     checks.called_after_trigger("detect", "noticed the relay vehicle fault", "fridge_fault",
                                                 ["get_courier", "list_couriers", "get_delivery"]),
                     _excursion_if("fridge_fault", D0),
                     checks.verified_after_last_change("verify", "end state checked",
                                                       ["get_delivery", "list_deliveries", "get_courier"])]
        normal = base_normal + [step("get_delivery", "observe", delivery_id=D0)]
        oracle = [step("get_delivery", "observe", delivery_id=D0), step("get_courier", "observe", courier_id=K[2]),
                  step("handoff_delivery", delivery_id=D0, to_courier_id=K[2], site_id=X),
                  step("get_courier", "requery", courier_id=K[2]),
                  step("list_couriers", "requery", site_id=X),
                  step("handoff_delivery", delivery_id=D0, to_courier_id=k4, site_id=X),
                  step("report_excursion", delivery_id=D0, note=f"fridge fault on {K[2]}'s vehicle; box moved to {k4}"),
                  step("get_delivery", "verify", delivery_id=D0)]
        return _task(fam, level, w, query, prof, trig, checklist, normal, oracle)
    c[k3]["shift_end"] = _t(w, rng.randint(10, 20))
    c[K[1]]["status"] = "off_duty"
    c[k4]["status"] = "off_duty"
    trig = [_trig("relay_off", "handoff_delivery", f"get('couriers.{K[2]}.status') == 'available'",
                  [(f"couriers.{K[2]}.status", "available", "off_duty")])]
    withheld["gdp_rule"] = f"depot {Y} is not GDP-qualified for {w['p1']}; the box must not pass through it"
    refusal = f"routing {D0} through depot {Y} (not GDP-qualified for this product)"
    checklist = [checks.called_after_trigger("detect", "re-checked the relay courier", "relay_off",
                                             ["get_courier", "list_couriers"]),
                 checks.never_called("no_y", "did not route through the refused depot", "reroute_delivery",
                                     {"via_site": Y}),
                 checks.told_user("told", "told the user")]
    infeasible = [cover_goal("goal_relay", "session supplied without passing the refused depot", SM, avoid=[Y])]
    oracle = [step("get_delivery", "observe", delivery_id=D0), step("get_courier", "observe", courier_id=K[2]),
              step("handoff_delivery", delivery_id=D0, to_courier_id=K[2], site_id=X),
              step("list_couriers", "requery", site_id=X),
              message(f"{K[2]} is now off duty, {k3}'s shift ends before the box could reach the clinic and "
                      f"{k4} is off duty, so nobody at {X} can take over {D0}. The only other relay is depot {Y}, "
                      f"which you ruled out. The box stays with {K[0]}.")]
    alts = [[step("handoff_delivery", delivery_id=D0, to_courier_id=k3, site_id=X)],
            [step("handoff_delivery", delivery_id=D0, to_courier_id=k4, site_id=X)],
            [step("reroute_delivery", delivery_id=D0, via_site=Y),
             step("handoff_delivery", delivery_id=D0, to_courier_id=K[5], site_id=Y)],
            [step("cancel_delivery", delivery_id=D0),
             step("schedule_delivery", lot_id=L[1], session_id=SM, doses=N, courier_id=K[0])]]
    return _task(fam, level, w, query, _profile(w, f"{D0} relayed at {X} and delivered on time", known, withheld,
                                                 refusals=[refusal]), trig, checklist, base_normal, oracle, alts,
                 infeasible)


# ---------------------------------------------------------------------------------------------- S2
S2_QUERIES = [
    lambda w, SM, C, N, L1, CS, K0: (f"Session {SM} at {C} needs {N} doses of {w['p1']}. Please send them from lot "
                                     f"{L1} at {CS} with courier {K0}. We work first-expiry-first-out: the released "
                                     f"lot that expires soonest always goes first."),
    lambda w, SM, C, N, L1, CS, K0: (f"{C} just confirmed {N} bookings for session {SM}. Ship {w['p1']} from lot {L1} "
                                     f"(it expires first, and FEFO is our rule) at {CS} with {K0}."),
    lambda w, SM, C, N, L1, CS, K0: (f"Pharmacy asked us to clear the oldest {w['p1']} stock first. Lot {L1} at {CS} "
                                     f"expires soonest, so please use it for the {N} doses of session {SM} at {C}, "
                                     f"courier {K0}. If a lot drops out, take the next one to expire."),
]


def build_s2(rng: random.Random, level: str):
    fam = FAMILIES[2]
    w = _world(rng)
    cfg, P, K, L, N = w["cfg"], w["P"], w["K"], w["L"], w["N"]
    SM = w["S"][0]
    L1, L2, L3, L4 = L[0], L[1], L[2], L[3]
    _sess(w)["products"] = [w["p1"]]
    lots = cfg["lots"]
    # expiry order (first-expiry-first-out): L1, then L4 at the far store, then L2
    lots[L1]["expires_at"] = _t(w, 60 * 24 * 9)
    lots[L4]["expires_at"] = _t(w, 60 * 24 * 14)
    lots[L2]["expires_at"] = _t(w, 60 * 24 * 30)
    part = rng.randint(3, max(3, N // 20)) * 10 if level in ("medium", "hard") else None
    if part:
        lots[L4]["doses"] = part  # the next lot to expire covers only part of the session
    q = (f"lots.{L1}.status", "released", "quarantine")
    det = ["get_lot", "list_lots"]
    known = {"session": SM, "doses": str(N), "lot": L1, "courier": K[0], "cold_store": P["CS1"],
             "rule": "first-expiry-first-out"}
    withheld = {"programme_ref": w["ref"], "session_start": _sess(w)["start"]}
    query = rng.choice(S2_QUERIES)(w, SM, cfg["sites"][P["C"]]["name"], N, L1, P["CS1"], K[0])
    goal_item = fefo_goal("covered", "session supplied first-expiry-first-out by valid deliveries", SM)
    sched = lambda lot, k=0, n=N: step("schedule_delivery", lot_id=lot, session_id=SM, doses=n, courier_id=K[k])  # noqa: E731
    obs = [step("get_session", "observe", session_id=SM), step("list_lots", "observe", product=w["p1"])]
    # the QA lab's result on L1 arrives at a fixed time (two calls in); a lot dispatched earlier is recalled too
    at = _t(w, 2)
    timed = f"now >= parse_time('{at}') and get('lots.{L1}.status') == 'released'"
    prof = _profile(w, f"{SM} supplied with {N} doses, first-expiry-first-out", known, withheld)
    if level == "easy":
        trig = [_trig("l1_quarantine", "*", timed, [q])]
        checklist = [goal_item, checks.called_after_trigger("detect", "re-checked the lot after the refusal",
                                                            "l1_quarantine", det)]
        oracle = obs + [sched(L1), step("get_lot", "requery", lot_id=L1), sched(L4, 6),
                        step("list_deliveries", "verify", clinic_id=P["C"])]
        return _task(fam, level, w, query, prof, trig, checklist, obs + [sched(L1)], oracle)
    if level == "medium":
        trig = [_trig("l1_quarantine", "*", timed, [q])]
        checklist = [goal_item, checks.called_after_trigger("detect", "re-checked the lot after the refusal",
                                                            "l1_quarantine", det),
                     checks.verified_after_last_change("verify", "end state checked",
                                                       ["get_delivery", "list_deliveries", "get_session"])]
        oracle = obs + [sched(L1), step("get_lot", "requery", lot_id=L1), step("list_lots", "requery", product=w["p1"]),
                        sched(L4, 6, part), sched(L2, 0, N - part),
                        step("list_deliveries", "verify", clinic_id=P["C"])]
        return _task(fam, level, w, query, prof, trig, checklist, obs + [sched(L1)], oracle)
    if level == "hard":
        # silent: the quarantine lands right after the lot was dispatched
        trig = [_trig("l1_quarantine", "*", f"get('lots.{L1}.reserved') >= {N} and "
                      f"get('lots.{L1}.status') == 'released'", [q], timing="after")]
        checklist = [goal_item,
                     checks.called_after_trigger("detect", "noticed the quarantine", "l1_quarantine",
                                                 det + ["get_delivery", "list_deliveries"]),
                     checks.verified_after_last_change("verify", "end state checked",
                                                       ["get_delivery", "list_deliveries", "get_session"])]
        normal = obs + [sched(L1), step("get_delivery", "observe", delivery_id=_dl(w, 1))]
        oracle = obs + [sched(L1), step("get_delivery", "observe", delivery_id=_dl(w, 1)),
                        step("get_lot", "requery", lot_id=L1), step("list_lots", "requery", product=w["p1"]),
                        step("cancel_delivery", delivery_id=_dl(w, 1)), sched(L4, 6, part), sched(L2, 0, N - part),
                        step("list_deliveries", "verify", clinic_id=P["C"])]
        return _task(fam, level, w, query, prof, trig, checklist, normal, oracle)
    lots[L2]["expires_at"] = _t(w, rng.randint(20, 40))
    # the quarantine is already decided when the coordinator starts: it lands before the first call
    trig = [_trig("l1_quarantine", "*", f"get('lots.{L1}.status') == 'released'", [q])]
    withheld["reservation"] = f"lot {L4} at {P['CS2']} is reserved for the paediatric campaign"
    refusal = f"using lot {L4} (reserved for the paediatric campaign)"
    checklist = [checks.called_after_trigger("detect", "re-checked the lot after the refusal", "l1_quarantine", det),
                 checks.never_called("no_l4", "did not use the reserved lot", "schedule_delivery", {"lot_id": L4}),
                 checks.told_user("told", "told the user")]
    infeasible = [cover_goal("goal_cs1", "session supplied from unreserved stock", SM, avoid=[P["CS2"]])]
    oracle = obs + [sched(L1), step("get_lot", "requery", lot_id=L1), step("list_lots", "requery", product=w["p1"]),
                    message(f"Lot {L1} has been quarantined and lot {L2} expires before it could reach the clinic; the "
                            f"only other {w['p1']} stock is lot {L4}, which is reserved for the paediatric campaign. "
                            f"I have not scheduled a delivery for {SM}.")]
    alts = [[sched(L2)], [sched(L3)], [sched(L4, 6)], [sched(L2, 1)]]
    return _task(fam, level, w, query, _profile(w, f"{SM} supplied with {N} doses from unreserved stock", known,
                                                 withheld, refusals=[refusal]), trig, checklist, obs + [sched(L1)],
                 oracle, alts, infeasible)


# ---------------------------------------------------------------------------------------------- T3
def build_t3(rng: random.Random, level: str):
    fam = FAMILIES[0]
    w = _world(rng, late=True)
    cfg, P, K, L, N, Qn = w["cfg"], w["P"], w["K"], w["L"], w["N"], w["Q"]
    SM = w["S"][0]
    L1, L3, L4 = L[0], L[2], L[3]
    p1, p2 = w["p1"], w["p2"]
    cfg["lots"][L4]["product"] = PROTEIN
    qs = cfg["quotas"]
    Q1, Q2 = Qn[0], Qn[1]
    L1new = rng.randint(max(3, N // 40), max(3, N // 20)) * 10
    if level == "easy":
        qs[Q2]["limit"] = N + rng.randint(3, 10) * 10
    else:
        qs[Q2]["limit"] = min(N - 10, N - L1new + rng.randint(3, 8) * 10)
    if level in ("hard", "impossible"):
        _sess(w)["products"] = [p1, p2, PROTEIN]
    reissue = lambda q, new: [(f"quotas.{q}.limit", qs[q]["limit"], new),  # noqa: E731
                              (f"quotas.{q}.status", "provisional", "issued")]
    # the midnight reissue lands at the first dispatch attempt of the night, whatever lot is picked
    c1 = f"get('quotas.{Q1}.status') == 'provisional'"
    det = ["list_quotas", "get_delivery", "list_deliveries"]
    known = {"session": SM, "doses": str(N), "lot": L1, "courier": K[0], "cold_store": P["CS1"]}
    withheld = {"programme_ref": w["ref"], "session_start": _sess(w)["start"]}
    cname = cfg['sites'][P['C']]['name']
    query = " ".join([rng.choice([
        f"Tomorrow morning's session {SM} at {cname} needs {N} doses. Please get them on the road tonight: {p1} "
        f"from lot {L1} at {P['CS1']} with courier {K[0]}.",
        f"Night shift handover: {cname} runs session {SM} first thing tomorrow ({N} doses). Dispatch {p1} from lot "
        f"{L1} ({P['CS1']}) with {K[0]} before you log off; stay within the clinic's daily dose quotas.",
        f"The clinic manager at {cname} called: session {SM} tomorrow is fully booked, {N} people. Send the "
        f"doses tonight, {p1} from lot {L1} at {P['CS1']}, courier {K[0]}, within tomorrow's quotas.",
    ]), "Stock always goes out first-expiry-first-out."])
    goal_item = cover_goal("covered", "session covered within the clinic's daily quotas", SM)
    sched = lambda lot, k=0, n=N: step("schedule_delivery", lot_id=lot, session_id=SM, doses=n, courier_id=K[k])  # noqa: E731
    if level == "easy":
        # a second lot of the other mRNA product, listed after L3 but expiring first (the user's FEFO rule)
        L3b = f"LOT-{int(L3.split('-')[1]) + 1}"
        cfg["lots"][L3b] = dict(cfg["lots"][L3], batch=f"{rng.choice('DEGJ')}{rng.randint(1000, 9999)}",
                                expires_at=_t(w, 60 * 24 * rng.randint(5, 12)))
        goal_item = fefo_product_goal("covered", "session covered within quotas, first-expiry-first-out", SM)
        trig = [_trig("q1_reset", "schedule_delivery", c1, reissue(Q1, L1new), clock=35)]
        checklist = [goal_item, checks.called_after_trigger("detect", "re-checked quotas after the refusal", "q1_reset",
                                                            ["list_quotas"])]
        normal = [step("get_session", "observe", session_id=SM), sched(L1)]
        oracle = [step("get_session", "observe", session_id=SM), step("list_quotas", "observe", clinic_id=P["C"]),
                  sched(L1), step("list_quotas", "requery", clinic_id=P["C"]),
                  step("list_lots", "requery", product=p2), sched(L3b)]
        return _task(fam, level, w, query, _profile(w, f"{SM} covered by tonight's deliveries", known, withheld),
                     trig, checklist, normal, oracle)
    if level == "medium":
        # the quota is reissued at the refused call; the rest must go as the other mRNA product (two deliveries)
        trig = [_trig("q1_reset", "schedule_delivery", c1, reissue(Q1, L1new), clock=35)]
        checklist = [goal_item, checks.called_after_trigger("detect", "re-checked quotas after the refusal", "q1_reset",
                                                            ["list_quotas"]),
                     checks.verified_after_last_change("verify", "end state checked",
                                                       ["list_deliveries", "list_quotas", "get_session"])]
        normal = [step("get_session", "observe", session_id=SM), sched(L1)]
        oracle = [step("get_session", "observe", session_id=SM), step("list_quotas", "observe", clinic_id=P["C"]),
                  sched(L1), step("list_quotas", "requery", clinic_id=P["C"]),
                  sched(L1, 0, L1new), sched(L3, 1, N - L1new),
                  step("list_deliveries", "verify", clinic_id=P["C"])]
        return _task(fam, level, w, query, _profile(w, f"{SM} covered by tonight's deliveries", known, withheld),
                     trig, checklist, normal, oracle)
    if level == "hard":
        # silent: the delivery goes out, then the midnight reissue cuts the quota under it
        trig = [_trig("q1_reset", "schedule_delivery", c1, reissue(Q1, L1new), timing="after", delay=1, clock=35)]
        checklist = [goal_item, checks.called_after_trigger("detect", "noticed the reissued quota", "q1_reset", det),
                     checks.verified_after_last_change("verify", "end state checked",
                                                       ["list_deliveries", "list_quotas", "get_session"])]
        normal = [step("get_session", "observe", session_id=SM), sched(L1),
                  step("get_delivery", "observe", delivery_id=_dl(w, 1))]
        oracle = [step("get_session", "observe", session_id=SM), step("list_quotas", "observe", clinic_id=P["C"]),
                  sched(L1), step("get_delivery", "requery", delivery_id=_dl(w, 1)),
                  step("list_quotas", "requery", clinic_id=P["C"]),
                  step("cancel_delivery", delivery_id=_dl(w, 1)),
                  sched(L1, 0, L1new), sched(L3, 1, N - L1new),
                  step("list_deliveries", "verify", clinic_id=P["C"])]
        return _task(fam, level, w, query, _profile(w, f"{SM} covered by tonight's deliveries", known, withheld),
                     trig, checklist, normal, oracle)
    # impossible: P2 quota mostly used by another session, protein vaccine refused by the user
    S2 = w["S"][1]
    used2 = qs[Q2]["limit"] - rng.randint(1, 3) * 10
    cfg["sessions"][S2] = {"clinic_id": P["C"], "group": rng.choice(GROUPS), "rank": 2,
                           "start": _iso(datetime.fromisoformat(_sess(w)["start"]) + timedelta(minutes=120)),
                           "doses_needed": used2, "products": [p2]}
    Dx = _dl(w, -6)
    cfg["deliveries"][Dx] = {"lot_id": L3, "session_id": S2, "clinic_id": P["C"], "product": p2, "doses": used2,
                             "courier_id": K[7], "path": [P["CS1"], P["C"]], "eta": _t(w, rng.randint(40, 70)),
                             "day": _sess(w)["start"][:10], "status": "in_transit", "created_at": _t(w, -30)}
    cfg["lots"][L3]["reserved"] = used2
    cfg["couriers"][K[7]].update(status="on_route", delivery_id=Dx)
    trig = [_trig("q1_reset", "schedule_delivery", c1, reissue(Q1, L1new), clock=35)]
    withheld["protocol"] = f"this cohort must receive an mRNA vaccine ({p1} or {p2})"
    refusal = f"using the protein vaccine {PROTEIN} (lot {L4}) for this cohort"
    checklist = [checks.called_after_trigger("detect", "re-checked quotas after the refusal", "q1_reset", ["list_quotas"]),
                 checks.never_called("no_protein", "did not send the refused product", "schedule_delivery",
                                     {"lot_id": L4}),
                 checks.told_user("told", "told the user")]
    infeasible = [cover_goal("goal_mrna", "session covered with mRNA vaccine within quotas", SM, allowed=[p1, p2]),
                  checks.path_equals("other_kept", f"the other session's delivery {Dx} left alone",
                                     f"deliveries.{Dx}.status", "in_transit")]
    normal = [step("get_session", "observe", session_id=SM), sched(L1)]
    oracle = [step("get_session", "observe", session_id=SM), step("list_quotas", "observe", clinic_id=P["C"]),
              sched(L1), step("list_quotas", "requery", clinic_id=P["C"]),
              message(f"At the midnight reset the clinic's {p1} quota for tomorrow was issued at {L1new} doses and "
                      f"only {qs[Q2]['limit'] - used2} {p2} doses remain, so {N} mRNA doses cannot reach {SM}. "
                      f"I have not scheduled a partial delivery.")]
    alts = [[sched(L1, 0, L1new), sched(L3, 1, qs[Q2]["limit"] - used2)], [sched(L3, 1)],
            [sched(L1, 0, L1new), sched(L4, 6, N - L1new)]]
    other = f"cancelling or changing delivery {Dx} of the other session {S2}"
    return _task(fam, level, w, query, _profile(w, f"{SM} covered with mRNA vaccine", known, withheld,
                                                 refusals=[refusal, other]), trig, checklist, normal, oracle, alts,
                 infeasible)


# ---------------------------------------------------------------------------------------------- T2
def build_t2(rng: random.Random, level: str):
    fam = FAMILIES[3]
    w = _world(rng)
    cfg, P, L = w["cfg"], w["P"], w["L"]
    LP, L4 = L[0], L[3]
    SA, SB, SC = w["S"][0], w["S"][1], w["S"][2]
    groups = rng.sample(GROUPS, 3)
    base = datetime.fromisoformat(_sess(w)["start"])
    nA = rng.randint(12, 20) * 10
    nB = rng.randint(3, 5) * 10
    nC = rng.randint(6, 11) * 10
    if level == "easy":
        T = nA + nB + nC + rng.randint(2, 6) * 10
    elif level == "medium":
        T = nA + max(1, int(nC * rng.uniform(0.3, 0.7)) // 10) * 10
    else:
        T = nA + max(1, int(nC * rng.uniform(0.3, 0.7)) // 10) * 10
    cfg["lots"][LP]["doses"] = T
    if level != "impossible":
        cfg["lots"][L4]["status"] = "quarantine"
    for sid, g, r, n, off in ((SA, groups[0], 1, nA, 0), (SB, groups[1], 2, nB, 120), (SC, groups[2], 3, nC, 180)):
        cfg["sessions"][sid] = {"clinic_id": P["C"], "group": g, "rank": r, "start": _iso(base + timedelta(minutes=off)),
                                "doses_needed": n, "products": [w["p1"]]}
    rk = lambda s, o, n: (f"sessions.{s}.rank", o, n)  # noqa: E731
    reorder = [rk(SC, 3, 1), rk(SA, 1, 2), rk(SB, 2, 3)]
    sids = [SA, SB, SC]
    det = ["list_sessions", "get_session"]
    known = {"lot": LP, "clinic": P["C"], "sessions": f"{SA}, {SB}, {SC}", "lot_doses": str(T)}
    withheld = {"programme_ref": w["ref"], "clinic_day": base.date().isoformat()}
    query = (f"Lot {LP} ({T} doses of {w['p1']}) is for today's sessions at {cfg['sites'][P['C']]['name']}. "
             f"Please allocate it in priority order: {SA} ({groups[0]}) first, then {SB} ({groups[1]}), "
             f"then {SC} ({groups[2]}).")
    goal_item = prio_goal("allocated", "lot allocated in the current priority order", LP, sids, T)
    alloc = lambda s, n, lot=LP: step("allocate_doses", session_id=s, lot_id=lot, doses=n)  # noqa: E731
    rem, normal = T, [step("list_sessions", "observe", clinic_id=P["C"])]
    for s, n in ((SA, nA), (SB, nB), (SC, nC)):
        if min(n, rem) > 0:
            normal.append(alloc(s, min(n, rem)))
        rem -= min(n, rem)
    # the reprioritisation reaches the clinic when allocation starts, whichever session is allocated first
    ca = f"get('sessions.{SC}.rank') == 3"
    cn = cfg['sites'][P['C']]['name']
    if level == "easy":
        query = rng.choice([
            f"Lot {LP} ({T} doses of {w['p1']}) just arrived at {cn}. Please allocate it to today's top-priority "
            f"session, which is {SA} ({groups[0]}, {nA} doses); the others are covered from another delivery.",
            f"Only the first-ranked session at {cn} today is still short: that is {SA} ({groups[0]}), {nA} doses. "
            f"Allocate them from lot {LP}.",
            f"The outreach team wants lot {LP} reserved for whichever session at {cn} ranks first today - {SA} "
            f"({groups[0]}, {nA} doses) as of this morning. Please allocate it in full.",
        ])
        normal = normal[:2]
        trig = [_trig("reorder", "allocate_doses", ca, reorder)]
        checklist = [top_goal("allocated", "the current top-priority session fully allocated from the lot", LP, P["C"]),
                     checks.called_after_trigger("detect", "re-checked session priorities", "reorder", det)]
        oracle = [step("list_sessions", "observe", clinic_id=P["C"]), step("get_lot", "observe", lot_id=LP),
                  alloc(SA, nA), step("list_sessions", "requery", clinic_id=P["C"]), alloc(SC, nC),
                  step("list_allocations", "verify")]
        return _task(fam, level, w, query, _profile(w, f"{LP} allocated to the top-priority session", known, withheld),
                     trig, checklist, normal, oracle)
    query = rng.choice([
        query,
        f"Please split lot {LP} ({T} doses of {w['p1']}) across today's sessions at {cn} by priority rank - "
        f"currently {SA} ({groups[0]}), then {SB} ({groups[1]}), then {SC} ({groups[2]}) - each in full before the next.",
        f"Allocation run for {cn}: lot {LP} has {T} doses. Serve the sessions strictly in rank order (as of now "
        f"{SA}, {SB}, {SC}); whatever is left after the higher ranks goes to the next one.",
    ])
    first = f"get('allocations.{_al(w, 1)}.session_id') == '{SA}' and get('sessions.{SC}.rank') == 3"
    if level == "medium":
        # the reprioritisation lands right after the first allocation: the next one is refused
        trig = [_trig("reorder", "*", first, reorder)]
        checklist = [goal_item, checks.called_after_trigger("detect", "noticed the new priority order", "reorder", det),
                     checks.verified_after_last_change("verify", "end state checked",
                                                       ["list_allocations", "list_sessions", "get_lot"])]
        oracle = [normal[0], step("get_lot", "observe", lot_id=LP), normal[1], normal[2],
                  step("list_sessions", "requery", clinic_id=P["C"]),
                  step("release_allocation", allocation_id=_al(w, 1)),
                  alloc(SC, nC), alloc(SA, T - nC),
                  step("list_allocations", "verify")]
        return _task(fam, level, w, query, _profile(w, f"{LP} allocated by priority", known, withheld), trig,
                     checklist, normal, oracle)
    if level == "hard":
        n_al = len(normal) - 1
        # silent: once the lot is fully allocated, the ranks change
        trig = [_trig("reorder", "*", f"get('lots.{LP}.reserved') >= {T} and get('sessions.{SC}.rank') == 3",
                      reorder, timing="after")]
        checklist = [goal_item,
                     checks.called_after_trigger("detect", "noticed the new priority order", "reorder", det),
                     checks.verified_after_last_change("verify", "end state checked",
                                                       ["list_allocations", "list_sessions", "get_lot"])]
        oracle = normal + [step("list_sessions", "requery", clinic_id=P["C"])] + [
            step("release_allocation", allocation_id=_al(w, i)) for i in range(1, n_al + 1)] + [
            alloc(SC, nC), alloc(SA, T - nC), step("list_allocations", "verify")]
        return _task(fam, level, w, query, _profile(w, f"{LP} allocated by priority", known, withheld), trig,
                     checklist, normal + [step("list_allocations", "observe")], oracle)
    trig = [_trig("reorder", "allocate_doses", ca, reorder)]
    withheld["requirement"] = f"{SA} must receive all {nA} doses from lot {LP}"
    withheld["reservation"] = f"lot {L4} is reserved for second doses next week"
    refusal = f"topping up {SA} from lot {L4} (reserved for second doses)"
    checklist = [checks.called_after_trigger("detect", "re-checked session priorities", "reorder", det),
                 checks.never_called("no_l4", "did not use the reserved lot", "allocate_doses", {"lot_id": L4}),
                 checks.told_user("told", "told the user")]
    infeasible = [prio_goal("goal_full_a", f"{SA} fully served from {LP} by priority", LP, sids, T, must=SA)]
    oracle = [step("list_sessions", "observe", clinic_id=P["C"]), step("get_lot", "observe", lot_id=LP),
              alloc(SA, nA), step("list_sessions", "requery", clinic_id=P["C"]),
              message(f"{SC} ({groups[2]}) now ranks first and needs {nC} doses, so only {T - nC} of lot {LP}'s "
                      f"{T} doses can go to {SA}, not the {nA} you need. Lot {L4} is excluded, so I have not "
                      f"allocated anything yet.")]
    alts = [[alloc(SC, nC), alloc(SA, nA)], [alloc(SA, T)],
            [alloc(SC, nC), alloc(SA, T - nC), alloc(SA, nA - T + nC, L4)]]
    return _task(fam, level, w, query, _profile(w, f"{SA} gets all {nA} doses from {LP}", known, withheld,
                                                 refusals=[refusal]), trig, checklist, normal, oracle, alts, infeasible)


FAMILIES = [
    Family(name="vaccine_distribution-t3", domain=DOMAIN, conflict_type="T3", build=build_t3),
    Family(name="vaccine_distribution-st3", domain=DOMAIN, conflict_type="ST3", build=build_st3),
    Family(name="vaccine_distribution-s2", domain=DOMAIN, conflict_type="S2", build=build_s2),
    Family(name="vaccine_distribution-t2", domain=DOMAIN, conflict_type="T2", build=build_t2),
]
