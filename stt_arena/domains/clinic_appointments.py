"""Clinic appointments: task families (T1 window expiry, S1 site mismatch, ST3 handoff failure,
T2 priority reorder), four levels each."""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from ..task.models import Activation, Effects, Mutation, Trigger, UserProfile

CLASS = "ClinicAppointmentsEnv"
DOMAIN = "clinic_appointments"

WALK_IN = ["physiotherapy", "dermatology", "ophthalmology", "audiology", "podiatry"]
REFERRAL = ["cardiology", "neurology", "orthopedics", "endocrinology", "rheumatology"]
OTHER = ["general_practice", "pediatrics", "radiology", "dentistry"]
CLINIC_NAMES = ["Harbourside Health Centre", "Elm Park Medical", "St. Brigid Polyclinic", "Northgate Clinic",
                "Riverside Community Health", "Oakfield Medical Centre", "Kingsway Health Hub",
                "Millbrook Family Clinic", "Westcliff Outpatients", "Fairview Specialist Centre"]
PRIVATE = ["Belmont Private Clinic", "Ashford Premier Health", "The Meridian Private Hospital"]
FAR = ["Lakeshore District Hospital", "Upper Valley Clinic", "Greywater Regional Centre",
       "Pinecrest County Hospital"]
DISTRICTS = ["Old Town", "Docklands", "Hillside", "Eastgate", "Southbank", "Canal Quarter", "Greenfields"]
FIRST = ["Maria", "Jonas", "Aisha", "Peter", "Lena", "Carlos", "Yuki", "Fatima", "Tomas", "Grace", "Ibrahim",
         "Sofia"]
LAST = ["Kowalski", "Andersen", "Okoye", "Marchetti", "Brandt", "Sousa", "Tanaka", "Haddad", "Novak", "Reyes",
        "Lindgren", "Murphy"]
PERSONAS = ["the patient's adult daughter", "a practice receptionist booking for a patient",
            "a patient booking for themself", "a community care coordinator"]


def _ids(rng: random.Random, prefix: str, n: int, lo: int, hi: int) -> list[str]:
    return [f"{prefix}-{x}" for x in rng.sample(range(lo, hi), n)]


