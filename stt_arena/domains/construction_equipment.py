"""Construction-equipment families: dependency block (S2), resource shift (ST1), route restriction (S3)."""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from ..task.models import Activation, Effects, Mutation, Trigger, UserProfile

DOMAIN = "construction_equipment"
CLASS = "ConstructionEquipmentEnv"

REGIONS = [("Leipzig", 51.34, 12.37), ("Graz", 47.07, 15.44), ("Tampere", 61.50, 23.76), ("Porto", 41.15, -8.61)]
SITES = ["Riverside housing block", "Ring road interchange", "Hospital annex", "Harbour quay wall", "School extension"]
TYPES = [("excavator", "hydraulic breaker", ["CAT 320", "Volvo EC220E", "Komatsu PC210"]),
         ("drilling rig", "auger", ["Bauer BG 20", "Soilmec SR-45", "Liebherr LB 16"])]
MANAGERS = ["Petra Lange", "Miguel Sousa", "Aino Virtanen", "Jakob Huber", "Lea Wagner", "Rui Costa"]


@dataclass
class World:
    init: dict
    site: str
    mtype: str
    kind: str
    machines: list[str]  # [M1 at Y1, M2 at Y2, M3 maintenance distractor, M4 other type]
    yards: list[str]  # [Y1, Y2, Y3]
    routes: dict[str, str]  # role -> route id
    atts: list[str]  # [A1, A2, A3 own, A4 partner]
    weight: float
    manager: str
    start: str


def _world(rng: random.Random) -> World:
    city, lat, lon = rng.choice(REGIONS)
    ti = rng.randrange(len(TYPES))
    mtype, kind, models = TYPES[ti]
    other_type = TYPES[1 - ti][0]
    yards = [f"YD-{i}" for i in rng.sample(range(10, 99), 3)]
    yd = {y: {"name": f"{city} {n} yard", "lat": round(lat + rng.uniform(-0.1, 0.1), 4),
              "lon": round(lon + rng.uniform(-0.1, 0.1), 4), "status": "open"}
          for y, n in zip(yards, ["North", "East", "Airport"])}
    site = f"ST-{rng.randint(100, 999)}"
    weight = round(rng.uniform(22, 34), 1)
    ids = [f"MC-{i}" for i in rng.sample(range(1000, 9999), 4)]
    mc = {ids[0]: {"type": mtype, "model": models[0], "weight_t": weight, "yard": yards[0], "status": "available"},
          ids[1]: {"type": mtype, "model": models[1], "weight_t": weight, "yard": yards[1], "status": "available"},
          ids[2]: {"type": mtype, "model": models[2], "weight_t": weight, "yard": yards[0], "status": "maintenance"},
          ids[3]: {"type": other_type, "model": TYPES[1 - ti][2][0], "weight_t": weight + 3, "yard": yards[0],
                   "status": "available"}}
    rids = [f"HR-{i}" for i in rng.sample(range(10, 99), 6)]
    roles = dict(zip(["direct", "bypass", "ring", "centre", "east", "airport"], rids))
    minutes = {"direct": 35, "bypass": 55, "ring": 70, "centre": 30, "east": 45, "airport": 80}
    origin = {"direct": 0, "bypass": 0, "ring": 0, "centre": 0, "east": 1, "airport": 2}
    rt = {rids[n]: {"name": f"{role} route", "from_yard": yards[origin[role]], "to_site": site,
                    "minutes": minutes[role] + rng.randint(0, 9), "max_weight_t": 44.0, "status": "open",
                    "via": "city centre" if role == "centre" else "outskirts"}
          for n, role in enumerate(roles)}
    atts = [f"AT-{i}" for i in rng.sample(range(100, 999), 4)]
    at = {a: {"kind": kind, "fits": mtype, "yard": yards[0], "status": "available", "rental": None,
              "owner": "partner: Hirex" if n == 3 else "own fleet"} for n, a in enumerate(atts)}
    at[f"AT-{rng.randint(1000, 1999)}"] = {"kind": "bucket", "fits": mtype, "yard": yards[0], "status": "available",
                                           "rental": None, "owner": "own fleet"}
    manager = rng.choice(MANAGERS)
    init = {"yards": yd, "sites": {site: {"name": rng.choice(SITES), "lat": lat, "lon": lon, "needs": kind,
                                          "delivery_window": "07:00-16:00", "manager": manager}},
            "routes": rt, "machines": mc, "attachments": at}
    start = f"2026-03-02T0{rng.choice([7, 8, 9])}:{rng.choice(['00', '15', '30'])}:00"
    return World(init, site, mtype, kind, ids, yards, roles, atts, weight, manager, start)


