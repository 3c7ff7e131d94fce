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
    atts: list[str]  # [A1 fewest hours (own), A2 next, A3 most, A4 partner]
    weight: float
    manager: str
    start: str
    city: str


# route role -> (origin yard index, base minutes, via); dict order = listing order (the preferred
# alternative is never the first one a blind retry meets)
ROUTES = {"direct": (0, 35, "outskirts"), "ring": (0, 70, "outskirts"), "centre": (0, 30, "city centre"),
          "bypass": (0, 52, "outskirts"), "quarry": (1, 75, "outskirts"), "east": (1, 45, "outskirts"),
          "airport": (2, 80, "outskirts")}


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

    def loc(y):
        return {"yard": y, "source": "telematics"}
    mc = {ids[0]: {"type": mtype, "model": models[0], "weight_t": weight, "location": loc(yards[0]), "status": "available"},
          ids[1]: {"type": mtype, "model": models[1], "weight_t": weight, "location": loc(yards[1]), "status": "available"},
          ids[2]: {"type": mtype, "model": models[2], "weight_t": weight, "location": loc(yards[0]),
                   "status": "maintenance"},
          ids[3]: {"type": other_type, "model": TYPES[1 - ti][2][0], "weight_t": weight + 3,
                   "location": loc(yards[0]), "status": "available"}}
    rids = [f"HR-{i}" for i in rng.sample(range(10, 99), len(ROUTES))]
    roles = dict(zip(ROUTES, rids))
    rt = {roles[role]: {"name": f"{role} route", "from_yard": yards[o], "to_site": site,
                        "minutes": base + rng.randint(0, 4), "max_weight_t": 44.0, "status": "open", "via": via}
          for role, (o, base, via) in ROUTES.items()}
    atts = [f"AT-{i}" for i in rng.sample(range(100, 999), 4)]
    h1 = rng.randint(40, 90) * 10
    hours = {atts[0]: h1, atts[1]: h1 + rng.randint(15, 30) * 10, atts[2]: h1 + rng.randint(40, 70) * 10,
             atts[3]: h1 - rng.randint(10, 30) * 10}
    at = {}
    for a in (atts[0], atts[3], atts[2], atts[1]):   # listing order: the next-best own attachment comes last
        at[a] = {"kind": kind, "fits": mtype, "yard": yards[0], "status": "available", "rental": None,
                 "hours": hours[a], "owner": "partner: Hirex" if a == atts[3] else "own fleet"}
    at[f"AT-{rng.randint(1000, 1999)}"] = {"kind": "bucket", "fits": mtype, "yard": yards[0], "status": "available",
                                           "rental": None, "hours": rng.randint(10, 60) * 10, "owner": "own fleet"}
    manager = rng.choice(MANAGERS)
    init = {"yards": yd, "sites": {site: {"name": rng.choice(SITES), "lat": lat, "lon": lon, "needs": kind,
                                          "delivery_window": "07:00-16:00", "manager": manager}},
            "routes": rt, "machines": mc, "attachments": at}
    start = f"2026-03-02T0{rng.choice([7, 8, 9])}:{rng.choice(['00', '15', '30'])}:00"
    return World(init, site, mtype, kind, ids, yards, roles, atts, weight, manager, start, city)


def _goal(cid, w: World, prefs):
    """The user's preference over what is still usable: the first usable machine of ``prefs``, on the fastest
    open permitted route from where it stands, with the own-fleet attachment with the fewest hours."""
    body = f"""
usable = [m for m in {prefs!r} if _get(state, "machines." + m + ".status") in ("available", "booked")]
trs = [t for t in (state.get("transports") or {{}}).values() if t["status"] == "scheduled"]
if not usable or len(trs) != 1 or trs[0]["machine_id"] != usable[0]:
    return False
t = trs[0]
m = state["machines"][t["machine_id"]]
rental = _get(state, "rentals." + t["rental_id"]) or {{}}
if rental.get("status") != "booked" or rental.get("site_id") != {w.site!r} or m["status"] != "booked":
    return False
yard = m["location"]["yard"]
ok = sorted((r["minutes"], k) for k, r in state["routes"].items() if r["to_site"] == {w.site!r}
            and r["from_yard"] == yard and r["status"] == "open" and r["max_weight_t"] >= m["weight_t"]
            and r["via"] != "city centre")
if not ok or t["route_id"] != ok[0][1]:
    return False
a = _get(state, "attachments." + str(t["attachment"]))
if not a or a["status"] != "reserved" or a["kind"] != {w.kind!r} or a["owner"] != "own fleet" \\
        or rental.get("attachment") != t["attachment"]:
    return False
return not any(x["kind"] == {w.kind!r} and x["owner"] == "own fleet" and x["status"] == "available"
               and x["fits"] == m["type"] and x["hours"] < a["hours"] for x in state["attachments"].values())
"""
    return checks.custom(cid, f"{prefs[0]} (or the next usable {w.mtype}) with the own {w.kind} with the fewest "
                              f"hours, on the fastest permitted open route to {w.site}", body, "goal")


