"""Cold-chain medical-sample logistics: couriers carry temperature-controlled boxes to labs."""
import heapq
from datetime import datetime, timedelta


def _iso(t):
    return t.replace(second=0, microsecond=0).isoformat()


class ColdChainEnv:
    MUTATING_TOOLS = ["dispatch_box", "cancel_shipment", "redirect_shipment", "reroute_shipment",
                      "handoff_box", "recharge_coolant", "report_incident"]

    def __init__(self, init_config: dict):
        self.sites = init_config.get("sites", {})
        self.routes = init_config.get("routes", {})
        self.labs = init_config.get("labs", {})
        self.couriers = init_config.get("couriers", {})
        self.boxes = init_config.get("boxes", {})
        self.shipments = init_config.get("shipments", {})
        self.handoffs = init_config.get("handoffs", [])
        self.incidents = init_config.get("incidents", [])
        self._seq = int(init_config.get("shipment_seq", 100))
        self._pickup_minutes = int(init_config.get("pickup_minutes", 10))

    # ------------------------------------------------------------------ helpers
    def _path(self, src, dst, vehicle):
        """Shortest path over open routes and operational sites: (minutes, sites, route ids) or None."""
        if src not in self.sites or dst not in self.sites:
            return None
        for s in (src, dst):
            if self.sites[s].get("status") != "operational":
                return None
        adj = {}
        for rid, r in self.routes.items():
            if r.get("status") != "open" or vehicle not in r.get("vehicles", []):
                continue
            for a, b in ((r["a"], r["b"]), (r["b"], r["a"])):
                if self.sites.get(b, {}).get("status") != "operational":
                    continue
                adj.setdefault(a, []).append((r["minutes"], b, rid))
        heap = [(0, src, [src], [])]
        seen = set()
        while heap:
            d, node, sites, rids = heapq.heappop(heap)
            if node == dst:
                return d, sites, rids
            if node in seen:
                continue
            seen.add(node)
            for m, nxt, rid in sorted(adj.get(node, [])):
                if nxt not in seen:
                    heapq.heappush(heap, (d + m, nxt, sites + [nxt], rids + [rid]))
        return None

    def _chain(self, points, vehicle):
        total, sites, rids = 0, [points[0]], []
        for a, b in zip(points, points[1:]):
            if a == b:
                continue
            p = self._path(a, b, vehicle)
            if p is None:
                return None, f"no usable route from {a} to {b} for vehicle type {vehicle}"
            total += p[0]
            sites += p[1][1:]
            rids += p[2]
        return (total, sites, rids), ""

    def _validate(self, box, courier, lab, eta):
        """Error text for a delivery plan, or "" (courier None: no courier check)."""
        if lab["status"] != "receiving":
            return f"lab {lab['lab_id']} status is {lab['status']}"
        if box["sample_type"] not in lab["accepts"]:
            return f"lab {lab['lab_id']} does not accept sample type {box['sample_type']}"
        if not (lab["window_open"] <= eta <= lab["window_close"]):
            return (f"ETA {eta} is outside the receiving window {lab['window_open']} - "
                    f"{lab['window_close']} of lab {lab['lab_id']}")
        if eta > box["expires_at"]:
            return f"ETA {eta} is after the expiry {box['expires_at']} of box {box['box_id']}"
        if not (box["temp_min"] <= box["temp_c"] <= box["temp_max"]):
            return f"box {box['box_id']} temperature {box['temp_c']} C is outside {box['temp_min']}-{box['temp_max']} C"
        if courier is not None and courier["shift_end"] < eta:
            return f"courier {courier['courier_id']} shift ends at {courier['shift_end']}, ETA {eta}"
        return ""

    def _view_box(self, bid):
        return {"box_id": bid, **self.boxes[bid]}

    # ------------------------------------------------------------------ queries
    def list_sites(self) -> dict:
        """List clinics, hubs and lab sites with their kind, status and coordinates."""
        return {"success": True, "data": [
            {"site_id": k, "name": v["name"], "kind": v["kind"], "status": v["status"]}
            for k, v in sorted(self.sites.items())]}

    def get_site(self, site_id: str) -> dict:
        """Get one site's details: coordinates, status, handoff dock and coolant station.

        Args:
            site_id: Site ID, e.g. "HB-12".
        """
        s = self.sites.get(site_id)
        if s is None:
            return {"success": False, "error": f"site {site_id} not found"}
        return {"success": True, "data": {"site_id": site_id, **s}}

    def list_routes(self, site_id: str = "") -> dict:
        """List road links (travel minutes, status, permitted vehicle types), optionally touching one site.

        Args:
            site_id: Only routes touching this site; empty for all routes.
        """
        if site_id and site_id not in self.sites:
            return {"success": False, "error": f"site {site_id} not found"}
        out = [{"route_id": k, **v} for k, v in sorted(self.routes.items())
               if not site_id or site_id in (v["a"], v["b"])]
        return {"success": True, "data": out}

    def get_travel_time(self, from_site: str, to_site: str, vehicle: str = "van") -> dict:
        """Fastest travel time between two sites over open routes for a vehicle type.

        Args:
            from_site: Start site ID.
            to_site: End site ID.
            vehicle: Vehicle type: "van" or "bike".
        """
        for s in (from_site, to_site):
            if s not in self.sites:
                return {"success": False, "error": f"site {s} not found"}
        p = self._path(from_site, to_site, vehicle)
        if p is None:
            return {"success": False, "error": f"no usable route from {from_site} to {to_site} for vehicle type {vehicle}"}
        return {"success": True, "data": {"minutes": p[0], "path": p[1], "route_ids": p[2]}}

    def get_box(self, box_id: str) -> dict:
        """Get a cold box: sample type, location, temperature range, current temperature, expiry and status.

        Args:
            box_id: Box ID, e.g. "CB-2041".
        """
        if box_id not in self.boxes:
            return {"success": False, "error": f"box {box_id} not found"}
        return {"success": True, "data": self._view_box(box_id)}

    def list_boxes(self, site_id: str = "") -> dict:
        """List cold boxes, optionally only those at one site.

        Args:
            site_id: Site ID filter; empty for all boxes.
        """
        out = [{"box_id": k, "sample_type": v["sample_type"], "site": v["site"], "status": v["status"],
                "expires_at": v["expires_at"]} for k, v in sorted(self.boxes.items())
               if not site_id or v["site"] == site_id]
        return {"success": True, "data": out}

    def get_courier(self, courier_id: str) -> dict:
        """Get a courier: location, vehicle, status, shift end and current shipment.

        Args:
            courier_id: Courier ID, e.g. "CR-31".
        """
        c = self.couriers.get(courier_id)
        if c is None:
            return {"success": False, "error": f"courier {courier_id} not found"}
        return {"success": True, "data": {"courier_id": courier_id, **c}}

    def list_couriers(self, site_id: str = "") -> dict:
        """List couriers, optionally only those based at one site.

        Args:
            site_id: Site ID filter; empty for all couriers.
        """
        out = [{"courier_id": k, **v} for k, v in sorted(self.couriers.items())
               if not site_id or v["site"] == site_id]
        return {"success": True, "data": out}

    def get_lab(self, lab_id: str) -> dict:
        """Get a lab: site, accepted sample types, receiving window, status and intake capacity.

        Args:
            lab_id: Lab ID, e.g. "LAB-7".
        """
        lab = self.labs.get(lab_id)
        if lab is None:
            return {"success": False, "error": f"lab {lab_id} not found"}
        return {"success": True, "data": dict(lab)}

    def list_labs(self, sample_type: str = "") -> dict:
        """List labs, optionally only those accepting a sample type.

        Args:
            sample_type: e.g. "whole_blood"; empty for all labs.
        """
        out = [dict(v) for k, v in sorted(self.labs.items()) if not sample_type or sample_type in v["accepts"]]
        return {"success": True, "data": out}

    def get_shipment(self, shipment_id: str) -> dict:
        """Get a shipment: box, courier, lab, path with site statuses, route ids, ETA and status.

        Args:
            shipment_id: Shipment ID, e.g. "SH-104".
        """
        sh = self.shipments.get(shipment_id)
        if sh is None:
            return {"success": False, "error": f"shipment {shipment_id} not found"}
        data = {"shipment_id": shipment_id, **sh}
        data["path_status"] = [self.sites[s]["status"] for s in sh["path"] if s in self.sites]
        data["routes"] = [{"route_id": r, "status": self.routes[r]["status"], "vehicles": self.routes[r]["vehicles"]}
                          for r in sh["route_ids"] if r in self.routes]
        return {"success": True, "data": data}

    def list_shipments(self) -> dict:
        """List all shipments with box, courier, lab, ETA and status."""
        out = [{"shipment_id": k, "box_id": v["box_id"], "courier_id": v["courier_id"], "lab_id": v["lab_id"],
                "eta": v["eta"], "status": v["status"]} for k, v in sorted(self.shipments.items())]
        return {"success": True, "data": out}

    # ------------------------------------------------------------------ actions
    def dispatch_box(self, box_id: str, courier_id: str, lab_id: str) -> dict:
        """Dispatch a courier to pick up a box at its site and deliver it to a lab.

        Args:
            box_id: Box to deliver.
            courier_id: Courier who collects and carries the box.
            lab_id: Receiving lab.
        """
        box, c, lab = self.boxes.get(box_id), self.couriers.get(courier_id), self.labs.get(lab_id)
        if box is None:
            return {"success": False, "error": f"box {box_id} not found"}
        if c is None:
            return {"success": False, "error": f"courier {courier_id} not found"}
        if lab is None:
            return {"success": False, "error": f"lab {lab_id} not found"}
        if box["status"] != "awaiting_pickup":
            return {"success": False, "error": f"box {box_id} status is {box['status']}"}
        if c["status"] != "available":
            return {"success": False, "error": f"courier {courier_id} status is {c['status']}"}
        if lab["booked"] >= lab["capacity"]:
            return {"success": False, "error": f"lab {lab_id} intake is full ({lab['booked']}/{lab['capacity']})"}
        route, err = self._chain([c["site"], box["site"], lab["site"]], c["vehicle"])
        if route is None:
            return {"success": False, "error": err}
        eta = _iso(now() + timedelta(minutes=route[0] + self._pickup_minutes))
        bad = self._validate({"box_id": box_id, **box}, {"courier_id": courier_id, **c}, lab, eta)
        if bad:
            return {"success": False, "error": bad}
        self._seq += 1
        sid = f"SH-{self._seq}"
        self.shipments[sid] = {"box_id": box_id, "courier_id": courier_id, "lab_id": lab_id,
                               "path": route[1], "route_ids": route[2], "eta": eta, "status": "dispatched",
                               "dispatched_at": _iso(now())}
        box["status"], box["shipment"] = "in_transit", sid
        c["status"], c["shipment"] = "on_route", sid
        lab["booked"] += 1
        return {"success": True, "data": {"shipment_id": sid, "eta": eta, "path": route[1]}}

    def _active(self, shipment_id):
        sh = self.shipments.get(shipment_id)
        if sh is None:
            return None, f"shipment {shipment_id} not found"
        if sh["status"] != "dispatched":
            return None, f"shipment {shipment_id} status is {sh['status']}"
        return sh, ""

    def cancel_shipment(self, shipment_id: str) -> dict:
        """Cancel a dispatched shipment before its pickup; the box stays at its pickup site and the courier is
        released.

        Args:
            shipment_id: Shipment to cancel.
        """
        sh, err = self._active(shipment_id)
        if sh is None:
            return {"success": False, "error": err}
        picked = datetime.fromisoformat(sh["dispatched_at"]) + timedelta(minutes=self._pickup_minutes)
        if _iso(now()) >= _iso(picked):
            return {"success": False, "error": f"shipment {shipment_id} was picked up at {_iso(picked)[11:16]}"}
        sh["status"] = "cancelled"
        box, c, lab = self.boxes[sh["box_id"]], self.couriers[sh["courier_id"]], self.labs[sh["lab_id"]]
        box["status"], box["shipment"] = "awaiting_pickup", None
        if c.get("shipment") == shipment_id:
            c["shipment"] = None
            if c["status"] == "on_route":
                c["status"] = "available"
        lab["booked"] = max(0, lab["booked"] - 1)
        return {"success": True, "message": f"shipment {shipment_id} cancelled"}

    def _replan(self, sh, lab, points, courier_id=None, check_courier=True):
        box = self.boxes[sh["box_id"]]
        cid = courier_id or sh["courier_id"]
        c = self.couriers[cid]
        route, err = self._chain(points, c["vehicle"])
        if route is None:
            return None, err
        eta = _iso(now() + timedelta(minutes=route[0]))
        cour = {"courier_id": cid, **c} if check_courier else None
        bad = self._validate({"box_id": sh["box_id"], **box}, cour, lab, eta)
        if bad:
            return None, bad
        return (route, eta), ""

    def redirect_shipment(self, shipment_id: str, lab_id: str) -> dict:
        """Send a dispatched shipment to a different lab (route and ETA are recomputed).

        Args:
            shipment_id: Shipment to redirect.
            lab_id: New receiving lab.
        """
        sh, err = self._active(shipment_id)
        if sh is None:
            return {"success": False, "error": err}
        lab = self.labs.get(lab_id)
        if lab is None:
            return {"success": False, "error": f"lab {lab_id} not found"}
        if lab_id == sh["lab_id"]:
            return {"success": False, "error": f"shipment {shipment_id} already goes to lab {lab_id}"}
        if lab["booked"] >= lab["capacity"]:
            return {"success": False, "error": f"lab {lab_id} intake is full ({lab['booked']}/{lab['capacity']})"}
        out, err = self._replan(sh, lab, [self.boxes[sh["box_id"]]["site"], lab["site"]])
        if out is None:
            return {"success": False, "error": err}
        self.labs[sh["lab_id"]]["booked"] = max(0, self.labs[sh["lab_id"]]["booked"] - 1)
        lab["booked"] += 1
        sh["lab_id"], sh["path"], sh["route_ids"], sh["eta"] = lab_id, out[0][1], out[0][2], out[1]
        return {"success": True, "data": {"shipment_id": shipment_id, "lab_id": lab_id, "eta": out[1],
                                          "path": out[0][1]}}

    def reroute_shipment(self, shipment_id: str, via_site: str) -> dict:
        """Route a dispatched shipment through a given site on the way to its lab.

        Args:
            shipment_id: Shipment to reroute.
            via_site: Site the shipment must pass through.
        """
        sh, err = self._active(shipment_id)
        if sh is None:
            return {"success": False, "error": err}
        if via_site not in self.sites:
            return {"success": False, "error": f"site {via_site} not found"}
        lab = self.labs[sh["lab_id"]]
        out, err = self._replan(sh, lab, [self.boxes[sh["box_id"]]["site"], via_site, lab["site"]],
                                check_courier=False)
        if out is None:
            return {"success": False, "error": err}
        sh["path"], sh["route_ids"], sh["eta"] = out[0][1], out[0][2], out[1]
        return {"success": True, "data": {"shipment_id": shipment_id, "eta": out[1], "path": out[0][1]}}

    def handoff_box(self, shipment_id: str, to_courier_id: str, site_id: str) -> dict:
        """Hand a shipment's box over to another courier at a site on its path.

        Args:
            shipment_id: Shipment in transit.
            to_courier_id: Courier taking over the box.
            site_id: Handoff site (must be on the shipment path).
        """
        sh, err = self._active(shipment_id)
        if sh is None:
            return {"success": False, "error": err}
        c = self.couriers.get(to_courier_id)
        if c is None:
            return {"success": False, "error": f"courier {to_courier_id} not found"}
        site = self.sites.get(site_id)
        if site is None:
            return {"success": False, "error": f"site {site_id} not found"}
        if to_courier_id == sh["courier_id"]:
            return {"success": False, "error": f"courier {to_courier_id} already carries shipment {shipment_id}"}
        if site_id not in sh["path"]:
            return {"success": False, "error": f"site {site_id} is not on the path of shipment {shipment_id}"}
        if site["status"] != "operational" or site.get("dock") != "open":
            return {"success": False, "error": f"handoff dock at {site_id} is {site.get('dock')}, site {site['status']}"}
        if c["status"] != "available":
            return {"success": False, "error": f"courier {to_courier_id} status is {c['status']}"}
        if c["site"] != site_id:
            return {"success": False, "error": f"courier {to_courier_id} is at {c['site']}, not {site_id}"}
        lab = self.labs[sh["lab_id"]]
        i = sh["path"].index(site_id)
        out, err = self._replan(sh, lab, sh["path"][i:], to_courier_id)
        if out is None:
            return {"success": False, "error": err}
        old = self.couriers[sh["courier_id"]]
        if old.get("shipment") == shipment_id:
            old["shipment"] = None
            if old["status"] == "on_route":
                old["status"] = "available"
        c["status"], c["shipment"] = "on_route", shipment_id
        self.handoffs.append({"shipment_id": shipment_id, "from": sh["courier_id"], "to": to_courier_id,
                              "site": site_id, "time": _iso(now())})
        sh["courier_id"], sh["eta"] = to_courier_id, out[1]
        sh["path"] = sh["path"][:i] + out[0][1]
        sh["route_ids"] = sh["route_ids"][:i] + out[0][2]
        return {"success": True, "data": {"shipment_id": shipment_id, "courier_id": to_courier_id, "eta": out[1]}}

    def recharge_coolant(self, box_id: str) -> dict:
        """Replace the coolant of a box waiting at a site with a coolant station (resets temperature and expiry).

        Args:
            box_id: Box to recharge.
        """
        box = self.boxes.get(box_id)
        if box is None:
            return {"success": False, "error": f"box {box_id} not found"}
        if box["status"] != "awaiting_pickup":
            return {"success": False, "error": f"box {box_id} status is {box['status']}"}
        if not self.sites[box["site"]].get("coolant_station"):
            return {"success": False, "error": f"site {box['site']} has no coolant station"}
        box["temp_c"] = round((box["temp_min"] + box["temp_max"]) / 2, 1)
        box["expires_at"] = _iso(now() + timedelta(minutes=int(box["coolant_minutes"])))
        box["recharges"] = box.get("recharges", 0) + 1
        return {"success": True, "data": {"box_id": box_id, "temp_c": box["temp_c"], "expires_at": box["expires_at"]}}

    def report_incident(self, box_id: str, note: str) -> dict:
        """File a chain-of-custody incident note for a box.

        Args:
            box_id: Box concerned.
            note: Short description.
        """
        if box_id not in self.boxes:
            return {"success": False, "error": f"box {box_id} not found"}
        if not note or not note.strip():
            return {"success": False, "error": "note is empty"}
        self.incidents.append({"box_id": box_id, "note": note.strip()[:200], "time": _iso(now())})
        return {"success": True, "message": f"incident {len(self.incidents)} recorded"}
