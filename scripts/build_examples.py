"""Rebuild stt_arena/data/examples.jsonl: three small hand-written tasks exercising the foundation.

Usage: python scripts/build_examples.py
"""
from __future__ import annotations

from pathlib import Path

from stt_arena.generator import checks
from stt_arena.generator.family import message, step
from stt_arena.task.io import save_tasks
from stt_arena.task.models import (
    Activation, Effects, Environment, Mutation, Provenance, ReferencePlans, Task, Trigger, UserProfile,
)

CLINIC = '''
from datetime import datetime


class ClinicEnv:
    """Clinic slots with booking windows (closes_at) read against the simulated clock."""

    MUTATING_TOOLS = ["book_slot", "cancel_booking"]

    def __init__(self, init_config: dict):
        self.slots = init_config["slots"]
        self.bookings = {}

    def list_slots(self, clinic_id: str) -> dict:
        """List the open slots of a clinic.

        Args:
            clinic_id: Clinic ID, e.g. "C1".
        """
        rows = [dict(slot_id=k, **v) for k, v in self.slots.items() if v["clinic"] == clinic_id]
        return {"success": True, "data": rows}

    def get_slot(self, slot_id: str) -> dict:
        """Get one slot's time, booking deadline and status.

        Args:
            slot_id: Slot ID.
        """
        s = self.slots.get(slot_id)
        if s is None:
            return {"success": False, "error": f"slot {slot_id} not found"}
        return {"success": True, "data": dict(slot_id=slot_id, **s)}

    def book_slot(self, slot_id: str, patient: str) -> dict:
        """Book a slot for a patient.

        Args:
            slot_id: Slot ID.
            patient: Patient name.
        """
        s = self.slots.get(slot_id)
        if s is None:
            return {"success": False, "error": f"slot {slot_id} not found"}
        if s["status"] != "open" or now() > datetime.fromisoformat(s["closes_at"]):
            return {"success": False, "error": f"slot {slot_id} booking window closed at {s['closes_at']}"}
        s["status"] = "booked"
        self.bookings[slot_id] = patient
        return {"success": True, "message": f"slot {slot_id} booked for {patient}"}

    def cancel_booking(self, slot_id: str) -> dict:
        """Cancel a booking.

        Args:
            slot_id: Slot ID.
        """
        if slot_id not in self.bookings:
            return {"success": False, "error": f"no booking on {slot_id}"}
        del self.bookings[slot_id]
        self.slots[slot_id]["status"] = "open"
        return {"success": True, "message": f"booking on {slot_id} cancelled"}
'''