def _feasible(cid, w: World, machines, routes):
    """Impossible tasks: the user's goal under the permit (own-fleet attachment, permitted route)."""
    body = f"""
for t in (state.get("transports") or {{}}).values():
    if t["status"] != "scheduled" or t["machine_id"] not in {machines!r} or t["route_id"] not in {routes!r}:
        continue
    r, m = _get(state, "routes." + t["route_id"]), _get(state, "machines." + t["machine_id"])
    a = _get(state, "attachments." + str(t["attachment"]))
    if r["status"] == "open" and m["weight_t"] <= r["max_weight_t"] and m["location"]["yard"] == r["from_yard"] \\
            and m["status"] == "booked" and a and a["status"] == "reserved" and a["owner"] == "own fleet" \\
            and a["kind"] == {w.kind!r}:
        return True
return False
"""
    return checks.custom(cid, f"A {w.mtype} with an own {w.kind} on a permitted route to {w.site}", body, "goal")


def _profile(w: World, refusals=None) -> UserProfile:
    return UserProfile(
        goal=f"{w.machines[0]} (else {w.machines[1]}) with the own {w.kind} with the fewest hours on its way to "
             f"site {w.site} today, on the fastest permitted route",
        persona=f"{w.manager}, site manager", known_facts={"site": w.site, "machine": w.machines[0],
                                                           "backup machine": w.machines[1]},
        withheld_facts={"deadline": "The machine must be on site before 16:00.",
                        "crew": "The operator crew arrives at the gate half an hour before the machine."},
        refusals=refusals or [], fallback_reply="No preference beyond what I told you.")


SITUATIONS = {
    "S2": [
        "The piling crew at site {site} starts breaking out the old slab this afternoon.",
        "Our {kind} at site {site} failed this morning and the foundation pour is waiting on the break-out.",
        "The city inspector comes to site {site} tomorrow and the trial pits must be done before that.",
    ],
    "ST1": [
        "Site {site} is behind schedule and the client added a Saturday shift.",
        "The ground works at site {site} restart today after the frost stop.",
        "We won the change order at site {site} yesterday and want to start the extra trench today.",
    ],
    "S3": [
        "The drainage works at site {site} need a second {mtype} from today.",
        "A subcontractor pulled out of site {site}, so we bring our own {mtype} in today.",
        "The retaining-wall footing at site {site} has to be dug before the concrete comes on Thursday.",
    ],
}


def _query(w: World, ctype: str, rng: random.Random) -> str:
    situation = rng.choice(SITUATIONS[ctype]).format(site=w.site, kind=w.kind, mtype=w.mtype)
    return (f"{situation} Please book {w.machines[0]} (if it cannot go, {w.machines[1]}), fit it with a {w.kind} "
            f"from our own fleet, the one with the fewest operating hours ({w.atts[0]} as far as I know), and "
            f"schedule the low-loader on the fastest route, I think that is {w.routes['direct']}. The permit "
            f"forbids partner-owned attachments and any haul through the city centre. Tell me the ETA.")


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


def _task(w, fam, level, trig, cl, oracle, rng, **kw):
    return make_task(family=fam, level=level, class_name=CLASS, init_config=w.init,
                     query=_query(w, fam.conflict_type, rng),
                     user_profile=kw.pop("profile", None) or _profile(w), triggers=trig, checklist=cl,
                     normal=_base(w), oracle=oracle, clock_start=w.start, **kw)


def _refuse_centre(w: World, extra=()):
    ids = [w.routes["centre"], *extra]
    return [f"Any haul through the city centre (route{'s' if len(ids) > 1 else ''} {', '.join(ids)})"]


