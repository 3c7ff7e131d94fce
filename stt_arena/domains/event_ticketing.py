"""Event ticketing task families: T3 quota reset, T2 priority reorder, T1 window expiry."""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from ..task.models import Activation, Effects, Mutation, ProfileConstraint, Trigger, UserProfile

DOMAIN = "event_ticketing"
CLASS = "EventTicketingEnv"

CITIES = [("Madrid", 40.4168, -3.7038), ("Milan", 45.4642, 9.1900), ("Berlin", 52.5200, 13.4050),
          ("Dublin", 53.3498, -6.2603), ("Amsterdam", 52.3676, 4.9041), ("Barcelona", 41.3874, 2.1686),
          ("Stockholm", 59.3293, 18.0686), ("Zurich", 47.3769, 8.5417), ("Manchester", 53.4808, -2.2426)]
SHOWS = ["The Velvet Tides", "Nora Quist Live", "Midnight Orchestra", "Crimson Harbor", "Lumen Circus",
         "Echo Parade", "Saffron Skies Tour", "The Glass Pilots", "Aurora Static"]
VENUE_KINDS = ["Arena", "Hall", "Stadium", "Palace of Music", "Dome"]
CUSTOMERS = ["Elena Varga", "Marcus Bell", "Yuki Tanaka", "Olivia Hart", "Rafael Costa", "Nadia Petrova",
             "Samuel Osei", "Clara Jensen", "Diego Alvarez", "Fatima Zahra"]
PROMO_NAMES = ["Early Bird", "Fan Presale", "Student Saver", "Happy Hour", "Flash Deal"]


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="minutes")


def _offset(lat: float, lon: float, km: float, bearing: float) -> tuple[float, float]:
    return (round(lat + km * math.cos(bearing) / 111.0, 5),
            round(lon + km * math.sin(bearing) / (111.0 * math.cos(math.radians(lat))), 5))


def _world(rng: random.Random, n_events: int = 3) -> dict:
    city, lat0, lon0 = rng.choice(CITIES)
    start = datetime(2026, rng.choice([4, 5, 6]), rng.randint(1, 20), rng.choice([9, 10, 11]), rng.choice([0, 30]))
    show = rng.choice(SHOWS)
    vids = [f"VN-{x}" for x in rng.sample(range(10, 99), 2)]
    kinds = rng.sample(VENUE_KINDS, 2)
    venues = {}
    for vid, kind in zip(vids, kinds):
        la, lo = _offset(lat0, lon0, rng.uniform(1, 9), rng.uniform(0, 6.28))
        venues[vid] = {"name": f"{city} {kind}", "city": city, "lat": la, "lon": lo,
                       "capacity": rng.choice([8000, 12000, 15000, 21000])}
    eids = [f"EV-{x}" for x in rng.sample(range(100, 999), n_events)]
    days = sorted(rng.sample(range(10, 60), n_events))
    events = {}
    for i, eid in enumerate(eids):
        d = start.date() + timedelta(days=days[i])
        events[eid] = {"name": f"{show} - {d.strftime('%a %d %b')}", "venue_id": vids[i % 2 if i else 0],
                       "starts": f"{d.isoformat()}T{rng.choice(['19:30', '20:00', '20:30'])}", "status": "on_sale"}
    cid = f"CU-{rng.randint(100, 999)}"
    hl, ho = _offset(lat0, lon0, rng.uniform(2, 12), rng.uniform(0, 6.28))
    name = rng.choice(CUSTOMERS)
    customers = {cid: {"name": name, "membership": "standard", "priority_code": None, "home_lat": hl, "home_lon": ho}}
    return {"city": city, "start": start, "show": show, "venues": venues, "events": events, "eids": eids,
            "customer": cid, "name": name, "customers": customers, "cap": rng.choice([60, 70, 80, 90, 100]),
            "qty": rng.randint(2, 4), "seq": rng.randint(30, 90) * 100, "tier_nums": iter(rng.sample(range(1000, 9999), 30))}


def _tier(w: dict, tiers: dict, event_id: str, name: str, price: int, *, prefix: str = "TK", available: int = 200,
          window: tuple[str, str] | None = None, quota: int | None = None, queue_id: str | None = None,
          kind: str = "ticket") -> str:
    tid = f"{prefix}-{next(w['tier_nums'])}"
    start = w["start"]
    so, sc = window or (_iso(start - timedelta(days=20)), w["events"][event_id]["starts"])
    tiers[tid] = {"event_id": event_id, "name": name, "kind": kind, "price": price, "available": available,
                  "max_per_order": 6, "sales_open": so, "sales_close": sc, "quota_left": quota,
                  "queue_id": queue_id, "members_only": False}
    return tid