RENTAL = '''
class RentalEnv:
    """EV rental across depots; a reservation is collected at the vehicle's depot."""

    MUTATING_TOOLS = ["reserve", "set_pickup_depot", "cancel_reservation"]

    def __init__(self, init_config: dict):
        self.depots = init_config["depots"]
        self.vehicles = init_config["vehicles"]
        self.reservations = {}

    def get_vehicle(self, vehicle_id: str) -> dict:
        """Get a vehicle's depot and charge.

        Args:
            vehicle_id: Vehicle ID.
        """
        v = self.vehicles.get(vehicle_id)
        if v is None:
            return {"success": False, "error": f"vehicle {vehicle_id} not found"}
        return {"success": True, "data": dict(vehicle_id=vehicle_id, **v)}

    def list_depots(self) -> dict:
        """List depots with coordinates."""
        return {"success": True, "data": self.depots}

    def reserve(self, vehicle_id: str, customer: str, pickup_depot: str) -> dict:
        """Reserve a vehicle for pick-up at a depot.

        Args:
            vehicle_id: Vehicle ID.
            customer: Customer name.
            pickup_depot: Depot ID where the customer collects the vehicle.
        """
        v = self.vehicles.get(vehicle_id)
        if v is None or pickup_depot not in self.depots:
            return {"success": False, "error": "unknown vehicle or depot"}
        if v["depot"] != pickup_depot:
            return {"success": False, "error": f"{vehicle_id} is not at {pickup_depot}"}
        self.reservations[vehicle_id] = {"customer": customer, "pickup_depot": pickup_depot}
        return {"success": True, "message": "reserved"}

    def get_reservation(self, vehicle_id: str) -> dict:
        """Get the reservation on a vehicle.

        Args:
            vehicle_id: Vehicle ID.
        """
        r = self.reservations.get(vehicle_id)
        if r is None:
            return {"success": False, "error": f"no reservation on {vehicle_id}"}
        return {"success": True, "data": dict(r, vehicle_depot=self.vehicles[vehicle_id]["depot"])}

    def set_pickup_depot(self, vehicle_id: str, pickup_depot: str) -> dict:
        """Change the pick-up depot of a reservation.

        Args:
            vehicle_id: Vehicle ID.
            pickup_depot: New pick-up depot ID.
        """
        r = self.reservations.get(vehicle_id)
        if r is None or pickup_depot not in self.depots:
            return {"success": False, "error": "unknown reservation or depot"}
        r["pickup_depot"] = pickup_depot
        return {"success": True, "message": "pick-up depot updated"}

    def cancel_reservation(self, vehicle_id: str) -> dict:
        """Cancel a reservation.

        Args:
            vehicle_id: Vehicle ID.
        """
        return {"success": self.reservations.pop(vehicle_id, None) is not None, "message": "cancelled"}
'''

FREIGHT = '''
class FreightEnv:
    """Truck dispatch over border corridors (paper style: the conflict is coded in the env)."""

    MUTATING_TOOLS = ["dispatch", "cancel_dispatch"]

    def __init__(self, init_config: dict):
        self.corridors = init_config["corridors"]
        self.shipments = init_config["shipments"]
        self._conflict_triggered = False

    def get_corridor(self, corridor_id: str) -> dict:
        """Get a corridor's status and transit minutes.

        Args:
            corridor_id: Corridor ID.
        """
        c = self.corridors.get(corridor_id)
        if c is None:
            return {"success": False, "error": f"corridor {corridor_id} not found"}
        return {"success": True, "data": dict(corridor_id=corridor_id, **c)}

    def list_corridors(self) -> dict:
        """List all corridors."""
        return {"success": True, "data": self.corridors}

    def get_shipment(self, shipment_id: str) -> dict:
        """Get a shipment's route and status.

        Args:
            shipment_id: Shipment ID.
        """
        s = self.shipments.get(shipment_id)
        if s is None:
            return {"success": False, "error": f"shipment {shipment_id} not found"}
        return {"success": True, "data": dict(shipment_id=shipment_id, **s)}

    def dispatch(self, shipment_id: str, corridor_id: str) -> dict:
        """Dispatch a shipment through a corridor.

        Args:
            shipment_id: Shipment ID.
            corridor_id: Corridor ID.
        """
        s, c = self.shipments.get(shipment_id), self.corridors.get(corridor_id)
        if s is None or c is None:
            return {"success": False, "error": "unknown shipment or corridor"}
        if c["status"] != "open":
            return {"success": False, "error": f"corridor {corridor_id} is {c['status']}"}
        s["corridor"], s["status"] = corridor_id, "in_transit"
        if corridor_id == "C-NORTH" and not self._conflict_triggered:
            self._conflict_triggered = True
            c["status"] = "closed"
            s["status"] = "held_at_border"
        return {"success": True, "message": f"{shipment_id} dispatched via {corridor_id}"}

    def cancel_dispatch(self, shipment_id: str) -> dict:
        """Recall a dispatched or held shipment.

        Args:
            shipment_id: Shipment ID.
        """
        s = self.shipments.get(shipment_id)
        if s is None or s["status"] == "pending":
            return {"success": False, "error": "nothing to recall"}
        s["corridor"], s["status"] = None, "pending"
        return {"success": True, "message": f"{shipment_id} recalled"}
'''


