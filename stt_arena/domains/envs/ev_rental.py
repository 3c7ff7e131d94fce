"""EV rental across depots: depots with coordinates and chargers, vehicles with charge levels,
reservations with pick-up windows. Time comes from the simulated clock ``now()``."""
import math
from datetime import datetime, timedelta


def _km(lat1, lon1, lat2, lon2):
    r = 6371.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def _drive_min(km):
    return int(round(km * 1.6 + 5))


def _parse(ts):
    if not isinstance(ts, str):
        return None
    try:
        return datetime.fromisoformat(ts)
    except ValueError:
        return None


def _iso(t):
    return t.replace(microsecond=0).isoformat()


def _hm(t):
    return f"{t.hour:02d}:{t.minute:02d}"


class EvRentalEnv:
    MUTATING_TOOLS = ["reserve_vehicle", "cancel_reservation", "change_vehicle", "extend_pickup_window",
                      "pick_up_vehicle", "transfer_vehicle", "charge_vehicle"]

    def __init__(self, init_config: dict):
        self.depots = init_config.get("depots", {})
        self.vehicles = init_config.get("vehicles", {})
        self.customers = init_config.get("customers", {})
        self.reservations = init_config.get("reservations", {})
        self._seq = int(init_config.get("reservation_seq", 1000))
        self._rate = float(init_config.get("charge_pct_per_min", 1.0))
        self._window = int(init_config.get("pickup_window_min", 30))
        self._early = int(init_config.get("early_pickup_min", 15))
        self._late = int(init_config.get("late_pickup_min", 0))

    # -- helpers -------------------------------------------------------------------------
    def _now(self):
        t = now().replace(microsecond=0)
        self._expire(t)
        return t

    def _expire(self, t=None):
        """A confirmed reservation not collected by the end of its window (plus the late pick-up allowance)
        becomes a no-show and its vehicle is released."""
        t = t or now().replace(microsecond=0)
        for r in self.reservations.values():
            end = _parse(r.get("pickup_end"))
            if r.get("status") == "confirmed" and end is not None and t > end + timedelta(minutes=self._late):
                r["status"] = "no_show"
                v = self.vehicles.get(r.get("vehicle_id"))
                if v is not None and v.get("status") == "reserved":
                    v["status"] = "available"

    def _range(self, v):
        return int(v["charge_pct"] * v["range_km"] / 100.0)

    def _coords(self, place_id):
        if place_id in self.depots:
            d = self.depots[place_id]
            return d["lat"], d["lon"]
        if place_id in self.customers:
            c = self.customers[place_id]
            return c["home_lat"], c["home_lon"]
        return None

    def _open_at(self, depot, t):
        return depot["opens"] <= _hm(t) <= depot["closes"]

    def _vehicle_view(self, vid):
        v = self.vehicles[vid]
        return {"vehicle_id": vid, "model": v["model"], "depot": v["depot"], "charge_pct": v["charge_pct"],
                "est_range_km": self._range(v), "seats": v.get("seats", 5), "status": v["status"],
                "available_from": v.get("available_from")}

    # -- queries -------------------------------------------------------------------------
    def get_current_time(self) -> dict:
        """Get the current local date and time."""
        return {"success": True, "data": {"now": _iso(self._now())}}

    def list_depots(self) -> dict:
        """List all rental depots with their location and status."""
        out = [{"depot_id": k, "name": d["name"], "status": d["status"], "lat": d["lat"], "lon": d["lon"]}
               for k, d in sorted(self.depots.items())]
        return {"success": True, "data": out}

    def get_depot(self, depot_id: str) -> dict:
        """Get a depot's address, coordinates, opening hours, status and chargers.

        Args:
            depot_id: Depot ID, e.g. "D12".
        """
        d = self.depots.get(depot_id)
        if d is None:
            return {"success": False, "error": f"depot {depot_id} not found"}
        return {"success": True, "data": {"depot_id": depot_id, **d}}

    def search_vehicles(self, depot_id: str, min_range_km: int = 0) -> dict:
        """List vehicles parked at a depot, with charge level and estimated range.

        Args:
            depot_id: Depot ID.
            min_range_km: Only vehicles whose estimated range is at least this many km.
        """
        self._expire()
        d = self.depots.get(depot_id)
        if d is None:
            return {"success": False, "error": f"depot {depot_id} not found"}
        if not isinstance(min_range_km, (int, float)) or min_range_km < 0:
            return {"success": False, "error": "min_range_km must be a non-negative number"}
        out = [self._vehicle_view(k) for k, v in sorted(self.vehicles.items())
               if v["depot"] == depot_id and self._range(v) >= min_range_km]
        return {"success": True, "data": {"depot_id": depot_id, "depot_status": d["status"], "vehicles": out}}

    def get_vehicle(self, vehicle_id: str) -> dict:
        """Get a vehicle's depot, charge level, estimated range and status.

        Args:
            vehicle_id: Vehicle ID, e.g. "EV-204".
        """
        self._expire()
        if vehicle_id not in self.vehicles:
            return {"success": False, "error": f"vehicle {vehicle_id} not found"}
        return {"success": True, "data": self._vehicle_view(vehicle_id)}

    def estimate_range(self, vehicle_id: str) -> dict:
        """Estimate the driving range of a vehicle at its current charge level.

        Args:
            vehicle_id: Vehicle ID.
        """
        v = self.vehicles.get(vehicle_id)
        if v is None:
            return {"success": False, "error": f"vehicle {vehicle_id} not found"}
        return {"success": True, "data": {"vehicle_id": vehicle_id, "charge_pct": v["charge_pct"],
                                          "est_range_km": self._range(v)}}

    def get_distance(self, from_id: str, to_id: str) -> dict:
        """Road distance and driving time between two places (depot IDs or a customer ID for their home).

        Args:
            from_id: Depot ID or customer ID.
            to_id: Depot ID or customer ID.
        """
        a, b = self._coords(from_id), self._coords(to_id)
        if a is None:
            return {"success": False, "error": f"place {from_id} not found"}
        if b is None:
            return {"success": False, "error": f"place {to_id} not found"}
        km = _km(a[0], a[1], b[0], b[1])
        return {"success": True, "data": {"from": from_id, "to": to_id, "km": round(km, 1),
                                          "drive_min": _drive_min(km)}}

    def get_customer(self, customer_id: str) -> dict:
        """Get a customer's profile.

        Args:
            customer_id: Customer ID, e.g. "C-4821".
        """
        c = self.customers.get(customer_id)
        if c is None:
            return {"success": False, "error": f"customer {customer_id} not found"}
        return {"success": True, "data": {"customer_id": customer_id, **c}}

    def get_reservation(self, reservation_id: str) -> dict:
        """Get a reservation: vehicle, depot, pick-up window and status.

        Args:
            reservation_id: Reservation ID, e.g. "R-1001".
        """
        self._expire()
        r = self.reservations.get(reservation_id)
        if r is None:
            return {"success": False, "error": f"reservation {reservation_id} not found"}
        view = {"reservation_id": reservation_id, **r}
        if self._late and r.get("status") == "confirmed":
            view["late_pickup_until"] = _iso(_parse(r["pickup_end"]) + timedelta(minutes=self._late))
        return {"success": True, "data": view}

    def list_reservations(self, customer_id: str) -> dict:
        """List a customer's reservations.

        Args:
            customer_id: Customer ID.
        """
        self._expire()
        if customer_id not in self.customers:
            return {"success": False, "error": f"customer {customer_id} not found"}
        out = [{"reservation_id": k, "vehicle_id": r["vehicle_id"], "depot_id": r["depot_id"],
                "pickup_start": r["pickup_start"], "status": r["status"]}
               for k, r in sorted(self.reservations.items()) if r["customer_id"] == customer_id]
        return {"success": True, "data": out}

    # -- state changes -------------------------------------------------------------------
    def reserve_vehicle(self, customer_id: str, vehicle_id: str, depot_id: str, pickup_start: str) -> dict:
        """Reserve a vehicle for pick-up at a depot. The pick-up window opens 15 minutes before
        pickup_start and closes 30 minutes after it.

        Args:
            customer_id: Customer ID.
            vehicle_id: Vehicle ID.
            depot_id: Depot where the vehicle is picked up.
            pickup_start: ISO local time of the pick-up, e.g. "2026-03-02T10:30:00".
        """
        if customer_id not in self.customers:
            return {"success": False, "error": f"customer {customer_id} not found"}
        d = self.depots.get(depot_id)
        if d is None:
            return {"success": False, "error": f"depot {depot_id} not found"}
        v = self.vehicles.get(vehicle_id)
        if v is None:
            return {"success": False, "error": f"vehicle {vehicle_id} not found"}
        t = _parse(pickup_start)
        if t is None:
            return {"success": False, "error": f"invalid pickup_start {pickup_start!r}"}
        if d["status"] != "open":
            return {"success": False, "error": f"depot {depot_id} is {d['status']}"}
        if v["depot"] != depot_id:
            return {"success": False, "error": f"vehicle {vehicle_id} is at depot {v['depot']}, not {depot_id}"}
        if v["status"] != "available":
            return {"success": False, "error": f"vehicle {vehicle_id} is {v['status']}"}
        if t < self._now() - timedelta(minutes=10):
            return {"success": False, "error": f"pickup_start {pickup_start} is in the past"}
        if not self._open_at(d, t):
            return {"success": False, "error": f"depot {depot_id} is open {d['opens']}-{d['closes']}"}
        af = _parse(v.get("available_from"))
        if af is not None and af > t:
            return {"success": False, "error": f"vehicle {vehicle_id} is not available before {_iso(af)}"}
        self._seq += 1
        rid = f"R-{self._seq}"
        self.reservations[rid] = {
            "customer_id": customer_id, "vehicle_id": vehicle_id, "depot_id": depot_id,
            "pickup_start": _iso(t), "pickup_end": _iso(t + timedelta(minutes=self._window)),
            "status": "confirmed", "extended_min": 0,
        }
        v["status"] = "reserved"
        return {"success": True, "data": {"reservation_id": rid, **self.reservations[rid]}}

    def cancel_reservation(self, reservation_id: str) -> dict:
        """Cancel a confirmed reservation and release its vehicle.

        Args:
            reservation_id: Reservation ID.
        """
        self._expire()
        r = self.reservations.get(reservation_id)
        if r is None:
            return {"success": False, "error": f"reservation {reservation_id} not found"}
        if r["status"] != "confirmed":
            return {"success": False, "error": f"reservation {reservation_id} is {r['status']}"}
        r["status"] = "cancelled"
        v = self.vehicles.get(r["vehicle_id"])
        if v is not None and v["status"] == "reserved":
            v["status"] = "available"
        return {"success": True, "message": f"reservation {reservation_id} cancelled"}

    def change_vehicle(self, reservation_id: str, vehicle_id: str) -> dict:
        """Assign another vehicle, parked at the reservation's depot, to a confirmed reservation.

        Args:
            reservation_id: Reservation ID.
            vehicle_id: The new vehicle's ID.
        """
        self._expire()
        r = self.reservations.get(reservation_id)
        if r is None:
            return {"success": False, "error": f"reservation {reservation_id} not found"}
        v = self.vehicles.get(vehicle_id)
        if v is None:
            return {"success": False, "error": f"vehicle {vehicle_id} not found"}
        if r["status"] != "confirmed":
            return {"success": False, "error": f"reservation {reservation_id} is {r['status']}"}
        if vehicle_id == r["vehicle_id"]:
            return {"success": False, "error": f"vehicle {vehicle_id} is already on {reservation_id}"}
        if v["depot"] != r["depot_id"]:
            return {"success": False, "error": f"vehicle {vehicle_id} is at depot {v['depot']}, not {r['depot_id']}"}
        if v["status"] != "available":
            return {"success": False, "error": f"vehicle {vehicle_id} is {v['status']}"}
        af = _parse(v.get("available_from"))
        if af is not None and af > _parse(r["pickup_start"]):
            return {"success": False, "error": f"vehicle {vehicle_id} is not available before {_iso(af)}"}
        old = self.vehicles.get(r["vehicle_id"])
        if old is not None and old["status"] == "reserved":
            old["status"] = "available"
        r["vehicle_id"] = vehicle_id
        v["status"] = "reserved"
        return {"success": True, "data": {"reservation_id": reservation_id, **r}}

    def extend_pickup_window(self, reservation_id: str, minutes: int) -> dict:
        """Extend the end of a confirmed reservation's pick-up window (once, by at most 60 minutes).

        Args:
            reservation_id: Reservation ID.
            minutes: Minutes to add to the end of the window (1-60).
        """
        self._expire()
        r = self.reservations.get(reservation_id)
        if r is None:
            return {"success": False, "error": f"reservation {reservation_id} not found"}
        if not isinstance(minutes, int) or not 1 <= minutes <= 60:
            return {"success": False, "error": "minutes must be an integer between 1 and 60"}
        if r["status"] != "confirmed":
            return {"success": False, "error": f"reservation {reservation_id} is {r['status']}"}
        if r.get("extended_min"):
            return {"success": False, "error": f"pick-up window of {reservation_id} was already extended"}
        end = _parse(r["pickup_end"]) + timedelta(minutes=minutes)
        d = self.depots[r["depot_id"]]
        if not self._open_at(d, end):
            return {"success": False, "error": f"depot {r['depot_id']} is open {d['opens']}-{d['closes']}"}
        r["pickup_end"] = _iso(end)
        r["extended_min"] = minutes
        return {"success": True, "data": {"reservation_id": reservation_id, "pickup_end": r["pickup_end"]}}

    def pick_up_vehicle(self, reservation_id: str, accept_late_fee: bool = False) -> dict:
        """Hand over the reserved vehicle to the customer at the depot (within the pick-up window). After
        the window has closed, a late pick-up (until the reservation's late_pickup_until) is possible only if the customer accepts the late fee.

        Args:
            reservation_id: Reservation ID.
            accept_late_fee: The customer agreed to pay the late pick-up fee (needed after the window closed).
        """
        t = self._now()
        r = self.reservations.get(reservation_id)
        if r is None:
            return {"success": False, "error": f"reservation {reservation_id} not found"}
        if r["status"] != "confirmed":
            return {"success": False, "error": f"reservation {reservation_id} is {r['status']}"}
        d = self.depots[r["depot_id"]]
        if d["status"] != "open":
            return {"success": False, "error": f"depot {r['depot_id']} is {d['status']}"}
        start = _parse(r["pickup_start"]) - timedelta(minutes=self._early)
        end = _parse(r["pickup_end"])
        if t < start:
            return {"success": False, "error": f"pick-up window of {reservation_id} opens at {_iso(start)}"}
        late = t > end
        if late and not (accept_late_fee is True and self._late > 0):
            return {"success": False, "error": f"pick-up window of {reservation_id} closed at {_iso(end)}"}
        v = self.vehicles[r["vehicle_id"]]
        if v["depot"] != r["depot_id"]:
            return {"success": False, "error": f"vehicle {r['vehicle_id']} is at depot {v['depot']}"}
        af = _parse(v.get("available_from"))
        if af is not None and af > t:
            return {"success": False, "error": f"vehicle {r['vehicle_id']} is not available before {_iso(af)}"}
        r["status"] = "picked_up"
        r["picked_up_at"] = _iso(t)
        r["late_fee"] = late
        v["status"] = "rented"
        return {"success": True, "data": {"reservation_id": reservation_id, "vehicle_id": r["vehicle_id"],
                                          "picked_up_at": r["picked_up_at"], "late_fee": late}}

    def transfer_vehicle(self, vehicle_id: str, to_depot_id: str) -> dict:
        """Have staff drive an available vehicle to another depot; it is available there on arrival.

        Args:
            vehicle_id: Vehicle ID.
            to_depot_id: Destination depot ID.
        """
        v = self.vehicles.get(vehicle_id)
        if v is None:
            return {"success": False, "error": f"vehicle {vehicle_id} not found"}
        d = self.depots.get(to_depot_id)
        if d is None:
            return {"success": False, "error": f"depot {to_depot_id} not found"}
        if v["status"] != "available":
            return {"success": False, "error": f"vehicle {vehicle_id} is {v['status']}"}
        if v["depot"] == to_depot_id:
            return {"success": False, "error": f"vehicle {vehicle_id} is already at {to_depot_id}"}
        if d["status"] != "open":
            return {"success": False, "error": f"depot {to_depot_id} is {d['status']}"}
        src = self.depots[v["depot"]]
        if src["status"] != "open":
            return {"success": False, "error": f"depot {v['depot']} is {src['status']}"}
        km = _km(src["lat"], src["lon"], d["lat"], d["lon"])
        if self._range(v) < km + 10:
            return {"success": False, "error": f"vehicle {vehicle_id} range {self._range(v)} km, trip {round(km, 1)} km"}
        t0 = max(self._now(), _parse(v.get("available_from")) or self._now())
        arrive = t0 + timedelta(minutes=_drive_min(km))
        v["depot"] = to_depot_id
        v["charge_pct"] = max(0, int(v["charge_pct"] - math.ceil(km * 100.0 / v["range_km"])))
        v["available_from"] = _iso(arrive)
        return {"success": True, "data": {"vehicle_id": vehicle_id, "depot": to_depot_id,
                                          "available_from": v["available_from"], "charge_pct": v["charge_pct"]}}

    def charge_vehicle(self, vehicle_id: str, target_pct: int) -> dict:
        """Put a vehicle on a depot charger until it reaches target_pct; it is unavailable meanwhile.

        Args:
            vehicle_id: Vehicle ID.
            target_pct: Target charge level in percent (up to 100).
        """
        v = self.vehicles.get(vehicle_id)
        if v is None:
            return {"success": False, "error": f"vehicle {vehicle_id} not found"}
        if not isinstance(target_pct, int) or not 1 <= target_pct <= 100:
            return {"success": False, "error": "target_pct must be an integer between 1 and 100"}
        if v["status"] not in ("available", "reserved"):
            return {"success": False, "error": f"vehicle {vehicle_id} is {v['status']}"}
        if target_pct <= v["charge_pct"]:
            return {"success": False, "error": f"vehicle {vehicle_id} is already at {v['charge_pct']}%"}
        d = self.depots[v["depot"]]
        if d["status"] != "open":
            return {"success": False, "error": f"depot {v['depot']} is {d['status']}"}
        if d.get("chargers_free", 0) <= 0:
            return {"success": False, "error": f"no free charger at depot {v['depot']}"}
        t0 = max(self._now(), _parse(v.get("available_from")) or self._now())
        ready = t0 + timedelta(minutes=math.ceil((target_pct - v["charge_pct"]) / self._rate))
        v["charge_pct"] = target_pct
        v["available_from"] = _iso(ready)
        return {"success": True, "data": {"vehicle_id": vehicle_id, "charge_pct": target_pct,
                                          "available_from": v["available_from"]}}
