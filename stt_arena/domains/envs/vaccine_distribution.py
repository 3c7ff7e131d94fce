"""Vaccine distribution: cold stores ship vaccine lots to clinic sessions under daily dose quotas."""
from datetime import timedelta


def _iso(t):
    return t.replace(second=0, microsecond=0).isoformat()


class VaccineDistributionEnv:
    MUTATING_TOOLS = ["schedule_delivery", "cancel_delivery", "handoff_delivery", "reroute_delivery",
                      "allocate_doses", "release_allocation", "report_excursion"]

    def __init__(self, init_config: dict):
        self.sites = init_config.get("sites", {})
        self.legs = init_config.get("legs", {})
        self.lots = init_config.get("lots", {})
        self.quotas = init_config.get("quotas", {})
        self.sessions = init_config.get("sessions", {})
        self.allocations = init_config.get("allocations", {})
        self.couriers = init_config.get("couriers", {})
        self.deliveries = init_config.get("deliveries", {})
        self.handoffs = init_config.get("handoffs", [])
        self.excursions = init_config.get("excursions", [])
        self._dl_seq = int(init_config.get("delivery_seq", 100))
        self._al_seq = int(init_config.get("allocation_seq", 100))
        self._load = int(init_config.get("load_minutes", 15))

    # ------------------------------------------------------------------ helpers
    def _leg(self, a, b):
        return self.legs.get(f"{a}|{b}", self.legs.get(f"{b}|{a}"))

    def _route(self, points):
        total = 0
        for a, b in zip(points, points[1:]):
            m = self._leg(a, b)
            if m is None:
                return None, f"no road leg between {a} and {b}"
            total += m
        for p in points:
            if self.sites[p]["status"] != "operational":
                return None, f"site {p} status is {self.sites[p]['status']}"
        return total, ""

    def _quota(self, clinic_id, product, day):
        for k, q in sorted(self.quotas.items()):
            if q["clinic_id"] == clinic_id and q["product"] == product and q["day"] == day:
                return k, q
        return None, None

    def _used(self, clinic_id, product, day, skip=None):
        return sum(d["doses"] for k, d in self.deliveries.items() if k != skip and d["status"] == "in_transit"
                   and d["clinic_id"] == clinic_id and d["product"] == product and d["day"] == day)

    def _allocated(self, session_id):
        return sum(a["doses"] for a in self.allocations.values()
                   if a["session_id"] == session_id and a["status"] == "active")

    def _delivered(self, session_id):
        return sum(d["doses"] for d in self.deliveries.values()
                   if d["session_id"] == session_id and d["status"] == "in_transit")

    def _check(self, lot_id, sess, courier_id, eta):
        """Error text for carrying doses of a lot to a session with a courier at an ETA, or ""."""
        c, lot = self.couriers[courier_id], self.lots[lot_id]
        if lot["status"] != "released":
            return f"lot {lot_id} status is {lot['status']}"
        if eta > lot["expires_at"]:
            return f"lot {lot_id} expires at {lot['expires_at']}, ETA {eta}"
        if lot["product"] not in sess["products"]:
            return f"the session does not use product {lot['product']}"
        if eta > sess["start"]:
            return f"ETA {eta} is after the session start {sess['start']}"
        if c["fridge"] != "ok":
            return f"courier {courier_id} fridge status is {c['fridge']}"
        if c["shift_end"] < eta:
            return f"courier {courier_id} shift ends at {c['shift_end']}, ETA {eta}"
        return ""

    # ------------------------------------------------------------------ queries
    def list_sites(self, kind: str = "") -> dict:
        """List cold stores, relay depots and clinics with kind, status and coordinates.

        Args:
            kind: "cold_store", "depot" or "clinic"; empty for all.
        """
        out = [{"site_id": k, "name": v["name"], "kind": v["kind"], "status": v["status"], "lat": v["lat"],
                "lon": v["lon"]} for k, v in sorted(self.sites.items()) if not kind or v["kind"] == kind]
        return {"success": True, "data": out}

    def get_site(self, site_id: str) -> dict:
        """Get one site: kind, coordinates, status and handoff bay.

        Args:
            site_id: Site ID, e.g. "DEP-31".
        """
        s = self.sites.get(site_id)
        if s is None:
            return {"success": False, "error": f"site {site_id} not found"}
        return {"success": True, "data": {"site_id": site_id, **s}}

    def get_travel_time(self, from_site: str, to_site: str) -> dict:
        """Road travel minutes of the direct leg between two sites.

        Args:
            from_site: Start site ID.
            to_site: End site ID.
        """
        for s in (from_site, to_site):
            if s not in self.sites:
                return {"success": False, "error": f"site {s} not found"}
        m = self._leg(from_site, to_site)
        if m is None:
            return {"success": False, "error": f"no road leg between {from_site} and {to_site}"}
        return {"success": True, "data": {"from_site": from_site, "to_site": to_site, "minutes": m}}

    def list_lots(self, product: str = "", site_id: str = "") -> dict:
        """List vaccine lots with product, cold store, doses, reserved doses, expiry and release status.

        Args:
            product: Product filter, e.g. "Spikevax"; empty for all.
            site_id: Cold store filter; empty for all.
        """
        out = [{"lot_id": k, **v, "available": v["doses"] - v["reserved"]} for k, v in sorted(self.lots.items())
               if (not product or v["product"].lower() == product.lower()) and (not site_id or v["site_id"] == site_id)]
        return {"success": True, "data": out}

    def get_lot(self, lot_id: str) -> dict:
        """Get one vaccine lot.

        Args:
            lot_id: Lot ID, e.g. "LOT-4821".
        """
        v = self.lots.get(lot_id)
        if v is None:
            return {"success": False, "error": f"lot {lot_id} not found"}
        return {"success": True, "data": {"lot_id": lot_id, **v, "available": v["doses"] - v["reserved"]}}

    def list_quotas(self, clinic_id: str = "") -> dict:
        """List daily dose quotas per clinic, product and day, with limit, used doses, status and reset time.

        Args:
            clinic_id: Clinic filter; empty for all.
        """
        out = []
        for k, q in sorted(self.quotas.items()):
            if clinic_id and q["clinic_id"] != clinic_id:
                continue
            used = self._used(q["clinic_id"], q["product"], q["day"])
            out.append({"quota_id": k, **q, "used": used, "remaining": q["limit"] - used})
        return {"success": True, "data": out}

    def list_sessions(self, clinic_id: str = "") -> dict:
        """List vaccination sessions: clinic, priority group and rank, start, doses needed, allocated and delivered.

        Args:
            clinic_id: Clinic filter; empty for all.
        """
        out = [{"session_id": k, **v, "allocated": self._allocated(k), "delivered": self._delivered(k)}
               for k, v in sorted(self.sessions.items()) if not clinic_id or v["clinic_id"] == clinic_id]
        return {"success": True, "data": out}

    def get_session(self, session_id: str) -> dict:
        """Get one vaccination session.

        Args:
            session_id: Session ID, e.g. "SES-207".
        """
        v = self.sessions.get(session_id)
        if v is None:
            return {"success": False, "error": f"session {session_id} not found"}
        return {"success": True, "data": {"session_id": session_id, **v, "allocated": self._allocated(session_id),
                                          "delivered": self._delivered(session_id)}}

    def list_couriers(self, site_id: str = "") -> dict:
        """List couriers with current site, status, shift end, fridge status and capacity.

        Args:
            site_id: Site filter; empty for all.
        """
        out = [{"courier_id": k, **v} for k, v in sorted(self.couriers.items()) if not site_id or v["site_id"] == site_id]
        return {"success": True, "data": out}

    def get_courier(self, courier_id: str) -> dict:
        """Get one courier.

        Args:
            courier_id: Courier ID, e.g. "CR-18".
        """
        c = self.couriers.get(courier_id)
        if c is None:
            return {"success": False, "error": f"courier {courier_id} not found"}
        return {"success": True, "data": {"courier_id": courier_id, **c}}

    def list_deliveries(self, clinic_id: str = "") -> dict:
        """List deliveries with lot, session, doses, courier, ETA and status.

        Args:
            clinic_id: Clinic filter; empty for all.
        """
        out = [{"delivery_id": k, **v} for k, v in sorted(self.deliveries.items())
               if not clinic_id or v["clinic_id"] == clinic_id]
        return {"success": True, "data": out}

    def get_delivery(self, delivery_id: str) -> dict:
        """Get one delivery, with the status of each site on its path.

        Args:
            delivery_id: Delivery ID, e.g. "DL-311".
        """
        d = self.deliveries.get(delivery_id)
        if d is None:
            return {"success": False, "error": f"delivery {delivery_id} not found"}
        return {"success": True, "data": {"delivery_id": delivery_id, **d,
                                          "path_status": [self.sites[s]["status"] for s in d["path"]]}}

    def list_allocations(self, session_id: str = "") -> dict:
        """List dose allocations (session, lot, doses, status).

        Args:
            session_id: Session filter; empty for all.
        """
        out = [{"allocation_id": k, **v} for k, v in sorted(self.allocations.items())
               if not session_id or v["session_id"] == session_id]
        return {"success": True, "data": out}

    # ------------------------------------------------------------------ actions
    def schedule_delivery(self, lot_id: str, session_id: str, doses: int, courier_id: str) -> dict:
        """Send doses of a lot from its cold store to a session's clinic with a courier based at that store.

        Args:
            lot_id: Lot to draw doses from.
            session_id: Receiving session.
            doses: Number of doses.
            courier_id: Courier who collects and carries them.
        """
        lot, sess, c = self.lots.get(lot_id), self.sessions.get(session_id), self.couriers.get(courier_id)
        if lot is None:
            return {"success": False, "error": f"lot {lot_id} not found"}
        if sess is None:
            return {"success": False, "error": f"session {session_id} not found"}
        if c is None:
            return {"success": False, "error": f"courier {courier_id} not found"}
        if not isinstance(doses, int) or isinstance(doses, bool) or doses <= 0:
            return {"success": False, "error": "doses must be a positive integer"}
        if c["status"] != "available":
            return {"success": False, "error": f"courier {courier_id} status is {c['status']}"}
        if c["site_id"] != lot["site_id"]:
            return {"success": False, "error": f"courier {courier_id} is at {c['site_id']}, lot {lot_id} at {lot['site_id']}"}
        if doses > c["capacity"]:
            return {"success": False, "error": f"courier {courier_id} carries at most {c['capacity']} doses"}
        if lot["doses"] - lot["reserved"] < doses:
            return {"success": False, "error": f"lot {lot_id} has {lot['doses'] - lot['reserved']} doses available"}
        clinic = sess["clinic_id"]
        path = [lot["site_id"], clinic]
        minutes, err = self._route(path)
        if minutes is None:
            return {"success": False, "error": err}
        eta = _iso(now() + timedelta(minutes=minutes + self._load))
        bad = self._check(lot_id, sess, courier_id, eta)
        if bad:
            return {"success": False, "error": bad}
        day = sess["start"][:10]
        qid, q = self._quota(clinic, lot["product"], day)
        if q is None:
            return {"success": False, "error": f"no dose quota for {lot['product']} at {clinic} on {day}"}
        used = self._used(clinic, lot["product"], day)
        if used + doses > q["limit"]:
            return {"success": False, "error": f"quota {qid} for {lot['product']} at {clinic} on {day}: "
                                               f"{used} of {q['limit']} doses used, {doses} requested"}
        self._dl_seq += 1
        did = f"DL-{self._dl_seq}"
        self.deliveries[did] = {"lot_id": lot_id, "session_id": session_id, "clinic_id": clinic,
                                "product": lot["product"], "doses": doses, "courier_id": courier_id, "path": path,
                                "eta": eta, "day": day, "status": "in_transit", "created_at": _iso(now())}
        lot["reserved"] += doses
        c["status"], c["delivery_id"] = "on_route", did
        return {"success": True, "data": {"delivery_id": did, "eta": eta, "path": path}}

    def _active(self, delivery_id):
        d = self.deliveries.get(delivery_id)
        if d is None:
            return None, f"delivery {delivery_id} not found"
        if d["status"] != "in_transit":
            return None, f"delivery {delivery_id} status is {d['status']}"
        return d, ""

    def cancel_delivery(self, delivery_id: str) -> dict:
        """Cancel a delivery; its doses go back to the lot and the courier is released.

        Args:
            delivery_id: Delivery to cancel.
        """
        d, err = self._active(delivery_id)
        if d is None:
            return {"success": False, "error": err}
        d["status"] = "cancelled"
        lot = self.lots.get(d["lot_id"])
        if lot is not None:
            lot["reserved"] = max(0, lot["reserved"] - d["doses"])
        c = self.couriers.get(d["courier_id"])
        if c is not None and c.get("delivery_id") == delivery_id:
            c["delivery_id"] = None
            if c["status"] == "on_route":
                c["status"] = "available"
        return {"success": True, "message": f"delivery {delivery_id} cancelled"}

    def reroute_delivery(self, delivery_id: str, via_site: str) -> dict:
        """Route a delivery through a relay depot on its way to the clinic (ETA recomputed).

        Args:
            delivery_id: Delivery to reroute.
            via_site: Depot the delivery must pass through.
        """
        d, err = self._active(delivery_id)
        if d is None:
            return {"success": False, "error": err}
        site = self.sites.get(via_site)
        if site is None:
            return {"success": False, "error": f"site {via_site} not found"}
        if site["kind"] != "depot":
            return {"success": False, "error": f"site {via_site} is a {site['kind']}, not a depot"}
        path = [d["path"][0], via_site, d["clinic_id"]]
        minutes, err = self._route(path)
        if minutes is None:
            return {"success": False, "error": err}
        eta = _iso(now() + timedelta(minutes=minutes))
        sess = self.sessions[d["session_id"]]
        if eta > sess["start"]:
            return {"success": False, "error": f"ETA {eta} is after the session start {sess['start']}"}
        d["path"], d["eta"] = path, eta
        return {"success": True, "data": {"delivery_id": delivery_id, "path": path, "eta": eta}}

    def handoff_delivery(self, delivery_id: str, to_courier_id: str, site_id: str) -> dict:
        """Hand a delivery over to another courier at a depot on its path.

        Args:
            delivery_id: Delivery in transit.
            to_courier_id: Courier taking over.
            site_id: Handoff depot (on the delivery path).
        """
        d, err = self._active(delivery_id)
        if d is None:
            return {"success": False, "error": err}
        c = self.couriers.get(to_courier_id)
        if c is None:
            return {"success": False, "error": f"courier {to_courier_id} not found"}
        site = self.sites.get(site_id)
        if site is None:
            return {"success": False, "error": f"site {site_id} not found"}
        if to_courier_id == d["courier_id"]:
            return {"success": False, "error": f"courier {to_courier_id} already carries delivery {delivery_id}"}
        if site_id not in d["path"] or site["kind"] != "depot":
            return {"success": False, "error": f"site {site_id} is not a depot on the path of delivery {delivery_id}"}
        if site["status"] != "operational" or site.get("handoff_bay") != "open":
            return {"success": False, "error": f"handoff bay at {site_id} is {site.get('handoff_bay')}, site {site['status']}"}
        if c["status"] != "available":
            return {"success": False, "error": f"courier {to_courier_id} status is {c['status']}"}
        if c["site_id"] != site_id:
            return {"success": False, "error": f"courier {to_courier_id} is at {c['site_id']}, not {site_id}"}
        i = d["path"].index(site_id)
        minutes, err = self._route(d["path"][i:])
        if minutes is None:
            return {"success": False, "error": err}
        eta = _iso(now() + timedelta(minutes=minutes + 10))
        bad = self._check(d["lot_id"], self.sessions[d["session_id"]], to_courier_id, eta)
        if bad:
            return {"success": False, "error": bad}
        old = self.couriers.get(d["courier_id"])
        if old is not None and old.get("delivery_id") == delivery_id:
            old["delivery_id"] = None
            if old["status"] == "on_route":
                old["status"] = "available"
        c["status"], c["delivery_id"] = "on_route", delivery_id
        self.handoffs.append({"delivery_id": delivery_id, "from": d["courier_id"], "to": to_courier_id,
                              "site_id": site_id, "time": _iso(now())})
        d["courier_id"], d["eta"] = to_courier_id, eta
        return {"success": True, "data": {"delivery_id": delivery_id, "courier_id": to_courier_id, "eta": eta}}

    def allocate_doses(self, session_id: str, lot_id: str, doses: int) -> dict:
        """Allocate doses of a lot to a session (sessions of a clinic and day are served in priority rank order).

        Args:
            session_id: Session receiving the doses.
            lot_id: Lot the doses come from.
            doses: Number of doses.
        """
        sess, lot = self.sessions.get(session_id), self.lots.get(lot_id)
        if sess is None:
            return {"success": False, "error": f"session {session_id} not found"}
        if lot is None:
            return {"success": False, "error": f"lot {lot_id} not found"}
        if not isinstance(doses, int) or isinstance(doses, bool) or doses <= 0:
            return {"success": False, "error": "doses must be a positive integer"}
        if lot["status"] != "released":
            return {"success": False, "error": f"lot {lot_id} status is {lot['status']}"}
        if lot["product"] not in sess["products"]:
            return {"success": False, "error": f"session {session_id} does not use product {lot['product']}"}
        if lot["doses"] - lot["reserved"] < doses:
            return {"success": False, "error": f"lot {lot_id} has {lot['doses'] - lot['reserved']} doses available"}
        have = self._allocated(session_id)
        if have + doses > sess["doses_needed"]:
            return {"success": False, "error": f"session {session_id} needs {sess['doses_needed']} doses, "
                                               f"{have} allocated, {doses} requested"}
        for k, o in sorted(self.sessions.items()):
            if k != session_id and o["clinic_id"] == sess["clinic_id"] and o["start"][:10] == sess["start"][:10] \
                    and o["rank"] < sess["rank"] and self._allocated(k) < o["doses_needed"]:
                return {"success": False, "error": f"session {k} (rank {o['rank']}, {o['group']}) has "
                                                   f"{self._allocated(k)} of {o['doses_needed']} doses allocated"}
        self._al_seq += 1
        aid = f"AL-{self._al_seq}"
        self.allocations[aid] = {"session_id": session_id, "lot_id": lot_id, "doses": doses, "status": "active",
                                 "created_at": _iso(now())}
        lot["reserved"] += doses
        return {"success": True, "data": {"allocation_id": aid, "session_id": session_id, "doses": doses}}

    def release_allocation(self, allocation_id: str) -> dict:
        """Release a dose allocation back to its lot.

        Args:
            allocation_id: Allocation ID, e.g. "AL-140".
        """
        a = self.allocations.get(allocation_id)
        if a is None:
            return {"success": False, "error": f"allocation {allocation_id} not found"}
        if a["status"] != "active":
            return {"success": False, "error": f"allocation {allocation_id} status is {a['status']}"}
        a["status"] = "released"
        lot = self.lots.get(a["lot_id"])
        if lot is not None:
            lot["reserved"] = max(0, lot["reserved"] - a["doses"])
        return {"success": True, "message": f"allocation {allocation_id} released"}

    def report_excursion(self, delivery_id: str, note: str) -> dict:
        """Record a cold-chain excursion or custody note for a delivery.

        Args:
            delivery_id: Delivery concerned.
            note: Short description.
        """
        if delivery_id not in self.deliveries:
            return {"success": False, "error": f"delivery {delivery_id} not found"}
        if not note or not note.strip():
            return {"success": False, "error": "note is empty"}
        self.excursions.append({"delivery_id": delivery_id, "note": note.strip()[:200], "time": _iso(now())})
        return {"success": True, "message": f"excursion report {len(self.excursions)} recorded"}
