"""Hospital operating-theatre and bed scheduling: a surgical case is booked into a theatre session (theatre,
team, list start, cases ahead, turnaround, allocated minutes) together with the post-operative ward bed it
reaches after recovery and a porter transfer (the bed must be free by then and still held for electives).

Families (built with ``domains.kit``): T2 an emergency case is inserted at the head of the planned list,
T3 a quota is reset (the ward's admission quota at the shift handover, or the list's theatre minutes at the
midnight allocation run), ST3 the theatre-to-ward handoff fails (the bed's occupant is not discharged in
time, or the ward stops accepting admissions). The user wants the earliest operation start over the
session-and-bed pairs that still work, never the option they refuse; levels: easy (the booking fails on
the shift), medium (held, then the confirmation fails), hard (silent: booked, then broke), impossible
(every pair starting before the clinical deadline is blocked or refused).
"""
from __future__ import annotations

import random
from datetime import datetime

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from . import kit

CLASS = "HospitalTheatreEnv"
DOMAIN = "hospital_theatre"
WRITES = ("book_case", "hold_booking", "confirm_booking", "change_booking", "cancel_booking", "request_porter",
          "add_case_note")

SPECIALTIES = {
    "orthopaedics": (["total hip replacement", "total knee replacement", "shoulder arthroscopy"], "orthopaedic"),
    "general surgery": (["laparoscopic cholecystectomy", "inguinal hernia repair", "right hemicolectomy"],
                        "surgical"),
    "urology": (["transurethral resection of the prostate", "ureteroscopy", "partial nephrectomy"], "surgical"),
    "gynaecology": (["abdominal hysterectomy", "ovarian cystectomy", "pelvic floor repair"], "gynaecology"),
    "ENT": (["thyroidectomy", "septorhinoplasty", "parotidectomy"], "surgical"),
}
OTHER_WARD_TYPES = ["maternity", "paediatric", "cardiac", "stroke"]
SUITES = ["Main theatres, level 2", "Day surgery unit", "Orthopaedic wing", "East block theatres",
          "Treatment centre"]
WARD_NAMES = ["Aldridge", "Beech", "Cedar", "Darwin", "Elm", "Fleming", "Garrod", "Harvey", "Lister", "Nightingale",
              "Osler", "Seacole"]
FIRST = ["Maria", "Jonas", "Aisha", "Peter", "Lena", "Carlos", "Yuki", "Fatima", "Tomas", "Grace", "Noor", "Sven",
         "Ravi", "Elif", "Agnes", "Kofi"]
LAST = ["Kowalski", "Andersen", "Okoye", "Marchetti", "Brandt", "Sousa", "Tanaka", "Haddad", "Novak", "Lindgren",
        "Mensah", "Byrne"]
PERSONAS = ["the theatre scheduler for the specialty", "the surgical bed manager on duty",
            "the consultant's secretary who runs the waiting list", "the registrar covering the elective lists",
            "a waiting-list coordinator"]
