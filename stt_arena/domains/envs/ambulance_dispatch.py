# -- shared with the checklist (domains.kit.env_functions): pure functions over the JSON state ---------
def _min(iso):
    return int(iso[11:13]) * 60 + int(iso[14:16])


def _clock(m):
    return f"{m // 60:02d}:{m % 60:02d}"


def crew_rank(level):
    """Clinical level of a crew: EMR < BLS < ALS (unknown: -1)."""
    return {"EMR": 0, "BLS": 1, "ALS": 2}.get(level, -1)


def unit_eta(ambulances, incidents, travel, ambulance_id, incident_id):
    """Arrival of a unit at the incident (minutes after midnight): the time it is free (handover done)
    plus the drive from its current zone."""
    a, i = ambulances[ambulance_id], incidents[incident_id]
    return _min(a["free_from"]) + travel[a["zone"]][i["zone"]]


def transport_min(hospitals, incidents, travel, hospital_id, incident_id):
    """Drive from the incident's zone to a hospital's emergency department."""
    return travel[incidents[incident_id]["zone"]][hospitals[hospital_id]["zone"]]


def dispatch_problem(ambulances, hospitals, incidents, travel, assignments, incident_id, ambulance_id,
                     hospital_id=None, own=None):
    """Why this unit cannot take this incident to this hospital now (None when it can). ``own``: the
    assignment being changed; ``hospital_id`` None checks the unit only."""
    i, a = incidents.get(incident_id), ambulances.get(ambulance_id)
    if i is None:
        return f"incident {incident_id} not found"
    if a is None:
        return f"ambulance {ambulance_id} not found"
    if i["status"] != "open":
        return f"incident {incident_id} is {i['status']}"
    if a["status"] == "committed":
        return f"ambulance {ambulance_id} is committed to {a.get('committed_to') or 'another call'}"
    if a["status"] not in ("available", "handover"):
        return f"ambulance {ambulance_id} is {a['status']}"
    if crew_rank(a["crew"]) < crew_rank(i["crew_needed"]):
        return f"ambulance {ambulance_id} has a {a['crew']} crew; incident {incident_id} needs {i['crew_needed']}"
    for k, v in assignments.items():
        if k != own and v["status"] in ("pre_alerted", "dispatched"):
            if v["ambulance_id"] == ambulance_id:
                return f"ambulance {ambulance_id} already has active assignment {k}"
            if v["incident_id"] == incident_id:
                return f"incident {incident_id} already has active assignment {k}"
    eta = unit_eta(ambulances, incidents, travel, ambulance_id, incident_id)
    if eta > _min(i["respond_by"]):
        return (f"ambulance {ambulance_id} reaches zone {i['zone']} at {_clock(eta)}; incident {incident_id} "
                f"must be reached by {i['respond_by'][11:16]}")
    if hospital_id is None:
        return None
    h = hospitals.get(hospital_id)
    if h is None:
        return f"hospital {hospital_id} not found"
    if h["status"] != "open":
        return f"hospital {hospital_id} is on {h['status']}"
    if i["specialty"] and i["specialty"] not in h["specialties"]:
        return f"hospital {hospital_id} has no {i['specialty']} service"
    drive = transport_min(hospitals, incidents, travel, hospital_id, incident_id)
    if drive > i["max_transport_min"]:
        return (f"hospital {hospital_id} is {drive} min from zone {i['zone']}; the limit for incident "
                f"{incident_id} is {i['max_transport_min']} min")
    incoming = sum(1 for k, v in assignments.items() if k != own and v["hospital_id"] == hospital_id
                   and v["status"] in ("pre_alerted", "dispatched"))
    if h["ed_load"] + incoming >= h["ed_capacity"]:
        return f"emergency department at {hospital_id} is full ({h['ed_load'] + incoming}/{h['ed_capacity']})"
    return None


