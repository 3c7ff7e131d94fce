from datetime import datetime, timedelta


class CustomsFreightEnv:
    """Cross-border road freight: shipments routed over a hub graph through border crossings, customs
    clearances filed by brokers at the crossing, supporting documents and trucks."""

    MUTATING_TOOLS = ["file_clearance", "withdraw_clearance", "resubmit_clearance", "attach_document",
                      "book_route", "cancel_route", "dispatch_shipment", "recall_shipment"]

    def __init__(self, init_config: dict):
        self.hubs = init_config["hubs"]
        self.corridors = init_config["corridors"]
        self.shipments = init_config["shipments"]
        self.documents = init_config.get("documents", {})
        self.brokers = init_config.get("brokers", {})
        self.trucks = init_config.get("trucks", {})
        self.clearances = init_config.get("clearances", {})

    # -- helpers (private) -------------------------------------------------------------------
    def _corridor(self, a: str, b: str):
        for cid, c in self.corridors.items():
            if c["from"] == a and c["to"] == b:
                return cid, c
        return None, None

    def _doc_ok(self, doc_id) -> bool:
        d = self.documents.get(doc_id or "")
        if d is None or d["status"] != "valid":
            return False
        return datetime.fromisoformat(d["valid_until"]) > now()

    def _docs_error(self, sid: str):
        s = self.shipments[sid]
        for kind in s["required_documents"]:
            did = s["documents"].get(kind)
            if not did:
                return f"shipment {sid} has no {kind} on file"
            if not self._doc_ok(did):
                d = self.documents.get(did, {})
                return f"{kind} {did} is {d.get('status', 'missing')} (valid until {d.get('valid_until', '-')})"
        return None

    def _active_clearance(self, sid: str, crossing: str):
        for clid, c in self.clearances.items():
            if c["shipment_id"] == sid and c["crossing_id"] == crossing and c["status"] != "withdrawn":
                return clid, c
        return None, None

    def _path_error(self, sid: str, hub_ids: list):
        """None when the path is usable now, else a factual error; also returns minutes and crossing."""
        s = self.shipments[sid]
        if not isinstance(hub_ids, list) or len(hub_ids) < 2:
            return "route needs at least two hubs", 0, None
        if hub_ids[0] != s["origin"] or hub_ids[-1] != s["destination"]:
            return f"route must run from {s['origin']} to {s['destination']}", 0, None
        if len(set(hub_ids)) != len(hub_ids):
            return "route visits a hub twice", 0, None
        minutes, crossings = 0, []
        for h in hub_ids:
            hub = self.hubs.get(h)
            if hub is None:
                return f"hub {h} not found", 0, None
            if hub["status"] != "open":
                return f"hub {h} status {hub['status']}", 0, None
            if hub["kind"] == "border_crossing":
                crossings.append(h)
        for a, b in zip(hub_ids, hub_ids[1:]):
            cid, c = self._corridor(a, b)
            if c is None:
                return f"no corridor from {a} to {b}", 0, None
            if c["status"] != "open":
                return f"corridor {cid} ({a}-{b}) status {c['status']}", 0, None
            if s["weight_t"] > c["max_weight_t"]:
                return f"corridor {cid} ({a}-{b}) limit {c['max_weight_t']} t, shipment {s['weight_t']} t", 0, None
            minutes += c["minutes"]
        if len(crossings) != 1:
            return f"route passes {len(crossings)} border crossings (exactly 1 required)", 0, None
        x = crossings[0]
        minutes += self.hubs[x].get("queue_minutes", 0)
        clid, cl = self._active_clearance(sid, x)
        if cl is None:
            return f"no customs clearance for {sid} at {x}", 0, None
        if cl["status"] != "approved":
            return f"clearance {clid} status {cl['status']}", 0, None
        return None, minutes, x

    # -- queries -----------------------------------------------------------------------------
    def get_current_time(self) -> dict:
        """Current local time."""
        return {"success": True, "data": {"now": now().isoformat(timespec="minutes")}}

    def list_hubs(self, kind: str = "") -> dict:
        """List hubs (warehouses, terminals, border crossings, distribution centres) with coordinates and status.

        Args:
            kind: Only this kind: "warehouse", "terminal", "border_crossing", "distribution_centre", "depot" (empty for all).
        """
        rows = [dict(h, hub_id=k) for k, h in self.hubs.items() if not kind or h["kind"] == kind]
        return {"success": True, "data": rows}

    def get_hub(self, hub_id: str) -> dict:
        """Get one hub: kind, country, coordinates, status, opening hours and border queue.

        Args:
            hub_id: Hub ID, e.g. "BCP-41".
        """
        h = self.hubs.get(hub_id)
        if h is None:
            return {"success": False, "error": f"hub {hub_id} not found"}
        return {"success": True, "data": dict(h, hub_id=hub_id)}

    def list_corridors(self, hub_id: str = "") -> dict:
        """List road corridors (directed) with travel minutes, weight limit and status.

        Args:
            hub_id: Only corridors leaving this hub (empty for all).
        """
        if hub_id and hub_id not in self.hubs:
            return {"success": False, "error": f"hub {hub_id} not found"}
        rows = [dict(c, corridor_id=k) for k, c in self.corridors.items() if not hub_id or c["from"] == hub_id]
        return {"success": True, "data": rows}

    def get_shipment(self, shipment_id: str) -> dict:
        """Get a shipment: cargo, weight, origin, destination, deadline, documents, booked route and status.

        Args:
            shipment_id: Shipment ID, e.g. "SHP-20417".
        """
        s = self.shipments.get(shipment_id)
        if s is None:
            return {"success": False, "error": f"shipment {shipment_id} not found"}
        return {"success": True, "data": dict(s, shipment_id=shipment_id)}

    def list_shipments(self, status: str = "") -> dict:
        """List shipments with status and destination.

        Args:
            status: Only this status, e.g. "pending", "dispatched", "held" (empty for all).
        """
        rows = [{"shipment_id": k, "cargo": s["cargo"], "destination": s["destination"], "status": s["status"]}
                for k, s in self.shipments.items() if not status or s["status"] == status]
        return {"success": True, "data": rows}

    def list_documents(self, shipment_id: str) -> dict:
        """List the trade documents issued for a shipment (invoices, certificates) with validity.

        Args:
            shipment_id: Shipment ID.
        """
        if shipment_id not in self.shipments:
            return {"success": False, "error": f"shipment {shipment_id} not found"}
        rows = [dict(d, document_id=k) for k, d in self.documents.items() if d["shipment_id"] == shipment_id]
        return {"success": True, "data": rows}

    def get_clearance(self, clearance_id: str) -> dict:
        """Get a customs clearance: shipment, crossing, broker, procedure and status.

        Args:
            clearance_id: Clearance ID, e.g. "CLR-20417-41".
        """
        c = self.clearances.get(clearance_id)
        if c is None:
            return {"success": False, "error": f"clearance {clearance_id} not found"}
        return {"success": True, "data": dict(c, clearance_id=clearance_id)}

    def list_clearances(self, shipment_id: str) -> dict:
        """List the customs clearances filed for a shipment.

        Args:
            shipment_id: Shipment ID.
        """
        if shipment_id not in self.shipments:
            return {"success": False, "error": f"shipment {shipment_id} not found"}
        rows = [dict(c, clearance_id=k) for k, c in self.clearances.items() if c["shipment_id"] == shipment_id]
        return {"success": True, "data": rows}

    def list_brokers(self, crossing_id: str = "") -> dict:
        """List customs brokers, the crossings they are accredited at, fees and status.

        Args:
            crossing_id: Only brokers accredited at this crossing (empty for all).
        """
        rows = [dict(b, broker_id=k) for k, b in self.brokers.items()
                if not crossing_id or crossing_id in b["crossings"]]
        return {"success": True, "data": rows}

    def list_trucks(self, hub_id: str = "") -> dict:
        """List trucks with plate, hub, payload capacity and status.

        Args:
            hub_id: Only trucks at this hub (empty for all).
        """
        rows = [dict(t, truck_id=k) for k, t in self.trucks.items() if not hub_id or t["hub"] == hub_id]
        return {"success": True, "data": rows}

    def estimate_route(self, shipment_id: str, hub_ids: list) -> dict:
        """Check a hub sequence for a shipment without booking it: travel minutes and arrival time.

        Args:
            shipment_id: Shipment ID.
            hub_ids: Hub IDs in order from the shipment's origin to its destination.
        """
        if shipment_id not in self.shipments:
            return {"success": False, "error": f"shipment {shipment_id} not found"}
        err, minutes, x = self._path_error(shipment_id, hub_ids)
        if err:
            return {"success": False, "error": err}
        eta = (now() + timedelta(minutes=minutes)).isoformat(timespec="minutes")
        return {"success": True, "data": {"minutes": minutes, "crossing": x, "eta": eta}}

    # -- state changes -----------------------------------------------------------------------
    def attach_document(self, shipment_id: str, document_id: str) -> dict:
        """Put a document on file for a shipment (replaces the document of the same kind).

        Args:
            shipment_id: Shipment ID.
            document_id: Document ID.
        """
        s, d = self.shipments.get(shipment_id), self.documents.get(document_id)
        if s is None or d is None:
            return {"success": False, "error": "unknown shipment or document"}
        if d["shipment_id"] != shipment_id:
            return {"success": False, "error": f"document {document_id} was issued for {d['shipment_id']}"}
        if d["status"] != "valid":
            return {"success": False, "error": f"document {document_id} is {d['status']}"}
        s["documents"][d["kind"]] = document_id
        return {"success": True, "message": f"{document_id} on file as {d['kind']} for {shipment_id}"}

    def file_clearance(self, shipment_id: str, crossing_id: str, broker_id: str, procedure: str = "standard") -> dict:
        """File a customs clearance for a shipment at a border crossing through a broker.

        Args:
            shipment_id: Shipment ID.
            crossing_id: Border crossing hub ID.
            broker_id: Broker ID (must be accredited at the crossing).
            procedure: "standard" (export declaration, documents checked now) or "transit_bond" (goods move
                under a transit guarantee, documents checked at the destination office).
        """
        s, x, b = self.shipments.get(shipment_id), self.hubs.get(crossing_id), self.brokers.get(broker_id)
        if s is None:
            return {"success": False, "error": f"shipment {shipment_id} not found"}
        if x is None or x["kind"] != "border_crossing":
            return {"success": False, "error": f"{crossing_id} is not a border crossing"}
        if b is None:
            return {"success": False, "error": f"broker {broker_id} not found"}
        if procedure not in ("standard", "transit_bond"):
            return {"success": False, "error": f"unknown procedure {procedure}"}
        if crossing_id not in b["crossings"]:
            return {"success": False, "error": f"broker {broker_id} is not accredited at {crossing_id}"}
        if b["status"] != "active":
            return {"success": False, "error": f"broker {broker_id} status {b['status']}"}
        if x["status"] != "open":
            return {"success": False, "error": f"customs office at {crossing_id} status {x['status']}"}
        if s["status"] != "pending":
            return {"success": False, "error": f"shipment {shipment_id} is {s['status']}"}
        clid, cl = self._active_clearance(shipment_id, crossing_id)
        if cl is not None:
            return {"success": False, "error": f"clearance {clid} already on file ({cl['status']})"}
        if procedure == "standard":
            err = self._docs_error(shipment_id)
            if err:
                return {"success": False, "error": err}
        clid = f"CLR-{shipment_id.split('-')[-1]}-{crossing_id.split('-')[-1]}"
        self.clearances[clid] = {"shipment_id": shipment_id, "crossing_id": crossing_id, "broker_id": broker_id,
                                 "procedure": procedure, "status": "approved", "fee_eur": b["fee_eur"],
                                 "filed_at": now().isoformat(timespec="minutes")}
        return {"success": True, "data": {"clearance_id": clid, "status": "approved"}}

    def resubmit_clearance(self, clearance_id: str) -> dict:
        """Resubmit a suspended clearance with the shipment's current documents.

        Args:
            clearance_id: Clearance ID.
        """
        c = self.clearances.get(clearance_id)
        if c is None:
            return {"success": False, "error": f"clearance {clearance_id} not found"}
        if c["status"] != "suspended":
            return {"success": False, "error": f"clearance {clearance_id} is {c['status']}"}
        if self.hubs[c["crossing_id"]]["status"] != "open":
            return {"success": False, "error": f"customs office at {c['crossing_id']} status {self.hubs[c['crossing_id']]['status']}"}
        if c["procedure"] == "standard":
            err = self._docs_error(c["shipment_id"])
            if err:
                return {"success": False, "error": err}
        c["status"] = "approved"
        return {"success": True, "data": {"clearance_id": clearance_id, "status": "approved"}}

    def withdraw_clearance(self, clearance_id: str) -> dict:
        """Withdraw a clearance that is not in use by a dispatched shipment.

        Args:
            clearance_id: Clearance ID.
        """
        c = self.clearances.get(clearance_id)
        if c is None or c["status"] == "withdrawn":
            return {"success": False, "error": f"no active clearance {clearance_id}"}
        if c["status"] == "rejected":
            return {"success": False, "error": f"clearance {clearance_id} was rejected by customs; the rejection "
                                               "stays on record"}
        s = self.shipments[c["shipment_id"]]
        if s["status"] == "dispatched" and s.get("crossing") == c["crossing_id"]:
            return {"success": False, "error": f"shipment {c['shipment_id']} is under way through {c['crossing_id']}"}
        c["status"] = "withdrawn"
        return {"success": True, "message": f"{clearance_id} withdrawn"}

    def book_route(self, shipment_id: str, hub_ids: list) -> dict:
        """Book a route (hub sequence) for a pending shipment; replaces a previous booking.

        Args:
            shipment_id: Shipment ID.
            hub_ids: Hub IDs in order from the shipment's origin to its destination, e.g.
                ["WH-12", "TRM-30", "BCP-41", "DC-77"].
        """
        s = self.shipments.get(shipment_id)
        if s is None:
            return {"success": False, "error": f"shipment {shipment_id} not found"}
        if s["status"] != "pending":
            return {"success": False, "error": f"shipment {shipment_id} is {s['status']}"}
        err, minutes, x = self._path_error(shipment_id, hub_ids)
        if err:
            return {"success": False, "error": err}
        s["route"], s["crossing"], s["route_minutes"] = list(hub_ids), x, minutes
        return {"success": True, "data": {"shipment_id": shipment_id, "route": list(hub_ids), "minutes": minutes}}

    def cancel_route(self, shipment_id: str) -> dict:
        """Cancel the booked route of a pending shipment.

        Args:
            shipment_id: Shipment ID.
        """
        s = self.shipments.get(shipment_id)
        if s is None or not s.get("route"):
            return {"success": False, "error": f"no booked route for {shipment_id}"}
        if s["status"] != "pending":
            return {"success": False, "error": f"shipment {shipment_id} is {s['status']}"}
        s["route"], s["crossing"], s["route_minutes"] = None, None, 0
        return {"success": True, "message": f"route of {shipment_id} cancelled"}

    def dispatch_shipment(self, shipment_id: str, truck_id: str, hub_ids: list = None) -> dict:
        """Load a pending shipment on a truck at its origin and release it on the booked route, or on
        ``hub_ids`` when given (that route then replaces the booking).

        Args:
            shipment_id: Shipment ID.
            truck_id: Truck ID.
            hub_ids: Optional hub IDs from origin to destination (empty: the booked route).
        """
        s, t = self.shipments.get(shipment_id), self.trucks.get(truck_id)
        if s is None or t is None:
            return {"success": False, "error": "unknown shipment or truck"}
        if s["status"] != "pending":
            return {"success": False, "error": f"shipment {shipment_id} is {s['status']}"}
        route = list(hub_ids) if isinstance(hub_ids, list) and hub_ids else s.get("route")
        if not route:
            return {"success": False, "error": f"shipment {shipment_id} has no booked route"}
        if t["hub"] != s["origin"] or t["status"] != "available":
            return {"success": False, "error": f"truck {truck_id} is {t['status']} at {t['hub']}"}
        if t["capacity_t"] < s["weight_t"]:
            return {"success": False, "error": f"truck {truck_id} payload {t['capacity_t']} t < {s['weight_t']} t"}
        err, minutes, x = self._path_error(shipment_id, route)
        if err:
            return {"success": False, "error": err}
        s["route"], s["crossing"], s["route_minutes"] = route, x, minutes
        eta = now() + timedelta(minutes=minutes)
        if eta > datetime.fromisoformat(s["deliver_by"]):
            return {"success": False, "error": f"arrival {eta.isoformat(timespec='minutes')} is after {s['deliver_by']}"}
        t["status"] = "loaded"
        s.update(status="dispatched", truck=truck_id, eta=eta.isoformat(timespec="minutes"),
                 departed_at=now().isoformat(timespec="minutes"))
        return {"success": True, "data": {"shipment_id": shipment_id, "truck": truck_id, "eta": s["eta"]}}

    def recall_shipment(self, shipment_id: str) -> dict:
        """Recall a dispatched or held shipment to its origin; the route booking is released.

        Args:
            shipment_id: Shipment ID.
        """
        s = self.shipments.get(shipment_id)
        if s is None or s["status"] not in ("dispatched", "held"):
            return {"success": False, "error": f"shipment {shipment_id} is not under way"}
        if s.get("truck") in self.trucks:
            self.trucks[s["truck"]]["status"] = "available"
        s.update(status="pending", truck=None, eta=None, route=None, crossing=None, route_minutes=0)
        return {"success": True, "message": f"{shipment_id} recalled to {s['origin']}"}