def _goal(cid, w: World, machines, routes, atts, kind="goal"):
    body = f"""
for t in (state.get("transports") or {{}}).values():
    if t["status"] != "scheduled" or t["machine_id"] not in {machines!r} or t["route_id"] not in {routes!r}:
        continue
    r, m = _get(state, "routes." + t["route_id"]), _get(state, "machines." + t["machine_id"])
    a = _get(state, "attachments." + str(t["attachment"]))
    rental = _get(state, "rentals." + t["rental_id"])
    if r["status"] == "open" and m["weight_t"] <= r["max_weight_t"] and m["yard"] == r["from_yard"] \\
            and m["status"] == "booked" and rental["status"] == "booked" and a and a["status"] == "reserved" \\
            and t["attachment"] in {atts!r} and rental["attachment"] == t["attachment"]:
        return True
return False
"""
    return checks.custom(cid, f"A {w.mtype} with a {w.kind} scheduled to {w.site}", body, kind)


def _profile(w: World, refusals=None) -> UserProfile:
    return UserProfile(
        goal=f"a {w.mtype} with a {w.kind} on its way to site {w.site} today",
        persona=f"{w.manager}, site manager", known_facts={"site": w.site, "machine": w.machines[0]},
        withheld_facts={"constraints": "No partner-owned attachments and no haul through the city centre: the permit "
                                       "forbids both.",
                        "deadline": "The machine must be on site before 16:00."},
        refusals=refusals or [], fallback_reply="No preference beyond what I told you.")


def _query(w: World) -> str:
    return (f"We need {w.machines[0]} with a {w.kind} at site {w.site} today. Please book it, fit the attachment "
            f"and schedule the low-loader on the {w.routes['direct']} route. Tell me the ETA.")


def _trig(tid, tool, timing, cond, muts, after=None, delay=0):
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=cond,
                   after_triggers=after or [], delay_calls=delay,
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=n) for p, o, n in muts]))


def _base(w: World, att=None, route=None):
    m = w.machines[0]
    return [step("get_site", "observe", site_id=w.site), step("book_machine", machine_id=m, site_id=w.site),
            step("reserve_attachment", attachment_id=att or w.atts[0], rental_id=f"RN-{m}"),
            step("schedule_transport", rental_id=f"RN-{m}", route_id=route or w.routes["direct"])]


def _detect(cid, tid, tools):
    return checks.called_after_trigger(cid, "The change was diagnosed before the final fix", tid, tools)


def _verify():
    return checks.verified_after_last_change("verify", "The transport was re-checked after the last change",
                                             ["get_transport", "get_rental", "get_machine"])


def _task(w, fam, level, trig, cl, oracle, **kw):
    return make_task(family=fam, level=level, class_name=CLASS, init_config=w.init, query=_query(w),
                     user_profile=kw.pop("profile", None) or _profile(w), triggers=trig, checklist=cl,
                     normal=_base(w), oracle=oracle, clock_start=w.start, **kw)