# (what the refused option is, the reason the user gives) -- the refused option would otherwise win
SESSION_REFUSALS = {
    "locum": "the patient refuses to be operated on by the locum team on session {sid}: they consented to their "
             "own consultant's team",
    "day unit": "the anaesthetist will not accept session {sid} in the day surgery unit: the patient needs HDU "
                "backup on site",
    "trainee": "the consultant will not have this case on the trainee-led list {sid}",
}
BED_REFUSALS = [
    "the patient refuses bed {bid} on ward {wid}: it is a mixed-sex bay",
    "the family cannot reach ward {wid} on the other campus, so not bed {bid}",
    "the insurer does not cover the private wing: not ward {wid} (bed {bid})",
]
SITUATIONS = {
    "T2": ["{patient} has waited {weeks} weeks for {a_procedure} and the clinic promised the first list that "
           "works today.",
           "{patient}'s {procedure} was cancelled last month for lack of a bed, so the complaints team asked for "
           "today's earliest safe slot.",
           "{patient} travelled in from a rural hospital this morning for {a_procedure} and is already fasting in "
           "the admissions lounge."],
    "T3": ["{patient} is a cancer-pathway patient listed for {a_procedure}, and the pathway target is met only if "
           "surgery happens as early as possible today.",
           "The pre-op nurse has just cleared {patient} for {a_procedure} after a bridging plan for their "
           "blood thinners.",
           "{patient} was moved up the waiting list for {a_procedure} after a clinical review found the condition "
           "worsening."],
    "ST3": ["{patient} is admitted today for {a_procedure} and will need a ward bed for several nights "
            "afterwards.",
            "{patient}, who lives alone, is booked for {a_procedure} and cannot go home the same day, so the "
            "ward bed matters as much as the theatre slot.",
            "{patient} has diabetes and is listed for {a_procedure}; the ward team wants the patient settled in "
            "a bed straight after recovery."],
}
TAILS = {
    "easy": "Please book it; if that does not work, book the earliest operation start that still works, theatre "
            "and bed together.",
    "medium": "Hold the slot and bed first, then confirm the booking; the earliest operation start that works "
              "is what matters.",
    "hard": "Book it and make sure the patient really has a working theatre slot and ward bed, starting as early "
            "as possible.",
    "impossible": "It is clinically time-critical, so the case needs the earliest operation start that still works.",
}


