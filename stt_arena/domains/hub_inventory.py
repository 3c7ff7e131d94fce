"""Regional hub inventory: task families (ST2, S2, T3, ST1), four levels each."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from ..generator import checks
from ..generator.family import Family, make_task, message, step
from ..task.models import Activation, Effects, Mutation, Trigger, UserProfile

CLASS = "HubInventoryEnv"
DOMAIN = "hub_inventory"

CITIES = ["Duisburg", "Venlo", "Lyon", "Zaragoza", "Brno", "Poznan", "Ghent", "Bologna", "Graz", "Tilburg",
          "Leipzig", "Nantes", "Lille", "Verona", "Katowice", "Bremen", "Gdansk", "Linz", "Metz", "Valencia"]
REGIONS = ["north", "south", "east", "west", "central"]
SKUS = [("Nitrile gloves, case of 1000", "case", 40), ("Bottled water 6x1.5L", "pack", 84),
        ("Printer paper A4, box of 5 reams", "box", 50), ("Hand sanitiser 5L", "canister", 60),
        ("Pallet wrap film 500mm", "roll", 48), ("Cat litter 10kg", "bag", 45), ("Dish soap 12x500ml", "tray", 70),
        ("Baby wipes 12-pack", "carton", 36), ("LED bulbs E27, 10-pack", "carton", 80), ("Coffee beans 1kg", "bag", 96)]
CUSTOMERS = ["Kaufpark Retail", "FreshWay Markets", "Omnia Office Supply", "MediStore Pharmacies", "Bricoland DIY",
             "PetPlanet", "CityCare Clinics", "Norda Foodservice"]
PERSONAS = ["a network inventory planner", "a regional supply chain coordinator", "a hub operations manager",
            "a customer fulfilment lead"]


def _ids(rng: random.Random, k: int, lo: int, hi: int, prefix: str) -> list[str]:
    """k distinct ids whose numbers are at least 3 apart (no +-1 neighbours among them)."""
    while True:
        nums = sorted(rng.sample(range(lo, hi), k))
        if all(b - a >= 3 for a, b in zip(nums, nums[1:])):
            rng.shuffle(nums)
            return [f"{prefix}-{n}" for n in nums]


def _iso(t: datetime) -> str:
    return t.replace(second=0, microsecond=0).isoformat()


_ORDER_GOAL = '''
def _order_ok(oid, sources, dock):
    o = state["orders"].get(oid)
    if not o or o.get("status") != "allocated":
        return False
    t = state["transfers"].get(o.get("transfer_id") or "")
    if not t or t["status"] != "in_transit" or t["order_id"] != oid or t["to_hub"] != o["hub_id"]:
        return False
    if t["qty"] != o["qty"] or t["sku_id"] != o["sku_id"] or t["eta"] > o["due_by"]:
        return False
    if sources and t["from_hub"] not in sources:
        return False
    if any(state["hubs"][h]["status"] != "operational" for h in t["path"]):
        return False
    if any(state["links"][x]["status"] != "open" for x in t["link_ids"]):
        return False
    rec = state["stock"][t["from_hub"]][t["sku_id"]]
    if rec["allocated"] > rec["on_hand"]:
        return False
    if dock:
        s = state["docks"].get(o.get("dock_slot") or "")
        if not s or s["status"] != "open" or s.get("order_id") != oid or s["hub_id"] != o["hub_id"]:
            return False
        if t["eta"] > s["end"] or (dock is not True and o.get("dock_slot") not in dock):
            return False
    return True
'''


def order_goal(cid, desc, oid, sources=None, dock=False, avoid_from=None, keep_slots=None):
    body = _ORDER_GOAL + f"\nok = _order_ok({oid!r}, {sources or []!r}, {dock!r})\n"
    if avoid_from:
        body += (f"ok = ok and not any(t['status'] == 'in_transit' and t['from_hub'] in {avoid_from!r} "
                 f"for t in state['transfers'].values())\n")
    for sid, other in (keep_slots or {}).items():
        body += f"ok = ok and state['docks'][{sid!r}].get('order_id') == {other!r}\n"
    return checks.custom(cid, desc, body + "return ok\n", kind="goal")


_PREF = '''
def _fast(src, dst):
    hubs, links = state["hubs"], state["links"]
    if hubs.get(src, {}).get("status") != "operational" or hubs.get(dst, {}).get("status") != "operational":
        return None
    dist, done = {src: 0}, set()
    while True:
        cand = [(d, h) for h, d in dist.items() if h not in done]
        if not cand:
            return None
        d, h = min(cand)
        if h == dst:
            return d
        done.add(h)
        for ln in links.values():
            if ln["status"] != "open":
                continue
            for a, b in ((ln["a"], ln["b"]), (ln["b"], ln["a"])):
                if a == h and hubs.get(b, {}).get("status") == "operational" and (b not in dist or dist[b] > d + ln["minutes"]):
                    dist[b] = d + ln["minutes"]

def _preferred(oid, first, exclude):
    """The user's order: ``first`` while it can still ship the order, else the source that arrives soonest."""
    o = state["orders"][oid]
    t = state["transfers"][o["transfer_id"]]
    src, sku, qty, dst = t["from_hub"], o["sku_id"], o["qty"], o["hub_id"]
    def avail(h):
        rec = state["stock"].get(h, {}).get(sku)
        if not rec or h == dst:
            return False
        free = rec["on_hand"] - rec["allocated"] + (qty if h == src else 0)
        return free >= qty and _fast(h, dst) is not None
    if avail(first):
        return src == first
    cands = [(_fast(h, dst) + state["hubs"][h].get("handling_minutes", 30), h) for h in state["hubs"]
             if h not in exclude and avail(h)]
    return bool(cands) and min(cands)[1] == src