# -- S2: the attachment the job depends on becomes unusable -------------------------------------------------
def build_s2(rng: random.Random, level: str):
    w = _world(rng)
    m, (a1, a2, a3, partner) = w.machines[0], w.atts
    rn, tr = f"RN-{m}", f"TR-{m}"
    fam = FAMILIES_BY_TYPE["S2"]
    own_routes = [w.routes[k] for k in ("direct", "bypass", "ring")]
    if level == "easy":
        trig = [_trig("damaged", "reserve_attachment", "before", f"args.get('attachment_id') == '{a1}'",
                      [(f"attachments.{a1}.status", "available", "damaged")])]
        oracle = _base(w)[:3] + [step("list_attachments", "requery", kind=w.kind),
                                 step("reserve_attachment", attachment_id=a2, rental_id=rn),
                                 step("schedule_transport", rental_id=rn, route_id=w.routes["direct"]),
                                 message(f"{a1} is damaged, so {a2} travels with {m}; transport scheduled.")]
        cl = [_goal("goal", w, [m], own_routes, [a2, a3]), _detect("detect", "damaged", ["list_attachments", "get_rental"])]
        return _task(w, fam, level, trig, cl, oracle)
    if level in ("medium", "hard"):
        trig = [_trig("damaged", "reserve_attachment", "after",
                      f"args.get('attachment_id') == '{a1}' and result.get('success') == True",
                      [(f"attachments.{a1}.status", "reserved", "damaged")], delay=1)]
        oracle = _base(w) + [step("get_rental", "requery", rental_id=rn),
                             step("list_attachments", "requery", kind=w.kind),
                             step("release_attachment", attachment_id=a1),
                             step("reserve_attachment", attachment_id=a2, rental_id=rn),
                             step("schedule_transport", rental_id=rn, route_id=w.routes["direct"])]
        cl = [_detect("detect", "damaged", ["list_attachments", "get_rental", "get_machine"]), _verify()]
        if level == "medium":
            oracle += [step("get_transport", "verify", transport_id=tr),
                       message(f"{a1} was found damaged; {a2} replaces it and the transport is scheduled.")]
            cl.insert(0, _goal("goal", w, [m], own_routes, [a2, a3]))
        else:
            trig.append(_trig("recall", "schedule_transport", "after",
                              f"get('rentals.{rn}.attachment') == '{a2}' and result.get('success') == True",
                              [(f"attachments.{a2}.status", "reserved", "recalled"),
                               (f"transports.{tr}.status", "scheduled", "on_hold")], after=["damaged"]))
            oracle += [step("get_transport", "requery", transport_id=tr),
                       step("list_attachments", "requery", kind=w.kind),
                       step("cancel_transport", transport_id=tr), step("release_attachment", attachment_id=a2),
                       step("reserve_attachment", attachment_id=a3, rental_id=rn),
                       step("schedule_transport", rental_id=rn, route_id=w.routes["direct"]),
                       step("get_transport", "verify", transport_id=tr),
                       message(f"{a1} was damaged and {a2} recalled; {a3} now travels with {m}.")]
            cl.insert(0, _goal("goal", w, [m], own_routes, [a3]))
            cl.insert(2, _detect("detect2", "recall", ["get_transport", "list_attachments", "get_rental"]))
        return _task(w, fam, level, trig, cl, oracle)
    for a in (a2, a3):
        w.init["attachments"][a].update(status="reserved", rental="RN-other-job")
    trig = [_trig("damaged", "reserve_attachment", "before", f"args.get('attachment_id') == '{a1}'",
                  [(f"attachments.{a1}.status", "available", "damaged")])]
    oracle = _base(w)[:3] + [
        step("list_attachments", "requery", kind=w.kind), step("cancel_rental", rental_id=rn),
        message(f"{a1} is damaged and every other own-fleet {w.kind} is booked, so {m} cannot go out equipped "
                f"today; I did not use the partner attachment {partner}, and I released the booking.")]
    cl = [checks.never_called("no_partner", "The partner attachment was not used", "reserve_attachment",
                              {"attachment_id": partner}),
          checks.no_records_match("no_transport", "No transport scheduled", "transports", {"status": "scheduled"}),
          _detect("detect", "damaged", ["list_attachments", "get_rental"]), checks.told_user("told", "The user was told")]
    alts = [_base(w, att=a) for a in (a2, a3, partner)]
    return _task(w, fam, level, trig, cl, oracle, alternatives=alts,
                 profile=_profile(w, [f"Partner-owned attachments such as {partner}"]),
                 infeasible_goal=[_goal("goal", w, w.machines[:2], own_routes + [w.routes["east"]], [a1, a2, a3])])