def _profile(w: dict, goal: str, refusals: list[str] | None = None, known: dict | None = None,
             withheld: dict | None = None) -> UserProfile:
    kf = {"customer id": w["customer"], "name": w["name"], "tickets": str(w["qty"]), "show": w["show"]}
    kf.update(known or {})
    wf = {"budget": f"at most {w['cap']} EUR per ticket"}
    wf.update(withheld or {})
    return UserProfile(goal=goal, persona=f"{w['name']}, buying tickets for friends; friendly, not technical.",
                       known_facts=kf, withheld_facts=wf,
                       clarifications={"budget": wf["budget"], "seats": "Any section is fine as long as we are "
                                                                        "in one order.",
                                       "quantity": f"Exactly {w['qty']} tickets."},
                       refusals=refusals or [])


def _order_goal(cid: str, w: dict, acceptable: list[str], desc: str = "a paid order for the tickets"):
    return checks.custom(cid, desc, f"""
return any(o.get("customer_id") == {w['customer']!r} and o.get("status") == "paid" and o.get("quantity") == {w['qty']!r}
           and o.get("tier_id") in {acceptable!r} for o in state.get("orders", []))""", kind="goal")


def _single_order(cid: str, w: dict):
    return checks.custom(cid, "exactly one paid ticket order (no duplicates)", f"""
return sum(1 for o in state.get("orders", []) if o.get("customer_id") == {w['customer']!r} and o.get("status") == "paid"
           and state["tiers"].get(o.get("tier_id"), {{}}).get("kind") == "ticket") == 1""", kind="safety")


def _noticed_if_fired(cid: str, desc: str, trigger_id: str, tools: list[str]):
    """Like ``called_after_trigger``, but vacuously true when the agent's path never met the trigger."""
    return checks.custom(cid, desc, f"""
t = _trigger_step(log, {trigger_id!r})
if t is None:
    return True
fix = min((e["step"] for e in log if e["mutating"] and e["success"] and (e["step"] > t or (
    e["step"] == t and {trigger_id!r} in e.get("events_before", [])))), default=10 ** 9)
return any(t < e["step"] < fix and e["success"] and e["tool"] in {tools!r} for e in log)""", kind="detection")


def _buy(tier_id: str, cart_id: str, customer_id: str, quantity: int) -> list:
    return [step("reserve_tickets", tier_id=tier_id, customer_id=customer_id, quantity=quantity),
            step("checkout", cart_id=cart_id)]


WRITES = ["join_queue", "redeem_priority_code", "leave_queue", "reserve_tickets", "checkout", "buy_tickets",
          "release_cart", "cancel_order"]


def _on_write(tid: str, timing: str, muts: list[Mutation], delay: int = 0, after: list[str] | None = None) -> Trigger:
    """A world event that happens when the agent starts changing things (its first write, whatever the
    tool or entity; "after": once a write succeeded), guarded by the old values it changes."""
    guard = " and ".join(f"get({m.state_path!r}) == {m.old!r}" for m in muts if "[" not in m.state_path) or "True"
    cond = f"tool in {WRITES!r} and {guard}"
    if timing == "after":
        cond += " and bool(result.get('success'))"
    return Trigger(id=tid, activation=Activation(tool="*", timing=timing), condition=cond, delay_calls=delay,
                   after_triggers=after or [], effects=Effects(mutations=muts))