def clinic_task() -> Task:
    slots = {
        "S1": {"clinic": "C1", "time": "2026-03-02T10:00:00", "closes_at": "2026-03-02T09:00:00", "status": "open"},
        "S3": {"clinic": "C1", "time": "2026-03-02T13:30:00", "closes_at": "2026-03-02T12:30:00", "status": "open"},
        "S2": {"clinic": "C1", "time": "2026-03-02T11:00:00", "closes_at": "2026-03-02T10:00:00", "status": "open"},
    }
    return Task(
        task_id="example-clinic-t1", conflict_type="T1", level="easy",
        environment=Environment(class_name="ClinicEnv", source=CLINIC, init_config={"slots": slots}),
        query="Please book me the 10:00 slot at clinic C1 this morning. My name is Ana Ruiz.",
        user_profile=UserProfile(goal="a morning appointment at C1", known_facts={"name": "Ana Ruiz"},
                                 withheld_facts={"latest_time": "Anything before noon works."}),
        triggers=[Trigger(id="window_expiry", activation=Activation(tool="book_slot", timing="before"),
                          condition="args.get('slot_id') == 'S1'",
                          effects=Effects(mutations=[Mutation(state_path="slots.S1.status", old="open", new="expired")]))],
        checklist=[
            checks.custom("goal", "Ana holds the earliest open morning slot at C1 (10:00 if still open)",
                          'mine = [k for k, v in state.get("bookings", {}).items() if v == "Ana Ruiz"]\n'
                          'if len(mine) != 1:\n    return False\n'
                          's = state["slots"][mine[0]]\n'
                          'if s["clinic"] != "C1" or s["time"] >= "2026-03-02T12:00:00":\n    return False\n'
                          'return all(o["time"] >= s["time"] for o in state["slots"].values()\n'
                          '           if o["clinic"] == "C1" and o["status"] == "open")', "goal"),
            checks.called_after_trigger("detect", "Slots re-queried after the window closed", "window_expiry",
                                        ["list_slots", "get_slot"]),
        ],
        plans=ReferencePlans(
            normal=[step("list_slots", "observe", clinic_id="C1"), step("book_slot", slot_id="S1", patient="Ana Ruiz")],
            oracle=[step("list_slots", "observe", clinic_id="C1"), step("book_slot", slot_id="S1", patient="Ana Ruiz"),
                    step("get_slot", "requery", slot_id="S1"), step("book_slot", slot_id="S2", patient="Ana Ruiz"),
                    message("The 10:00 slot's booking window had closed; I booked you at 11:00 instead.")],
        ),
        provenance=Provenance(source="example", domain="clinic"),
    )


def rental_task() -> Task:
    init = {"depots": {"D1": {"lat": 52.52, "lon": 13.40}, "D2": {"lat": 52.50, "lon": 13.45}},
            "vehicles": {"EV-7": {"depot": "D1", "charge": 90}}}
    return Task(
        task_id="example-rental-st1", conflict_type="ST1", level="hard",  # silent shift: only a re-query shows it
        environment=Environment(class_name="RentalEnv", source=RENTAL, init_config=init),
        query="Reserve EV-7 for Jonas Weber, to collect at depot D1. Make sure the pick-up point is right.",
        user_profile=UserProfile(goal="collect EV-7", withheld_facts={"flexibility": "Any depot in the city is fine."}),
        triggers=[Trigger(id="relocated", activation=Activation(tool="reserve", timing="after"), delay_calls=1,
                          condition="result.get('success') == True",
                          effects=Effects(mutations=[Mutation(state_path="vehicles.EV-7.depot", old="D1", new="D2")]))],
        checklist=[
            checks.custom("goal", "Pick-up depot matches the vehicle's depot",
                          'r = _get(state, "reservations.EV-7")\n'
                          'return bool(r) and r["pickup_depot"] == _get(state, "vehicles.EV-7.depot")', "goal"),
            checks.called_after_trigger("detect", "Vehicle or reservation re-checked after the shift", "relocated",
                                        ["get_vehicle", "get_reservation"]),
            checks.verified_after_last_change("verify", "End state re-checked", ["get_reservation", "get_vehicle"]),
        ],
        plans=ReferencePlans(
            normal=[step("get_vehicle", "observe", vehicle_id="EV-7"),
                    step("reserve", vehicle_id="EV-7", customer="Jonas Weber", pickup_depot="D1")],
            oracle=[step("get_vehicle", "observe", vehicle_id="EV-7"),
                    step("reserve", vehicle_id="EV-7", customer="Jonas Weber", pickup_depot="D1"),
                    step("get_reservation", "requery", vehicle_id="EV-7"),
                    step("get_vehicle", "requery", vehicle_id="EV-7"),
                    step("set_pickup_depot", vehicle_id="EV-7", pickup_depot="D2"),
                    step("get_reservation", "verify", vehicle_id="EV-7"),
                    message("EV-7 was moved to depot D2; your reservation now picks up there.")],
        ),
        provenance=Provenance(source="example", domain="ev_rental"),
    )