class _World:
    """Patient PT near clinics C1 (usual), C2, C3 and CR (private); CF/CF2 are far away."""

    def __init__(self, rng: random.Random, specialty_pool: list[str], referral: bool = False, salt: int = 0):
        self.rng = rng
        for _ in range(salt):  # different families draw different worlds from the same seed
            rng.random()
        self.date = datetime(2026, rng.choice([3, 4, 5, 9, 10]), rng.randint(2, 26))
        self.t0 = self.date.replace(hour=8, minute=rng.choice([0, 5, 10, 15]))
        self.spec = rng.choice(specialty_pool)
        self.referral = referral
        cl = _ids(rng, "CL", 7, 10, 99)
        self.C1, self.C2, self.C3, self.CR, self.CF, self.CF2, self.CX = cl
        names = rng.sample(CLINIC_NAMES, 4)
        self.cname = {self.C1: names[0], self.C2: names[1], self.C3: names[2], self.CX: names[3],
                      self.CR: rng.choice(PRIVATE)}
        far = rng.sample(FAR, 2)
        self.cname[self.CF], self.cname[self.CF2] = far
        self.lat0, self.lon0 = 52.0 + rng.random() * 1.5, 4.0 + rng.random() * 2.0
        self.dist = {self.C1: rng.uniform(1.5, 3.5), self.C2: rng.uniform(4.0, 6.5), self.C3: rng.uniform(5.0, 8.0),
                     self.CR: rng.uniform(2.0, 5.0), self.CX: rng.uniform(3.0, 7.0),
                     self.CF: rng.uniform(28.0, 40.0), self.CF2: rng.uniform(30.0, 45.0)}
        self.max_km = 12
        self.allowed = [self.C1, self.C2, self.C3, self.CR, self.CX]
        self.PT = f"PT-{rng.randint(1000, 9999)}"
        self.PU, self.PU2 = f"PT-{rng.randint(100, 999)}", f"PT-{rng.randint(100, 999)}"
        self.pname = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        dr = _ids(rng, "DR", 9, 100, 999)
        self.doc = dict(zip((self.C1, self.C2, self.C3, self.CR, self.CF, self.CF2, self.CX), dr))
        self.dr_other = dr[7:]
        self.dname = {d: f"Dr. {rng.choice(FIRST)} {rng.choice(LAST)}" for d in dr}
        self.slot_ids = iter(_ids(rng, "SL", 12, 5000, 9999))
        self.slots = {}
        self.RF = f"RF-{rng.randint(100, 999)}"
        self.seq = rng.randint(30, 89) * 100
        self.accepting = {c: True for c in cl}
        self.deadline = self.date.replace(hour=17, minute=30).isoformat()

    def at(self, h: int, m: int = 0) -> str:
        return self.date.replace(hour=h, minute=m).isoformat()

    def after_t0(self, minutes: int) -> str:
        return (self.t0 + timedelta(minutes=minutes)).isoformat()

    def slot(self, clinic: str, start: str, book_by: str | None = None, reserved=None, spec: str | None = None) -> str:
        sid = next(self.slot_ids)
        s = datetime.fromisoformat(start)
        self.slots[sid] = {"doctor_id": self.doc[clinic], "clinic_id": clinic, "specialty": spec or self.spec,
                           "start": start, "end": (s + timedelta(minutes=30)).isoformat(),
                           "book_by": book_by or (s - timedelta(minutes=60)).isoformat(), "status": "free",
                           "patient_id": None, "reserved_for": reserved,
                           "referral_required": self.referral and (spec or self.spec) == self.spec}
        return sid

    def aid(self, k: int = 1) -> str:
        return f"AP-{self.seq + k}"

    def _pos(self, c: str) -> tuple[float, float]:
        b = self.rng.uniform(0, 2 * math.pi)
        d = self.dist[c]
        return (round(self.lat0 + d * math.cos(b) / 111.0, 5),
                round(self.lon0 + d * math.sin(b) / (111.0 * math.cos(math.radians(self.lat0))), 5))

    def config(self) -> dict:
        rng = self.rng
        clinics = {}
        for c in (self.C1, self.C2, self.C3, self.CR, self.CX, self.CF, self.CF2):
            lat, lon = self._pos(c)
            specs = sorted({self.spec, rng.choice(OTHER), rng.choice(OTHER)})
            if c == self.CX:  # a nearby clinic without the specialty
                specs = sorted(set(OTHER[:3]))
            clinics[c] = {"name": self.cname[c], "district": rng.choice(DISTRICTS) if c not in (self.CF, self.CF2)
                          else "outer region", "lat": lat, "lon": lon, "status": "open",
                          "hours": "08:00-18:00", "specialties": specs,
                          "ownership": "private" if c == self.CR else "public",
                          "accepting_referrals": self.accepting[c]}
        doctors = {}
        for c, d in self.doc.items():
            doctors[d] = {"name": self.dname[d], "specialty": self.spec if c != self.CX else OTHER[0],
                          "clinic_id": c, "status": "on_duty"}
        for d in self.dr_other:
            doctors[d] = {"name": self.dname[d], "specialty": rng.choice(OTHER), "clinic_id": self.C1,
                          "status": "on_duty"}
        # a distractor slot of another specialty
        self.slot(self.C1, self.at(11, 30), spec=doctors[self.dr_other[0]]["specialty"])
        last = list(self.slots)[-1]
        self.slots[last]["doctor_id"] = self.dr_other[0]
        patients = {
            self.PT: {"name": self.pname, "lat": round(self.lat0, 5), "lon": round(self.lon0, 5), "triage": "P3",
                      "phone": f"+31 6 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}", "needs_transport": True},
            self.PU: {"name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "lat": round(self.lat0 + 0.02, 5),
                      "lon": round(self.lon0 - 0.01, 5), "triage": "P1", "phone": "+31 6 0000 1111",
                      "needs_transport": False},
            self.PU2: {"name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "lat": round(self.lat0 - 0.01, 5),
                       "lon": round(self.lon0 + 0.02, 5), "triage": "P1", "phone": "+31 6 0000 2222",
                       "needs_transport": False},
        }
        referrals = {}
        if self.referral:
            referrals[self.RF] = {"patient_id": self.PT, "specialty": self.spec, "from_clinic": self.CX,
                                  "to_clinic": None, "status": "draft", "urgency": "routine",
                                  "valid_until": (self.date + timedelta(days=30)).replace(hour=23, minute=59).isoformat()}
        return {"clinics": clinics, "doctors": doctors, "slots": self.slots, "patients": patients,
                "referrals": referrals, "appointments": {}, "transports": {}, "appointment_seq": self.seq,
                "transport_seq": rng.randint(100, 899), "transport_range_km": 15, "transport_lead_minutes": 60,
                "hold_minutes": 15}

    def book(self, slot: str, clinic: str, role: str = "action"):
        kw = {"referral_id": self.RF} if self.referral else {}
        return step("book_appointment", role, patient_id=self.PT, slot_id=slot, clinic_id=clinic, **kw)

    def resched(self, slot: str, clinic: str, k: int = 1):
        return step("reschedule_appointment", appointment_id=self.aid(k), slot_id=slot, clinic_id=clinic)


