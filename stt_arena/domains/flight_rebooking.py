"""Flight rebooking after a disruption: task families (T1, T2, ST3, ST2), four levels each."""
from __future__ import annotations

import random
import string
from datetime import datetime, timedelta

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from ..task.models import Activation, Effects, Mutation, ProfileConstraint, Trigger, UserProfile

CLASS = "FlightRebookingEnv"
DOMAIN = "flight_rebooking"

AIRPORTS = [("ZRH", "Zurich", 47.458, 8.555), ("FRA", "Frankfurt", 50.037, 8.562), ("MUC", "Munich", 48.354, 11.786),
            ("VIE", "Vienna", 48.110, 16.570), ("AMS", "Amsterdam", 52.310, 4.768), ("CDG", "Paris", 49.010, 2.548),
            ("BRU", "Brussels", 50.901, 4.484), ("CPH", "Copenhagen", 55.618, 12.656), ("MAD", "Madrid", 40.472, -3.561),
            ("LIS", "Lisbon", 38.774, -9.134), ("HEL", "Helsinki", 60.317, 24.963), ("OSL", "Oslo", 60.194, 11.100),
            ("DUB", "Dublin", 53.421, -6.270), ("PRG", "Prague", 50.101, 14.260)]
CARRIERS = [("LX", "Swiss"), ("LH", "Lufthansa"), ("OS", "Austrian"), ("SN", "Brussels Airlines"), ("KL", "KLM"),
            ("AF", "Air France"), ("IB", "Iberia"), ("AY", "Finnair"), ("SK", "SAS"), ("TP", "TAP Air Portugal")]
NAMES = ["Helena Vogt", "Marco Bianchi", "Aisha Rahman", "Jonas Lindqvist", "Claire Dubois", "Pedro Alves",
         "Yuki Tanaka", "Fatima Zahra", "Oliver Grant", "Katarina Horvat", "Daniel Cohen", "Ingrid Solberg"]
PERSONAS = ["a business traveller", "a conference speaker", "a parent travelling to a family event",
            "a travel agency assistant booking for a client"]
REASONS = ["a contract signing", "my sister's wedding rehearsal", "a keynote talk", "a hospital appointment",
           "a board meeting"]

_GOAL = '''
def _m(s):
    return int(s[8:10]) * 1440 + int(s[11:13]) * 60 + int(s[14:16])

def _ok(pnr, deadline, forbid):
    b = state.get("bookings", {}).get(pnr)
    if not b or b.get("status") != "confirmed" or not b.get("segments"):
        return False
    F, A, C = state["flights"], state["airports"], state["carriers"]
    segs = [F.get(f) for f in b["segments"]]
    if any(s is None or s["status"] == "cancelled" for s in segs):
        return False
    if segs[0]["origin"] != b["origin"] or segs[-1]["destination"] != b["destination"]:
        return False
    for s in segs:
        if s["carrier"] in forbid or A[s["origin"]]["status"] != "open" or A[s["destination"]]["status"] != "open":
            return False
    for a, c in zip(segs, segs[1:]):
        if a["destination"] != c["origin"] or _m(c["dep"]) - _m(a["arr"]) < A[c["origin"]]["mct"]:
            return False
        ia, ic = C[a["carrier"]]["interline"], C[c["carrier"]]["interline"]
        if a["carrier"] != c["carrier"] and not (c["carrier"] in ia and a["carrier"] in ic):
            return False
    if deadline and _m(segs[-1]["arr"]) > _m(deadline):
        return False
    for need in state["passengers"][b["passenger_id"]].get("needs", []):
        if any(need not in b["services"].get(f, []) for f in b["segments"]):
            return False
    return True
'''


def goal(cid: str, desc: str, pnr: str, deadline: str | None, forbid: list[str] | None = None):
    body = _GOAL + f"\nreturn _ok({pnr!r}, {deadline!r}, {forbid or []!r})\n"
    return checks.custom(cid, desc, body, kind="goal")


def _iso(t: datetime) -> str:
    return t.replace(second=0, microsecond=0).isoformat()


BASE = {  # key: (carrier role, origin role, dest role, dep, arr)
    "F1": ("A", "O", "X1", 90, 180), "F5": ("A", "O", "X2", 100, 200), "F2": ("A", "X1", "D", 240, 360),
    "F3": ("P1", "X1", "D", 270, 390), "F4": ("A", "X1", "D", 330, 450), "F6": ("P2", "X2", "D", 280, 400),
    "F7": ("A", "X2", "D", 320, 440), "F8": ("A", "O", "D", 360, 510), "F9": ("A", "X1", "D2", 260, 370),
    "F10": ("P1", "O", "X1", 150, 240),
}