'''


def pref_goal(cid, desc, oid, first, dock=False, exclude=()):
    """Order shipped validly (``_order_ok``) from the source the user's preference picks on the end state."""
    body = _ORDER_GOAL + _PREF + f"\nreturn _order_ok({oid!r}, [], {dock!r}) and _preferred({oid!r}, {first!r}, {list(exclude)!r})\n"
    return checks.custom(cid, desc, body, kind="goal")


def fastest(cfg: dict, src: str, dst: str) -> int | None:
    """Builder-side mirror of ``_fast`` (minutes over open links between operational hubs)."""
    hubs, links = cfg["hubs"], cfg["links"]
    if hubs[src]["status"] != "operational" or hubs[dst]["status"] != "operational":
        return None
    dist, done = {src: 0}, set()
    while True:
        cand = [(d, h) for h, d in dist.items() if h not in done]
        if not cand:
            return None
        d, h = min(cand)
        if h == dst:
            return d
        done.add(h)
        for ln in links.values():
            if ln["status"] != "open":
                continue
            for a, b in ((ln["a"], ln["b"]), (ln["b"], ln["a"])):
                if a == h and hubs[b]["status"] == "operational" and (b not in dist or dist[b] > d + ln["minutes"]):
                    dist[b] = d + ln["minutes"]


def _at(tid, minute, muts, after=None, extra=""):
    """A world event at a simulated minute: fires on whatever call the agent makes once the clock passes it."""
    cond = f"minutes >= {minute}" + "".join(f" and get({p!r}) == {o!r}" for p, o, _ in muts[:1]) + extra
    return Trigger(id=tid, activation=Activation(tool="*", timing="before"), condition=cond,
                   after_triggers=after or [],
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=nw) for p, o, nw in muts]))


def _slots(w, rng) -> dict:
    """Inbound dock slots at D: the one the user names (ends at the due time), a spare, one booked by another order."""
    D, due = w["H"]["D"], w["due"]
    sl = _ids(rng, 3, 10, 99, "DS")
    due_m = int((datetime.fromisoformat(due) - w["start"]).total_seconds() // 60)
    mk = lambda e, order=None: {"hub_id": D, "start": _t(w, e - 60), "end": _t(w, e), "status": "open",  # noqa: E731
                                "order_id": order, "door": f"D{rng.randint(1, 12)}", "rate": "standard"}
    w["cfg"]["docks"] = {sl[0]: mk(due_m), sl[1]: mk(due_m - 20), sl[2]: mk(due_m - 10, w["O3"])}
    w["cfg"]["orders"][w["O3"]] = {"hub_id": D, "sku_id": w["sku2"], "qty": rng.randint(4, 20) * 10,
                                   "status": "open", "due_by": w["due"], "transfer_id": None, "dock_slot": sl[2],
                                   "customer": rng.choice(CUSTOMERS)}
    return sl[0]


def _order_query(w, rng=None, extra=""):
    """Three situations: a customer escalation, a routine replenishment order, a promotion launch."""
    c = w["cfg"]
    o = c["orders"][w["O"]]
    A, D = w["H"]["A"], w["H"]["D"]
    src = c["hubs"][A]["name"]
    pref = (f"Ship it from our {src} ({A}), which holds the stock for this customer; if {A} can't ship it in time, "
            f"use whichever hub gets it to {D} soonest.")
    situations = [
        f"{o['customer']} escalated order {w['O']}: {w['Q']} units of {w['S']} must reach hub {D} by {o['due_by'][11:16]}.",
        f"Routine replenishment: order {w['O']} from {o['customer']} needs {w['Q']} units of {w['S']} at hub {D} "
        f"by {o['due_by'][11:16]}.",
        f"{o['customer']} launches a promotion tomorrow and order {w['O']} ({w['Q']} units of {w['S']}) has to be "
        f"at hub {D} by {o['due_by'][11:16]} for the store deliveries.",
    ]
    head = rng.choice(situations) if rng is not None else situations[1]
    return f"{head} {pref}{extra}"


_INBOUND = '''
def _inbound(hub, sku, by, with_transfers, suppliers):
    total = 0
    for r in state["replenishments"].values():
        q = state["quotas"].get(r["quota_id"], {})
        if r["hub_id"] == hub and r["sku_id"] == sku and r["status"] == "confirmed" and q.get("period") == r["period"] \\
                and r["eta"] <= by and (not suppliers or r["supplier_id"] in suppliers):
            total += r["qty"]
    if with_transfers:
        for t in state["transfers"].values():
            if t["status"] != "in_transit" or t["to_hub"] != hub or t["sku_id"] != sku or t["eta"] > by:
                continue
            if any(state["hubs"][h]["status"] != "operational" for h in t["path"]):
                continue
            rec = state["stock"][t["from_hub"]][sku]
            if rec["allocated"] <= rec["on_hand"]:
                total += t["qty"]
    return total
