from ._shared import *  # noqa: F403 - inlined by generator.family.env_source


# -- shared with the checklist (domains.kit.env_functions): pure functions over the JSON state ---------
def area_reachable(routes, taxiways, runway_id, area_id):
    """Whether an open taxi route leads from the runway to the gate area (every taxiway on it open)."""
    for r in routes.values():
        if r["runway"] == runway_id and r["area"] == area_id and r["status"] == "open":
            if all(taxiways.get(t, {}).get("status") == "open" for t in r["taxiways"]):
                return True
    return False


def stand_problem(flights, stands, areas, routes, taxiways, assignments, buffer_min, flight_id, stand_id, own=None):
    """Why this flight cannot use this stand for its turnaround on the current state, or None. ``own``: the
    flight's assignment being changed (it does not block itself)."""
    f, s = flights.get(flight_id), stands.get(stand_id)
    if f is None:
        return f"flight {flight_id} not found"
    if s is None:
        return f"stand {stand_id} not found"
    if s["status"] != "open":
        return f"stand {stand_id} is {s['status']}"
    if areas[s["area"]]["status"] != "open":
        return f"area {s['area']} of stand {stand_id} is {areas[s['area']]['status']}"
    if "ABCDEF".index(s["max_size"]) < "ABCDEF".index(f["size_class"]):
        return f"stand {stand_id} takes size class {s['max_size']} at most, flight {flight_id} is class {f['size_class']}"
    if not area_reachable(routes, taxiways, f["runway"], s["area"]):
        return f"no open taxi route from runway {f['runway']} to area {s['area']} of stand {stand_id}"
    for k, a in assignments.items():
        if k == own or a["stand_id"] != stand_id or a["status"] not in ("held", "confirmed"):
            continue
        if a["flight_id"] == flight_id:
            continue
        if overlaps(f["est_arr"], f["est_dep"], a["on_block"], a["off_block"], buffer_min):
            return (f"stand {stand_id} is occupied by flight {a['flight_id']} from {hm(a['on_block'])} to "
                    f"{hm(a['off_block'])} ({buffer_min} min buffer); flight {flight_id} needs it "
                    f"{hm(f['est_arr'])}-{hm(f['est_dep'])}")
    return None