def _world(rng: random.Random, needs: bool = False) -> dict:
    day, hour, minute = rng.randint(1, 27), rng.randint(5, 7), rng.choice([0, 10, 20, 30, 40, 50])
    start = datetime(2026, 4, day, hour, minute)
    aps = rng.sample(AIRPORTS, 5)
    roles = dict(zip(["O", "X1", "X2", "D", "D2"], [a[0] for a in aps]))
    airports = {a[0]: {"name": f"{a[1]} International", "city": a[1], "lat": a[2], "lon": a[3], "status": "open",
                       "mct": 30} for a in aps}
    airports[roles["X1"]]["mct"] = rng.choice([45, 50])
    airports[roles["X2"]]["mct"] = rng.choice([35, 40])
    cs = rng.sample(CARRIERS, 3)
    croles = dict(zip(["A", "P1", "P2"], [c[0] for c in cs]))
    carriers = {c[0]: {"name": c[1], "interline": []} for c in cs}
    carriers[croles["A"]]["interline"] = sorted([croles["P1"], croles["P2"]])
    carriers[croles["P1"]]["interline"] = [croles["A"]]
    carriers[croles["P2"]]["interline"] = [croles["A"]]
    j = rng.choice([0, 5, 10, 15])
    nums = rng.sample(range(100, 999), len(BASE))
    F, flights = {}, {}
    for (key, (cr, o, d, dep, arr)), n in zip(BASE.items(), nums):
        fid = f"{croles[cr]}{n}"
        F[key] = fid
        t_dep, t_arr = start + timedelta(minutes=dep + j), start + timedelta(minutes=arr + j)
        flights[fid] = {"carrier": croles[cr], "origin": roles[o], "destination": roles[d], "dep": _iso(t_dep),
                        "arr": _iso(t_arr), "status": "scheduled", "seats": rng.randint(3, 9),
                        "sales_close": _iso(t_dep - timedelta(minutes=40)), "waitlist_only": False}
    flights[F["F2"]]["status"] = "cancelled"
    names = rng.sample(NAMES, 3)
    pid, g1, g2 = (f"PX-{x}" for x in rng.sample(range(1000, 9999), 3))
    pnrs = set()
    while len(pnrs) < 3:
        pnrs.add("".join(rng.choice(string.ascii_uppercase) for _ in range(6)))
    P, G1, G2 = sorted(pnrs)
    if rng.random() < 0.5:
        P, G1 = G1, P
    passengers = {pid: {"name": names[0], "tier": rng.choice(["none", "silver"]), "needs": ["WCHR"] if needs else []},
                  g1: {"name": names[1], "tier": "gold", "needs": []},
                  g2: {"name": names[2], "tier": "platinum", "needs": []}}
    svc = {F["F1"]: ["WCHR"], F["F2"]: ["WCHR"]} if needs else {}

    def bk(p, segs, services):
        return {"passenger_id": p, "origin": flights[segs[0]]["origin"], "destination": flights[segs[-1]]["destination"],
                "segments": segs, "cabin": "Y", "status": "confirmed", "services": services}

    bookings = {P: bk(pid, [F["F1"], F["F2"]], svc), G1: bk(g1, [F["F10"], F["F2"]], {}),
                G2: bk(g2, [F["F5"], F["F2"]], {})}
    cfg = {"airports": airports, "carriers": carriers, "flights": flights, "passengers": passengers,
           "bookings": bookings, "waitlists": {}, "vouchers": []}
    deadline = _iso(start + timedelta(minutes=480 + j))
    return dict(start=start, cfg=cfg, F=F, R=roles, C=croles, P=P, G1=G1, G2=G2, pid=pid, deadline=deadline,
                name=names[0], persona=rng.choice(PERSONAS), reason=rng.choice(REASONS),
                ff=f"{croles['A']}{rng.randint(10000000, 99999999)}")


def _hm(iso: str) -> str:
    return iso[11:16]


def _fl(w, key):
    return w["cfg"]["flights"][w["F"][key]]


def _shift(w, key, field, minutes):
    return _iso(datetime.fromisoformat(_fl(w, key)[field]) + timedelta(minutes=minutes))


def _profile(w, goal_txt, refusals=None, extra_withheld=None):
    withheld = {"frequent_flyer_number": w["ff"], "seat_preference": "aisle"}
    withheld.update(extra_withheld or {})
    return UserProfile(goal=goal_txt, persona=w["persona"],
                       known_facts={"booking": w["P"], "passenger": w["name"], "arrive_by": w["deadline"],
                                    "reason": w["reason"]},
                       withheld_facts=withheld, refusals=refusals or [],
                       clarifications={"deadline": f"I must land in {w['R']['D']} by {_hm(w['deadline'])}."},
                       fallback_reply="I'm not sure, please check with the airline systems.")