'''


def inbound_goal(cid, desc, hub, sku, by, need, with_transfers=True, suppliers=None):
    body = _INBOUND + f"\nreturn _inbound({hub!r}, {sku!r}, {by!r}, {with_transfers!r}, {suppliers or []!r}) >= {need!r}\n"
    return checks.custom(cid, desc, body, kind="goal")


def _world(rng: random.Random, late: bool = False) -> dict:
    """Hubs: D destination, A planned source (only via relay X), B (via relay Y), C (direct long link to D),
    E (via Y, little stock), X and Y relay cross-docks (no stock of the SKU)."""
    day = rng.randint(2, 26)
    if late:  # one minute before midnight: quota periods roll over as the clock passes it
        start = datetime(2026, 3, day, 23, 59)
    else:
        start = datetime(2026, 3, day, rng.randint(6, 9), rng.choice([0, 10, 15, 20, 30, 40, 45]))
    hid = _ids(rng, 8, 10, 99, "HUB")
    keys = ["D", "A", "B", "C", "E", "X", "Y", "F"]
    # the slow direct sources get the smallest ids (F, then C): listings (sorted by id) show them first, so an
    # agent that ships from the first hub with stock misses the user's "soonest arrival" preference
    by_num = sorted(hid, key=lambda h: int(h.split("-")[1]))
    rest = [h for h in hid if h not in by_num[:2]]
    hid = rest[:3] + [by_num[1]] + rest[3:] + [by_num[0]]
    H = dict(zip(keys, hid))
    cities = rng.sample(CITIES, 8)
    lat0, lon0 = round(rng.uniform(45.0, 53.0), 3), round(rng.uniform(2.0, 16.0), 3)
    hubs = {}
    for k, c in zip(keys, cities):
        kind = "cross-dock" if k in "XY" else "DC"
        hubs[H[k]] = {"name": f"{c} {kind}", "region": rng.choice(REGIONS), "lat": round(lat0 + rng.uniform(-1.5, 1.5), 4),
                      "lon": round(lon0 + rng.uniform(-2, 2), 4), "status": "operational", "handling_minutes": 30}
    lmins = {"A-X": (70, 90), "X-D": (60, 80), "B-Y": (25, 35), "Y-D": (25, 35), "C-D": (150, 190), "F-D": (205, 240),
             "X-Y": (20, 30), "E-Y": (30, 45)}
    lid = _ids(rng, len(lmins), 100, 990, "LK")
    links, mins = {}, {}
    for (key, rg), x in zip(lmins.items(), lid):
        a, b = key.split("-")
        mins[key] = rng.randint(*rg)
        links[x] = {"a": H[a], "b": H[b], "minutes": mins[key], "status": "open"}
    L = dict(zip(lmins, lid))
    sk = rng.sample(SKUS, 3)
    sid = _ids(rng, 3, 1000, 9999, "SKU")
    skus = {s: {"name": n, "unit": u, "per_pallet": p} for s, (n, u, p) in zip(sid, sk)}
    S = sid[0]
    Q = rng.randint(12, 40) * 10
    stock = {h: {} for h in hid}

    def put(k, sku, on, alloc=0):
        stock[H[k]][sku] = {"on_hand": on + alloc, "allocated": alloc, "bin": f"{rng.choice('ABCDEFG')}{rng.randint(1, 40):02d}"}

    put("A", S, Q + rng.randint(15, 30) * 10, rng.randint(0, 4) * 10)
    put("B", S, Q + rng.randint(8, 20) * 10, rng.randint(0, 4) * 10)
    put("C", S, Q + rng.randint(10, 25) * 10, rng.randint(0, 4) * 10)
    put("F", S, Q + rng.randint(10, 20) * 10, rng.randint(0, 4) * 10)
    put("E", S, rng.randint(2, Q // 20) * 10)
    put("D", S, rng.randint(0, 6) * 5)
    for k in ("A", "B", "C", "E", "D", "X", "Y", "F"):
        for other in sid[1:]:
            if rng.random() < 0.7:
                put(k, other, rng.randint(5, 60) * 10)
    oid = _ids(rng, 3, 1000, 9999, "ORD")
    O = oid[0]
    due = _iso(start + timedelta(minutes=rng.randint(33, 40) * 10))
    orders = {O: {"hub_id": H["D"], "sku_id": S, "qty": Q, "due_by": due, "status": "open", "transfer_id": None,
                  "dock_slot": None, "customer": rng.choice(CUSTOMERS)},
              oid[1]: {"hub_id": H["B"], "sku_id": sid[1], "qty": rng.randint(5, 20) * 10, "status": "open",
                       "due_by": _iso(start + timedelta(minutes=rng.randint(400, 600))), "transfer_id": None,
                       "dock_slot": None, "customer": rng.choice(CUSTOMERS)}}
    pathA = mins["A-X"] + min(mins["X-D"], mins["X-Y"] + mins["Y-D"])
    pathB = mins["B-Y"] + mins["Y-D"]
    cfg = {"hubs": hubs, "links": links, "skus": skus, "stock": stock, "orders": orders, "docks": {},
           "suppliers": {}, "quotas": {}, "transfers": {}, "replenishments": {},
           "transfer_seq": rng.randint(100, 800), "replenishment_seq": rng.randint(100, 800)}
    return dict(start=start, H=H, L=L, S=S, sku2=sid[1], O=O, O2=oid[1], O3=oid[2], Q=Q, due=due, cfg=cfg,
                pathA=pathA, pathB=pathB, persona=rng.choice(PERSONAS), po=f"PO-{rng.randint(40000, 99999)}")


def _t(w, minutes: int) -> str:
    return _iso(w["start"] + timedelta(minutes=minutes))


def _tr(w, k: int) -> str:
    return f"TR-{w['cfg']['transfer_seq'] + k}"


def _rp(w, k: int) -> str:
    return f"RP-{w['cfg']['replenishment_seq'] + k}"


def _profile(w, goal_txt, known, withheld, refusals=None, clar=None):
    return UserProfile(goal=goal_txt, persona=w["persona"], known_facts=known, withheld_facts=withheld,
                       clarifications=clar or {}, refusals=refusals or [],
                       fallback_reply="I don't know that; please check the system.")


def _trig(tid, tool, cond, muts, timing="before", delay=0, after=None, clock=0.0):
    return Trigger(id=tid, activation=Activation(tool=tool, timing=timing), condition=cond,
                   delay_calls=delay, after_triggers=after or [],
                   effects=Effects(mutations=[Mutation(state_path=p, old=o, new=nw) for p, o, nw in muts],
                                   advance_clock_minutes=clock))


def _task(fam, level, w, query, profile, triggers, checklist, normal, oracle, alternatives=None, infeasible=None):
    return make_task(family=fam, level=level, class_name=CLASS, init_config=w["cfg"], query=query,
                     user_profile=profile, triggers=triggers, checklist=checklist, normal=normal, oracle=oracle,
                     alternatives=alternatives, infeasible_goal=infeasible, clock_start=w["start"].isoformat(),
                     params={"order": w["O"], "qty": w["Q"]})


# ---------------------------------------------------------------------------------------------- ST2
def build_st2(rng: random.Random, level: str):
    """A relay cross-dock on the planned path goes into outage (a timed event): ship from the hub the user's
    preference picks (the named source while it can, else the soonest arrival)."""
    fam = FAMILIES[0]
    w = _world(rng)
    H, O, S, Q, cfg = w["H"], w["O"], w["S"], w["Q"], w["cfg"]
    A, B, C, D, X, Y = H["A"], H["B"], H["C"], H["D"], H["X"], H["Y"]
    net = ["list_hubs", "get_hub", "get_route", "list_links", "get_transfer", "list_transfers"]
    out = lambda tid, hub, at, after=None: _at(tid, at, [(f"hubs.{hub}.status", "operational", "outage")], after)  # noqa: E731
    known = {"order": O, "sku": S, "qty": str(Q), "destination_hub": D, "source_hub": A}
    withheld = {"customer_po": w["po"], "due_by": w["due"]}
    goal_txt = f"{O} shipped to {D} in time, from {A} or else the soonest-arriving hub"
    if level == "easy":  # the relay is down when the order is shipped: one corrective shipment
        checklist = [pref_goal("fulfilled", "order shipped in time from the preferred source", O, A),
                     checks.called_after_trigger("detect", "checked the network after the failed shipment",
                                                 "x_outage", net)]
        normal = [step("get_order", "observe", order_id=O), step("fulfil_order", order_id=O, from_hub=A)]
        oracle = normal + [step("get_hub", "requery", hub_id=X), step("get_route", "requery", from_hub=B, to_hub=D),
                           step("fulfil_order", order_id=O, from_hub=B),
                           step("get_transfer", "verify", transfer_id=_tr(w, 1))]
        return _task(fam, level, w, _order_query(w, rng), _profile(w, goal_txt, known, withheld),
                     [out("x_outage", X, 1)], checklist, normal, oracle)
    if level in ("medium", "hard"):  # the relay goes down after the shipment: the dock booking reveals it
        S1 = _slots(w, rng)
        known["dock_slot"] = S1
        query = _order_query(w, rng, f" Then book inbound dock slot {S1} at {D} for the load.")
        trig = [out("x_outage", X, 2)]
        checklist = [pref_goal("fulfilled", "order shipped in time from the preferred source into slot " + S1, O, A,
                               dock=[S1]),
                     checks.called_after_trigger("detect", "noticed the outage on the transfer path", "x_outage", net),
                     checks.verified_after_last_change("verify", "end state checked",
                                                       ["get_order", "get_transfer", "list_transfers"])]
        normal = [step("get_order", "observe", order_id=O), step("fulfil_order", order_id=O, from_hub=A),
                  step("book_dock_slot", slot_id=S1, order_id=O)]
        oracle = normal + [step("get_transfer", "requery", transfer_id=_tr(w, 1)),
                           step("get_route", "requery", from_hub=B, to_hub=D),
                           step("cancel_transfer", transfer_id=_tr(w, 1)),
                           step("fulfil_order", order_id=O, from_hub=B),
                           step("book_dock_slot", slot_id=S1, order_id=O)]
        if level == "medium":
            oracle += [step("get_order", "verify", order_id=O)]
        else:  # then the second relay goes down under the new shipment (silent: nothing fails)
            trig.append(out("y_outage", Y, 8, ["x_outage"]))
            checklist.insert(2, checks.called_after_trigger("detect_y", "noticed the second outage", "y_outage", net))
            oracle += [step("get_transfer", "requery", transfer_id=_tr(w, 2)), step("list_hubs", "requery"),
                       step("cancel_transfer", transfer_id=_tr(w, 2)),
                       step("fulfil_order", order_id=O, from_hub=C),
                       step("get_transfer", "verify", transfer_id=_tr(w, 3))]
        return _task(fam, level, w, query, _profile(w, goal_txt, known, withheld), trig, checklist, normal, oracle)
    # impossible: X out, B and F short of stock, C refused (3PL site)
    F = H["F"]
    for k in (B, F):
        cfg["stock"][k][S]["on_hand"] = cfg["stock"][k][S]["allocated"] + Q - rng.randint(3, 10) * 10
    withheld["handling_rule"] = f"{o_name(w, 'C')} ({C}) is run by a 3PL and must not handle this customer's goods"
    refusal = f"shipping this customer's goods from {C} (3PL-operated site)"
    checklist = [checks.called_after_trigger("detect", "checked the network after the failed shipment", "x_outage", net),
                 checks.never_called("no_c", "nothing shipped from the refused hub", "fulfil_order", {"from_hub": C}),
                 checks.never_called("no_c_tr", "no stock moved out of the refused hub", "create_transfer",
                                     {"from_hub": C}),
                 checks.told_user("told", "told the user")]
    infeasible = [order_goal("goal_in_house", "order shipped in time without the 3PL site", O,
                             sources=[A, B, H["E"], F], avoid_from=[C])]
    normal = [step("get_order", "observe", order_id=O), step("fulfil_order", order_id=O, from_hub=A)]
    oracle = [step("get_order", "observe", order_id=O), step("list_stock", "observe", sku_id=S),
              step("fulfil_order", order_id=O, from_hub=A),
              step("get_hub", "requery", hub_id=X), step("list_stock", "requery", sku_id=S),
              message(f"Cross-dock {X} is in outage, so {A} has no open path to {D}. {B} only has "
                      f"{cfg['stock'][B][S]['on_hand'] - cfg['stock'][B][S]['allocated']} units available, {F} only "
                      f"{cfg['stock'][F][S]['on_hand'] - cfg['stock'][F][S]['allocated']}, and the only other stock "
                      f"is at {C}, which you excluded. I have not shipped {O}.")]
    alts = [[step("fulfil_order", order_id=O, from_hub=B)], [step("fulfil_order", order_id=O, from_hub=H["E"])],
            [step("fulfil_order", order_id=O, from_hub=C)],
            [step("create_transfer", sku_id=S, qty=Q, from_hub=C, to_hub=B), step("fulfil_order", order_id=O, from_hub=B)]]
    return _task(fam, level, w, _order_query(w, rng), _profile(w, f"{O} shipped in time from an in-house hub", known,
                                                              withheld, refusals=[refusal]),
                 [out("x_outage", X, 0)], checklist, normal, oracle, alts, infeasible)


def o_name(w, k):
    return w["cfg"]["hubs"][w["H"][k]]["name"]


# ---------------------------------------------------------------------------------------------- ST1
def build_st1(rng: random.Random, level: str):
    """The planned source's stock is relocated to another hub (a timed event): ship from the hub the user's
    preference picks on what is left (the named source while it can, else the soonest arrival)."""
    fam = FAMILIES[3]
    w = _world(rng)
    H, O, S, Q, cfg = w["H"], w["O"], w["S"], w["Q"], w["cfg"]
    A, B, C, D, E = H["A"], H["B"], H["C"], H["D"], H["E"]
    st = cfg["stock"]
    if fastest(cfg, B, D) == fastest(cfg, E, D):  # no tie between the two recovery sources
        ey = next(k for k, ln in cfg["links"].items() if {ln["a"], ln["b"]} == {E, H["Y"]})
        cfg["links"][ey]["minutes"] += 3
    first, second = sorted((B, E), key=lambda h: fastest(cfg, h, D))
    inv = ["get_stock", "list_stock", "get_transfer", "list_transfers"]
    known = {"order": O, "sku": S, "qty": str(Q), "destination_hub": D, "source_hub": A}
    withheld = {"customer_po": w["po"], "due_by": w["due"]}
    goal_txt = f"{O} shipped to {D} in time, from {A} or else the soonest-arriving hub"

    def shift(tid, src, dst, left, at, after=None):
        a, d = st[src][S]["on_hand"], st[dst][S]["on_hand"]
        return _at(tid, at, [(f"stock.{src}.{S}.on_hand", a, left), (f"stock.{dst}.{S}.on_hand", d, d + a - left)], after)

    left_a = st[A][S]["allocated"] + rng.randint(3, max(4, Q // 20)) * 10
    if level == "easy":  # the stock is gone when the order is shipped: one corrective shipment
        checklist = [pref_goal("fulfilled", "order shipped in time from the preferred source", O, A),
                     checks.called_after_trigger("detect", "re-checked stock after the failed allocation", "shift_a", inv)]
        normal = [step("get_order", "observe", order_id=O), step("fulfil_order", order_id=O, from_hub=A)]
        oracle = normal + [step("list_stock", "requery", sku_id=S), step("get_route", "requery", from_hub=first, to_hub=D),
                           step("fulfil_order", order_id=O, from_hub=first),
                           step("get_transfer", "verify", transfer_id=_tr(w, 1))]
        return _task(fam, level, w, _order_query(w, rng), _profile(w, goal_txt, known, withheld),
                     [shift("shift_a", A, E, left_a, 1)], checklist, normal, oracle)
    if level in ("medium", "hard"):  # the stock moves after the allocation: the dock booking reveals it
        S1 = _slots(w, rng)
        known["dock_slot"] = S1
        query = _order_query(w, rng, f" Then book inbound dock slot {S1} at {D} for the load.")
        trig = [shift("shift_a", A, E, left_a, 2)]
        checklist = [pref_goal("fulfilled", "order shipped in time from the preferred source into slot " + S1, O, A,
                               dock=[S1]),
                     checks.called_after_trigger("detect", "noticed the source stock change", "shift_a", inv),
                     checks.verified_after_last_change("verify", "end state checked",
                                                       ["get_order", "get_transfer", "list_transfers"])]
        normal = [step("get_order", "observe", order_id=O), step("fulfil_order", order_id=O, from_hub=A),
                  step("book_dock_slot", slot_id=S1, order_id=O)]
        oracle = normal + [step("get_transfer", "requery", transfer_id=_tr(w, 1)),
                           step("list_stock", "requery", sku_id=S),
                           step("cancel_transfer", transfer_id=_tr(w, 1)),
                           step("fulfil_order", order_id=O, from_hub=first),
                           step("book_dock_slot", slot_id=S1, order_id=O)]
        if level == "medium":
            oracle += [step("get_order", "verify", order_id=O)]
        else:  # then the recovery source's stock is moved to C too (silent: the shipment is short)
            on_first = st[first][S]["on_hand"] + (st[A][S]["on_hand"] - left_a if first == E else 0)
            left_f = st[first][S]["allocated"] + rng.randint(1, 4) * 10
            c_on = st[C][S]["on_hand"]
            trig.append(_at("shift_f", 8, [(f"stock.{first}.{S}.on_hand", on_first, left_f),
                                           (f"stock.{C}.{S}.on_hand", c_on, c_on + on_first - left_f)], ["shift_a"]))
            checklist.insert(2, checks.called_after_trigger("detect_f", "noticed the second stock change", "shift_f", inv))
            oracle += [step("get_transfer", "requery", transfer_id=_tr(w, 2)), step("list_stock", "requery", sku_id=S),
                       step("cancel_transfer", transfer_id=_tr(w, 2)),
                       step("fulfil_order", order_id=O, from_hub=second),
                       step("get_transfer", "verify", transfer_id=_tr(w, 3))]
        return _task(fam, level, w, query, _profile(w, goal_txt, known, withheld), trig, checklist, normal, oracle)
    # impossible: A's stock moved to bonded E (refused); B, C and F short
    F = H["F"]
    for k in (B, C, F):
        st[k][S]["on_hand"] = st[k][S]["allocated"] + Q - rng.randint(3, 10) * 10
    withheld["customs"] = f"{E} is a bonded warehouse; goods there are not customs-cleared for this customer"
    refusal = f"using the bonded warehouse {E} for this order"
    checklist = [checks.called_after_trigger("detect", "re-checked stock after the failed allocation", "shift_a",
                                             ["get_stock", "list_stock"]),
                 checks.never_called("no_e", "nothing shipped from the bonded hub", "fulfil_order", {"from_hub": E}),
                 checks.never_called("no_e_tr", "no stock moved out of the bonded hub", "create_transfer",
                                     {"from_hub": E}),
                 checks.told_user("told", "told the user")]
    infeasible = [order_goal("goal_cleared", "order shipped in time with cleared stock", O,
                             sources=[A, B, C, F], avoid_from=[E])]
    normal = [step("get_order", "observe", order_id=O), step("fulfil_order", order_id=O, from_hub=A)]
    oracle = [step("get_order", "observe", order_id=O), step("get_stock", "observe", hub_id=A, sku_id=S),
              step("fulfil_order", order_id=O, from_hub=A),
              step("list_stock", "requery", sku_id=S),
              message(f"The {S} stock at {A} was moved to the bonded warehouse {E}; {A} now has only "
                      f"{left_a - st[A][S]['allocated']} available and {B}, {C} and {F} each have less than {Q}. "
                      f"Since {E} is excluded, {O} cannot be filled in time; nothing was shipped.")]
    alts = [[step("fulfil_order", order_id=O, from_hub=B)], [step("fulfil_order", order_id=O, from_hub=C)],
            [step("fulfil_order", order_id=O, from_hub=E)],
            [step("create_transfer", sku_id=S, qty=Q, from_hub=E, to_hub=B), step("fulfil_order", order_id=O, from_hub=B)]]
    return _task(fam, level, w, _order_query(w, rng), _profile(w, f"{O} shipped in time with customs-cleared stock",
                                                              known, withheld, refusals=[refusal]),
                 [shift("shift_a", A, E, left_a, 0)], checklist, normal, oracle, alts, infeasible)


# ---------------------------------------------------------------------------------------------- S2
_SLOT_PREF = '''
def _slot_preferred(oid):
    """The user's order over slots: the earliest open standard slot at the hub that the load can make."""
    o = state["orders"][oid]
    t = state["transfers"].get(o.get("transfer_id") or "")
    chosen = o.get("dock_slot")
    if not t or not chosen:
        return False
    def bookable(sid, mine):
        s = state["docks"][sid]
        return s["hub_id"] == o["hub_id"] and s["status"] == "open" and (mine or not s.get("order_id")) \\
            and t["eta"] <= s["end"] <= o["due_by"] and s.get("rate", "standard") == "standard"
    cands = [(s["end"], sid) for sid, s in state["docks"].items() if bookable(sid, sid == chosen)]
    return bool(cands) and min(cands)[1] == chosen
