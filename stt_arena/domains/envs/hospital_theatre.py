
def _hm(m):
    return f"{m // 60:02d}:{m % 60:02d}"


# -- shared with the checklist (domains.kit.env_functions): pure functions over the JSON state ---------
def _min(iso):
    return int(iso[11:13]) * 60 + int(iso[14:16])


def case_times(theatres, sessions, cases, transfer, case_id, session_id, ward_id):
    """(operation start, operation end, arrival on the ward) in minutes after midnight: the case follows the
    list ahead of it (emergency insertions, then booked electives, then a turnaround), recovers in the
    theatre suite, then a porter takes the patient to the ward."""
    s, c = sessions[session_id], cases[case_id]
    ahead = s.get("emergency_min", 0) + s.get("booked_min", 0)
    turn = theatres[s["theatre_id"]]["turnaround_min"] if ahead > 0 else 0
    start = _min(s["start"]) + ahead + turn
    end = start + c["duration_min"]
    return start, end, end + c["recovery_min"] + transfer[s["theatre_id"]][ward_id]


def plan_problem(theatres, sessions, cases, wards, beds, transfer, bookings, case_id, session_id, bed_id,
                 own=None):
    """Why this case cannot have this theatre session and this ward bed now (None when it can). ``own``:
    the booking being changed (it does not count against itself)."""
    c, s, b = cases.get(case_id), sessions.get(session_id), beds.get(bed_id)
    if c is None:
        return f"case {case_id} not found"
    if s is None:
        return f"session {session_id} not found"
    if b is None:
        return f"bed {bed_id} not found"
    if c["status"] != "waiting":
        return f"case {case_id} is {c['status']}"
    active = [k for k, v in bookings.items() if v["status"] in ("held", "booked") and k != own]
    dup = [k for k in active if bookings[k]["case_id"] == case_id]
    if dup:
        return f"case {case_id} already has booking {dup[0]}"
    th = theatres[s["theatre_id"]]
    if th["status"] != "open":
        return f"theatre {s['theatre_id']} is {th['status']}"
    if s["status"] != "open":
        return f"session {session_id} is {s['status']}"
    if s["specialty"] != c["specialty"]:
        return f"session {session_id} is a {s['specialty']} list; case {case_id} needs {c['specialty']}"
    if any(bookings[k]["session_id"] == session_id for k in active):
        return f"session {session_id} already has a case booked from this desk"
    w = wards[b["ward_id"]]
    start, end, arrival = case_times(theatres, sessions, cases, transfer, case_id, session_id, b["ward_id"])
    used = start - _min(s["start"]) + c["duration_min"]
    if used > s["allocated_min"]:
        em = ""
        if s.get("emergency_case"):
            em = f" after emergency case {s['emergency_case']} ({s['emergency_min']} min)"
        elif s.get("moved_ahead"):
            em = f" after priority case {s['moved_ahead']} was moved ahead of it"
        return (f"session {session_id} is full: the case would start {_hm(start)}{em} and needs "
                f"{c['duration_min']} min, the list has {s['allocated_min']} allocated minutes from "
                f"{s['start'][11:16]}")
    if w["ward_type"] != c["ward_type"]:
        return f"bed {bed_id} is on a {w['ward_type']} ward; case {case_id} needs a {c['ward_type']} bed"
    if w["status"] != "open":
        return f"ward {b['ward_id']} is {w['status']}"
    if arrival < _min(w["accepting_from"]):
        return (f"ward {b['ward_id']} accepts admissions from {w['accepting_from'][11:16]}; the patient would "
                f"arrive {_hm(arrival)}")
    taken = sum(1 for k in active if beds.get(bookings[k]["bed_id"], {}).get("ward_id") == b["ward_id"])
    if w["admissions"] + taken >= w["admission_quota"]:
        return (f"ward {b['ward_id']} has reached its admission quota for the shift "
                f"({w['admission_quota']} admissions)")
    if b["status"] != "ready":
        return f"bed {bed_id} is {b['status']}"
    if any(bookings[k]["bed_id"] == bed_id for k in active):
        return f"bed {bed_id} is already allocated"
    if arrival < _min(b["free_from"]):
        return f"bed {bed_id} is occupied until {b['free_from'][11:16]}; the patient would arrive {_hm(arrival)}"
    if arrival > _min(b["hold_until"]):
        return (f"bed {bed_id} is held for elective admissions until {b['hold_until'][11:16]}; the patient "
                f"would arrive {_hm(arrival)}")
    return None