def _trig(tid, tool, cond, muts, timing="before", delay=0, after=None):
    """A trigger that only fires on the state it was designed for (every mutation's old value is current) and,
    for after-timing, only when the activating call succeeded: it never turns an agent's detour into a task error."""
    guards = [f"({cond})"] + [f"get({p!r}) == {o!r}" for p, o, _ in muts]
    if timing == "after":
        guards.append("bool(result) and result.get('success') == True")
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=" and ".join(guards),
                   delay_calls=delay, after_triggers=after or [],
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=nw) for p, o, nw in muts]))


WRITES = ["rebook", "cancel_booking", "join_waitlist", "leave_waitlist", "claim_waitlist_seat",
          "add_special_service", "issue_meal_voucher"]


def _on_write(tid, muts, timing="before", delay=0, after=None):
    """A world event that happens when the agent starts changing things (its first write, whatever the tool or
    flight; "after": once a write succeeded), guarded by the old values it changes."""
    return _trig(tid, "*", f"tool in {WRITES!r}", muts, timing=timing, delay=delay, after=after)


def _has(fid):
    return f"{fid!r} in args.get('flight_ids', [])"


def _task(fam, level, w, query, profile, triggers, checklist, normal, oracle, alternatives=None, infeasible=None):
    return make_task(family=fam, level=level, class_name=CLASS, init_config=w["cfg"], query=query,
                     user_profile=profile, triggers=triggers, checklist=checklist, normal=normal, oracle=oracle,
                     alternatives=alternatives, infeasible_goal=infeasible, clock_start=w["start"].isoformat())


def _rb(w, *keys, role="action"):
    return step("rebook", role, booking_id=w["P"], flight_ids=[w["F"][k] for k in keys])


def _ssr(w, key):
    return step("add_special_service", booking_id=w["P"], flight_id=w["F"][key], code="WCHR")


def _query(w, target_key, extra="", rng=None):
    F, R = w["F"], w["R"]
    f = _fl(w, target_key)
    forms = [
        f"My flight {F['F2']} from {R['X1']} to {R['D']} today was cancelled (booking {w['P']}, passenger "
        f"{w['name']}). Please move me onto {F[target_key]} from {f['origin']} at {_hm(f['dep'])} and keep my "
        f"{F['F1']} leg from {R['O']}. I need to land in {R['D']} by {_hm(w['deadline'])} for {w['reason']}.{extra}",
        f"I'm already at the gate in {R['O']} for {F['F1']} and just saw that my onward flight {F['F2']} to "
        f"{R['D']} is cancelled. Booking {w['P']} ({w['name']}): put me on {F[target_key]} at {_hm(f['dep'])} "
        f"instead, I can't miss {w['reason']} and must land by {_hm(w['deadline'])}.{extra}",
        f"I book travel for {w['name']}, whose {F['F2']} connection to {R['D']} was cancelled overnight "
        f"(record {w['P']}). Keep the {F['F1']} leg and rebook the second leg onto {F[target_key]} "
        f"({f['origin']} {_hm(f['dep'])}); arrival in {R['D']} by {_hm(w['deadline'])} is a must.{extra}",
    ]
    return (rng or random.Random(0)).choice(forms)


def _verify(w):
    return step("get_booking", "verify", booking_id=w["P"])


def _goal_item(w, forbid=None):
    return goal("rebooked", f"{w['P']} holds a valid itinerary to {w['R']['D']} by the deadline", w["P"],
                w["deadline"], forbid)


def _verify_item():
    return checks.verified_after_last_change("verify", "end state checked", ["get_booking"])


def _late(w, *keys, dep=380, arr=500):
    """Make flights leave/arrive late (after the deadline)."""
    j = (datetime.fromisoformat(_fl(w, "F1")["dep"]) - w["start"]).seconds // 60 - 90
    for k in keys:
        f = _fl(w, k)
        d = w["start"] + timedelta(minutes=dep + j)
        f["dep"], f["arr"] = _iso(d), _iso(w["start"] + timedelta(minutes=arr + j))
        f["sales_close"] = _iso(d - timedelta(minutes=40))


