from datetime import datetime, timedelta


def _t(iso):
    return datetime.fromisoformat(iso)


def _hm(dt):
    return dt.strftime("%H:%M")


# -- shared with the checklist (domains.kit.env_functions): pure functions over the JSON state ---------
def live_min(service):
    """Live (delayed) departure and arrival of a service, in minutes after midnight."""
    d = service.get("delay_min", 0)
    return (int(service["dep"][11:13]) * 60 + int(service["dep"][14:16]) + d,
            int(service["arr"][11:13]) * 60 + int(service["arr"][14:16]) + d)


def legs_problem(stations, services, legs, held=()):
    """Why these legs (one service, or two that connect) do not make a journey on the current state, or
    None. ``held``: services whose seat the passenger already has."""
    if not legs:
        return "no service given"
    for sid in legs:
        s = services.get(sid)
        if s is None:
            return f"service {sid} not found"
        if s["status"] != "scheduled":
            return f"service {sid} is {s['status']}"
        for st in (s["origin"], s["destination"]):
            if stations.get(st, {}).get("status") != "open":
                return f"station {st} is {stations.get(st, {}).get('status', 'unknown')}"
        if s["seats_free"] <= 0 and sid not in held:
            return f"service {sid} has no free seats"
    if len(legs) == 2:
        a, b = legs
        sa, sb = services[a], services[b]
        if sa["destination"] != sb["origin"]:
            return f"service {a} ends at {sa['destination']}, service {b} starts at {sb['origin']}"
        need = stations[sa["destination"]]["min_transfer_min"]
        arr, dep = live_min(sa)[1], live_min(sb)[0]
        if dep - arr < need:
            return (f"transfer at {sa['destination']}: {a} arrives {arr // 60:02d}:{arr % 60:02d}, {b} departs "
                    f"{dep // 60:02d}:{dep % 60:02d}, minimum connection time {need} min")
    return None


