import math
from datetime import datetime, timedelta


class ParcelLockerEnv:
    """Last-mile parcel delivery into smart lockers: compartment reservations, couriers, delivery runs."""

    MUTATING_TOOLS = ["reserve_compartment", "release_reservation", "assign_courier", "unassign_courier",
                      "schedule_delivery", "cancel_delivery", "extend_hold"]

    def __init__(self, init_config: dict):
        self.depot = init_config["depot"]
        self.lockers = init_config["lockers"]
        self.parcels = init_config["parcels"]
        self.couriers = init_config["couriers"]
        self.reservations = init_config.get("reservations", {})
        self.deliveries = init_config.get("deliveries", {})
        self.hold_minutes = init_config.get("hold_minutes", 45)

    # -- helpers -----------------------------------------------------------------------------
    def _km(self, lat, lon):
        p1, p2 = math.radians(self.depot["lat"]), math.radians(lat)
        dp, dl = p2 - p1, math.radians(lon - self.depot["lon"])
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * 6371.0 * math.asin(math.sqrt(a))

    def _minutes_to(self, locker_id):
        lk = self.lockers[locker_id]
        if "drive_min" in lk:
            return lk["drive_min"]
        return int(round(self._km(lk["lat"], lk["lon"]) * 2.2 + 8))

    def _open_at(self, locker_id, t):
        lk = self.lockers[locker_id]
        hhmm = t.strftime("%H:%M")
        return lk["status"] == "online" and lk["open_from"] <= hhmm <= lk["open_until"]

    # -- queries ---------------------------------------------------------------------------
    def get_current_time(self) -> dict:
        """Current local time."""
        return {"success": True, "data": {"now": now().isoformat()}}

    def list_lockers(self, district: str = "") -> dict:
        """List lockers with status, district and free compartments.

        Args:
            district: Only lockers in this district (empty for all).
        """
        rows = []
        for lid, lk in self.lockers.items():
            if district and lk["district"] != district:
                continue
            rows.append({"locker_id": lid, "name": lk["name"], "district": lk["district"], "status": lk["status"],
                         "same_day": lk.get("same_day", "open"), "free": lk["free"],
                         "open": f"{lk['open_from']}-{lk['open_until']}", "drive_min": self._minutes_to(lid)})
        return {"success": True, "data": rows}

    def get_locker(self, locker_id: str) -> dict:
        """Get one locker: location, opening hours, status and free compartments by size.

        Args:
            locker_id: Locker ID, e.g. "LK-104".
        """
        lk = self.lockers.get(locker_id)
        if lk is None:
            return {"success": False, "error": f"locker {locker_id} not found"}
        return {"success": True, "data": dict(lk, locker_id=locker_id)}

    def estimate_travel(self, locker_id: str) -> dict:
        """Driving minutes from the depot to a locker.

        Args:
            locker_id: Locker ID.
        """
        if locker_id not in self.lockers:
            return {"success": False, "error": f"locker {locker_id} not found"}
        lk = self.lockers[locker_id]
        return {"success": True, "data": {"locker_id": locker_id, "km": round(self._km(lk["lat"], lk["lon"]), 1),
                                          "minutes": self._minutes_to(locker_id)}}

    def get_parcel(self, parcel_id: str) -> dict:
        """Get a parcel: recipient, size, status, assigned courier and reservation.

        Args:
            parcel_id: Parcel ID, e.g. "PX-58213".
        """
        p = self.parcels.get(parcel_id)
        if p is None:
            return {"success": False, "error": f"parcel {parcel_id} not found"}
        return {"success": True, "data": dict(p, parcel_id=parcel_id)}

    def list_parcels(self, recipient: str = "") -> dict:
        """List parcels at the depot.

        Args:
            recipient: Only parcels for this recipient (empty for all).
        """
        rows = [dict(p, parcel_id=k) for k, p in self.parcels.items() if not recipient or p["recipient"] == recipient]
        return {"success": True, "data": rows}

    def get_courier(self, courier_id: str) -> dict:
        """Get a courier: zone, duty status, shift end, van status and load.

        Args:
            courier_id: Courier ID.
        """
        c = self.couriers.get(courier_id)
        if c is None:
            return {"success": False, "error": f"courier {courier_id} not found"}
        return {"success": True, "data": dict(c, courier_id=courier_id)}

    def list_couriers(self, zone: str = "") -> dict:
        """List couriers with their zone, duty status and free van capacity.

        Args:
            zone: Only couriers serving this zone (empty for all).
        """
        rows = [{"courier_id": k, "name": c["name"], "zone": c["zone"], "status": c["status"],
                 "van": c["van"], "free_capacity": c["capacity"] - c["load"], "carrier": c["carrier"]}
                for k, c in self.couriers.items() if not zone or c["zone"] == zone]
        return {"success": True, "data": rows}

    def get_reservation(self, reservation_id: str) -> dict:
        """Get a compartment reservation and its hold expiry.

        Args:
            reservation_id: Reservation ID.
        """
        r = self.reservations.get(reservation_id)
        if r is None:
            return {"success": False, "error": f"reservation {reservation_id} not found"}
        return {"success": True, "data": dict(r, reservation_id=reservation_id)}

    def get_delivery(self, delivery_id: str) -> dict:
        """Get a delivery run: parcel, courier, locker, ETA and status.

        Args:
            delivery_id: Delivery ID.
        """
        d = self.deliveries.get(delivery_id)
        if d is None:
            return {"success": False, "error": f"delivery {delivery_id} not found"}
        lk, c = self.lockers[d["locker_id"]], self.couriers[d["courier_id"]]
        return {"success": True, "data": dict(d, delivery_id=delivery_id, locker_status=lk["status"],
                                              locker_open_until=lk["open_until"], courier_status=c["status"],
                                              van=c["van"])}

    # -- state changes ---------------------------------------------------------------------
    def reserve_compartment(self, parcel_id: str, locker_id: str) -> dict:
        """Hold a compartment of the parcel's size in a locker (held for a limited time).

        Args:
            parcel_id: Parcel ID.
            locker_id: Locker ID.
        """
        p, lk = self.parcels.get(parcel_id), self.lockers.get(locker_id)
        if p is None or lk is None:
            return {"success": False, "error": "unknown parcel or locker"}
        if lk["status"] != "online":
            return {"success": False, "error": f"locker {locker_id} is {lk['status']}"}
        if lk.get("same_day", "open") != "open":
            return {"success": False, "error": f"same-day reservations at {locker_id} are {lk['same_day']}"}
        for r in self.reservations.values():
            if r["parcel_id"] == parcel_id and r["status"] == "held":
                return {"success": False, "error": f"parcel {parcel_id} already holds {r['locker_id']}"}
        if lk["free"].get(p["size"], 0) <= 0:
            return {"success": False, "error": f"no free {p['size']} compartment in {locker_id}"}
        lk["free"][p["size"]] -= 1
        rid = f"RSV-{parcel_id}-{locker_id}"
        expires = now() + timedelta(minutes=self.hold_minutes)
        self.reservations[rid] = {"parcel_id": parcel_id, "locker_id": locker_id, "size": p["size"],
                                  "status": "held", "expires_at": expires.isoformat(timespec="minutes")}
        p["reservation"] = rid
        return {"success": True, "data": {"reservation_id": rid, "expires_at": self.reservations[rid]["expires_at"]}}

    def release_reservation(self, reservation_id: str) -> dict:
        """Release a held or lapsed reservation.

        Args:
            reservation_id: Reservation ID.
        """
        r = self.reservations.get(reservation_id)
        if r is None or r["status"] == "released":
            return {"success": False, "error": f"no active reservation {reservation_id}"}
        if r["status"] == "held":
            self.lockers[r["locker_id"]]["free"][r["size"]] += 1
        r["status"] = "released"
        if self.parcels[r["parcel_id"]].get("reservation") == reservation_id:
            self.parcels[r["parcel_id"]]["reservation"] = None
        return {"success": True, "message": f"{reservation_id} released"}

    def extend_hold(self, reservation_id: str, minutes: int) -> dict:
        """Extend a held reservation (at most 60 minutes in total beyond the original hold).

        Args:
            reservation_id: Reservation ID.
            minutes: Extra minutes (1-30).
        """
        r = self.reservations.get(reservation_id)
        if r is None or r["status"] != "held":
            return {"success": False, "error": f"reservation {reservation_id} is not held"}
        if not 1 <= minutes <= 30 or r.get("extended", 0) + minutes > 60:
            return {"success": False, "error": "extension out of range"}
        exp = datetime.fromisoformat(r["expires_at"]) + timedelta(minutes=minutes)
        r["expires_at"], r["extended"] = exp.isoformat(timespec="minutes"), r.get("extended", 0) + minutes
        return {"success": True, "data": {"expires_at": r["expires_at"]}}

    def assign_courier(self, parcel_id: str, courier_id: str) -> dict:
        """Hand a parcel to a courier's van (replaces an earlier assignment).

        Args:
            parcel_id: Parcel ID.
            courier_id: Courier ID.
        """
        p, c = self.parcels.get(parcel_id), self.couriers.get(courier_id)
        if p is None or c is None:
            return {"success": False, "error": "unknown parcel or courier"}
        if c["status"] != "on_duty":
            return {"success": False, "error": f"courier {courier_id} is {c['status']}"}
        if c["load"] >= c["capacity"]:
            return {"success": False, "error": f"van of {courier_id} is full"}
        if p.get("courier"):
            self.couriers[p["courier"]]["load"] -= 1
        c["load"] += 1
        p["courier"] = courier_id
        return {"success": True, "message": f"{parcel_id} assigned to {courier_id}"}

    def unassign_courier(self, parcel_id: str) -> dict:
        """Take a parcel back from its courier.

        Args:
            parcel_id: Parcel ID.
        """
        p = self.parcels.get(parcel_id)
        if p is None or not p.get("courier"):
            return {"success": False, "error": f"parcel {parcel_id} has no courier"}
        self.couriers[p["courier"]]["load"] -= 1
        p["courier"] = None
        return {"success": True, "message": f"{parcel_id} unassigned"}

    def schedule_delivery(self, parcel_id: str, reservation_id: str) -> dict:
        """Schedule the assigned courier to drop the parcel into its reserved compartment.

        Args:
            parcel_id: Parcel ID.
            reservation_id: Held reservation for this parcel.
        """
        p, r = self.parcels.get(parcel_id), self.reservations.get(reservation_id)
        if p is None or r is None or r["parcel_id"] != parcel_id:
            return {"success": False, "error": "unknown parcel or reservation"}
        if r["status"] != "held":
            return {"success": False, "error": f"reservation {reservation_id} is {r['status']}"}
        if now() > datetime.fromisoformat(r["expires_at"]):
            return {"success": False, "error": f"reservation {reservation_id} expired at {r['expires_at']}"}
        lid = r["locker_id"]
        if self.lockers[lid]["status"] != "online":
            return {"success": False, "error": f"locker {lid} is {self.lockers[lid]['status']}"}
        cid = p.get("courier")
        if not cid:
            return {"success": False, "error": f"parcel {parcel_id} has no courier"}
        c = self.couriers[cid]
        if c["status"] != "on_duty" or c["van"] != "ok":
            return {"success": False, "error": f"courier {cid} is {c['status']}, van {c['van']}"}
        eta = now() + timedelta(minutes=self._minutes_to(lid))
        if eta > datetime.fromisoformat(c["shift_end"]):
            return {"success": False, "error": f"ETA {eta.strftime('%H:%M')} is after the shift end of {cid}"}
        if not self._open_at(lid, eta):
            return {"success": False, "error": f"locker {lid} is closed at {eta.strftime('%H:%M')}"}
        did = f"DLV-{parcel_id}"
        self.deliveries[did] = {"parcel_id": parcel_id, "courier_id": cid, "locker_id": lid,
                                "reservation_id": reservation_id, "eta": eta.isoformat(timespec="minutes"),
                                "status": "scheduled"}
        r["status"] = "confirmed"
        p["status"] = "out_for_delivery"
        return {"success": True, "data": {"delivery_id": did, "eta": self.deliveries[did]["eta"]}}

    def cancel_delivery(self, delivery_id: str) -> dict:
        """Cancel a delivery run; its reservation becomes held again if it has not lapsed.

        Args:
            delivery_id: Delivery ID.
        """
        d = self.deliveries.get(delivery_id)
        if d is None or d["status"] == "cancelled":
            return {"success": False, "error": f"no active delivery {delivery_id}"}
        d["status"] = "cancelled"
        r = self.reservations[d["reservation_id"]]
        if r["status"] == "confirmed":
            r["status"] = "held"
        self.parcels[d["parcel_id"]]["status"] = "at_depot"
        return {"success": True, "message": f"{delivery_id} cancelled"}