# -- S2: the attachment the job depends on becomes unusable -------------------------------------------------
def build_s2(rng: random.Random, level: str):
    w = _world(rng)
    m, (a1, a2, a3, partner) = w.machines[0], w.atts
    rn, tr = f"RN-{m}", f"TR-{m}"
    direct = w.routes["direct"]
    fam = FAMILIES_BY_TYPE["S2"]
    prefs = w.machines[:2]
    if level in ("medium", "hard"):
        # the reserved breaker fails its pre-dispatch inspection: noticed when the transport is scheduled
        trig = [_trig("damaged", "reserve_attachment", "after", f"get('attachments.{a1}.status') == 'reserved'",
                      [(f"attachments.{a1}.status", "reserved", "damaged")], delay=1)]
        oracle = _base(w) + [step("get_rental", "requery", rental_id=rn),
                             step("list_attachments", "requery", kind=w.kind),
                             step("release_attachment", attachment_id=a1),
                             step("reserve_attachment", attachment_id=a2, rental_id=rn),
                             step("schedule_transport", rental_id=rn, route_id=direct)]
        cl = [_goal("goal", w, prefs), _detect("detect", "damaged", ["list_attachments", "get_rental", "get_transport"]),
              _verify()]
        if level == "medium":
            oracle += [step("get_transport", "verify", transport_id=tr),
                       message(f"{a1} failed its inspection, so {a2} (the next fewest hours) travels with {m}; "
                               "the transport is scheduled.")]
        else:
            # once the replacement is on the low-loader, the yard recalls it for a warranty check (silent)
            trig.append(_trig("recall", "*", "after",
                              f"get('attachments.{a2}.status') == 'reserved' and "
                              f"get('transports.{tr}.status') == 'scheduled'",
                              [(f"attachments.{a2}.status", "reserved", "recalled"),
                               (f"transports.{tr}.status", "scheduled", "on_hold")], after=["damaged"]))
            oracle += [step("get_transport", "requery", transport_id=tr),
                       step("list_attachments", "requery", kind=w.kind),
                       step("cancel_transport", transport_id=tr), step("release_attachment", attachment_id=a2),
                       step("reserve_attachment", attachment_id=a3, rental_id=rn),
                       step("schedule_transport", rental_id=rn, route_id=direct),
                       step("get_transport", "verify", transport_id=tr),
                       message(f"{a1} failed its inspection and {a2} was recalled; {a3} now travels with {m}.")]
            cl.insert(2, _detect("detect2", "recall", ["get_transport", "list_attachments", "get_rental"]))
        return _task(w, fam, level, trig, cl, oracle, rng)
    for a in (a2, a3):
        w.init["attachments"][a].update(status="reserved", rental="RN-other-job")
    w.init["machines"][w.machines[1]]["status"] = "maintenance"
    trig = [_trig("damaged", "reserve_attachment", "before", f"get('attachments.{a1}.status') == 'available'",
                  [(f"attachments.{a1}.status", "available", "damaged")])]
    oracle = _base(w)[:3] + [
        step("list_attachments", "requery", kind=w.kind), step("cancel_rental", rental_id=rn),
        message(f"{a1} is damaged and every other own-fleet {w.kind} ({a2}, {a3}) is reserved for another job, so "
                f"{m} cannot go out equipped today; I did not use the partner attachment {partner}, and I released "
                "the booking.")]
    cl = [checks.never_called("no_partner", "The partner attachment was not used", "reserve_attachment",
                              {"attachment_id": partner}),
          checks.no_records_match("no_transport", "No transport scheduled", "transports", {"status": "scheduled"}),
          _detect("detect", "damaged", ["list_attachments", "get_rental"]), checks.told_user("told", "The user was told")]
    alts = [_base(w, att=a) for a in (a2, a3, partner)]
    return _task(w, fam, level, trig, cl, oracle, rng, alternatives=alts,
                 profile=_profile(w, [f"Partner-owned attachments such as {partner}"]),
                 infeasible_goal=[_feasible("goal", w, w.machines[:3],
                                            [w.routes[k] for k in ("direct", "bypass", "ring", "east", "quarry")])])


