from ._shared import *  # noqa: F403 - inlined by generator.family.env_source


# -- shared with the checklist (domains.kit.env_functions): pure functions over the JSON state ---------
def _hhmm(m):
    return f"{m // 60:02d}:{m % 60:02d}"


def crew_finish(crews, jobs, travel, crew_id, job_id):
    """(arrival, finish) of a crew at a repair job, minutes after midnight: free time plus travel from the
    crew's current location, then the job's duration."""
    c, j = crews[crew_id], jobs[job_id]
    arr = iso_min(c["available_from"]) + travel[c["location"]][j["site_id"]]
    return arr, arr + j["duration_min"]


def isolation_customers(sections, switch):
    """(customers, critical loads) left without supply while this switch is open for the isolation."""
    secs = [sections[s] for s in switch.get("sections", []) if s in sections]
    return sum(s["customers"] for s in secs), [x for s in secs for x in s.get("critical", [])]


def isolation_problem(switches, sections, jobs, isolations, job_id, switch_id, own=None):
    """Why this switch cannot isolate this job's faulted section now (None when it can)."""
    j, sw = jobs.get(job_id), switches.get(switch_id)
    if j is None:
        return f"job {job_id} not found"
    if sw is None:
        return f"switch {switch_id} not found"
    if sw["status"] != "operable":
        return f"switch {switch_id} is {sw['status']}"
    if j["section_id"] not in sw.get("sections", []):
        return f"opening switch {switch_id} does not isolate section {j['section_id']}"
    if any(v["job_id"] == job_id and v["status"] in ("planned", "permit_issued") and k != own
           for k, v in isolations.items()):
        return f"job {job_id} already has an active isolation"
    return None


def crew_problem(crews, jobs, travel, isolations, assignments, job_id, crew_id, own=None):
    """Why this crew cannot do this repair job now (None when it can)."""
    j, c = jobs.get(job_id), crews.get(crew_id)
    if j is None:
        return f"job {job_id} not found"
    if c is None:
        return f"crew {crew_id} not found"
    if c["status"] != "available":
        return f"crew {crew_id} is {c['status']}"
    if j["skill"] not in c["skills"]:
        return f"crew {crew_id} lacks skill {j['skill']}"
    if not any(v["job_id"] == job_id and v["status"] == "permit_issued" for v in isolations.values()):
        return f"job {job_id} has no issued work permit"
    if any(a["crew_id"] == crew_id and a["status"] in ("scheduled", "confirmed") and k != own
           for k, a in assignments.items()):
        return f"crew {crew_id} already has an active assignment"
    arr, fin = crew_finish(crews, jobs, travel, crew_id, job_id)
    if fin > iso_min(c["shift_end"]):
        return (f"crew {crew_id} arrives {_hhmm(arr)} from {c['location']}; the {j['duration_min']} min job "
                f"ends {_hhmm(fin)}, after its shift end {c['shift_end'][11:16]}")
    return None


def transfer_problem(substations, feeders, switches, transfers, feeder_id, tie_id, own=None):
    """Why closing this tie switch cannot restore this feeder now (None when it can)."""
    f, sw = feeders.get(feeder_id), switches.get(tie_id)
    if f is None:
        return f"feeder {feeder_id} not found"
    if sw is None:
        return f"switch {tie_id} not found"
    if sw.get("kind") != "tie" or feeder_id not in (sw.get("feeder_id"), sw.get("tie_feeder")):
        return f"switch {tie_id} is not a tie switch of feeder {feeder_id}"
    if sw["status"] != "operable":
        return f"switch {tie_id} is {sw['status']}"
    src_id = sw["tie_feeder"] if sw["feeder_id"] == feeder_id else sw["feeder_id"]
    src = feeders[src_id]
    if src["status"] != "energized":
        return f"source feeder {src_id} is {src['status']}"
    sub = substations[src["substation_id"]]
    if sub["status"] != "energized":
        return f"substation {src['substation_id']} feeding {src_id} is {sub['status']}"
    spare = round(src["capacity_mw"] - src["load_mw"], 2)
    if spare < f["load_mw"]:
        return f"source feeder {src_id} has {spare} MW spare; feeder {feeder_id} needs {f['load_mw']} MW"
    if any(t["tie_id"] == tie_id and t["status"] in ("staged", "closed") and k != own for k, t in transfers.items()):
        return f"tie {tie_id} is already in use"
    return None


