"""Irrigation scheduling: fields, water sources with daily quotas, lift pumps and a canal network."""
import heapq
import math
from datetime import datetime, timedelta


def _parse(s):
    if not isinstance(s, str):
        return None
    try:
        return datetime.fromisoformat(s.strip())
    except ValueError:
        return None


def _iso(t):
    return t.replace(second=0, microsecond=0).isoformat()


def _hm(s):
    return s[11:16] if isinstance(s, str) and len(s) >= 16 else s


class IrrigationEnv:
    MUTATING_TOOLS = ["schedule_irrigation", "cancel_schedule", "change_source", "swap_pump",
                      "reschedule", "reroute_schedule", "adjust_volume", "report_fault"]

    def __init__(self, init_config: dict):
        self.nodes = init_config.get("nodes", {})
        self.canals = init_config.get("canals", {})
        self.sources = init_config.get("sources", {})
        self.pumps = init_config.get("pumps", {})
        self.fields = init_config.get("fields", {})
        self.schedules = init_config.get("schedules", {})
        self.faults = []
        self._seq = int(init_config.get("schedule_seq", 5000))

    # ------------------------------------------------------------------ helpers
    def _committed(self, source_id, exclude=""):
        return sum(s["volume_m3"] for sid, s in self.schedules.items()
                   if s["source_id"] == source_id and s["status"] == "scheduled" and sid != exclude)

    def _route(self, src_node, dst_node, flow):
        """Fastest path over open canals with enough capacity and operational nodes."""
        if self.nodes.get(src_node, {}).get("status") != "operational":
            return None
        if self.nodes.get(dst_node, {}).get("status") != "operational":
            return None
        adj = {}
        for cid, c in self.canals.items():
            if c.get("status") != "open" or c.get("capacity_m3h", 0) < flow:
                continue
            for a, b in ((c["a"], c["b"]), (c["b"], c["a"])):
                if self.nodes.get(b, {}).get("status") == "operational":
                    adj.setdefault(a, []).append((c["minutes"], b, cid))
        heap = [(0, src_node, [src_node], [])]
        seen = set()
        while heap:
            d, node, path, cids = heapq.heappop(heap)
            if node == dst_node:
                return d, path, cids
            if node in seen:
                continue
            seen.add(node)
            if node != src_node and self.nodes[node].get("kind") == "field_inlet":
                continue  # turnouts are dead ends
            for m, nxt, cid in sorted(adj.get(node, [])):
                if nxt not in seen:
                    heapq.heappush(heap, (d + m, nxt, path + [nxt], cids + [cid]))
        return None

    def _holds(self, pump, start, end):
        out = []
        for h in pump.get("reserved", []):
            if h["start"] < end and start < h["end"]:
                out.append(h)
        return out

    def _plan(self, field_id, source_id, pump_id, start, volume_m3, exclude=""):
        """Validate a delivery; return (error, record)."""
        f = self.fields.get(field_id)
        if f is None:
            return f"field {field_id} not found", None
        src = self.sources.get(source_id)
        if src is None:
            return f"source {source_id} not found", None
        p = self.pumps.get(pump_id)
        if p is None:
            return f"pump {pump_id} not found", None
        if p["source_id"] != source_id:
            return f"pump {pump_id} draws from {p['source_id']}, not {source_id}", None
        if src.get("status") != "active":
            return f"source {source_id} status is {src.get('status')}", None
        if p.get("status") != "ready":
            return f"pump {pump_id} status is {p.get('status')}", None
        if not isinstance(volume_m3, (int, float)) or isinstance(volume_m3, bool) or volume_m3 <= 0:
            return "volume_m3 must be a positive number", None
        t0 = _parse(start)
        if t0 is None:
            return f"invalid start time {start!r} (ISO format expected)", None
        if t0 < now():
            return f"start {_iso(t0)} is in the past (now {_iso(now())})", None
        r = self._route(src["node"], f["inlet"], p["rate_m3h"])
        if r is None:
            return (f"no open canal route from {source_id} to field {field_id} carrying "
                    f"{p['rate_m3h']} m3/h"), None
        travel, path, cids = r
        pump_min = int(math.ceil(volume_m3 * 60.0 / p["rate_m3h"]))
        arrival = t0 + timedelta(minutes=travel)
        end = arrival + timedelta(minutes=pump_min)
        s_iso, a_iso, e_iso = _iso(t0), _iso(arrival), _iso(end)
        if a_iso < f["window_open"] or e_iso > f["window_close"]:
            return (f"delivery {_hm(a_iso)}-{_hm(e_iso)} is outside the irrigation window "
                    f"{f['window_open']} - {f['window_close']} of field {field_id}"), None
        for h in self._holds(p, s_iso, e_iso):
            return (f"pump {pump_id} is reserved {_hm(h['start'])}-{_hm(h['end'])} for "
                    f"{h['field_id']} (priority {h['priority']})"), None
        for sid, s in self.schedules.items():
            if sid != exclude and s["pump_id"] == pump_id and s["status"] == "scheduled" \
                    and s["start"] < e_iso and s_iso < s["end"]:
                return f"pump {pump_id} is booked {_hm(s['start'])}-{_hm(s['end'])} by {sid}", None
        used = self._committed(source_id, exclude)
        if used + volume_m3 > src["daily_quota_m3"]:
            return (f"daily quota of {source_id} exceeded: {used} of {src['daily_quota_m3']} m3 committed "
                    f"for {src['quota_day']}, {volume_m3} m3 requested"), None
        rec = {"field_id": field_id, "source_id": source_id, "pump_id": pump_id, "start": s_iso,
               "arrival": a_iso, "end": e_iso, "volume_m3": volume_m3, "travel_minutes": travel,
               "route": cids, "nodes": path, "status": "scheduled"}
        return "", rec

    def _issues(self, s):
        out = []
        p = self.pumps.get(s["pump_id"], {})
        if p.get("status") != "ready":
            out.append(f"pump {s['pump_id']} status {p.get('status')}")
        for h in self._holds(p, s["start"], s["end"]):
            out.append(f"pump {s['pump_id']} reserved {_hm(h['start'])}-{_hm(h['end'])} for "
                       f"{h['field_id']} (priority {h['priority']})")
        for cid in s["route"]:
            c = self.canals.get(cid, {})
            if c.get("status") != "open":
                out.append(f"canal {cid} status {c.get('status')}")
            elif c.get("capacity_m3h", 0) < p.get("rate_m3h", 0):
                out.append(f"canal {cid} capacity {c.get('capacity_m3h')} m3/h")
        for nid in s["nodes"]:
            if self.nodes.get(nid, {}).get("status") != "operational":
                out.append(f"node {nid} status {self.nodes.get(nid, {}).get('status')}")
        src = self.sources.get(s["source_id"], {})
        used = self._committed(s["source_id"])
        if used > src.get("daily_quota_m3", 0):
            out.append(f"source {s['source_id']} committed {used} of {src.get('daily_quota_m3')} m3")
        return out

    def _get_sched(self, schedule_id):
        s = self.schedules.get(schedule_id)
        if s is None:
            return None, {"success": False, "error": f"schedule {schedule_id} not found"}
        if s["status"] != "scheduled":
            return None, {"success": False, "error": f"schedule {schedule_id} status is {s['status']}"}
        return s, None

    # ------------------------------------------------------------------ query tools
    def list_fields(self) -> dict:
        """List all fields with crop, inlet node and irrigation window."""
        return {"success": True, "data": [
            {"field_id": k, "name": f["name"], "crop": f["crop"], "inlet": f["inlet"],
             "window_open": f["window_open"], "window_close": f["window_close"]}
            for k, f in sorted(self.fields.items())]}

    def get_field(self, field_id: str) -> dict:
        """Get a field's details: crop, area, inlet node, location, irrigation window, priority.

        Args:
            field_id: Field ID, e.g. "FLD-204".
        """
        f = self.fields.get(field_id)
        if f is None:
            return {"success": False, "error": f"field {field_id} not found"}
        return {"success": True, "data": {"field_id": field_id, **f}}

    def list_sources(self) -> dict:
        """List water sources with daily quota, committed volume and status."""
        return {"success": True, "data": [
            {"source_id": k, "name": s["name"], "kind": s["kind"], "node": s["node"], "status": s["status"],
             "quota_day": s["quota_day"], "daily_quota_m3": s["daily_quota_m3"],
             "committed_m3": self._committed(k)}
            for k, s in sorted(self.sources.items())]}

    def get_source(self, source_id: str) -> dict:
        """Get a water source's quota (daily allocation, committed, remaining) and status.

        Args:
            source_id: Source ID, e.g. "SRC-N2".
        """
        s = self.sources.get(source_id)
        if s is None:
            return {"success": False, "error": f"source {source_id} not found"}
        used = self._committed(source_id)
        return {"success": True, "data": {"source_id": source_id, **s, "committed_m3": used,
                                          "remaining_m3": s["daily_quota_m3"] - used}}

    def list_pumps(self, source_id: str = "") -> dict:
        """List lift pumps, optionally only those drawing from one source.

        Args:
            source_id: Optional source ID filter.
        """
        if source_id and source_id not in self.sources:
            return {"success": False, "error": f"source {source_id} not found"}
        return {"success": True, "data": [
            {"pump_id": k, "source_id": p["source_id"], "rate_m3h": p["rate_m3h"], "status": p["status"],
             "reserved": len(p.get("reserved", []))}
            for k, p in sorted(self.pumps.items()) if not source_id or p["source_id"] == source_id]}

    def get_pump(self, pump_id: str) -> dict:
        """Get a pump's rate, status, priority reservations and booked runs.

        Args:
            pump_id: Pump ID, e.g. "PU-31".
        """
        p = self.pumps.get(pump_id)
        if p is None:
            return {"success": False, "error": f"pump {pump_id} not found"}
        runs = [{"schedule_id": k, "start": s["start"], "end": s["end"]} for k, s in sorted(self.schedules.items())
                if s["pump_id"] == pump_id and s["status"] == "scheduled"]
        return {"success": True, "data": {"pump_id": pump_id, **p, "booked": runs}}

    def get_canal(self, canal_id: str) -> dict:
        """Get a canal reach: endpoints, travel minutes, capacity and status.

        Args:
            canal_id: Canal ID, e.g. "CN-07".
        """
        c = self.canals.get(canal_id)
        if c is None:
            return {"success": False, "error": f"canal {canal_id} not found"}
        return {"success": True, "data": {"canal_id": canal_id, **c}}

    def get_network_status(self) -> dict:
        """Nodes and canal reaches that are not in normal operation."""
        nodes = [{"node_id": k, "name": n["name"], "status": n["status"]}
                 for k, n in sorted(self.nodes.items()) if n["status"] != "operational"]
        canals = [{"canal_id": k, "status": c["status"], "capacity_m3h": c["capacity_m3h"]}
                  for k, c in sorted(self.canals.items()) if c["status"] != "open"]
        return {"success": True, "data": {"nodes": nodes, "canals": canals, "as_of": _iso(now())}}

    def find_route(self, source_id: str, field_id: str, flow_m3h: int = 0) -> dict:
        """Fastest open canal route from a source to a field inlet.

        Args:
            source_id: Source ID.
            field_id: Field ID.
            flow_m3h: Optional flow the canals must carry (m3/h); 0 ignores capacity.
        """
        s = self.sources.get(source_id)
        f = self.fields.get(field_id)
        if s is None:
            return {"success": False, "error": f"source {source_id} not found"}
        if f is None:
            return {"success": False, "error": f"field {field_id} not found"}
        if not isinstance(flow_m3h, (int, float)) or flow_m3h < 0:
            return {"success": False, "error": "flow_m3h must be a non-negative number"}
        r = self._route(s["node"], f["inlet"], flow_m3h)
        if r is None:
            return {"success": False, "error": f"no open canal route from {source_id} to field {field_id}"}
        cap = min((self.canals[c]["capacity_m3h"] for c in r[2]), default=0)
        return {"success": True, "data": {"minutes": r[0], "nodes": r[1], "canals": r[2], "bottleneck_m3h": cap}}

    def list_schedules(self, field_id: str = "") -> dict:
        """List irrigation schedules, optionally for one field.

        Args:
            field_id: Optional field ID filter.
        """
        return {"success": True, "data": [
            {"schedule_id": k, "field_id": s["field_id"], "source_id": s["source_id"], "pump_id": s["pump_id"],
             "start": s["start"], "end": s["end"], "volume_m3": s["volume_m3"], "status": s["status"]}
            for k, s in sorted(self.schedules.items()) if not field_id or s["field_id"] == field_id]}

    def get_schedule(self, schedule_id: str) -> dict:
        """Get one schedule with its route and the current condition of the assets it uses.

        Args:
            schedule_id: Schedule ID, e.g. "IRR-5012".
        """
        s = self.schedules.get(schedule_id)
        if s is None:
            return {"success": False, "error": f"schedule {schedule_id} not found"}
        data = {"schedule_id": schedule_id, **s}
        if s["status"] == "scheduled":
            data["issues"] = self._issues(s)
        return {"success": True, "data": data}

    # ------------------------------------------------------------------ state-changing tools
    def schedule_irrigation(self, field_id: str, source_id: str, pump_id: str, start: str, volume_m3: int) -> dict:
        """Book an irrigation run: the pump lifts water from the source, it travels the canals to the field.

        Args:
            field_id: Field to irrigate.
            source_id: Water source.
            pump_id: Pump drawing from that source.
            start: Pump start time, ISO format, e.g. "2026-03-02T20:00:00".
            volume_m3: Volume to deliver in m3.
        """
        err, rec = self._plan(field_id, source_id, pump_id, start, volume_m3)
        if err:
            return {"success": False, "error": err}
        self._seq += 1
        sid = f"IRR-{self._seq}"
        rec["created_at"] = _iso(now())
        self.schedules[sid] = rec
        return {"success": True, "data": {"schedule_id": sid, **rec}}

    def cancel_schedule(self, schedule_id: str) -> dict:
        """Cancel a schedule and release its quota and pump time.

        Args:
            schedule_id: Schedule ID.
        """
        s, bad = self._get_sched(schedule_id)
        if bad:
            return bad
        s["status"] = "cancelled"
        return {"success": True, "message": f"schedule {schedule_id} cancelled"}

    def _replace(self, schedule_id, field_id, source_id, pump_id, start, volume):
        err, rec = self._plan(field_id, source_id, pump_id, start, volume, exclude=schedule_id)
        if err:
            return {"success": False, "error": err}
        rec["created_at"] = self.schedules[schedule_id].get("created_at", _iso(now()))
        rec["updated_at"] = _iso(now())
        self.schedules[schedule_id] = rec
        return {"success": True, "data": {"schedule_id": schedule_id, **rec}}

    def change_source(self, schedule_id: str, source_id: str, pump_id: str) -> dict:
        """Serve an existing schedule from another source and pump (same start and volume).

        Args:
            schedule_id: Schedule ID.
            source_id: New source.
            pump_id: Pump drawing from the new source.
        """
        s, bad = self._get_sched(schedule_id)
        if bad:
            return bad
        return self._replace(schedule_id, s["field_id"], source_id, pump_id, s["start"], s["volume_m3"])

    def swap_pump(self, schedule_id: str, pump_id: str) -> dict:
        """Run an existing schedule on another pump of the same source.

        Args:
            schedule_id: Schedule ID.
            pump_id: Pump ID.
        """
        s, bad = self._get_sched(schedule_id)
        if bad:
            return bad
        return self._replace(schedule_id, s["field_id"], s["source_id"], pump_id, s["start"], s["volume_m3"])

    def reschedule(self, schedule_id: str, start: str) -> dict:
        """Move an existing schedule to a new pump start time.

        Args:
            schedule_id: Schedule ID.
            start: New start time, ISO format.
        """
        s, bad = self._get_sched(schedule_id)
        if bad:
            return bad
        return self._replace(schedule_id, s["field_id"], s["source_id"], s["pump_id"], start, s["volume_m3"])

    def reroute_schedule(self, schedule_id: str) -> dict:
        """Recompute the canal route of an existing schedule over the current network.

        Args:
            schedule_id: Schedule ID.
        """
        s, bad = self._get_sched(schedule_id)
        if bad:
            return bad
        return self._replace(schedule_id, s["field_id"], s["source_id"], s["pump_id"], s["start"], s["volume_m3"])

    def adjust_volume(self, schedule_id: str, volume_m3: int) -> dict:
        """Change the volume of an existing schedule.

        Args:
            schedule_id: Schedule ID.
            volume_m3: New volume in m3.
        """
        s, bad = self._get_sched(schedule_id)
        if bad:
            return bad
        return self._replace(schedule_id, s["field_id"], s["source_id"], s["pump_id"], s["start"], volume_m3)

    def report_fault(self, asset_id: str, note: str) -> dict:
        """File a fault report on a pump, canal or node for the maintenance crew.

        Args:
            asset_id: Pump, canal or node ID.
            note: Short description.
        """
        if asset_id not in self.pumps and asset_id not in self.canals and asset_id not in self.nodes:
            return {"success": False, "error": f"asset {asset_id} not found"}
        if not isinstance(note, str) or not note.strip():
            return {"success": False, "error": "note must be a non-empty string"}
        self.faults.append({"asset_id": asset_id, "note": note.strip()[:200], "time": _iso(now())})
        return {"success": True, "message": f"fault on {asset_id} filed"}