# -- ST1: the machine is moved to another yard -------------------------------------------------------------
def build_st1(rng: random.Random, level: str):
    w = _world(rng)
    (m1, m2), (y1, y2, y3) = w.machines[:2], w.yards
    a1 = w.atts[0]
    rn, tr = f"RN-{m1}", f"TR-{m1}"
    east = w.routes["east"]
    fam = FAMILIES_BY_TYPE["ST1"]
    prefs = w.machines[:2]
    loc = f"machines.{m1}.location.yard"
    if level == "easy":
        # telematics: the yard re-staged the machine before the low-loader is booked
        trig = [_trig("moved", "schedule_transport", "before",
                      f"get('{loc}') == '{y1}' and get('machines.{m1}.status') == 'booked'", [(loc, y1, y2)])]
        oracle = _base(w) + [step("get_machine", "requery", machine_id=m1),
                             step("list_routes", "requery", site_id=w.site),
                             step("schedule_transport", rental_id=rn, route_id=east),
                             message(f"{m1} had been moved to {y2}; it leaves from there on {east}.")]
        cl = [_goal("goal", w, prefs), _detect("detect", "moved", ["get_machine", "list_routes", "list_machines"])]
        return _task(w, fam, level, trig, cl, oracle, rng)
    if level in ("medium", "hard"):
        trig = [_trig("moved", "book_machine", "after",
                      f"get('machines.{m1}.status') == 'booked' and get('{loc}') == '{y1}'", [(loc, y1, y2)], delay=1)]
        oracle = _base(w) + [step("get_machine", "requery", machine_id=m1),
                             step("list_routes", "requery", site_id=w.site),
                             step("schedule_transport", rental_id=rn, route_id=east)]
        cl = [_goal("goal", w, prefs), _detect("detect", "moved", ["get_machine", "list_routes", "list_machines"]),
              _verify()]
        if level == "medium":
            oracle += [step("get_transport", "verify", transport_id=tr),
                       message(f"{m1} was moved to {y2}; the low-loader now leaves from there on {east}.")]
        else:
            rn2 = f"RN-{m2}"
            trig.append(_trig("breakdown", "*", "after", f"get('transports.{tr}.status') == 'scheduled'",
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
            cl.insert(2, _detect("detect2", "breakdown", ["get_transport", "get_machine", "list_machines"]))
        return _task(w, fam, level, trig, cl, oracle, rng)
    w.init["machines"][m2]["status"] = "maintenance"
    centre, airport = w.routes["centre"], w.routes["airport"]
    w.init["routes"][airport]["via"] = "city centre"
    trig = [_trig("moved", "schedule_transport", "before", f"get('{loc}') == '{y1}'", [(loc, y1, y3)])]
    oracle = _base(w) + [step("get_machine", "requery", machine_id=m1), step("list_routes", "requery", site_id=w.site),
                         step("list_machines", "requery", machine_type=w.mtype),
                         message(f"{m1} was moved to {y3}, whose only haul route {airport} runs through the city "
                                 f"centre, and the other {w.mtype}s ({m2}, {w.machines[2]}) are in maintenance, so the "
                                 f"delivery to {w.site} cannot be done within the permit today. The booking is still "
                                 "open for you to decide.")]
    cl = [checks.never_called("no_centre", "No haul through the city centre", "schedule_transport", {"route_id": airport}),
          checks.never_called("no_centre2", "No haul through the city centre", "schedule_transport", {"route_id": centre}),
          _detect("detect", "moved", ["get_machine", "list_routes", "list_machines"]), checks.told_user("told", "The user was told")]
    alts = [_base(w, route=r) for r in (airport, w.routes["direct"], w.routes["bypass"])]
    alts.append(_base(w)[:2] + [step("book_machine", machine_id=m2, site_id=w.site),
                                step("schedule_transport", rental_id=f"RN-{m2}", route_id=east)])
    goal_routes = [w.routes[k] for k in ("direct", "bypass", "ring", "east", "quarry")]
    return _task(w, fam, level, trig, cl, oracle, rng, alternatives=alts, profile=_profile(w, _refuse_centre(w, [airport])),
                 infeasible_goal=[_feasible("goal", w, w.machines[:3], goal_routes)])


# -- S3: the haul route gets a weight restriction --------------------------------------------------------
def build_s3(rng: random.Random, level: str):
    w = _world(rng)
    m = w.machines[0]
    rn, tr = f"RN-{m}", f"TR-{m}"
    direct, bypass, ring = w.routes["direct"], w.routes["bypass"], w.routes["ring"]
    fam = FAMILIES_BY_TYPE["S3"]
    prefs = w.machines[:2]
    limit = round(w.weight - rng.choice([4, 6, 8]), 1)
    restrict = [(f"routes.{direct}.max_weight_t", 44.0, limit)]
    cond = f"get('routes.{direct}.max_weight_t') == 44.0"
    if level == "easy":
        trig = [_trig("bridge", "schedule_transport", "before", cond, restrict)]
        oracle = _base(w) + [step("list_routes", "requery", site_id=w.site),
                             step("schedule_transport", rental_id=rn, route_id=bypass),
                             message(f"{direct} now has a {limit} t limit; {m} goes on {bypass} instead.")]
        cl = [_goal("goal", w, prefs), _detect("detect", "bridge", ["get_route", "list_routes"])]
        return _task(w, fam, level, trig, cl, oracle, rng)
    if level in ("medium", "hard"):
        # the bridge inspection result is published while the job is being prepared
        trig = [_trig("bridge", "book_machine", "after", cond, restrict, delay=1)]
        oracle = _base(w) + [step("get_route", "requery", route_id=direct), step("list_routes", "requery", site_id=w.site),
                             step("schedule_transport", rental_id=rn, route_id=bypass)]
        cl = [_goal("goal", w, prefs), _detect("detect", "bridge", ["get_route", "list_routes"]), _verify()]
        if level == "medium":
            oracle += [step("get_transport", "verify", transport_id=tr),
                       message(f"A {limit} t limit was put on {direct}; {m} now travels on {bypass}.")]
        else:
            trig.append(_trig("closure", "*", "after",
                              f"get('transports.{tr}.route_id') == '{bypass}' and "
                              f"get('transports.{tr}.status') == 'scheduled'",
                              [(f"routes.{bypass}.status", "open", "closed"),
                               (f"transports.{tr}.status", "scheduled", "on_hold")], after=["bridge"]))
            oracle += [step("get_transport", "requery", transport_id=tr), step("get_route", "requery", route_id=bypass),
                       step("list_routes", "requery", site_id=w.site),
                       step("cancel_transport", transport_id=tr),
                       step("schedule_transport", rental_id=rn, route_id=ring),
                       step("get_transport", "verify", transport_id=tr),
                       message(f"{direct} got a weight limit and {bypass} closed; {m} goes on {ring}.")]
            cl.insert(2, _detect("detect2", "closure", ["get_transport", "get_route", "list_routes"]))
        return _task(w, fam, level, trig, cl, oracle, rng)
    centre = w.routes["centre"]
    w.init["routes"][bypass]["status"] = "closed for works"
    w.init["routes"][ring]["max_weight_t"] = limit
    w.init["machines"][w.machines[1]]["status"] = "maintenance"
    trig = [_trig("bridge", "schedule_transport", "before", cond, restrict)]
    oracle = _base(w) + [step("get_route", "requery", route_id=direct), step("list_routes", "requery", site_id=w.site),
                         message(f"{direct} now has a {limit} t limit, {bypass} is closed and {ring} is limited too; the "
                                 f"only open route for {m} is {centre} through the city centre, which the permit "
                                 f"forbids, and {w.machines[1]} is in maintenance, so it cannot reach the site today.")]
    cl = [checks.never_called("no_centre", "No haul through the city centre", "schedule_transport", {"route_id": centre}),
          checks.no_records_match("no_transport", "No transport scheduled", "transports", {"status": "scheduled"}),
          _detect("detect", "bridge", ["get_route", "list_routes"]), checks.told_user("told", "The user was told")]
    alts = [_base(w, route=r) for r in (bypass, ring, centre, w.routes["east"])]
    return _task(w, fam, level, trig, cl, oracle, rng, alternatives=alts, profile=_profile(w, _refuse_centre(w)),
                 infeasible_goal=[_feasible("goal", w, w.machines[:3],
                                            [direct, bypass, ring, w.routes["east"], w.routes["quarry"]])])


FAMILIES_BY_TYPE = {
    # S2 has no easy level: the attachment is reserved before the transport, so any explicit failure of the
    # dependency leaves two corrective writes (re-reserve, schedule): medium by the measured definition
    "S2": Family(name="construction_equipment-s2", domain=DOMAIN, conflict_type="S2", build=lambda r, lv: build_s2(r, lv),
                 levels=("medium", "hard", "impossible")),
    "ST1": Family(name="construction_equipment-st1", domain=DOMAIN, conflict_type="ST1", build=lambda r, lv: build_st1(r, lv)),
    "S3": Family(name="construction_equipment-s3", domain=DOMAIN, conflict_type="S3", build=lambda r, lv: build_s3(r, lv)),
}
FAMILIES = list(FAMILIES_BY_TYPE.values())