# ---------------------------------------------------------------------------------------------- T1
def build_t1(rng: random.Random, level: str):
    fam = FAMILIES[0]
    needs = level in ("medium", "hard")
    w = _world(rng, needs)
    F, R, P = w["F"], w["R"], w["P"]
    closed = _iso(w["start"] - timedelta(minutes=rng.randint(5, 25)))
    sales_close = lambda tid, key, **kw: _trig(tid, "rebook", _has(F[key]),  # noqa: E731
                                               [(f"flights.{F[key]}.sales_close", _fl(w, key)["sales_close"], closed)],
                                               **kw)
    query = _query(w, "F3", rng=rng)
    obs = [step("get_booking", "observe", booking_id=P), step("search_flights", "observe", origin=R["X1"],
                                                              destination=R["D"])]
    if level == "easy":
        trig = [sales_close("sales_closed", "F3")]
        checklist = [_goal_item(w), checks.called_after_trigger("detect", "re-checked the flight", "sales_closed",
                                                                ["get_flight", "search_flights"])]
        normal = [obs[0], _rb(w, "F1", "F3")]
        oracle = obs + [_rb(w, "F1", "F3"), step("get_flight", "requery", flight_id=F["F3"]), _rb(w, "F1", "F4")]
        return _task(fam, level, w, query, _profile(w, "reach the destination by the deadline"), trig, checklist,
                     normal, oracle)
    if level == "medium":
        # sales close as the agent rebooks; the later flight also needs the wheelchair service (two writes)
        trig = [sales_close("sales_closed", "F3")]
        checklist = [_goal_item(w), checks.called_after_trigger("detect", "re-checked the flight", "sales_closed",
                                                                ["get_flight", "search_flights"]),
                     _verify_item()]
        normal = [obs[0], _rb(w, "F1", "F3"), _ssr(w, "F3")]
        oracle = obs + [_rb(w, "F1", "F3"), step("get_flight", "requery", flight_id=F["F3"]),
                        step("search_flights", "requery", origin=R["X1"], destination=R["D"]),
                        _rb(w, "F1", "F4"), _ssr(w, "F4"), _verify(w)]
        return _task(fam, level, w, query, _profile(w, "reach the destination by the deadline with wheelchair "
                                                       "assistance"), trig, checklist, normal, oracle)
    # hard: silent: the rebooking succeeds, then F3 is retimed 70 minutes earlier: the connection breaks
    retime = [(f"flights.{F['F3']}.dep", _fl(w, "F3")["dep"], _shift(w, "F3", "dep", -70)),
              (f"flights.{F['F3']}.arr", _fl(w, "F3")["arr"], _shift(w, "F3", "arr", -70))]
    if level == "hard":
        trig = [_on_write("retimed", retime, timing="after")]
        checklist = [_goal_item(w),
                     checks.called_after_trigger("detect_retime", "re-checked the connection", "retimed",
                                                 ["get_booking", "check_connection", "get_flight", "search_flights"]),
                     _verify_item()]
        normal = [obs[0], _rb(w, "F1", "F3"), _ssr(w, "F3")]
        oracle = [obs[0], step("get_passenger", "observe", passenger_id=w["pid"]), obs[1],
                  _rb(w, "F1", "F3"), step("check_connection", "requery", inbound_flight_id=F["F1"],
                                           outbound_flight_id=F["F3"]),
                  step("search_flights", "requery", origin=R["X1"], destination=R["D"]),
                  _rb(w, "F1", "F4"), _ssr(w, "F4"), _verify(w)]
        return _task(fam, level, w, query, _profile(w, "reach the destination by the deadline with wheelchair "
                                                       "assistance"), trig, checklist, normal, oracle)
    # impossible: F3 sales closed; F4, F7 and F8 land too late; F6 is full
    _late(w, "F4", "F7")
    _fl(w, "F6")["seats"] = 0
    trig = [sales_close("sales_closed", "F3")]
    refusal = f"any itinerary landing in {R['D']} after {_hm(w['deadline'])}"
    checklist = [checks.called_after_trigger("detect", "re-checked the flight", "sales_closed",
                                             ["get_flight", "search_flights"]),
                 checks.never_called("no_late_rebook", "did not rebook onto an itinerary the user refused", "rebook"),
                 checks.told_user("told", "told the user")]
    infeasible = [goal("goal_deadline", "valid itinerary landing by the deadline", P, w["deadline"])]
    normal = [obs[0], _rb(w, "F1", "F3")]
    oracle = obs + [_rb(w, "F1", "F3"), step("get_flight", "requery", flight_id=F["F3"]),
                    step("search_flights", "requery", origin=R["X2"], destination=R["D"]),
                    step("search_flights", "requery", origin=R["O"], destination=R["D"]),
                    message(f"Sales on {F['F3']} have closed and every other connection to {R['D']} today lands after "
                            f"{_hm(w['deadline'])} or is full. I have not changed booking {P}.")]
    alts = [[_rb(w, "F1", "F4")], [_rb(w, "F5", "F6")], [_rb(w, "F8")], [_rb(w, "F5", "F7")]]
    return _task(fam, level, w, query, _profile(w, "land by the deadline", [refusal]), trig, checklist, normal,
                 oracle, alts, infeasible)


