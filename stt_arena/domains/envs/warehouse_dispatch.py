"""Warehouse dispatch: orders, picking waves with priorities, warehouse tasks with dependencies,
loading docks and outbound trucks. Time comes from the simulated clock ``now()``."""
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


class WarehouseDispatchEnv:
    MUTATING_TOOLS = ["add_order_to_wave", "remove_order_from_wave", "release_wave", "recall_wave", "unload_order",
                      "complete_task", "assign_dock", "load_order", "hold_order", "dispatch_truck"]

    def __init__(self, init_config: dict):
        self.site = init_config.get("site", {})
        self.orders = init_config.get("orders", {})
        self.waves = init_config.get("waves", {})
        self.tasks = init_config.get("tasks", {})
        self.docks = init_config.get("docks", {})
        self.trucks = init_config.get("trucks", {})
        self._dispatch_lead = int(init_config.get("dispatch_lead_min", 60))

    def _now(self):
        return now().replace(microsecond=0)

    def _wave_pallets(self, wave):
        return sum(self.orders[o]["pallets"] for o in wave["orders"] if o in self.orders)

    # -- queries -------------------------------------------------------------------------
    def get_current_time(self) -> dict:
        """Get the current local date and time at the warehouse."""
        return {"success": True, "data": {"now": _iso(self._now()), "site": self.site.get("name", "")}}

    def list_orders(self, status: str = "", destination: str = "") -> dict:
        """List outbound orders, optionally filtered by status and destination.

        Args:
            status: Order status filter, e.g. "pending", "packed", "loaded"; empty for all.
            destination: Destination filter, e.g. "Hamburg DC"; empty for all.
        """
        out = []
        for k, o in sorted(self.orders.items()):
            if status and o["status"] != status:
                continue
            if destination and o["destination"] != destination:
                continue
            out.append({"order_id": k, "destination": o["destination"], "pallets": o["pallets"],
                        "priority": o["priority"], "status": o["status"], "due": o["due"],
                        "wave_id": o.get("wave_id")})
        return {"success": True, "data": out}

    def get_order(self, order_id: str) -> dict:
        """Get one order: customer, destination, pallets, priority (1 = most urgent), status, wave and truck.

        Args:
            order_id: Order ID, e.g. "SO-48213".
        """
        o = self.orders.get(order_id)
        if o is None:
            return {"success": False, "error": f"order {order_id} not found"}
        return {"success": True, "data": {"order_id": order_id, **o}}

    def list_waves(self) -> dict:
        """List picking waves with route, status and pallet load."""
        out = [{"wave_id": k, "route": w["route"], "status": w["status"], "orders": len(w["orders"]),
                "pallets": self._wave_pallets(w), "max_pallets": w["max_pallets"]}
               for k, w in sorted(self.waves.items())]
        return {"success": True, "data": out}

    def get_wave(self, wave_id: str) -> dict:
        """Get a picking wave: route, status, cut-off, capacity and its orders.

        Args:
            wave_id: Wave ID, e.g. "W-0712".
        """
        w = self.waves.get(wave_id)
        if w is None:
            return {"success": False, "error": f"wave {wave_id} not found"}
        return {"success": True, "data": {"wave_id": wave_id, **w, "pallets": self._wave_pallets(w)}}

    def list_tasks(self, order_id: str = "") -> dict:
        """List warehouse tasks, optionally only those of one order.

        Args:
            order_id: Order ID filter; empty for all tasks.
        """
        if order_id and order_id not in self.orders:
            return {"success": False, "error": f"order {order_id} not found"}
        out = [{"task_id": k, "kind": t["kind"], "order_id": t.get("order_id"), "status": t["status"]}
               for k, t in sorted(self.tasks.items()) if not order_id or t.get("order_id") == order_id]
        return {"success": True, "data": out}

    def get_task(self, task_id: str) -> dict:
        """Get a warehouse task: kind, zone, status, dependencies and earliest start.

        Args:
            task_id: Task ID, e.g. "TK-3301".
        """
        t = self.tasks.get(task_id)
        if t is None:
            return {"success": False, "error": f"task {task_id} not found"}
        return {"success": True, "data": {"task_id": task_id, **t}}

    def list_docks(self) -> dict:
        """List loading docks with type, status and the truck at each."""
        out = [{"dock_id": k, "type": d["type"], "status": d["status"], "truck_id": d.get("truck_id")}
               for k, d in sorted(self.docks.items())]
        return {"success": True, "data": out}

    def get_dock(self, dock_id: str) -> dict:
        """Get a loading dock's zone, type, status and current truck.

        Args:
            dock_id: Dock ID, e.g. "DK-04".
        """
        d = self.docks.get(dock_id)
        if d is None:
            return {"success": False, "error": f"dock {dock_id} not found"}
        return {"success": True, "data": {"dock_id": dock_id, **d}}

    def list_trucks(self) -> dict:
        """List outbound trucks with destination, departure, status and load."""
        out = [{"truck_id": k, "destination": t["destination"], "type": t["type"], "departure": t["departure"],
                "status": t["status"], "dock_id": t.get("dock_id"), "loaded_pallets": t["loaded_pallets"],
                "capacity_pallets": t["capacity_pallets"]} for k, t in sorted(self.trucks.items())]
        return {"success": True, "data": out}

    def get_truck(self, truck_id: str) -> dict:
        """Get a truck: carrier, type, destination, departure, dock, status and pallet capacity.

        Args:
            truck_id: Truck ID, e.g. "TR-552".
        """
        t = self.trucks.get(truck_id)
        if t is None:
            return {"success": False, "error": f"truck {truck_id} not found"}
        return {"success": True, "data": {"truck_id": truck_id, **t}}

    # -- state changes -------------------------------------------------------------------
    def add_order_to_wave(self, wave_id: str, order_id: str) -> dict:
        """Add a pending order to an open picking wave on the same route.

        Args:
            wave_id: Wave ID.
            order_id: Order ID.
        """
        w = self.waves.get(wave_id)
        if w is None:
            return {"success": False, "error": f"wave {wave_id} not found"}
        o = self.orders.get(order_id)
        if o is None:
            return {"success": False, "error": f"order {order_id} not found"}
        if w["status"] != "open":
            return {"success": False, "error": f"wave {wave_id} is {w['status']}"}
        if o["status"] != "pending":
            return {"success": False, "error": f"order {order_id} is {o['status']}"}
        if o.get("wave_id"):
            return {"success": False, "error": f"order {order_id} is already in wave {o['wave_id']}"}
        if o["destination"] != w["route"]:
            return {"success": False, "error": f"order {order_id} goes to {o['destination']}, wave {wave_id} serves {w['route']}"}
        load = self._wave_pallets(w)
        if load + o["pallets"] > w["max_pallets"]:
            return {"success": False, "error": f"wave {wave_id} has {w['max_pallets'] - load} pallets free, order {order_id} needs {o['pallets']}"}
        w["orders"].append(order_id)
        o["wave_id"] = wave_id
        return {"success": True, "data": {"wave_id": wave_id, "orders": list(w["orders"]),
                                          "pallets": self._wave_pallets(w)}}

    def remove_order_from_wave(self, wave_id: str, order_id: str) -> dict:
        """Remove an order from an open picking wave.

        Args:
            wave_id: Wave ID.
            order_id: Order ID.
        """
        w = self.waves.get(wave_id)
        if w is None:
            return {"success": False, "error": f"wave {wave_id} not found"}
        if w["status"] != "open":
            return {"success": False, "error": f"wave {wave_id} is {w['status']}"}
        if order_id not in w["orders"]:
            return {"success": False, "error": f"order {order_id} is not in wave {wave_id}"}
        w["orders"].remove(order_id)
        self.orders[order_id]["wave_id"] = None
        return {"success": True, "data": {"wave_id": wave_id, "orders": list(w["orders"]),
                                          "pallets": self._wave_pallets(w)}}

    def release_wave(self, wave_id: str) -> dict:
        """Release an open wave to the pickers. A wave cannot leave out an unassigned pending priority-1
        order of its route.

        Args:
            wave_id: Wave ID.
        """
        w = self.waves.get(wave_id)
        if w is None:
            return {"success": False, "error": f"wave {wave_id} not found"}
        if w["status"] != "open":
            return {"success": False, "error": f"wave {wave_id} is {w['status']}"}
        if not w["orders"]:
            return {"success": False, "error": f"wave {wave_id} has no orders"}
        cut = _parse(w.get("cutoff"))
        if cut is not None and self._now() > cut:
            return {"success": False, "error": f"wave {wave_id} cut-off {w['cutoff']} has passed"}
        for k, o in sorted(self.orders.items()):
            if (o["destination"] == w["route"] and o["status"] == "pending" and o["priority"] == 1
                    and not o.get("wave_id")):
                return {"success": False, "error": f"wave {wave_id} excludes pending priority-1 order {k} of route {w['route']}"}
        w["status"] = "released"
        w["released_at"] = _iso(self._now())
        return {"success": True, "data": {"wave_id": wave_id, "status": "released", "orders": list(w["orders"])}}

    def recall_wave(self, wave_id: str) -> dict:
        """Recall a released wave back to open (before its cut-off).

        Args:
            wave_id: Wave ID.
        """
        w = self.waves.get(wave_id)
        if w is None:
            return {"success": False, "error": f"wave {wave_id} not found"}
        if w["status"] != "released":
            return {"success": False, "error": f"wave {wave_id} is {w['status']}"}
        cut = _parse(w.get("cutoff"))
        if cut is not None and self._now() > cut:
            return {"success": False, "error": f"wave {wave_id} cut-off {w['cutoff']} has passed"}
        w["status"] = "open"
        w["released_at"] = None
        return {"success": True, "data": {"wave_id": wave_id, "status": "open"}}

    def complete_task(self, task_id: str) -> dict:
        """Confirm a warehouse task as done (its dependencies must be done first).

        Args:
            task_id: Task ID.
        """
        t = self.tasks.get(task_id)
        if t is None:
            return {"success": False, "error": f"task {task_id} not found"}
        if t["status"] == "done":
            return {"success": False, "error": f"task {task_id} is already done"}
        for dep in t.get("depends_on", []):
            ds = self.tasks.get(dep, {}).get("status", "missing")
            if ds != "done":
                return {"success": False, "error": f"task {task_id} depends on {dep} ({ds})"}
        es = _parse(t.get("earliest_start"))
        if es is not None and self._now() < es:
            return {"success": False, "error": f"task {task_id} cannot start before {t['earliest_start']}"}
        t["status"] = "done"
        t["done_at"] = _iso(self._now())
        o = self.orders.get(t.get("order_id") or "")
        if o is not None:
            if t["kind"] == "pick" and o["status"] == "pending":
                o["status"] = "picked"
            elif t["kind"] == "pack" and o["status"] == "picked":
                o["status"] = "packed"
        return {"success": True, "data": {"task_id": task_id, "status": "done",
                                          "order_status": o["status"] if o is not None else None}}

    def assign_dock(self, truck_id: str, dock_id: str) -> dict:
        """Call a truck from the yard to a free loading dock of its type.

        Args:
            truck_id: Truck ID.
            dock_id: Dock ID.
        """
        tr = self.trucks.get(truck_id)
        if tr is None:
            return {"success": False, "error": f"truck {truck_id} not found"}
        d = self.docks.get(dock_id)
        if d is None:
            return {"success": False, "error": f"dock {dock_id} not found"}
        if tr["status"] != "yard":
            return {"success": False, "error": f"truck {truck_id} is {tr['status']}"}
        if d["status"] != "free":
            who = f" by {d['truck_id']}" if d.get("truck_id") else ""
            return {"success": False, "error": f"dock {dock_id} is {d['status']}{who}"}
        if d["type"] != tr["type"]:
            return {"success": False, "error": f"dock {dock_id} is {d['type']}, truck {truck_id} is {tr['type']}"}
        d["status"] = "occupied"
        d["truck_id"] = truck_id
        tr["status"] = "docked"
        tr["dock_id"] = dock_id
        return {"success": True, "data": {"truck_id": truck_id, "dock_id": dock_id}}

    def load_order(self, order_id: str, truck_id: str) -> dict:
        """Load a packed order onto a docked truck bound for the order's destination.

        Args:
            order_id: Order ID.
            truck_id: Truck ID.
        """
        o = self.orders.get(order_id)
        if o is None:
            return {"success": False, "error": f"order {order_id} not found"}
        tr = self.trucks.get(truck_id)
        if tr is None:
            return {"success": False, "error": f"truck {truck_id} not found"}
        if o["status"] != "packed":
            return {"success": False, "error": f"order {order_id} is {o['status']}"}
        if tr["status"] != "docked":
            return {"success": False, "error": f"truck {truck_id} is {tr['status']}"}
        if tr["destination"] != o["destination"]:
            return {"success": False, "error": f"truck {truck_id} goes to {tr['destination']}, order {order_id} to {o['destination']}"}
        if o.get("temp", "dry") != tr["type"]:
            return {"success": False, "error": f"order {order_id} is {o.get('temp', 'dry')}, truck {truck_id} is {tr['type']}"}
        if tr["loaded_pallets"] + o["pallets"] > tr["capacity_pallets"]:
            free = tr["capacity_pallets"] - tr["loaded_pallets"]
            return {"success": False, "error": f"truck {truck_id} has {free} pallet places free, order {order_id} has {o['pallets']}"}
        dep = _parse(tr["departure"])
        if dep is not None and self._now() > dep:
            return {"success": False, "error": f"truck {truck_id} departure {tr['departure']} has passed"}
        tr["loaded_pallets"] += o["pallets"]
        o["status"] = "loaded"
        o["truck_id"] = truck_id
        return {"success": True, "data": {"order_id": order_id, "truck_id": truck_id,
                                          "truck_load": tr["loaded_pallets"]}}

    def unload_order(self, order_id: str) -> dict:
        """Take a loaded (not yet shipped) order off its truck; it goes back to packed.

        Args:
            order_id: Order ID.
        """
        o = self.orders.get(order_id)
        if o is None:
            return {"success": False, "error": f"order {order_id} not found"}
        if o["status"] != "loaded":
            return {"success": False, "error": f"order {order_id} is {o['status']}"}
        tr = self.trucks.get(o.get("truck_id") or "")
        if tr is not None:
            if tr["status"] != "docked":
                return {"success": False, "error": f"truck {o['truck_id']} is {tr['status']}"}
            tr["loaded_pallets"] = max(0, tr["loaded_pallets"] - o["pallets"])
        o["status"] = "packed"
        o["truck_id"] = None
        return {"success": True, "data": {"order_id": order_id, "status": "packed"}}

    def hold_order(self, order_id: str) -> dict:
        """Put an order that is not yet loaded on hold (removes it from an open wave).

        Args:
            order_id: Order ID.
        """
        o = self.orders.get(order_id)
        if o is None:
            return {"success": False, "error": f"order {order_id} not found"}
        if o["status"] not in ("pending", "picked", "packed"):
            return {"success": False, "error": f"order {order_id} is {o['status']}"}
        if o["priority"] == 1:
            return {"success": False, "error": f"order {order_id} is priority 1"}
        w = self.waves.get(o.get("wave_id") or "")
        if w is not None:
            if w["status"] != "open":
                return {"success": False, "error": f"order {order_id} is in {w['status']} wave {o['wave_id']}"}
            w["orders"].remove(order_id)
            o["wave_id"] = None
        o["status"] = "on_hold"
        return {"success": True, "message": f"order {order_id} on hold"}

    def dispatch_truck(self, truck_id: str) -> dict:
        """Close and dispatch a loaded, docked truck (within 60 minutes of its departure time).

        Args:
            truck_id: Truck ID.
        """
        tr = self.trucks.get(truck_id)
        if tr is None:
            return {"success": False, "error": f"truck {truck_id} not found"}
        if tr["status"] != "docked":
            return {"success": False, "error": f"truck {truck_id} is {tr['status']}"}
        if tr["loaded_pallets"] <= 0:
            return {"success": False, "error": f"truck {truck_id} is empty"}
        dep = _parse(tr["departure"])
        if dep is not None and self._now() < dep - timedelta(minutes=self._dispatch_lead):
            return {"success": False, "error": f"truck {truck_id} departure slot is {tr['departure']}"}
        d = self.docks.get(tr.get("dock_id") or "")
        if d is not None:
            d["status"] = "free"
            d["truck_id"] = None
        tr["status"] = "departed"
        tr["dock_id"] = None
        tr["departed_at"] = _iso(self._now())
        for o in self.orders.values():
            if o.get("truck_id") == truck_id and o["status"] == "loaded":
                o["status"] = "shipped"
        return {"success": True, "data": {"truck_id": truck_id, "departed_at": tr["departed_at"]}}
