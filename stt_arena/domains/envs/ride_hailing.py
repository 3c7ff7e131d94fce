import math
from datetime import datetime, timedelta


class RideHailingEnv:
    """Ride-hailing fleet zoning: city zones with neighbours and traffic restrictions, drivers with
    positions, pickup points, ride requests with pickup deadlines, and confirmed trips."""

    MUTATING_TOOLS = ["set_pickup_point", "assign_driver", "unassign_driver", "confirm_trip", "cancel_trip",
                      "reposition_driver", "message_rider"]
    MAX_WALK_M = 800

    def __init__(self, init_config: dict):
        self.zones = init_config["zones"]
        self.pickup_points = init_config["pickup_points"]
        self.drivers = init_config["drivers"]
        self.requests = init_config["requests"]
        self.trips = init_config.get("trips", {})

    # -- helpers (private) -------------------------------------------------------------------
    def _km(self, a_lat, a_lon, b_lat, b_lon) -> float:
        p1, p2 = math.radians(a_lat), math.radians(b_lat)
        dp, dl = p2 - p1, math.radians(b_lon - a_lon)
        h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 6371.0 * 2 * math.asin(min(1.0, math.sqrt(h)))

    def _walk_m(self, req: dict, p: dict) -> int:
        return int(round(1000 * self._km(req["rider_lat"], req["rider_lon"], p["lat"], p["lon"])))

    def _eta_min(self, d: dict, p: dict) -> int:
        return int(round(self._km(d["lat"], d["lon"], p["lat"], p["lon"]) * 2.2 + 2))

    def _serve_error(self, rid: str, did: str, pid: str, assigning: bool):
        req, d, p = self.requests[rid], self.drivers.get(did), self.pickup_points.get(pid or "")
        if d is None:
            return f"driver {did} not found", 0
        if p is None:
            return f"request {rid} has no pickup point", 0
        if p["status"] != "active":
            return f"pickup point {pid} is {p['status']}", 0
        pz = self.zones[p["zone"]]
        if pz["status"] != "open":
            return f"zone {p['zone']} is {pz['status']}", 0
        walk = self._walk_m(req, p)
        if walk > self.MAX_WALK_M:
            return f"pickup point {pid} is {walk} m from the rider", 0
        if assigning and d["status"] != "available":
            return f"driver {did} is {d['status']}", 0
        if not assigning and d["status"] != "assigned":
            return f"driver {did} is {d['status']}", 0
        if d["seats"] < req["seats"]:
            return f"driver {did} has {d['seats']} seats, request needs {req['seats']}", 0
        dz = self.zones[d["zone"]]
        if dz["status"] != "open":
            return f"driver {did} is inside zone {d['zone']} ({dz['status']})", 0
        if d["zone"] != p["zone"] and p["zone"] not in dz["neighbors"]:
            return f"driver {did} in zone {d['zone']} does not serve zone {p['zone']}", 0
        for zid in {p["zone"], d["zone"]}:
            if "ev_only" in self.zones[zid]["restrictions"] and d["powertrain"] != "ev":
                return f"zone {zid} is restricted to electric vehicles; driver {did} is {d['powertrain']}", 0
        eta = self._eta_min(d, p)
        due = datetime.fromisoformat(req["pickup_by"])
        if now() + timedelta(minutes=eta) > due:
            return f"driver {did} ETA {eta} min, pickup due by {req['pickup_by']}", 0
        return None, eta

    # -- queries -----------------------------------------------------------------------------
    def get_current_time(self) -> dict:
        """Current local time."""
        return {"success": True, "data": {"now": now().isoformat(timespec="minutes")}}

    def list_zones(self) -> dict:
        """List service zones with centre coordinates, neighbours, status and restrictions."""
        return {"success": True, "data": [dict(z, zone_id=k) for k, z in self.zones.items()]}

    def get_zone(self, zone_id: str) -> dict:
        """Get one zone: centre, radius, neighbouring zones, traffic status and restrictions.

        Args:
            zone_id: Zone ID, e.g. "Z-14".
        """
        z = self.zones.get(zone_id)
        if z is None:
            return {"success": False, "error": f"zone {zone_id} not found"}
        return {"success": True, "data": dict(z, zone_id=zone_id)}

    def list_drivers(self, zone_id: str = "", status: str = "") -> dict:
        """List drivers with vehicle, powertrain, seats, fare class, zone, position and status.

        Args:
            zone_id: Only drivers in this zone (empty for all).
            status: Only this status, e.g. "available" (empty for all).
        """
        rows = [dict(d, driver_id=k) for k, d in self.drivers.items()
                if (not zone_id or d["zone"] == zone_id) and (not status or d["status"] == status)]
        return {"success": True, "data": rows}

    def get_driver(self, driver_id: str) -> dict:
        """Get one driver.

        Args:
            driver_id: Driver ID, e.g. "DRV-4471".
        """
        d = self.drivers.get(driver_id)
        if d is None:
            return {"success": False, "error": f"driver {driver_id} not found"}
        return {"success": True, "data": dict(d, driver_id=driver_id)}

    def get_ride_request(self, request_id: str) -> dict:
        """Get a ride request: rider, seats, rider position, pickup point, pickup deadline, driver, status.

        Args:
            request_id: Request ID, e.g. "REQ-88120".
        """
        r = self.requests.get(request_id)
        if r is None:
            return {"success": False, "error": f"request {request_id} not found"}
        return {"success": True, "data": dict(r, request_id=request_id)}

    def list_ride_requests(self, status: str = "") -> dict:
        """List ride requests.

        Args:
            status: Only this status: "open", "assigned", "confirmed", "cancelled" (empty for all).
        """
        rows = [{"request_id": k, "rider": r["rider"], "seats": r["seats"], "pickup_point": r["pickup_point"],
                 "status": r["status"]} for k, r in self.requests.items() if not status or r["status"] == status]
        return {"success": True, "data": rows}

    def list_pickup_points(self, request_id: str) -> dict:
        """List pickup points within 1.5 km of a request's rider, with zone, status and walking distance.

        Args:
            request_id: Request ID.
        """
        r = self.requests.get(request_id)
        if r is None:
            return {"success": False, "error": f"request {request_id} not found"}
        rows = []
        for k, p in self.pickup_points.items():
            walk = self._walk_m(r, p)
            if walk <= 1500:
                rows.append(dict(p, pickup_point_id=k, walk_m=walk))
        rows.sort(key=lambda x: x["pickup_point_id"])
        return {"success": True, "data": rows}

    def get_pickup_point(self, pickup_point_id: str) -> dict:
        """Get one pickup point: label, zone, coordinates and status.

        Args:
            pickup_point_id: Pickup point ID, e.g. "PP-312".
        """
        p = self.pickup_points.get(pickup_point_id)
        if p is None:
            return {"success": False, "error": f"pickup point {pickup_point_id} not found"}
        return {"success": True, "data": dict(p, pickup_point_id=pickup_point_id)}

    def estimate_pickup(self, driver_id: str, pickup_point_id: str) -> dict:
        """Driving distance and ETA of a driver to a pickup point.

        Args:
            driver_id: Driver ID.
            pickup_point_id: Pickup point ID.
        """
        d, p = self.drivers.get(driver_id), self.pickup_points.get(pickup_point_id)
        if d is None or p is None:
            return {"success": False, "error": "unknown driver or pickup point"}
        km = self._km(d["lat"], d["lon"], p["lat"], p["lon"])
        eta = self._eta_min(d, p)
        return {"success": True, "data": {"distance_km": round(km, 2), "eta_min": eta,
                                          "arrival": (now() + timedelta(minutes=eta)).isoformat(timespec="minutes"),
                                          "driver_zone": d["zone"], "pickup_zone": p["zone"]}}

    def get_trip(self, trip_id: str) -> dict:
        """Get a trip: request, driver, pickup point, pickup ETA and status.

        Args:
            trip_id: Trip ID, e.g. "TRP-88120".
        """
        t = self.trips.get(trip_id)
        if t is None:
            return {"success": False, "error": f"trip {trip_id} not found"}
        return {"success": True, "data": dict(t, trip_id=trip_id)}

    # -- state changes -----------------------------------------------------------------------
    def set_pickup_point(self, request_id: str, pickup_point_id: str) -> dict:
        """Set the pickup point of a request that is not confirmed yet.

        Args:
            request_id: Request ID.
            pickup_point_id: Pickup point ID.
        """
        r, p = self.requests.get(request_id), self.pickup_points.get(pickup_point_id)
        if r is None or p is None:
            return {"success": False, "error": "unknown request or pickup point"}
        if r["status"] not in ("open", "assigned"):
            return {"success": False, "error": f"request {request_id} is {r['status']}"}
        if p["status"] != "active":
            return {"success": False, "error": f"pickup point {pickup_point_id} is {p['status']}"}
        pz = self.zones.get(p["zone"]) or {}
        if pz.get("status") != "open":
            return {"success": False, "error": f"zone {p['zone']} is {pz.get('status')}"}
        walk = self._walk_m(r, p)
        if walk > self.MAX_WALK_M:
            return {"success": False, "error": f"pickup point {pickup_point_id} is {walk} m from the rider"}
        r["pickup_point"] = pickup_point_id
        return {"success": True, "data": {"request_id": request_id, "pickup_point": pickup_point_id, "walk_m": walk}}

    def assign_driver(self, request_id: str, driver_id: str) -> dict:
        """Assign an available driver to an open request (the request needs a pickup point).

        Args:
            request_id: Request ID.
            driver_id: Driver ID.
        """
        r = self.requests.get(request_id)
        if r is None:
            return {"success": False, "error": f"request {request_id} not found"}
        if r["status"] != "open":
            return {"success": False, "error": f"request {request_id} is {r['status']}"}
        err, eta = self._serve_error(request_id, driver_id, r["pickup_point"], True)
        if err:
            return {"success": False, "error": err}
        d = self.drivers[driver_id]
        d["status"], d["request"] = "assigned", request_id
        r.update(driver=driver_id, status="assigned", fare_class=d["fare_class"])
        return {"success": True, "data": {"request_id": request_id, "driver": driver_id, "eta_min": eta,
                                          "fare_class": d["fare_class"]}}

    def unassign_driver(self, request_id: str) -> dict:
        """Remove the driver from an assigned (not yet confirmed) request.

        Args:
            request_id: Request ID.
        """
        r = self.requests.get(request_id)
        if r is None or r["status"] != "assigned":
            return {"success": False, "error": f"request {request_id} has no unconfirmed driver"}
        d = self.drivers.get(r["driver"])
        if d is not None:
            d["request"] = None
            if d["status"] == "assigned":
                d["status"] = "available"
        r.update(driver=None, status="open")
        return {"success": True, "message": f"driver removed from {request_id}"}

    def confirm_trip(self, request_id: str) -> dict:
        """Confirm the trip of an assigned request: the driver starts driving to the pickup point.

        Args:
            request_id: Request ID.
        """
        r = self.requests.get(request_id)
        if r is None:
            return {"success": False, "error": f"request {request_id} not found"}
        if r["status"] != "assigned":
            return {"success": False, "error": f"request {request_id} is {r['status']}"}
        err, eta = self._serve_error(request_id, r["driver"], r["pickup_point"], False)
        if err:
            return {"success": False, "error": err}
        tid = f"TRP-{request_id.split('-')[-1]}"
        old = self.trips.get(tid)
        if old is not None and old["status"] != "cancelled":
            return {"success": False, "error": f"trip {tid} is {old['status']}"}
        self.drivers[r["driver"]]["status"] = "en_route"
        r["status"] = "confirmed"
        self.trips[tid] = {"request_id": request_id, "driver_id": r["driver"], "pickup_point": r["pickup_point"],
                           "pickup_eta": (now() + timedelta(minutes=eta)).isoformat(timespec="minutes"),
                           "fare_class": r["fare_class"], "status": "confirmed"}
        return {"success": True, "data": {"trip_id": tid, "pickup_eta": self.trips[tid]["pickup_eta"]}}

    def cancel_trip(self, trip_id: str) -> dict:
        """Cancel a trip; its request goes back to open (pickup point kept, driver released).

        Args:
            trip_id: Trip ID.
        """
        t = self.trips.get(trip_id)
        if t is None or t["status"] == "cancelled":
            return {"success": False, "error": f"no active trip {trip_id}"}
        t["status"] = "cancelled"
        d = self.drivers.get(t["driver_id"])
        if d is not None:
            d["request"] = None
            if d["status"] == "en_route":
                d["status"] = "available"
        r = self.requests[t["request_id"]]
        r.update(driver=None, status="open")
        return {"success": True, "message": f"{trip_id} cancelled"}

    def reposition_driver(self, driver_id: str, zone_id: str) -> dict:
        """Send an available driver to the centre of another zone (unavailable until arrival).

        Args:
            driver_id: Driver ID.
            zone_id: Target zone ID.
        """
        d, z = self.drivers.get(driver_id), self.zones.get(zone_id)
        if d is None or z is None:
            return {"success": False, "error": "unknown driver or zone"}
        if d["status"] != "available":
            return {"success": False, "error": f"driver {driver_id} is {d['status']}"}
        if z["status"] != "open":
            return {"success": False, "error": f"zone {zone_id} is {z['status']}"}
        mins = int(round(self._km(d["lat"], d["lon"], z["lat"], z["lon"]) * 2.2 + 10))
        d.update(status="repositioning", zone=zone_id, lat=z["lat"], lon=z["lon"],
                 available_from=(now() + timedelta(minutes=mins)).isoformat(timespec="minutes"))
        return {"success": True, "data": {"driver_id": driver_id, "available_from": d["available_from"]}}

    def message_rider(self, request_id: str, text: str) -> dict:
        """Send an in-app message to the rider of a request.

        Args:
            request_id: Request ID.
            text: Message text.
        """
        r = self.requests.get(request_id)
        if r is None:
            return {"success": False, "error": f"request {request_id} not found"}
        if not str(text).strip():
            return {"success": False, "error": "empty message"}
        r.setdefault("messages", []).append({"at": now().isoformat(timespec="minutes"), "text": str(text)[:300]})
        return {"success": True, "message": "sent"}
