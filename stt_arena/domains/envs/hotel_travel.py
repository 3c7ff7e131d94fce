"""Hotel and travel desk: hotels, room rates with booking windows and quotas, holds, bookings,
city sites with coordinates, airport/venue transfers and private cars."""
import math
from datetime import datetime, date, timedelta


def _dt(text):
    try:
        return datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None


def _day(text):
    try:
        return date.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None


class HotelTravelEnv:
    MUTATING_TOOLS = ["hold_room", "confirm_hold", "book_room", "release_hold", "cancel_booking", "book_transfer",
                      "cancel_transfer", "book_private_car"]

    def __init__(self, init_config: dict):
        self.sites = init_config.get("sites", {})
        self.hotels = init_config.get("hotels", {})
        self.rooms = init_config.get("rooms", {})
        self.rates = init_config.get("rates", {})
        self.holds = init_config.get("holds", [])
        self.bookings = init_config.get("bookings", [])
        self.transfers = init_config.get("transfers", {})
        self.transfer_bookings = init_config.get("transfer_bookings", [])
        self.itinerary = init_config.get("itinerary", {})
        self.hold_minutes = init_config.get("hold_minutes", 15)
        self._seq = int(init_config.get("seq_start", 1000))

    # -- helpers --------------------------------------------------------------------------
    def _next(self, prefix):
        self._seq += 1
        return f"{prefix}-{self._seq}"

    def _find(self, records, key, value):
        for r in records:
            if r.get(key) == value:
                return r
        return None

    def _km(self, a, b):
        sa, sb = self.sites[a], self.sites[b]
        la1, lo1, la2, lo2 = map(math.radians, (sa["lat"], sa["lon"], sb["lat"], sb["lon"]))
        h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
        return 2 * 6371.0 * math.asin(math.sqrt(h))

    def _check_rate(self, rate_code, check_in, check_out, rooms):
        rate = self.rates.get(rate_code)
        if rate is None:
            return None, f"rate {rate_code} not found"
        hotel = self.hotels.get(rate["hotel_id"], {})
        if hotel.get("status") != "open":
            return None, f"hotel {rate['hotel_id']} is {hotel.get('status')}"
        d_in, d_out = _day(check_in), _day(check_out)
        if d_in is None or d_out is None:
            return None, "check_in and check_out must be ISO dates (YYYY-MM-DD)"
        if d_out <= d_in:
            return None, "check_out must be after check_in"
        if d_in < now().date():
            return None, f"check_in {check_in} is in the past"
        if not isinstance(rooms, int) or isinstance(rooms, bool) or rooms < 1:
            return None, "rooms must be a positive integer"
        if rate.get("status", "open") != "open":
            return None, f"rate {rate_code} is {rate['status']}"
        if rate.get("book_by") and now() > _dt(rate["book_by"]):
            return None, f"rate {rate_code} booking window closed at {rate['book_by']}"
        if rate.get("quota_left") is not None and rooms > rate["quota_left"]:
            return None, f"rate {rate_code} quota: {rate['quota_left']} room(s) left"
        room = self.rooms.get(rate["room_id"], {})
        if room.get("units_free", 0) < rooms:
            return None, f"room type {rate['room_id']} has {room.get('units_free', 0)} unit(s) free"
        return rate, None

    def _take(self, rate, rooms, sign):
        if rate.get("quota_left") is not None:
            rate["quota_left"] -= sign * rooms
        self.rooms[rate["room_id"]]["units_free"] -= sign * rooms

    # -- query tools ----------------------------------------------------------------------
    def get_current_time(self) -> dict:
        """Current local time of the travel desk."""
        return {"success": True, "data": {"now": now().isoformat(timespec="minutes")}}

    def list_sites(self, city: str) -> dict:
        """List known sites (venues, airports, stations, hotels) in a city.

        Args:
            city: City name, e.g. "Lisbon".
        """
        out = [{"site_id": k, "name": s["name"], "kind": s["kind"]} for k, s in self.sites.items() if s.get("city") == city]
        if not out:
            return {"success": False, "error": f"no sites for city {city}"}
        return {"success": True, "data": out}

    def get_site(self, site_id: str) -> dict:
        """Get a site's name, kind, city and coordinates.

        Args:
            site_id: Site ID, e.g. "ST-110".
        """
        s = self.sites.get(site_id)
        if s is None:
            return {"success": False, "error": f"site {site_id} not found"}
        return {"success": True, "data": {"site_id": site_id, **s}}

    def get_distance(self, from_site: str, to_site: str) -> dict:
        """Straight-line distance and estimated drive time between two sites.

        Args:
            from_site: Origin site ID.
            to_site: Destination site ID.
        """
        for s in (from_site, to_site):
            if s not in self.sites:
                return {"success": False, "error": f"site {s} not found"}
        km = self._km(from_site, to_site)
        return {"success": True, "data": {"km": round(km, 2), "drive_minutes": int(round(km * 2.2 + 4))}}

    def search_hotels(self, city: str) -> dict:
        """List hotels in a city with stars, site and status.

        Args:
            city: City name, e.g. "Lisbon".
        """
        out = [{"hotel_id": k, "name": h["name"], "stars": h["stars"], "site_id": h["site_id"], "status": h["status"]}
               for k, h in self.hotels.items() if h.get("city") == city]
        if not out:
            return {"success": False, "error": f"no hotels for city {city}"}
        return {"success": True, "data": out}

    def get_hotel(self, hotel_id: str) -> dict:
        """Get a hotel's details and its room types.

        Args:
            hotel_id: Hotel ID, e.g. "HT-21".
        """
        h = self.hotels.get(hotel_id)
        if h is None:
            return {"success": False, "error": f"hotel {hotel_id} not found"}
        rooms = {k: r for k, r in self.rooms.items() if r["hotel_id"] == hotel_id}
        return {"success": True, "data": {"hotel_id": hotel_id, **h, "rooms": rooms}}

    def list_rates(self, hotel_id: str) -> dict:
        """List a hotel's rate plans: nightly price, booking window, quota.

        Args:
            hotel_id: Hotel ID.
        """
        if hotel_id not in self.hotels:
            return {"success": False, "error": f"hotel {hotel_id} not found"}
        out = [{"rate_code": k, **r} for k, r in self.rates.items() if r["hotel_id"] == hotel_id]
        return {"success": True, "data": out}

    def get_rate(self, rate_code: str) -> dict:
        """Get one rate plan.

        Args:
            rate_code: Rate code, e.g. "RT-EARLY-4".
        """
        r = self.rates.get(rate_code)
        if r is None:
            return {"success": False, "error": f"rate {rate_code} not found"}
        return {"success": True, "data": {"rate_code": rate_code, **r}}

    def get_hold(self, hold_id: str) -> dict:
        """Get a room hold and its status.

        Args:
            hold_id: Hold ID, e.g. "HLD-1043".
        """
        h = self._find(self.holds, "hold_id", hold_id)
        if h is None:
            return {"success": False, "error": f"hold {hold_id} not found"}
        return {"success": True, "data": dict(h)}

    def get_booking(self, booking_id: str) -> dict:
        """Get a hotel booking and its status.

        Args:
            booking_id: Booking ID, e.g. "BK-1044".
        """
        b = self._find(self.bookings, "booking_id", booking_id)
        if b is None:
            return {"success": False, "error": f"booking {booking_id} not found"}
        return {"success": True, "data": dict(b)}

    def list_bookings(self, guest: str) -> dict:
        """List all hotel bookings of a guest.

        Args:
            guest: Guest name as on the booking.
        """
        return {"success": True, "data": [dict(b) for b in self.bookings if b["guest"] == guest]}

    def list_transfers(self, from_site: str, to_site: str) -> dict:
        """List scheduled transfers between two sites.

        Args:
            from_site: Pick-up site ID.
            to_site: Drop-off site ID.
        """
        out = [{"transfer_id": k, **t} for k, t in self.transfers.items()
               if t["from_site"] == from_site and t["to_site"] == to_site]
        return {"success": True, "data": out}

    def get_transfer(self, transfer_id: str) -> dict:
        """Get one scheduled transfer.

        Args:
            transfer_id: Transfer ID, e.g. "TR-305".
        """
        t = self.transfers.get(transfer_id)
        if t is None:
            return {"success": False, "error": f"transfer {transfer_id} not found"}
        return {"success": True, "data": {"transfer_id": transfer_id, **t}}

    def list_transfer_bookings(self, passenger: str) -> dict:
        """List transfer and car bookings of a passenger.

        Args:
            passenger: Passenger name.
        """
        return {"success": True, "data": [dict(t) for t in self.transfer_bookings if t["passenger"] == passenger]}

    def get_itinerary_item(self, item_id: str) -> dict:
        """Get an itinerary item (meeting, session) with its site and start time.

        Args:
            item_id: Itinerary item ID, e.g. "IT-7".
        """
        it = self.itinerary.get(item_id)
        if it is None:
            return {"success": False, "error": f"itinerary item {item_id} not found"}
        return {"success": True, "data": {"item_id": item_id, **it}}

    # -- state-changing tools -------------------------------------------------------------
    def hold_room(self, rate_code: str, guest: str, check_in: str, check_out: str, rooms: int = 1) -> dict:
        """Place a short hold on rooms at a rate (the hold must be confirmed before it expires).

        Args:
            rate_code: Rate code.
            guest: Guest name.
            check_in: Check-in date, YYYY-MM-DD.
            check_out: Check-out date, YYYY-MM-DD.
            rooms: Number of rooms.
        """
        if not str(guest).strip():
            return {"success": False, "error": "guest is required"}
        rate, err = self._check_rate(rate_code, check_in, check_out, rooms)
        if err:
            return {"success": False, "error": err}
        self._take(rate, rooms, 1)
        hold = {"hold_id": self._next("HLD"), "rate_code": rate_code, "hotel_id": rate["hotel_id"],
                "room_id": rate["room_id"], "guest": guest, "check_in": check_in, "check_out": check_out,
                "rooms": rooms, "status": "held",
                "expires_at": (now() + timedelta(minutes=self.hold_minutes)).isoformat(timespec="minutes")}
        self.holds.append(hold)
        return {"success": True, "data": dict(hold)}

    def confirm_hold(self, hold_id: str) -> dict:
        """Confirm a held room into a booking.

        Args:
            hold_id: Hold ID.
        """
        h = self._find(self.holds, "hold_id", hold_id)
        if h is None:
            return {"success": False, "error": f"hold {hold_id} not found"}
        if h["status"] == "held" and now() > _dt(h["expires_at"]):
            h["status"] = "expired"
            self._take(self.rates[h["rate_code"]], h["rooms"], -1)
        if h["status"] != "held":
            return {"success": False, "error": f"hold {hold_id} is {h['status']}"}
        rate = self.rates[h["rate_code"]]
        if rate.get("status", "open") != "open":  # the rate was withdrawn: outstanding holds lapse
            h["status"] = "void"
            self._take(rate, h["rooms"], -1)
            return {"success": False, "error": f"hold {hold_id} is void: rate {h['rate_code']} is {rate['status']}"}
        h["status"] = "confirmed"
        b = self._new_booking(rate, h["rate_code"], h["guest"], h["check_in"], h["check_out"], h["rooms"],
                              "BK-" + hold_id.split("-")[-1])
        return {"success": True, "data": dict(b)}

    def book_room(self, rate_code: str, guest: str, check_in: str, check_out: str, rooms: int = 1) -> dict:
        """Book rooms at a rate directly (instant confirmation, no hold).

        Args:
            rate_code: Rate code.
            guest: Guest name.
            check_in: Check-in date, YYYY-MM-DD.
            check_out: Check-out date, YYYY-MM-DD.
            rooms: Number of rooms.
        """
        if not str(guest).strip():
            return {"success": False, "error": "guest is required"}
        rate, err = self._check_rate(rate_code, check_in, check_out, rooms)
        if err:
            return {"success": False, "error": err}
        self._take(rate, rooms, 1)
        b = self._new_booking(rate, rate_code, guest, check_in, check_out, rooms, self._next("BK"))
        return {"success": True, "data": dict(b)}

    def _new_booking(self, rate, rate_code, guest, check_in, check_out, rooms, booking_id):
        nights = (_day(check_out) - _day(check_in)).days
        b = {"booking_id": booking_id, "hotel_id": rate["hotel_id"], "rate_code": rate_code,
             "room_id": rate["room_id"], "guest": guest, "check_in": check_in, "check_out": check_out,
             "rooms": rooms, "nightly": rate["nightly"], "total": rate["nightly"] * nights * rooms,
             "status": "confirmed", "created": now().isoformat(timespec="minutes")}
        self.bookings.append(b)
        return b

    def release_hold(self, hold_id: str) -> dict:
        """Release a room hold.

        Args:
            hold_id: Hold ID.
        """
        h = self._find(self.holds, "hold_id", hold_id)
        if h is None:
            return {"success": False, "error": f"hold {hold_id} not found"}
        if h["status"] != "held":
            return {"success": False, "error": f"hold {hold_id} is {h['status']}"}
        h["status"] = "released"
        self._take(self.rates[h["rate_code"]], h["rooms"], -1)
        return {"success": True, "message": f"hold {hold_id} released"}

    def cancel_booking(self, booking_id: str) -> dict:
        """Cancel a hotel booking.

        Args:
            booking_id: Booking ID.
        """
        b = self._find(self.bookings, "booking_id", booking_id)
        if b is None:
            return {"success": False, "error": f"booking {booking_id} not found"}
        if b["status"] == "cancelled":
            return {"success": False, "error": f"booking {booking_id} is already cancelled"}
        was = b["status"]
        b["status"] = "cancelled"
        if was == "confirmed" and b["rate_code"] in self.rates:
            self._take(self.rates[b["rate_code"]], b["rooms"], -1)
        return {"success": True, "message": f"booking {booking_id} cancelled"}

    def book_transfer(self, transfer_id: str, booking_id: str, seats: int = 1) -> dict:
        """Book seats on a scheduled transfer serving the hotel of a booking.

        Args:
            transfer_id: Transfer ID.
            booking_id: Hotel booking the transfer belongs to.
            seats: Number of seats.
        """
        t = self.transfers.get(transfer_id)
        if t is None:
            return {"success": False, "error": f"transfer {transfer_id} not found"}
        b = self._find(self.bookings, "booking_id", booking_id)
        if b is None:
            return {"success": False, "error": f"booking {booking_id} not found"}
        if b["status"] != "confirmed":
            return {"success": False, "error": f"booking {booking_id} is {b['status']}"}
        if not isinstance(seats, int) or isinstance(seats, bool) or seats < 1:
            return {"success": False, "error": "seats must be a positive integer"}
        site = self.hotels[b["hotel_id"]]["site_id"]
        if site not in (t["from_site"], t["to_site"]):
            return {"success": False, "error": f"transfer {transfer_id} runs {t['from_site']}->{t['to_site']}; "
                                               f"booking {booking_id} is at {b['hotel_id']} ({site})"}
        if now() > _dt(t["depart"]):
            return {"success": False, "error": f"transfer {transfer_id} departed at {t['depart']}"}
        if t["seats_left"] < seats:
            return {"success": False, "error": f"transfer {transfer_id} has {t['seats_left']} seat(s) left"}
        t["seats_left"] -= seats
        tb = {"tb_id": self._next("TB"), "transfer_id": transfer_id, "booking_id": booking_id,
              "passenger": b["guest"], "from_site": t["from_site"], "to_site": t["to_site"],
              "depart": t["depart"], "arrive": t["arrive"], "seats": seats, "mode": "shuttle", "status": "booked"}
        self.transfer_bookings.append(tb)
        return {"success": True, "data": dict(tb)}

    def cancel_transfer(self, tb_id: str) -> dict:
        """Cancel a transfer or car booking.

        Args:
            tb_id: Transfer booking ID, e.g. "TB-1050".
        """
        tb = self._find(self.transfer_bookings, "tb_id", tb_id)
        if tb is None:
            return {"success": False, "error": f"transfer booking {tb_id} not found"}
        if tb["status"] != "booked":
            return {"success": False, "error": f"transfer booking {tb_id} is {tb['status']}"}
        tb["status"] = "cancelled"
        if tb.get("transfer_id") in self.transfers:
            self.transfers[tb["transfer_id"]]["seats_left"] += tb["seats"]
        return {"success": True, "message": f"transfer booking {tb_id} cancelled"}

    def book_private_car(self, from_site: str, to_site: str, pickup: str, passenger: str) -> dict:
        """Book a private car between two sites (charged per km).

        Args:
            from_site: Pick-up site ID.
            to_site: Drop-off site ID.
            pickup: Pick-up time, ISO format.
            passenger: Passenger name.
        """
        for s in (from_site, to_site):
            if s not in self.sites:
                return {"success": False, "error": f"site {s} not found"}
        p = _dt(pickup)
        if p is None:
            return {"success": False, "error": "pickup must be an ISO datetime"}
        if p < now():
            return {"success": False, "error": f"pickup {pickup} is in the past"}
        km = self._km(from_site, to_site)
        arrive = p + timedelta(minutes=int(round(km * 2.2 + 4)))
        tb = {"tb_id": self._next("TB"), "transfer_id": None, "booking_id": None, "passenger": passenger,
              "from_site": from_site, "to_site": to_site, "depart": p.isoformat(timespec="minutes"),
              "arrive": arrive.isoformat(timespec="minutes"), "seats": 1, "mode": "private_car",
              "fare": round(12 + km * 1.9, 2), "status": "booked"}
        self.transfer_bookings.append(tb)
        return {"success": True, "data": dict(tb)}