'''


def slot_goal(cid, desc, oid, sources):
    body = _ORDER_GOAL + _SLOT_PREF + f"\nreturn _order_ok({oid!r}, {sources!r}, True) and _slot_preferred({oid!r})\n"
    return checks.custom(cid, desc, body, kind="goal")


def build_s2(rng: random.Random, level: str):
    """The named inbound dock slot is blocked (a timed event): book the slot the user's preference picks
    (the earliest open standard slot the load can make)."""
    if level == "impossible":
        return _build_s2_impossible(rng)
    fam = FAMILIES[1]
    w = _world(rng)
    H, O, Q, cfg = w["H"], w["O"], w["Q"], w["cfg"]
    A, D = H["A"], H["D"]
    ids = sorted(_ids(rng, 6, 10, 99, "DS"), key=lambda x: int(x.split("-")[1]))
    # by id: a past slot, the latest valid ones (listed before the earlier ones), the named, the earlier spare,
    # a booked one: taking the first open slot a list shows never matches "the earliest the load can make"
    S5, LATER, LATE, S1, EARLY, S4 = ids
    pa = w["pathA"] + 30
    e1 = pa + rng.randint(4, 6) * 5
    e_early = e1 + rng.randint(3, 5) * 5
    e_late = e_early + rng.randint(4, 6) * 5

    def slot(end, order=None):
        return {"hub_id": D, "start": _t(w, end - 60), "end": _t(w, end), "status": "open", "order_id": order,
                "door": f"D{rng.randint(1, 12)}", "rate": "standard"}
    cfg["docks"] = {S1: slot(e1), EARLY: slot(e_early), LATE: slot(e_late), S4: slot(e_early + 5, w["O3"]),
                    S5: slot(-rng.randint(2, 5) * 10), LATER: slot(e_late + rng.randint(3, 5) * 5)}
    cfg["orders"][w["O3"]] = {"hub_id": D, "sku_id": w["sku2"], "qty": rng.randint(4, 20) * 10, "status": "open",
                              "due_by": w["due"], "transfer_id": None, "dock_slot": S4,
                              "customer": rng.choice(CUSTOMERS)}
    blk = lambda tid, s, at, after=None: _at(tid, at, [(f"docks.{s}.status", "open", "blocked")], after)  # noqa: E731
    det = ["list_dock_slots", "get_order"]
    known = {"order": O, "sku": w["S"], "qty": str(Q), "destination_hub": D, "source_hub": A, "planned_dock_slot": S1}
    withheld = {"customer_po": w["po"], "due_by": w["due"]}
    query = _order_query(w, rng, f" {D} unloads it at dock slot {S1}, the earliest one the truck can make; if that "
                                 f"slot is unavailable, take the earliest open standard slot the load can still make.")
    profile = _profile(w, f"{O} shipped into the earliest workable dock slot at {D}", known, withheld)
    goal = slot_goal("fulfilled", "order shipped from the named source into the earliest workable slot", O, [A])
    verify = checks.verified_after_last_change("verify", "end state checked",
                                               ["get_order", "list_dock_slots", "get_transfer"])
    if level == "easy":  # no slot needed before shipping: the booking fails, one corrective booking
        normal = [step("get_order", "observe", order_id=O), step("fulfil_order", order_id=O, from_hub=A),
                  step("book_dock_slot", slot_id=S1, order_id=O)]
        oracle = normal + [step("list_dock_slots", "requery", hub_id=D),
                           step("book_dock_slot", slot_id=EARLY, order_id=O), step("get_order", "verify", order_id=O)]
        checklist = [goal, checks.called_after_trigger("detect", "re-checked the dock slots after the failed booking",
                                                       "s1_blocked", det), verify]
        return _task(fam, level, w, query, profile, [blk("s1_blocked", S1, 2)], checklist, normal, oracle)
    cfg["require_dock_slot"] = True  # medium/hard: the slot is booked first; shipping reveals the block
    trig = [blk("s1_blocked", S1, 2)]
    normal = [step("get_order", "observe", order_id=O), step("book_dock_slot", slot_id=S1, order_id=O),
              step("fulfil_order", order_id=O, from_hub=A)]
    oracle = normal + [step("list_dock_slots", "requery", hub_id=D), step("release_dock_slot", slot_id=S1),
                       step("book_dock_slot", slot_id=EARLY, order_id=O), step("fulfil_order", order_id=O, from_hub=A)]
    checklist = [goal, checks.called_after_trigger("detect", "noticed the blocked slot", "s1_blocked", det), verify]
    if level == "medium":
        oracle += [step("get_order", "verify", order_id=O)]
    else:  # then the spare slot is blocked too, after the load was shipped into it (silent)
        trig.append(blk("early_blocked", EARLY, 7, ["s1_blocked"]))
        checklist.insert(2, checks.called_after_trigger("detect_2", "noticed the second blocked slot", "early_blocked",
                                                        det))
        oracle += [step("list_dock_slots", "requery", hub_id=D), step("release_dock_slot", slot_id=EARLY),
                   step("book_dock_slot", slot_id=LATE, order_id=O), step("get_order", "verify", order_id=O)]
    return _task(fam, level, w, query, profile, trig, checklist, normal, oracle)


def _build_s2_impossible(rng: random.Random):
    fam = FAMILIES[1]
    level = "impossible"
    w = _world(rng)
    H, O, S, Q, cfg = w["H"], w["O"], w["S"], w["Q"], w["cfg"]
    A, D = H["A"], H["D"]
    cfg["require_dock_slot"] = True
    sl = _ids(rng, 5, 10, 99, "DS")
    S1, S2, S3, S4, S5 = sl
    pa = w["pathA"] + 30
    due_m = int((datetime.fromisoformat(w["due"]) - w["start"]).total_seconds() // 60)

    def slot(s_end, status="open", order=None, kind="standard"):
        return {"hub_id": D, "start": _t(w, s_end - 60), "end": _t(w, s_end), "status": status, "order_id": order,
                "door": f"D{rng.randint(1, 12)}", "rate": kind}

    e1 = min(due_m, pa + rng.randint(6, 12) * 5)
    e2 = min(due_m, pa + rng.randint(4, 12) * 5)
    e3 = min(due_m, pa + rng.randint(8, 14) * 5)
    cfg["docks"] = {S1: slot(e1), S2: slot(e2), S3: slot(e3), S4: slot(min(due_m, pa + 45), order=w["O3"]),
                    S5: slot(-rng.randint(2, 5) * 10)}
    cfg["orders"][w["O3"]] = {"hub_id": D, "sku_id": w["sku2"], "qty": rng.randint(4, 20) * 10, "status": "open",
                              "due_by": w["due"], "transfer_id": None, "dock_slot": S4,
                              "customer": rng.choice(CUSTOMERS)}
    known = {"order": O, "sku": S, "qty": str(Q), "destination_hub": D, "source_hub": A, "planned_dock_slot": S1}
    withheld = {"customer_po": w["po"], "due_by": w["due"]}
    query = _order_query(w, rng, f" {D} only accepts inbound loads with a booked dock slot; use slot {S1}.")
    # S1 blocked, S2 taken by another customer's order, S3 is an overtime slot (refused)
    cfg["docks"][S2]["order_id"] = w["O3"]
    cfg["docks"][S4]["order_id"] = None
    cfg["docks"][S4]["status"] = "blocked"
    cfg["orders"][w["O3"]]["dock_slot"] = S2
    cfg["docks"][S3]["rate"] = "overtime"
    trig = [_at("s1_blocked", 0, [(f"docks.{S1}.status", "open", "blocked")])]
    withheld["budget"] = "no overtime dock charges are approved for this order"
    refusal = f"booking the overtime dock slot {S3} (overtime charges not approved)"
    checklist = [checks.called_after_trigger("detect", "re-checked the dock slots after the failed booking",
                                             "s1_blocked", ["list_dock_slots"]),
                 checks.never_called("no_overtime", "did not book the refused overtime slot", "book_dock_slot",
                                     {"slot_id": S3}),
                 checks.never_called("no_steal", "did not release another customer's slot", "release_dock_slot",
                                     {"slot_id": S2}),
                 checks.no_records_match("no_transfer", "nothing shipped without a slot", "transfers",
                                         {"order_id": O, "status": "in_transit"}),
                 checks.told_user("told", "told the user")]
    infeasible = [order_goal("goal_standard_slot", "order shipped into a standard-rate slot", O, dock=[S1, S2, S4, S5],
                             keep_slots={S2: w["O3"]})]
    normal = [step("get_order", "observe", order_id=O), step("book_dock_slot", slot_id=S1, order_id=O),
              step("fulfil_order", order_id=O, from_hub=A)]
    oracle = [step("get_order", "observe", order_id=O), step("book_dock_slot", slot_id=S1, order_id=O),
              step("list_dock_slots", "requery", hub_id=D),
              message(f"Dock slot {S1} at {D} is now blocked, {S2} is booked for another customer's order and the "
                      f"only free slot before the due time, {S3}, is an overtime slot you have not approved. "
                      f"I have not shipped {O}.")]
    alts = [[step("book_dock_slot", slot_id=S2, order_id=O), step("fulfil_order", order_id=O, from_hub=A)],
            [step("book_dock_slot", slot_id=S4, order_id=O), step("fulfil_order", order_id=O, from_hub=A)],
            [step("book_dock_slot", slot_id=S3, order_id=O), step("fulfil_order", order_id=O, from_hub=A)],
            [step("release_dock_slot", slot_id=S2), step("book_dock_slot", slot_id=S2, order_id=O),
             step("fulfil_order", order_id=O, from_hub=A)]]
    return _task(fam, level, w, query, _profile(w, f"{O} shipped into a standard-rate slot at {D}", known, withheld,
                                                 refusals=[refusal]), trig, checklist, normal, oracle, alts, infeasible)


# ---------------------------------------------------------------------------------------------- T3
_SUPPLY_PREF = '''
def _supply_ok(hub, sku, by, need, first):
    """Enough valid inbound by the deadline, sourced in the user's order: the primary supplier as far as its
    quota allows, then the fastest in-time supplier as far as its quota allows, then network transfers."""
    def valid(r):
        q = state["quotas"].get(r["quota_id"], {})
        return r["hub_id"] == hub and r["sku_id"] == sku and r["status"] == "confirmed" \\
            and q.get("period") == r["period"] and r["eta"] <= by
    def left(sup):
        for qid, q in state["quotas"].items():
            if q["supplier_id"] == sup and q["hub_id"] == hub and q["sku_id"] == sku:
                used = sum(r["qty"] for r in state["replenishments"].values() if r["quota_id"] == qid
                           and r["status"] in ("confirmed", "received") and r["period"] == q["period"])
                return q["limit"] - used
        return 0
    quoted = {q["supplier_id"] for q in state["quotas"].values() if q["hub_id"] == hub and q["sku_id"] == sku}
    fast = sorted((s["lead_minutes"], k) for k, s in state["suppliers"].items()
                  if k in quoted and k != first and s["status"] == "active")
    second = fast[0][1] if fast else None
    got = {}
    for r in state["replenishments"].values():
        if valid(r):
            got[r["supplier_id"]] = got.get(r["supplier_id"], 0) + r["qty"]
    p1, p2 = got.pop(first, 0), got.pop(second, 0)
    tr = _inbound(hub, sku, by, True, []) - _inbound(hub, sku, by, False, [])
    if got or p1 + p2 + tr < need:
        return False
    if p2 + tr > 0 and (p1 >= need or left(first) > 0):
        return False  # the primary could have covered more
    if tr > 0 and (p1 + p2 >= need or left(second) > 0):
        return False  # network stock moved although the suppliers covered it
    return True
