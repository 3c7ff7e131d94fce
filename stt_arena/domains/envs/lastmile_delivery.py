from datetime import datetime


def _t(iso):
    return datetime.fromisoformat(iso)


# -- shared with the checklist (domains.kit.env_functions): pure functions over the JSON state ---------
def _min(iso):
    return int(iso[11:13]) * 60 + int(iso[14:16])


def _clock(m):
    return f"{m // 60:02d}:{m % 60:02d}"


def drop_window(stops, points, dest_id):
    """(zone, earliest, latest end, service minutes) of a destination: a customer stop or a pickup point."""
    if dest_id in stops:
        s = stops[dest_id]
        return s["zone"], _min(s["window_start"]), _min(s["window_end"]), s["service_min"]
    p = points[dest_id]
    return p["zone"], _min(p["opens"]), _min(p["closes"]), p["service_min"]


def eta_min(depots, vans, stops, points, travel, van_id, dest_id):
    """Arrival of a van at a destination (minutes after midnight): departure from its depot plus the
    zone-to-zone travel time, not before the destination accepts drops."""
    v = vans[van_id]
    zone, start, _, _ = drop_window(stops, points, dest_id)
    return max(_min(v["departs"]) + travel[depots[v["depot"]]["zone"]][zone], start)


def delivery_problem(depots, vans, parcels, stops, points, travel, deliveries, parcel_id, van_id, dest_id,
                     own=None):
    """Why this van cannot deliver this parcel to this destination now (None when it can). ``own``: the
    delivery being changed (its own stop and locker do not count against the van or the point)."""
    p, v = parcels.get(parcel_id), vans.get(van_id)
    if p is None:
        return f"parcel {parcel_id} not found"
    if v is None:
        return f"van {van_id} not found"
    if dest_id not in stops and dest_id not in points:
        return f"destination {dest_id} not found"
    if dest_id in stops and dest_id != p["stop_id"]:
        return f"parcel {parcel_id} is addressed to stop {p['stop_id']}, not {dest_id}"
    if v["status"] != "active":
        return f"van {van_id} is {v['status']}"
    if p["depot"] != v["depot"]:
        return f"parcel {parcel_id} is at depot {p['depot']}; van {van_id} loads at depot {v['depot']}"
    active = [k for k, d in deliveries.items() if d["status"] in ("planned", "dispatched") and k != own]
    mine = [k for k in active if deliveries[k]["van_id"] == van_id]
    if v["load"] + len(mine) >= v["capacity"]:
        return f"van {van_id} is full ({v['capacity']} parcels)"
    if v["stops_planned"] + len(mine) >= v["stop_quota"]:
        return f"van {van_id} has reached its daily stop quota ({v['stop_quota']} stops)"
    if dest_id in points:
        if points[dest_id]["status"] != "open":
            return f"pickup point {dest_id} is {points[dest_id]['status']}"
        used = len([k for k in active if deliveries[k]["dest_id"] == dest_id])
        if used >= points[dest_id]["free_lockers"]:
            return f"pickup point {dest_id} has no free locker"
    _, _, end, svc = drop_window(stops, points, dest_id)
    eta = eta_min(depots, vans, stops, points, travel, van_id, dest_id)
    if eta + svc > end:
        return f"van {van_id} reaches {dest_id} at {_clock(eta)}; the {svc} min drop must end by {_clock(end)}"
    if eta + svc > _min(v["shift_end"]):
        return (f"the driver of van {van_id} ends the shift at {v['shift_end'][11:16]}; the drop at {dest_id} "
                f"would end at {_clock(eta + svc)}")
    return None