class HospitalTheatreEnv:
    """Operating-theatre lists and post-operative ward beds: a case is booked into a theatre session and a
    ward bed it can reach (recovery time plus porter transfer) while the bed is free and held."""

    MUTATING_TOOLS = ["book_case", "hold_booking", "confirm_booking", "change_booking", "cancel_booking",
                      "request_porter", "add_case_note"]

    def __init__(self, init_config: dict):
        self.theatres = init_config["theatres"]
        self.teams = init_config["teams"]
        self.sessions = init_config["sessions"]
        self.cases = init_config["cases"]
        self.wards = init_config["wards"]
        self.beds = init_config["beds"]
        self.transfer = init_config["transfer"]
        self.bookings = init_config.get("bookings", {})
        self.porters = {}
        self.notes = {}
        self.booking_seq = init_config.get("booking_seq", 100)

    # -- helpers (private) ---------------------------------------------------------------------------
    def _problem(self, case_id, session_id, bed_id, own=None):
        prob = plan_problem(self.theatres, self.sessions, self.cases, self.wards, self.beds, self.transfer,
                            self.bookings, case_id, session_id, bed_id, own)
        if prob is None:
            start = self._times(case_id, session_id, bed_id)[0]
            if start <= now().hour * 60 + now().minute:
                return f"session {session_id} would start the case at {_hm(start)}, which has passed"
        return prob

    def _times(self, case_id, session_id, bed_id):
        return case_times(self.theatres, self.sessions, self.cases, self.transfer, case_id, session_id,
                          self.beds[bed_id]["ward_id"])

    def _sview(self, sid):
        s = self.sessions[sid]
        ahead = s.get("emergency_min", 0) + s.get("booked_min", 0)
        turn = self.theatres[s["theatre_id"]]["turnaround_min"] if ahead > 0 else 0
        nxt = _min(s["start"]) + ahead + turn
        return {"session_id": sid, **s, "next_free_start": _hm(nxt),
                "minutes_left": s["allocated_min"] - (nxt - _min(s["start"]))}

    def _bview(self, bid):
        b = self.bookings[bid]
        prob = None
        if b["status"] in ("held", "booked"):
            prob = self._problem(b["case_id"], b["session_id"], b["bed_id"], bid)
        start, end, arrival = self._times(b["case_id"], b["session_id"], b["bed_id"])
        return {"booking_id": bid, **b, "operation_start": _hm(start), "operation_end": _hm(end),
                "ward_arrival": _hm(arrival), "still_feasible": prob is None, "issue": prob}

    def _new(self, case_id, session_id, bed_id, status):
        self.booking_seq += 1
        bid = f"BK-{self.booking_seq}"
        self.bookings[bid] = {"case_id": case_id, "session_id": session_id, "bed_id": bed_id,
                              "ward_id": self.beds[bed_id]["ward_id"], "status": status,
                              "created_at": now().isoformat()}
        return bid

    # -- queries ---------------------------------------------------------------------------------------
    def list_theatres(self) -> dict:
        """List operating theatres with their suite, status and turnaround time between cases."""
        return {"success": True, "data": [{"theatre_id": k, **v} for k, v in sorted(self.theatres.items())]}

    def get_theatre(self, theatre_id: str) -> dict:
        """Get one theatre's suite, status and turnaround minutes.

        Args:
            theatre_id: Theatre ID, e.g. "TH-12".
        """
        t = self.theatres.get(theatre_id)
        if t is None:
            return {"success": False, "error": f"theatre {theatre_id} not found"}
        return {"success": True, "data": {"theatre_id": theatre_id, **t}}

    def get_team(self, team_id: str) -> dict:
        """Get a surgical team's consultant, grade and specialty.

        Args:
            team_id: Team ID, e.g. "TM-41".
        """
        t = self.teams.get(team_id)
        if t is None:
            return {"success": False, "error": f"team {team_id} not found"}
        return {"success": True, "data": {"team_id": team_id, **t}}

    def list_sessions(self, specialty: str = "") -> dict:
        """Theatre sessions (lists) of the day with their live next free start and minutes left.

        Args:
            specialty: Only lists of this specialty, e.g. "orthopaedics"; empty for all.
        """
        out = [self._sview(k) for k, s in self.sessions.items() if not specialty or s["specialty"] == specialty]
        return {"success": True, "data": sorted(out, key=lambda v: v["start"])}

    def get_session(self, session_id: str) -> dict:
        """Get one theatre session: theatre, team, times, emergency insertions, allocation and next free start.

        Args:
            session_id: Session ID, e.g. "SS-204".
        """
        if session_id not in self.sessions:
            return {"success": False, "error": f"session {session_id} not found"}
        return {"success": True, "data": self._sview(session_id)}

    def get_case(self, case_id: str) -> dict:
        """Get a surgical case: patient, procedure, specialty, duration, recovery time and ward type needed.

        Args:
            case_id: Case ID, e.g. "CS-5521".
        """
        c = self.cases.get(case_id)
        if c is None:
            return {"success": False, "error": f"case {case_id} not found"}
        return {"success": True, "data": {"case_id": case_id, **c}}

    def list_wards(self) -> dict:
        """List wards with type, status, admission quota for the shift and time they accept admissions from."""
        out = []
        for k, w in sorted(self.wards.items()):
            taken = sum(1 for b in self.bookings.values() if b["status"] in ("held", "booked") and b["ward_id"] == k)
            out.append({"ward_id": k, **w, "admissions_booked": w["admissions"] + taken})
        return {"success": True, "data": out}

    def get_ward(self, ward_id: str) -> dict:
        """Get one ward's type, status, admission quota and acceptance time.

        Args:
            ward_id: Ward ID, e.g. "WD-31".
        """
        w = self.wards.get(ward_id)
        if w is None:
            return {"success": False, "error": f"ward {ward_id} not found"}
        taken = sum(1 for b in self.bookings.values() if b["status"] in ("held", "booked") and b["ward_id"] == ward_id)
        return {"success": True, "data": {"ward_id": ward_id, **w, "admissions_booked": w["admissions"] + taken}}

    def list_beds(self, ward_id: str = "") -> dict:
        """Beds with their ward, status, time free from (current patient's discharge) and hold-until time.

        Args:
            ward_id: Only beds of this ward; empty for all wards.
        """
        if ward_id and ward_id not in self.wards:
            return {"success": False, "error": f"ward {ward_id} not found"}
        out = [{"bed_id": k, **b} for k, b in sorted(self.beds.items()) if not ward_id or b["ward_id"] == ward_id]
        return {"success": True, "data": out}

    def get_bed(self, bed_id: str) -> dict:
        """Get one bed: ward, bay, status, free-from and hold-until times.

        Args:
            bed_id: Bed ID, e.g. "BD-307".
        """
        b = self.beds.get(bed_id)
        if b is None:
            return {"success": False, "error": f"bed {bed_id} not found"}
        return {"success": True, "data": {"bed_id": bed_id, **b}}

    def get_transfer_time(self, theatre_id: str, ward_id: str) -> dict:
        """Porter transfer minutes from a theatre suite's recovery area to a ward.

        Args:
            theatre_id: Theatre ID.
            ward_id: Ward ID.
        """
        if theatre_id not in self.theatres or ward_id not in self.wards:
            return {"success": False, "error": f"theatre {theatre_id} or ward {ward_id} not found"}
        return {"success": True, "data": {"minutes": self.transfer[theatre_id][ward_id]}}

    def check_plan(self, case_id: str, session_id: str, bed_id: str) -> dict:
        """Operation start/end and ward arrival for a case in a session and bed, and whether it works now.

        Args:
            case_id: Case ID.
            session_id: Session ID.
            bed_id: Bed ID.
        """
        if case_id not in self.cases or session_id not in self.sessions or bed_id not in self.beds:
            return {"success": False, "error": f"case {case_id}, session {session_id} or bed {bed_id} not found"}
        start, end, arrival = self._times(case_id, session_id, bed_id)
        prob = self._problem(case_id, session_id, bed_id)
        return {"success": True, "data": {"operation_start": _hm(start), "operation_end": _hm(end),
                                          "ward_arrival": _hm(arrival), "feasible": prob is None, "issue": prob}}

    def list_bookings(self, case_id: str) -> dict:
        """List the theatre-and-bed bookings of a case with whether each still works.

        Args:
            case_id: Case ID.
        """
        if case_id not in self.cases:
            return {"success": False, "error": f"case {case_id} not found"}
        return {"success": True, "data": [self._bview(k) for k, b in self.bookings.items() if b["case_id"] == case_id]}

    def get_booking(self, booking_id: str) -> dict:
        """Get a booking's session, bed, operation times, ward arrival, status and whether it still works.

        Args:
            booking_id: Booking ID, e.g. "BK-311".
        """
        if booking_id not in self.bookings:
            return {"success": False, "error": f"booking {booking_id} not found"}
        return {"success": True, "data": self._bview(booking_id)}

    # -- state changes ---------------------------------------------------------------------------------
    def book_case(self, case_id: str, session_id: str, bed_id: str) -> dict:
        """Book a case into a theatre session with its post-operative ward bed (confirmed).

        Args:
            case_id: Case ID.
            session_id: Theatre session ID.
            bed_id: Ward bed ID for after recovery.
        """
        prob = self._problem(case_id, session_id, bed_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._bview(self._new(case_id, session_id, bed_id, "booked"))}

    def hold_booking(self, case_id: str, session_id: str, bed_id: str) -> dict:
        """Provisionally hold a theatre slot and ward bed for a case (confirm it later).

        Args:
            case_id: Case ID.
            session_id: Theatre session ID.
            bed_id: Ward bed ID for after recovery.
        """
        prob = self._problem(case_id, session_id, bed_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._bview(self._new(case_id, session_id, bed_id, "held"))}

    def confirm_booking(self, booking_id: str) -> dict:
        """Confirm a held booking (slot and bed re-checked on the current lists and beds).

        Args:
            booking_id: Booking ID.
        """
        b = self.bookings.get(booking_id)
        if b is None:
            return {"success": False, "error": f"booking {booking_id} not found"}
        if b["status"] != "held":
            return {"success": False, "error": f"booking {booking_id} is {b['status']}"}
        prob = self._problem(b["case_id"], b["session_id"], b["bed_id"], booking_id)
        if prob:
            return {"success": False, "error": prob}
        b["status"] = "booked"
        return {"success": True, "data": self._bview(booking_id)}

    def change_booking(self, booking_id: str, session_id: str, bed_id: str) -> dict:
        """Move a held or booked case to another session and bed (status kept).

        Args:
            booking_id: Booking ID.
            session_id: The new theatre session ID.
            bed_id: The new ward bed ID.
        """
        b = self.bookings.get(booking_id)
        if b is None:
            return {"success": False, "error": f"booking {booking_id} not found"}
        if b["status"] not in ("held", "booked"):
            return {"success": False, "error": f"booking {booking_id} is {b['status']}"}
        prob = self._problem(b["case_id"], session_id, bed_id, booking_id)
        if prob:
            return {"success": False, "error": prob}
        b["session_id"], b["bed_id"], b["ward_id"] = session_id, bed_id, self.beds[bed_id]["ward_id"]
        b["updated_at"] = now().isoformat()
        return {"success": True, "data": self._bview(booking_id)}

    def cancel_booking(self, booking_id: str) -> dict:
        """Cancel a booking and release its slot and bed.

        Args:
            booking_id: Booking ID.
        """
        b = self.bookings.get(booking_id)
        if b is None:
            return {"success": False, "error": f"booking {booking_id} not found"}
        if b["status"] == "cancelled":
            return {"success": False, "error": f"booking {booking_id} is already cancelled"}
        b["status"] = "cancelled"
        return {"success": True, "message": f"booking {booking_id} cancelled"}

    def request_porter(self, booking_id: str) -> dict:
        """Book the porter who takes the patient from recovery to the ward bed of a confirmed booking.

        Args:
            booking_id: Booking ID.
        """
        b = self.bookings.get(booking_id)
        if b is None:
            return {"success": False, "error": f"booking {booking_id} not found"}
        if b["status"] != "booked":
            return {"success": False, "error": f"booking {booking_id} is {b['status']}"}
        prob = self._problem(b["case_id"], b["session_id"], b["bed_id"], booking_id)
        if prob:
            return {"success": False, "error": prob}
        start, end, arrival = self._times(b["case_id"], b["session_id"], b["bed_id"])
        pickup = end + self.cases[b["case_id"]]["recovery_min"]
        pid = f"PT-{len(self.porters) + 1}"
        self.porters[pid] = {"booking_id": booking_id, "pickup": _hm(pickup), "arrival": _hm(arrival),
                             "from_theatre": self.sessions[b["session_id"]]["theatre_id"], "to_bed": b["bed_id"]}
        return {"success": True, "data": {"porter_job_id": pid, **self.porters[pid]}}

    def add_case_note(self, case_id: str, note: str) -> dict:
        """Attach a note for the theatre and ward teams to a case.

        Args:
            case_id: Case ID.
            note: Free text, at most 300 characters.
        """
        if case_id not in self.cases:
            return {"success": False, "error": f"case {case_id} not found"}
        if not note or len(note) > 300:
            return {"success": False, "error": "note must have 1 to 300 characters"}
        self.notes.setdefault(case_id, []).append(note)
        return {"success": True, "message": "note added"}