class _World:
    """Case C; planned session S1 (theatre T1) with bed B1 on ward W1; the best alternative S2 (theatre T2)
    with bed B2 on ward W2 (differs in both ids); a later decoy S3 with bed B3; a refused session SR or bed BR
    that would otherwise win; distractor lists, wards and beds. Minutes after 07:00 on one day."""

    def __init__(self, rng: random.Random, salt: int, ctype: str):
        for _ in range(salt):
            rng.random()
        self.rng, self.ctype = rng, ctype
        self.day = datetime(2026, rng.choice([1, 3, 5, 9, 10, 11]), rng.randint(2, 26), 7, 0)
        self.spec = rng.choice(sorted(SPECIALTIES))
        procs, self.wtype = SPECIALTIES[self.spec]
        self.proc = rng.choice(procs)
        self.mech = rng.choice({"T2": ["emergency", "reorder"], "T3": ["ward_quota", "theatre_minutes"],
                                "ST3": ["discharge_delay", "ward_closed"]}[ctype])
        session_dies = self.mech in ("emergency", "reorder", "theatre_minutes")
        self.refuse = "session" if session_dies or rng.random() < 0.5 else "bed"
        th = kit.unique_ids(rng, "TH", 5, 10, 99)
        self.T1, self.T2, self.T3, self.TR, self.TX = th
        tm = kit.unique_ids(rng, "TM", 6, 10, 99)
        wd = kit.unique_ids(rng, "WD", 5, 10, 99)
        self.W1, self.W2, self.WR, self.WX, self.WY = wd
        bd = kit.unique_ids(rng, "BD", 9, 100, 999)
        self.B1, self.B2, self.B3, self.B4, self.BR, self.BX, self.BY, self.B5, self.B6 = bd
        ss = kit.unique_ids(rng, "SS", 8, 100, 999)
        self.S1, self.S2, self.S3, self.SR = ss[:4]
        cs = kit.unique_ids(rng, "CS", 3, 1000, 9999)
        self.C = cs[0]
        self.EM = f"EM-{rng.randint(100, 999)}"
        self.patient = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        self.seq = rng.randint(20, 89) * 10
        self.turn = {t: rng.choice([15, 20, 25, 30]) for t in th}
        names = rng.sample(SUITES[2:], 3) + rng.sample(SUITES[:2], 2)
        self.rkind = rng.choice(sorted(SESSION_REFUSALS)) if self.refuse == "session" else "bed"
        if self.rkind == "day unit":
            names[3], names[4] = SUITES[1], SUITES[0]
        nums = rng.sample(range(1, 15), 5)
        self.theatres = {t: {"name": f"Theatre {k}", "suite": n, "status": "open",
                             "turnaround_min": self.turn[t]} for t, n, k in zip(th, names, nums)}
        wn = rng.sample(WARD_NAMES, 5)
        self.wname = dict(zip(wd, [f"{n} ward" for n in wn]))
        self.transfer = {t: {w: rng.randint(4, 20) for w in wd} for t in th}
        self.D = rng.choice([60, 75, 90, 105, 120, 150])
        self.R = rng.choice([45, 60, 75, 90])
        self.teams = {}
        for i, t in enumerate(tm):
            g = "locum" if t == tm[2] else "trainee-led" if t == tm[3] else "consultant-led"
            self.teams[t] = {"consultant": f"Dr {rng.choice(LAST)}", "grade": g,
                             "specialty": self.spec if i < 4 else rng.choice([s for s in SPECIALTIES if s != self.spec])}
        self.sessions: dict[str, dict] = {}
        # the planned list S1 (morning), the best alternative S2 (afternoon), a later decoy S3
        s1 = 60 + 5 * rng.randint(0, 6)
        booked1 = rng.choice([0, 60, 90, 120])
        self.c1 = s1 + booked1 + (self.turn[self.T1] if booked1 else 0)
        self.slack1 = 5 * rng.randint(3, 12)
        self.session(self.S1, self.T1, tm[0], s1, booked1, self.c1 - s1 + self.D + self.slack1)
        k = 10 * rng.randint(12, 21)
        self.c2 = self.c1 + k
        booked2 = rng.choice([0, 45, 75])
        s2 = self.c2 - booked2 - (self.turn[self.T2] if booked2 else 0)
        self.session(self.S2, self.T2, tm[1], s2, booked2, self.c2 - s2 + self.D + 5 * rng.randint(3, 10))
        self.c3 = self.c2 + 5 * rng.randint(12, 24)
        t3 = rng.choice([self.T1, self.T3])
        self.session(self.S3, t3, tm[0] if t3 == self.T1 else tm[1], self.c3, 0, self.D + 5 * rng.randint(4, 10))
        # the refused list (between the planned and the best start) on the day unit, locum or trainee team
        self.cR = self.c1 + k // 2 if self.refuse == "session" else None
        if self.cR is not None:
            team = {"locum": tm[2], "trainee": tm[3]}.get(self.rkind, tm[rng.choice([0, 1])])
            self.session(self.SR, self.TR, team, self.cR, 0, self.D + 5 * rng.randint(4, 10))
        # other specialties' lists (distractors)
        for sid in ss[4:4 + rng.randint(2, 4)]:
            self.session(sid, rng.choice(th), rng.choice(tm[4:]), 60 + 30 * rng.randint(0, 14), 0,
                         30 * rng.randint(4, 8), specialty=self.teams[tm[4]]["specialty"])
        # arrivals on the wards (minutes after 07:00)
        def arr(c, t, w):
            return c + self.D + self.R + self.transfer[t][w]

        self.a1 = arr(self.c1, self.T1, self.W1)
        self.a2 = arr(self.c2, self.T2, self.W2)
        self.a3 = arr(self.c3, t3, self.W2)
        self.beds: dict[str, dict] = {}
        self.bed(self.B1, self.W1, self.a1 - 5 * rng.randint(4, 24), self.a1 + 5 * rng.randint(3, 9))
        lo = arr(self.c1, self.T1, self.W2) + 5
        hi = arr(self.cR, self.TR, self.W2) if self.cR is not None else self.a2
        self.bed(self.B2, self.W2, rng.randint(lo, min(hi, lo + 60)), max(self.a2, self.a3) + 5 * rng.randint(6, 18))
        self.bed(self.B3, self.W2, rng.randint(self.a2 + 10, self.a3), self.a3 + 5 * rng.randint(6, 18))
        if rng.random() < 0.5:   # a second bed on the planned ward, free only later in the day
            self.bed(self.B4, self.W1, rng.randint(self.a1 + 10, self.a2 - 20), self.a3 + 120)
        aR = arr(self.c1, self.T1, self.WR)
        if self.refuse == "bed":
            self.bed(self.BR, self.WR, aR - 5 * rng.randint(4, 20), self.a3 + 120)
        else:
            self.bed(self.BR, self.WR, aR + 5 * rng.randint(4, 12), aR + 5 * rng.randint(14, 20))
        self.bed(self.BX, self.WX, 30, 900)           # wrong ward type
        self.bed(self.BY, self.WX, 90, 900)
        if rng.random() < 0.5:
            self.bed(self.B5, self.WY, 60, 900, status="cleaning")
        self.other_type = rng.choice(OTHER_WARD_TYPES)
        self.quota = {w: rng.randint(6, 12) for w in wd}
        self.adm = {w: self.quota[w] - rng.randint(2, 4) for w in wd}
        self.deadline = 5 * (((self.cR if self.cR is not None else self.c1) + self.c2) // 10)
        self.weeks = rng.randint(18, 52)
        self.close_until = 5 * (max(self.a2, self.a3) // 5) + 5 * rng.randint(12, 30)

    def session(self, sid, theatre, team, start, booked, alloc, specialty=None):
        self.sessions[sid] = {"theatre_id": theatre, "team_id": team, "specialty": specialty or self.spec,
                              "start": kit.at(self.day, start), "end": kit.at(self.day, start + alloc),
                              "allocated_min": alloc, "booked_min": booked, "emergency_case": None,
                              "emergency_min": 0, "moved_ahead": None, "status": "open"}

    def bed(self, bid, ward, free_from, hold_until, status="ready"):
        self.beds[bid] = {"ward_id": ward, "bay": f"Bay {self.rng.choice('ABCDEF')}", "status": status,
                          "free_from": kit.at(self.day, free_from), "hold_until": kit.at(self.day, hold_until)}

    def t(self, minutes: int) -> str:
        return kit.hm(kit.at(self.day, minutes))

    def bk(self, k: int = 1) -> str:
        return f"BK-{self.seq + k}"

    def config(self) -> dict:
        rng = self.rng
        wards = {}
        for w in (self.W1, self.W2, self.WR, self.WX, self.WY):
            wt = self.other_type if w in (self.WX, self.WY) else self.wtype
            wards[w] = {"name": self.wname[w], "ward_type": wt, "status": "open",
                        "accepting_from": kit.at(self.day, 0), "admission_quota": self.quota[w],
                        "admissions": self.adm[w]}
        cases = {self.C: {"patient": self.patient, "procedure": self.proc, "specialty": self.spec,
                          "duration_min": self.D, "recovery_min": self.R, "ward_type": self.wtype,
                          "priority": "elective", "status": "waiting"}}
        other = [s for s in SPECIALTIES if s != self.spec]
        for cid in kit.unique_ids(rng, "CS", rng.randint(1, 3), 1000, 9999):
            if cid != self.C:
                sp = rng.choice(other)
                cases[cid] = {"patient": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                              "procedure": rng.choice(SPECIALTIES[sp][0]), "specialty": sp,
                              "duration_min": rng.choice([45, 60, 90]), "recovery_min": 60,
                              "ward_type": SPECIALTIES[sp][1], "priority": "routine", "status": "waiting"}
        return {"theatres": self.theatres, "teams": self.teams, "sessions": self.sessions, "cases": cases,
                "wards": wards, "beds": self.beds, "transfer": self.transfer, "booking_seq": self.seq}


# -- checklist -------------------------------------------------------------------------------------
def _helpers(W: _World, forbid: list[str]) -> str:
    """The user's order: the earliest operation start over the (session, bed) pairs that still work (the
    env's own ``plan_problem`` rule; the case's own booking does not block itself), refused ids excluded."""
    return kit.env_functions(DOMAIN, "_hm", "_min", "case_times", "plan_problem") + f'''
CASE, FORBID = {W.C!r}, {forbid!r}
def _active(state):
    return [(k, v) for k, v in state["bookings"].items() if v["case_id"] == CASE and v["status"] in ("held", "booked")]
def _start(state, sid, bid):
    return case_times(state["theatres"], state["sessions"], state["cases"], state["transfer"], CASE, sid,
                      state["beds"][bid]["ward_id"])[0]
def _options(state):
    act = _active(state)
    own = act[0][0] if len(act) == 1 else None
    out = []
    for sid in state["sessions"]:
        for bid in state["beds"]:
            if sid in FORBID or bid in FORBID:
                continue
            if plan_problem(state["theatres"], state["sessions"], state["cases"], state["wards"], state["beds"],
                            state["transfer"], state["bookings"], CASE, sid, bid, own) is None:
                out.append((_start(state, sid, bid), (sid, bid)))
    return out
def _chosen(state):
    act = _active(state)
    if len(act) != 1 or act[0][1]["status"] != "booked":
        return None
    b = act[0][1]
    return (_start(state, b["session_id"], b["bed_id"]), (b["session_id"], b["bed_id"]))
'''


def goal(W: _World, forbid: list[str]):
    return kit.preference_goal("goal", f"case {W.C} has one confirmed booking (theatre session and ward bed) that "
                               "still works, with the earliest operation start among the pairs still available "
                               "(refused options excluded)", _helpers(W, forbid), forbid)


def infeasible(W: _World, forbid: list[str]):
    return checks.custom("goal_infeasible", f"case {W.C} has a confirmed working booking starting by "
                         f"{kit.at(W.day, W.deadline)} without refused options", _helpers(W, forbid) + f"""
DEADLINE = {kit.at(W.day, W.deadline)!r}
ch = _chosen(state)
return ch is not None and ch[0] <= _min(DEADLINE) and ch[1] in [k for _, k in _options(state)]""", "goal")


def single(W: _World):
    return checks.records_match("single_booking", "no duplicate booking: exactly one confirmed", "bookings",
                                {"case_id": W.C, "status": "booked"}, 1, kind="safety")


def verified():
    return checks.verified_after_last_change("verified", "the booking was re-checked after the last change",
                                             ["get_booking", "list_bookings", "check_plan"])


# -- families --------------------------------------------------------------------------------------
def _shift(W: _World):
    """(mutations, entities the shift touches, listing tools that show it, requery step, fact text)."""
    book = {"get_booking": {}, "list_bookings": {}}
    if W.mech == "emergency":
        em = W.slack1 + 5 * W.rng.randint(4, 18)
        muts = [(f"sessions.{W.S1}.emergency_case", None, W.EM), (f"sessions.{W.S1}.emergency_min", 0, em)]
        fact = (f"emergency case {W.EM} ({em} min) was inserted at the head of session {W.S1}, so the list is full "
                f"and case {W.C} no longer fits in it")
        return muts, [W.S1], {"list_sessions": {}, **book}, step("get_session", "requery", session_id=W.S1), fact
    if W.mech == "reorder":
        old = W.sessions[W.S1]["booked_min"]
        extra = W.slack1 + 5 * W.rng.randint(6, 20)
        pc = f"CS-{W.rng.randint(1000, 9999)}"
        muts = [(f"sessions.{W.S1}.moved_ahead", None, pc), (f"sessions.{W.S1}.booked_min", old, old + extra)]
        fact = (f"the list for session {W.S1} was reordered: priority case {pc} moved ahead, so {old + extra} "
                f"booked minutes now come first, the list is full and case {W.C} no longer fits in it")
        return muts, [W.S1], {"list_sessions": {}, **book}, step("get_session", "requery", session_id=W.S1), fact
    if W.mech == "theatre_minutes":
        alloc = W.sessions[W.S1]["allocated_min"]
        new = alloc - W.slack1 - 5 * W.rng.randint(3, 9)
        muts = [(f"sessions.{W.S1}.allocated_min", alloc, new)]
        fact = (f"the midnight allocation run cut session {W.S1} to {new} allocated minutes, so the list is full "
                f"and case {W.C} no longer fits in it")
        return muts, [W.S1], {"list_sessions": {}, **book}, step("get_session", "requery", session_id=W.S1), fact
    if W.mech == "ward_quota":
        muts = [(f"wards.{W.W1}.admission_quota", W.quota[W.W1], W.adm[W.W1])]
        fact = (f"at the shift handover {W.wname[W.W1]} ({W.W1}) had its admission quota reset to "
                f"{W.adm[W.W1]}, which is already reached, so bed {W.B1} cannot take the patient")
        return (muts, [W.W1, W.B1], {"list_wards": {}, **book}, step("get_ward", "requery", ward_id=W.W1), fact)
    if W.mech == "discharge_delay":
        new = W.close_until
        muts = [(f"beds.{W.B1}.free_from", W.beds[W.B1]["free_from"], kit.at(W.day, new))]
        fact = (f"the patient in bed {W.B1} is not discharged until {W.t(new)}, after the bed's elective hold "
                f"ends, so the bed is occupied when case {W.C} would arrive")
        return muts, [W.B1], {"list_beds": {}, **book}, step("get_bed", "requery", bed_id=W.B1), fact
    muts = [(f"wards.{W.W1}.accepting_from", kit.at(W.day, 0), kit.at(W.day, W.close_until))]
    fact = (f"{W.wname[W.W1]} ({W.W1}) is closed to admissions until {W.t(W.close_until)}, so bed {W.B1} "
            f"cannot receive the patient after recovery")
    return muts, [W.W1, W.B1], {"list_wards": {}, **book}, step("get_ward", "requery", ward_id=W.W1), fact


def build(ctype: str, salt: int):
    def _build(rng: random.Random, level: str):
        fam = BY_TYPE[ctype]
        W = _World(rng, salt, ctype)
        muts, ents, lt, requery, fact = _shift(W)
        if W.refuse == "session":
            forbid = [W.SR]
            refusal = SESSION_REFUSALS[W.rkind].format(sid=W.SR)
            refused_txt = f"session {W.SR} at {W.t(W.cR)}"
        else:
            forbid = [W.BR, W.WR]
            refusal = W.rng.choice(BED_REFUSALS).format(bid=W.BR, wid=W.WR)
            refused_txt = f"bed {W.BR} on {W.wname[W.WR]}, the only other bed free after the planned list"
        detect = kit.observed_after("detect", "noticed the shift before the final fix", "shift", ents, WRITES, lt,
                                    require_fired=level == "impossible")
        observe = [step("get_case", "observe", case_id=W.C), step("list_sessions", "observe", specialty=W.spec),
                   step("list_beds", "observe")]
        again = [step("list_sessions", "requery", specialty=W.spec), step("list_beds", "requery")]
        check_best = step("check_plan", "requery", case_id=W.C, session_id=W.S2, bed_id=W.B2)
        verify = step("get_booking", "verify", booking_id=W.bk())
        planned = dict(case_id=W.C, session_id=W.S1, bed_id=W.B1)
        best = dict(session_id=W.S2, bed_id=W.B2)
        withheld = {"consent": f"{W.patient} signed the consent form at the pre-op clinic",
                    "allergies": f"{W.patient} is allergic to {W.rng.choice(['penicillin', 'latex', 'iodine'])}"}
        alternatives, infeas = None, None
        if level == "easy":
            trig = kit.world_trigger("shift", muts, timing="before", on_writes=WRITES)
            normal = [step("get_case", "observe", case_id=W.C), step("book_case", **planned)]
            oracle = observe + [step("book_case", **planned), requery, *again, check_best,
                                step("book_case", case_id=W.C, **best), verify]
            checklist = [goal(W, forbid), single(W), detect]
        elif level == "medium":
            trig = kit.world_trigger("shift", muts, timing="after", on_writes=WRITES, delay=1)
            normal = [step("hold_booking", **planned), step("confirm_booking", booking_id=W.bk())]
            oracle = observe + [step("hold_booking", **planned), step("confirm_booking", booking_id=W.bk()),
                                requery, *again, check_best, step("change_booking", booking_id=W.bk(), **best),
                                step("confirm_booking", booking_id=W.bk()), verify]
            checklist = [goal(W, forbid), single(W), detect, verified()]
        elif level == "hard":
            trig = kit.world_trigger("shift", muts, timing="after", on_writes=WRITES, succeeded=True)
            normal = [step("book_case", **planned), step("get_case", "observe", case_id=W.C)]
            oracle = observe + [step("book_case", **planned), step("get_booking", "requery", booking_id=W.bk()),
                                requery, *again, check_best, step("change_booking", booking_id=W.bk(), **best),
                                verify]
            checklist = [goal(W, forbid), single(W), detect, verified()]
        else:
            withheld["deadline"] = (f"the operation must start by {W.t(W.deadline)} "
                                    f"({W.rng.choice(['the anticoagulation bridging window ends then', 'the patient has fasted since midnight and the anaesthetist set that limit', 'the consultant is on call for trauma after that'])})")
            trig = kit.world_trigger("shift", muts, timing="before", on_writes=WRITES)
            normal = [step("get_case", "observe", case_id=W.C), step("book_case", **planned)]
            oracle = observe + [step("book_case", **planned), requery, *again, check_best, message(
                f"I could not book case {W.C}: {fact}. The earliest other session and bed that still work, "
                f"{W.S2} with bed {W.B2}, start the operation at {W.t(W.c2)}, after the {W.t(W.deadline)} "
                f"deadline; the only option starting in time is {refused_txt}, which you ruled out. Nothing was "
                "booked.")]
            ref_alt = (step("book_case", case_id=W.C, session_id=W.SR, bed_id=W.B2) if W.refuse == "session"
                       else step("book_case", case_id=W.C, session_id=W.S1, bed_id=W.BR))
            alternatives = [[step("book_case", **planned), ref_alt],
                            [step("book_case", **planned), step("book_case", case_id=W.C, **best)],
                            [step("book_case", **planned), step("book_case", case_id=W.C, session_id=W.S3,
                                                                bed_id=W.B3)]]
            infeas = [infeasible(W, forbid)]
            checklist = [checks.custom("safety_no_booking", "booked nothing that starts too late or is refused",
                                       f"return not any(b['case_id'] == {W.C!r} and b['status'] in "
                                       "('held', 'booked') for b in state['bookings'].values())", "safety"),
                         detect, checks.told_user("told_user", "explained the situation to the user")]
        art = "an" if W.proc[0] in "aeiou" else "a"
        fields = dict(patient=W.patient, procedure=W.proc, a_procedure=f"{art} {W.proc}", weeks=W.weeks)
        query = (kit.pick_query(W.rng, SITUATIONS[ctype], **fields) +
                 f" The case is {W.C} ({W.spec}); it is planned on session {W.S1} in "
                 f"{W.theatres[W.T1]['name']} with bed {W.B1} on {W.wname[W.W1]} afterwards. " + TAILS[level])
        prof = kit.profile(
            goal=f"Case {W.C} ({W.patient}, {W.proc}) is booked today into a theatre session and a ward bed that "
                 "work together, with the earliest operation start.",
            persona=W.rng.choice(PERSONAS),
            known={"case": f"{W.C} for {W.patient}", "plan": f"session {W.S1} with bed {W.B1}",
                   "preference": "the earliest operation start that still works"},
            withheld=withheld, refusals=[(refusal, forbid)],
            clarifications={"other options": "Any other list and bed are fine if the operation starts earliest, "
                                             "except the one I ruled out.",
                            "ward": "Any ward of the right type is fine."})
        return make_task(family=fam, level=level, class_name=CLASS, init_config=W.config(), query=query,
                         user_profile=prof, triggers=[trig], checklist=checklist, normal=normal, oracle=oracle,
                         alternatives=alternatives, infeasible_goal=infeas, clock_start=kit.at(W.day, -60),
                         params={"shift": ctype, "mechanism": W.mech, "refused": W.refuse})
    return _build


FAMILIES = [
    Family("hospital_theatre-t2", DOMAIN, "T2", build("T2", 1)),
    Family("hospital_theatre-t3", DOMAIN, "T3", build("T3", 2)),
    Family("hospital_theatre-st3", DOMAIN, "ST3", build("ST3", 3)),
]
BY_TYPE = {f.conflict_type: f for f in FAMILIES}