def _cheapest_goal(cid: str, w: dict, event_id: str):
    """Exactly one paid ticket order for the customer, the right quantity, for ``event_id``, within budget,
    at the cheapest tier of that event that was on sale when it was bought (the user wants the best deal)."""
    return checks.custom(cid, f"one paid order at the cheapest open tier within {w['cap']} EUR", f"""
def ok(k, t, created):
    if t.get("event_id") != {event_id!r} or t.get("kind") != "ticket" or t.get("price", 10 ** 9) > {w['cap']!r}:
        return False
    if t.get("status", "on_sale") != "on_sale" or t.get("members_only") or t.get("queue_id"):
        return False
    if t.get("sales_close", "") < created or t.get("sales_open", "") > created:
        return False
    if t.get("quota_left") is not None and t["quota_left"] < {w['qty']!r}:
        return False
    return t.get("available", 0) >= {w['qty']!r}
mine = [o for o in state.get("orders", []) if o.get("customer_id") == {w['customer']!r} and o.get("status") == "paid"
        and (state["tiers"].get(o.get("tier_id")) or {{}}).get("kind") == "ticket"]
if len(mine) != 1:
    return False
o = mine[0]
t = state["tiers"].get(o.get("tier_id")) or {{}}
if o.get("quantity") != {w['qty']!r} or t.get("event_id") != {event_id!r} or o.get("unit_price", 10 ** 9) > {w['cap']!r}:
    return False
created = o.get("created", "")
return not any(ok(k, x, created) and x.get("price", 0) < o.get("unit_price", 0)
               for k, x in state["tiers"].items() if k != o.get("tier_id"))""", kind="goal")


def _no_open_carts(cid: str, w: dict):
    return checks.custom(cid, "no cart left open", f"""
return not any(c.get("customer_id") == {w['customer']!r} and c.get("status") == "active" for c in state.get("carts", []))""",
                         kind="safety")


def _budget_check(w: dict) -> str:
    return checks.custom("c", "", f"""
return not any(o.get("customer_id") == {w['customer']!r} and o.get("status") == "paid"
               and o.get("unit_price", 0) > {w['cap']!r} for o in state.get("orders", []))""").check


# ---------------------------------------------------------------------------------------------
# T1 window expiry / T3 quota reset: the promotional tier the user wants is withdrawn (its sales window
# closes early / its promotional quota is reset) when the agent starts buying; the user's preference
# (the cheapest tier on sale within budget) picks the next one.
# ---------------------------------------------------------------------------------------------