class LastmileDeliveryEnv:
    """Last-mile parcel delivery: vans loading at depots, customer stops with delivery windows in zones,
    zone-to-zone travel times, pickup points with lockers."""

    MUTATING_TOOLS = ["assign_delivery", "plan_delivery", "dispatch_delivery", "reassign_delivery",
                      "redirect_delivery", "cancel_delivery", "add_delivery_note"]

    def __init__(self, init_config: dict):
        self.zones = init_config["zones"]
        self.travel = init_config["travel"]
        self.depots = init_config["depots"]
        self.vans = init_config["vans"]
        self.stops = init_config["stops"]
        self.points = init_config["points"]
        self.parcels = init_config["parcels"]
        self.deliveries = init_config.get("deliveries", {})
        self.notes = {}
        self.delivery_seq = init_config.get("delivery_seq", 100)

    # -- helpers (private) ---------------------------------------------------------------------------
    def _problem(self, parcel_id, van_id, dest_id, own=None):
        return delivery_problem(self.depots, self.vans, self.parcels, self.stops, self.points, self.travel,
                                self.deliveries, parcel_id, van_id, dest_id, own)

    def _eta(self, van_id, dest_id):
        m = eta_min(self.depots, self.vans, self.stops, self.points, self.travel, van_id, dest_id)
        return self.vans[van_id]["departs"][:11] + _clock(m) + ":00"

    def _vanview(self, van_id):
        v = self.vans[van_id]
        mine = [d for d in self.deliveries.values() if d["van_id"] == van_id and d["status"] in ("planned", "dispatched")]
        return {"van_id": van_id, **v, "stops_today": v["stops_planned"] + len(mine),
                "parcels_on_board": v["load"] + len(mine)}

    def _dview(self, did):
        d = self.deliveries[did]
        prob = None
        if d["status"] in ("planned", "dispatched"):
            prob = self._problem(d["parcel_id"], d["van_id"], d["dest_id"], did)
        return {"delivery_id": did, **d, "still_feasible": prob is None, "issue": prob}

    def _new(self, parcel_id, van_id, dest_id, status):
        self.delivery_seq += 1
        did = f"DL-{self.delivery_seq}"
        self.deliveries[did] = {"parcel_id": parcel_id, "van_id": van_id, "dest_id": dest_id, "status": status,
                                "eta": self._eta(van_id, dest_id), "rate": self.vans[van_id]["per_drop_rate"],
                                "created_at": now().isoformat()}
        return did

    def _active_for(self, parcel_id):
        return [k for k, d in self.deliveries.items()
                if d["parcel_id"] == parcel_id and d["status"] in ("planned", "dispatched")]

    def _open(self, parcel_id, van_id, dest_id):
        """Rule every new delivery passes: one active delivery per parcel, then the routing rule."""
        if parcel_id in self.parcels and self._active_for(parcel_id):
            return f"parcel {parcel_id} already has active delivery {self._active_for(parcel_id)[0]}"
        return self._problem(parcel_id, van_id, dest_id)

    # -- queries ---------------------------------------------------------------------------------------
    def list_depots(self) -> dict:
        """List depots with their zone and opening status."""
        return {"success": True, "data": [{"depot_id": k, **v} for k, v in sorted(self.depots.items())]}

    def get_depot(self, depot_id: str) -> dict:
        """Get one depot's name, zone and status.

        Args:
            depot_id: Depot ID, e.g. "DP-21".
        """
        d = self.depots.get(depot_id)
        if d is None:
            return {"success": False, "error": f"depot {depot_id} not found"}
        return {"success": True, "data": {"depot_id": depot_id, **d}}

    def list_vans(self, depot_id: str = "") -> dict:
        """List vans with depot, departure, driver shift end, capacity, stop quota and per-drop rate.

        Args:
            depot_id: Only vans loading at this depot; empty for every van.
        """
        if depot_id and depot_id not in self.depots:
            return {"success": False, "error": f"depot {depot_id} not found"}
        return {"success": True, "data": [self._vanview(k) for k, v in sorted(self.vans.items())
                                          if not depot_id or v["depot"] == depot_id]}

    def get_van(self, van_id: str) -> dict:
        """Get one van: depot, departure time, driver and shift end, capacity, stop quota, rate.

        Args:
            van_id: Van ID, e.g. "VN-412".
        """
        if van_id not in self.vans:
            return {"success": False, "error": f"van {van_id} not found"}
        return {"success": True, "data": self._vanview(van_id)}

    def list_parcels(self, depot_id: str = "") -> dict:
        """List parcels with the depot they are at and the stop they are addressed to.

        Args:
            depot_id: Only parcels at this depot; empty for every parcel.
        """
        if depot_id and depot_id not in self.depots:
            return {"success": False, "error": f"depot {depot_id} not found"}
        return {"success": True, "data": [{"parcel_id": k, **p} for k, p in sorted(self.parcels.items())
                                          if not depot_id or p["depot"] == depot_id]}

    def get_parcel(self, parcel_id: str) -> dict:
        """Get a parcel's current depot, addressee stop, weight and service level.

        Args:
            parcel_id: Parcel ID, e.g. "PC-48213".
        """
        p = self.parcels.get(parcel_id)
        if p is None:
            return {"success": False, "error": f"parcel {parcel_id} not found"}
        return {"success": True, "data": {"parcel_id": parcel_id, **p}}

    def list_stops(self) -> dict:
        """List customer stops with address, zone and delivery window."""
        return {"success": True, "data": [{"stop_id": k, **s} for k, s in sorted(self.stops.items())]}

    def get_stop(self, stop_id: str) -> dict:
        """Get a customer stop's address, zone, delivery window and drop time.

        Args:
            stop_id: Stop ID, e.g. "SP-305".
        """
        s = self.stops.get(stop_id)
        if s is None:
            return {"success": False, "error": f"stop {stop_id} not found"}
        return {"success": True, "data": {"stop_id": stop_id, **s}}

    def list_pickup_points(self, zone_id: str = "") -> dict:
        """List pickup points (parcel lockers) with zone, opening hours and free lockers.

        Args:
            zone_id: Only points in this zone; empty for every point.
        """
        return {"success": True, "data": [{"point_id": k, **p} for k, p in sorted(self.points.items())
                                          if not zone_id or p["zone"] == zone_id]}

    def get_travel_time(self, from_zone: str, to_zone: str) -> dict:
        """Driving minutes from one zone to another.

        Args:
            from_zone: Zone ID, e.g. "ZN-14".
            to_zone: Zone ID.
        """
        if from_zone not in self.travel or to_zone not in self.travel:
            return {"success": False, "error": f"zone {from_zone} or {to_zone} not found"}
        return {"success": True, "data": {"from_zone": from_zone, "to_zone": to_zone,
                                          "minutes": self.travel[from_zone][to_zone]}}

    def check_eta(self, parcel_id: str, van_id: str, destination_id: str) -> dict:
        """Arrival time of a van at a destination and whether the drop fits (window, shift, capacity, quota).

        Args:
            parcel_id: Parcel ID.
            van_id: Van ID.
            destination_id: The parcel's stop ID or a pickup point ID.
        """
        prob = self._problem(parcel_id, van_id, destination_id)
        if parcel_id not in self.parcels or van_id not in self.vans or (
                destination_id not in self.stops and destination_id not in self.points):
            return {"success": False, "error": prob}
        return {"success": True, "data": {"eta": self._eta(van_id, destination_id), "feasible": prob is None,
                                          "issue": prob}}

    def list_deliveries(self, parcel_id: str = "") -> dict:
        """List deliveries (optionally of one parcel) with whether each still fits.

        Args:
            parcel_id: Only this parcel's deliveries; empty for all.
        """
        return {"success": True, "data": [self._dview(k) for k, d in self.deliveries.items()
                                          if not parcel_id or d["parcel_id"] == parcel_id]}

    def get_delivery(self, delivery_id: str) -> dict:
        """Get a delivery's parcel, van, destination, ETA, status and whether it still fits.

        Args:
            delivery_id: Delivery ID, e.g. "DL-341".
        """
        if delivery_id not in self.deliveries:
            return {"success": False, "error": f"delivery {delivery_id} not found"}
        return {"success": True, "data": self._dview(delivery_id)}

    # -- state changes ---------------------------------------------------------------------------------
    def assign_delivery(self, parcel_id: str, van_id: str, destination_id: str) -> dict:
        """Put a parcel on a van's route and dispatch it at once (a dispatched delivery).

        Args:
            parcel_id: Parcel ID.
            van_id: Van ID.
            destination_id: The parcel's stop ID (door delivery) or a pickup point ID.
        """
        prob = self._open(parcel_id, van_id, destination_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._dview(self._new(parcel_id, van_id, destination_id, "dispatched"))}

    def plan_delivery(self, parcel_id: str, van_id: str, destination_id: str) -> dict:
        """Add a parcel to a van's draft route (planned, not yet dispatched).

        Args:
            parcel_id: Parcel ID.
            van_id: Van ID.
            destination_id: The parcel's stop ID (door delivery) or a pickup point ID.
        """
        prob = self._open(parcel_id, van_id, destination_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._dview(self._new(parcel_id, van_id, destination_id, "planned"))}

    def dispatch_delivery(self, delivery_id: str) -> dict:
        """Dispatch a planned delivery (re-checked on current data).

        Args:
            delivery_id: Delivery ID.
        """
        d = self.deliveries.get(delivery_id)
        if d is None:
            return {"success": False, "error": f"delivery {delivery_id} not found"}
        if d["status"] != "planned":
            return {"success": False, "error": f"delivery {delivery_id} is {d['status']}"}
        prob = self._problem(d["parcel_id"], d["van_id"], d["dest_id"], delivery_id)
        if prob:
            return {"success": False, "error": prob}
        d["status"] = "dispatched"
        d["eta"] = self._eta(d["van_id"], d["dest_id"])
        return {"success": True, "data": self._dview(delivery_id)}

    def reassign_delivery(self, delivery_id: str, van_id: str) -> dict:
        """Move a planned or dispatched delivery to another van (status kept).

        Args:
            delivery_id: Delivery ID.
            van_id: The new van.
        """
        d = self.deliveries.get(delivery_id)
        if d is None:
            return {"success": False, "error": f"delivery {delivery_id} not found"}
        if d["status"] not in ("planned", "dispatched"):
            return {"success": False, "error": f"delivery {delivery_id} is {d['status']}"}
        prob = self._problem(d["parcel_id"], van_id, d["dest_id"], delivery_id)
        if prob:
            return {"success": False, "error": prob}
        d["van_id"] = van_id
        d["eta"] = self._eta(van_id, d["dest_id"])
        d["rate"] = self.vans[van_id]["per_drop_rate"]
        d["updated_at"] = now().isoformat()
        return {"success": True, "data": self._dview(delivery_id)}

    def redirect_delivery(self, delivery_id: str, destination_id: str) -> dict:
        """Send a planned or dispatched delivery to another destination (the parcel's stop or a pickup point).

        Args:
            delivery_id: Delivery ID.
            destination_id: The parcel's stop ID or a pickup point ID.
        """
        d = self.deliveries.get(delivery_id)
        if d is None:
            return {"success": False, "error": f"delivery {delivery_id} not found"}
        if d["status"] not in ("planned", "dispatched"):
            return {"success": False, "error": f"delivery {delivery_id} is {d['status']}"}
        prob = self._problem(d["parcel_id"], d["van_id"], destination_id, delivery_id)
        if prob:
            return {"success": False, "error": prob}
        d["dest_id"] = destination_id
        d["eta"] = self._eta(d["van_id"], destination_id)
        d["updated_at"] = now().isoformat()
        return {"success": True, "data": self._dview(delivery_id)}

    def cancel_delivery(self, delivery_id: str) -> dict:
        """Cancel a delivery; the parcel stays at its depot.

        Args:
            delivery_id: Delivery ID.
        """
        d = self.deliveries.get(delivery_id)
        if d is None:
            return {"success": False, "error": f"delivery {delivery_id} not found"}
        if d["status"] == "cancelled":
            return {"success": False, "error": f"delivery {delivery_id} is already cancelled"}
        d["status"] = "cancelled"
        return {"success": True, "message": f"delivery {delivery_id} cancelled"}

    def add_delivery_note(self, parcel_id: str, note: str) -> dict:
        """Attach a note for the driver to a parcel (door code, safe place).

        Args:
            parcel_id: Parcel ID.
            note: Free text, at most 300 characters.
        """
        if parcel_id not in self.parcels:
            return {"success": False, "error": f"parcel {parcel_id} not found"}
        if not note or len(note) > 300:
            return {"success": False, "error": "note must have 1 to 300 characters"}
        self.notes.setdefault(parcel_id, []).append(note)
        return {"success": True, "message": "note added"}