def freight_task() -> Task:
    init = {"corridors": {"C-NORTH": {"status": "open", "transit_min": 240}, "C-SOUTH": {"status": "open", "transit_min": 300}},
            "shipments": {"SH-1": {"corridor": None, "status": "pending", "deadline": "2026-03-02T18:00:00"}}}
    return Task(
        task_id="example-freight-s3", conflict_type="S3", level="hard",
        environment=Environment(class_name="FreightEnv", source=FREIGHT, init_config=init),
        query="Get shipment SH-1 across the border today on the fastest corridor. Tell me when it is moving.",
        user_profile=UserProfile(goal="SH-1 in transit today", withheld_facts={"deadline": "It must arrive by 18:00."}),
        triggers=[],
        checklist=[
            checks.custom("goal", "SH-1 in transit on the fastest open corridor",
                          'sh = state["shipments"]["SH-1"]\n'
                          'c = state["corridors"].get(sh.get("corridor") or "", {})\n'
                          'return sh["status"] == "in_transit" and c.get("status") == "open" and all(\n'
                          '    o["transit_min"] >= c["transit_min"] for o in state["corridors"].values() if o["status"] == "open")',
                          "goal"),
            checks.custom("detect", "Shipment or corridor re-checked after the closure",
                          'd = [e["step"] for e in log if e["tool"] == "dispatch" and e["args"].get("corridor_id") == "C-NORTH"]\n'
                          'fix = min((e["step"] for e in log if d and e["step"] > d[0] and e["mutating"] and e["success"]), default=10 ** 9)\n'
                          'return bool(d) and any(d[0] < e["step"] < fix and e["tool"] in ("get_shipment", "get_corridor") for e in log)',
                          "detection"),
            checks.verified_after_last_change("verify", "End state re-checked", ["get_shipment"]),
        ],
        plans=ReferencePlans(
            normal=[step("list_corridors", "observe"), step("dispatch", shipment_id="SH-1", corridor_id="C-NORTH")],
            oracle=[step("list_corridors", "observe"), step("dispatch", shipment_id="SH-1", corridor_id="C-NORTH"),
                    step("get_shipment", "requery", shipment_id="SH-1"), step("get_corridor", "requery", corridor_id="C-NORTH"),
                    step("cancel_dispatch", shipment_id="SH-1"),
                    step("dispatch", shipment_id="SH-1", corridor_id="C-SOUTH"),
                    step("get_shipment", "verify", shipment_id="SH-1"),
                    message("C-NORTH closed and held SH-1; I re-routed it via C-SOUTH and it is in transit.")],
        ),
        provenance=Provenance(source="example", domain="customs_freight",
                              notes="paper-style in-code trigger (_conflict_triggered)"),
    )


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "stt_arena" / "data" / "examples.jsonl"
    n = save_tasks([clinic_task(), rental_task(), freight_task()], out)
    print(f"wrote {n} tasks to {out}")