class AmbulanceDispatchEnv:
    """Emergency dispatch: incidents with priority and zone, ambulances with crew level, position and the
    time they are free, hospitals with emergency departments (diversion, specialties, load, handover wait),
    and drive times between zones."""

    MUTATING_TOOLS = ["dispatch_unit", "pre_alert", "confirm_assignment", "reassign_unit", "change_destination",
                      "cancel_assignment", "add_incident_note"]

    def __init__(self, init_config: dict):
        self.zones = init_config["zones"]
        self.travel = init_config["travel"]
        self.ambulances = init_config["ambulances"]
        self.hospitals = init_config["hospitals"]
        self.incidents = init_config["incidents"]
        self.assignments = init_config.get("assignments", {})
        self.notes = {}
        self.assignment_seq = init_config.get("assignment_seq", 100)

    # -- helpers (private) ---------------------------------------------------------------------------
    def _problem(self, incident_id, ambulance_id, hospital_id=None, own=None):
        return dispatch_problem(self.ambulances, self.hospitals, self.incidents, self.travel, self.assignments,
                                incident_id, ambulance_id, hospital_id, own)

    def _iso(self, incident_id, minutes):
        day = self.incidents[incident_id]["respond_by"][:11]
        return f"{day}{_clock(minutes)}:00"

    def _aview(self, aid):
        v = self.assignments[aid]
        prob = None
        if v["status"] in ("pre_alerted", "dispatched"):
            prob = self._problem(v["incident_id"], v["ambulance_id"], v["hospital_id"], aid)
        return {"assignment_id": aid, **v, "still_feasible": prob is None, "issue": prob}

    def _times(self, rec):
        eta = unit_eta(self.ambulances, self.incidents, self.travel, rec["ambulance_id"], rec["incident_id"])
        drive = transport_min(self.hospitals, self.incidents, self.travel, rec["hospital_id"], rec["incident_id"])
        rec["eta_scene"] = self._iso(rec["incident_id"], eta)
        rec["transport_min"] = drive

    def _new(self, incident_id, ambulance_id, hospital_id, status):
        self.assignment_seq += 1
        aid = f"AS-{self.assignment_seq}"
        rec = {"incident_id": incident_id, "ambulance_id": ambulance_id, "hospital_id": hospital_id,
               "status": status, "created_at": now().isoformat()}
        self._times(rec)
        self.assignments[aid] = rec
        return aid

    def _active(self, assignment_id):
        v = self.assignments.get(assignment_id)
        if v is None:
            return None, {"success": False, "error": f"assignment {assignment_id} not found"}
        if v["status"] not in ("pre_alerted", "dispatched"):
            return None, {"success": False, "error": f"assignment {assignment_id} is {v['status']}"}
        return v, None

    # -- queries ---------------------------------------------------------------------------------------
    def list_zones(self) -> dict:
        """List the dispatch zones with their names and districts."""
        return {"success": True, "data": [{"zone_id": k, **v} for k, v in sorted(self.zones.items())]}

    def get_travel_time(self, from_zone_id: str, to_zone_id: str) -> dict:
        """Drive time in minutes between two zones under current road conditions.

        Args:
            from_zone_id: Zone ID where the drive starts, e.g. "Z-14".
            to_zone_id: Zone ID where the drive ends.
        """
        if from_zone_id not in self.travel or to_zone_id not in self.travel:
            return {"success": False, "error": f"zone {from_zone_id} or {to_zone_id} not found"}
        return {"success": True, "data": {"minutes": self.travel[from_zone_id][to_zone_id]}}

    def list_incidents(self) -> dict:
        """List incidents with priority, zone, crew level needed, specialty and response deadline."""
        return {"success": True, "data": [{"incident_id": k, **v} for k, v in sorted(self.incidents.items())]}

    def get_incident(self, incident_id: str) -> dict:
        """Get one incident: kind, priority, zone, crew level needed, specialty, deadlines.

        Args:
            incident_id: Incident ID, e.g. "INC-4410".
        """
        i = self.incidents.get(incident_id)
        if i is None:
            return {"success": False, "error": f"incident {incident_id} not found"}
        return {"success": True, "data": {"incident_id": incident_id, **i}}

    def list_ambulances(self) -> dict:
        """List ambulances with status, crew level, current zone and the time each is free."""
        return {"success": True, "data": [{"ambulance_id": k, **v} for k, v in sorted(self.ambulances.items())]}

    def get_ambulance(self, ambulance_id: str) -> dict:
        """Get one ambulance: callsign, base, current zone, status, crew level, free-from time.

        Args:
            ambulance_id: Ambulance ID, e.g. "AMB-31".
        """
        a = self.ambulances.get(ambulance_id)
        if a is None:
            return {"success": False, "error": f"ambulance {ambulance_id} not found"}
        active = [k for k, v in self.assignments.items() if v["ambulance_id"] == ambulance_id
                  and v["status"] in ("pre_alerted", "dispatched")]
        return {"success": True, "data": {"ambulance_id": ambulance_id, **a, "active_assignments": active}}

    def list_hospitals(self, specialty: str = "") -> dict:
        """List hospitals with emergency-department status, specialties, load, capacity and handover wait.

        Args:
            specialty: Only hospitals with this service, e.g. "stroke"; empty for all.
        """
        out = [{"hospital_id": k, **v} for k, v in sorted(self.hospitals.items())
               if not specialty or specialty in v["specialties"]]
        return {"success": True, "data": out}

    def get_hospital(self, hospital_id: str) -> dict:
        """Get one hospital's emergency department: status (open or diversion), specialties, load,
        capacity, handover wait and zone.

        Args:
            hospital_id: Hospital ID, e.g. "HSP-12".
        """
        h = self.hospitals.get(hospital_id)
        if h is None:
            return {"success": False, "error": f"hospital {hospital_id} not found"}
        incoming = sum(1 for v in self.assignments.values() if v["hospital_id"] == hospital_id
                       and v["status"] in ("pre_alerted", "dispatched"))
        return {"success": True, "data": {"hospital_id": hospital_id, **h, "incoming_units": incoming}}

    def estimate_response(self, incident_id: str, ambulance_id: str) -> dict:
        """Arrival time of an ambulance at an incident and whether it can take the incident.

        Args:
            incident_id: Incident ID.
            ambulance_id: Ambulance ID.
        """
        if incident_id not in self.incidents or ambulance_id not in self.ambulances:
            return {"success": False, "error": f"incident {incident_id} or ambulance {ambulance_id} not found"}
        eta = unit_eta(self.ambulances, self.incidents, self.travel, ambulance_id, incident_id)
        prob = self._problem(incident_id, ambulance_id)
        return {"success": True, "data": {"eta_scene": self._iso(incident_id, eta), "feasible": prob is None,
                                          "issue": prob}}

    def list_assignments(self, incident_id: str) -> dict:
        """List the assignments of an incident with whether each still works.

        Args:
            incident_id: Incident ID.
        """
        if incident_id not in self.incidents:
            return {"success": False, "error": f"incident {incident_id} not found"}
        return {"success": True, "data": [self._aview(k) for k, v in self.assignments.items()
                                          if v["incident_id"] == incident_id]}

    def get_assignment(self, assignment_id: str) -> dict:
        """Get an assignment: unit, destination hospital, status, arrival and whether it still works.

        Args:
            assignment_id: Assignment ID, e.g. "AS-101".
        """
        if assignment_id not in self.assignments:
            return {"success": False, "error": f"assignment {assignment_id} not found"}
        return {"success": True, "data": self._aview(assignment_id)}

    # -- state changes ---------------------------------------------------------------------------------
    def dispatch_unit(self, incident_id: str, ambulance_id: str, hospital_id: str) -> dict:
        """Dispatch an ambulance to an incident now, with the destination emergency department.

        Args:
            incident_id: Incident ID.
            ambulance_id: Ambulance ID.
            hospital_id: Destination hospital ID.
        """
        prob = self._problem(incident_id, ambulance_id, hospital_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._aview(self._new(incident_id, ambulance_id, hospital_id, "dispatched"))}

    def pre_alert(self, incident_id: str, ambulance_id: str, hospital_id: str) -> dict:
        """Pre-alert an ambulance and a destination for an incident (tentative until confirmed).

        Args:
            incident_id: Incident ID.
            ambulance_id: Ambulance ID.
            hospital_id: Destination hospital ID.
        """
        prob = self._problem(incident_id, ambulance_id, hospital_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._aview(self._new(incident_id, ambulance_id, hospital_id, "pre_alerted"))}

    def confirm_assignment(self, assignment_id: str) -> dict:
        """Confirm a pre-alerted assignment: the unit is dispatched (re-checked on current data).

        Args:
            assignment_id: Assignment ID.
        """
        v, err = self._active(assignment_id)
        if err:
            return err
        if v["status"] != "pre_alerted":
            return {"success": False, "error": f"assignment {assignment_id} is {v['status']}"}
        prob = self._problem(v["incident_id"], v["ambulance_id"], v["hospital_id"], assignment_id)
        if prob:
            return {"success": False, "error": prob}
        v["status"] = "dispatched"
        v["confirmed_at"] = now().isoformat()
        return {"success": True, "data": self._aview(assignment_id)}

    def reassign_unit(self, assignment_id: str, ambulance_id: str) -> dict:
        """Give an active assignment to another ambulance (status and destination kept).

        Args:
            assignment_id: Assignment ID.
            ambulance_id: The new ambulance.
        """
        v, err = self._active(assignment_id)
        if err:
            return err
        prob = self._problem(v["incident_id"], ambulance_id, v["hospital_id"], assignment_id)
        if prob:
            return {"success": False, "error": prob}
        v["ambulance_id"] = ambulance_id
        self._times(v)
        v["updated_at"] = now().isoformat()
        return {"success": True, "data": self._aview(assignment_id)}

    def change_destination(self, assignment_id: str, hospital_id: str) -> dict:
        """Change the destination emergency department of an active assignment.

        Args:
            assignment_id: Assignment ID.
            hospital_id: The new destination hospital.
        """
        v, err = self._active(assignment_id)
        if err:
            return err
        prob = self._problem(v["incident_id"], v["ambulance_id"], hospital_id, assignment_id)
        if prob:
            return {"success": False, "error": prob}
        v["hospital_id"] = hospital_id
        self._times(v)
        v["updated_at"] = now().isoformat()
        return {"success": True, "data": self._aview(assignment_id)}

    def cancel_assignment(self, assignment_id: str) -> dict:
        """Stand an assignment down (the unit and the destination are released).

        Args:
            assignment_id: Assignment ID.
        """
        v, err = self._active(assignment_id)
        if err:
            return err
        v["status"] = "cancelled"
        v["cancelled_at"] = now().isoformat()
        return {"success": True, "message": f"assignment {assignment_id} cancelled"}

    def add_incident_note(self, incident_id: str, note: str) -> dict:
        """Attach a note for the crew to an incident (access codes, hazards, patient details).

        Args:
            incident_id: Incident ID.
            note: Free text, at most 300 characters.
        """
        if incident_id not in self.incidents:
            return {"success": False, "error": f"incident {incident_id} not found"}
        if not note or len(note) > 300:
            return {"success": False, "error": "note must have 1 to 300 characters"}
        self.notes.setdefault(incident_id, []).append(note)
        return {"success": True, "message": "note added"}