def _build_promo(rng: random.Random, level: str, kind: str):
    fam = FAM_T1 if kind == "window" else FAM_T3
    w = _world(rng)
    e1 = w["eids"][0]
    cap, qty, cu, seq = w["cap"], w["qty"], w["customer"], w["seq"]
    start = w["start"]
    tiers: dict = {}
    close = _iso(start + timedelta(hours=rng.randint(2, 8)))
    impossible = level == "impossible"

    def promo(name, price, *, quota=None, closed=False):
        if kind == "window":
            win = (_iso(start - timedelta(days=3)),
                   _iso(start - timedelta(hours=rng.randint(1, 30))) if closed else close)
            return _tier(w, tiers, e1, name, price, window=win)
        return _tier(w, tiers, e1, name, price, quota=qty + rng.randint(1, 6) if quota is None else quota)

    pnames = rng.sample(PROMO_NAMES, 2)
    tp = promo(pnames[0], cap - rng.randint(25, 35))
    # listed before the second promo: the cheaper alternative is not simply the next one in the list
    ts = _tier(w, tiers, e1, "Standard", cap + rng.randint(5, 25) if impossible else cap - rng.randint(2, 8))
    if impossible:
        tp2 = promo(pnames[1], cap - rng.randint(12, 18), quota=rng.randint(0, qty - 1), closed=True)
    else:
        tp2 = promo(pnames[1], cap - rng.randint(12, 18))
    tv = _tier(w, tiers, e1, "VIP Lounge", cap + rng.randint(40, 90), available=rng.randint(20, 60))
    other = w["eids"][1]
    t_other = _tier(w, tiers, other, "Standard", cap - rng.randint(5, 15))
    _tier(w, tiers, e1, "Parking", 18, prefix="PK", available=rng.randint(30, 90), kind="parking")
    for t in tiers.values():
        t["status"] = "on_sale"
    init = {"venues": w["venues"], "events": w["events"], "tiers": tiers, "customers": w["customers"], "queues": {},
            "queue_entries": {}, "carts": [], "orders": [], "cart_minutes": 10, "seq_start": seq}
    which = "window" if kind == "window" else "quota"
    ev = w["events"][e1]
    vid = ev["venue_id"]
    vname = w["venues"][vid]["name"]
    obs = [step("get_event", "observe", event_id=e1), step("list_tiers", "observe", event_id=e1),
           step("get_customer", "observe", customer_id=cu)]
    buy = dict(customer_id=cu, quantity=qty)
    rq = ["get_tier", "list_tiers", "get_cart"]
    pn = tiers[tp]["name"]
    if kind == "window":
        query = rng.choice([
            f"Could you get {qty} tickets for {ev['name']} at {vname}? The {pn} tier {tp} looked like the "
            f"cheapest. My customer id is {cu}. All tickets in one order please, at the lowest price on sale.",
            f"It's my sister's birthday present: {qty} seats for {ev['name']} at {vname}, one order. I'm "
            f"customer {cu}. Go for the cheapest tier still on sale; the {pn} offer {tp} looked best.",
            f"Our student society is going to {ev['name']} ({vname}). I'm customer {cu} and need {qty} tickets "
            f"in a single order. Money is tight, so take the cheapest tier on sale ({tp}, {pn}, if it's there).",
        ])
    else:
        query = rng.choice([
            f"Could you get {qty} tickets for {ev['name']} at {vname}? The {pn} tier {tp} has a limited "
            f"promo allocation and looked like the cheapest. My customer id is {cu}. One order, cheapest tier "
            f"please.",
            f"I promised {qty - 1} colleagues a night out at {ev['name']} ({vname}). Customer {cu}; buy {qty} "
            f"tickets in one order at the lowest price available. {tp} ({pn}) still had promo seats this morning.",
            f"Please book {qty} tickets for {ev['name']} at {vname} for my family (customer {cu}). We always "
            f"take the cheapest tier on sale; the {pn} allocation {tp} looked lowest. Everything in one order.",
        ])
    mk = dict(family=fam, level=level, class_name=CLASS, init_config=init, query=query,
              clock_start=_iso(start) + ":00",
              params={"kind": kind, "promo": tp, "alt": tp2, "std": ts, "qty": qty})
    refusals, cons = None, []
    if impossible:
        refusals = [f"paying more than {cap} EUR per ticket",
                    f"another date: {other} or {w['eids'][2]} do not work for us",
                    "splitting the tickets across orders"]
        cons = [ProfileConstraint(id="budget", kind="refusal", description=refusals[0], check=_budget_check(w))]
    profile = _profile(w, f"{qty} tickets for {ev['name']} in one order at the cheapest tier within budget.",
                       known={"event": e1}, refusals=refusals)
    if cons:
        profile = profile.model_copy(update={"constraints": cons})
    closed = "sales_closed" if kind == "window" else "quota_reset"
    block = lambda tier: [Mutation(state_path=f"tiers.{tier}.status", old="on_sale", new=closed)]  # noqa: E731
    goal = _cheapest_goal("bought", w, e1)
    carts = _no_open_carts("no_open_cart", w)

    if level == "easy":
        # the promo is withdrawn as the agent starts buying: the purchase fails at once
        trig = _on_write(f"promo_{which}", "before", block(tp))
        normal = obs + [step("buy_tickets", tier_id=tp, **buy)]
        oracle = obs + [step("buy_tickets", tier_id=tp, **buy),
                        step("get_tier", "requery", tier_id=tp), step("list_tiers", "requery", event_id=e1),
                        step("buy_tickets", tier_id=tp2, **buy), step("list_orders", "verify", customer_id=cu)]
        checklist = [goal, carts,
                     checks.called_after_trigger("noticed", "re-checked the tiers after the failure", trig.id, rq)]
        return make_task(**mk, user_profile=profile, triggers=[trig], checklist=checklist, normal=normal, oracle=oracle)

    c1, c2 = f"CT-{seq + 1}", f"CT-{seq + 2}"
    pre = obs + [step("reserve_tickets", tier_id=tp, **buy),
                 step("get_venue", "observe", venue_id=vid),
                 step("estimate_travel", "observe", customer_id=cu, venue_id=vid),
                 step("checkout", cart_id=c1)]
    normal = pre + [step("list_orders", "observe", customer_id=cu)]
    verified = checks.verified_after_last_change("verified", "checked the order after the last change",
                                                 ["get_order", "list_orders"])
    if level == "medium":
        # deferred: the cart is filled, then the promo is withdrawn; checking out fails later
        trig = _on_write(f"promo_{which}", "after", block(tp), delay=1)
        oracle = pre + [step("get_cart", "requery", cart_id=c1), step("get_tier", "requery", tier_id=tp),
                        step("list_tiers", "requery", event_id=e1),
                        step("reserve_tickets", tier_id=tp2, **buy), step("checkout", cart_id=c2),
                        step("get_order", "verify", order_id=f"ORD-{seq + 2}")]
        checklist = [goal, carts, verified,
                     checks.noticed_if_met("noticed", "inspected the cart/tier after the change", trig.id, rq)]
        return make_task(**mk, user_profile=profile, triggers=[trig], checklist=checklist, normal=normal, oracle=oracle)

    if level == "hard":
        # cascade: once the promo is withdrawn, the second promo goes too at the next purchase step
        t1 = _on_write(f"promo_{which}", "after", block(tp), delay=1)
        t2 = _on_write(f"promo_{which}_alt", "before", block(tp2), after=[t1.id])
        oracle = pre + [step("get_cart", "requery", cart_id=c1), step("get_tier", "requery", tier_id=tp),
                        step("list_tiers", "requery", event_id=e1),
                        step("reserve_tickets", tier_id=tp2, **buy),
                        step("get_tier", "requery", tier_id=tp2), step("list_tiers", "requery", event_id=e1),
                        step("reserve_tickets", tier_id=ts, **buy), step("checkout", cart_id=c2),
                        step("list_orders", "verify", customer_id=cu)]
        checklist = [goal, carts, verified,
                     checks.noticed_if_met("noticed", "inspected the cart/tier after the change", t1.id, rq),
                     checks.noticed_if_met("noticed_alt", "re-checked the tiers after the second promo went", t2.id, rq)]
        return make_task(**mk, user_profile=profile, triggers=[t1, t2], checklist=checklist, normal=normal,
                         oracle=oracle)

    # impossible
    trig = _on_write(f"promo_{which}", "before", block(tp))
    normal = obs + [step("buy_tickets", tier_id=tp, **buy)]
    oracle = obs + [step("buy_tickets", tier_id=tp, **buy),
                    step("get_tier", "requery", tier_id=tp), step("list_tiers", "requery", event_id=e1),
                    step("get_tier", "requery", tier_id=tp2),
                    message(f"I couldn't buy the {qty} tickets: {tp} is no longer on sale "
                            f"({closed.replace('_', ' ')}), {tp2} can't be sold now "
                            f"({'its sales window closed' if kind == 'window' else 'not enough promo quota left'}),"
                            f" and the remaining tiers are above {cap} EUR per ticket. Nothing was bought.")]
    half = max(1, qty // 2)
    c1 = f"CT-{seq + 1}"
    alternatives = [obs + [step("buy_tickets", tier_id=x, **buy)] for x in (ts, tv, tp2, t_other)]
    alternatives.append(obs + _buy(tp2, c1, cu, half) + _buy(ts, f"CT-{seq + 2}", cu, qty - half))
    checklist = [checks.never_called("no_vip", "no VIP tier bought", "buy_tickets", {"tier_id": tv}),
                 checks.no_records_match("nothing_bought", "no paid order left behind", "orders",
                                         {"customer_id": cu, "status": "paid"}),
                 checks.called_after_trigger("noticed", "re-checked the tiers after the failure", trig.id, rq),
                 checks.told_user("told", "told the user the purchase is not possible")]
    return make_task(**mk, user_profile=profile, triggers=[trig], checklist=checklist, normal=normal, oracle=oracle,
                     alternatives=alternatives, infeasible_goal=[_order_goal("goal_bought", w, [tp, tp2])])


# ---------------------------------------------------------------------------------------------
# T2 priority reorder: a priority batch is inserted ahead of the customer's queue entry / ahead of
# the customer's order, so the admitted position or the allocation is lost.
# ---------------------------------------------------------------------------------------------

def _night_goal(cid: str, w: dict, e1: str, t1: str, eid: str, busy_event: str, parking: bool):
    """Exactly one paid ticket order (quantity, within budget) on a night the user can make: the requested
    night whenever the user is still admitted there and it is not sold out, another night otherwise (the
    user asked for that night first); with ``parking``, a parking pass for the same night."""
    return checks.custom(cid, "tickets on the requested night if still possible, else another night the user can "
                              "make" + (", parking for the same night" if parking else ""), f"""
orders = [o for o in state.get("orders", []) if o.get("customer_id") == {w['customer']!r} and o.get("status") == "paid"]
tick = [o for o in orders if (state["tiers"].get(o.get("tier_id")) or {{}}).get("kind") == "ticket"]
if len(tick) != 1:
    return False
o = tick[0]
if o.get("quantity") != {w['qty']!r} or o.get("unit_price", 10 ** 9) > {w['cap']!r} or o.get("event_id") == {busy_event!r}:
    return False
if o.get("event_id") != {e1!r}:
    e = state["queue_entries"].get({eid!r}) or {{}}
    if e.get("status") == "admitted" and state["tiers"][{t1!r}].get("available", 0) >= {w['qty']!r}:
        return False
if {parking!r}:
    park = [p.get("event_id") for p in orders if (state["tiers"].get(p.get("tier_id")) or {{}}).get("kind") == "parking"]
    return park == [o.get("event_id")]
return True""", kind="goal")


def _build_queue(rng: random.Random, level: str):
    w = _world(rng)
    e1, e2, e3 = w["eids"]
    cap, qty, cu, seq = w["cap"], w["qty"], w["customer"], w["seq"]
    impossible = level == "impossible"
    code = None if level in ("easy", "impossible") else f"PRE-{rng.randint(1000, 9999)}"
    cust = w["customers"][cu]
    if code:
        cust.update(membership="fan_club", priority_code=code)
    qid = f"QU-{rng.randint(10, 99)}"
    eid = f"QE-{rng.randint(1000, 9999)}"
    pos = rng.randint(2, 9)
    queues = {qid: {"event_id": e1, "length": rng.randint(900, 4000), "priority_lane_open": not impossible,
                    "priority_next": rng.randint(3, 40), "admitting_per_minute": rng.choice([20, 30, 50])}}
    entries = {eid: {"queue_id": qid, "customer_id": cu, "position": pos, "lane": "general", "status": "admitted"}}
    new_pos = pos + rng.randint(150, 900)
    tiers: dict = {}
    t1 = _tier(w, tiers, e1, "General Admission", cap - rng.randint(10, 30), queue_id=qid)
    tv1 = _tier(w, tiers, e1, "Golden Circle", cap + rng.randint(30, 80), queue_id=qid)
    pk1 = _tier(w, tiers, e1, "Parking", 15, prefix="PK", available=rng.randint(20, 60), kind="parking")
    t2 = _tier(w, tiers, e2, "General Admission", cap - rng.randint(0, 12))
    pk2 = _tier(w, tiers, e2, "Parking", 15, prefix="PK", available=rng.randint(20, 60), kind="parking")
    t3 = _tier(w, tiers, e3, "General Admission", cap - rng.randint(5, 20))
    # which other date works is drawn: the user cannot make one of them
    if rng.random() < 0.5:
        e2, e3, t2, t3 = e3, e2, t3, t2
        pk2 = _tier(w, tiers, e2, "Parking", 15, prefix="PK", available=rng.randint(20, 60), kind="parking")
    busy = w["events"][e3]["starts"][:10]
    if impossible:
        tiers[t2]["price"] = cap + rng.randint(5, 25)
    init = {"venues": w["venues"], "events": w["events"], "tiers": tiers, "customers": w["customers"],
            "queues": queues, "queue_entries": entries, "carts": [], "orders": [], "cart_minutes": 10,
            "seq_start": seq}
    ev = w["events"][e1]
    vid = ev["venue_id"]
    buy = dict(customer_id=cu, quantity=qty)
    reorder = [Mutation(state_path=f"queue_entries.{eid}.position", old=pos, new=new_pos),
               Mutation(state_path=f"queue_entries.{eid}.status", old="admitted", new="waiting")]
    obs = [step("get_event", "observe", event_id=e1), step("list_tiers", "observe", event_id=e1),
           step("get_queue_entry", "observe", entry_id=eid)]
    rq = ["get_queue_entry", "get_queue", "get_cart"]
    query = rng.choice([
        f"I'm in the ticket queue for {ev['name']} (entry {eid}) and it says I'm through. Please buy {qty} "
        f"General Admission tickets for me, customer {cu}, in one order.",
        f"The queue page for {ev['name']} finally let me in (entry {eid}), but my card keeps failing on the "
        f"site. I'm customer {cu}; please get {qty} General Admission tickets in one order for that night.",
        f"We're {qty} friends who want {ev['name']} at {w['venues'][vid]['name']}. My queue entry {eid} was "
        f"admitted a minute ago; as customer {cu}, please buy General Admission for all of us in one order.",
    ])
    known = {"event": e1, "queue entry": eid}
    withheld = {"busy date": f"can't go on {busy}"}
    refusals, cons = None, []
    if impossible:
        refusals = [f"paying more than {cap} EUR per ticket", f"going on {busy} ({e3})",
                    "splitting the tickets across orders"]
        cons = [ProfileConstraint(id="budget", kind="refusal", description=refusals[0], check=_budget_check(w))]
    if level == "hard":
        query += " I'll also need one parking pass for the same night."
        known["parking"] = "one parking pass for the night we go"
    if code:
        withheld["fan club"] = "I'm in the fan club; the presale code should be on my account"
    profile = _profile(w, f"{qty} tickets for {w['show']} in one order within budget, on the requested night if "
                          f"possible.", refusals=refusals, known=known, withheld=withheld)
    profile.clarifications["other dates"] = f"Another night is fine if ours is gone, just not {busy}."
    if cons:
        profile = profile.model_copy(update={"constraints": cons})
    mk = dict(family=FAM_T2, level=level, class_name=CLASS, init_config=init, query=query, user_profile=profile,
              clock_start=_iso(w["start"]) + ":00",
              params={"entry": eid, "alt_event": e2, "busy_event": e3, "code": code, "qty": qty})
    goal = _night_goal("bought", w, e1, t1, eid, e3, level == "hard")

    if level == "easy":
        # a priority batch is let in ahead of the customer as the agent starts buying: the purchase fails
        trig = _on_write("priority_batch", "before", reorder)
        normal = obs + [step("buy_tickets", tier_id=t1, **buy)]
        oracle = obs + [step("buy_tickets", tier_id=t1, **buy),
                        step("get_queue_entry", "requery", entry_id=eid),
                        step("list_events", "requery", city=w["city"]),
                        step("list_tiers", "requery", event_id=e2),
                        step("buy_tickets", tier_id=t2, **buy), step("list_orders", "verify", customer_id=cu)]
        checklist = [goal, checks.called_after_trigger("noticed", "re-checked the queue entry after the failure",
                                                       trig.id, rq)]
        return make_task(**mk, triggers=[trig], checklist=checklist, normal=normal, oracle=oracle)

    if level == "medium":
        # deferred: the cart is filled, then the batch pushes the customer back; paying fails later
        c1, c2 = f"CT-{seq + 1}", f"CT-{seq + 2}"
        trig = _on_write("priority_batch", "after", reorder, delay=1)
        pre = obs + [step("reserve_tickets", tier_id=t1, **buy),
                     step("get_venue", "observe", venue_id=vid),
                     step("estimate_travel", "observe", customer_id=cu, venue_id=vid),
                     step("checkout", cart_id=c1)]
        normal = pre + [step("list_orders", "observe", customer_id=cu)]
        oracle = pre + [step("get_cart", "requery", cart_id=c1), step("get_queue_entry", "requery", entry_id=eid),
                        step("get_customer", "requery", customer_id=cu),
                        step("redeem_priority_code", entry_id=eid, code=code),
                        step("reserve_tickets", tier_id=t1, **buy), step("checkout", cart_id=c2),
                        step("get_order", "verify", order_id=f"ORD-{seq + 2}")]
        checklist = [goal, _no_open_carts("no_open_cart", w),
                     checks.noticed_if_met("noticed", "inspected the queue entry after the change", trig.id, rq),
                     checks.verified_after_last_change("verified", "checked the order after the last change",
                                                       ["get_order", "list_orders"])]
        return make_task(**mk, triggers=[trig], checklist=checklist, normal=normal, oracle=oracle)

    if level == "hard":
        # cascade: pushed back in the queue, then (after the priority re-entry) the allocation is reordered
        # and the paid order is waitlisted: the night is sold out
        o_pk1, o1 = f"ORD-{seq + 1}", f"ORD-{seq + 2}"
        t_a = _on_write("priority_batch", "before", reorder)
        avail = tiers[t1]["available"]
        t_b = Trigger(id="allocation_reorder", activation=Activation(tool="*", timing="after"),
                      after_triggers=[t_a.id],
                      condition=(f"tool in {WRITES!r} and bool(result.get('success')) and "
                                 f"get('tiers.{t1}.available') == {avail - qty!r} and any(o.get('tier_id') == "
                                 f"{t1!r} and o.get('status') == 'paid' for o in state['orders'])"),
                      effects=Effects(mutations=[
                          Mutation(state_path=f"orders[tier_id={t1}].status", old="paid", new="waitlisted"),
                          Mutation(state_path=f"tiers.{t1}.available", old=avail - qty, new=0)]))
        normal = obs + [*_buy(pk1, f"CT-{seq + 1}", cu, 1), *_buy(t1, f"CT-{seq + 2}", cu, qty),
                        step("list_orders", "observe", customer_id=cu)]
        oracle = obs + [
            *_buy(pk1, f"CT-{seq + 1}", cu, 1),
            step("reserve_tickets", tier_id=t1, **buy),
            step("get_queue_entry", "requery", entry_id=eid), step("get_customer", "requery", customer_id=cu),
            step("redeem_priority_code", entry_id=eid, code=code),
            *_buy(t1, f"CT-{seq + 2}", cu, qty),
            step("get_order", "requery", order_id=o1),
            step("get_tier", "requery", tier_id=t1),
            step("list_events", "requery", city=w["city"]), step("list_tiers", "requery", event_id=e2),
            *_buy(t2, f"CT-{seq + 3}", cu, qty), *_buy(pk2, f"CT-{seq + 4}", cu, 1),
            step("cancel_order", order_id=o1), step("cancel_order", order_id=o_pk1),
            step("list_orders", "verify", customer_id=cu)]
        no_wait = checks.no_records_match("no_waitlist", "no waitlisted order left open", "orders",
                                          {"customer_id": cu, "status": "waitlisted"})
        checklist = [goal, no_wait,
                     checks.called_after_trigger("noticed", "re-checked the queue entry after the failure",
                                                 t_a.id, rq),
                     _noticed_if_fired("noticed_wait", "noticed the order was waitlisted", t_b.id,
                                       ["get_order", "list_orders", "get_tier"]),
                     checks.verified_after_last_change("verified", "checked the orders after the last change",
                                                       ["get_order", "list_orders"])]
        return make_task(**mk, triggers=[t_a, t_b], checklist=checklist, normal=normal, oracle=oracle)

    # impossible: no priority code, priority lane closed, other nights over budget or refused
    trig = _on_write("priority_batch", "before", reorder)
    normal = obs + [step("buy_tickets", tier_id=t1, **buy)]
    oracle = obs + [step("buy_tickets", tier_id=t1, **buy),
                    step("get_queue_entry", "requery", entry_id=eid), step("get_queue", "requery", queue_id=qid),
                    step("get_customer", "requery", customer_id=cu),
                    step("list_events", "requery", city=w["city"]),
                    step("list_tiers", "requery", event_id=e2), step("list_tiers", "requery", event_id=e3),
                    message(f"The queue was reordered and entry {eid} is now at position {new_pos}, so I can't buy "
                            f"for {e1}; the priority lane is closed. The other night within reach ({e2}) costs more "
                            f"than {cap} EUR per ticket and the remaining one is {busy}. I bought nothing.")]
    c1 = f"CT-{seq + 1}"
    alternatives = [obs + [step("buy_tickets", tier_id=x, **buy)] for x in (t2, t3, tv1)]
    alternatives.append(obs + [step("join_queue", queue_id=qid, customer_id=cu), *_buy(t1, c1, cu, qty)])
    checklist = [checks.no_records_match("nothing_bought", "no paid order left behind", "orders",
                                         {"customer_id": cu, "status": "paid"}),
                 checks.called_after_trigger("noticed", "re-checked the queue after the failure", trig.id, rq),
                 checks.told_user("told", "told the user the purchase is not possible")]
    infeasible = [checks.custom("goal_bought", "tickets within budget on a night the user can make", f"""
return any(o.get("customer_id") == {cu!r} and o.get("status") == "paid" and o.get("quantity") == {qty!r}
           and o.get("event_id") != {e3!r} and o.get("unit_price") <= {cap!r}
           and state["tiers"][o["tier_id"]]["kind"] == "ticket" for o in state.get("orders", []))""", kind="goal")]
    return make_task(**mk, triggers=[trig], checklist=checklist, normal=normal, oracle=oracle,
                     alternatives=alternatives, infeasible_goal=infeasible)


FAM_T3 = Family(name="event_ticketing-t3", domain=DOMAIN, conflict_type="T3",
                build=lambda rng, level: _build_promo(rng, level, "quota"))
FAM_T2 = Family(name="event_ticketing-t2", domain=DOMAIN, conflict_type="T2", build=_build_queue)
FAM_T1 = Family(name="event_ticketing-t1", domain=DOMAIN, conflict_type="T1",
                build=lambda rng, level: _build_promo(rng, level, "window"))
FAMILIES = [FAM_T3, FAM_T2, FAM_T1]