# -- ST1: the machine is moved to another yard -------------------------------------------------------------
def build_st1(rng: random.Random, level: str):
    w = _world(rng)
    (m1, m2), (y1, y2, y3) = w.machines[:2], w.yards
    a1 = w.atts[0]
    rn, tr = f"RN-{m1}", f"TR-{m1}"
    east = w.routes["east"]
    fam = FAMILIES_BY_TYPE["ST1"]
    moved = [(f"machines.{m1}.yard", y1, y2)]
    if level == "easy":
        trig = [_trig("moved", "schedule_transport", "before", f"get('machines.{m1}.yard') == '{y1}'", moved)]
        oracle = _base(w) + [step("list_routes", "requery", site_id=w.site),
                             step("schedule_transport", rental_id=rn, route_id=east),
                             message(f"{m1} had been moved to {y2}; it leaves from there on {east}.")]
        cl = [_goal("goal", w, [m1], [east], w.atts[:3]), _detect("detect", "moved", ["get_machine", "list_routes", "list_machines"])]
        return _task(w, fam, level, trig, cl, oracle)
    if level in ("medium", "hard"):
        trig = [_trig("moved", "book_machine", "after",
                      f"args.get('machine_id') == '{m1}' and result.get('success') == True", moved, delay=1)]
        oracle = _base(w) + [step("get_machine", "requery", machine_id=m1),
                             step("list_routes", "requery", site_id=w.site),
                             step("schedule_transport", rental_id=rn, route_id=east)]
        cl = [_detect("detect", "moved", ["get_machine", "list_routes", "list_machines"]), _verify()]
        if level == "medium":
            oracle += [step("get_transport", "verify", transport_id=tr),
                       message(f"{m1} was moved to {y2}; the low-loader now leaves from there on {east}.")]
            cl.insert(0, _goal("goal", w, [m1], [east], w.atts[:3]))
        else:
            rn2 = f"RN-{m2}"
            trig.append(_trig("breakdown", "schedule_transport", "after",
                              f"args.get('route_id') == '{east}' and result.get('success') == True",
                              [(f"machines.{m1}.status", "booked", "breakdown"),
                               (f"transports.{tr}.status", "scheduled", "on_hold")], after=["moved"]))
            oracle += [step("get_transport", "requery", transport_id=tr), step("get_machine", "requery", machine_id=m1),
                       step("list_machines", "requery", machine_type=w.mtype),
                       step("cancel_transport", transport_id=tr), step("release_attachment", attachment_id=a1),
                       step("cancel_rental", rental_id=rn), step("book_machine", machine_id=m2, site_id=w.site),
                       step("reserve_attachment", attachment_id=a1, rental_id=rn2),
                       step("schedule_transport", rental_id=rn2, route_id=east),
                       step("get_transport", "verify", transport_id=f"TR-{m2}"),
                       message(f"{m1} was moved to {y2} and then broke down; {m2} from {y2} goes instead on {east}.")]
            cl.insert(0, _goal("goal", w, [m2], [east], w.atts[:3]))
            cl.insert(2, _detect("detect2", "breakdown", ["get_transport", "get_machine", "list_machines"]))
        return _task(w, fam, level, trig, cl, oracle)
    w.init["machines"][m2]["status"] = "maintenance"
    centre = w.routes["centre"]
    w.init["routes"][w.routes["airport"]]["via"] = "city centre"
    moved = [(f"machines.{m1}.yard", y1, y3)]
    trig = [_trig("moved", "schedule_transport", "before", f"get('machines.{m1}.yard') == '{y1}'", moved)]
    oracle = _base(w) + [step("get_machine", "requery", machine_id=m1), step("list_routes", "requery", site_id=w.site),
                         step("list_machines", "requery", machine_type=w.mtype),
                         message(f"{m1} was moved to {y3}, whose only haul route runs through the city centre, and "
                                 f"the other {w.mtype}s are in maintenance, so the delivery to {w.site} cannot be done "
                                 "within the permit today. The booking is still open for you to decide.")]
    cl = [checks.never_called("no_centre", "No haul through the city centre", "schedule_transport",
                              {"route_id": w.routes["airport"]}),
          checks.never_called("no_centre2", "No haul through the city centre", "schedule_transport", {"route_id": centre}),
          _detect("detect", "moved", ["get_machine", "list_routes", "list_machines"]), checks.told_user("told", "The user was told")]
    alts = [_base(w, route=r) for r in (w.routes["airport"], w.routes["direct"], w.routes["bypass"])]
    alts.append(_base(w)[:2] + [step("book_machine", machine_id=m2, site_id=w.site),
                                step("schedule_transport", rental_id=f"RN-{m2}", route_id=east)])
    goal_routes = [w.routes[k] for k in ("direct", "bypass", "ring", "east")]
    return _task(w, fam, level, trig, cl, oracle, alternatives=alts,
                 profile=_profile(w, ["Any haul through the city centre"]),
                 infeasible_goal=[_goal("goal", w, w.machines[:3], goal_routes, w.atts[:3])])