# ---------------------------------------------------------------------------------------------- T2
def _others_untouched(P):
    """Constraint source: no write of the agent acts on another passenger's booking (or waitlist place)."""
    return checks.custom("c", "", f"""
return not any(e["mutating"] and e["success"] and e["args"].get("booking_id") not in (None, {P!r}) for e in log)""").check


def build_t2(rng: random.Random, level: str):
    fam = FAMILIES[1]
    needs = level in ("medium", "hard")
    w = _world(rng, needs)
    F, R, P, G1, G2 = w["F"], w["R"], w["P"], w["G1"], w["G2"]
    f3 = _fl(w, "F3")
    f3["waitlist_only"], f3["seats"] = True, 1
    wl = w["cfg"]["waitlists"]
    reorder = [G2, G1] if rng.random() < 0.5 else [G1]
    claim = step("claim_waitlist_seat", booking_id=P, flight_id=F["F3"])
    get_wl = lambda role: step("get_waitlist", role, flight_id=F["F3"])  # noqa: E731
    shift = [(f"waitlists.{F['F3']}", [P], reorder + [P])]
    others = ProfileConstraint(id="others_untouched", kind="refusal",
                               description="changing other passengers' bookings or waitlist places",
                               check=_others_untouched(P))
    det = checks.called_after_trigger("detect", "re-read the waitlist", "priority_reorder", ["get_waitlist"])
    mine_only = checks.custom("own_booking_only", "no other passenger's booking or waitlist place was changed",
                              others.check.split("def check(state, log):", 1)[1].replace("\n    ", "\n").strip(),
                              kind="goal")
    if level in ("easy", "impossible"):
        wl[F["F3"]] = [P]
        query = rng.choice([
            f"My flight {F['F2']} from {R['X1']} to {R['D']} was cancelled (booking {P}, passenger {w['name']}). "
            f"I'm first on the waitlist for {F['F3']} and a seat was just released. Please claim it for me and "
            f"keep my {F['F1']} leg; I must land in {R['D']} by {_hm(w['deadline'])}.",
            f"The app says I'm number one on the {F['F3']} waitlist now that {F['F2']} is cancelled. Booking {P} "
            f"for {w['name']}: grab the released seat and leave {F['F1']} as it is. Landing in {R['D']} after "
            f"{_hm(w['deadline'])} is no good for {w['reason']}.",
            f"I'm travelling for {w['reason']} and {F['F2']} ({R['X1']}-{R['D']}) just got cancelled. Booking {P} "
            f"({w['name']}) heads the waitlist on {F['F3']}; please take the seat that opened up. I have to be in "
            f"{R['D']} by {_hm(w['deadline'])}.",
        ])
        trig = [_on_write("priority_reorder", shift)]
        if level == "easy":
            normal = [step("get_booking", "observe", booking_id=P), claim]
            oracle = [step("get_booking", "observe", booking_id=P), get_wl("observe"), claim, get_wl("requery"),
                      step("search_flights", "requery", origin=R["X1"], destination=R["D"]), _rb(w, "F1", "F4"),
                      _verify(w)]
            prof = _profile(w, "land by the deadline").model_copy(update={"constraints": [others]})
            return _task(fam, level, w, query, prof, trig, [_goal_item(w), mine_only, det], normal, oracle)
        _fl(w, "F4")["seats"] = 0
        wl[F["F4"]] = [G2, G1] if reorder == [G1] else [G1]
        _late(w, "F7")
        refusal = f"flying on {w['C']['P2']} (company travel policy)"
        checklist = [det, checks.never_called("no_rebook", "no itinerary the user refused", "rebook"),
                     checks.told_user("told", "told the user")]
        infeasible = [goal("goal_policy", "valid itinerary by the deadline within policy", P, w["deadline"],
                           [w["C"]["P2"]])]
        normal = [step("get_booking", "observe", booking_id=P), claim]
        oracle = [step("get_booking", "observe", booking_id=P), get_wl("observe"), claim, get_wl("requery"),
                  step("search_flights", "requery", origin=R["X1"], destination=R["D"]),
                  step("search_flights", "requery", origin=R["X2"], destination=R["D"]),
                  step("search_flights", "requery", origin=R["O"], destination=R["D"]),
                  message(f"Priority passengers were moved ahead of you on the {F['F3']} waitlist, {F['F4']} is "
                          f"full, and the remaining options land after {_hm(w['deadline'])} or use "
                          f"{w['C']['P2']}. Booking {P} is unchanged.")]
        alts = [[claim], [_rb(w, "F1", "F4")], [_rb(w, "F5", "F6")], [_rb(w, "F8")], [_rb(w, "F5", "F7")]]
        prof = _profile(w, "land by the deadline", [refusal], {"travel_policy": f"no flights on {w['C']['P2']}"})
        prof = prof.model_copy(update={"constraints": [others]})
        return _task(fam, level, w, query, prof, trig, checklist, normal, oracle, alts, infeasible)
    # medium / hard: the agent joins the waitlist itself; priority passengers are put ahead afterwards
    query = rng.choice([
        f"My flight {F['F2']} from {R['X1']} to {R['D']} was cancelled (booking {P}, passenger {w['name']}). "
        f"{F['F3']} has a seat released to its waitlist: please put me on the waitlist and take the seat, keeping "
        f"my {F['F1']} leg and my wheelchair assistance. I must land by {_hm(w['deadline'])}.",
        f"I use a wheelchair and my connection {F['F2']} to {R['D']} is cancelled. Booking {P}, {w['name']}. "
        f"The gate agent said {F['F3']} releases a seat through its waitlist; join it for me and claim the seat, "
        f"keeping {F['F1']}. I need to be in {R['D']} by {_hm(w['deadline'])}.",
        f"Booking {P} ({w['name']}) lost its {R['X1']}-{R['D']} leg when {F['F2']} was cancelled. Please get me "
        f"on the {F['F3']} waitlist and into its released seat, with wheelchair assistance kept on every leg, "
        f"so I land by {_hm(w['deadline'])} for {w['reason']}.",
    ])
    join = step("join_waitlist", booking_id=P, flight_id=F["F3"])
    normal = [step("get_booking", "observe", booking_id=P), join, claim, _ssr(w, "F3")]
    prof = _profile(w, "land by the deadline with assistance").model_copy(update={"constraints": [others]})
    if level == "medium":
        # deferred: the agent joins the waitlist, then a priority batch is put ahead; claiming fails later
        trig = [_on_write("priority_reorder", shift, timing="after", delay=1)]
        oracle = [step("get_booking", "observe", booking_id=P), step("get_flight", "observe", flight_id=F["F3"]), join,
                  claim, get_wl("requery"), step("search_flights", "requery", origin=R["X1"], destination=R["D"]),
                  step("leave_waitlist", booking_id=P, flight_id=F["F3"]), _rb(w, "F1", "F4"), _ssr(w, "F4"),
                  _verify(w)]
        return _task(fam, level, w, query, prof, trig, [_goal_item(w), mine_only, det, _verify_item()], normal,
                     oracle)
    # hard: silent: the join succeeds and the priority batch lands at once; only re-reading the waitlist shows it
    trig = [_on_write("priority_reorder", shift, timing="after")]
    oracle = [step("get_booking", "observe", booking_id=P), step("get_passenger", "observe", passenger_id=w["pid"]),
              step("get_flight", "observe", flight_id=F["F3"]), join, get_wl("requery"),
              step("search_flights", "requery", origin=R["X1"], destination=R["D"]),
              step("leave_waitlist", booking_id=P, flight_id=F["F3"]),
              _rb(w, "F1", "F4"), _ssr(w, "F4"), _verify(w)]
    return _task(fam, level, w, query, prof, trig, [_goal_item(w), mine_only, det, _verify_item()], normal, oracle)


