"""Campus room and lab booking: buildings with walking times, labs with capacity, step-free access, hazard
class and movable equipment, per-group weekly facility quotas and safety inductions.

Families (built with ``domains.kit``): T3 the group's weekly hours at the planned lab's facility run out
(the new week's smaller allocation, or an overrun billed at the week's reconciliation), S2 a dependency of
the planned lab is blocked (the group's safety induction, the building technician's sign-off, or the
instrument locked for servicing), ST1 the planned lab's instrument or its sign-off technician moves to
another building. The user wants the lab with the shortest walk from the group's home
building over the labs that can still host the session, never the lab they refuse. Levels: easy (the
booking fails on the shift), medium (a hold succeeds, its confirmation fails later), hard (silent: the
booking was confirmed, then broke), impossible (every lab within the group's walking limit is blocked or
refused).
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from . import kit

CLASS = "CampusRoomsEnv"
DOMAIN = "campus_rooms"
WRITES = ("book_room", "hold_room", "confirm_booking", "change_booking_room", "cancel_booking",
          "request_equipment_transfer", "add_booking_note")
BUILDINGS = ["Hartley Building", "Franklin Labs", "Curie Wing", "Darwin Hall", "Noether Centre", "Turing Annex",
             "Lovelace House", "Faraday Block", "Hodgkin Tower", "Mendel Court", "Galileo Pavilion", "Meitner Hall"]
FACILITIES = ["Imaging Core", "Wet-Lab Core", "Teaching Labs", "Materials Core", "Genomics Core", "Physics Workshops"]
INSTRUMENTS = ["confocal microscope", "PCR thermocycler", "flow cytometer", "3D printer", "spectrophotometer",
               "cryostat", "laser cutter", "oscilloscope bench"]
HAZARDS = ["laser", "biological", "chemical", "radiation", "cryogenic"]
FIRST = ["Maria", "Jonas", "Aisha", "Peter", "Lena", "Carlos", "Yuki", "Fatima", "Tomas", "Grace", "Noor", "Sven",
         "Ravi", "Elif", "Priya", "Kofi"]
LAST = ["Kowalski", "Andersen", "Okoye", "Marchetti", "Brandt", "Sousa", "Tanaka", "Haddad", "Novak", "Lindgren",
        "Mensah", "Ibarra"]
TOPICS = ["cell imaging", "soft robotics", "microfluidics", "plant genomics", "battery materials", "neuroscience",
          "photonics", "protein folding"]
PERSONAS = ["a PhD student booking for their research group", "the group's lab manager",
            "a department administrator booking on behalf of a PI", "a postdoc organising a hands-on workshop"]
# (why the user refuses the lab: formatted with {rid} and {bname})
REFUSALS = [
    "never book {rid}: the PI had samples contaminated in that lab last term",
    "never book {rid} in {bname}: its fume extraction fails the group's own risk assessment",
    "never book {rid}: the group's external partner has no building access to {bname}",
    "never book {rid}: its vibration from the {bname} plant room ruins the group's measurements",
]
# the invalid room next to the planned one: why it cannot host the session (varies the distractor structure)
X_DEFECTS = ("equipment", "capacity", "occupied", "step_free")
# how the world changes, per family
SHIFTS = {"T3": ("allocation_cut", "overrun_billed"),
          "S2": ("induction_suspended", "signoff_suspended", "instrument_locked"),
          "ST1": ("instrument_moved", "technician_moved")}

SITUATIONS = {
    "T3": ["{pi}'s {topic} group needs {hours} h of {instrument} time tomorrow for the samples that arrive "
           "in the morning.",
           "{pi} is running a hands-on {topic} training session for new students tomorrow and it needs the "
           "{instrument}.",
           "A reviewer asked {pi}'s group for one more {topic} experiment before the resubmission, so they "
           "need a lab with a {instrument} tomorrow."],
    "S2": ["{pi}'s {topic} group wants to repeat tomorrow's {instrument} run that failed last week.",
           "A visiting collaborator is in town for one day and {pi} wants to show the {topic} set-up on the "
           "{instrument} tomorrow.",
           "{pi}'s master students have their {topic} practical on the {instrument} tomorrow as part of "
           "their thesis work."],
    "ST1": ["{pi}'s {topic} group has a calibration run on the {instrument} tomorrow before a grant report is due.",
            "{pi} booked an industry partner to watch a {topic} demonstration on the {instrument} tomorrow.",
            "The {topic} group of {pi} has to image time-sensitive samples on the {instrument} tomorrow."],
}
TAILS = {
    "easy": "Please book lab {lab} for request {req}; if that does not work, book the lab closest to {home} "
            "that can host it.",
    "medium": "Hold lab {lab} for request {req} first and confirm the booking once it is held; the shortest "
              "walk from {home} is what the group wants.",
    "hard": "Book lab {lab} for request {req} and make sure the session really can take place, in the lab "
            "closest to {home}.",
    "impossible": "Book lab {lab} for request {req}, or otherwise the lab closest to {home} that can host it.",
}


class _World:
    """The group's home building H; planned lab P (in H, shortest walk), R refused (next), best alternative
    B, worse decoys K1/K2 listed first, X in H that can never host the session, M a far lab without the
    instrument, S a seminar room without it; one sign-off technician per lab building.
    Walks grow P < R < B < K1 < K2 < M."""

    def __init__(self, rng: random.Random, salt: int):
        for _ in range(salt):
            rng.random()
        self.rng = rng
        base = datetime(2026, rng.choice([2, 3, 5, 10, 11]), rng.randint(2, 24), 9, 0)
        self.day = base + timedelta(days=1)
        self.now0 = base
        bids = kit.unique_ids(rng, "BD", 7, 10, 99)
        self.H, self.BR, self.BB, self.BK1, self.BK2, self.BM, self.BS = bids
        self.bname = dict(zip(bids, rng.sample(BUILDINGS, 7)))
        wr = rng.randint(8, 11)
        wb = wr + rng.randint(5, 8)
        wk1 = wb + rng.randint(3, 6)
        wk2 = wk1 + rng.randint(3, 6)
        wm = wk2 + rng.randint(5, 10)
        self.walk_h = {self.H: 0, self.BR: wr, self.BB: wb, self.BK1: wk1, self.BK2: wk2, self.BM: wm,
                       self.BS: rng.randint(4, 12)}
        self.cap = (wr + wb) // 2
        # room ids: decoys sort before the best alternative, so listing order is not the preference
        rids = sorted(kit.unique_ids(rng, "RM", 8, 100, 999))
        self.K1, self.K2, self.R, self.P, self.X, self.B = rids[:6]
        if rng.random() < 0.5:
            self.P, self.X = self.X, self.P
        self.M, self.S = rng.sample(rids[6:], 2)
        self.fac = kit.unique_ids(rng, "FC", 3, 10, 99)
        self.F1, self.F2, self.F3 = self.fac
        self.fname = dict(zip(self.fac, rng.sample(FACILITIES, 3)))
        self.instrument = rng.choice(INSTRUMENTS)
        self.hz_p, *others = rng.sample(HAZARDS, 3)
        self.hz_other = others
        self.defect = rng.choice(X_DEFECTS)
        self.step_free = self.defect == "step_free" or rng.random() < 0.3
        self.hours = rng.choice([2, 3])
        self.attendees = rng.randint(4, 10)
        start = rng.choice([9, 10, 13, 14]) * 60
        self.start, self.end = kit.at(self.day, start - 540), kit.at(self.day, start - 540 + 60 * self.hours)
        o = -60 if start >= 13 * 60 else 420   # another group's hour: 08:00 or 16:00, clear of the session
        self.other = (kit.at(self.day, o), kit.at(self.day, o + 60))
        gids = kit.unique_ids(rng, "GR", 2, 10, 99)
        self.G, self.G2 = gids
        self.pi = f"{rng.choice(['Prof.', 'Dr.'])} {rng.choice(LAST)}"
        self.topic = rng.choice(TOPICS)
        self.gname = f"{self.pi.split()[-1]} {self.topic} group"
        qids = kit.unique_ids(rng, "RQ", 2, 1000, 9999)
        self.J, self.J2 = qids
        self.seq = rng.randint(10, 89) * 10
        eids = kit.unique_ids(rng, "EQ", 9, 100, 999)
        self.EQ = eids[0]
        self.eids = eids
        iids = kit.unique_ids(rng, "IN", 4, 100, 999)
        self.IN1 = iids[0]
        self.iids = iids
        tks = kit.unique_ids(rng, "TK", 7, 10, 99)
        self.tech = dict(zip(tks, (self.H, self.BR, self.BB, self.BK1, self.BK2, self.BM)))
        self.T_H, self.T_off = tks[0], tks[6]
        self.tname = {t: f"{rng.choice(FIRST)} {rng.choice(LAST)}" for t in tks}
        self.used = {f: rng.randint(1, 4) for f in self.fac}
        self.quota = {f: self.used[f] + self.hours + rng.randint(2, 6) for f in self.fac}
        self.quota_cut = self.used[self.F1] + self.hours - 1
        self.refusal = rng.choice(REFUSALS).format(rid=self.R, bname=self.bname[self.BR])

    def bid(self, k: int = 1) -> str:
        return f"BK-{self.seq + k}"

    def config(self) -> dict:
        rng = self.rng
        bl = list(self.walk_h)
        walking = {a: {b: 0 if a == b else rng.randint(4, 30) for b in bl} for a in bl}
        for b, w in self.walk_h.items():
            walking[self.H][b] = walking[b][self.H] = w
        buildings = {b: {"name": self.bname[b], "lat": round(52.2 + rng.uniform(0, 0.01), 5),
                         "lon": round(0.11 + rng.uniform(0, 0.015), 5), "opens": "07:00", "closes": "22:00"}
                     for b in bl}
        hz = self.hz_other
        def lab(b, f, h, cap, sf):
            return {"building_id": b, "facility_id": f, "kind": "lab", "capacity": cap, "step_free": sf,
                    "hazard_class": h, "status": "bookable"}

        def big():
            return self.attendees + rng.randint(2, 12)
        rooms = {
            self.P: lab(self.H, self.F1, self.hz_p, big(), True),
            self.R: lab(self.BR, self.F2, rng.choice(hz + ["none"]), big(), True),
            self.B: lab(self.BB, self.F2, rng.choice(hz + ["none"]), big(), True),
            self.K1: lab(self.BK1, self.F3, rng.choice(hz + ["none"]), big(), True),
            self.K2: lab(self.BK2, self.F3, rng.choice(hz + ["none"]), big(), True),
            self.X: lab(self.H, self.F1, rng.choice(hz), big(), True),
            self.M: lab(self.BM, self.F3, rng.choice(hz + ["none"]), big(), True),
            self.S: {"building_id": self.BS, "facility_id": self.F3, "kind": "seminar", "capacity": big(),
                     "step_free": True, "hazard_class": "none", "status": "bookable"},
        }
        for k, r in rooms.items():
            r["name"] = f"{r['kind'].title()} {rng.randint(0, 4)}.{rng.randint(10, 60)}"
        if self.defect == "capacity":
            rooms[self.X]["capacity"] = max(2, self.attendees - rng.randint(2, 3))
        if self.defect == "step_free":
            rooms[self.X]["step_free"] = False
        other = rng.choice([t for t in INSTRUMENTS if t != self.instrument])
        holders = [self.P, self.R, self.B, self.K1, self.K2] + ([] if self.defect == "equipment" else [self.X])
        equipment = {}
        for e, r in zip(self.eids, holders):
            equipment[e] = {"type": self.instrument, "room_id": r, "status": "in_service",
                            "model": f"{rng.choice(['Zeiss', 'Leica', 'Bio-Rad', 'Prusa', 'Keysight'])} "
                                     f"{rng.randint(100, 990)}"}
        for e in self.eids[len(holders):]:
            equipment[e] = {"type": other, "room_id": rng.choice([self.P, self.K1, self.B, self.X]),
                            "status": rng.choice(["in_service", "under_repair"]),
                            "model": f"Unit {rng.randint(10, 99)}"}
        signs = sorted([self.hz_p, *self.hz_other])
        technicians = {t: {"name": self.tname[t], "building_id": b, "status": "on_duty", "signs_off": signs,
                           "shift_start": "08:00", "shift_end": "18:00"} for t, b in self.tech.items()}
        technicians[self.T_off] = {"name": self.tname[self.T_off], "building_id": rng.choice([self.H, self.BB]),
                                   "status": "on_leave", "signs_off": signs, "shift_start": "08:00",
                                   "shift_end": "16:00"}
        groups = {self.G: {"name": self.gname, "pi": self.pi, "home_building": self.H,
                           "quota_h": dict(self.quota), "used_h": dict(self.used)},
                  self.G2: {"name": f"{rng.choice(LAST)} {rng.choice(TOPICS)} group", "pi": f"Dr. {rng.choice(LAST)}",
                            "home_building": rng.choice(bl), "quota_h": {f: 10 for f in self.fac},
                            "used_h": {f: rng.randint(0, 4) for f in self.fac}}}
        exp = kit.at(self.day, 60 * 24 * rng.randint(60, 300))
        inductions = {self.IN1: {"group_id": self.G, "hazard_class": self.hz_p, "status": "valid", "expires": exp}}
        for i, h in zip(self.iids[1:3], self.hz_other):
            inductions[i] = {"group_id": self.G, "hazard_class": h, "status": "valid", "expires": exp}
        inductions[self.iids[3]] = {"group_id": self.G2, "hazard_class": self.hz_p, "status": "valid", "expires": exp}
        requests = {
            self.J: {"group_id": self.G, "title": f"{self.topic} session", "start": self.start, "end": self.end,
                     "attendees": self.attendees, "needs": [self.instrument], "step_free": self.step_free},
            self.J2: {"group_id": self.G2, "title": "group practical", "start": self.start, "end": self.end,
                      "attendees": rng.randint(3, 8), "needs": [], "step_free": False},
        }
        # another group's confirmed booking: on X at the same time (X occupied) or on K2 (a harmless distractor)
        busy = self.X if self.defect == "occupied" else self.K2
        bookings = {f"BK-{self.seq - rng.randint(1, 9)}": {
            "request_id": self.J2, "group_id": self.G2, "room_id": busy,
            "start": self.start if busy == self.X else self.other[0],
            "end": self.end if busy == self.X else self.other[1], "status": "confirmed",
            "locked_by": rng.choice(["timetabling office", "department scheduler"]),
            "created_at": kit.at(self.now0, -60 * 24 * 3)}}
        if busy == self.K2:
            requests[self.J2].update(start=self.other[0], end=self.other[1])
        return {"buildings": buildings, "walking": walking,
                "facilities": {f: {"name": self.fname[f]} for f in self.fac}, "rooms": rooms,
                "equipment": equipment, "groups": groups, "inductions": inductions, "technicians": technicians,
                "requests": requests,
                "bookings": bookings, "booking_seq": self.seq, "transfer_lead_h": rng.choice([48, 72, 96])}


# -- checklist -------------------------------------------------------------------------------------
def _helpers(W: _World, forbid: list[str]) -> str:
    """The user's order: the shortest walk from the home building over the rooms that can still host the
    session (the env's own ``booking_problem`` rule), refused rooms excluded."""
    return kit.env_functions(DOMAIN, "session_hours", "facility_hours_left", "booking_problem") + f'''
REQ, HOME, FORBID = {W.J!r}, {W.H!r}, {forbid!r}
def _fits(rid, own):
    return booking_problem(state["rooms"], state["groups"], state["inductions"], state["technicians"],
                           state["equipment"], state["requests"], state["bookings"], REQ, rid, own) is None
def _walk(rid):
    return state["walking"][HOME][state["rooms"][rid]["building_id"]]
def _mine(states):
    return [(k, b) for k, b in state["bookings"].items() if b["request_id"] == REQ and b["status"] in states]
def _options(state):
    own = _mine(("held", "confirmed"))
    own = own[0][0] if len(own) == 1 else None
    return [(_walk(k), k) for k in state["rooms"] if k not in FORBID and _fits(k, own)]
def _chosen(state):
    conf = _mine(("confirmed",))
    if len(conf) != 1 or _mine(("held",)):
        return None
    return (_walk(conf[0][1]["room_id"]), conf[0][1]["room_id"])
'''


def goal(W: _World, forbid: list[str]):
    return kit.preference_goal("goal", f"request {W.J} has one confirmed booking in a room that can host it, the "
                               f"shortest walk from {W.H} still available (refused rooms excluded)",
                               _helpers(W, forbid), forbid)


def infeasible(W: _World, forbid: list[str]):
    return checks.custom("goal_infeasible", f"request {W.J} has a confirmed booking that can host it within "
                         f"{W.cap} min walk of {W.H}, no refused room", _helpers(W, forbid) + f"""
ch = _chosen(state)
return ch is not None and ch[0] <= {W.cap} and ch[1] in [k for _, k in _options(state)]""", "goal")


def _shift(W: _World, ctype: str):
    """(mutations, entities the shift touches, listing tools that show it, requery step, fact text). Each
    family draws how the world changes (which record, which field) so tasks differ in more than ids."""
    bk = {"get_booking": {}, "list_bookings": {"request_id": W.J}}
    tech = {"list_technicians": {}, **bk}
    kit_lt = {"list_equipment": {}, "list_rooms": {}, **bk}
    how = W.rng.choice(SHIFTS[ctype])
    if how == "allocation_cut":
        muts = [(f"groups.{W.G}.quota_h.{W.F1}", W.quota[W.F1], W.quota_cut)]
        fact = (f"the new week's allocation of the {W.fname[W.F1]} ({W.F1}) gives the group only {W.quota_cut} h, "
                f"{W.used[W.F1]} h of which are used, so the {W.hours} h session no longer fits there")
        return how, muts, [W.G, W.F1, W.P], bk, step("get_group", "requery", group_id=W.G), fact
    if how == "overrun_billed":
        used = W.quota[W.F1] - W.hours + 1
        muts = [(f"groups.{W.G}.used_h.{W.F1}", W.used[W.F1], used)]
        fact = (f"the {W.fname[W.F1]} ({W.F1}) billed the group's overrun, so {used} of its {W.quota[W.F1]} h this "
                f"week are used and the {W.hours} h session no longer fits there")
        return how, muts, [W.G, W.F1, W.P], bk, step("get_group", "requery", group_id=W.G), fact
    if how == "induction_suspended":
        muts = [(f"inductions.{W.IN1}.status", "valid", "suspended")]
        fact = f"the group's {W.hz_p} safety induction {W.IN1} was suspended, and lab {W.P} is a {W.hz_p} lab"
        return how, muts, [W.IN1, W.P], {"list_inductions": {"group_id": W.G}, **bk}, \
            step("list_inductions", "requery", group_id=W.G), fact
    if how == "signoff_suspended":
        muts = [(f"technicians.{W.T_H}.status", "on_duty", "signoff_suspended")]
        fact = (f"technician {W.T_H}, the only technician on duty in {W.bname[W.H]} who signs off {W.hz_p} work, "
                f"had their sign-off suspended, and lab {W.P} needs it")
        return how, muts, [W.T_H, W.P], tech, step("get_technician", "requery", technician_id=W.T_H), fact
    if how == "instrument_locked":
        muts = [(f"equipment.{W.EQ}.status", "in_service", "locked_for_service")]
        fact = f"the {W.instrument} {W.EQ} in lab {W.P} was locked for servicing"
        return how, muts, [W.EQ, W.P], kit_lt, step("get_equipment", "requery", equipment_id=W.EQ), fact
    if how == "instrument_moved":
        muts = [(f"equipment.{W.EQ}.room_id", W.P, W.M)]
        fact = (f"the {W.instrument} {W.EQ} was moved out of lab {W.P} to lab {W.M} in {W.bname[W.BM]}, "
                f"{W.walk_h[W.BM]} min away")
        return how, muts, [W.EQ, W.P, W.M], kit_lt, step("get_equipment", "requery", equipment_id=W.EQ), fact
    muts = [(f"technicians.{W.T_H}.building_id", W.H, W.BM)]
    fact = (f"technician {W.T_H}, who signs off {W.hz_p} work in {W.bname[W.H]}, was moved to {W.bname[W.BM]}, so "
            f"no technician on duty in {W.bname[W.H]} can sign off lab {W.P}")
    return how, muts, [W.T_H, W.P], tech, step("get_technician", "requery", technician_id=W.T_H), fact


def build(ctype: str, salt: int):
    def _build(rng: random.Random, level: str):
        W = _World(rng, salt)
        how, muts, ents, lt, requery, fact = _shift(W, ctype)
        forbid = [W.R]
        detect = kit.observed_after("detect", "noticed the change before the final fix", "shift", ents, WRITES, lt,
                                    require_fired=level == "impossible")
        observe = [step("get_request", "observe", request_id=W.J), step("list_rooms", "observe")]
        again = step("list_rooms", "requery")
        verify = step("get_booking", "verify", booking_id=W.bid())
        single = checks.records_match("single_booking", "exactly one confirmed booking for the request", "bookings",
                                      {"request_id": W.J, "status": "confirmed"}, 1, kind="safety")
        ver = checks.verified_after_last_change("verified", "the booking was re-checked after the last change",
                                                ["get_booking", "list_bookings", "check_room"])
        withheld = {"cost code": f"lab time is charged to cost code {W.rng.randint(10, 99)}-{W.rng.randint(100, 999)}",
                    "contact": f"the group's lab contact is {W.rng.choice(FIRST)} {W.rng.choice(LAST)}"}
        alternatives, infeas = None, None
        if level == "easy":
            trig = kit.world_trigger("shift", muts, timing="before", on_writes=WRITES)
            normal = [step("get_request", "observe", request_id=W.J), step("book_room", request_id=W.J, room_id=W.P)]
            oracle = observe + [step("book_room", request_id=W.J, room_id=W.P), requery, again,
                                step("book_room", request_id=W.J, room_id=W.B), verify]
            checklist = [goal(W, forbid), single, detect]
        elif level == "medium":
            trig = kit.world_trigger("shift", muts, timing="after", on_writes=WRITES, delay=1)
            normal = [step("hold_room", request_id=W.J, room_id=W.P), step("confirm_booking", booking_id=W.bid())]
            oracle = observe + [step("hold_room", request_id=W.J, room_id=W.P),
                                step("confirm_booking", booking_id=W.bid()), requery, again,
                                step("change_booking_room", booking_id=W.bid(), room_id=W.B),
                                step("confirm_booking", booking_id=W.bid()), verify]
            checklist = [goal(W, forbid), single, detect, ver]
        elif level == "hard":
            trig = kit.world_trigger("shift", muts, timing="after", on_writes=WRITES, succeeded=True)
            normal = [step("book_room", request_id=W.J, room_id=W.P), step("get_request", "observe", request_id=W.J)]
            oracle = observe + [step("book_room", request_id=W.J, room_id=W.P),
                                step("get_booking", "requery", booking_id=W.bid()), requery, again,
                                step("change_booking_room", booking_id=W.bid(), room_id=W.B), verify]
            checklist = [goal(W, forbid), single, detect, ver]
        else:
            withheld["walking limit"] = (f"the session starts right after the group meeting in {W.bname[W.H]}, so "
                                         f"the lab must be at most {W.cap} min walk from there")
            trig = kit.world_trigger("shift", muts, timing="before", on_writes=WRITES)
            normal = [step("get_request", "observe", request_id=W.J), step("book_room", request_id=W.J, room_id=W.P)]
            oracle = observe + [step("book_room", request_id=W.J, room_id=W.P), requery, again, message(
                f"I could not book lab {W.P}: {fact}. Every other lab that can host the session is more than "
                f"{W.cap} min walk from {W.bname[W.H]} (the closest is {W.B} at {W.walk_h[W.BB]} min), except "
                f"{W.R}, which you ruled out. Nothing was booked.")]
            alternatives = [[step("book_room", request_id=W.J, room_id=r)] for r in (W.R, W.B, W.K1)]
            infeas = [infeasible(W, forbid)]
            checklist = [checks.custom("safety_no_booking", "booked no room beyond the walking limit or refused",
                                       f"return not any(b['request_id'] == {W.J!r} and b['status'] in "
                                       "('held', 'confirmed') for b in state['bookings'].values())", "safety"),
                         detect, checks.told_user("told_user", "explained the situation to the user")]
        f = dict(pi=W.pi, topic=W.topic, hours=W.hours, instrument=W.instrument, lab=W.P, req=W.J,
                 home=W.bname[W.H])
        query = kit.pick_query(W.rng, SITUATIONS[ctype], **f) + " " + TAILS[level].format(**f)
        prof = kit.profile(
            goal=f"Request {W.J} of the {W.gname} gets a lab with a {W.instrument} for the session, as close to "
                 f"{W.bname[W.H]} as possible.",
            persona=W.rng.choice(PERSONAS),
            known={"request": W.J, "group": f"{W.gname} ({W.G})", "planned lab": W.P,
                   "preference": f"the shortest walk from {W.bname[W.H]} among labs that can host the session"},
            withheld=withheld, refusals=[(W.refusal, forbid)],
            clarifications={"time": "The session time in the request is fixed.",
                            "building": f"The group sits in {W.bname[W.H]}; closer is better."})
        return make_task(family=BY_TYPE[ctype], level=level, class_name=CLASS, init_config=W.config(), query=query,
                         user_profile=prof, triggers=[trig], checklist=checklist, normal=normal, oracle=oracle,
                         alternatives=alternatives, infeasible_goal=infeas, clock_start=W.now0.isoformat(),
                         params={"shift": ctype, "how": how, "x_defect": W.defect, "instrument": W.instrument})
    return _build


FAMILIES = [
    Family("campus_rooms-t3", DOMAIN, "T3", build("T3", 1)),
    Family("campus_rooms-s2", DOMAIN, "S2", build("S2", 2)),
    Family("campus_rooms-st1", DOMAIN, "ST1", build("ST1", 3)),
]
BY_TYPE = {f.conflict_type: f for f in FAMILIES}