def generator_arrival(generators, jobs, travel, gen_id, job_id):
    """Arrival of a mobile generator at a job's site, minutes after midnight."""
    g, j = generators[gen_id], jobs[job_id]
    return iso_min(g["available_from"]) + travel[g["location"]][j["site_id"]]


def generator_problem(generators, jobs, travel, deployments, job_id, gen_id, own=None):
    """Why this mobile generator cannot back up this job's critical load now (None when it can)."""
    j, g = jobs.get(job_id), generators.get(gen_id)
    if j is None:
        return f"job {job_id} not found"
    if g is None:
        return f"generator {gen_id} not found"
    if g["status"] != "available":
        return f"generator {gen_id} is {g['status']}"
    if not j.get("backup_kva"):
        return f"job {job_id} has no load that needs a generator"
    if g["rating_kva"] < j["backup_kva"]:
        return f"generator {gen_id} is rated {g['rating_kva']} kVA; the load at job {job_id} needs {j['backup_kva']} kVA"
    if any(d["generator_id"] == gen_id and d["status"] in ("reserved", "deployed") and k != own
           for k, d in deployments.items()):
        return f"generator {gen_id} is already committed"
    arr = generator_arrival(generators, jobs, travel, gen_id, job_id)
    if arr > iso_min(j["backup_until"]):
        return (f"generator {gen_id} arrives {_hhmm(arr)} from {g['location']}, after the on-site backup at job "
                f"{job_id} runs out at {j['backup_until'][11:16]}")
    return None


def write_problem(state, kind, target, resource, own=None):
    """The one validation rule every write calls: ``kind`` is isolation (job, switch), crew (job, crew),
    transfer (feeder, tie), generator (job, generator) or log (job)."""
    if kind == "isolation":
        return isolation_problem(state["switches"], state["sections"], state["jobs"], state["isolations"],
                                 target, resource, own)
    if kind == "crew":
        return crew_problem(state["crews"], state["jobs"], state["travel"], state["isolations"],
                            state["assignments"], target, resource, own)
    if kind == "transfer":
        return transfer_problem(state["substations"], state["feeders"], state["switches"], state["transfers"],
                                target, resource, own)
    if kind == "generator":
        return generator_problem(state["generators"], state["jobs"], state["travel"], state["deployments"],
                                 target, resource, own)
    if kind == "log":
        return None if target in state["jobs"] else f"job {target} not found"
    return f"unknown operation {kind}"