# ---------------------------------------------------------------------------------------------- ST3
def build_st3(rng: random.Random, level: str):
    fam = FAMILIES[2]
    needs = level in ("medium", "hard")
    w = _world(rng, needs)
    F, R, P, C = w["F"], w["R"], w["P"], w["C"]
    query = _query(w, "F3", f" {C['P1']} is a partner of {C['A']}, so the ticket should carry over.", rng=rng)
    suspend = (f"carriers.{C['P1']}.interline", [C["A"]], [])
    obs = [step("get_booking", "observe", booking_id=P), step("get_carrier", "observe", carrier=C["P1"])]
    if level == "easy":
        trig = [_trig("interline_suspended", "rebook", _has(F["F3"]), [suspend])]
        checklist = [_goal_item(w), checks.called_after_trigger("detect", "checked the partner agreement",
                                                                "interline_suspended",
                                                                ["get_carrier", "check_connection"])]
        normal = [obs[0], _rb(w, "F1", "F3")]
        oracle = obs + [_rb(w, "F1", "F3"), step("get_carrier", "requery", carrier=C["P1"]), _rb(w, "F1", "F4")]
        return _task(fam, level, w, query, _profile(w, "land by the deadline"), trig, checklist, normal, oracle)
    if level == "medium":
        # the agreement is suspended as the agent rebooks; the fallback also needs the wheelchair service
        trig = [_trig("interline_suspended", "rebook", _has(F["F3"]), [suspend])]
        checklist = [_goal_item(w), checks.called_after_trigger("detect", "checked the partner agreement",
                                                                "interline_suspended",
                                                                ["get_carrier", "check_connection"]),
                     _verify_item()]
        normal = [obs[0], _rb(w, "F1", "F3"), _ssr(w, "F3")]
        oracle = obs + [_rb(w, "F1", "F3"), step("get_carrier", "requery", carrier=C["P1"]),
                        _rb(w, "F1", "F4"), _ssr(w, "F4"), _verify(w)]
        return _task(fam, level, w, query, _profile(w, "land by the deadline with assistance"), trig, checklist,
                     normal, oracle)
    if level == "hard":
        # silent: the rebooking onto the partner flight succeeds, then the agreement is suspended
        trig = [_on_write("interline_suspended", [suspend], timing="after")]
        checklist = [_goal_item(w),
                     checks.called_after_trigger("detect_interline", "re-checked the ticket handoff",
                                                 "interline_suspended", ["get_booking", "get_carrier", "check_connection"]),
                     _verify_item()]
        normal = [obs[0], _rb(w, "F1", "F3"), _ssr(w, "F3")]
        oracle = [obs[0], step("get_passenger", "observe", passenger_id=w["pid"]), obs[1],
                  _rb(w, "F1", "F3"), step("check_connection", "requery", inbound_flight_id=F["F1"],
                                           outbound_flight_id=F["F3"]),
                  step("get_carrier", "requery", carrier=C["P1"]),
                  step("search_flights", "requery", origin=R["X1"], destination=R["D"]),
                  _rb(w, "F1", "F4"), _ssr(w, "F4"), _verify(w)]
        return _task(fam, level, w, query, _profile(w, "land by the deadline with assistance"), trig, checklist,
                     normal, oracle)
    _late(w, "F4")
    w["cfg"]["carriers"][C["P2"]]["interline"] = []
    _fl(w, "F7")["status"] = "cancelled"
    trig = [_trig("interline_suspended", "rebook", _has(F["F3"]), [suspend])]
    refusal = f"any itinerary landing in {R['D']} after {_hm(w['deadline'])}"
    checklist = [checks.called_after_trigger("detect", "checked the partner agreement", "interline_suspended",
                                             ["get_carrier", "check_connection"]),
                 checks.never_called("no_late_rebook", "did not rebook onto an itinerary the user refused", "rebook"),
                 checks.told_user("told", "told the user")]
    infeasible = [goal("goal_deadline", "valid itinerary landing by the deadline", P, w["deadline"])]
    normal = [obs[0], _rb(w, "F1", "F3")]
    oracle = obs + [_rb(w, "F1", "F3"), step("get_carrier", "requery", carrier=C["P1"]),
                    step("search_flights", "requery", origin=R["X1"], destination=R["D"]),
                    step("get_carrier", "requery", carrier=C["P2"]),
                    step("search_flights", "requery", origin=R["O"], destination=R["D"]),
                    message(f"{C['A']} and {C['P1']} have suspended their interline agreement, so {F['F3']} cannot "
                            f"be added to your ticket; the other options land after {_hm(w['deadline'])}. "
                            f"Booking {P} is unchanged.")]
    alts = [[_rb(w, "F1", "F4")], [_rb(w, "F5", "F6")], [_rb(w, "F8")], [_rb(w, "F10", "F4")]]
    return _task(fam, level, w, query, _profile(w, "land by the deadline", [refusal]), trig, checklist, normal,
                 oracle, alts, infeasible)