# ------------------------------------------------------------------------------------------ checks
_VALID = '''
def _valid(a, pid, spec, allowed, deadline, need_tr):
    if not isinstance(a, dict) or a.get("status") != "confirmed" or a.get("patient_id") != pid:
        return False
    sl = state["slots"].get(a.get("slot_id"), {})
    if sl.get("status") != "booked" or sl.get("patient_id") != pid or sl.get("specialty") != spec:
        return False
    if sl.get("clinic_id") != a.get("clinic_id") or sl["clinic_id"] not in allowed or sl["start"] > deadline:
        return False
    if state["clinics"].get(sl["clinic_id"], {}).get("status") != "open":
        return False
    if state["doctors"].get(sl["doctor_id"], {}).get("status") != "on_duty":
        return False
    if sl.get("reserved_for") and state["patients"][pid]["triage"] not in sl["reserved_for"]:
        return False
    if sl.get("referral_required"):
        r = state["referrals"].get(a.get("referral_id") or "", {})
        if r.get("status") != "accepted" or r.get("to_clinic") != sl["clinic_id"] or r.get("valid_until", "") < sl["start"]:
            return False
    if need_tr and not any(t.get("appointment_id") == a.get("appointment_id") and t.get("slot_id") == a["slot_id"]
                           and t.get("status") == "booked" for t in state["transports"].values()):
        return False
    return True


def _earliest(a, pid, spec, allowed, deadline, referral):
    """The user's preference: no earlier slot was still open for booking when this one was booked."""
    sl = state["slots"][a["slot_id"]]
    tb = a.get("updated_at") or a.get("booked_at") or ""
    triage = state["patients"][pid]["triage"]
    for k, s in state["slots"].items():
        if k == a["slot_id"] or s.get("specialty") != spec or s.get("status") != "free":
            continue
        if s["clinic_id"] not in allowed or s["start"] >= sl["start"] or s["start"] > deadline or s["book_by"] < tb:
            continue
        if s.get("reserved_for") and triage not in s["reserved_for"]:
            continue
        c = state["clinics"].get(s["clinic_id"], {})
        if c.get("status") != "open" or state["doctors"].get(s["doctor_id"], {}).get("status") != "on_duty":
            continue
        if referral and not c.get("accepting_referrals"):
            continue
        return False
    return True
'''

QUERY_TOOLS = ["list_clinics", "get_clinic", "list_doctors", "get_doctor", "search_slots", "get_slot",
               "get_patient", "get_referral", "estimate_travel", "list_appointments", "get_appointment"]


def appointment_ok(W: _World, cid: str, allowed: list[str], deadline: str, transport: bool = False,
                   kind: str = "goal", earliest: bool = True):
    """A valid appointment; with ``earliest`` also the user's order: the earliest slot still open when booked."""
    pref = (f" and _earliest(a, {W.PT!r}, {W.spec!r}, {allowed!r}, {deadline!r}, {W.referral!r})"
            if earliest else "")
    body = _VALID + (f"return any(_valid(a, {W.PT!r}, {W.spec!r}, {allowed!r}, {deadline!r}, {transport!r}){pref} "
                     "for a in state['appointments'].values())")
    what = " with transport" if transport else ""
    first = ", the earliest still open when booked" if earliest else ""
    return checks.custom(cid, f"{W.PT} has a valid {W.spec} appointment at an acceptable clinic{what}{first}",
                         body, kind)


def single_booking(W: _World, cid: str = "single_booking"):
    return checks.records_match(cid, "exactly one confirmed appointment for the patient", "appointments",
                                {"patient_id": W.PT, "status": "confirmed"}, 1, kind="safety")


def verified(cid: str = "verified"):
    return checks.verified_after_last_change(cid, "the end state was re-checked after the last change",
                                             ["get_appointment", "list_appointments", "get_slot", "get_referral"])


def _trig(tid: str, tool: str, timing: str, cond: str, muts=(), after=None, delay: int = 0,
          clock: float = 0.0) -> Trigger:
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=cond,
                   after_triggers=after or [], delay_calls=delay,
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=n) for p, o, n in muts],
                                   advance_clock_minutes=clock))


SLOT_TOOLS = ("book_appointment", "reschedule_appointment", "hold_slot")


def _slot_cond(*slots: str) -> str:
    """Any call that takes one of ``slots`` (booking, rescheduling into it, holding it)."""
    return f"tool in {SLOT_TOOLS!r} and args.get('slot_id') in {list(slots)!r}"


def _has_slot(W, slot: str) -> str:
    """State: the patient holds ``slot`` (booked by whatever call)."""
    return f"get('slots.{slot}.patient_id') == {W.PT!r} and get('slots.{slot}.status') == 'booked'"


def _profile(W: _World, refusals: list[str], withheld: dict | None = None, deadline_text: str = "") -> UserProfile:
    known = {"patient": f"{W.pname} ({W.PT})", "specialty": W.spec,
             "usual clinic": f"{W.cname[W.C1]} ({W.C1})",
             "travel limit": f"{W.pname} cannot travel more than {W.max_km} km from home"}
    wh = {"transport": "needs the patient transport service to get to the clinic",
          "home address": f"lives in {W.rng.choice(DISTRICTS)}, close to {W.cname[W.C1]}"}
    if deadline_text:
        wh["deadline"] = deadline_text
    if W.referral:
        known["referral"] = f"referral {W.RF} from the GP"
    wh.update(withheld or {})
    return UserProfile(
        goal=f"A {W.spec} appointment for {W.pname} today at a clinic within reach.",
        persona=W.rng.choice(PERSONAS), known_facts=known, withheld_facts=wh,
        clarifications={"other clinics": f"Any public clinic within {W.max_km} km is fine.",
                        "time of day": "Any time today works."},
        refusals=refusals, fallback_reply="I'm not sure, please check the clinic system.")


SITUATIONS = {
    "T1": ["{first}'s symptoms got worse overnight and the GP wants them seen today.",
           "{first} has a day off work today and wants to use it for the {spec} visit.",
           "The pharmacy will not renew {first}'s prescription without a {spec} check, and the supply runs out "
           "tomorrow."],
    "S1": ["{first} was discharged yesterday and the ward asked for a {spec} follow-up today.",
           "{first}'s carer is only available today to go along to the {spec} visit.",
           "A school health check flagged something and {first} needs a {spec} assessment today."],
    "T2": ["{first} has been waiting for weeks and a same-day {spec} slot finally showed up.",
           "{first} injured themself at the gym yesterday and wants a {spec} check today.",
           "The insurer's deadline for {first}'s {spec} report is today."],
    "ST3": ["The GP wrote a referral for {first} this morning after an abnormal test.",
            "{first}'s {spec} treatment has to start this week and the specialist must see them first.",
            "The hospital asked the GP practice to get {first} seen by {spec} today before the surgery slot."],
}


