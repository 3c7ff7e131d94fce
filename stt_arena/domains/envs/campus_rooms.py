from datetime import datetime, timedelta


def _t(iso):
    return datetime.fromisoformat(iso)


# -- shared with the checklist (domains.kit.env_functions): pure functions over the JSON state ---------
def session_hours(request):
    """Length of a requested session in hours (start and end on the same day)."""
    a, b = request["start"], request["end"]
    return ((int(b[11:13]) * 60 + int(b[14:16])) - (int(a[11:13]) * 60 + int(a[14:16]))) / 60


def facility_hours_left(rooms, groups, requests, bookings, group_id, facility_id, own=None):
    """A group's weekly hours left at a facility: allocation minus hours used minus active bookings."""
    g = groups[group_id]
    booked = sum(session_hours(requests[b["request_id"]]) for k, b in bookings.items()
                 if k != own and b["group_id"] == group_id and b["status"] in ("held", "confirmed")
                 and rooms.get(b["room_id"], {}).get("facility_id") == facility_id)
    return g["quota_h"].get(facility_id, 0) - g["used_h"].get(facility_id, 0) - booked


def booking_problem(rooms, groups, inductions, technicians, equipment, requests, bookings, request_id, room_id,
                    own=None):
    """Why this room cannot host this request's session on the current state (None when it can).
    ``own``: the booking being changed or confirmed (its own hours and room do not count against it)."""
    q, r = requests.get(request_id), rooms.get(room_id)
    if q is None:
        return f"request {request_id} not found"
    if r is None:
        return f"room {room_id} not found"
    if r["status"] != "bookable":
        return f"room {room_id} is {r['status']}"
    if r["capacity"] < q["attendees"]:
        return f"room {room_id} seats {r['capacity']}, the session has {q['attendees']} attendees"
    if q.get("step_free") and not r["step_free"]:
        return f"room {room_id} has no step-free access"
    for need in q.get("needs", []):
        if not any(e["type"] == need and e["room_id"] == room_id and e["status"] == "in_service"
                   for e in equipment.values()):
            return f"room {room_id} has no {need} in service"
    hz = r.get("hazard_class", "none")
    if hz != "none" and not any(i["group_id"] == q["group_id"] and i["hazard_class"] == hz and
                                i["status"] == "valid" and i["expires"] >= q["end"] for i in inductions.values()):
        return f"group {q['group_id']} holds no valid {hz} safety induction for room {room_id}"
    if hz != "none" and not any(t["building_id"] == r["building_id"] and t["status"] == "on_duty" and
                                hz in t["signs_off"] and t["shift_start"] <= q["start"][11:16] and
                                q["end"][11:16] <= t["shift_end"] for t in technicians.values()):
        return (f"no technician on duty in building {r['building_id']} signs off {hz} work "
                f"{q['start'][11:16]}-{q['end'][11:16]}")
    for k, b in bookings.items():
        if k == own or b["status"] not in ("held", "confirmed"):
            continue
        if b["request_id"] == request_id:
            return f"request {request_id} already has booking {k}"
        if b["room_id"] == room_id and b["start"] < q["end"] and q["start"] < b["end"]:
            return f"room {room_id} is booked {b['start'][11:16]}-{b['end'][11:16]}"
    left = facility_hours_left(rooms, groups, requests, bookings, q["group_id"], r["facility_id"], own)
    need_h = session_hours(q)
    if left < need_h:
        return (f"group {q['group_id']} has {max(left, 0):g} h left this week at facility {r['facility_id']}, "
                f"the session needs {need_h:g} h")
    return None