class RailConnectionsEnv:
    """Trains, coaches and ferries between stations; multi-leg journeys with transfer windows."""

    MUTATING_TOOLS = ["book_journey", "hold_journey", "issue_tickets", "change_journey", "cancel_journey",
                      "request_assistance", "update_phone"]

    def __init__(self, init_config: dict):
        self.stations = init_config["stations"]
        self.services = init_config["services"]
        self.passengers = init_config["passengers"]
        self.journeys = init_config.get("journeys", {})
        self.assistance = {}
        self.journey_seq = init_config.get("journey_seq", 500)
        self.hold_minutes = init_config.get("hold_minutes", 30)

    # -- helpers (private) ---------------------------------------------------------------------------
    def _live(self, sid):
        s = self.services[sid]
        d = timedelta(minutes=s.get("delay_min", 0))
        return _t(s["dep"]) + d, _t(s["arr"]) + d

    def _view(self, sid):
        s = self.services[sid]
        dep, arr = self._live(sid)
        return {"service_id": sid, "mode": s["mode"], "origin": s["origin"], "destination": s["destination"],
                "scheduled_dep": s["dep"][11:16], "scheduled_arr": s["arr"][11:16], "expected_dep": _hm(dep),
                "expected_arr": _hm(arr), "delay_min": s.get("delay_min", 0), "status": s["status"],
                "platform": s.get("platform"), "seats_free": s["seats_free"], "fare": s["fare"]}

    def _legs(self, first, second):
        return [x for x in (first, second) if x]

    def _problem(self, legs, mine=()):
        """Why these legs do not make a journey now (None when they do)."""
        prob = legs_problem(self.stations, self.services, legs, mine)
        if prob is None:
            for sid in legs:
                if self._live(sid)[0] <= now():
                    return f"service {sid} has already departed"
        return prob

    def _jview(self, jid):
        j = self.journeys[jid]
        legs = [self._view(s) for s in j["legs"] if s in self.services]
        prob = self._problem(j["legs"], j["legs"]) if j["status"] in ("held", "ticketed") else None
        return {"journey_id": jid, **j, "legs": legs, "connection_ok": prob is None, "issue": prob}

    def _new_journey(self, passenger_id, legs, status):
        self.journey_seq += 1
        jid = f"JR-{self.journey_seq}"
        for sid in legs:
            self.services[sid]["seats_free"] -= 1
        self.journeys[jid] = {"passenger_id": passenger_id, "legs": legs, "status": status,
                              "fare": round(sum(self.services[s]["fare"] for s in legs), 2),
                              "origin": self.services[legs[0]]["origin"],
                              "destination": self.services[legs[-1]]["destination"],
                              "created_at": now().isoformat()}
        return jid

    # -- queries ---------------------------------------------------------------------------------------
    def list_stations(self) -> dict:
        """List stations and ports with their status and minimum connection time."""
        return {"success": True, "data": [{"station_id": k, **v} for k, v in self.stations.items()]}

    def get_station(self, station_id: str) -> dict:
        """Get one station's status, platforms and minimum connection time.

        Args:
            station_id: Station ID, e.g. "ST-12".
        """
        st = self.stations.get(station_id)
        if st is None:
            return {"success": False, "error": f"station {station_id} not found"}
        return {"success": True, "data": {"station_id": station_id, **st}}

    def search_services(self, origin: str, destination: str = "") -> dict:
        """Services leaving a station (optionally to one destination), by scheduled departure.

        Args:
            origin: Station ID the service leaves from.
            destination: Station ID the service goes to; empty for every destination.
        """
        if origin not in self.stations:
            return {"success": False, "error": f"station {origin} not found"}
        out = [self._view(k) for k, s in self.services.items()
               if s["origin"] == origin and (not destination or s["destination"] == destination)]
        return {"success": True, "data": sorted(out, key=lambda v: v["scheduled_dep"])}

    def get_departures(self, station_id: str) -> dict:
        """Live departure board of a station: every service leaving or arriving there.

        Args:
            station_id: Station ID.
        """
        if station_id not in self.stations:
            return {"success": False, "error": f"station {station_id} not found"}
        out = [self._view(k) for k, s in self.services.items() if station_id in (s["origin"], s["destination"])]
        return {"success": True, "data": sorted(out, key=lambda v: v["scheduled_dep"])}

    def get_service(self, service_id: str) -> dict:
        """Get a service's live times, delay, status, platform and free seats.

        Args:
            service_id: Service ID, e.g. "IC-204".
        """
        if service_id not in self.services:
            return {"success": False, "error": f"service {service_id} not found"}
        return {"success": True, "data": self._view(service_id)}

    def check_connection(self, first_service_id: str, second_service_id: str) -> dict:
        """Whether the second service can be caught after the first, with live times.

        Args:
            first_service_id: The arriving service.
            second_service_id: The departing service.
        """
        for sid in (first_service_id, second_service_id):
            if sid not in self.services:
                return {"success": False, "error": f"service {sid} not found"}
        prob = self._problem([first_service_id, second_service_id])
        return {"success": True, "data": {"connection_ok": prob is None, "issue": prob}}

    def get_passenger(self, passenger_id: str) -> dict:
        """Get a passenger's name, railcard and contact.

        Args:
            passenger_id: Passenger ID, e.g. "PX-4410".
        """
        p = self.passengers.get(passenger_id)
        if p is None:
            return {"success": False, "error": f"passenger {passenger_id} not found"}
        return {"success": True, "data": {"passenger_id": passenger_id, **p}}

    def list_journeys(self, passenger_id: str) -> dict:
        """List a passenger's journeys with live connection status.

        Args:
            passenger_id: Passenger ID.
        """
        if passenger_id not in self.passengers:
            return {"success": False, "error": f"passenger {passenger_id} not found"}
        return {"success": True, "data": [self._jview(k) for k, j in self.journeys.items()
                                          if j["passenger_id"] == passenger_id]}

    def get_journey(self, journey_id: str) -> dict:
        """Get a journey's legs, live times, status and whether its connection still works.

        Args:
            journey_id: Journey ID, e.g. "JR-501".
        """
        if journey_id not in self.journeys:
            return {"success": False, "error": f"journey {journey_id} not found"}
        return {"success": True, "data": self._jview(journey_id)}

    # -- state changes ---------------------------------------------------------------------------------
    def book_journey(self, passenger_id: str, first_service_id: str, second_service_id: str = "") -> dict:
        """Book and ticket a journey of one service or two connecting services.

        Args:
            passenger_id: Passenger ID.
            first_service_id: The first (or only) service.
            second_service_id: The connecting service; empty for a direct journey.
        """
        if passenger_id not in self.passengers:
            return {"success": False, "error": f"passenger {passenger_id} not found"}
        legs = self._legs(first_service_id, second_service_id)
        prob = self._problem(legs)
        if prob:
            return {"success": False, "error": prob}
        jid = self._new_journey(passenger_id, legs, "ticketed")
        return {"success": True, "data": self._jview(jid)}

    def hold_journey(self, passenger_id: str, first_service_id: str, second_service_id: str = "") -> dict:
        """Hold seats on a journey (one or two services) without paying; issue tickets later.

        Args:
            passenger_id: Passenger ID.
            first_service_id: The first (or only) service.
            second_service_id: The connecting service; empty for a direct journey.
        """
        if passenger_id not in self.passengers:
            return {"success": False, "error": f"passenger {passenger_id} not found"}
        legs = self._legs(first_service_id, second_service_id)
        prob = self._problem(legs)
        if prob:
            return {"success": False, "error": prob}
        jid = self._new_journey(passenger_id, legs, "held")
        return {"success": True, "data": self._jview(jid)}

    def issue_tickets(self, journey_id: str) -> dict:
        """Pay for a held journey and issue its tickets (the connection is re-checked on live times).

        Args:
            journey_id: Journey ID.
        """
        j = self.journeys.get(journey_id)
        if j is None:
            return {"success": False, "error": f"journey {journey_id} not found"}
        if j["status"] != "held":
            return {"success": False, "error": f"journey {journey_id} is {j['status']}"}
        prob = self._problem(j["legs"], j["legs"])
        if prob:
            return {"success": False, "error": prob}
        j["status"] = "ticketed"
        return {"success": True, "data": self._jview(journey_id)}

    def change_journey(self, journey_id: str, first_service_id: str, second_service_id: str = "") -> dict:
        """Replace the services of a held or ticketed journey (same passenger, same status).

        Args:
            journey_id: Journey ID.
            first_service_id: The new first (or only) service.
            second_service_id: The new connecting service; empty for a direct journey.
        """
        j = self.journeys.get(journey_id)
        if j is None:
            return {"success": False, "error": f"journey {journey_id} not found"}
        if j["status"] not in ("held", "ticketed"):
            return {"success": False, "error": f"journey {journey_id} is {j['status']}"}
        legs = self._legs(first_service_id, second_service_id)
        prob = self._problem(legs, j["legs"])
        if prob:
            return {"success": False, "error": prob}
        for sid in j["legs"]:
            self.services[sid]["seats_free"] += 1
        for sid in legs:
            self.services[sid]["seats_free"] -= 1
        j["legs"] = legs
        j["fare"] = round(sum(self.services[s]["fare"] for s in legs), 2)
        j["origin"], j["destination"] = self.services[legs[0]]["origin"], self.services[legs[-1]]["destination"]
        j["updated_at"] = now().isoformat()
        return {"success": True, "data": self._jview(journey_id)}

    def cancel_journey(self, journey_id: str) -> dict:
        """Cancel a journey and release its seats.

        Args:
            journey_id: Journey ID.
        """
        j = self.journeys.get(journey_id)
        if j is None:
            return {"success": False, "error": f"journey {journey_id} not found"}
        if j["status"] == "cancelled":
            return {"success": False, "error": f"journey {journey_id} is already cancelled"}
        for sid in j["legs"]:
            self.services[sid]["seats_free"] += 1
        j["status"] = "cancelled"
        return {"success": True, "message": f"journey {journey_id} cancelled"}

    def request_assistance(self, journey_id: str, station_id: str) -> dict:
        """Book staff assistance for a journey's passenger at a station on the journey.

        Args:
            journey_id: Journey ID.
            station_id: Station where assistance is needed.
        """
        j = self.journeys.get(journey_id)
        if j is None or j["status"] not in ("held", "ticketed"):
            return {"success": False, "error": f"journey {journey_id} is not active"}
        stops = {self.services[s]["origin"] for s in j["legs"]} | {self.services[s]["destination"] for s in j["legs"]}
        if station_id not in stops:
            return {"success": False, "error": f"station {station_id} is not on journey {journey_id}"}
        aid = f"AS-{len(self.assistance) + 1}"
        self.assistance[aid] = {"journey_id": journey_id, "station_id": station_id, "status": "booked"}
        return {"success": True, "data": {"assistance_id": aid}}

    def update_phone(self, passenger_id: str, phone: str) -> dict:
        """Update the phone number used for delay alerts.

        Args:
            passenger_id: Passenger ID.
            phone: Phone number in international form.
        """
        p = self.passengers.get(passenger_id)
        if p is None:
            return {"success": False, "error": f"passenger {passenger_id} not found"}
        if not phone.startswith("+") or len(phone) < 8:
            return {"success": False, "error": f"phone {phone!r} is not in international form"}
        p["phone"] = phone
        return {"success": True, "message": "phone updated"}