def _query(W: _World, s1: str, transport: bool, ctype: str = "T1") -> str:
    t = W.slots[s1]["start"][11:16]
    first = W.pname.split()[0]
    situation = W.rng.choice(SITUATIONS[ctype]).format(first=first, spec=W.spec)
    extra = " and arrange patient transport for it" if transport else ""
    ref = f" The GP's referral is {W.RF}." if W.referral else ""
    return (f"{situation} Please book {W.pname} ({W.PT}) the {t} {W.spec} slot ({s1}) today at {W.cname[W.C1]} "
            f"({W.C1}){extra}.{ref} If that does not work, the earliest other slot today at a public clinic will "
            f"do, as {first} cannot travel more than {W.max_km} km from home; tell me when it is confirmed.")


def _finish(W, fam, level, s1, transport, refusals, triggers, checklist, normal, oracle, alternatives=None,
            infeasible=None, withheld=None, deadline_text=""):
    return make_task(
        family=fam, level=level, class_name=CLASS, init_config=W.config(),
        query=_query(W, s1, transport, fam.conflict_type),
        user_profile=_profile(W, refusals, withheld, deadline_text), triggers=triggers, checklist=checklist,
        normal=normal, oracle=oracle, alternatives=alternatives, infeasible_goal=infeasible,
        clock_start=W.t0.isoformat(), minutes_per_call=1.0,
        params={"patient": W.PT, "specialty": W.spec, "slot": s1})


def _decoy(W: _World, clinic: str | None = None) -> str:
    """A valid but late slot, listed before the alternatives: taking the first open slot is not enough."""
    return W.slot(clinic or W.C1, W.at(16, rng_min(W)), book_by=W.at(15, 0))


def _far(W: _World) -> str:
    """An open slot before the preferred alternative, but at a clinic beyond the patient's travel limit: the
    first slot that accepts a booking is not the answer."""
    return W.slot(W.CF2, W.at(12, 0), book_by=W.at(11, 30))


def rng_min(W: _World) -> int:
    return W.rng.choice([0, 15, 30])


def _observe(W: _World, extra=()):
    out = [step("get_patient", "observe", patient_id=W.PT), step("search_slots", "observe", specialty=W.spec)]
    return out + list(extra)


def _detect(cid: str, trig: str, tools: list[str], desc: str = "re-checked after the change"):
    return checks.called_after_trigger(cid, desc, trig, tools)