class AirportGatesEnv:
    """Stand and gate allocation at one airport: flights with estimated times, contact gates and remote
    stands with occupancy intervals, taxi routes from the runways, tows and handling crews."""

    MUTATING_TOOLS = ["assign_stand", "hold_stand", "confirm_assignment", "reassign_stand", "cancel_assignment",
                      "assign_handling_crew", "add_ops_note"]

    def __init__(self, init_config: dict):
        self.airport = init_config["airport"]
        self.areas = init_config["areas"]
        self.stands = init_config["stands"]
        self.runways = init_config["runways"]
        self.taxiways = init_config["taxiways"]
        self.routes = init_config["routes"]
        self.flights = init_config["flights"]
        self.assignments = init_config.get("assignments", {})
        self.tows = init_config.get("tows", {})
        self.crews = init_config.get("crews", {})
        self.notes = {}
        self.assignment_seq = init_config.get("assignment_seq", 500)

    # -- helpers (private) ---------------------------------------------------------------------------
    def _problem(self, flight_id, stand_id, own=None):
        return stand_problem(self.flights, self.stands, self.areas, self.routes, self.taxiways, self.assignments,
                             self.airport["buffer_min"], flight_id, stand_id, own)

    def _write_problem(self, flight_id, stand_id=None, own=None):
        """The one rule every write passes: the flight is ours and still to come; the stand (if any) fits."""
        f = self.flights.get(flight_id)
        if f is None:
            return f"flight {flight_id} not found"
        if f["airline"] != self.airport["handler_for"]:
            return f"flight {flight_id} is operated by {f['airline']}; its stands are planned by its own handler"
        if f["status"] in ("departed", "cancelled"):
            return f"flight {flight_id} is {f['status']}"
        if stand_id is None:
            return None
        return self._problem(flight_id, stand_id, own)

    def _active(self, flight_id):
        return [k for k, a in self.assignments.items() if a["flight_id"] == flight_id and a["status"] in ("held", "confirmed")]

    def _aview(self, aid):
        a = self.assignments[aid]
        prob = None
        if a["status"] in ("held", "confirmed"):
            prob = self._problem(a["flight_id"], a["stand_id"], aid)
        return {"assignment_id": aid, **a, "still_valid": prob is None, "issue": prob}

    def _sview(self, sid):
        s = self.stands[sid]
        area = self.areas[s["area"]]
        return {"stand_id": sid, **s, "terminal": area["terminal"], "area_status": area["status"]}

    def _new(self, flight_id, stand_id, status):
        self.assignment_seq += 1
        aid = f"AS-{self.assignment_seq}"
        f = self.flights[flight_id]
        self.assignments[aid] = {"flight_id": flight_id, "stand_id": stand_id, "status": status,
                                 "airline": f["airline"], "on_block": f["est_arr"], "off_block": f["est_dep"],
                                 "locked": False, "created_at": now().isoformat()}
        return aid

    def _own_assignment(self, assignment_id, statuses):
        a = self.assignments.get(assignment_id)
        if a is None:
            return None, f"assignment {assignment_id} not found"
        if a["locked"] or a["airline"] != self.airport["handler_for"]:
            return None, f"assignment {assignment_id} belongs to {a['airline']} and is locked by ops control"
        if a["status"] not in statuses:
            return None, f"assignment {assignment_id} is {a['status']}"
        return a, None

    # -- queries ---------------------------------------------------------------------------------------
    def list_flights(self) -> dict:
        """List today's flights with airline, aircraft size class, landing runway and estimated times."""
        return {"success": True, "data": [{"flight_id": k, **v} for k, v in sorted(self.flights.items())]}

    def get_flight(self, flight_id: str) -> dict:
        """Get one flight's airline, aircraft, size class, runway, scheduled and estimated times.

        Args:
            flight_id: Flight ID, e.g. "SK1427".
        """
        f = self.flights.get(flight_id)
        if f is None:
            return {"success": False, "error": f"flight {flight_id} not found"}
        return {"success": True, "data": {"flight_id": flight_id, **f, "assignments": self._active(flight_id)}}

    def list_stands(self, terminal: str = "") -> dict:
        """List gates and remote stands: area, terminal, max size class, jet bridge, walking minutes, status.

        Args:
            terminal: Terminal name to filter on, e.g. "T2"; empty for every stand.
        """
        out = [self._sview(k) for k in sorted(self.stands)]
        return {"success": True, "data": [s for s in out if not terminal or s["terminal"] == terminal]}

    def get_stand(self, stand_id: str) -> dict:
        """Get one stand's area, terminal, size class, jet bridge, walking minutes and status.

        Args:
            stand_id: Stand ID, e.g. "G-14".
        """
        if stand_id not in self.stands:
            return {"success": False, "error": f"stand {stand_id} not found"}
        return {"success": True, "data": self._sview(stand_id)}

    def list_areas(self) -> dict:
        """List gate areas (piers and aprons) with their terminal, kind, status and any remark."""
        return {"success": True, "data": [{"area_id": k, **v} for k, v in sorted(self.areas.items())]}

    def get_stand_schedule(self, stand_id: str) -> dict:
        """Occupancy of a stand: the active assignments with on-block and off-block times, and the buffer.

        Args:
            stand_id: Stand ID.
        """
        if stand_id not in self.stands:
            return {"success": False, "error": f"stand {stand_id} not found"}
        occ = [{"assignment_id": k, "flight_id": a["flight_id"], "airline": a["airline"], "on_block": a["on_block"],
                "off_block": a["off_block"], "status": a["status"]}
               for k, a in self.assignments.items() if a["stand_id"] == stand_id and a["status"] in ("held", "confirmed")]
        return {"success": True, "data": {"stand_id": stand_id, "buffer_min": self.airport["buffer_min"],
                                          "occupancy": sorted(occ, key=lambda o: o["on_block"])}}

    def list_taxi_routes(self, runway_id: str = "") -> dict:
        """List taxi routes from runways to gate areas with their taxiways and taxi minutes.

        Args:
            runway_id: Runway ID to filter on, e.g. "RWY-27R"; empty for every runway.
        """
        if runway_id and runway_id not in self.runways:
            return {"success": False, "error": f"runway {runway_id} not found"}
        out = []
        for k, r in sorted(self.routes.items()):
            if runway_id and r["runway"] != runway_id:
                continue
            closed = [t for t in r["taxiways"] if self.taxiways.get(t, {}).get("status") != "open"]
            out.append({"route_id": k, **r, "closed_taxiways": closed, "usable": r["status"] == "open" and not closed})
        return {"success": True, "data": out}

    def get_taxiway(self, taxiway_id: str) -> dict:
        """Get a taxiway's status and any NOTAM remark.

        Args:
            taxiway_id: Taxiway ID, e.g. "TWY-K3".
        """
        t = self.taxiways.get(taxiway_id)
        if t is None:
            return {"success": False, "error": f"taxiway {taxiway_id} not found"}
        return {"success": True, "data": {"taxiway_id": taxiway_id, **t}}

    def check_stand_fit(self, flight_id: str, stand_id: str) -> dict:
        """Whether a flight can use a stand for its whole turnaround: size, taxi route, occupancy.

        Args:
            flight_id: Flight ID.
            stand_id: Stand ID.
        """
        if flight_id not in self.flights or stand_id not in self.stands:
            return {"success": False, "error": f"flight {flight_id} or stand {stand_id} not found"}
        own = self._active(flight_id)
        prob = self._problem(flight_id, stand_id, own[0] if own else None)
        return {"success": True, "data": {"fits": prob is None, "issue": prob}}

    def list_assignments(self, flight_id: str = "") -> dict:
        """List stand assignments (all, or one flight's) with whether each is still valid.

        Args:
            flight_id: Flight ID to filter on; empty for every assignment.
        """
        return {"success": True, "data": [self._aview(k) for k, a in sorted(self.assignments.items())
                                          if not flight_id or a["flight_id"] == flight_id]}

    def get_assignment(self, assignment_id: str) -> dict:
        """Get one stand assignment: flight, stand, status, block times and whether it is still valid.

        Args:
            assignment_id: Assignment ID, e.g. "AS-512".
        """
        if assignment_id not in self.assignments:
            return {"success": False, "error": f"assignment {assignment_id} not found"}
        return {"success": True, "data": self._aview(assignment_id)}

    def list_tows(self) -> dict:
        """List planned aircraft tows: flight, stand it clears, time, crew and status."""
        return {"success": True, "data": [{"tow_id": k, **v} for k, v in sorted(self.tows.items())]}

    def list_crews(self, kind: str = "") -> dict:
        """List ground crews (handling or tow) with their base area, shift and status.

        Args:
            kind: "handling" or "tow"; empty for every crew.
        """
        return {"success": True, "data": [{"crew_id": k, **v} for k, v in sorted(self.crews.items())
                                          if not kind or v["kind"] == kind]}

    # -- state changes ---------------------------------------------------------------------------------
    def assign_stand(self, flight_id: str, stand_id: str) -> dict:
        """Allocate a stand to one of our flights for its turnaround (a confirmed assignment).

        Args:
            flight_id: Flight ID.
            stand_id: Stand ID.
        """
        prob = self._write_problem(flight_id, stand_id)
        if prob:
            return {"success": False, "error": prob}
        if self._active(flight_id):
            return {"success": False, "error": f"flight {flight_id} already has assignment {self._active(flight_id)[0]}"}
        return {"success": True, "data": self._aview(self._new(flight_id, stand_id, "confirmed"))}

    def hold_stand(self, flight_id: str, stand_id: str) -> dict:
        """Hold a stand for one of our flights (provisional until confirmed).

        Args:
            flight_id: Flight ID.
            stand_id: Stand ID.
        """
        prob = self._write_problem(flight_id, stand_id)
        if prob:
            return {"success": False, "error": prob}
        if self._active(flight_id):
            return {"success": False, "error": f"flight {flight_id} already has assignment {self._active(flight_id)[0]}"}
        return {"success": True, "data": self._aview(self._new(flight_id, stand_id, "held"))}

    def confirm_assignment(self, assignment_id: str) -> dict:
        """Confirm a held stand assignment (re-checked on the current state).

        Args:
            assignment_id: Assignment ID.
        """
        a, err = self._own_assignment(assignment_id, ("held",))
        if err:
            return {"success": False, "error": err}
        prob = self._write_problem(a["flight_id"], a["stand_id"], assignment_id)
        if prob:
            return {"success": False, "error": prob}
        a["status"] = "confirmed"
        return {"success": True, "data": self._aview(assignment_id)}

    def reassign_stand(self, assignment_id: str, stand_id: str) -> dict:
        """Move a held or confirmed assignment of ours to another stand (status kept).

        Args:
            assignment_id: Assignment ID.
            stand_id: The new stand.
        """
        a, err = self._own_assignment(assignment_id, ("held", "confirmed"))
        if err:
            return {"success": False, "error": err}
        prob = self._write_problem(a["flight_id"], stand_id, assignment_id)
        if prob:
            return {"success": False, "error": prob}
        a["stand_id"] = stand_id
        a["crew_id"] = None
        a["updated_at"] = now().isoformat()
        return {"success": True, "data": self._aview(assignment_id)}

    def cancel_assignment(self, assignment_id: str) -> dict:
        """Cancel one of our stand assignments and release the stand.

        Args:
            assignment_id: Assignment ID.
        """
        a, err = self._own_assignment(assignment_id, ("held", "confirmed"))
        if err:
            return {"success": False, "error": err}
        prob = self._write_problem(a["flight_id"])
        if prob:
            return {"success": False, "error": prob}
        a["status"] = "cancelled"
        return {"success": True, "message": f"assignment {assignment_id} cancelled"}

    def assign_handling_crew(self, assignment_id: str, crew_id: str) -> dict:
        """Put a handling crew on a stand assignment (the crew must be based in the stand's area).

        Args:
            assignment_id: Assignment ID.
            crew_id: Crew ID, e.g. "HC-21".
        """
        a, err = self._own_assignment(assignment_id, ("held", "confirmed"))
        if err:
            return {"success": False, "error": err}
        prob = self._write_problem(a["flight_id"], a["stand_id"], assignment_id)
        if prob:
            return {"success": False, "error": prob}
        c = self.crews.get(crew_id)
        if c is None or c["kind"] != "handling":
            return {"success": False, "error": f"handling crew {crew_id} not found"}
        if c["status"] != "available":
            return {"success": False, "error": f"crew {crew_id} is {c['status']}"}
        if c["area"] != self.stands[a["stand_id"]]["area"]:
            return {"success": False, "error": f"crew {crew_id} is based in area {c['area']}, stand {a['stand_id']} "
                                               f"is in area {self.stands[a['stand_id']]['area']}"}
        if iso_diff(a["off_block"], c["shift_end"]) < 0:
            return {"success": False, "error": f"crew {crew_id} ends its shift at {c['shift_end'][11:16]}"}
        a["crew_id"] = crew_id
        return {"success": True, "data": self._aview(assignment_id)}

    def add_ops_note(self, flight_id: str, note: str) -> dict:
        """Attach a note for ramp control to one of our flights.

        Args:
            flight_id: Flight ID.
            note: Free text, at most 300 characters.
        """
        prob = self._write_problem(flight_id)
        if prob:
            return {"success": False, "error": prob}
        if not note or len(note) > 300:
            return {"success": False, "error": "note must have 1 to 300 characters"}
        self.notes.setdefault(flight_id, []).append({"at": now().isoformat(), "note": note})
        return {"success": True, "message": "note added"}
