"""Flight rebooking: disrupted itineraries, connections, seats, waitlists and interline partners."""
from datetime import datetime, timedelta

SERVICE_CODES = ["WCHR", "WCHS", "MEDA", "BLND", "DEAF"]


def _mins(a, b):
    return int((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() // 60)


def _iso(t):
    return t.replace(second=0, microsecond=0).isoformat()


class FlightRebookingEnv:
    MUTATING_TOOLS = ["rebook", "cancel_booking", "join_waitlist", "leave_waitlist", "claim_waitlist_seat",
                      "add_special_service", "issue_meal_voucher"]

    def __init__(self, init_config: dict):
        self.airports = init_config.get("airports", {})
        self.carriers = init_config.get("carriers", {})
        self.flights = init_config.get("flights", {})
        self.passengers = init_config.get("passengers", {})
        self.bookings = init_config.get("bookings", {})
        self.waitlists = init_config.get("waitlists", {})
        self.vouchers = init_config.get("vouchers", [])

    # ------------------------------------------------------------------ helpers
    def _interline(self, a, b):
        if a == b:
            return True
        ca, cb = self.carriers.get(a, {}), self.carriers.get(b, {})
        return b in ca.get("interline", []) and a in cb.get("interline", [])

    def _connections(self, fids):
        out = []
        for x, y in zip(fids, fids[1:]):
            a, b = self.flights[x], self.flights[y]
            ap = self.airports.get(b["origin"], {})
            out.append({"at": b["origin"], "from": x, "to": y, "minutes": _mins(a["arr"], b["dep"]),
                        "mct": ap.get("mct"), "same_airport": a["destination"] == b["origin"],
                        "interline_ok": self._interline(a["carrier"], b["carrier"])})
        return out

    def _chain_error(self, booking, fids):
        """Error text if the flights do not form a valid itinerary for the booking, else ""."""
        if not fids:
            return "no flights given"
        if len(set(fids)) != len(fids):
            return "duplicate flight in itinerary"
        for f in fids:
            if f not in self.flights:
                return f"flight {f} not found"
        segs = [self.flights[f] for f in fids]
        if segs[0]["origin"] != booking["origin"]:
            return f"itinerary starts at {segs[0]['origin']}, booking origin is {booking['origin']}"
        if segs[-1]["destination"] != booking["destination"]:
            return f"itinerary ends at {segs[-1]['destination']}, booking destination is {booking['destination']}"
        for f, s in zip(fids, segs):
            if s["status"] == "cancelled":
                return f"flight {f} is cancelled"
            for ap in (s["origin"], s["destination"]):
                st = self.airports.get(ap, {}).get("status")
                if st != "open":
                    return f"airport {ap} status is {st}"
        for c in self._connections(fids):
            if not c["same_airport"]:
                return f"flight {c['from']} does not arrive at {c['at']}"
            if c["minutes"] < c["mct"]:
                return f"connection {c['from']} -> {c['to']} at {c['at']} is {c['minutes']} min, minimum is {c['mct']} min"
            if not c["interline_ok"]:
                a, b = self.flights[c["from"]]["carrier"], self.flights[c["to"]]["carrier"]
                return f"no interline agreement between {a} and {b}"
        return ""

    def _booking(self, booking_id):
        b = self.bookings.get(booking_id)
        if b is None:
            return None, f"booking {booking_id} not found"
        if b["status"] != "confirmed":
            return None, f"booking {booking_id} status is {b['status']}"
        return b, ""

    def _sellable(self, fid):
        f = self.flights[fid]
        if now() >= datetime.fromisoformat(f["sales_close"]):
            return f"sales for flight {fid} closed at {f['sales_close']}"
        if f["seats"] < 1:
            return f"flight {fid} has no seats left"
        if f.get("waitlist_only"):
            return f"seats on flight {fid} are released through its waitlist only"
        return ""

    def _flight_view(self, fid):
        f = self.flights[fid]
        return {"flight_id": fid, "carrier": f["carrier"], "origin": f["origin"], "destination": f["destination"],
                "dep": f["dep"], "arr": f["arr"], "status": f["status"], "seats": f["seats"]}

    # ------------------------------------------------------------------ queries
    def list_airports(self) -> dict:
        """List airports with status and minimum connection time (minutes)."""
        return {"success": True, "data": [{"code": k, "city": v["city"], "status": v["status"], "mct": v["mct"]}
                                          for k, v in sorted(self.airports.items())]}

    def get_airport(self, code: str) -> dict:
        """Get an airport: name, city, coordinates, status and minimum connection time.

        Args:
            code: IATA code, e.g. "ZRH".
        """
        a = self.airports.get(code)
        if a is None:
            return {"success": False, "error": f"airport {code} not found"}
        return {"success": True, "data": {"code": code, **a}}

    def get_carrier(self, carrier: str) -> dict:
        """Get an airline and its current interline partners.

        Args:
            carrier: Two-letter airline code, e.g. "LX".
        """
        c = self.carriers.get(carrier)
        if c is None:
            return {"success": False, "error": f"carrier {carrier} not found"}
        return {"success": True, "data": {"carrier": carrier, **c}}

    def search_flights(self, origin: str, destination: str) -> dict:
        """Today's flights between two airports with times, status and free seats.

        Args:
            origin: Departure airport code.
            destination: Arrival airport code.
        """
        for ap in (origin, destination):
            if ap not in self.airports:
                return {"success": False, "error": f"airport {ap} not found"}
        out = [self._flight_view(k) for k, f in sorted(self.flights.items(), key=lambda kv: kv[1]["dep"])
               if f["origin"] == origin and f["destination"] == destination]
        return {"success": True, "data": out}

    def get_flight(self, flight_id: str) -> dict:
        """Get one flight: carrier, route, times, status, free seats, sales close and waitlist release.

        Args:
            flight_id: Flight number, e.g. "LX318".
        """
        if flight_id not in self.flights:
            return {"success": False, "error": f"flight {flight_id} not found"}
        f = self.flights[flight_id]
        return {"success": True, "data": {**self._flight_view(flight_id), "sales_close": f["sales_close"],
                                          "waitlist_only": f.get("waitlist_only", False)}}

    def get_booking(self, booking_id: str) -> dict:
        """Get a booking: passenger, route, segments with live times, connections and services.

        Args:
            booking_id: Six-letter record locator, e.g. "QX7RTA".
        """
        b = self.bookings.get(booking_id)
        if b is None:
            return {"success": False, "error": f"booking {booking_id} not found"}
        segs = [self._flight_view(f) for f in b["segments"] if f in self.flights]
        return {"success": True, "data": {"booking_id": booking_id, "passenger_id": b["passenger_id"],
                                          "origin": b["origin"], "destination": b["destination"],
                                          "status": b["status"], "segments": segs,
                                          "connections": self._connections([s["flight_id"] for s in segs]),
                                          "services": b["services"]}}

    def get_passenger(self, passenger_id: str) -> dict:
        """Get a passenger: name, loyalty tier and assistance needs.

        Args:
            passenger_id: Passenger ID, e.g. "PX-4410".
        """
        p = self.passengers.get(passenger_id)
        if p is None:
            return {"success": False, "error": f"passenger {passenger_id} not found"}
        return {"success": True, "data": {"passenger_id": passenger_id, **p}}

    def check_connection(self, inbound_flight_id: str, outbound_flight_id: str) -> dict:
        """Connection time, minimum connection time and interline status between two flights.

        Args:
            inbound_flight_id: Arriving flight.
            outbound_flight_id: Departing flight.
        """
        for f in (inbound_flight_id, outbound_flight_id):
            if f not in self.flights:
                return {"success": False, "error": f"flight {f} not found"}
        return {"success": True, "data": self._connections([inbound_flight_id, outbound_flight_id])[0]}

    def get_waitlist(self, flight_id: str) -> dict:
        """Get the ordered waitlist of a flight (booking IDs, first is served first).

        Args:
            flight_id: Flight number.
        """
        if flight_id not in self.flights:
            return {"success": False, "error": f"flight {flight_id} not found"}
        wl = self.waitlists.get(flight_id, [])
        return {"success": True, "data": {"flight_id": flight_id, "seats": self.flights[flight_id]["seats"],
                                          "waitlist": [{"position": i + 1, "booking_id": b} for i, b in enumerate(wl)]}}

    # ------------------------------------------------------------------ actions
    def rebook(self, booking_id: str, flight_ids: list[str]) -> dict:
        """Replace a booking's itinerary with the given flights, in travel order (services stay on kept flights).

        Args:
            booking_id: Record locator.
            flight_ids: Flight numbers of the new itinerary, in order.
        """
        b, err = self._booking(booking_id)
        if b is None:
            return {"success": False, "error": err}
        if not isinstance(flight_ids, list) or not all(isinstance(f, str) for f in flight_ids):
            return {"success": False, "error": "flight_ids must be a list of flight numbers"}
        if flight_ids == b["segments"]:
            return {"success": False, "error": f"booking {booking_id} already has this itinerary"}
        err = self._chain_error(b, flight_ids)
        if err:
            return {"success": False, "error": err}
        for f in flight_ids:
            if f not in b["segments"]:
                err = self._sellable(f)
                if err:
                    return {"success": False, "error": err}
        for f in b["segments"]:
            if f not in flight_ids and f in self.flights:
                self.flights[f]["seats"] += 1
        for f in flight_ids:
            if f not in b["segments"]:
                self.flights[f]["seats"] -= 1
        b["services"] = {f: v for f, v in b["services"].items() if f in flight_ids}
        b["segments"] = list(flight_ids)
        return {"success": True, "data": {"booking_id": booking_id, "segments": list(flight_ids)}}

    def cancel_booking(self, booking_id: str) -> dict:
        """Cancel a booking and release its seats.

        Args:
            booking_id: Record locator.
        """
        b, err = self._booking(booking_id)
        if b is None:
            return {"success": False, "error": err}
        for f in b["segments"]:
            if f in self.flights:
                self.flights[f]["seats"] += 1
        b["status"] = "cancelled"
        return {"success": True, "message": f"booking {booking_id} cancelled"}

    def join_waitlist(self, booking_id: str, flight_id: str) -> dict:
        """Put a booking on a flight's waitlist (appended at the end).

        Args:
            booking_id: Record locator.
            flight_id: Flight to wait-list for.
        """
        b, err = self._booking(booking_id)
        if b is None:
            return {"success": False, "error": err}
        if flight_id not in self.flights:
            return {"success": False, "error": f"flight {flight_id} not found"}
        wl = self.waitlists.setdefault(flight_id, [])
        if booking_id in wl:
            return {"success": False, "error": f"booking {booking_id} is already on the waitlist of {flight_id}"}
        wl.append(booking_id)
        return {"success": True, "data": {"flight_id": flight_id, "position": len(wl)}}

    def leave_waitlist(self, booking_id: str, flight_id: str) -> dict:
        """Remove a booking from a flight's waitlist.

        Args:
            booking_id: Record locator.
            flight_id: Flight number.
        """
        wl = self.waitlists.get(flight_id, [])
        if booking_id not in wl:
            return {"success": False, "error": f"booking {booking_id} is not on the waitlist of {flight_id}"}
        wl.remove(booking_id)
        return {"success": True, "message": f"booking {booking_id} removed from the waitlist of {flight_id}"}

    def claim_waitlist_seat(self, booking_id: str, flight_id: str) -> dict:
        """Take a released seat on a wait-listed flight; it replaces the booking's segment from the same airport.

        Args:
            booking_id: Record locator (must be first on the waitlist).
            flight_id: Wait-listed flight.
        """
        b, err = self._booking(booking_id)
        if b is None:
            return {"success": False, "error": err}
        if flight_id not in self.flights:
            return {"success": False, "error": f"flight {flight_id} not found"}
        wl = self.waitlists.get(flight_id, [])
        if booking_id not in wl:
            return {"success": False, "error": f"booking {booking_id} is not on the waitlist of {flight_id}"}
        if wl.index(booking_id) != 0:
            return {"success": False, "error": f"booking {booking_id} is number {wl.index(booking_id) + 1} on the "
                                               f"waitlist of {flight_id}"}
        fl = self.flights[flight_id]
        if fl["seats"] < 1:
            return {"success": False, "error": f"flight {flight_id} has no seats left"}
        if now() >= datetime.fromisoformat(fl["sales_close"]):
            return {"success": False, "error": f"sales for flight {flight_id} closed at {fl['sales_close']}"}
        idx = [i for i, f in enumerate(b["segments"]) if self.flights.get(f, {}).get("origin") == fl["origin"]]
        if not idx:
            return {"success": False, "error": f"booking {booking_id} has no segment from {fl['origin']}"}
        new = list(b["segments"])
        old = new[idx[0]]
        new[idx[0]] = flight_id
        err = self._chain_error(b, new)
        if err:
            return {"success": False, "error": err}
        if old in self.flights:
            self.flights[old]["seats"] += 1
        fl["seats"] -= 1
        wl.remove(booking_id)
        b["services"] = {f: v for f, v in b["services"].items() if f in new}
        b["segments"] = new
        return {"success": True, "data": {"booking_id": booking_id, "segments": new}}

    def add_special_service(self, booking_id: str, flight_id: str, code: str) -> dict:
        """Add a special service request (e.g. wheelchair "WCHR") to one flight of a booking.

        Args:
            booking_id: Record locator.
            flight_id: Flight of the booking.
            code: Service code: WCHR, WCHS, MEDA, BLND or DEAF.
        """
        b, err = self._booking(booking_id)
        if b is None:
            return {"success": False, "error": err}
        if flight_id not in b["segments"]:
            return {"success": False, "error": f"flight {flight_id} is not in booking {booking_id}"}
        if code not in SERVICE_CODES:
            return {"success": False, "error": f"unknown service code {code}"}
        lst = b["services"].setdefault(flight_id, [])
        if code in lst:
            return {"success": False, "error": f"{code} already on {flight_id}"}
        lst.append(code)
        return {"success": True, "message": f"{code} added to {flight_id}"}

    def issue_meal_voucher(self, booking_id: str, airport: str) -> dict:
        """Issue a meal voucher to a booking's passenger at an airport.

        Args:
            booking_id: Record locator.
            airport: Airport code where the voucher is used.
        """
        b, err = self._booking(booking_id)
        if b is None:
            return {"success": False, "error": err}
        if airport not in self.airports:
            return {"success": False, "error": f"airport {airport} not found"}
        if any(v["booking_id"] == booking_id for v in self.vouchers):
            return {"success": False, "error": f"booking {booking_id} already has a voucher"}
        self.vouchers.append({"booking_id": booking_id, "airport": airport, "issued": _iso(now()),
                              "valid_until": _iso(now() + timedelta(hours=6))})
        return {"success": True, "message": f"voucher issued at {airport}"}