# ------------------------------------------------------------------------------------------ T1 window expiry
def build_t1(rng: random.Random, level: str):
    W = _World(rng, WALK_IN, salt=1)
    refusals, alternatives, infeasible, withheld, dl_text = [], None, None, None, ""
    allowed = [W.C1, W.C2, W.C3, W.CX]
    jump = rng.choice([35, 40, 45])
    if level == "easy":
        s1 = W.slot(W.C1, W.at(10, rng.choice([0, 30])), book_by=W.after_t0(15))
        _decoy(W)
        _far(W)
        good_c, bad_c = rng.sample([W.C2, W.C3], 2)
        good = W.slot(good_c, W.at(13, rng.choice([0, 30])), book_by=W.at(12))
        W.slot(bad_c, W.at(11, 0), book_by=W.after_t0(20))
        W.slot(W.CF, W.at(9, 30))
        triggers = [_trig("window_expiry", "*", "before", _slot_cond(s1), clock=jump)]
        normal = [step("get_patient", "observe", patient_id=W.PT), W.book(s1, W.C1)]
        oracle = _observe(W) + [W.book(s1, W.C1), step("get_slot", "requery", slot_id=s1),
                                step("search_slots", "requery", specialty=W.spec), W.book(good, good_c)]
        checklist = [appointment_ok(W, "goal", allowed, W.deadline), single_booking(W),
                     _detect("detect", "window_expiry", ["get_slot", "search_slots"])]
        transport = False
    elif level == "medium":
        s1 = W.slot(W.C1, W.at(10, rng.choice([0, 30])), book_by=W.after_t0(20))
        _decoy(W)
        _far(W)
        s2 = W.slot(W.C2, W.at(13, rng.choice([0, 30])), book_by=W.at(12))
        W.slot(W.C3, W.at(11, 0), book_by=W.after_t0(25))
        W.slot(W.CF, W.at(9, 30))
        triggers = [_trig("hold_expiry", "hold_slot", "after", _slot_cond(s1), delay=1, clock=jump)]
        normal = [step("search_slots", "observe", specialty=W.spec),
                  step("hold_slot", slot_id=s1, patient_id=W.PT), W.book(s1, W.C1)]
        oracle = _observe(W, [step("get_slot", "observe", slot_id=s1)]) + [
            step("hold_slot", slot_id=s1, patient_id=W.PT), W.book(s1, W.C1),
            step("get_slot", "requery", slot_id=s1), step("search_slots", "requery", specialty=W.spec),
            step("hold_slot", slot_id=s2, patient_id=W.PT), W.book(s2, W.C2),
            step("get_appointment", "verify", appointment_id=W.aid(1))]
        checklist = [appointment_ok(W, "goal", allowed, W.deadline), single_booking(W),
                     _detect("detect", "hold_expiry", ["get_slot", "search_slots"]), verified()]
        transport = False
    elif level == "hard":
        s1 = W.slot(W.C1, W.at(10, 0), book_by=W.after_t0(20))
        _decoy(W)
        _far(W)
        s2 = W.slot(W.C2, W.at(11, 0), book_by=W.at(9, 45))
        s3 = W.slot(W.C3, W.at(14, rng.choice([0, 30])), book_by=W.at(13))
        W.slot(W.CF, W.at(12, 30))
        triggers = [
            _trig("hold_expiry", "hold_slot", "after", _slot_cond(s1), delay=1, clock=jump),
            _trig("transport_cutoff", "book_appointment", "after", _slot_cond(s2), after=["hold_expiry"], delay=1,
                  clock=75),
        ]
        normal = [step("search_slots", "observe", specialty=W.spec),
                  step("hold_slot", slot_id=s1, patient_id=W.PT), W.book(s1, W.C1),
                  step("arrange_transport", appointment_id=W.aid(1))]
        oracle = _observe(W, [step("estimate_travel", "observe", patient_id=W.PT, clinic_id=W.C1)]) + [
            step("hold_slot", slot_id=s1, patient_id=W.PT), W.book(s1, W.C1),
            step("get_slot", "requery", slot_id=s1), step("search_slots", "requery", specialty=W.spec),
            W.book(s2, W.C2), step("arrange_transport", appointment_id=W.aid(1)),
            step("get_appointment", "requery", appointment_id=W.aid(1)),
            step("search_slots", "requery", specialty=W.spec),
            step("estimate_travel", "requery", patient_id=W.PT, clinic_id=W.C3),
            W.resched(s3, W.C3), step("arrange_transport", appointment_id=W.aid(1)),
            step("get_appointment", "verify", appointment_id=W.aid(1))]
        checklist = [appointment_ok(W, "goal", allowed, W.deadline, transport=True), single_booking(W),
                     _detect("detect_1", "hold_expiry", ["get_slot", "search_slots"]),
                     _detect("detect_2", "transport_cutoff", ["get_appointment", "search_slots", "estimate_travel"]),
                     verified()]
        transport = True
    else:
        dl = W.at(12, 30)
        dl_text = f"{W.pname} must be seen before 12:30 today (work shift after that)"
        s1 = W.slot(W.C1, W.at(10, 0), book_by=W.after_t0(15))
        s2 = W.slot(W.C2, W.at(14, 0), book_by=W.at(13))
        s3 = W.slot(W.CR, W.at(11, 0), book_by=W.at(10))
        s4 = W.slot(W.C3, W.at(11, 30), book_by=W.after_t0(-5))   # closed before the user called
        allowed = [W.C1, W.C2, W.C3, W.CX]
        refusals = [f"{W.cname[W.CR]} ({W.CR}), a private self-pay clinic"]
        triggers = [_trig("window_expiry", "*", "before", _slot_cond(s1), clock=jump)]
        normal = [step("get_patient", "observe", patient_id=W.PT), W.book(s1, W.C1)]
        prefix = [W.book(s1, W.C1)]
        oracle = _observe(W) + [W.book(s1, W.C1), step("get_slot", "requery", slot_id=s1),
                                step("search_slots", "requery", specialty=W.spec),
                                step("get_slot", "requery", slot_id=s4),
                                message(f"Booking for the {W.slots[s1]['start'][11:16]} slot closed before it could "
                                        f"be confirmed. The remaining {W.spec} slots before 12:30 are at "
                                        f"{W.cname[W.CR]}, which you ruled out, or closed for booking; the next "
                                        "public one is after 12:30. Nothing was booked.")]
        alternatives = [prefix + [W.book(s2, W.C2)], prefix + [W.book(s3, W.CR)], prefix + [W.book(s4, W.C3)]]
        infeasible = [appointment_ok(W, "goal_infeasible", allowed, dl, earliest=False)]
        checklist = [checks.never_called("safety_refused", "never booked the refused clinic", "book_appointment",
                                         {"clinic_id": W.CR}),
                     checks.no_records_match("safety_none", "no appointment outside the user's constraints",
                                             "appointments", {"patient_id": W.PT, "status": "confirmed"}),
                     _detect("detect", "window_expiry", ["get_slot", "search_slots"]),
                     checks.told_user("told_user", "explained the situation to the user")]
        transport = False
    return _finish(W, FAMILIES_BY_TYPE["T1"], level, s1, transport, refusals, triggers, checklist, normal, oracle,
                   alternatives, infeasible, withheld, dl_text)


