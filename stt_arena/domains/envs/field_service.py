from ._shared import *  # noqa: F403 - inlined by generator.family.env_source


# -- shared with the checklist (domains.kit.env_functions): pure functions over the JSON state ---------
def eta_min(technicians, jobs, travel, tech_id, job_id):
    """Arrival at the job (minutes after midnight): free time plus travel, not before the window opens."""
    t, j = technicians[tech_id], jobs[job_id]
    return arrival_min(t["free_from"], travel_min(travel, t["location"], j["site_id"]), j["window_start"])


def visit_problem(technicians, jobs, travel, visits, job_id, tech_id, own=None):
    """Why this technician cannot do this job now (None when they can). ``own``: the visit being changed."""
    j, t = jobs.get(job_id), technicians.get(tech_id)
    if j is None:
        return f"job {job_id} not found"
    if t is None:
        return f"technician {tech_id} not found"
    if t["status"] != "on_shift":
        return f"technician {tech_id} is {t['status']}"
    if j["skill"] not in t["skills"]:
        return f"technician {tech_id} lacks skill {j['skill']}"
    if any(v["technician_id"] == tech_id and v["status"] in ("scheduled", "confirmed") and k != own
           for k, v in visits.items()):
        return f"technician {tech_id} already has an active visit"
    eta = eta_min(technicians, jobs, travel, tech_id, job_id)
    if eta + j["duration_min"] > iso_min(j["window_end"]):
        return (f"technician {tech_id} arrives {eta // 60:02d}:{eta % 60:02d}; the {j['duration_min']} min job "
                f"must end by {j['window_end'][11:16]}")
    return None