# ---------------------------------------------------------------------------------------------- ST2
def build_st2(rng: random.Random, level: str):
    fam = FAMILIES[3]
    needs = level in ("medium", "hard")
    w = _world(rng, needs)
    F, R, P = w["F"], w["R"], w["P"]
    query = _query(w, "F3", rng=rng)
    stop = lambda ap: (f"airports.{R[ap]}.status", "open", "ground_stop")  # noqa: E731
    obs = [step("get_booking", "observe", booking_id=P),
           step("search_flights", "observe", origin=R["X1"], destination=R["D"])]
    det_tools = ["get_booking", "get_airport", "list_airports", "get_flight", "check_connection"]
    if level == "easy":
        trig = [_trig("hub_ground_stop", "rebook", _has(F["F3"]), [stop("X1")])]
        checklist = [_goal_item(w), checks.called_after_trigger("detect", "checked the hub status", "hub_ground_stop",
                                                                ["get_airport", "list_airports"])]
        normal = [obs[0], _rb(w, "F1", "F3")]
        oracle = obs + [_rb(w, "F1", "F3"), step("get_airport", "requery", code=R["X1"]),
                        step("search_flights", "requery", origin=R["X2"], destination=R["D"]), _rb(w, "F5", "F7")]
        return _task(fam, level, w, query, _profile(w, "land by the deadline"), trig, checklist, normal, oracle)
    if level == "medium":
        # the hub stops as the agent rebooks; the other hub's itinerary needs the service on both legs
        trig = [_trig("hub_ground_stop", "rebook", _has(F["F3"]), [stop("X1")])]
        checklist = [_goal_item(w), checks.called_after_trigger("detect", "checked the hub status", "hub_ground_stop",
                                                                ["get_airport", "list_airports"]), _verify_item()]
        normal = [obs[0], _rb(w, "F1", "F3"), _ssr(w, "F3")]
        oracle = obs + [_rb(w, "F1", "F3"), step("get_airport", "requery", code=R["X1"]),
                        step("search_flights", "requery", origin=R["X2"], destination=R["D"]),
                        _rb(w, "F5", "F7"), _ssr(w, "F5"), _ssr(w, "F7"), _verify(w)]
        return _task(fam, level, w, query, _profile(w, "land by the deadline with assistance"), trig, checklist,
                     normal, oracle)
    if level == "hard":
        # silent: the rebooking via the hub succeeds, then the hub declares a ground stop
        trig = [_on_write("hub_ground_stop", [stop("X1")], timing="after")]
        checklist = [_goal_item(w),
                     checks.called_after_trigger("detect_x1", "noticed the ground stop", "hub_ground_stop",
                                                 det_tools + ["search_flights"]), _verify_item()]
        normal = [obs[0], _rb(w, "F1", "F3"), _ssr(w, "F3")]
        oracle = [obs[0], step("get_passenger", "observe", passenger_id=w["pid"]), obs[1],
                  _rb(w, "F1", "F3"), step("get_booking", "requery", booking_id=P),
                  step("list_airports", "requery"),
                  step("search_flights", "requery", origin=R["X2"], destination=R["D"]),
                  _rb(w, "F5", "F7"), _ssr(w, "F5"), _ssr(w, "F7"), _verify(w)]
        return _task(fam, level, w, query, _profile(w, "land by the deadline with assistance"), trig, checklist,
                     normal, oracle)
    trig = [_trig("hub_ground_stop", "rebook", "True", [stop("X1"), stop("X2")])]
    refusal = f"any itinerary landing in {R['D']} after {_hm(w['deadline'])}"
    checklist = [checks.called_after_trigger("detect", "checked the hub status", "hub_ground_stop",
                                             ["get_airport", "list_airports"]),
                 checks.never_called("no_late_rebook", "did not rebook onto an itinerary the user refused", "rebook"),
                 checks.told_user("told", "told the user")]
    infeasible = [goal("goal_deadline", "valid itinerary landing by the deadline", P, w["deadline"])]
    normal = [obs[0], _rb(w, "F1", "F3")]
    oracle = obs + [_rb(w, "F1", "F3"), step("list_airports", "requery"),
                    step("search_flights", "requery", origin=R["O"], destination=R["D"]),
                    message(f"Ground stops at {R['X1']} and {R['X2']} block every connection, and the direct flight "
                            f"{F['F8']} lands after {_hm(w['deadline'])}. Booking {P} is unchanged.")]
    alts = [[_rb(w, "F8")], [_rb(w, "F5", "F7")], [_rb(w, "F1", "F4")]]
    return _task(fam, level, w, query, _profile(w, "land by the deadline", [refusal]), trig, checklist, normal,
                 oracle, alts, infeasible)


FAMILIES = [
    Family(name="flight_rebooking-t1", domain=DOMAIN, conflict_type="T1", build=build_t1),
    Family(name="flight_rebooking-t2", domain=DOMAIN, conflict_type="T2", build=build_t2),
    Family(name="flight_rebooking-st3", domain=DOMAIN, conflict_type="ST3", build=build_st3),
    Family(name="flight_rebooking-st2", domain=DOMAIN, conflict_type="ST2", build=build_st2),
]
