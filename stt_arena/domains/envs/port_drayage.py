"""Container port drayage and cross-border freight: terminals, pickup appointments, customs holds,
border crossings on a route graph with travel minutes, trucks and dispatched moves."""
import heapq
from datetime import datetime, timedelta


def _iso(t):
    return t.replace(second=0, microsecond=0).isoformat()


class PortDrayageEnv:
    MUTATING_TOOLS = ["book_slot", "cancel_booking", "submit_document", "dispatch_move", "cancel_move",
                      "reassign_truck"]

    def __init__(self, init_config: dict):
        self.nodes = init_config.get("nodes", {})
        self.segments = init_config.get("segments", {})
        self.containers = init_config.get("containers", {})
        self.documents = init_config.get("documents", {})
        self.slots = init_config.get("slots", {})
        self.bookings = init_config.get("bookings", {})
        self.trucks = init_config.get("trucks", {})
        self.moves = init_config.get("moves", {})
        self._bk_seq = int(init_config.get("booking_seq", 100))
        self._mv_seq = int(init_config.get("move_seq", 500))
        self._dwell = int(init_config.get("terminal_dwell_minutes", 30))

    # ------------------------------------------------------------------ helpers
    def _seg_ok(self, seg, cont):
        if seg.get("status") != "open":
            return False
        if cont is not None:
            if cont["gross_kg"] > seg.get("max_load_kg", 10 ** 9):
                return False
            if cont.get("hazmat_class") and not seg.get("hazmat", True):
                return False
        return True

    def _path(self, src, dst, cont=None):
        """Fastest path over permitted segments and open nodes; border crossings and warehouses are
        never passed through. Returns (minutes, nodes, segment ids) or None."""
        if self.nodes.get(src, {}).get("status") != "open" or self.nodes.get(dst, {}).get("status") != "open":
            return None
        adj = {}
        for sid, sg in self.segments.items():
            if not self._seg_ok(sg, cont):
                continue
            for a, b in ((sg["a"], sg["b"]), (sg["b"], sg["a"])):
                nb = self.nodes.get(b, {})
                if nb.get("status") != "open":
                    continue
                if b != dst and nb.get("kind") in ("border_crossing", "warehouse"):
                    continue
                adj.setdefault(a, []).append((sg["minutes"], b, sid))
        heap = [(0, src, [src], [])]
        seen = set()
        while heap:
            d, node, path, segs = heapq.heappop(heap)
            if node == dst:
                return d, path, segs
            if node in seen:
                continue
            seen.add(node)
            for m, nxt, sid in sorted(adj.get(node, [])):
                if nxt not in seen:
                    heapq.heappush(heap, (d + m, nxt, path + [nxt], segs + [sid]))
        return None

    def _active_move(self, container_id):
        for k, m in sorted(self.moves.items()):
            if m["container_id"] == container_id and m["status"] == "dispatched":
                return k
        return None

    def _plan(self, cont, cid, truck, booking_id, destination_id, crossing_id):
        """Validate a move: (record, None) or (None, error)."""
        bk = self.bookings.get(booking_id)
        if bk is None:
            return None, f"booking {booking_id} not found"
        if bk["container_id"] != cid:
            return None, f"booking {booking_id} is for container {bk['container_id']}"
        if bk["status"] != "confirmed":
            return None, f"booking {booking_id} status is {bk['status']}"
        slot = self.slots[bk["slot_id"]]
        if slot["status"] != "open":
            return None, f"slot {bk['slot_id']} of booking {booking_id} status is {slot['status']}"
        if slot["node_id"] != cont["location"]:
            return None, f"booking {booking_id} is at {slot['node_id']}; container {cid} is at {cont['location']}"
        dest, xng = self.nodes.get(destination_id), self.nodes.get(crossing_id)
        if dest is None or dest.get("kind") != "warehouse":
            return None, f"warehouse {destination_id} not found"
        if xng is None or xng.get("kind") != "border_crossing":
            return None, f"border crossing {crossing_id} not found"
        if xng["status"] != "open":
            return None, f"border crossing {crossing_id} status is {xng['status']}"
        if dest["status"] != "open":
            return None, f"warehouse {destination_id} status is {dest['status']}"
        if cont.get("hazmat_class") and not truck.get("hazmat_endorsed"):
            return None, f"driver of truck {truck['id']} has no hazmat endorsement"
        appr = self._path(truck["location"], cont["location"])
        if appr is None:
            return None, f"no open road from {truck['location']} to {cont['location']}"
        leg1 = self._path(cont["location"], crossing_id, cont)
        leg2 = self._path(crossing_id, destination_id, cont)
        if leg1 is None or leg2 is None:
            return None, (f"no permitted route from {cont['location']} via {crossing_id} to {destination_id} "
                          f"for {cont['gross_kg']} kg" + (f", hazmat class {cont['hazmat_class']}" if cont.get("hazmat_class") else ""))
        t = now() + timedelta(minutes=appr[0])
        start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
        pickup = max(t, start)
        if pickup > end:
            return None, f"truck reaches {cont['location']} at {_iso(t)}, after slot {bk['slot_id']} ends at {slot['end']}"
        mins = self._dwell + leg1[0] + int(xng.get("wait_minutes", 0)) + leg2[0]
        eta = _iso(pickup + timedelta(minutes=mins))
        if eta > cont["deliver_by"]:
            return None, f"ETA {eta} at {destination_id} is after the delivery deadline {cont['deliver_by']}"
        rec = {"container_id": cid, "truck_id": truck["id"], "booking_id": booking_id,
               "pickup_node": cont["location"], "crossing_id": crossing_id, "destination_id": destination_id,
               "path": leg1[1] + leg2[1][1:], "segment_ids": leg1[2] + leg2[2], "pickup_at": _iso(pickup),
               "eta": eta, "status": "dispatched", "created_at": _iso(now())}
        return rec, None

    def _move_view(self, mid):
        m = self.moves[mid]
        c = self.containers.get(m["container_id"], {})
        bk = self.bookings.get(m["booking_id"], {})
        return {"move_id": mid, **m,
                "node_status": [self.nodes[n]["status"] for n in m["path"] if n in self.nodes],
                "segment_status": [{"segment_id": s, "status": self.segments[s]["status"],
                                    "max_load_kg": self.segments[s].get("max_load_kg"),
                                    "hazmat": self.segments[s].get("hazmat", True)}
                                   for s in m["segment_ids"] if s in self.segments],
                "container_location": c.get("location"), "customs_status": c.get("customs_status"),
                "booking_status": bk.get("status")}

    # ------------------------------------------------------------------ queries
    def list_nodes(self, kind: str = "") -> dict:
        """List network nodes (terminals, off-dock yards, junctions, border crossings, warehouses, truck yards).

        Args:
            kind: Node kind filter, e.g. "terminal" or "border_crossing"; empty for all.
        """
        out = [{"node_id": k, "name": v["name"], "kind": v["kind"], "status": v["status"], "country": v["country"]}
               for k, v in sorted(self.nodes.items()) if not kind or v["kind"] == kind.strip().lower()]
        return {"success": True, "data": out}

    def get_node(self, node_id: str) -> dict:
        """Get a node: kind, status, coordinates, country, gate hours and border wait time.

        Args:
            node_id: Node ID, e.g. "XNG-41".
        """
        n = self.nodes.get(node_id)
        if n is None:
            return {"success": False, "error": f"node {node_id} not found"}
        return {"success": True, "data": {"node_id": node_id, **n}}

    def list_segments(self, node_id: str = "") -> dict:
        """List road segments with travel minutes, status, load limit and hazmat permission.

        Args:
            node_id: Only segments touching this node; empty for all.
        """
        out = [{"segment_id": k, **v} for k, v in sorted(self.segments.items())
               if not node_id or node_id in (v["a"], v["b"])]
        return {"success": True, "data": out}

    def get_route(self, from_node: str, to_node: str, container_id: str = "") -> dict:
        """Fastest permitted road route between two nodes (not passing through crossings or warehouses).

        Args:
            from_node: Start node ID.
            to_node: End node ID.
            container_id: Apply this container's weight and hazmat restrictions; empty for none.
        """
        for n in (from_node, to_node):
            if n not in self.nodes:
                return {"success": False, "error": f"node {n} not found"}
        cont = None
        if container_id:
            cont = self.containers.get(container_id)
            if cont is None:
                return {"success": False, "error": f"container {container_id} not found"}
        p = self._path(from_node, to_node, cont)
        if p is None:
            return {"success": False, "error": f"no permitted route from {from_node} to {to_node}"}
        return {"success": True, "data": {"minutes": p[0], "path": p[1], "segment_ids": p[2]}}

    def get_container(self, container_id: str) -> dict:
        """Get a container: type, gross weight, hazmat class, location, customs status, delivery deadline.

        Args:
            container_id: Container number, e.g. "MSCU4829103".
        """
        c = self.containers.get(container_id)
        if c is None:
            return {"success": False, "error": f"container {container_id} not found"}
        bk = next((k for k, b in sorted(self.bookings.items()) if b["container_id"] == container_id
                   and b["status"] == "confirmed"), None)
        return {"success": True, "data": {"container_id": container_id, **c, "booking_id": bk,
                                          "active_move": self._active_move(container_id)}}

    def list_containers(self, location: str = "") -> dict:
        """List containers with location, customs status and delivery deadline.

        Args:
            location: Node ID filter; empty for all.
        """
        out = [{"container_id": k, "location": v["location"], "customs_status": v["customs_status"],
                "consignee": v["consignee"], "deliver_by": v["deliver_by"]}
               for k, v in sorted(self.containers.items()) if not location or v["location"] == location]
        return {"success": True, "data": out}

    def list_documents(self, container_id: str) -> dict:
        """List customs documents on file for a container.

        Args:
            container_id: Container number.
        """
        if container_id not in self.containers:
            return {"success": False, "error": f"container {container_id} not found"}
        out = [{"document_id": k, **v} for k, v in sorted(self.documents.items()) if v["container_id"] == container_id]
        return {"success": True, "data": out}

    def list_slots(self, node_id: str) -> dict:
        """List pickup appointment slots at a terminal or yard: window, capacity, booked count and gate fee.

        Args:
            node_id: Terminal or yard node ID.
        """
        if node_id not in self.nodes:
            return {"success": False, "error": f"node {node_id} not found"}
        out = [{"slot_id": k, **v, "free": v["capacity"] - v["booked"]}
               for k, v in sorted(self.slots.items()) if v["node_id"] == node_id]
        return {"success": True, "data": out}

    def get_booking(self, booking_id: str) -> dict:
        """Get a pickup appointment booking with its slot window and status.

        Args:
            booking_id: Booking ID, e.g. "BK-204".
        """
        b = self.bookings.get(booking_id)
        if b is None:
            return {"success": False, "error": f"booking {booking_id} not found"}
        s = self.slots.get(b["slot_id"], {})
        return {"success": True, "data": {"booking_id": booking_id, **b, "node_id": s.get("node_id"),
                                          "start": s.get("start"), "end": s.get("end")}}

    def list_trucks(self, location: str = "") -> dict:
        """List trucks with driver, location, status and hazmat endorsement.

        Args:
            location: Node ID filter; empty for all.
        """
        out = [{"truck_id": k, **v} for k, v in sorted(self.trucks.items()) if not location or v["location"] == location]
        return {"success": True, "data": out}

    def get_move(self, move_id: str) -> dict:
        """Get a dispatched move: container, truck, booking, path with node/segment status, pickup time, ETA.

        Args:
            move_id: Move ID, e.g. "MV-512".
        """
        if move_id not in self.moves:
            return {"success": False, "error": f"move {move_id} not found"}
        return {"success": True, "data": self._move_view(move_id)}

    def list_moves(self, container_id: str = "") -> dict:
        """List moves with container, truck, crossing, ETA and status.

        Args:
            container_id: Container filter; empty for all.
        """
        out = [{"move_id": k, "container_id": v["container_id"], "truck_id": v["truck_id"],
                "crossing_id": v["crossing_id"], "pickup_node": v["pickup_node"], "eta": v["eta"], "status": v["status"]}
               for k, v in sorted(self.moves.items()) if not container_id or v["container_id"] == container_id]
        return {"success": True, "data": out}

    # ------------------------------------------------------------------ actions
    def book_slot(self, slot_id: str, container_id: str) -> dict:
        """Book a pickup appointment slot for a container at the node where it sits.

        Args:
            slot_id: Slot ID, e.g. "APT-311".
            container_id: Container number.
        """
        s, c = self.slots.get(slot_id), self.containers.get(container_id)
        if s is None:
            return {"success": False, "error": f"slot {slot_id} not found"}
        if c is None:
            return {"success": False, "error": f"container {container_id} not found"}
        if s["node_id"] != c["location"]:
            return {"success": False, "error": f"slot {slot_id} is at {s['node_id']}; container {container_id} is at {c['location']}"}
        if s["status"] != "open":
            return {"success": False, "error": f"slot {slot_id} status is {s['status']}"}
        if s["end"] < _iso(now()):
            return {"success": False, "error": f"slot {slot_id} ended at {s['end']}"}
        if s["booked"] >= s["capacity"]:
            return {"success": False, "error": f"slot {slot_id} is full ({s['booked']}/{s['capacity']})"}
        for k, b in sorted(self.bookings.items()):
            if b["container_id"] == container_id and b["status"] == "confirmed":
                return {"success": False, "error": f"container {container_id} already holds booking {k}"}
        self._bk_seq += 1
        bid = f"BK-{self._bk_seq}"
        self.bookings[bid] = {"slot_id": slot_id, "container_id": container_id, "status": "confirmed",
                              "booked_at": _iso(now())}
        s["booked"] += 1
        return {"success": True, "data": {"booking_id": bid, "slot_id": slot_id, "start": s["start"], "end": s["end"],
                                          "gate_fee_usd": s.get("fee_usd", 0)}}

    def cancel_booking(self, booking_id: str) -> dict:
        """Cancel a confirmed pickup appointment booking.

        Args:
            booking_id: Booking ID.
        """
        b = self.bookings.get(booking_id)
        if b is None:
            return {"success": False, "error": f"booking {booking_id} not found"}
        if b["status"] != "confirmed":
            return {"success": False, "error": f"booking {booking_id} status is {b['status']}"}
        for k, m in sorted(self.moves.items()):
            if m["booking_id"] == booking_id and m["status"] == "dispatched":
                return {"success": False, "error": f"booking {booking_id} is used by dispatched move {k}"}
        b["status"] = "cancelled"
        s = self.slots.get(b["slot_id"])
        if s is not None:
            s["booked"] = max(0, s["booked"] - 1)
        return {"success": True, "message": f"booking {booking_id} cancelled"}

    def submit_document(self, container_id: str, document_id: str) -> dict:
        """Submit a document on file to customs against a container's hold.

        Args:
            container_id: Container number.
            document_id: Document ID, e.g. "DOC-4410".
        """
        c, d = self.containers.get(container_id), self.documents.get(document_id)
        if c is None:
            return {"success": False, "error": f"container {container_id} not found"}
        if d is None:
            return {"success": False, "error": f"document {document_id} not found"}
        if d["container_id"] != container_id:
            return {"success": False, "error": f"document {document_id} belongs to container {d['container_id']}"}
        if c["customs_status"] != "hold":
            return {"success": False, "error": f"container {container_id} customs status is {c['customs_status']}"}
        if d["doc_type"] != c.get("required_doc"):
            return {"success": False, "error": f"document {document_id} is a {d['doc_type']}; the hold on {container_id} requires {c.get('required_doc')}"}
        if d["status"] == "rejected":
            return {"success": False, "error": f"document {document_id} was rejected by customs"}
        d["status"] = "accepted"
        c["customs_status"], c["required_doc"] = "released", None
        return {"success": True, "message": f"hold on {container_id} released ({d['doc_type']} {document_id} accepted)"}

    def dispatch_move(self, container_id: str, truck_id: str, booking_id: str, destination_id: str,
                      crossing_id: str) -> dict:
        """Dispatch a truck to pick up a container on its booking and haul it across a border crossing to a warehouse.

        Args:
            container_id: Container number.
            truck_id: Truck ID, e.g. "TRK-31".
            booking_id: Confirmed pickup booking of the container.
            destination_id: Warehouse node ID.
            crossing_id: Border crossing node ID.
        """
        c, tr = self.containers.get(container_id), self.trucks.get(truck_id)
        if c is None:
            return {"success": False, "error": f"container {container_id} not found"}
        if tr is None:
            return {"success": False, "error": f"truck {truck_id} not found"}
        if c["customs_status"] != "released":
            return {"success": False, "error": f"container {container_id} customs status is {c['customs_status']}"
                                               + (f" (document required: {c['required_doc']})" if c.get("required_doc") else "")}
        if self._active_move(container_id):
            return {"success": False, "error": f"container {container_id} already on move {self._active_move(container_id)}"}
        if tr["status"] != "available":
            return {"success": False, "error": f"truck {truck_id} status is {tr['status']}"}
        rec, err = self._plan(c, container_id, dict(tr, id=truck_id), booking_id, destination_id, crossing_id)
        if err:
            return {"success": False, "error": err}
        self._mv_seq += 1
        mid = f"MV-{self._mv_seq}"
        self.moves[mid] = rec
        tr["status"] = "assigned"
        return {"success": True, "data": {"move_id": mid, "pickup_at": rec["pickup_at"], "eta": rec["eta"],
                                          "path": rec["path"]}}

    def cancel_move(self, move_id: str) -> dict:
        """Cancel a dispatched move; its truck becomes available and its booking stays confirmed.

        Args:
            move_id: Move ID.
        """
        m = self.moves.get(move_id)
        if m is None:
            return {"success": False, "error": f"move {move_id} not found"}
        if m["status"] != "dispatched":
            return {"success": False, "error": f"move {move_id} status is {m['status']}"}
        m["status"] = "cancelled"
        tr = self.trucks.get(m["truck_id"])
        if tr is not None and tr["status"] == "assigned":
            tr["status"] = "available"
        return {"success": True, "message": f"move {move_id} cancelled"}

    def reassign_truck(self, move_id: str, truck_id: str) -> dict:
        """Put a different available truck on a dispatched move (pickup time and ETA are recomputed).

        Args:
            move_id: Move ID.
            truck_id: Truck ID.
        """
        m, tr = self.moves.get(move_id), self.trucks.get(truck_id)
        if m is None:
            return {"success": False, "error": f"move {move_id} not found"}
        if tr is None:
            return {"success": False, "error": f"truck {truck_id} not found"}
        if m["status"] != "dispatched":
            return {"success": False, "error": f"move {move_id} status is {m['status']}"}
        if tr["status"] != "available":
            return {"success": False, "error": f"truck {truck_id} status is {tr['status']}"}
        c = self.containers[m["container_id"]]
        rec, err = self._plan(c, m["container_id"], dict(tr, id=truck_id), m["booking_id"], m["destination_id"],
                              m["crossing_id"])
        if err:
            return {"success": False, "error": err}
        old = self.trucks.get(m["truck_id"])
        if old is not None and old["status"] == "assigned":
            old["status"] = "available"
        tr["status"] = "assigned"
        m.update({k: rec[k] for k in ("truck_id", "path", "segment_ids", "pickup_at", "eta")})
        return {"success": True, "data": {"move_id": move_id, "truck_id": truck_id, "pickup_at": rec["pickup_at"],
                                          "eta": rec["eta"]}}
