from datetime import timedelta


class ConstructionEquipmentEnv:
    """Heavy-equipment rental: machines at yards, attachments, haul routes with weight limits, site deliveries."""

    MUTATING_TOOLS = ["book_machine", "cancel_rental", "reserve_attachment", "release_attachment",
                      "schedule_transport", "cancel_transport"]

    def __init__(self, init_config: dict):
        self.yards = init_config["yards"]
        self.sites = init_config["sites"]
        self.routes = init_config["routes"]
        self.machines = init_config["machines"]
        self.attachments = init_config["attachments"]
        self.rentals = init_config.get("rentals", {})
        self.transports = init_config.get("transports", {})

    # -- queries ---------------------------------------------------------------------------
    def get_current_time(self) -> dict:
        """Current local time."""
        return {"success": True, "data": {"now": now().isoformat()}}

    def list_yards(self) -> dict:
        """List equipment yards with coordinates and status."""
        return {"success": True, "data": [dict(y, yard_id=k) for k, y in self.yards.items()]}

    def get_site(self, site_id: str) -> dict:
        """Get a construction site: location, delivery window and access notes.

        Args:
            site_id: Site ID.
        """
        s = self.sites.get(site_id)
        if s is None:
            return {"success": False, "error": f"site {site_id} not found"}
        return {"success": True, "data": dict(s, site_id=site_id)}

    def list_machines(self, machine_type: str = "", yard_id: str = "") -> dict:
        """List machines with type, weight, current location (yard, from telematics) and status.

        Args:
            machine_type: Only this type, e.g. "excavator" (empty for all).
            yard_id: Only machines at this yard (empty for all).
        """
        rows = [dict(m, machine_id=k) for k, m in self.machines.items()
                if (not machine_type or m["type"] == machine_type) and (not yard_id or m["location"]["yard"] == yard_id)]
        return {"success": True, "data": rows}

    def get_machine(self, machine_id: str) -> dict:
        """Get one machine.

        Args:
            machine_id: Machine ID.
        """
        m = self.machines.get(machine_id)
        if m is None:
            return {"success": False, "error": f"machine {machine_id} not found"}
        return {"success": True, "data": dict(m, machine_id=machine_id)}

    def list_routes(self, site_id: str) -> dict:
        """List haul routes into a site: origin yard, minutes, weight limit, status.

        Args:
            site_id: Site ID.
        """
        rows = [dict(r, route_id=k) for k, r in self.routes.items() if r["to_site"] == site_id]
        return {"success": True, "data": rows}

    def get_route(self, route_id: str) -> dict:
        """Get one haul route.

        Args:
            route_id: Route ID.
        """
        r = self.routes.get(route_id)
        if r is None:
            return {"success": False, "error": f"route {route_id} not found"}
        return {"success": True, "data": dict(r, route_id=route_id)}

    def list_attachments(self, kind: str = "") -> dict:
        """List attachments (breakers, buckets, augers...) with yard, owner, operating hours and status.

        Args:
            kind: Only this kind (empty for all).
        """
        rows = [dict(a, attachment_id=k) for k, a in self.attachments.items() if not kind or a["kind"] == kind]
        return {"success": True, "data": rows}

    def get_rental(self, rental_id: str) -> dict:
        """Get a rental booking.

        Args:
            rental_id: Rental ID.
        """
        r = self.rentals.get(rental_id)
        if r is None:
            return {"success": False, "error": f"rental {rental_id} not found"}
        return {"success": True, "data": dict(r, rental_id=rental_id)}

    def get_transport(self, transport_id: str) -> dict:
        """Get a scheduled transport (low-loader run) and its status.

        Args:
            transport_id: Transport ID.
        """
        t = self.transports.get(transport_id)
        if t is None:
            return {"success": False, "error": f"transport {transport_id} not found"}
        return {"success": True, "data": dict(t, transport_id=transport_id)}

    # -- state changes ---------------------------------------------------------------------
    def book_machine(self, machine_id: str, site_id: str) -> dict:
        """Book an available machine for a site.

        Args:
            machine_id: Machine ID.
            site_id: Site ID.
        """
        m, s = self.machines.get(machine_id), self.sites.get(site_id)
        if m is None or s is None:
            return {"success": False, "error": "unknown machine or site"}
        if m["status"] != "available":
            return {"success": False, "error": f"machine {machine_id} is {m['status']}"}
        rid = f"RN-{machine_id}"
        m["status"] = "booked"
        self.rentals[rid] = {"machine_id": machine_id, "site_id": site_id, "status": "booked", "attachment": None}
        return {"success": True, "data": {"rental_id": rid}}

    def cancel_rental(self, rental_id: str) -> dict:
        """Cancel a rental (its attachment and transport must be released first).

        Args:
            rental_id: Rental ID.
        """
        r = self.rentals.get(rental_id)
        if r is None or r["status"] != "booked":
            return {"success": False, "error": f"no active rental {rental_id}"}
        if r["attachment"] or self.transports.get(f"TR-{r['machine_id']}", {}).get("status") == "scheduled":
            return {"success": False, "error": f"rental {rental_id} still has an attachment or transport"}
        r["status"] = "cancelled"
        if self.machines[r["machine_id"]]["status"] == "booked":
            self.machines[r["machine_id"]]["status"] = "available"
        return {"success": True, "message": f"{rental_id} cancelled"}

    def reserve_attachment(self, attachment_id: str, rental_id: str) -> dict:
        """Reserve an attachment for a rental; it travels with the machine.

        Args:
            attachment_id: Attachment ID.
            rental_id: Rental ID.
        """
        a, r = self.attachments.get(attachment_id), self.rentals.get(rental_id)
        if a is None or r is None or r["status"] != "booked":
            return {"success": False, "error": "unknown attachment or rental"}
        if a["status"] != "available":
            return {"success": False, "error": f"attachment {attachment_id} is {a['status']}"}
        if a["fits"] != self.machines[r["machine_id"]]["type"]:
            return {"success": False, "error": f"attachment {attachment_id} fits a {a['fits']}"}
        if r["attachment"]:
            return {"success": False, "error": f"rental {rental_id} already has {r['attachment']}"}
        a["status"], a["rental"] = "reserved", rental_id
        r["attachment"] = attachment_id
        return {"success": True, "message": f"{attachment_id} reserved for {rental_id}"}

    def release_attachment(self, attachment_id: str) -> dict:
        """Release a reserved (or unusable) attachment from its rental.

        Args:
            attachment_id: Attachment ID.
        """
        a = self.attachments.get(attachment_id)
        if a is None or not a.get("rental"):
            return {"success": False, "error": f"attachment {attachment_id} is not reserved"}
        self.rentals[a["rental"]]["attachment"] = None
        if a["status"] == "reserved":
            a["status"] = "available"
        a["rental"] = None
        return {"success": True, "message": f"{attachment_id} released"}

    def schedule_transport(self, rental_id: str, route_id: str) -> dict:
        """Schedule a low-loader run taking the machine and its attachment to the site.

        Args:
            rental_id: Rental ID.
            route_id: Haul route ID (must start at the machine's yard and end at the site).
        """
        r, rt = self.rentals.get(rental_id), self.routes.get(route_id)
        if r is None or rt is None or r["status"] != "booked":
            return {"success": False, "error": "unknown rental or route"}
        m = self.machines[r["machine_id"]]
        if rt["to_site"] != r["site_id"]:
            return {"success": False, "error": f"route {route_id} does not end at {r['site_id']}"}
        yard = m["location"]["yard"]
        if rt["from_yard"] != yard:
            return {"success": False, "error": f"machine {r['machine_id']} is at {yard}, route {route_id} starts at {rt['from_yard']}"}
        if rt["status"] != "open":
            return {"success": False, "error": f"route {route_id} is {rt['status']}"}
        if m["weight_t"] > rt["max_weight_t"]:
            return {"success": False, "error": f"{m['weight_t']} t exceeds the {rt['max_weight_t']} t limit on {route_id}"}
        need = self.sites[r["site_id"]]["needs"]
        a = self.attachments.get(r["attachment"] or "")
        if need and (a is None or a["kind"] != need or a["status"] != "reserved"):
            return {"success": False, "error": f"site {r['site_id']} needs a usable {need} attachment"}
        tid = f"TR-{r['machine_id']}"
        eta = now() + timedelta(minutes=rt["minutes"])
        self.transports[tid] = {"rental_id": rental_id, "machine_id": r["machine_id"], "route_id": route_id,
                                "attachment": r["attachment"], "eta": eta.isoformat(timespec="minutes"),
                                "status": "scheduled"}
        return {"success": True, "data": {"transport_id": tid, "eta": self.transports[tid]["eta"]}}

    def cancel_transport(self, transport_id: str) -> dict:
        """Cancel a scheduled or held transport.

        Args:
            transport_id: Transport ID.
        """
        t = self.transports.get(transport_id)
        if t is None or t["status"] == "cancelled":
            return {"success": False, "error": f"no active transport {transport_id}"}
        t["status"] = "cancelled"
        return {"success": True, "message": f"{transport_id} cancelled"}