class CampusRoomsEnv:
    """Campus room and lab booking: buildings with walking times, rooms and labs with capacity, equipment,
    step-free access and hazard class; per-group weekly facility quotas; safety inductions; technicians
    who sign off hazardous lab work in their building."""

    MUTATING_TOOLS = ["book_room", "hold_room", "confirm_booking", "change_booking_room", "cancel_booking",
                      "request_equipment_transfer", "add_booking_note"]

    def __init__(self, init_config: dict):
        self.buildings = init_config["buildings"]
        self.walking = init_config["walking"]
        self.facilities = init_config["facilities"]
        self.rooms = init_config["rooms"]
        self.equipment = init_config["equipment"]
        self.groups = init_config["groups"]
        self.inductions = init_config["inductions"]
        self.technicians = init_config["technicians"]
        self.requests = init_config["requests"]
        self.bookings = init_config.get("bookings", {})
        self.transfers = {}
        self.notes = {}
        self.booking_seq = init_config.get("booking_seq", 100)
        self.transfer_lead_h = init_config.get("transfer_lead_h", 72)

    # -- helpers (private) ---------------------------------------------------------------------------
    def _problem(self, request_id, room_id, own=None):
        prob = booking_problem(self.rooms, self.groups, self.inductions, self.technicians, self.equipment,
                               self.requests, self.bookings, request_id, room_id, own)
        if prob is None and _t(self.requests[request_id]["start"]) <= now():
            return f"request {request_id} starts {self.requests[request_id]['start'][11:16]}, already past"
        return prob

    def _room_view(self, rid):
        r = self.rooms[rid]
        eq = sorted((k, e["type"], e["status"]) for k, e in self.equipment.items() if e["room_id"] == rid)
        return {"room_id": rid, **r, "equipment": [{"equipment_id": k, "type": t, "status": s} for k, t, s in eq]}

    def _bview(self, bid):
        b = self.bookings[bid]
        prob = None
        if b["status"] in ("held", "confirmed") and b["request_id"] in self.requests:
            prob = booking_problem(self.rooms, self.groups, self.inductions, self.technicians, self.equipment,
                                   self.requests, self.bookings, b["request_id"], b["room_id"], bid)
        return {"booking_id": bid, **b, "still_valid": prob is None, "issue": prob}

    def _new(self, request_id, room_id, status):
        self.booking_seq += 1
        bid = f"BK-{self.booking_seq}"
        q = self.requests[request_id]
        self.bookings[bid] = {"request_id": request_id, "group_id": q["group_id"], "room_id": room_id,
                              "start": q["start"], "end": q["end"], "status": status,
                              "created_at": now().isoformat()}
        return bid

    def _writable(self, booking_id, states):
        b = self.bookings.get(booking_id)
        if b is None:
            return None, f"booking {booking_id} not found"
        if b["status"] not in states:
            return None, f"booking {booking_id} is {b['status']}"
        if b.get("locked_by"):
            return None, f"booking {booking_id} is locked by the {b['locked_by']}"
        return b, None

    # -- queries ---------------------------------------------------------------------------------------
    def list_buildings(self) -> dict:
        """List campus buildings with their name, position and opening hours."""
        return {"success": True, "data": [{"building_id": k, **v} for k, v in sorted(self.buildings.items())]}

    def get_walking_time(self, from_building_id: str, to_building_id: str) -> dict:
        """Walking minutes between two campus buildings.

        Args:
            from_building_id: Building ID where the walk starts, e.g. "BD-12".
            to_building_id: Building ID where the walk ends.
        """
        for b in (from_building_id, to_building_id):
            if b not in self.buildings:
                return {"success": False, "error": f"building {b} not found"}
        return {"success": True, "data": {"from": from_building_id, "to": to_building_id,
                                          "minutes": self.walking[from_building_id][to_building_id]}}

    def list_rooms(self, building_id: str = "") -> dict:
        """List rooms and labs (optionally in one building) with capacity, access, hazard class and equipment.

        Args:
            building_id: Building ID; empty for the whole campus.
        """
        if building_id and building_id not in self.buildings:
            return {"success": False, "error": f"building {building_id} not found"}
        return {"success": True, "data": [self._room_view(k) for k in sorted(self.rooms)
                                          if not building_id or self.rooms[k]["building_id"] == building_id]}

    def get_room(self, room_id: str) -> dict:
        """Get one room's building, facility, capacity, step-free access, hazard class, status and equipment.

        Args:
            room_id: Room ID, e.g. "RM-204".
        """
        if room_id not in self.rooms:
            return {"success": False, "error": f"room {room_id} not found"}
        return {"success": True, "data": self._room_view(room_id)}

    def list_equipment(self, equipment_type: str = "") -> dict:
        """List movable equipment (optionally of one type) with the room it is in and its status.

        Args:
            equipment_type: Equipment type, e.g. "confocal microscope"; empty for all.
        """
        return {"success": True, "data": [{"equipment_id": k, **e} for k, e in sorted(self.equipment.items())
                                          if not equipment_type or e["type"] == equipment_type]}

    def get_equipment(self, equipment_id: str) -> dict:
        """Get one piece of equipment: type, current room and status.

        Args:
            equipment_id: Equipment ID, e.g. "EQ-310".
        """
        e = self.equipment.get(equipment_id)
        if e is None:
            return {"success": False, "error": f"equipment {equipment_id} not found"}
        return {"success": True, "data": {"equipment_id": equipment_id, **e}}

    def get_group(self, group_id: str) -> dict:
        """Get a research group's home building and its weekly hours per facility (allocated, used, left).

        Args:
            group_id: Group ID, e.g. "GR-41".
        """
        g = self.groups.get(group_id)
        if g is None:
            return {"success": False, "error": f"group {group_id} not found"}
        hours = {f: {"allocated": g["quota_h"].get(f, 0), "used": g["used_h"].get(f, 0),
                     "left": facility_hours_left(self.rooms, self.groups, self.requests, self.bookings, group_id, f)}
                 for f in sorted(self.facilities)}
        return {"success": True, "data": {"group_id": group_id, "name": g["name"], "pi": g["pi"],
                                          "home_building": g["home_building"], "weekly_hours": hours}}

    def list_inductions(self, group_id: str) -> dict:
        """List a group's lab safety inductions (hazard class, status, expiry).

        Args:
            group_id: Group ID.
        """
        if group_id not in self.groups:
            return {"success": False, "error": f"group {group_id} not found"}
        return {"success": True, "data": [{"induction_id": k, **i} for k, i in sorted(self.inductions.items())
                                          if i["group_id"] == group_id]}

    def list_technicians(self, building_id: str = "") -> dict:
        """List lab technicians (optionally in one building): duty status, shift and hazard classes they sign off.

        Args:
            building_id: Building ID; empty for the whole campus.
        """
        if building_id and building_id not in self.buildings:
            return {"success": False, "error": f"building {building_id} not found"}
        return {"success": True, "data": [{"technician_id": k, **t} for k, t in sorted(self.technicians.items())
                                          if not building_id or t["building_id"] == building_id]}

    def get_technician(self, technician_id: str) -> dict:
        """Get one lab technician's building, duty status, shift and sign-off classes.

        Args:
            technician_id: Technician ID, e.g. "TK-31".
        """
        t = self.technicians.get(technician_id)
        if t is None:
            return {"success": False, "error": f"technician {technician_id} not found"}
        return {"success": True, "data": {"technician_id": technician_id, **t}}

    def get_request(self, request_id: str) -> dict:
        """Get a booking request: group, time, attendees, equipment needed and step-free requirement.

        Args:
            request_id: Request ID, e.g. "RQ-5120".
        """
        q = self.requests.get(request_id)
        if q is None:
            return {"success": False, "error": f"request {request_id} not found"}
        return {"success": True, "data": {"request_id": request_id, **q, "hours": session_hours(q)}}

    def check_room(self, request_id: str, room_id: str) -> dict:
        """Whether a room can host a request's session now, with the walk from the group's home building.

        Args:
            request_id: Request ID.
            room_id: Room ID.
        """
        if request_id not in self.requests or room_id not in self.rooms:
            return {"success": False, "error": f"request {request_id} or room {room_id} not found"}
        home = self.groups[self.requests[request_id]["group_id"]]["home_building"]
        prob = self._problem(request_id, room_id)
        return {"success": True, "data": {"request_id": request_id, "room_id": room_id, "ok": prob is None,
                                          "issue": prob,
                                          "walk_min": self.walking[home][self.rooms[room_id]["building_id"]]}}

    def list_bookings(self, request_id: str) -> dict:
        """List the bookings made for a request, with whether each is still valid.

        Args:
            request_id: Request ID.
        """
        if request_id not in self.requests:
            return {"success": False, "error": f"request {request_id} not found"}
        return {"success": True, "data": [self._bview(k) for k, b in self.bookings.items()
                                          if b["request_id"] == request_id]}

    def get_booking(self, booking_id: str) -> dict:
        """Get a booking's room, time, status and whether it is still valid.

        Args:
            booking_id: Booking ID, e.g. "BK-101".
        """
        if booking_id not in self.bookings:
            return {"success": False, "error": f"booking {booking_id} not found"}
        return {"success": True, "data": self._bview(booking_id)}

    # -- state changes ---------------------------------------------------------------------------------
    def book_room(self, request_id: str, room_id: str) -> dict:
        """Book a room for a request's session (confirmed at once).

        Args:
            request_id: Request ID.
            room_id: Room ID.
        """
        prob = self._problem(request_id, room_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._bview(self._new(request_id, room_id, "confirmed"))}

    def hold_room(self, request_id: str, room_id: str) -> dict:
        """Provisionally hold a room for a request's session (counts against the quota until released).

        Args:
            request_id: Request ID.
            room_id: Room ID.
        """
        prob = self._problem(request_id, room_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._bview(self._new(request_id, room_id, "held"))}

    def confirm_booking(self, booking_id: str) -> dict:
        """Confirm a held booking (re-checked on current data).

        Args:
            booking_id: Booking ID.
        """
        b, err = self._writable(booking_id, ("held",))
        if err:
            return {"success": False, "error": err}
        prob = self._problem(b["request_id"], b["room_id"], booking_id)
        if prob:
            return {"success": False, "error": prob}
        b["status"] = "confirmed"
        return {"success": True, "data": self._bview(booking_id)}

    def change_booking_room(self, booking_id: str, room_id: str) -> dict:
        """Move a held or confirmed booking to another room (same session, status kept).

        Args:
            booking_id: Booking ID.
            room_id: The new room.
        """
        b, err = self._writable(booking_id, ("held", "confirmed"))
        if err:
            return {"success": False, "error": err}
        prob = self._problem(b["request_id"], room_id, booking_id)
        if prob:
            return {"success": False, "error": prob}
        b["room_id"] = room_id
        b["updated_at"] = now().isoformat()
        return {"success": True, "data": self._bview(booking_id)}

    def cancel_booking(self, booking_id: str) -> dict:
        """Cancel a booking and release its room and quota hours.

        Args:
            booking_id: Booking ID.
        """
        b, err = self._writable(booking_id, ("held", "confirmed"))
        if err:
            return {"success": False, "error": err}
        b["status"] = "cancelled"
        return {"success": True, "message": f"booking {booking_id} cancelled"}

    def request_equipment_transfer(self, equipment_id: str, to_room_id: str) -> dict:
        """Ask facilities to move a piece of equipment to another lab (done after the transfer lead time).

        Args:
            equipment_id: Equipment ID.
            to_room_id: Lab the equipment should go to.
        """
        e = self.equipment.get(equipment_id)
        if e is None:
            return {"success": False, "error": f"equipment {equipment_id} not found"}
        r = self.rooms.get(to_room_id)
        if r is None or r["kind"] != "lab":
            return {"success": False, "error": f"room {to_room_id} is not a lab"}
        if e["room_id"] == to_room_id:
            return {"success": False, "error": f"equipment {equipment_id} is already in {to_room_id}"}
        tid = f"TR-{len(self.transfers) + 1}"
        self.transfers[tid] = {"equipment_id": equipment_id, "from_room_id": e["room_id"], "to_room_id": to_room_id,
                               "ready_at": (now() + timedelta(hours=self.transfer_lead_h)).isoformat(),
                               "status": "requested"}
        return {"success": True, "data": {"transfer_id": tid, **self.transfers[tid]}}

    def add_booking_note(self, booking_id: str, note: str) -> dict:
        """Attach a note for the building staff to a booking.

        Args:
            booking_id: Booking ID.
            note: Free text, at most 300 characters.
        """
        if booking_id not in self.bookings:
            return {"success": False, "error": f"booking {booking_id} not found"}
        if not note or len(note) > 300:
            return {"success": False, "error": "note must have 1 to 300 characters"}
        self.notes.setdefault(booking_id, []).append(note)
        return {"success": True, "message": "note added"}
