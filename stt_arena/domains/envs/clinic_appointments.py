"""Clinic appointments: clinics with coordinates, doctors, time slots, referral handoffs, triage, transport."""
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


def _km(a, b):
    dlat = math.radians(b["lat"] - a["lat"])
    dlon = math.radians(b["lon"] - a["lon"])
    h = math.sin(dlat / 2) ** 2 + math.cos(math.radians(a["lat"])) * math.cos(math.radians(b["lat"])) * \
        math.sin(dlon / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


class ClinicAppointmentsEnv:
    MUTATING_TOOLS = ["book_appointment", "cancel_appointment", "reschedule_appointment", "hold_slot",
                      "release_hold", "send_referral", "withdraw_referral", "arrange_transport"]

    def __init__(self, init_config: dict):
        self.clinics = init_config.get("clinics", {})
        self.doctors = init_config.get("doctors", {})
        self.slots = init_config.get("slots", {})
        self.patients = init_config.get("patients", {})
        self.referrals = init_config.get("referrals", {})
        self.appointments = init_config.get("appointments", {})
        self.transports = init_config.get("transports", {})
        self._seq = int(init_config.get("appointment_seq", 3000))
        self._tseq = int(init_config.get("transport_seq", 700))
        self._range_km = float(init_config.get("transport_range_km", 15))
        self._lead = int(init_config.get("transport_lead_minutes", 60))
        self._hold_min = int(init_config.get("hold_minutes", 15))

    # ------------------------------------------------------------------ helpers
    def _travel(self, patient, clinic):
        km = _km(patient, clinic)
        return round(km, 1), int(math.ceil(6 + km * 2.2))

    def _slot_state(self, slot):
        if slot["status"] == "held" and slot.get("hold_until", "") < _iso(now()):
            return "free"
        return slot["status"]

    def _check(self, patient_id, slot_id, clinic_id, referral_id, own_appointment=""):
        p = self.patients.get(patient_id)
        if p is None:
            return f"patient {patient_id} not found"
        sl = self.slots.get(slot_id)
        if sl is None:
            return f"slot {slot_id} not found"
        if clinic_id != sl["clinic_id"]:
            return f"slot {slot_id} takes place at {sl['clinic_id']}, not {clinic_id}"
        c = self.clinics.get(sl["clinic_id"], {})
        if c.get("status") != "open":
            return f"clinic {sl['clinic_id']} status is {c.get('status')}"
        d = self.doctors.get(sl["doctor_id"], {})
        if d.get("status") != "on_duty":
            return f"doctor {sl['doctor_id']} status is {d.get('status')}"
        t = now()
        st = self._slot_state(sl)
        if st == "held" and sl.get("patient_id") != patient_id:
            return f"slot {slot_id} is held until {_hm(sl.get('hold_until'))}"
        if st == "booked":
            return f"slot {slot_id} is already booked"
        if st not in ("free", "held"):
            return f"slot {slot_id} status is {st}"
        if sl.get("reserved_for") and p["triage"] not in sl["reserved_for"]:
            return f"slot {slot_id} is reserved for triage {'/'.join(sl['reserved_for'])} patients"
        if _iso(t) > sl["book_by"]:
            return f"booking for slot {slot_id} closed at {_hm(sl['book_by'])}"
        if sl.get("referral_required"):
            r = self.referrals.get(referral_id)
            if r is None:
                return f"slot {slot_id} requires a referral; referral {referral_id!r} not found"
            if r["patient_id"] != patient_id or r["specialty"] != sl["specialty"]:
                return f"referral {referral_id} is for {r['patient_id']} / {r['specialty']}"
            if r["status"] != "accepted" or r.get("to_clinic") != sl["clinic_id"]:
                return (f"referral {referral_id} is not accepted by {sl['clinic_id']} "
                        f"(status {r['status']}, clinic {r.get('to_clinic')})")
            if r["valid_until"] < sl["start"]:
                return f"referral {referral_id} is valid until {r['valid_until']}"
        return ""

    def _appt_issues(self, a):
        out = []
        sl = self.slots.get(a["slot_id"], {})
        if sl.get("patient_id") != a["patient_id"] or sl.get("status") != "booked":
            out.append(f"slot {a['slot_id']} is assigned to {sl.get('patient_id')} (status {sl.get('status')})")
        if sl.get("clinic_id") != a["clinic_id"]:
            out.append(f"slot {a['slot_id']} takes place at {sl.get('clinic_id')}")
        if self.doctors.get(sl.get("doctor_id"), {}).get("status") != "on_duty":
            out.append(f"doctor {sl.get('doctor_id')} status {self.doctors.get(sl.get('doctor_id'), {}).get('status')}")
        if a.get("referral_id"):
            r = self.referrals.get(a["referral_id"], {})
            if r.get("status") != "accepted" or r.get("to_clinic") != sl.get("clinic_id"):
                out.append(f"referral {a['referral_id']} status {r.get('status')} at {r.get('to_clinic')}")
        return out

    def _get_appt(self, appointment_id):
        a = self.appointments.get(appointment_id)
        if a is None:
            return None, {"success": False, "error": f"appointment {appointment_id} not found"}
        if a["status"] != "confirmed":
            return None, {"success": False, "error": f"appointment {appointment_id} status is {a['status']}"}
        return a, None

    def _release(self, a):
        old = self.slots.get(a["slot_id"])
        if old is not None and old.get("patient_id") == a["patient_id"] and old["status"] == "booked":
            old["status"] = "free"
            old["patient_id"] = None
        for tr in self.transports.values():
            if tr["appointment_id"] == a.get("appointment_id") and tr["status"] == "booked":
                tr["status"] = "cancelled"

    # ------------------------------------------------------------------ query tools
    def list_clinics(self, specialty: str = "") -> dict:
        """List clinics with location and specialties, optionally filtered by specialty.

        Args:
            specialty: Optional specialty, e.g. "cardiology".
        """
        return {"success": True, "data": [
            {"clinic_id": k, "name": c["name"], "district": c["district"], "lat": c["lat"], "lon": c["lon"],
             "status": c["status"], "specialties": c["specialties"]}
            for k, c in sorted(self.clinics.items()) if not specialty or specialty in c["specialties"]]}

    def get_clinic(self, clinic_id: str) -> dict:
        """Get a clinic's address, hours, specialties and referral intake.

        Args:
            clinic_id: Clinic ID, e.g. "CL-12".
        """
        c = self.clinics.get(clinic_id)
        if c is None:
            return {"success": False, "error": f"clinic {clinic_id} not found"}
        return {"success": True, "data": {"clinic_id": clinic_id, **c}}

    def list_doctors(self, clinic_id: str = "", specialty: str = "") -> dict:
        """List doctors, optionally by clinic and/or specialty.

        Args:
            clinic_id: Optional clinic ID.
            specialty: Optional specialty.
        """
        return {"success": True, "data": [
            {"doctor_id": k, **d} for k, d in sorted(self.doctors.items())
            if (not clinic_id or d["clinic_id"] == clinic_id) and (not specialty or d["specialty"] == specialty)]}

    def get_doctor(self, doctor_id: str) -> dict:
        """Get a doctor's specialty, home clinic and duty status.

        Args:
            doctor_id: Doctor ID, e.g. "DR-407".
        """
        d = self.doctors.get(doctor_id)
        if d is None:
            return {"success": False, "error": f"doctor {doctor_id} not found"}
        return {"success": True, "data": {"doctor_id": doctor_id, **d}}

    def search_slots(self, specialty: str, clinic_id: str = "", before: str = "") -> dict:
        """Search open appointment slots of a specialty.

        Args:
            specialty: Specialty, e.g. "dermatology".
            clinic_id: Optional clinic ID.
            before: Optional ISO time; only slots starting before it.
        """
        if before and _parse(before) is None:
            return {"success": False, "error": f"invalid time {before!r}"}
        out = []
        for k, s in sorted(self.slots.items(), key=lambda kv: (kv[1]["start"], kv[0])):
            if s["specialty"] != specialty or (clinic_id and s["clinic_id"] != clinic_id):
                continue
            if before and s["start"] >= _iso(_parse(before)):
                continue
            st = self._slot_state(s)
            if st != "free" or s["start"] <= _iso(now()):
                continue
            out.append({"slot_id": k, "clinic_id": s["clinic_id"], "doctor_id": s["doctor_id"], "start": s["start"],
                        "book_by": s["book_by"], "reserved_for": s.get("reserved_for")})
        return {"success": True, "data": out}

    def get_slot(self, slot_id: str) -> dict:
        """Get one slot: clinic, doctor, times, booking cutoff, status.

        Args:
            slot_id: Slot ID, e.g. "SL-5120".
        """
        s = self.slots.get(slot_id)
        if s is None:
            return {"success": False, "error": f"slot {slot_id} not found"}
        return {"success": True, "data": {"slot_id": slot_id, **s, "status": self._slot_state(s)}}

    def get_patient(self, patient_id: str) -> dict:
        """Get a patient's home location, triage level and referrals.

        Args:
            patient_id: Patient ID, e.g. "PT-2231".
        """
        p = self.patients.get(patient_id)
        if p is None:
            return {"success": False, "error": f"patient {patient_id} not found"}
        refs = [k for k, r in sorted(self.referrals.items()) if r["patient_id"] == patient_id]
        return {"success": True, "data": {"patient_id": patient_id, **p, "referrals": refs}}

    def get_referral(self, referral_id: str) -> dict:
        """Get a referral: specialty, receiving clinic, handoff status, validity.

        Args:
            referral_id: Referral ID, e.g. "RF-880".
        """
        r = self.referrals.get(referral_id)
        if r is None:
            return {"success": False, "error": f"referral {referral_id} not found"}
        return {"success": True, "data": {"referral_id": referral_id, **r}}

    def estimate_travel(self, patient_id: str, clinic_id: str) -> dict:
        """Distance and travel minutes from a patient's home to a clinic.

        Args:
            patient_id: Patient ID.
            clinic_id: Clinic ID.
        """
        p = self.patients.get(patient_id)
        c = self.clinics.get(clinic_id)
        if p is None:
            return {"success": False, "error": f"patient {patient_id} not found"}
        if c is None:
            return {"success": False, "error": f"clinic {clinic_id} not found"}
        km, minutes = self._travel(p, c)
        return {"success": True, "data": {"km": km, "minutes": minutes, "transport_range_km": self._range_km}}

    def list_appointments(self, patient_id: str = "") -> dict:
        """List appointments, optionally for one patient.

        Args:
            patient_id: Optional patient ID.
        """
        return {"success": True, "data": [
            {"appointment_id": k, "patient_id": a["patient_id"], "slot_id": a["slot_id"], "clinic_id": a["clinic_id"],
             "start": a["start"], "status": a["status"]}
            for k, a in sorted(self.appointments.items()) if not patient_id or a["patient_id"] == patient_id]}

    def get_appointment(self, appointment_id: str) -> dict:
        """Get an appointment with the current state of its slot, referral and transport.

        Args:
            appointment_id: Appointment ID, e.g. "AP-3001".
        """
        a = self.appointments.get(appointment_id)
        if a is None:
            return {"success": False, "error": f"appointment {appointment_id} not found"}
        data = {"appointment_id": appointment_id, **a}
        data["transport"] = [{"transport_id": k, "pickup": t["pickup"], "status": t["status"]}
                             for k, t in sorted(self.transports.items()) if t["appointment_id"] == appointment_id]
        if a["status"] == "confirmed":
            data["issues"] = self._appt_issues(a)
        return {"success": True, "data": data}

    # ------------------------------------------------------------------ state-changing tools
    def hold_slot(self, slot_id: str, patient_id: str) -> dict:
        """Hold a free slot for a patient for a few minutes.

        Args:
            slot_id: Slot ID.
            patient_id: Patient ID.
        """
        sl = self.slots.get(slot_id)
        if sl is None:
            return {"success": False, "error": f"slot {slot_id} not found"}
        if patient_id not in self.patients:
            return {"success": False, "error": f"patient {patient_id} not found"}
        if self._slot_state(sl) != "free":
            return {"success": False, "error": f"slot {slot_id} status is {self._slot_state(sl)}"}
        if _iso(now()) > sl["book_by"]:
            return {"success": False, "error": f"booking for slot {slot_id} closed at {_hm(sl['book_by'])}"}
        sl["status"] = "held"
        sl["patient_id"] = patient_id
        sl["hold_until"] = _iso(now() + timedelta(minutes=self._hold_min))
        return {"success": True, "data": {"slot_id": slot_id, "hold_until": sl["hold_until"]}}

    def release_hold(self, slot_id: str) -> dict:
        """Release a held slot.

        Args:
            slot_id: Slot ID.
        """
        sl = self.slots.get(slot_id)
        if sl is None:
            return {"success": False, "error": f"slot {slot_id} not found"}
        if sl["status"] != "held":
            return {"success": False, "error": f"slot {slot_id} is not held"}
        sl["status"] = "free"
        sl["patient_id"] = None
        sl.pop("hold_until", None)
        return {"success": True, "message": f"hold on {slot_id} released"}

    def book_appointment(self, patient_id: str, slot_id: str, clinic_id: str, referral_id: str = "") -> dict:
        """Book a slot for a patient.

        Args:
            patient_id: Patient ID.
            slot_id: Slot ID.
            clinic_id: Clinic where the slot takes place (confirmation).
            referral_id: Referral ID, required for specialties that need one.
        """
        err = self._check(patient_id, slot_id, clinic_id, referral_id)
        if err:
            return {"success": False, "error": err}
        sl = self.slots[slot_id]
        self._seq += 1
        aid = f"AP-{self._seq}"
        sl["status"] = "booked"
        sl["patient_id"] = patient_id
        sl.pop("hold_until", None)
        self.appointments[aid] = {"appointment_id": aid, "patient_id": patient_id, "slot_id": slot_id,
                                  "clinic_id": sl["clinic_id"], "doctor_id": sl["doctor_id"], "start": sl["start"],
                                  "referral_id": referral_id or None, "status": "confirmed",
                                  "booked_at": _iso(now())}
        return {"success": True, "data": self.appointments[aid]}

    def cancel_appointment(self, appointment_id: str) -> dict:
        """Cancel an appointment; its slot and transport are released.

        Args:
            appointment_id: Appointment ID.
        """
        a, bad = self._get_appt(appointment_id)
        if bad:
            return bad
        self._release(a)
        a["status"] = "cancelled"
        return {"success": True, "message": f"appointment {appointment_id} cancelled"}

    def reschedule_appointment(self, appointment_id: str, slot_id: str, clinic_id: str) -> dict:
        """Move an appointment to another slot; any transport booked for it is cancelled.

        Args:
            appointment_id: Appointment ID.
            slot_id: New slot ID.
            clinic_id: Clinic of the new slot (confirmation).
        """
        a, bad = self._get_appt(appointment_id)
        if bad:
            return bad
        if slot_id == a["slot_id"]:
            return {"success": False, "error": f"appointment {appointment_id} is already on slot {slot_id}"}
        err = self._check(a["patient_id"], slot_id, clinic_id, a.get("referral_id") or "")
        if err:
            return {"success": False, "error": err}
        self._release(a)
        sl = self.slots[slot_id]
        sl["status"] = "booked"
        sl["patient_id"] = a["patient_id"]
        sl.pop("hold_until", None)
        a.update({"slot_id": slot_id, "clinic_id": sl["clinic_id"], "doctor_id": sl["doctor_id"],
                  "start": sl["start"], "updated_at": _iso(now())})
        return {"success": True, "data": dict(a)}

    def send_referral(self, referral_id: str, clinic_id: str) -> dict:
        """Hand a referral over to a receiving clinic.

        Args:
            referral_id: Referral ID.
            clinic_id: Receiving clinic ID.
        """
        r = self.referrals.get(referral_id)
        if r is None:
            return {"success": False, "error": f"referral {referral_id} not found"}
        c = self.clinics.get(clinic_id)
        if c is None:
            return {"success": False, "error": f"clinic {clinic_id} not found"}
        if r["valid_until"] < _iso(now()):
            return {"success": False, "error": f"referral {referral_id} expired at {r['valid_until']}"}
        if r["specialty"] not in c["specialties"]:
            return {"success": False, "error": f"clinic {clinic_id} has no {r['specialty']} service"}
        if not c.get("accepting_referrals", False) or c.get("status") != "open":
            return {"success": False, "error": f"clinic {clinic_id} is not accepting referrals"}
        if r["status"] == "accepted" and r.get("to_clinic") == clinic_id:
            return {"success": False, "error": f"referral {referral_id} is already accepted by {clinic_id}"}
        r["to_clinic"] = clinic_id
        r["status"] = "accepted"
        r["handoff_at"] = _iso(now())
        return {"success": True, "data": {"referral_id": referral_id, **r}}

    def withdraw_referral(self, referral_id: str) -> dict:
        """Withdraw a referral from its receiving clinic (back to draft).

        Args:
            referral_id: Referral ID.
        """
        r = self.referrals.get(referral_id)
        if r is None:
            return {"success": False, "error": f"referral {referral_id} not found"}
        if r["status"] == "draft":
            return {"success": False, "error": f"referral {referral_id} is a draft"}
        r["status"] = "draft"
        r["to_clinic"] = None
        return {"success": True, "message": f"referral {referral_id} withdrawn"}

    def arrange_transport(self, appointment_id: str) -> dict:
        """Book patient transport from home to the appointment's clinic.

        Args:
            appointment_id: Appointment ID.
        """
        a, bad = self._get_appt(appointment_id)
        if bad:
            return bad
        issues = self._appt_issues(a)
        if issues:
            return {"success": False, "error": f"appointment {appointment_id}: " + "; ".join(issues)}
        sl = self.slots[a["slot_id"]]
        c = self.clinics[sl["clinic_id"]]
        km, minutes = self._travel(self.patients[a["patient_id"]], c)
        if km > self._range_km:
            return {"success": False, "error": f"clinic {sl['clinic_id']} is {km} km away; transport range is "
                                               f"{self._range_km} km"}
        pickup = _parse(sl["start"]) - timedelta(minutes=minutes + 15)
        cutoff = pickup - timedelta(minutes=self._lead)
        if now() > cutoff:
            return {"success": False, "error": f"transport requests for pickup {_iso(pickup)[11:16]} closed at "
                                               f"{_iso(cutoff)[11:16]}"}
        for t in self.transports.values():
            if t["appointment_id"] == appointment_id and t["status"] == "booked" and t["slot_id"] == a["slot_id"]:
                return {"success": False, "error": f"transport already booked for {appointment_id}"}
        self._tseq += 1
        tid = f"TR-{self._tseq}"
        self.transports[tid] = {"appointment_id": appointment_id, "slot_id": a["slot_id"],
                                "clinic_id": sl["clinic_id"], "pickup": _iso(pickup), "status": "booked"}
        return {"success": True, "data": {"transport_id": tid, **self.transports[tid]}}