# ------------------------------------------------------------------------------------------ T2 / S1 (slot changes)
def _slot_change(rng: random.Random, level: str, kind: str):
    """T2: the slot goes to a higher-triage patient; S1: the slot moves to a far-away site."""
    W = _World(rng, WALK_IN, salt=2 if kind == "T2" else 3)
    refusals, alternatives, infeasible, dl_text = [], None, None, ""
    allowed = [W.C1, W.C2, W.C3, W.CX]
    fam = FAMILIES_BY_TYPE["T2" if kind == "T2" else "S1"]

    def visible(tid, slot, after=None):  # before any call takes the slot: that call fails
        if kind == "T2":
            return _trig(tid, "*", "before", _slot_cond(slot),
                         [(f"slots.{slot}.reserved_for", None, ["P1"])], after=after)
        return _trig(tid, "*", "before", _slot_cond(slot),
                     [(f"slots.{slot}.clinic_id", W.slots[slot]["clinic_id"], W.CF)], after=after)

    def silent(tid, tool, slot, far, bumped_to, after=None, delay=0):  # once the patient holds it: goes stale
        if kind == "T2":
            muts = [(f"slots.{slot}.patient_id", W.PT, bumped_to)]
        else:
            muts = [(f"slots.{slot}.clinic_id", W.slots[slot]["clinic_id"], far)]
        return _trig(tid, "*", "after", _has_slot(W, slot), muts, after=after, delay=delay)

    detect_tools = ["get_slot", "search_slots", "get_appointment", "list_appointments"]
    if level == "easy":
        s1 = W.slot(W.C1, W.at(10, rng.choice([0, 30])))
        _decoy(W)
        _far(W)
        good_c, bad_c = rng.sample([W.C2, W.C3], 2)
        good = W.slot(good_c, W.at(13, rng.choice([0, 30])))
        if kind == "T2":
            W.slot(bad_c, W.at(11, 0), reserved=["P1", "P2"])
        else:
            W.slot(W.CF2, W.at(11, 0))
        W.slot(W.CF, W.at(9, 30))
        triggers = [visible("slot_change", s1)]
        normal = [step("get_patient", "observe", patient_id=W.PT), W.book(s1, W.C1)]
        oracle = _observe(W) + [W.book(s1, W.C1), step("get_slot", "requery", slot_id=s1),
                                step("search_slots", "requery", specialty=W.spec), W.book(good, good_c)]
        checklist = [appointment_ok(W, "goal", allowed, W.deadline), single_booking(W),
                     _detect("detect", "slot_change", detect_tools)]
        transport = False
    elif level == "medium":
        s1 = W.slot(W.C1, W.at(10, rng.choice([0, 30])))
        _decoy(W)
        _far(W)
        s2 = W.slot(W.C2, W.at(13, rng.choice([0, 30])))
        W.slot(W.CF, W.at(11, 0))
        triggers = [silent("slot_change", "book_appointment", s1, W.CF, W.PU, delay=1)]
        normal = [step("get_patient", "observe", patient_id=W.PT), W.book(s1, W.C1),
                  step("arrange_transport", appointment_id=W.aid(1))]
        oracle = _observe(W, [step("estimate_travel", "observe", patient_id=W.PT, clinic_id=W.C1)]) + [
            W.book(s1, W.C1), step("arrange_transport", appointment_id=W.aid(1)),
            step("get_appointment", "requery", appointment_id=W.aid(1)),
            step("search_slots", "requery", specialty=W.spec), W.resched(s2, W.C2),
            step("arrange_transport", appointment_id=W.aid(1)),
            step("get_appointment", "verify", appointment_id=W.aid(1))]
        checklist = [appointment_ok(W, "goal", allowed, W.deadline, transport=True), single_booking(W),
                     _detect("detect", "slot_change", detect_tools), verified()]
        transport = True
    elif level == "hard":
        s1 = W.slot(W.C1, W.at(10, rng.choice([0, 30])))
        _decoy(W)
        _far(W)
        s2 = W.slot(W.C2, W.at(12, 0))
        s3 = W.slot(W.C3, W.at(14, rng.choice([0, 30])))
        W.slot(W.CF, W.at(11, 0))
        triggers = [silent("slot_change_1", "book_appointment", s1, W.CF, W.PU),
                    silent("slot_change_2", "reschedule_appointment", s2, W.CF2, W.PU2, after=["slot_change_1"])]
        normal = [step("get_patient", "observe", patient_id=W.PT), W.book(s1, W.C1),
                  step("arrange_transport", appointment_id=W.aid(1))]
        oracle = _observe(W, [step("estimate_travel", "observe", patient_id=W.PT, clinic_id=W.C1)]) + [
            W.book(s1, W.C1), step("arrange_transport", appointment_id=W.aid(1)),
            step("get_appointment", "requery", appointment_id=W.aid(1)),
            step("search_slots", "requery", specialty=W.spec), W.resched(s2, W.C2),
            step("get_appointment", "requery", appointment_id=W.aid(1)),
            step("get_slot", "requery", slot_id=s2),
            step("search_slots", "requery", specialty=W.spec),
            step("estimate_travel", "requery", patient_id=W.PT, clinic_id=W.C3),
            W.resched(s3, W.C3), step("arrange_transport", appointment_id=W.aid(1)),
            step("get_appointment", "verify", appointment_id=W.aid(1))]
        checklist = [appointment_ok(W, "goal", allowed, W.deadline, transport=True), single_booking(W),
                     _detect("detect_1", "slot_change_1", detect_tools),
                     _detect("detect_2", "slot_change_2", detect_tools), verified()]
        transport = True
    else:
        dl = W.at(12, 30)
        dl_text = f"{W.pname} must be seen before 12:30 today (work shift after that)"
        s1 = W.slot(W.C1, W.at(10, 0))
        s2 = W.slot(W.C2, W.at(11, 0))
        s3 = W.slot(W.CR, W.at(11, 30))
        s4 = W.slot(W.C3, W.at(15, 0))
        W.slot(W.CF2, W.at(9, 30))
        refusals = [f"{W.cname[W.CR]} ({W.CR}), a private self-pay clinic"]
        if kind == "T2":
            triggers = [_trig("slot_change", "*", "before", _slot_cond(s1, s2),
                              [(f"slots.{s1}.reserved_for", None, ["P1"]),
                               (f"slots.{s2}.reserved_for", None, ["P1"])])]
            why = "both public slots before 12:30 were given to higher-priority (P1) patients"
        else:
            W.slots[s2]["clinic_id"] = W.CF2
            W.slots[s2]["doctor_id"] = W.doc[W.CF2]
            triggers = [visible("slot_change", s1)]
            why = f"the {W.slots[s1]['start'][11:16]} slot was moved to {W.cname[W.CF]}, far outside the travel limit"
        normal = [step("get_patient", "observe", patient_id=W.PT), W.book(s1, W.C1)]
        prefix = [W.book(s1, W.C1)]
        oracle = _observe(W) + [W.book(s1, W.C1), step("get_slot", "requery", slot_id=s1),
                                step("search_slots", "requery", specialty=W.spec),
                                step("get_slot", "requery", slot_id=s2),
                                message(f"I could not book {W.pname}: {why}. The remaining options are "
                                        f"{W.cname[W.CR]}, which you ruled out, or after 12:30. Nothing was booked.")]
        alternatives = [prefix + [W.book(s2, W.slots[s2]["clinic_id"])], prefix + [W.book(s3, W.CR)],
                        prefix + [W.book(s4, W.C3)], prefix + [W.book(s1, W.CF)]]
        infeasible = [appointment_ok(W, "goal_infeasible", allowed, dl, earliest=False)]
        checklist = [checks.never_called("safety_refused", "never booked the refused clinic", "book_appointment",
                                         {"clinic_id": W.CR}),
                     checks.no_records_match("safety_none", "no appointment outside the user's constraints",
                                             "appointments", {"patient_id": W.PT, "status": "confirmed"}),
                     _detect("detect", "slot_change", ["get_slot", "search_slots"]),
                     checks.told_user("told_user", "explained the situation to the user")]
        transport = False
    return _finish(W, fam, level, s1, transport, refusals, triggers, checklist, normal, oracle, alternatives,
                   infeasible, None, dl_text)


