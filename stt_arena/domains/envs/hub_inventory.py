"""Regional hub inventory: hubs on a linehaul network hold stock, ship transfers and get supplier replenishment."""
import heapq
from datetime import timedelta


def _iso(t):
    return t.replace(second=0, microsecond=0).isoformat()


class HubInventoryEnv:
    MUTATING_TOOLS = ["fulfil_order", "create_transfer", "cancel_transfer", "book_dock_slot", "release_dock_slot",
                      "request_replenishment", "cancel_replenishment"]

    def __init__(self, init_config: dict):
        self.hubs = init_config.get("hubs", {})
        self.links = init_config.get("links", {})
        self.skus = init_config.get("skus", {})
        self.stock = init_config.get("stock", {})
        self.orders = init_config.get("orders", {})
        self.docks = init_config.get("docks", {})
        self.suppliers = init_config.get("suppliers", {})
        self.quotas = init_config.get("quotas", {})
        self.transfers = init_config.get("transfers", {})
        self.replenishments = init_config.get("replenishments", {})
        self._tr_seq = int(init_config.get("transfer_seq", 100))
        self._rp_seq = int(init_config.get("replenishment_seq", 500))
        self._require_dock = bool(init_config.get("require_dock_slot", False))

    # ------------------------------------------------------------------ helpers
    def _path(self, src, dst):
        """Fastest path over open links between operational hubs: (minutes, hubs, link ids) or None."""
        if self.hubs.get(src, {}).get("status") != "operational" or self.hubs.get(dst, {}).get("status") != "operational":
            return None
        adj = {}
        for lid, ln in self.links.items():
            if ln.get("status") != "open":
                continue
            for a, b in ((ln["a"], ln["b"]), (ln["b"], ln["a"])):
                if self.hubs.get(b, {}).get("status") == "operational":
                    adj.setdefault(a, []).append((ln["minutes"], b, lid))
        heap = [(0, src, [src], [])]
        seen = set()
        while heap:
            d, node, hubs, lids = heapq.heappop(heap)
            if node == dst:
                return d, hubs, lids
            if node in seen:
                continue
            seen.add(node)
            for m, nxt, lid in sorted(adj.get(node, [])):
                if nxt not in seen:
                    heapq.heappush(heap, (d + m, nxt, hubs + [nxt], lids + [lid]))
        return None

    def _rec(self, hub_id, sku_id):
        return self.stock.get(hub_id, {}).get(sku_id)

    def _quota_used(self, qid):
        q = self.quotas[qid]
        return sum(r["qty"] for r in self.replenishments.values()
                   if r["quota_id"] == qid and r["status"] in ("confirmed", "received") and r["period"] == q["period"])

    def _rp_view(self, rid):
        r = dict(self.replenishments[rid])
        q = self.quotas.get(r["quota_id"], {})
        if r["status"] == "confirmed" and q.get("period") != r["period"]:
            r["status"] = "voided"
        return {"replenishment_id": rid, **r}

    def _tr_view(self, tid):
        t = self.transfers[tid]
        src = self._rec(t["from_hub"], t["sku_id"]) or {}
        return {"transfer_id": tid, **t,
                "path_status": [self.hubs[h]["status"] for h in t["path"] if h in self.hubs],
                "link_status": [self.links[x]["status"] for x in t["link_ids"] if x in self.links],
                "source_on_hand": src.get("on_hand"), "source_allocated": src.get("allocated")}

    def _ship(self, sku_id, qty, from_hub, to_hub, deadline, order_id=None):
        """Validate and create a transfer: (transfer id, record) or (None, error)."""
        if from_hub not in self.hubs:
            return None, f"hub {from_hub} not found"
        if to_hub not in self.hubs:
            return None, f"hub {to_hub} not found"
        if from_hub == to_hub:
            return None, "source and destination are the same hub"
        if sku_id not in self.skus:
            return None, f"SKU {sku_id} not found"
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
            return None, "qty must be a positive integer"
        for h in (from_hub, to_hub):
            if self.hubs[h]["status"] != "operational":
                return None, f"hub {h} status is {self.hubs[h]['status']}"
        rec = self._rec(from_hub, sku_id)
        avail = 0 if rec is None else rec["on_hand"] - rec["allocated"]
        if avail < qty:
            return None, f"hub {from_hub} has {max(avail, 0)} units of {sku_id} available, {qty} requested"
        p = self._path(from_hub, to_hub)
        if p is None:
            return None, f"no open linehaul path from {from_hub} to {to_hub}"
        eta = _iso(now() + timedelta(minutes=p[0] + int(self.hubs[from_hub].get("handling_minutes", 30))))
        if deadline and eta > deadline:
            return None, f"ETA {eta} is after the due time {deadline}"
        self._tr_seq += 1
        tid = f"TR-{self._tr_seq}"
        t = {"order_id": order_id, "sku_id": sku_id, "qty": qty, "from_hub": from_hub, "to_hub": to_hub,
             "path": p[1], "link_ids": p[2], "eta": eta, "status": "in_transit", "created_at": _iso(now())}
        return tid, t

    # ------------------------------------------------------------------ queries
    def list_hubs(self, region: str = "") -> dict:
        """List hubs with region, status and coordinates.

        Args:
            region: Only hubs of this region; empty for all.
        """
        out = [{"hub_id": k, "name": v["name"], "region": v["region"], "status": v["status"],
                "lat": v["lat"], "lon": v["lon"]}
               for k, v in sorted(self.hubs.items()) if not region or v["region"].lower() == region.lower()]
        return {"success": True, "data": out}

    def get_hub(self, hub_id: str) -> dict:
        """Get one hub: name, region, coordinates, status and handling minutes.

        Args:
            hub_id: Hub ID, e.g. "HUB-31".
        """
        h = self.hubs.get(hub_id)
        if h is None:
            return {"success": False, "error": f"hub {hub_id} not found"}
        return {"success": True, "data": {"hub_id": hub_id, **h}}

    def list_links(self, hub_id: str = "") -> dict:
        """List linehaul links (endpoints, travel minutes, status), optionally touching one hub.

        Args:
            hub_id: Only links touching this hub; empty for all.
        """
        if hub_id and hub_id not in self.hubs:
            return {"success": False, "error": f"hub {hub_id} not found"}
        out = [{"link_id": k, **v} for k, v in sorted(self.links.items()) if not hub_id or hub_id in (v["a"], v["b"])]
        return {"success": True, "data": out}

    def get_route(self, from_hub: str, to_hub: str) -> dict:
        """Fastest linehaul path between two hubs over open links and operational hubs.

        Args:
            from_hub: Start hub ID.
            to_hub: End hub ID.
        """
        for h in (from_hub, to_hub):
            if h not in self.hubs:
                return {"success": False, "error": f"hub {h} not found"}
        p = self._path(from_hub, to_hub)
        if p is None:
            return {"success": False, "error": f"no open linehaul path from {from_hub} to {to_hub}"}
        return {"success": True, "data": {"minutes": p[0], "path": p[1], "link_ids": p[2]}}

    def get_stock(self, hub_id: str, sku_id: str) -> dict:
        """Stock of one SKU at one hub: on hand, allocated to transfers, available.

        Args:
            hub_id: Hub ID.
            sku_id: SKU ID, e.g. "SKU-4410".
        """
        if hub_id not in self.hubs:
            return {"success": False, "error": f"hub {hub_id} not found"}
        if sku_id not in self.skus:
            return {"success": False, "error": f"SKU {sku_id} not found"}
        rec = self._rec(hub_id, sku_id) or {"on_hand": 0, "allocated": 0}
        return {"success": True, "data": {"hub_id": hub_id, "sku_id": sku_id, **rec,
                                          "available": rec["on_hand"] - rec["allocated"]}}

    def list_stock(self, sku_id: str = "", hub_id: str = "") -> dict:
        """List stock records, optionally for one SKU and/or one hub.

        Args:
            sku_id: SKU filter; empty for all.
            hub_id: Hub filter; empty for all.
        """
        out = []
        for h, recs in sorted(self.stock.items()):
            if hub_id and h != hub_id:
                continue
            for s, r in sorted(recs.items()):
                if not sku_id or s == sku_id:
                    out.append({"hub_id": h, "sku_id": s, "on_hand": r["on_hand"], "allocated": r["allocated"],
                                "available": r["on_hand"] - r["allocated"]})
        return {"success": True, "data": out}

    def list_skus(self) -> dict:
        """List the SKU catalogue (name, unit, pallet size)."""
        return {"success": True, "data": [{"sku_id": k, **v} for k, v in sorted(self.skus.items())]}

    def get_order(self, order_id: str) -> dict:
        """Get a customer order: destination hub, SKU, quantity, due time, status, transfer and dock slot.

        Args:
            order_id: Order ID, e.g. "ORD-5521".
        """
        o = self.orders.get(order_id)
        if o is None:
            return {"success": False, "error": f"order {order_id} not found"}
        return {"success": True, "data": {"order_id": order_id, **o}}

    def list_orders(self, hub_id: str = "") -> dict:
        """List orders, optionally those delivered to one hub.

        Args:
            hub_id: Destination hub filter; empty for all.
        """
        out = [{"order_id": k, **v} for k, v in sorted(self.orders.items()) if not hub_id or v["hub_id"] == hub_id]
        return {"success": True, "data": out}

    def get_transfer(self, transfer_id: str) -> dict:
        """Get a transfer: SKU, quantity, hubs, path with hub/link status, ETA, status and source stock.

        Args:
            transfer_id: Transfer ID, e.g. "TR-104".
        """
        if transfer_id not in self.transfers:
            return {"success": False, "error": f"transfer {transfer_id} not found"}
        return {"success": True, "data": self._tr_view(transfer_id)}

    def list_transfers(self, hub_id: str = "") -> dict:
        """List transfers (optionally touching one hub) with quantity, hubs, ETA and status.

        Args:
            hub_id: Source or destination hub filter; empty for all.
        """
        out = [{"transfer_id": k, "order_id": v["order_id"], "sku_id": v["sku_id"], "qty": v["qty"],
                "from_hub": v["from_hub"], "to_hub": v["to_hub"], "eta": v["eta"], "status": v["status"]}
               for k, v in sorted(self.transfers.items()) if not hub_id or hub_id in (v["from_hub"], v["to_hub"])]
        return {"success": True, "data": out}

    def list_dock_slots(self, hub_id: str) -> dict:
        """List inbound dock slots of a hub: time window, status and booked order.

        Args:
            hub_id: Hub ID.
        """
        if hub_id not in self.hubs:
            return {"success": False, "error": f"hub {hub_id} not found"}
        out = [{"slot_id": k, **v} for k, v in sorted(self.docks.items()) if v["hub_id"] == hub_id]
        return {"success": True, "data": out}

    def list_suppliers(self) -> dict:
        """List suppliers with status and lead time in minutes."""
        return {"success": True, "data": [{"supplier_id": k, **v} for k, v in sorted(self.suppliers.items())]}

    def list_quotas(self, hub_id: str = "", sku_id: str = "") -> dict:
        """List replenishment quotas (supplier, hub, SKU, period, limit, used, remaining, reset time).

        Args:
            hub_id: Hub filter; empty for all.
            sku_id: SKU filter; empty for all.
        """
        out = []
        for k, q in sorted(self.quotas.items()):
            if (hub_id and q["hub_id"] != hub_id) or (sku_id and q["sku_id"] != sku_id):
                continue
            used = self._quota_used(k)
            out.append({"quota_id": k, **q, "used": used, "remaining": q["limit"] - used})
        return {"success": True, "data": out}

    def get_replenishment(self, replenishment_id: str) -> dict:
        """Get a supplier replenishment request: supplier, hub, SKU, quantity, quota period, ETA and status.

        Args:
            replenishment_id: Request ID, e.g. "RP-512".
        """
        if replenishment_id not in self.replenishments:
            return {"success": False, "error": f"replenishment {replenishment_id} not found"}
        return {"success": True, "data": self._rp_view(replenishment_id)}

    def list_replenishments(self, hub_id: str = "") -> dict:
        """List replenishment requests, optionally for one hub.

        Args:
            hub_id: Hub filter; empty for all.
        """
        out = [self._rp_view(k) for k in sorted(self.replenishments)
               if not hub_id or self.replenishments[k]["hub_id"] == hub_id]
        return {"success": True, "data": out}

    # ------------------------------------------------------------------ actions
    def fulfil_order(self, order_id: str, from_hub: str) -> dict:
        """Allocate stock at a source hub to an order and ship it as a transfer to the order's hub.

        Args:
            order_id: Order to fulfil.
            from_hub: Source hub whose stock is used.
        """
        o = self.orders.get(order_id)
        if o is None:
            return {"success": False, "error": f"order {order_id} not found"}
        if o["status"] != "open":
            return {"success": False, "error": f"order {order_id} status is {o['status']}"}
        slot = None
        if self._require_dock:
            slot = self.docks.get(o.get("dock_slot") or "")
            if slot is None or slot.get("order_id") != order_id:
                return {"success": False, "error": f"order {order_id} has no inbound dock slot booked"}
            if slot["status"] != "open":
                return {"success": False, "error": f"dock slot {o['dock_slot']} status is {slot['status']}"}
        tid, t = self._ship(o["sku_id"], o["qty"], from_hub, o["hub_id"], o["due_by"], order_id)
        if tid is None:
            return {"success": False, "error": t}
        if slot is not None and t["eta"] > slot["end"]:
            self._tr_seq -= 1
            return {"success": False, "error": f"ETA {t['eta']} is after the end {slot['end']} of dock slot {o['dock_slot']}"}
        self.transfers[tid] = t
        self.stock[from_hub][o["sku_id"]]["allocated"] += o["qty"]
        o["status"], o["transfer_id"] = "allocated", tid
        return {"success": True, "data": {"transfer_id": tid, "eta": t["eta"], "path": t["path"]}}

    def create_transfer(self, sku_id: str, qty: int, from_hub: str, to_hub: str) -> dict:
        """Ship stock between two hubs (not tied to an order).

        Args:
            sku_id: SKU to move.
            qty: Units to move.
            from_hub: Source hub.
            to_hub: Destination hub.
        """
        tid, t = self._ship(sku_id, qty, from_hub, to_hub, None)
        if tid is None:
            return {"success": False, "error": t}
        self.transfers[tid] = t
        self.stock[from_hub][sku_id]["allocated"] += qty
        return {"success": True, "data": {"transfer_id": tid, "eta": t["eta"], "path": t["path"]}}

    def cancel_transfer(self, transfer_id: str) -> dict:
        """Cancel an in-transit transfer; its units return to the source hub and its order reopens.

        Args:
            transfer_id: Transfer to cancel.
        """
        t = self.transfers.get(transfer_id)
        if t is None:
            return {"success": False, "error": f"transfer {transfer_id} not found"}
        if t["status"] != "in_transit":
            return {"success": False, "error": f"transfer {transfer_id} status is {t['status']}"}
        t["status"] = "cancelled"
        rec = self._rec(t["from_hub"], t["sku_id"])
        if rec is not None:
            rec["allocated"] = max(0, rec["allocated"] - t["qty"])
        o = self.orders.get(t["order_id"] or "")
        if o is not None and o.get("transfer_id") == transfer_id:
            o["status"], o["transfer_id"] = "open", None
        return {"success": True, "message": f"transfer {transfer_id} cancelled"}

    def book_dock_slot(self, slot_id: str, order_id: str) -> dict:
        """Book an inbound dock slot at an order's destination hub.

        Args:
            slot_id: Dock slot ID, e.g. "DS-73".
            order_id: Order the slot receives.
        """
        s, o = self.docks.get(slot_id), self.orders.get(order_id)
        if s is None:
            return {"success": False, "error": f"dock slot {slot_id} not found"}
        if o is None:
            return {"success": False, "error": f"order {order_id} not found"}
        if s["hub_id"] != o["hub_id"]:
            return {"success": False, "error": f"dock slot {slot_id} is at {s['hub_id']}, order {order_id} goes to {o['hub_id']}"}
        if s["status"] != "open":
            return {"success": False, "error": f"dock slot {slot_id} status is {s['status']}"}
        if s.get("order_id"):
            return {"success": False, "error": f"dock slot {slot_id} is booked for {s['order_id']}"}
        if o.get("dock_slot"):
            return {"success": False, "error": f"order {order_id} already holds dock slot {o['dock_slot']}"}
        if s["end"] > o["due_by"]:
            return {"success": False, "error": f"dock slot {slot_id} ends {s['end']}, after the due time {o['due_by']}"}
        if s["end"] < _iso(now()):
            return {"success": False, "error": f"dock slot {slot_id} ended at {s['end']}"}
        t = self.transfers.get(o.get("transfer_id") or "")
        if t is not None and t["status"] == "in_transit":
            if t["eta"] > s["end"]:
                return {"success": False, "error": f"transfer {o['transfer_id']} ETA {t['eta']} is after the slot end {s['end']}"}
            down = [h for h in t["path"] if self.hubs.get(h, {}).get("status") != "operational"]
            if down:
                return {"success": False, "error": f"transfer {o['transfer_id']} is stalled: hub {down[0]} status is "
                                                   f"{self.hubs[down[0]]['status']}"}
            rec = self._rec(t["from_hub"], t["sku_id"]) or {}
            if rec.get("allocated", 0) > rec.get("on_hand", 0):
                return {"success": False, "error": f"transfer {o['transfer_id']} is short: hub {t['from_hub']} holds "
                                                   f"{rec.get('on_hand')} units of {t['sku_id']} for {rec.get('allocated')} allocated"}
        s["order_id"], o["dock_slot"] = order_id, slot_id
        return {"success": True, "data": {"slot_id": slot_id, "order_id": order_id, "start": s["start"], "end": s["end"]}}

    def release_dock_slot(self, slot_id: str) -> dict:
        """Release a booked inbound dock slot.

        Args:
            slot_id: Dock slot ID.
        """
        s = self.docks.get(slot_id)
        if s is None:
            return {"success": False, "error": f"dock slot {slot_id} not found"}
        if not s.get("order_id"):
            return {"success": False, "error": f"dock slot {slot_id} is not booked"}
        o = self.orders.get(s["order_id"])
        if o is not None and o.get("dock_slot") == slot_id:
            o["dock_slot"] = None
        s["order_id"] = None
        return {"success": True, "message": f"dock slot {slot_id} released"}

    def request_replenishment(self, supplier_id: str, hub_id: str, sku_id: str, qty: int) -> dict:
        """Order units of a SKU from a supplier into a hub, against that supplier's quota for the hub.

        Args:
            supplier_id: Supplier ID, e.g. "SUP-12".
            hub_id: Receiving hub.
            sku_id: SKU to order.
            qty: Units.
        """
        sup = self.suppliers.get(supplier_id)
        if sup is None:
            return {"success": False, "error": f"supplier {supplier_id} not found"}
        if hub_id not in self.hubs:
            return {"success": False, "error": f"hub {hub_id} not found"}
        if sku_id not in self.skus:
            return {"success": False, "error": f"SKU {sku_id} not found"}
        if sup["status"] != "active":
            return {"success": False, "error": f"supplier {supplier_id} status is {sup['status']}"}
        if self.hubs[hub_id]["status"] != "operational":
            return {"success": False, "error": f"hub {hub_id} status is {self.hubs[hub_id]['status']}"}
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
            return {"success": False, "error": "qty must be a positive integer"}
        qid = next((k for k, q in sorted(self.quotas.items()) if q["supplier_id"] == supplier_id
                    and q["hub_id"] == hub_id and q["sku_id"] == sku_id), None)
        if qid is None:
            return {"success": False, "error": f"no quota for {sku_id} from {supplier_id} into {hub_id}"}
        q = self.quotas[qid]
        remaining = q["limit"] - self._quota_used(qid)
        if qty > remaining:
            return {"success": False, "error": f"quota {qid} (period {q['period']}) has {remaining} units left, {qty} requested"}
        self._rp_seq += 1
        rid = f"RP-{self._rp_seq}"
        self.replenishments[rid] = {"supplier_id": supplier_id, "hub_id": hub_id, "sku_id": sku_id, "qty": qty,
                                    "quota_id": qid, "period": q["period"], "status": "confirmed",
                                    "eta": _iso(now() + timedelta(minutes=int(sup["lead_minutes"]))),
                                    "requested_at": _iso(now())}
        return {"success": True, "data": self._rp_view(rid)}

    def cancel_replenishment(self, replenishment_id: str) -> dict:
        """Cancel a replenishment request (frees its quota units in its period).

        Args:
            replenishment_id: Request ID.
        """
        r = self.replenishments.get(replenishment_id)
        if r is None:
            return {"success": False, "error": f"replenishment {replenishment_id} not found"}
        if r["status"] != "confirmed":
            return {"success": False, "error": f"replenishment {replenishment_id} status is {r['status']}"}
        r["status"] = "cancelled"
        return {"success": True, "message": f"replenishment {replenishment_id} cancelled"}
