"""Shared e-scooter / e-bike fleet: city zones with centre coordinates, bounding boxes and parking
rules (none / slow / no_parking geofences), a road graph between zones with van travel minutes,
vehicles with battery levels, rebalancing vans with spare battery packs, and service requests
(vehicles staged in a zone for a customer by a due time). Time comes from the simulated clock ``now()``."""
import heapq
from datetime import datetime, timedelta


def _parse(ts):
    if not isinstance(ts, str):
        return None
    try:
        return datetime.fromisoformat(ts)
    except ValueError:
        return None


def _iso(t):
    return t.replace(microsecond=0).isoformat()


class ScooterFleetEnv:
    MUTATING_TOOLS = ["assign_vehicle", "release_vehicle", "confirm_request", "relocate_request",
                      "dispatch_van", "reroute_job", "swap_battery"]

    def __init__(self, init_config: dict):
        self.zones = init_config.get("zones", {})
        self.links = init_config.get("links", {})
        self.vehicles = init_config.get("vehicles", {})
        self.vans = init_config.get("vans", {})
        self.requests = init_config.get("requests", {})
        self.jobs = init_config.get("jobs", {})
        self._seq = int(init_config.get("job_seq", 100))
        self._load_min = int(init_config.get("load_minutes", 3))

    # -- helpers -------------------------------------------------------------------------
    def _now(self):
        return now().replace(microsecond=0)

    def _link(self, a, b):
        for lid, ln in self.links.items():
            if (ln["a"] == a and ln["b"] == b) or (ln["a"] == b and ln["b"] == a):
                return lid
        return None

    def _shortest(self, src, dst):
        dist, prev, heap = {src: 0}, {}, [(0, src)]
        while heap:
            d, z = heapq.heappop(heap)
            if z == dst:
                break
            if d > dist.get(z, 10 ** 9):
                continue
            for lid, ln in sorted(self.links.items()):
                if ln["status"] != "open" or z not in (ln["a"], ln["b"]):
                    continue
                o = ln["b"] if ln["a"] == z else ln["a"]
                nd = d + ln["minutes"]
                if nd < dist.get(o, 10 ** 9):
                    dist[o], prev[o] = nd, z
                    heapq.heappush(heap, (nd, o))
        if dst not in dist:
            return None, None
        path = [dst]
        while path[-1] != src:
            path.append(prev[path[-1]])
        return list(reversed(path)), dist[dst]

    def _check_route(self, route):
        if not isinstance(route, list) or len(route) < 2 or not all(isinstance(z, str) for z in route):
            return None, "route must be a list of at least two zone IDs"
        if len(set(route)) != len(route):
            return None, "route visits a zone more than once"
        total = 0
        for z in route:
            if z not in self.zones:
                return None, f"zone {z} not found"
        for a, b in zip(route, route[1:]):
            lid = self._link(a, b)
            if lid is None:
                return None, f"no road link between {a} and {b}"
            if self.links[lid]["status"] != "open":
                return None, f"link {lid} ({a}-{b}) is {self.links[lid]['status']}"
            total += self.links[lid]["minutes"]
        return total, None

    def _veh_view(self, vid):
        v = self.vehicles[vid]
        return {"vehicle_id": vid, "type": v["type"], "zone": v["zone"], "battery_pct": v["battery_pct"],
                "status": v["status"], "available_from": v.get("available_from"), "request": v.get("request"),
                "job": v.get("job")}

    def _req_problem(self, r, vid):
        v = self.vehicles.get(vid)
        if v is None:
            return f"vehicle {vid} not found"
        if v["status"] != "held" or v.get("request") != r["id"]:
            return f"vehicle {vid} is {v['status']}"
        if v["zone"] != r["zone"]:
            return f"vehicle {vid} is in zone {v['zone']}, request zone is {r['zone']}"
        if v["battery_pct"] < r["min_battery"]:
            return f"vehicle {vid} battery {v['battery_pct']}% below {r['min_battery']}%"
        if v.get("job") and self.jobs.get(v["job"], {}).get("status") != "en_route":
            return f"job {v['job']} of vehicle {vid} is {self.jobs[v['job']]['status']}"
        af = _parse(v.get("available_from"))
        if af is not None and af > _parse(r["due"]):
            return f"vehicle {vid} arrives {_iso(af)}, after due time {r['due']}"
        return None

    # -- queries -------------------------------------------------------------------------
    def get_current_time(self) -> dict:
        """Get the current local date and time."""
        return {"success": True, "data": {"now": _iso(self._now())}}

    def list_zones(self) -> dict:
        """List all operating zones with their parking rule and centre coordinates."""
        out = [{"zone_id": k, "name": z["name"], "rule": z["rule"], "lat": z["lat"], "lon": z["lon"]}
               for k, z in sorted(self.zones.items())]
        return {"success": True, "data": out}

    def get_zone(self, zone_id: str) -> dict:
        """Get a zone's bounds, parking rule (none, slow or no_parking), parking capacity and vehicle count.

        Args:
            zone_id: Zone ID, e.g. "Z-14".
        """
        z = self.zones.get(zone_id)
        if z is None:
            return {"success": False, "error": f"zone {zone_id} not found"}
        n = sum(1 for v in self.vehicles.values() if v["zone"] == zone_id)
        return {"success": True, "data": {"zone_id": zone_id, **z, "vehicles_parked": n}}

    def list_links(self, zone_id: str) -> dict:
        """List the road links touching a zone, with travel minutes and status.

        Args:
            zone_id: Zone ID.
        """
        if zone_id not in self.zones:
            return {"success": False, "error": f"zone {zone_id} not found"}
        out = [{"link_id": k, "a": ln["a"], "b": ln["b"], "minutes": ln["minutes"], "status": ln["status"]}
               for k, ln in sorted(self.links.items()) if zone_id in (ln["a"], ln["b"])]
        return {"success": True, "data": out}

    def get_route(self, from_zone: str, to_zone: str) -> dict:
        """Fastest van route over open road links between two zones.

        Args:
            from_zone: Start zone ID.
            to_zone: Destination zone ID.
        """
        for z in (from_zone, to_zone):
            if z not in self.zones:
                return {"success": False, "error": f"zone {z} not found"}
        path, mins = self._shortest(from_zone, to_zone)
        if path is None:
            return {"success": False, "error": f"no open route from {from_zone} to {to_zone}"}
        return {"success": True, "data": {"route": path, "minutes": mins}}

    def list_vehicles(self, zone_id: str, min_battery: int = 0) -> dict:
        """List vehicles parked in a zone.

        Args:
            zone_id: Zone ID.
            min_battery: Only vehicles with at least this battery percentage.
        """
        if zone_id not in self.zones:
            return {"success": False, "error": f"zone {zone_id} not found"}
        if not isinstance(min_battery, int) or not 0 <= min_battery <= 100:
            return {"success": False, "error": "min_battery must be an integer between 0 and 100"}
        out = [self._veh_view(k) for k, v in sorted(self.vehicles.items())
               if v["zone"] == zone_id and v["battery_pct"] >= min_battery]
        return {"success": True, "data": {"zone_id": zone_id, "rule": self.zones[zone_id]["rule"], "vehicles": out}}

    def get_vehicle(self, vehicle_id: str) -> dict:
        """Get a vehicle's zone, battery, status and any request or van job it is on.

        Args:
            vehicle_id: Vehicle ID, e.g. "SC-4821".
        """
        if vehicle_id not in self.vehicles:
            return {"success": False, "error": f"vehicle {vehicle_id} not found"}
        return {"success": True, "data": self._veh_view(vehicle_id)}

    def list_vans(self) -> dict:
        """List rebalancing vans with their zone, status and charged battery packs on board."""
        out = [{"van_id": k, **v} for k, v in sorted(self.vans.items())]
        return {"success": True, "data": out}

    def get_van(self, van_id: str) -> dict:
        """Get a rebalancing van's zone, status, shift end and charged battery packs.

        Args:
            van_id: Van ID, e.g. "VAN-07".
        """
        v = self.vans.get(van_id)
        if v is None:
            return {"success": False, "error": f"van {van_id} not found"}
        return {"success": True, "data": {"van_id": van_id, **v}}

    def get_request(self, request_id: str) -> dict:
        """Get a service request: zone, vehicles needed, minimum battery, due time, held vehicles and status.

        Args:
            request_id: Service request ID, e.g. "SR-3107".
        """
        r = self.requests.get(request_id)
        if r is None:
            return {"success": False, "error": f"request {request_id} not found"}
        held = [self._veh_view(v) for v in r["vehicles"] if v in self.vehicles]
        return {"success": True, "data": {**r, "zone_rule": self.zones[r["zone"]]["rule"], "held": held}}

    def get_job(self, job_id: str) -> dict:
        """Get a van rebalancing job: van, vehicle, route, ETA and status.

        Args:
            job_id: Job ID, e.g. "J-212".
        """
        j = self.jobs.get(job_id)
        if j is None:
            return {"success": False, "error": f"job {job_id} not found"}
        return {"success": True, "data": {"job_id": job_id, **j}}

    # -- state changes -------------------------------------------------------------------
    def assign_vehicle(self, request_id: str, vehicle_id: str) -> dict:
        """Hold a vehicle for a service request. The vehicle must be in the request's zone (or on a van job
        heading there), charged to the request's minimum battery and there by the due time.

        Args:
            request_id: Service request ID.
            vehicle_id: Vehicle ID.
        """
        r = self.requests.get(request_id)
        if r is None:
            return {"success": False, "error": f"request {request_id} not found"}
        v = self.vehicles.get(vehicle_id)
        if v is None:
            return {"success": False, "error": f"vehicle {vehicle_id} not found"}
        if r["status"] != "open":
            return {"success": False, "error": f"request {request_id} is {r['status']}"}
        if len(r["vehicles"]) >= r["qty"]:
            return {"success": False, "error": f"request {request_id} already holds {r['qty']} vehicles"}
        if self.zones[r["zone"]]["rule"] == "no_parking":
            return {"success": False, "error": f"zone {r['zone']} is a no-parking zone"}
        if v["status"] not in ("available", "in_transit"):
            return {"success": False, "error": f"vehicle {vehicle_id} is {v['status']}"}
        if v["zone"] != r["zone"]:
            return {"success": False, "error": f"vehicle {vehicle_id} is in zone {v['zone']}, not {r['zone']}"}
        if v["battery_pct"] < r["min_battery"]:
            return {"success": False, "error": f"vehicle {vehicle_id} battery {v['battery_pct']}% below {r['min_battery']}%"}
        af = _parse(v.get("available_from"))
        if af is not None and af > _parse(r["due"]):
            return {"success": False, "error": f"vehicle {vehicle_id} arrives {_iso(af)}, after due time {r['due']}"}
        v["status"] = "held"
        v["request"] = request_id
        r["vehicles"].append(vehicle_id)
        return {"success": True, "data": {"request_id": request_id, "vehicles": r["vehicles"], "qty": r["qty"]}}

    def release_vehicle(self, request_id: str, vehicle_id: str) -> dict:
        """Release a vehicle held for a request (the request reopens if it was confirmed).

        Args:
            request_id: Service request ID.
            vehicle_id: Vehicle ID.
        """
        r = self.requests.get(request_id)
        if r is None:
            return {"success": False, "error": f"request {request_id} not found"}
        if vehicle_id not in r["vehicles"]:
            return {"success": False, "error": f"vehicle {vehicle_id} is not held for {request_id}"}
        r["vehicles"].remove(vehicle_id)
        r["status"] = "open"
        v = self.vehicles.get(vehicle_id)
        if v is not None:
            v["request"] = None
            if v["status"] == "held":
                v["status"] = "in_transit" if v.get("job") and self.jobs[v["job"]]["status"] == "en_route" else "available"
        return {"success": True, "data": {"request_id": request_id, "vehicles": r["vehicles"]}}

    def confirm_request(self, request_id: str) -> dict:
        """Confirm a request once all its vehicles are held in its zone and ready by the due time.

        Args:
            request_id: Service request ID.
        """
        r = self.requests.get(request_id)
        if r is None:
            return {"success": False, "error": f"request {request_id} not found"}
        if r["status"] != "open":
            return {"success": False, "error": f"request {request_id} is {r['status']}"}
        if self._now() > _parse(r["due"]):
            return {"success": False, "error": f"request {request_id} was due at {r['due']}"}
        if self.zones[r["zone"]]["rule"] == "no_parking":
            return {"success": False, "error": f"zone {r['zone']} is a no-parking zone"}
        if len(r["vehicles"]) != r["qty"]:
            return {"success": False, "error": f"request {request_id} holds {len(r['vehicles'])} of {r['qty']} vehicles"}
        for vid in r["vehicles"]:
            p = self._req_problem(r, vid)
            if p:
                return {"success": False, "error": p}
        r["status"] = "confirmed"
        r["confirmed_at"] = _iso(self._now())
        return {"success": True, "data": {"request_id": request_id, "status": "confirmed", "vehicles": r["vehicles"]}}

    def relocate_request(self, request_id: str, zone_id: str) -> dict:
        """Move a request's staging point to another zone; held vehicles outside it are released.

        Args:
            request_id: Service request ID.
            zone_id: New zone ID.
        """
        r = self.requests.get(request_id)
        if r is None:
            return {"success": False, "error": f"request {request_id} not found"}
        z = self.zones.get(zone_id)
        if z is None:
            return {"success": False, "error": f"zone {zone_id} not found"}
        if zone_id == r["zone"]:
            return {"success": False, "error": f"request {request_id} is already in zone {zone_id}"}
        if z["rule"] == "no_parking":
            return {"success": False, "error": f"zone {zone_id} is a no-parking zone"}
        for vid in [x for x in r["vehicles"] if self.vehicles.get(x, {}).get("zone") != zone_id]:
            self.release_vehicle(request_id, vid)
        r["zone"] = zone_id
        r["status"] = "open"
        return {"success": True, "data": {"request_id": request_id, "zone": zone_id, "vehicles": r["vehicles"]}}

    def dispatch_van(self, van_id: str, vehicle_id: str, route: list[str]) -> dict:
        """Send a van to collect a vehicle and drive it along a route of adjacent zones; the vehicle is
        in transit to the last zone until the job's ETA.

        Args:
            van_id: Van ID.
            vehicle_id: Vehicle ID; must be parked in the first zone of the route.
            route: Zone IDs from the vehicle's zone to the destination, each pair joined by a road link.
        """
        van = self.vans.get(van_id)
        if van is None:
            return {"success": False, "error": f"van {van_id} not found"}
        v = self.vehicles.get(vehicle_id)
        if v is None:
            return {"success": False, "error": f"vehicle {vehicle_id} not found"}
        if van["status"] != "active":
            return {"success": False, "error": f"van {van_id} is {van['status']}"}
        if v["status"] != "available":
            return {"success": False, "error": f"vehicle {vehicle_id} is {v['status']}"}
        mins, err = self._check_route(route)
        if err:
            return {"success": False, "error": err}
        if route[0] != v["zone"]:
            return {"success": False, "error": f"vehicle {vehicle_id} is in zone {v['zone']}, route starts at {route[0]}"}
        dest = self.zones[route[-1]]
        if dest["rule"] == "no_parking":
            return {"success": False, "error": f"zone {route[-1]} is a no-parking zone"}
        approach = 0
        if van["zone"] != v["zone"]:
            _, approach = self._shortest(van["zone"], v["zone"])
            if approach is None:
                return {"success": False, "error": f"no open route from {van['zone']} to {v['zone']}"}
        t0 = max(self._now(), _parse(van.get("free_from")) or self._now())
        eta = t0 + timedelta(minutes=approach + self._load_min + mins)
        if _parse(van.get("shift_end")) and eta > _parse(van["shift_end"]):
            return {"success": False, "error": f"van {van_id} shift ends {van['shift_end']}, ETA {_iso(eta)}"}
        self._seq += 1
        jid = f"J-{self._seq}"
        self.jobs[jid] = {"van": van_id, "vehicle": vehicle_id, "from": route[0], "to": route[-1],
                          "route": list(route), "eta": _iso(eta), "status": "en_route"}
        v["zone"], v["status"], v["job"], v["available_from"] = route[-1], "in_transit", jid, _iso(eta)
        van["zone"], van["free_from"] = route[-1], _iso(eta)
        return {"success": True, "data": {"job_id": jid, **self.jobs[jid]}}

    def reroute_job(self, job_id: str, route: list[str]) -> dict:
        """Give a halted van job a new route from the zone where it stopped to its destination.

        Args:
            job_id: Job ID.
            route: Zone IDs from the vehicle's current zone to the job's destination.
        """
        j = self.jobs.get(job_id)
        if j is None:
            return {"success": False, "error": f"job {job_id} not found"}
        if j["status"] != "halted":
            return {"success": False, "error": f"job {job_id} is {j['status']}"}
        mins, err = self._check_route(route)
        if err:
            return {"success": False, "error": err}
        v = self.vehicles[j["vehicle"]]
        if route[0] != v["zone"]:
            return {"success": False, "error": f"job {job_id} stopped in zone {v['zone']}, route starts at {route[0]}"}
        if route[-1] != j["to"]:
            return {"success": False, "error": f"job {job_id} goes to {j['to']}, route ends at {route[-1]}"}
        eta = self._now() + timedelta(minutes=mins)
        j["route"], j["eta"], j["status"] = list(route), _iso(eta), "en_route"
        v["zone"], v["available_from"] = j["to"], _iso(eta)
        if v["status"] == "stranded":
            v["status"] = "in_transit"
        van = self.vans[j["van"]]
        van["zone"], van["free_from"] = j["to"], _iso(eta)
        return {"success": True, "data": {"job_id": job_id, **j}}

    def swap_battery(self, van_id: str, vehicle_id: str) -> dict:
        """Have a van drive to a vehicle and swap in a charged battery pack (battery becomes 100%).

        Args:
            van_id: Van ID.
            vehicle_id: Vehicle ID.
        """
        van = self.vans.get(van_id)
        if van is None:
            return {"success": False, "error": f"van {van_id} not found"}
        v = self.vehicles.get(vehicle_id)
        if v is None:
            return {"success": False, "error": f"vehicle {vehicle_id} not found"}
        if van["status"] != "active":
            return {"success": False, "error": f"van {van_id} is {van['status']}"}
        if van["packs"] <= 0:
            return {"success": False, "error": f"van {van_id} has no charged battery packs"}
        if v["status"] not in ("available", "held"):
            return {"success": False, "error": f"vehicle {vehicle_id} is {v['status']}"}
        if v["battery_pct"] >= 100:
            return {"success": False, "error": f"vehicle {vehicle_id} is at 100%"}
        approach = 0
        if van["zone"] != v["zone"]:
            _, approach = self._shortest(van["zone"], v["zone"])
            if approach is None:
                return {"success": False, "error": f"no open route from {van['zone']} to {v['zone']}"}
        t0 = max(self._now(), _parse(van.get("free_from")) or self._now())
        done = t0 + timedelta(minutes=approach + 4)
        van["packs"] -= 1
        van["zone"], van["free_from"] = v["zone"], _iso(done)
        v["battery_pct"] = 100
        af = _parse(v.get("available_from"))
        v["available_from"] = _iso(max(done, af) if af else done)
        return {"success": True, "data": {"vehicle_id": vehicle_id, "battery_pct": 100,
                                          "available_from": v["available_from"], "packs_left": van["packs"]}}