class GridRestorationEnv:
    """Distribution-grid outage restoration: substations, feeders and sections with customers and critical
    loads, switches (isolation and tie), repair jobs, restoration crews with shifts and travel times."""

    MUTATING_TOOLS = ["isolate_and_permit", "plan_isolation", "issue_permit", "change_isolation",
                      "cancel_isolation", "dispatch_crew", "schedule_crew", "confirm_crew", "reassign_crew",
                      "cancel_assignment", "transfer_load", "stage_transfer", "execute_transfer",
                      "change_transfer", "cancel_transfer", "deploy_generator", "reserve_generator",
                      "confirm_generator", "swap_generator", "release_generator", "add_log_entry"]

    def __init__(self, init_config: dict):
        self.sites = init_config["sites"]
        self.travel = init_config["travel"]
        self.substations = init_config["substations"]
        self.feeders = init_config["feeders"]
        self.sections = init_config["sections"]
        self.switches = init_config["switches"]
        self.jobs = init_config["jobs"]
        self.crews = init_config["crews"]
        self.generators = init_config.get("generators", {})
        self.isolations = init_config.get("isolations", {})
        self.assignments = {}
        self.transfers = {}
        self.deployments = {}
        self.log_entries = []
        self.seq = init_config.get("seq", 100)

    # -- helpers (private) ---------------------------------------------------------------------------
    def _state(self):
        return {"switches": self.switches, "sections": self.sections, "jobs": self.jobs,
                "isolations": self.isolations, "crews": self.crews, "travel": self.travel,
                "assignments": self.assignments, "substations": self.substations, "feeders": self.feeders,
                "transfers": self.transfers, "generators": self.generators, "deployments": self.deployments}

    def _problem(self, kind, target, resource, own=None):
        return write_problem(self._state(), kind, target, resource, own)

    def _next(self, prefix):
        self.seq += 1
        return f"{prefix}-{self.seq}"

    def _day(self, job_or_iso):
        return datetime.fromisoformat(job_or_iso).replace(hour=0, minute=0, second=0)

    def _iview(self, iid):
        v = self.isolations[iid]
        prob = self._problem("isolation", v["job_id"], v["switch_id"], iid) \
            if v["status"] in ("planned", "permit_issued") else None
        return {"isolation_id": iid, **v, "still_valid": prob is None, "issue": prob}

    def _aview(self, aid):
        a = self.assignments[aid]
        prob = self._problem("crew", a["job_id"], a["crew_id"], aid) if a["status"] in ("scheduled", "confirmed") \
            else None
        return {"assignment_id": aid, **a, "still_feasible": prob is None, "issue": prob}

    def _tview(self, tid):
        t = self.transfers[tid]
        prob = self._problem("transfer", t["feeder_id"], t["tie_id"], tid) if t["status"] in ("staged", "closed") \
            else None
        return {"transfer_id": tid, **t, "still_valid": prob is None, "issue": prob}

    def _dview(self, did):
        d = self.deployments[did]
        prob = self._problem("generator", d["job_id"], d["generator_id"], did) \
            if d["status"] in ("reserved", "deployed") else None
        return {"deployment_id": did, **d, "still_feasible": prob is None, "issue": prob}

    def _gen_record(self, job_id, gen_id):
        arr = generator_arrival(self.generators, self.jobs, self.travel, gen_id, job_id)
        day = self._day(self.jobs[job_id]["due"])
        return {"generator_id": gen_id, "eta": (day + timedelta(minutes=arr)).isoformat(),
                "rating_kva": self.generators[gen_id]["rating_kva"]}

    def _iso_record(self, job_id, switch_id):
        cust, crit = isolation_customers(self.sections, self.switches[switch_id])
        return {"switch_id": switch_id, "customers_off": cust, "critical_off": crit}

    def _crew_record(self, job_id, crew_id):
        arr, fin = crew_finish(self.crews, self.jobs, self.travel, crew_id, job_id)
        day = self._day(self.jobs[job_id]["due"])
        return {"crew_id": crew_id, "eta": (day + timedelta(minutes=arr)).isoformat(),
                "finish": (day + timedelta(minutes=fin)).isoformat()}

    def _tie_record(self, feeder_id, tie_id):
        return {"tie_id": tie_id, "restoration_min": self.switches[tie_id]["operate_min"]}

    # -- queries ---------------------------------------------------------------------------------------
    def list_substations(self) -> dict:
        """List substations with their status, site and transformer capacity."""
        return {"success": True, "data": [{"substation_id": k, **v} for k, v in sorted(self.substations.items())]}

    def get_substation(self, substation_id: str) -> dict:
        """Get one substation and the feeders it supplies.

        Args:
            substation_id: Substation ID, e.g. "SS-41".
        """
        s = self.substations.get(substation_id)
        if s is None:
            return {"success": False, "error": f"substation {substation_id} not found"}
        fds = sorted(k for k, f in self.feeders.items() if f["substation_id"] == substation_id)
        return {"success": True, "data": {"substation_id": substation_id, **s, "feeders": fds}}

    def list_feeders(self, substation_id: str = "") -> dict:
        """List feeders (optionally of one substation) with status, load, capacity and customers.

        Args:
            substation_id: Substation ID; empty for every feeder.
        """
        if substation_id and substation_id not in self.substations:
            return {"success": False, "error": f"substation {substation_id} not found"}
        return {"success": True, "data": [{"feeder_id": k, **f} for k, f in sorted(self.feeders.items())
                                          if not substation_id or f["substation_id"] == substation_id]}

    def get_feeder(self, feeder_id: str) -> dict:
        """Get one feeder: status, load, capacity, sections and tie switches.

        Args:
            feeder_id: Feeder ID, e.g. "FD-207".
        """
        f = self.feeders.get(feeder_id)
        if f is None:
            return {"success": False, "error": f"feeder {feeder_id} not found"}
        secs = sorted(k for k, s in self.sections.items() if s["feeder_id"] == feeder_id)
        ties = sorted(k for k, s in self.switches.items()
                      if s.get("kind") == "tie" and feeder_id in (s["feeder_id"], s.get("tie_feeder")))
        via = [k for k, t in sorted(self.transfers.items()) if t["feeder_id"] == feeder_id and t["status"] == "closed"
               and self._problem("transfer", feeder_id, t["tie_id"], k) is None]
        return {"success": True, "data": {"feeder_id": feeder_id, **f, "sections": secs, "tie_switches": ties,
                                          "back_fed_by": via}}

    def list_switches(self, feeder_id: str) -> dict:
        """List the switches on or tied to a feeder, with status, the sections they isolate and
        customers left off when opened.

        Args:
            feeder_id: Feeder ID.
        """
        if feeder_id not in self.feeders:
            return {"success": False, "error": f"feeder {feeder_id} not found"}
        out = []
        for k, s in sorted(self.switches.items()):
            if feeder_id in (s["feeder_id"], s.get("tie_feeder")):
                cust, crit = isolation_customers(self.sections, s)
                out.append({"switch_id": k, **s, "customers_off_if_open": cust, "critical_off_if_open": crit})
        return {"success": True, "data": out}

    def get_switch(self, switch_id: str) -> dict:
        """Get one switch: kind, status, site, operating time and what opening it de-energises.

        Args:
            switch_id: Switch ID, e.g. "SW-318".
        """
        s = self.switches.get(switch_id)
        if s is None:
            return {"success": False, "error": f"switch {switch_id} not found"}
        cust, crit = isolation_customers(self.sections, s)
        return {"success": True, "data": {"switch_id": switch_id, **s, "customers_off_if_open": cust,
                                          "critical_off_if_open": crit}}

    def get_section(self, section_id: str) -> dict:
        """Get a feeder section's customers and critical loads (hospitals, water pumps).

        Args:
            section_id: Section ID, e.g. "SC-12".
        """
        s = self.sections.get(section_id)
        if s is None:
            return {"success": False, "error": f"section {section_id} not found"}
        return {"success": True, "data": {"section_id": section_id, **s}}

    def list_jobs(self) -> dict:
        """List repair jobs with their feeder, section, site, required skill, duration and status."""
        return {"success": True, "data": [{"job_id": k, **j} for k, j in sorted(self.jobs.items())]}

    def get_job(self, job_id: str) -> dict:
        """Get one repair job, with its isolations and crew assignments.

        Args:
            job_id: Job ID, e.g. "JB-5120".
        """
        j = self.jobs.get(job_id)
        if j is None:
            return {"success": False, "error": f"job {job_id} not found"}
        iso = [self._iview(k) for k, v in self.isolations.items() if v["job_id"] == job_id]
        asg = [self._aview(k) for k, v in self.assignments.items() if v["job_id"] == job_id]
        gen = [self._dview(k) for k, v in self.deployments.items() if v["job_id"] == job_id]
        return {"success": True, "data": {"job_id": job_id, **j, "isolations": iso, "assignments": asg,
                                          "generators": gen}}

    def list_crews(self) -> dict:
        """List restoration crews with depot, location, skills, availability and shift end."""
        return {"success": True, "data": [{"crew_id": k, **c} for k, c in sorted(self.crews.items())]}

    def get_crew(self, crew_id: str) -> dict:
        """Get one crew.

        Args:
            crew_id: Crew ID, e.g. "CR-27".
        """
        c = self.crews.get(crew_id)
        if c is None:
            return {"success": False, "error": f"crew {crew_id} not found"}
        return {"success": True, "data": {"crew_id": crew_id, **c}}

    def get_site(self, site_id: str) -> dict:
        """Get a site (depot, substation yard, field location): name, kind and position.

        Args:
            site_id: Site ID, e.g. "SI-14".
        """
        s = self.sites.get(site_id)
        if s is None:
            return {"success": False, "error": f"site {site_id} not found"}
        return {"success": True, "data": {"site_id": site_id, **s}}

    def estimate_travel(self, from_site_id: str, to_site_id: str) -> dict:
        """Driving minutes between two sites.

        Args:
            from_site_id: Site ID of the start.
            to_site_id: Site ID of the destination.
        """
        if from_site_id not in self.travel or to_site_id not in self.travel:
            return {"success": False, "error": f"site {from_site_id} or {to_site_id} not found"}
        return {"success": True, "data": {"minutes": self.travel[from_site_id][to_site_id]}}

    def check_crew_eta(self, job_id: str, crew_id: str) -> dict:
        """A crew's arrival and finish time at a job, and whether it can do the job before its shift ends.

        Args:
            job_id: Job ID.
            crew_id: Crew ID.
        """
        if job_id not in self.jobs or crew_id not in self.crews:
            return {"success": False, "error": f"job {job_id} or crew {crew_id} not found"}
        prob = self._problem("crew", job_id, crew_id)
        return {"success": True, "data": {**self._crew_record(job_id, crew_id), "feasible": prob is None,
                                          "issue": prob}}

    def list_generators(self) -> dict:
        """List mobile generators with rating, location, availability and status."""
        return {"success": True, "data": [{"generator_id": k, **g} for k, g in sorted(self.generators.items())]}

    def get_generator(self, generator_id: str) -> dict:
        """Get one mobile generator.

        Args:
            generator_id: Generator ID, e.g. "MG-41".
        """
        g = self.generators.get(generator_id)
        if g is None:
            return {"success": False, "error": f"generator {generator_id} not found"}
        return {"success": True, "data": {"generator_id": generator_id, **g}}

    def check_generator_eta(self, job_id: str, generator_id: str) -> dict:
        """A mobile generator's arrival at a job's site and whether it can back up the load in time.

        Args:
            job_id: Job ID.
            generator_id: Generator ID.
        """
        if job_id not in self.jobs or generator_id not in self.generators:
            return {"success": False, "error": f"job {job_id} or generator {generator_id} not found"}
        prob = self._problem("generator", job_id, generator_id)
        return {"success": True, "data": {**self._gen_record(job_id, generator_id), "feasible": prob is None,
                                          "issue": prob}}

    def get_deployment(self, deployment_id: str) -> dict:
        """Get a generator deployment: generator, arrival, status and whether it still works.

        Args:
            deployment_id: Deployment ID, e.g. "DG-131".
        """
        if deployment_id not in self.deployments:
            return {"success": False, "error": f"deployment {deployment_id} not found"}
        return {"success": True, "data": self._dview(deployment_id)}

    def list_isolations(self, job_id: str) -> dict:
        """List the isolations (switching orders with work permits) of a job and whether each is still valid.

        Args:
            job_id: Job ID.
        """
        if job_id not in self.jobs:
            return {"success": False, "error": f"job {job_id} not found"}
        return {"success": True, "data": [self._iview(k) for k, v in self.isolations.items() if v["job_id"] == job_id]}

    def get_isolation(self, isolation_id: str) -> dict:
        """Get an isolation: switch, status, permit and customers off.

        Args:
            isolation_id: Isolation ID, e.g. "IS-131".
        """
        if isolation_id not in self.isolations:
            return {"success": False, "error": f"isolation {isolation_id} not found"}
        return {"success": True, "data": self._iview(isolation_id)}

    def get_assignment(self, assignment_id: str) -> dict:
        """Get a crew assignment: crew, arrival, finish, status and whether it still works.

        Args:
            assignment_id: Assignment ID, e.g. "AS-131".
        """
        if assignment_id not in self.assignments:
            return {"success": False, "error": f"assignment {assignment_id} not found"}
        return {"success": True, "data": self._aview(assignment_id)}

    def list_transfers(self, feeder_id: str) -> dict:
        """List the load transfers (back-feeds through tie switches) of a feeder and whether each holds.

        Args:
            feeder_id: Feeder ID.
        """
        if feeder_id not in self.feeders:
            return {"success": False, "error": f"feeder {feeder_id} not found"}
        return {"success": True, "data": [self._tview(k) for k, t in self.transfers.items()
                                          if t["feeder_id"] == feeder_id]}

    def get_transfer(self, transfer_id: str) -> dict:
        """Get a load transfer: tie switch, status, restoration time and whether it still holds.

        Args:
            transfer_id: Transfer ID, e.g. "TR-131".
        """
        if transfer_id not in self.transfers:
            return {"success": False, "error": f"transfer {transfer_id} not found"}
        return {"success": True, "data": self._tview(transfer_id)}

    # -- state changes: isolation and permits ----------------------------------------------------------
    def _new_isolation(self, job_id, switch_id, status):
        iid = self._next("IS")
        self.isolations[iid] = {"job_id": job_id, **self._iso_record(job_id, switch_id), "status": status,
                                "permit_id": f"PT-{self.seq}" if status == "permit_issued" else None,
                                "created_at": now().isoformat()}
        return iid

    def isolate_and_permit(self, job_id: str, switch_id: str) -> dict:
        """Open a switch to isolate a job's faulted section and issue the work permit at once.

        Args:
            job_id: Job ID.
            switch_id: The switch to open.
        """
        prob = self._problem("isolation", job_id, switch_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._iview(self._new_isolation(job_id, switch_id, "permit_issued"))}

    def plan_isolation(self, job_id: str, switch_id: str) -> dict:
        """Draft a switching order isolating a job's section (no switching yet, no permit).

        Args:
            job_id: Job ID.
            switch_id: The switch to open.
        """
        prob = self._problem("isolation", job_id, switch_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._iview(self._new_isolation(job_id, switch_id, "planned"))}

    def issue_permit(self, isolation_id: str) -> dict:
        """Carry out a planned isolation (re-checked on the current network) and issue its work permit.

        Args:
            isolation_id: Isolation ID.
        """
        v = self.isolations.get(isolation_id)
        if v is None:
            return {"success": False, "error": f"isolation {isolation_id} not found"}
        if v["status"] != "planned":
            return {"success": False, "error": f"isolation {isolation_id} is {v['status']}"}
        prob = self._problem("isolation", v["job_id"], v["switch_id"], isolation_id)
        if prob:
            return {"success": False, "error": prob}
        v["status"], v["permit_id"] = "permit_issued", f"PT-{isolation_id[3:]}"
        return {"success": True, "data": self._iview(isolation_id)}

    def change_isolation(self, isolation_id: str, switch_id: str) -> dict:
        """Isolate through another switch (a planned order is redrafted; an issued permit is re-issued).

        Args:
            isolation_id: Isolation ID.
            switch_id: The new switch to open.
        """
        v = self.isolations.get(isolation_id)
        if v is None:
            return {"success": False, "error": f"isolation {isolation_id} not found"}
        if v["status"] not in ("planned", "permit_issued"):
            return {"success": False, "error": f"isolation {isolation_id} is {v['status']}"}
        prob = self._problem("isolation", v["job_id"], switch_id, isolation_id)
        if prob:
            return {"success": False, "error": prob}
        v.update(self._iso_record(v["job_id"], switch_id))
        v["updated_at"] = now().isoformat()
        return {"success": True, "data": self._iview(isolation_id)}

    def cancel_isolation(self, isolation_id: str) -> dict:
        """Cancel an isolation and withdraw its permit.

        Args:
            isolation_id: Isolation ID.
        """
        v = self.isolations.get(isolation_id)
        if v is None:
            return {"success": False, "error": f"isolation {isolation_id} not found"}
        if v["status"] == "cancelled":
            return {"success": False, "error": f"isolation {isolation_id} is already cancelled"}
        v["status"] = "cancelled"
        return {"success": True, "message": f"isolation {isolation_id} cancelled"}

    # -- state changes: crews --------------------------------------------------------------------------
    def _new_assignment(self, job_id, crew_id, status):
        aid = self._next("AS")
        self.assignments[aid] = {"job_id": job_id, **self._crew_record(job_id, crew_id), "status": status,
                                 "created_at": now().isoformat()}
        return aid

    def dispatch_crew(self, job_id: str, crew_id: str) -> dict:
        """Send a crew to a repair job now (a confirmed assignment).

        Args:
            job_id: Job ID.
            crew_id: Crew ID.
        """
        prob = self._problem("crew", job_id, crew_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._aview(self._new_assignment(job_id, crew_id, "confirmed"))}

    def schedule_crew(self, job_id: str, crew_id: str) -> dict:
        """Pencil a crew in for a repair job (tentative until confirmed).

        Args:
            job_id: Job ID.
            crew_id: Crew ID.
        """
        prob = self._problem("crew", job_id, crew_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._aview(self._new_assignment(job_id, crew_id, "scheduled"))}

    def confirm_crew(self, assignment_id: str) -> dict:
        """Confirm a scheduled crew assignment (re-checked on current data).

        Args:
            assignment_id: Assignment ID.
        """
        a = self.assignments.get(assignment_id)
        if a is None:
            return {"success": False, "error": f"assignment {assignment_id} not found"}
        if a["status"] != "scheduled":
            return {"success": False, "error": f"assignment {assignment_id} is {a['status']}"}
        prob = self._problem("crew", a["job_id"], a["crew_id"], assignment_id)
        if prob:
            return {"success": False, "error": prob}
        a["status"] = "confirmed"
        return {"success": True, "data": self._aview(assignment_id)}

    def reassign_crew(self, assignment_id: str, crew_id: str) -> dict:
        """Give a scheduled or confirmed assignment to another crew (status kept).

        Args:
            assignment_id: Assignment ID.
            crew_id: The new crew.
        """
        a = self.assignments.get(assignment_id)
        if a is None:
            return {"success": False, "error": f"assignment {assignment_id} not found"}
        if a["status"] not in ("scheduled", "confirmed"):
            return {"success": False, "error": f"assignment {assignment_id} is {a['status']}"}
        prob = self._problem("crew", a["job_id"], crew_id, assignment_id)
        if prob:
            return {"success": False, "error": prob}
        a.update(self._crew_record(a["job_id"], crew_id))
        a["updated_at"] = now().isoformat()
        return {"success": True, "data": self._aview(assignment_id)}

    def cancel_assignment(self, assignment_id: str) -> dict:
        """Cancel a crew assignment.

        Args:
            assignment_id: Assignment ID.
        """
        a = self.assignments.get(assignment_id)
        if a is None:
            return {"success": False, "error": f"assignment {assignment_id} not found"}
        if a["status"] == "cancelled":
            return {"success": False, "error": f"assignment {assignment_id} is already cancelled"}
        a["status"] = "cancelled"
        return {"success": True, "message": f"assignment {assignment_id} cancelled"}

    # -- state changes: load transfers -----------------------------------------------------------------
    def _new_transfer(self, feeder_id, tie_id, status):
        tid = self._next("TR")
        self.transfers[tid] = {"feeder_id": feeder_id, **self._tie_record(feeder_id, tie_id), "status": status,
                               "created_at": now().isoformat()}
        return tid

    def transfer_load(self, feeder_id: str, tie_id: str) -> dict:
        """Restore an outaged feeder now by closing a tie switch to a neighbouring feeder (back-feed).

        Args:
            feeder_id: The outaged feeder.
            tie_id: The tie switch to close.
        """
        prob = self._problem("transfer", feeder_id, tie_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._tview(self._new_transfer(feeder_id, tie_id, "closed"))}

    def stage_transfer(self, feeder_id: str, tie_id: str) -> dict:
        """Stage a load transfer through a tie switch (switching sheet prepared, tie still open).

        Args:
            feeder_id: The outaged feeder.
            tie_id: The tie switch to close later.
        """
        prob = self._problem("transfer", feeder_id, tie_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._tview(self._new_transfer(feeder_id, tie_id, "staged"))}

    def execute_transfer(self, transfer_id: str) -> dict:
        """Close the tie of a staged transfer (re-checked on the current network).

        Args:
            transfer_id: Transfer ID.
        """
        t = self.transfers.get(transfer_id)
        if t is None:
            return {"success": False, "error": f"transfer {transfer_id} not found"}
        if t["status"] != "staged":
            return {"success": False, "error": f"transfer {transfer_id} is {t['status']}"}
        prob = self._problem("transfer", t["feeder_id"], t["tie_id"], transfer_id)
        if prob:
            return {"success": False, "error": prob}
        t["status"] = "closed"
        return {"success": True, "data": self._tview(transfer_id)}

    def change_transfer(self, transfer_id: str, tie_id: str) -> dict:
        """Move a staged or closed transfer to another tie switch (status kept).

        Args:
            transfer_id: Transfer ID.
            tie_id: The new tie switch.
        """
        t = self.transfers.get(transfer_id)
        if t is None:
            return {"success": False, "error": f"transfer {transfer_id} not found"}
        if t["status"] not in ("staged", "closed"):
            return {"success": False, "error": f"transfer {transfer_id} is {t['status']}"}
        prob = self._problem("transfer", t["feeder_id"], tie_id, transfer_id)
        if prob:
            return {"success": False, "error": prob}
        t.update(self._tie_record(t["feeder_id"], tie_id))
        t["updated_at"] = now().isoformat()
        return {"success": True, "data": self._tview(transfer_id)}

    def cancel_transfer(self, transfer_id: str) -> dict:
        """Cancel a load transfer (the tie is opened again).

        Args:
            transfer_id: Transfer ID.
        """
        t = self.transfers.get(transfer_id)
        if t is None:
            return {"success": False, "error": f"transfer {transfer_id} not found"}
        if t["status"] == "cancelled":
            return {"success": False, "error": f"transfer {transfer_id} is already cancelled"}
        t["status"] = "cancelled"
        return {"success": True, "message": f"transfer {transfer_id} cancelled"}

    # -- state changes: mobile generators --------------------------------------------------------------
    def _new_deployment(self, job_id, gen_id, status):
        did = self._next("DG")
        self.deployments[did] = {"job_id": job_id, **self._gen_record(job_id, gen_id), "status": status,
                                 "created_at": now().isoformat()}
        return did

    def deploy_generator(self, job_id: str, generator_id: str) -> dict:
        """Send a mobile generator to back up a job's critical load now (a confirmed deployment).

        Args:
            job_id: Job ID.
            generator_id: Generator ID.
        """
        prob = self._problem("generator", job_id, generator_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._dview(self._new_deployment(job_id, generator_id, "deployed"))}

    def reserve_generator(self, job_id: str, generator_id: str) -> dict:
        """Reserve a mobile generator for a job (tentative until confirmed).

        Args:
            job_id: Job ID.
            generator_id: Generator ID.
        """
        prob = self._problem("generator", job_id, generator_id)
        if prob:
            return {"success": False, "error": prob}
        return {"success": True, "data": self._dview(self._new_deployment(job_id, generator_id, "reserved"))}

    def confirm_generator(self, deployment_id: str) -> dict:
        """Confirm a reserved generator and send it (re-checked on current data).

        Args:
            deployment_id: Deployment ID.
        """
        d = self.deployments.get(deployment_id)
        if d is None:
            return {"success": False, "error": f"deployment {deployment_id} not found"}
        if d["status"] != "reserved":
            return {"success": False, "error": f"deployment {deployment_id} is {d['status']}"}
        prob = self._problem("generator", d["job_id"], d["generator_id"], deployment_id)
        if prob:
            return {"success": False, "error": prob}
        d["status"] = "deployed"
        return {"success": True, "data": self._dview(deployment_id)}

    def swap_generator(self, deployment_id: str, generator_id: str) -> dict:
        """Put another generator on a reserved or deployed deployment (status kept).

        Args:
            deployment_id: Deployment ID.
            generator_id: The new generator.
        """
        d = self.deployments.get(deployment_id)
        if d is None:
            return {"success": False, "error": f"deployment {deployment_id} not found"}
        if d["status"] not in ("reserved", "deployed"):
            return {"success": False, "error": f"deployment {deployment_id} is {d['status']}"}
        prob = self._problem("generator", d["job_id"], generator_id, deployment_id)
        if prob:
            return {"success": False, "error": prob}
        d.update(self._gen_record(d["job_id"], generator_id))
        d["updated_at"] = now().isoformat()
        return {"success": True, "data": self._dview(deployment_id)}

    def release_generator(self, deployment_id: str) -> dict:
        """Release a generator deployment.

        Args:
            deployment_id: Deployment ID.
        """
        d = self.deployments.get(deployment_id)
        if d is None:
            return {"success": False, "error": f"deployment {deployment_id} not found"}
        if d["status"] == "released":
            return {"success": False, "error": f"deployment {deployment_id} is already released"}
        d["status"] = "released"
        return {"success": True, "message": f"deployment {deployment_id} released"}

    def add_log_entry(self, job_id: str, note: str) -> dict:
        """Write an entry in the control-room log for a job.

        Args:
            job_id: Job ID.
            note: Free text, at most 300 characters.
        """
        prob = self._problem("log", job_id, None)
        if prob:
            return {"success": False, "error": prob}
        if not note or len(note) > 300:
            return {"success": False, "error": "note must have 1 to 300 characters"}
        self.log_entries.append({"job_id": job_id, "note": note, "time": now().isoformat()})
        return {"success": True, "message": "log entry added"}