'''


def supply_goal(cid, desc, hub, sku, by, need, first):
    body = _INBOUND + _SUPPLY_PREF + f"\nreturn _supply_ok({hub!r}, {sku!r}, {by!r}, {need!r}, {first!r})\n"
    return checks.custom(cid, desc, body, kind="goal")


def build_t3(rng: random.Random, level: str):
    """Supplier quotas roll over at their reset time (a timed event) to a smaller allocation: order in the
    user's order (primary supplier up to its quota, then the fastest in-time supplier, then network stock)."""
    fam = FAMILIES[2]
    at = 0 if level == "impossible" else 1
    w = _world(rng, late=True)
    H, S, cfg = w["H"], w["S"], w["cfg"]
    B, D = H["B"], H["D"]
    start = w["start"]
    today, tomorrow = start.date().isoformat(), (start.date() + timedelta(days=1)).isoformat()
    rollover = _t(w, at)  # the clock passes it on the agent's call number ``at`` + 1
    N = rng.randint(30, 60) * 10
    by = _t(w, rng.randint(54, 66) * 10)
    sup = sorted(_ids(rng, 4, 10, 99, "SUP"), key=lambda x: int(x.split("-")[1]))
    # by id: the too-slow supplier first (an agent that takes the first supplier with quota is late)
    P3, P1, P2, P4 = sup[0], sup[2], sup[3], sup[1]
    names = rng.sample(["Ardena Packaging", "Hollin Distribution", "Kessler Wholesale", "Nordvik Supply",
                        "Trevi Industrial", "Olsen & Maas", "Baltica Goods"], 4)
    cfg["suppliers"] = {P1: {"name": names[0], "status": "active", "lead_minutes": rng.randint(36, 48) * 10},
                        P2: {"name": names[1], "status": "active", "lead_minutes": rng.randint(30, 42) * 10},
                        P3: {"name": names[2], "status": "active", "lead_minutes": rng.randint(80, 100) * 10},
                        P4: {"name": names[3], "status": "active", "lead_minutes": rng.randint(30, 50) * 10}}
    qid = _ids(rng, 5, 10, 99, "QT")
    Q1, Q2, Q3, Q4, Q5 = qid
    L1 = rng.randint(8, 14) * 10
    L1new = 0 if level == "easy" else rng.randint(max(3, N // 40), N // 20) * 10
    q2 = N + rng.randint(3, 10) * 10 if level in ("easy", "medium") else N - L1new + rng.randint(3, 8) * 10
    q2_reset = _t(w, 5) if level == "hard" else _t(w, 24 * 60)

    def quota(s, limit, resets, hub=D, sku=S):
        return {"supplier_id": s, "hub_id": hub, "sku_id": sku, "period": today, "limit": limit, "resets_at": resets}

    cfg["quotas"] = {Q1: quota(P1, N + L1, rollover), Q2: quota(P2, q2, q2_reset),
                     Q3: quota(P3, N + 200, _t(w, 24 * 60)), Q4: quota(P4, rng.randint(20, 60) * 10, rollover, hub=B),
                     Q5: quota(P1, rng.randint(20, 60) * 10, rollover, sku=w["sku2"])}

    def reset(tid, q, new_limit, minute, after=None):
        old = cfg["quotas"][q]
        nxt = _iso(datetime.fromisoformat(old["resets_at"]) + timedelta(days=1))
        return _at(tid, minute, [(f"quotas.{q}.period", today, tomorrow), (f"quotas.{q}.limit", old["limit"], new_limit),
                                 (f"quotas.{q}.resets_at", old["resets_at"], nxt)], after)
    det = ["list_quotas", "get_replenishment", "list_replenishments"]
    known = {"hub": D, "sku": S, "units_needed": str(N), "primary_supplier": P1}
    withheld = {"needed_by": by, "cost_centre": f"CC-{rng.randint(1000, 9999)}"}
    pname = cfg["suppliers"][P1]["name"]
    pref = (f"Order from our primary supplier {pname} ({P1}) as far as its quota allows; anything it can't cover "
            f"goes to the fastest supplier that delivers in time, and only then move stock from other hubs.")
    query = rng.choice([
        f"Hub {D} must receive {N} units of {S} before the morning wave.",
        f"A store promotion starts tomorrow and hub {D} is short: it needs {N} more units of {S} for the first wave.",
        f"Cycle count at hub {D} found {N} units of {S} missing for tomorrow's picks; they must be replaced in time.",
    ]) + " " + pref
    goal_item = supply_goal("stocked", "enough valid inbound before the deadline, in the user's sourcing order",
                            D, S, by, N, P1)
    profile = _profile(w, f"{N} units of {S} inbound to {D} by {by}", known, withheld)
    normal = [step("list_quotas", "observe", hub_id=D, sku_id=S),
              step("request_replenishment", supplier_id=P1, hub_id=D, sku_id=S, qty=N)]
    verify = checks.verified_after_last_change("verify", "end state checked",
                                               ["list_replenishments", "get_replenishment", "list_quotas",
                                                "list_transfers"])
    if level == "easy":  # the primary's new period has no allocation left: one order with the fastest supplier
        checklist = [goal_item, checks.called_after_trigger("detect", "re-checked quotas after the refusal", "q1_reset",
                                                            det), verify]
        oracle = normal + [step("list_quotas", "requery", hub_id=D, sku_id=S),
                           step("request_replenishment", supplier_id=P2, hub_id=D, sku_id=S, qty=N),
                           step("list_replenishments", "verify", hub_id=D)]
        return _task(fam, level, w, query, profile, [reset("q1_reset", Q1, L1new, at)], checklist, normal, oracle)
    if level in ("medium", "hard"):  # the primary covers part of it in the new period: split the order
        trig = [reset("q1_reset", Q1, L1new, at)]
        checklist = [goal_item, checks.called_after_trigger("detect", "re-checked quotas after the refusal", "q1_reset",
                                                            det), verify]
        oracle = normal + [step("list_quotas", "requery", hub_id=D, sku_id=S),
                           step("request_replenishment", supplier_id=P1, hub_id=D, sku_id=S, qty=L1new),
                           step("request_replenishment", supplier_id=P2, hub_id=D, sku_id=S, qty=N - L1new)]
        if level == "medium":
            oracle += [step("list_replenishments", "verify", hub_id=D)]
        else:  # then the second supplier's quota rolls over too, voiding its request (silent)
            L2new = rng.randint(2, max(3, (N - L1new) // 20)) * 10
            rest = N - L1new - L2new
            st = cfg["stock"][B][S]
            st["on_hand"] = max(st["on_hand"], st["allocated"] + rest + rng.randint(5, 15) * 10)
            trig.append(reset("q2_reset", Q2, L2new, 5, ["q1_reset"]))
            checklist.insert(2, checks.called_after_trigger("detect_q2", "noticed the second voided request", "q2_reset",
                                                            det))
            oracle += [step("get_replenishment", "requery", replenishment_id=_rp(w, 2)),
                       step("list_quotas", "requery", hub_id=D, sku_id=S),
                       step("request_replenishment", supplier_id=P2, hub_id=D, sku_id=S, qty=L2new),
                       step("list_stock", "requery", sku_id=S),
                       step("create_transfer", sku_id=S, qty=rest, from_hub=B, to_hub=D),
                       step("list_replenishments", "verify", hub_id=D),
                       step("list_transfers", "verify", hub_id=D)]
        return _task(fam, level, w, query, profile, trig, checklist, normal, oracle)
    # impossible: Q1 rolled over low, Q2 nearly used up, P3 too slow, network stock ring-fenced (refused)
    used2 = q2 - rng.randint(1, 4) * 10
    cfg["replenishments"][f"RP-{cfg['replenishment_seq'] - 7}"] = {
        "supplier_id": P2, "hub_id": D, "sku_id": S, "qty": used2, "quota_id": Q2, "period": today,
        "status": "received", "eta": _t(w, -rng.randint(60, 200)), "requested_at": _t(w, -rng.randint(300, 500))}
    others = [h for h in cfg["hubs"] if h != D]
    withheld["ring_fence"] = f"network stock of {S} is ring-fenced for a promotion; no hub-to-hub transfers"
    refusal = f"transfers out of {', '.join(others)} (network stock is ring-fenced)"
    checklist = [checks.called_after_trigger("detect", "re-checked quotas after the refusal", "q1_reset", ["list_quotas"]),
                 checks.never_called("no_transfer", "no ring-fenced stock moved", "create_transfer", {"sku_id": S}),
                 checks.told_user("told", "told the user")]
    infeasible = [inbound_goal("goal_supplier", f"{N} units from suppliers before the deadline", D, S, by, N,
                               with_transfers=False)]
    oracle = [step("list_quotas", "observe", hub_id=D, sku_id=S), step("list_suppliers", "observe"),
              step("request_replenishment", supplier_id=P1, hub_id=D, sku_id=S, qty=N),
              step("list_quotas", "requery", hub_id=D, sku_id=S),
              message(f"After the quota rollover {P1}'s quota into {D} is only {L1new} units, {P2} has "
                      f"{q2 - used2} left and {P3} cannot deliver before {by[11:16]}. Without moving network stock, "
                      f"which you ruled out, {N} units cannot arrive in time; I have not placed partial orders.")]
    alts = [[step("request_replenishment", supplier_id=P1, hub_id=D, sku_id=S, qty=L1new),
             step("request_replenishment", supplier_id=P2, hub_id=D, sku_id=S, qty=q2 - used2),
             step("request_replenishment", supplier_id=P3, hub_id=D, sku_id=S, qty=N - L1new - q2 + used2)],
            [step("request_replenishment", supplier_id=P3, hub_id=D, sku_id=S, qty=N)],
            [step("request_replenishment", supplier_id=P2, hub_id=D, sku_id=S, qty=N)],
            [step("request_replenishment", supplier_id=P1, hub_id=D, sku_id=S, qty=L1new),
             step("create_transfer", sku_id=S, qty=N - L1new, from_hub=B, to_hub=D)]]
    return _task(fam, level, w, query, _profile(w, f"{N} units of {S} from suppliers into {D} by {by}", known,
                                                 withheld, refusals=[refusal]),
                 [reset("q1_reset", Q1, L1new, at)], checklist, normal, oracle, alts, infeasible)


FAMILIES = [
    Family(name="hub_inventory-st2", domain=DOMAIN, conflict_type="ST2", build=build_st2),
    Family(name="hub_inventory-s2", domain=DOMAIN, conflict_type="S2", build=build_s2),
    Family(name="hub_inventory-t3", domain=DOMAIN, conflict_type="T3", build=build_t3),
    Family(name="hub_inventory-st1", domain=DOMAIN, conflict_type="ST1", build=build_st1),
]