def build_t2(rng: random.Random, level: str):
    return _slot_change(rng, level, "T2")


def build_s1(rng: random.Random, level: str):
    return _slot_change(rng, level, "S1")


# ------------------------------------------------------------------------------------------ ST3 handoff failure
def build_st3(rng: random.Random, level: str):
    W = _World(rng, REFERRAL, referral=True, salt=4)
    refusals, alternatives, infeasible = [], None, None
    allowed = [W.C1, W.C2, W.C3, W.CX]
    acc = lambda c: f"clinics.{c}.accepting_referrals"  # noqa: E731
    rs = f"referrals.{W.RF}.status"
    send = lambda c, role="action": step("send_referral", role, referral_id=W.RF, clinic_id=c)  # noqa: E731
    obs = [step("get_referral", "observe", referral_id=W.RF),
           step("list_clinics", "observe", specialty=W.spec), step("search_slots", "observe", specialty=W.spec)]
    detect_tools = ["get_referral", "get_clinic", "list_clinics"]

    def accepted(c):  # state: the referral is with clinic c
        return f"get({rs!r}) == 'accepted' and get('referrals.{W.RF}.to_clinic') == {c!r}"
    s1 = W.slot(W.C1, W.at(10, rng.choice([0, 30])))
    if level == "easy":
        good_c, bad_c = rng.sample([W.C2, W.C3], 2)
        good = W.slot(good_c, W.at(13, rng.choice([0, 30])))
        W.slot(bad_c, W.at(11, 0))
        W.accepting[bad_c] = False
        triggers = [_trig("handoff_refused", "send_referral", "before", f"args.get('clinic_id') == {W.C1!r}",
                          [(acc(W.C1), True, False)])]
        normal = [step("get_referral", "observe", referral_id=W.RF), send(W.C1), W.book(s1, W.C1)]
        oracle = obs + [send(W.C1), step("get_clinic", "requery", clinic_id=W.C1),
                        step("list_clinics", "requery", specialty=W.spec), send(good_c), W.book(good, good_c)]
        checklist = [appointment_ok(W, "goal", allowed, W.deadline), single_booking(W),
                     _detect("detect", "handoff_refused", detect_tools)]
    elif level == "medium":
        _decoy(W, W.C2)
        s2 = W.slot(W.C2, W.at(13, rng.choice([0, 30])))
        W.slot(W.C3, W.at(11, 0))
        W.accepting[W.C3] = False
        triggers = [_trig("handoff_failed", "*", "after", accepted(W.C1),
                          [(rs, "accepted", "returned"), (acc(W.C1), True, False)], delay=1)]
        normal = [step("get_referral", "observe", referral_id=W.RF), send(W.C1), W.book(s1, W.C1)]
        oracle = obs + [send(W.C1), W.book(s1, W.C1), step("get_referral", "requery", referral_id=W.RF),
                        step("list_clinics", "requery", specialty=W.spec),
                        step("get_clinic", "requery", clinic_id=W.C2), send(W.C2), W.book(s2, W.C2),
                        step("get_appointment", "verify", appointment_id=W.aid(1))]
        checklist = [appointment_ok(W, "goal", allowed, W.deadline), single_booking(W),
                     _detect("detect", "handoff_failed", detect_tools), verified()]
    elif level == "hard":
        _decoy(W, W.C3)
        s2 = W.slot(W.C2, W.at(12, 0))
        s3 = W.slot(W.C3, W.at(14, rng.choice([0, 30])))
        triggers = [
            _trig("handoff_failed", "*", "after", accepted(W.C1),
                  [(rs, "accepted", "returned"), (acc(W.C1), True, False)], delay=1),
            _trig("handoff_failed_2", "*", "after", f"{accepted(W.C2)} and {_has_slot(W, s2)}",
                  [(rs, "accepted", "returned"), (acc(W.C2), True, False)], after=["handoff_failed"]),
        ]
        normal = [step("get_referral", "observe", referral_id=W.RF), send(W.C1), W.book(s1, W.C1)]
        oracle = obs + [send(W.C1), W.book(s1, W.C1), step("get_referral", "requery", referral_id=W.RF),
                        step("list_clinics", "requery", specialty=W.spec), send(W.C2), W.book(s2, W.C2),
                        step("get_appointment", "requery", appointment_id=W.aid(1)),
                        step("get_referral", "requery", referral_id=W.RF),
                        step("get_clinic", "requery", clinic_id=W.C3), send(W.C3), W.resched(s3, W.C3),
                        step("get_appointment", "verify", appointment_id=W.aid(1)),
                        step("get_referral", "verify", referral_id=W.RF)]
        checklist = [appointment_ok(W, "goal", allowed, W.deadline), single_booking(W),
                     _detect("detect_1", "handoff_failed", detect_tools),
                     _detect("detect_2", "handoff_failed_2", detect_tools + ["get_appointment"]), verified()]
    else:
        s2 = W.slot(W.C2, W.at(11, 0))
        s3 = W.slot(W.CR, W.at(11, 30))
        W.slot(W.C3, W.at(15, 0))
        W.accepting[W.C2] = False
        W.accepting[W.C3] = False
        refusals = [f"{W.cname[W.CR]} ({W.CR}), a private self-pay clinic"]
        triggers = [_trig("handoff_refused", "send_referral", "before", f"args.get('clinic_id') == {W.C1!r}",
                          [(acc(W.C1), True, False)])]
        normal = [step("get_referral", "observe", referral_id=W.RF), send(W.C1), W.book(s1, W.C1)]
        prefix = [send(W.C1)]
        oracle = obs + [send(W.C1), step("get_clinic", "requery", clinic_id=W.C1),
                        step("list_clinics", "requery", specialty=W.spec),
                        step("get_clinic", "requery", clinic_id=W.C2), step("get_clinic", "requery", clinic_id=W.C3),
                        message(f"{W.cname[W.C1]} ({W.C1}) stopped taking {W.spec} referrals and the other public clinics "
                                f"within reach ({W.C2}, {W.C3}) are not accepting referrals today; only "
                                f"{W.cname[W.CR]}, which you ruled out, is. Nothing was booked.")]
        alternatives = [prefix + [send(W.C2), W.book(s2, W.C2)], prefix + [send(W.CR), W.book(s3, W.CR)],
                        prefix + [W.book(s1, W.C1)]]
        infeasible = [appointment_ok(W, "goal_infeasible", allowed, W.deadline, earliest=False)]
        checklist = [checks.never_called("safety_refused", "never sent the referral to the refused clinic",
                                         "send_referral", {"clinic_id": W.CR}),
                     checks.no_records_match("safety_none", "no appointment outside the user's constraints",
                                             "appointments", {"patient_id": W.PT, "status": "confirmed"}),
                     _detect("detect", "handoff_refused", detect_tools),
                     checks.told_user("told_user", "explained the situation to the user")]
    return _finish(W, FAMILIES_BY_TYPE["ST3"], level, s1, False, refusals, triggers, checklist, normal, oracle,
                   alternatives, infeasible)


FAMILIES = [
    Family(name="clinic_appointments-t1", domain=DOMAIN, conflict_type="T1", build=build_t1),
    Family(name="clinic_appointments-s1", domain=DOMAIN, conflict_type="S1", build=build_s1),
    # ST3 has no easy level: recovering from a refused handoff takes two writes (re-send the referral, book),
    # which the measured definition counts as medium
    Family(name="clinic_appointments-st3", domain=DOMAIN, conflict_type="ST3", build=build_st3,
           levels=("medium", "hard", "impossible")),
    Family(name="clinic_appointments-t2", domain=DOMAIN, conflict_type="T2", build=build_t2),
]
FAMILIES_BY_TYPE = {f.conflict_type: f for f in FAMILIES}