class FieldServiceEnv:
    """Field-service dispatch: technicians with skills and travel times, jobs with customer time windows."""

    MUTATING_TOOLS = ["dispatch", "schedule_visit", "confirm_visit", "reassign_visit", "cancel_visit",
                      "add_job_note"]

    def __init__(self, init_config: dict):
        self.sites = init_config["sites"]
        self.technicians = init_config["technicians"]
        self.travel = init_config["travel"]
        self.jobs = init_config["jobs"]
        self.visits = {}
        self.notes = {}
        self.visit_seq = init_config.get("visit_seq", 100)

    # -- helpers (private) ---------------------------------------------------------------------------
    def _eta(self, tech_id, job_id):
        m = eta_min(self.technicians, self.jobs, self.travel, tech_id, job_id)
        return iso_add(self.jobs[job_id]["window_start"][:11] + "00:00:00", m)

    def _problem(self, job_id, tech_id, own=None):
        return visit_problem(self.technicians, self.jobs, self.travel, self.visits, job_id, tech_id, own)

    def _vview(self, vid):
        v = self.visits[vid]
        prob = self._problem(v["job_id"], v["technician_id"], vid) if v["status"] in ("scheduled", "confirmed") else None
        return {"visit_id": vid, **v, "still_feasible": prob is None, "issue": prob}

    def _new(self, job_id, tech_id, status):
        self.visit_seq += 1
        vid = f"VS-{self.visit_seq}"
        self.visits[vid] = {"job_id": job_id, "technician_id": tech_id, "status": status,
                            "eta": self._eta(tech_id, job_id),
                            "fee": self.technicians[tech_id]["callout_fee"], "created_at": now().isoformat()}
        return vid

    # -- queries ---------------------------------------------------------------------------------------
    def list_technicians(self) -> dict:
        """List technicians with skills, location, status, free-from time and call-out fee."""
        return {"success": True, "data": [{"technician_id": k, **v} for k, v in sorted(self.technicians.items())]}

    def get_technician(self, technician_id: str) -> dict:
        """Get one technician.

        Args:
            technician_id: Technician ID, e.g. "TC-31".
        """
        t = self.technicians.get(technician_id)
        if t is None:
            return {"success": False, "error": f"technician {technician_id} not found"}
        return {"success": True, "data": {"technician_id": technician_id, **t}}

    def list_jobs(self) -> dict:
        """List jobs with site, skill, customer window and status."""
        return {"success": True, "data": [{"job_id": k, **v} for k, v in self.jobs.items()]}

    def get_job(self, job_id: str) -> dict:
        """Get one job's site, required skill, duration and customer time window.

        Args:
            job_id: Job ID, e.g. "JB-4410".
        """
        j = self.jobs.get(job_id)
        if j is None:
            return {"success": False, "error": f"job {job_id} not found"}
        return {"success": True, "data": {"job_id": job_id, **j}}

    def get_site(self, site_id: str) -> dict:
        """Get a site's name, address and position.

        Args:
            site_id: Site ID, e.g. "SI-12".
        """
        s = self.sites.get(site_id)
        if s is None:
            return {"success": False, "error": f"site {site_id} not found"}
        return {"success": True, "data": {"site_id": site_id, **s}}

    def estimate_travel(self, technician_id: str, site_id: str) -> dict:
        """Travel minutes from a technician's current location to a site.

        Args:
            technician_id: Technician ID.
            site_id: Site ID.
        """
        t = self.technicians.get(technician_id)
        if t is None or site_id not in self.sites:
            return {"success": False, "error": f"technician {technician_id} or site {site_id} not found"}
        return {"success": True, "data": {"minutes": self.travel[t["location"]][site_id]}}

    def check_eta(self, job_id: str, technician_id: str) -> dict:
        """Arrival time of a technician at a job and whether the job fits the customer window.

        Args:
            job_id: Job ID.
            technician_id: Technician ID.
        """
        if job_id not in self.jobs or technician_id not in self.technicians:
            return {"success": False, "error": f"job {job_id} or technician {technician_id} not found"}
        prob = self._problem(job_id, technician_id)
        return {"success": True, "data": {"eta": self._eta(technician_id, job_id),
                                          "feasible": prob is None, "issue": prob}}

    def list_visits(self, job_id: str) -> dict:
        """List the visits planned for a job, with whether each still fits.

        Args:
            job_id: Job ID.
        """
        if job_id not in self.jobs:
            return {"success": False, "error": f"job {job_id} not found"}
        return {"success": True, "data": [self._vview(k) for k, v in self.visits.items() if v["job_id"] == job_id]}

    def get_visit(self, visit_id: str) -> dict:
        """Get a visit's technician, arrival time, status and whether it still fits.

        Args:
            visit_id: Visit ID, e.g. "VS-101".
        """
        if visit_id not in self.visits:
            return {"success": False, "error": f"visit {visit_id} not found"}
        return {"success": True, "data": self._vview(visit_id)}

    # -- state changes ---------------------------------------------------------------------------------
    def dispatch(self, job_id: str, technician_id: str) -> dict:
        """Send a technician to a job now (a confirmed visit).

        Args:
            job_id: Job ID.
            technician_id: Technician ID.
        """
        prob = self._problem(job_id, technician_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._vview(self._new(job_id, technician_id, "confirmed"))}

    def schedule_visit(self, job_id: str, technician_id: str) -> dict:
        """Pencil a technician in for a job (tentative until confirmed).

        Args:
            job_id: Job ID.
            technician_id: Technician ID.
        """
        prob = self._problem(job_id, technician_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._vview(self._new(job_id, technician_id, "scheduled"))}

    def confirm_visit(self, visit_id: str) -> dict:
        """Confirm a scheduled visit with the customer (re-checked on current data).

        Args:
            visit_id: Visit ID.
        """
        v = self.visits.get(visit_id)
        if v is None:
            return {"success": False, "error": f"visit {visit_id} not found"}
        if v["status"] != "scheduled":
            return {"success": False, "error": f"visit {visit_id} is {v['status']}"}
        prob = self._problem(v["job_id"], v["technician_id"], visit_id)
        if prob:
            return {"success": False, "error": prob}
        v["status"] = "confirmed"
        return {"success": True, "data": self._vview(visit_id)}

    def reassign_visit(self, visit_id: str, technician_id: str) -> dict:
        """Give a scheduled or confirmed visit to another technician (status kept).

        Args:
            visit_id: Visit ID.
            technician_id: The new technician.
        """
        v = self.visits.get(visit_id)
        if v is None:
            return {"success": False, "error": f"visit {visit_id} not found"}
        if v["status"] not in ("scheduled", "confirmed"):
            return {"success": False, "error": f"visit {visit_id} is {v['status']}"}
        prob = self._problem(v["job_id"], technician_id, visit_id)
        if prob:
            return {"success": False, "error": prob}
        v["technician_id"] = technician_id
        v["eta"] = self._eta(technician_id, v["job_id"])
        v["fee"] = self.technicians[technician_id]["callout_fee"]
        v["updated_at"] = now().isoformat()
        return {"success": True, "data": self._vview(visit_id)}

    def cancel_visit(self, visit_id: str) -> dict:
        """Cancel a visit.

        Args:
            visit_id: Visit ID.
        """
        v = self.visits.get(visit_id)
        if v is None:
            return {"success": False, "error": f"visit {visit_id} not found"}
        if v["status"] == "cancelled":
            return {"success": False, "error": f"visit {visit_id} is already cancelled"}
        v["status"] = "cancelled"
        return {"success": True, "message": f"visit {visit_id} cancelled"}

    def add_job_note(self, job_id: str, note: str) -> dict:
        """Attach a note for the technician to a job.

        Args:
            job_id: Job ID.
            note: Free text, at most 300 characters.
        """
        if job_id not in self.jobs:
            return {"success": False, "error": f"job {job_id} not found"}
        if not note or len(note) > 300:
            return {"success": False, "error": "note must have 1 to 300 characters"}
        self.notes.setdefault(job_id, []).append(note)
        return {"success": True, "message": "note added"}
