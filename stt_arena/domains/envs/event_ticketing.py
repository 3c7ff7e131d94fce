"""Event ticketing desk: events at venues with coordinates, ticket tiers with sales windows and
promotional quotas, virtual queues with priority lanes, carts with expiry and orders."""
import math
from datetime import datetime, timedelta


def _dt(text):
    try:
        return datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None


def _posint(x):
    return isinstance(x, int) and not isinstance(x, bool) and x >= 1


class EventTicketingEnv:
    MUTATING_TOOLS = ["join_queue", "redeem_priority_code", "leave_queue", "reserve_tickets", "checkout",
                      "buy_tickets", "release_cart", "cancel_order"]

    def __init__(self, init_config: dict):
        self.venues = init_config.get("venues", {})
        self.events = init_config.get("events", {})
        self.tiers = init_config.get("tiers", {})
        self.customers = init_config.get("customers", {})
        self.queues = init_config.get("queues", {})
        self.queue_entries = init_config.get("queue_entries", {})
        self.carts = init_config.get("carts", [])
        self.orders = init_config.get("orders", [])
        self.cart_minutes = init_config.get("cart_minutes", 10)
        self._seq = int(init_config.get("seq_start", 5000))

    # -- helpers --------------------------------------------------------------------------
    def _next(self, prefix):
        self._seq += 1
        return f"{prefix}-{self._seq}"

    def _find(self, records, key, value):
        for r in records:
            if r.get(key) == value:
                return r
        return None

    def _entry_of(self, queue_id, customer_id):
        for k, e in self.queue_entries.items():
            if e["queue_id"] == queue_id and e["customer_id"] == customer_id and e["status"] != "left":
                return k, e
        return None, None

    def _can_buy(self, tier_id, customer_id, quantity):
        t = self.tiers.get(tier_id)
        if t is None:
            return None, f"tier {tier_id} not found"
        c = self.customers.get(customer_id)
        if c is None:
            return None, f"customer {customer_id} not found"
        ev = self.events[t["event_id"]]
        if ev["status"] != "on_sale":
            return None, f"event {t['event_id']} is {ev['status']}"
        if not _posint(quantity):
            return None, "quantity must be a positive integer"
        if quantity > t["max_per_order"]:
            return None, f"tier {tier_id} allows at most {t['max_per_order']} per order"
        if t.get("status", "on_sale") != "on_sale":
            return None, f"tier {tier_id} is {t['status']}"
        if now() < _dt(t["sales_open"]):
            return None, f"sales for tier {tier_id} open at {t['sales_open']}"
        if now() > _dt(t["sales_close"]):
            return None, f"sales for tier {tier_id} closed at {t['sales_close']}"
        if t.get("members_only") and c["membership"] == "standard":
            return None, f"tier {tier_id} is for members; customer {customer_id} is standard"
        if t.get("quota_left") is not None and quantity > t["quota_left"]:
            return None, f"tier {tier_id} promotional quota: {t['quota_left']} left this period"
        if t["available"] < quantity:
            return None, f"tier {tier_id} has {t['available']} ticket(s) left"
        q = t.get("queue_id")
        if q:
            k, e = self._entry_of(q, customer_id)
            if e is None:
                return None, f"customer {customer_id} has no entry in queue {q}"
            if e["status"] != "admitted":
                return None, f"queue entry {k} is {e['status']} (position {e['position']}, lane {e['lane']})"
        return t, None

    def _take(self, tier_id, quantity, sign):
        t = self.tiers[tier_id]
        t["available"] -= sign * quantity
        if t.get("quota_left") is not None:
            t["quota_left"] -= sign * quantity

    def _order(self, tier_id, customer_id, quantity, order_id, cart_id=None):
        t = self.tiers[tier_id]
        o = {"order_id": order_id, "tier_id": tier_id, "event_id": t["event_id"], "customer_id": customer_id,
             "quantity": quantity, "unit_price": t["price"], "total": t["price"] * quantity, "cart_id": cart_id,
             "status": "paid", "created": now().isoformat(timespec="minutes")}
        self.orders.append(o)
        return o

    # -- query tools ----------------------------------------------------------------------
    def get_current_time(self) -> dict:
        """Current time at the box office."""
        return {"success": True, "data": {"now": now().isoformat(timespec="minutes")}}

    def list_events(self, city: str) -> dict:
        """List events in a city with venue, start time and status.

        Args:
            city: City name, e.g. "Madrid".
        """
        out = [{"event_id": k, "name": e["name"], "venue_id": e["venue_id"], "starts": e["starts"],
                "status": e["status"]} for k, e in self.events.items()
               if self.venues.get(e["venue_id"], {}).get("city") == city]
        if not out:
            return {"success": False, "error": f"no events for city {city}"}
        return {"success": True, "data": out}

    def get_event(self, event_id: str) -> dict:
        """Get an event's details.

        Args:
            event_id: Event ID, e.g. "EV-301".
        """
        e = self.events.get(event_id)
        if e is None:
            return {"success": False, "error": f"event {event_id} not found"}
        return {"success": True, "data": {"event_id": event_id, **e}}

    def get_venue(self, venue_id: str) -> dict:
        """Get a venue's address data, coordinates and capacity.

        Args:
            venue_id: Venue ID, e.g. "VN-12".
        """
        v = self.venues.get(venue_id)
        if v is None:
            return {"success": False, "error": f"venue {venue_id} not found"}
        return {"success": True, "data": {"venue_id": venue_id, **v}}

    def list_tiers(self, event_id: str) -> dict:
        """List the ticket tiers of an event: price, availability, sales window, quota, queue.

        Args:
            event_id: Event ID.
        """
        if event_id not in self.events:
            return {"success": False, "error": f"event {event_id} not found"}
        return {"success": True, "data": [{"tier_id": k, **t} for k, t in self.tiers.items() if t["event_id"] == event_id]}

    def get_tier(self, tier_id: str) -> dict:
        """Get one ticket tier.

        Args:
            tier_id: Tier ID, e.g. "TK-3012".
        """
        t = self.tiers.get(tier_id)
        if t is None:
            return {"success": False, "error": f"tier {tier_id} not found"}
        return {"success": True, "data": {"tier_id": tier_id, **t}}

    def get_customer(self, customer_id: str) -> dict:
        """Get a customer account: name, membership, priority code, home coordinates.

        Args:
            customer_id: Customer ID, e.g. "CU-881".
        """
        c = self.customers.get(customer_id)
        if c is None:
            return {"success": False, "error": f"customer {customer_id} not found"}
        return {"success": True, "data": {"customer_id": customer_id, **c}}

    def estimate_travel(self, customer_id: str, venue_id: str) -> dict:
        """Distance and estimated travel time from a customer's home to a venue.

        Args:
            customer_id: Customer ID.
            venue_id: Venue ID.
        """
        c, v = self.customers.get(customer_id), self.venues.get(venue_id)
        if c is None or v is None:
            return {"success": False, "error": "unknown customer or venue"}
        la1, lo1, la2, lo2 = map(math.radians, (c["home_lat"], c["home_lon"], v["lat"], v["lon"]))
        h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
        km = 2 * 6371.0 * math.asin(math.sqrt(h))
        return {"success": True, "data": {"km": round(km, 1), "minutes": int(round(km * 2.5 + 6))}}

    def get_queue(self, queue_id: str) -> dict:
        """Get a virtual queue: event, lanes, admission progress.

        Args:
            queue_id: Queue ID, e.g. "QU-44".
        """
        q = self.queues.get(queue_id)
        if q is None:
            return {"success": False, "error": f"queue {queue_id} not found"}
        return {"success": True, "data": {"queue_id": queue_id, **q}}

    def get_queue_entry(self, entry_id: str) -> dict:
        """Get a queue entry: position, lane and status.

        Args:
            entry_id: Queue entry ID, e.g. "QE-7781".
        """
        e = self.queue_entries.get(entry_id)
        if e is None:
            return {"success": False, "error": f"queue entry {entry_id} not found"}
        return {"success": True, "data": {"entry_id": entry_id, **e}}

    def get_cart(self, cart_id: str) -> dict:
        """Get a cart (reserved tickets awaiting checkout).

        Args:
            cart_id: Cart ID, e.g. "CT-5003".
        """
        c = self._find(self.carts, "cart_id", cart_id)
        if c is None:
            return {"success": False, "error": f"cart {cart_id} not found"}
        return {"success": True, "data": dict(c)}

    def get_order(self, order_id: str) -> dict:
        """Get an order and its status.

        Args:
            order_id: Order ID, e.g. "ORD-5004".
        """
        o = self._find(self.orders, "order_id", order_id)
        if o is None:
            return {"success": False, "error": f"order {order_id} not found"}
        return {"success": True, "data": dict(o)}

    def list_orders(self, customer_id: str) -> dict:
        """List all orders of a customer.

        Args:
            customer_id: Customer ID.
        """
        if customer_id not in self.customers:
            return {"success": False, "error": f"customer {customer_id} not found"}
        return {"success": True, "data": [dict(o) for o in self.orders if o["customer_id"] == customer_id]}

    # -- state-changing tools -------------------------------------------------------------
    def join_queue(self, queue_id: str, customer_id: str) -> dict:
        """Join an event's virtual queue (general lane, at the back).

        Args:
            queue_id: Queue ID.
            customer_id: Customer ID.
        """
        q = self.queues.get(queue_id)
        if q is None:
            return {"success": False, "error": f"queue {queue_id} not found"}
        if customer_id not in self.customers:
            return {"success": False, "error": f"customer {customer_id} not found"}
        k, e = self._entry_of(queue_id, customer_id)
        if e is not None:
            return {"success": False, "error": f"customer {customer_id} already holds entry {k}"}
        q["length"] += 1
        eid = self._next("QE")
        self.queue_entries[eid] = {"queue_id": queue_id, "customer_id": customer_id, "position": q["length"],
                                   "lane": "general", "status": "waiting"}
        return {"success": True, "data": {"entry_id": eid, **self.queue_entries[eid]}}

    def redeem_priority_code(self, entry_id: str, code: str) -> dict:
        """Move a queue entry to the priority lane with a customer's presale code.

        Args:
            entry_id: Queue entry ID.
            code: Presale / priority code.
        """
        e = self.queue_entries.get(entry_id)
        if e is None:
            return {"success": False, "error": f"queue entry {entry_id} not found"}
        q = self.queues[e["queue_id"]]
        c = self.customers[e["customer_id"]]
        if not c.get("priority_code") or code != c["priority_code"]:
            return {"success": False, "error": f"code {code} is not valid for customer {e['customer_id']}"}
        if e["lane"] == "priority":
            return {"success": False, "error": f"entry {entry_id} is already in the priority lane"}
        if not q.get("priority_lane_open"):
            return {"success": False, "error": f"priority lane of queue {e['queue_id']} is closed"}
        e["lane"] = "priority"
        e["position"] = q.get("priority_next", 1)
        q["priority_next"] = e["position"] + 1
        e["status"] = "admitted"
        return {"success": True, "data": {"entry_id": entry_id, **e}}

    def leave_queue(self, entry_id: str) -> dict:
        """Leave a virtual queue.

        Args:
            entry_id: Queue entry ID.
        """
        e = self.queue_entries.get(entry_id)
        if e is None:
            return {"success": False, "error": f"queue entry {entry_id} not found"}
        if e["status"] == "left":
            return {"success": False, "error": f"entry {entry_id} already left"}
        e["status"] = "left"
        return {"success": True, "message": f"entry {entry_id} left the queue"}

    def reserve_tickets(self, tier_id: str, customer_id: str, quantity: int) -> dict:
        """Reserve tickets into a cart that must be checked out before it expires.

        Args:
            tier_id: Tier ID.
            customer_id: Customer ID.
            quantity: Number of tickets.
        """
        t, err = self._can_buy(tier_id, customer_id, quantity)
        if err:
            return {"success": False, "error": err}
        self._take(tier_id, quantity, 1)
        cart = {"cart_id": self._next("CT"), "tier_id": tier_id, "customer_id": customer_id, "quantity": quantity,
                "unit_price": t["price"], "status": "active",
                "expires_at": (now() + timedelta(minutes=self.cart_minutes)).isoformat(timespec="minutes")}
        self.carts.append(cart)
        return {"success": True, "data": dict(cart)}

    def checkout(self, cart_id: str) -> dict:
        """Pay for a cart and issue the order.

        Args:
            cart_id: Cart ID.
        """
        c = self._find(self.carts, "cart_id", cart_id)
        if c is None:
            return {"success": False, "error": f"cart {cart_id} not found"}
        if c["status"] == "active" and now() > _dt(c["expires_at"]):
            c["status"] = "expired"
            self._take(c["tier_id"], c["quantity"], -1)
        if c["status"] != "active":
            return {"success": False, "error": f"cart {cart_id} is {c['status']}"}
        t = self.tiers.get(c["tier_id"]) or {}
        if t.get("status", "on_sale") != "on_sale":  # the tier was withdrawn: open carts lapse
            c["status"] = "void"
            self._take(c["tier_id"], c["quantity"], -1)
            return {"success": False, "error": f"cart {cart_id} is void: tier {c['tier_id']} is {t['status']}"}
        if t.get("queue_id"):  # queue-gated tiers: the buyer must still be admitted when paying
            k, e = self._entry_of(t["queue_id"], c["customer_id"])
            if e is None or e["status"] != "admitted":
                c["status"] = "void"
                self._take(c["tier_id"], c["quantity"], -1)
                where = f"{k} is {e['status']} (position {e['position']})" if e else "missing"
                return {"success": False, "error": f"cart {cart_id} is void: queue entry {where}"}
        c["status"] = "checked_out"
        o = self._order(c["tier_id"], c["customer_id"], c["quantity"], "ORD-" + cart_id.split("-")[-1], cart_id)
        return {"success": True, "data": dict(o)}

    def buy_tickets(self, tier_id: str, customer_id: str, quantity: int) -> dict:
        """Buy tickets directly (instant payment, no cart).

        Args:
            tier_id: Tier ID.
            customer_id: Customer ID.
            quantity: Number of tickets.
        """
        t, err = self._can_buy(tier_id, customer_id, quantity)
        if err:
            return {"success": False, "error": err}
        self._take(tier_id, quantity, 1)
        o = self._order(tier_id, customer_id, quantity, self._next("ORD"))
        return {"success": True, "data": dict(o)}

    def release_cart(self, cart_id: str) -> dict:
        """Release a cart and return its tickets.

        Args:
            cart_id: Cart ID.
        """
        c = self._find(self.carts, "cart_id", cart_id)
        if c is None:
            return {"success": False, "error": f"cart {cart_id} not found"}
        if c["status"] != "active":
            return {"success": False, "error": f"cart {cart_id} is {c['status']}"}
        c["status"] = "released"
        self._take(c["tier_id"], c["quantity"], -1)
        return {"success": True, "message": f"cart {cart_id} released"}

    def cancel_order(self, order_id: str) -> dict:
        """Cancel an order (paid or waitlisted) and refund it.

        Args:
            order_id: Order ID.
        """
        o = self._find(self.orders, "order_id", order_id)
        if o is None:
            return {"success": False, "error": f"order {order_id} not found"}
        if o["status"] in ("cancelled", "voided"):
            return {"success": False, "error": f"order {order_id} is {o['status']}"}
        was = o["status"]
        o["status"] = "cancelled"
        if was == "paid" and o["tier_id"] in self.tiers:
            self._take(o["tier_id"], o["quantity"], -1)
        return {"success": True, "message": f"order {order_id} cancelled, {o['total']} refunded"}