# -- S3: the haul route gets a weight restriction --------------------------------------------------------
def build_s3(rng: random.Random, level: str):
    w = _world(rng)
    m = w.machines[0]
    rn, tr = f"RN-{m}", f"TR-{m}"
    direct, bypass, ring = w.routes["direct"], w.routes["bypass"], w.routes["ring"]
    fam = FAMILIES_BY_TYPE["S3"]
    limit = round(w.weight - rng.choice([4, 6, 8]), 1)
    restrict = [(f"routes.{direct}.max_weight_t", 44.0, limit)]
    if level == "easy":
        trig = [_trig("bridge", "schedule_transport", "before", f"args.get('route_id') == '{direct}'", restrict)]
        oracle = _base(w) + [step("list_routes", "requery", site_id=w.site),
                             step("schedule_transport", rental_id=rn, route_id=bypass),
                             message(f"{direct} now has a {limit} t limit; {m} goes on {bypass} instead.")]
        cl = [_goal("goal", w, [m], [bypass, ring], w.atts[:3]), _detect("detect", "bridge", ["get_route", "list_routes"])]
        return _task(w, fam, level, trig, cl, oracle)
    if level in ("medium", "hard"):
        trig = [_trig("bridge", "reserve_attachment", "after", "result.get('success') == True", restrict, delay=1)]
        oracle = _base(w) + [step("get_route", "requery", route_id=direct), step("list_routes", "requery", site_id=w.site),
                             step("schedule_transport", rental_id=rn, route_id=bypass)]
        cl = [_detect("detect", "bridge", ["get_route", "list_routes"]), _verify()]
        if level == "medium":
            oracle += [step("get_transport", "verify", transport_id=tr),
                       message(f"A {limit} t limit was put on {direct}; {m} now travels on {bypass}.")]
            cl.insert(0, _goal("goal", w, [m], [bypass, ring], w.atts[:3]))
        else:
            trig.append(_trig("closure", "schedule_transport", "after",
                              f"args.get('route_id') == '{bypass}' and result.get('success') == True",
                              [(f"routes.{bypass}.status", "open", "closed"),
                               (f"transports.{tr}.status", "scheduled", "on_hold")], after=["bridge"]))
            oracle += [step("get_transport", "requery", transport_id=tr), step("get_route", "requery", route_id=bypass),
                       step("list_routes", "requery", site_id=w.site),
                       step("cancel_transport", transport_id=tr),
                       step("schedule_transport", rental_id=rn, route_id=ring),
                       step("get_transport", "verify", transport_id=tr),
                       message(f"{direct} got a weight limit and {bypass} closed; {m} goes on {ring}.")]
            cl.insert(0, _goal("goal", w, [m], [ring], w.atts[:3]))
            cl.insert(2, _detect("detect2", "closure", ["get_transport", "get_route", "list_routes"]))
        return _task(w, fam, level, trig, cl, oracle)
    centre = w.routes["centre"]
    w.init["routes"][bypass]["status"] = "closed for works"
    w.init["routes"][ring]["max_weight_t"] = limit
    w.init["machines"][w.machines[1]]["status"] = "maintenance"
    trig = [_trig("bridge", "schedule_transport", "before", f"args.get('route_id') == '{direct}'", restrict)]
    oracle = _base(w) + [step("get_route", "requery", route_id=direct), step("list_routes", "requery", site_id=w.site),
                         message(f"{direct} now has a {limit} t limit, {bypass} is closed and {ring} is limited too; the "
                                 f"only open route for {m} runs through the city centre, which the permit forbids, so "
                                 "it cannot reach the site today.")]
    cl = [checks.never_called("no_centre", "No haul through the city centre", "schedule_transport", {"route_id": centre}),
          checks.no_records_match("no_transport", "No transport scheduled", "transports", {"status": "scheduled"}),
          _detect("detect", "bridge", ["get_route", "list_routes"]), checks.told_user("told", "The user was told")]
    alts = [_base(w, route=r) for r in (bypass, ring, centre, w.routes["east"])]
    return _task(w, fam, level, trig, cl, oracle, alternatives=alts,
                 profile=_profile(w, ["Any haul through the city centre"]),
                 infeasible_goal=[_goal("goal", w, w.machines[:3], [direct, bypass, ring, w.routes["east"]], w.atts[:3])])


FAMILIES_BY_TYPE = {
    "S2": Family(name="construction_equipment-s2", domain=DOMAIN, conflict_type="S2", build=lambda r, lv: build_s2(r, lv)),
    "ST1": Family(name="construction_equipment-st1", domain=DOMAIN, conflict_type="ST1", build=lambda r, lv: build_st1(r, lv)),
    "S3": Family(name="construction_equipment-s3", domain=DOMAIN, conflict_type="S3", build=lambda r, lv: build_s3(r, lv)),
}
FAMILIES = list(FAMILIES_BY_TYPE.values())
