"""Issue 17: the paper's blueprint schema, repair turns with precise errors, read-only seeds made stateful,
`synth report`, file modes. Driven through the real openai client against the local scripted server."""
from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from stt_arena.cli import app
from stt_arena.task.paper_schema import normalize_blueprint_answer, parse_change, state_path, to_paper_blueprint
from stt_arena.synth.schemas import BlueprintOut, QueryOut, TriggerOut
from stt_arena.synth.stage2 import _trigger_validator
from stt_arena.task.io import load_tasks
from stt_arena.testing.fake_openai import FakeOpenAIServer

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)

HERE = Path(__file__).resolve().parent
FIX = HERE / "fixtures" / "synth"
_spec = importlib.util.spec_from_file_location("synth_fake_llm_r", FIX / "fake_llm.py")
fake_llm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake_llm)
FakeSynthLLM = fake_llm.FakeSynthLLM
runner = CliRunner()
ROOMS_SEED = FIX / "seeds" / "dolci_synth.jsonl"
SMALL_SEARCH = ["--gate-budget", "40", "--gate-depth", "1"]  # stage 3's gate searches, as validate --budget/--depth


def synth(*args: str):
    r = runner.invoke(app, ["synth", *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def llm_args(srv: FakeOpenAIServer, cache: Path, *extra: str) -> list[str]:
    return ["--model", "fake-synth", "--base-url", srv.base_url, "--cache-dir", str(cache), "--no-progress",
            "--max-retries", "0", *extra]


def attempts(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def reasons(path: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for d in attempts(path):
        out.setdefault(d["reason"], []).append(d)
    return out


# -- item 1: the paper's schema ------------------------------------------------------------------------------
def test_paper_appendix_blueprint_round_trip():
    paper = json.loads((FIX / "paper" / "blueprint_appendix.json").read_text())  # exactly as in appendix D.1
    out = BlueprintOut.model_validate(paper)
    assert (out.scenario_id, out.env_id, out.conflict_type, out.level) == (
        "ColdChainLogisticsEnv__T2__medium", "ColdChainLogisticsEnv", "T2", "medium")
    assert out.scenario.startswith("Ship a batch of insulin")
    cd = out.blueprint.conflict_design
    assert cd.mode == "conditional_guarded" and cd.activation_operation == "list_operational_hours"
    assert cd.recovery_guard.startswith("The agent successfully cancels") and "emergency closure" in cd.trigger_condition
    assert [(m.state_path, m.old, m.new) for m in cd.mutations] == [
        ("clinics.CLINIC-DOWNTOWN.operational_hours", {"Monday-Friday": "08:00-17:00"}, {"Monday-Friday": "08:00-12:00"}),
        ("shipments.SHIP-INS-001.delivery_window.end", "2024-08-15T17:00:00", "2024-08-15T10:00:00")]
    assert cd.observable_via == ["list_operational_hours"]
    assert out.blueprint.normal_flow[0] == "create_new_shipment: Create a new shipment record for the insulin batch."
    assert len(out.blueprint.recovery_path) == 8 and out.blueprint.recovery_path[0].startswith("`update_vehicle_status`")
    # ours -> the paper's names -> ours: nothing lost
    back = to_paper_blueprint(out.scenario, out.blueprint.model_dump(), scenario_id=out.scenario_id, env_id=out.env_id,
                              conflict_type=out.conflict_type, level=out.level)
    assert set(back) >= {"scenario_id", "user_goal", "normal_flow", "conflict_design", "recovery_path", "difficulty"}
    assert {"trigger_mechanism", "recovery_guard_condition"} <= set(back["conflict_design"])
    assert all("change_description" in m for m in back["conflict_design"]["mutations"])
    assert BlueprintOut.model_validate([back]) == out
    # our own names still pass, and both can be mixed
    ours = {"scenario": out.scenario, "blueprint": out.blueprint.model_dump()}
    assert BlueprintOut.model_validate(ours).blueprint == out.blueprint
    mixed = {"scenario": "s", "blueprint": {**out.blueprint.model_dump(), "conflict_design": paper[0]["conflict_design"]}}
    assert BlueprintOut.model_validate(mixed).blueprint.conflict_design == cd


def test_paper_appendix_user_profile():
    item = json.loads((FIX / "paper" / "user_profile_appendix.json").read_text())[0]
    q = QueryOut.model_validate({"query": "Please get the insulin to the clinic.", **item})
    p = q.user_profile
    assert p.goal.startswith("Ensure the insulin batch") and "pediatric" in p.persona and "Tone:" in p.persona
    assert list(p.known_facts.values())[0] == "The shipment ID is SHIP-INS-001." and len(p.withheld_facts) == 2
    assert p.clarifications["What is the deadline?"].startswith("The insulin must arrive")
    assert p.refusals == ["We cannot cancel this shipment without a formal override. Please find a way."]
    assert p.fallback_reply.startswith("I’m not sure")
    assert set(q.profile_extra) == {"fidelity_rules", "helpfulness_rules", "frustration_threshold", "flexibility"}


def test_paper_field_parsers_and_their_errors():
    assert state_path("a['x.y'][2].b") == "a.x.y.2.b" and state_path("vehicles.V1.depot") == "vehicles.V1.depot"
    assert parse_change("original: 3 → new: 5") == (3, 5)
    assert parse_change("old: 'open' -> new: 'closed' (storm)") == ("open", "closed")
    assert parse_change("original: true → new: null") == (True, None)
    try:
        parse_change("it closes earlier now")
    except ValueError as e:
        assert "original: <old> → new: <new>" in str(e)
    else:
        raise AssertionError("an unparsable change_description must be an error")
    # a wrong level in the paper's `difficulty` is a validation error the model is told about
    d = normalize_blueprint_answer({"difficulty": "Hard", "conflict_design": {}, "user_goal": "g"})
    assert d["level"] == "hard" and d["scenario"] == "g"


# -- items 1, 2, 5, 6 end to end ---------------------------------------------------------------------------
def test_paper_schema_model_with_every_repairable_error_yields_valid_tasks(tmp_path):
    """The acceptance test: all three stages through the CLI, a model answering in the paper's schema with one
    error of each repairable kind; stage 3 runs every gate (its default `--gates all`) with a small search
    (40 sequences, depth 1: each searched sequence is a sandboxed replay), then `stt-arena validate --gates all`
    at its defaults for such files (600 sequences, depth 3) passes every task on every gate."""
    fake = FakeSynthLLM(paper=True, faults=True)
    os.umask(0o022)
    with FakeOpenAIServer(fake) as srv:
        common = llm_args(srv, tmp_path / "cache")
        synth("stage1", "--seeds", str(ROOMS_SEED), "--out", str(tmp_path / "envs.jsonl"), "--explore-budget", "6", *common)
        synth("stage2", "--envs", str(tmp_path / "envs.jsonl"), "--out", str(tmp_path / "drafts.jsonl"),
              "--levels", "easy", *common)
        synth("stage3", "--drafts", str(tmp_path / "drafts.jsonl"), "--out", str(tmp_path / "tasks.jsonl"),
              *SMALL_SEARCH, *common)
    # every repairable error was made once, sent back with its precise error, and fixed
    a1 = reasons(tmp_path / "envs.attempts.jsonl")
    assert "import of 'os' is not allowed" in a1["unsafe_code"][0]["error"]
    assert "--- offending code ---" in a1["unsafe_code"][0]["error"]
    assert "does not parse" in a1["syntax_error"][0]["error"]
    fm = [a for a in attempts(tmp_path / "envs.attempts.jsonl") if a["answers_repair"] == "failing_methods"]
    rooms = [a for a in fm if a["item"] == "dolci:dolci_synth:0"]  # the lockers env's method is never fixed
    assert [a["ok"] for a in rooms if a["prompt"] == "functional_tests"] == [True]
    assert [a["ok"] for a in fm if a["prompt"] == "functional_tests" and a not in rooms] == [False, False]
    assert fake.seen["env_method:repair"] >= 3
    a2 = reasons(tmp_path / "drafts.attempts.jsonl")
    assert "is 'open' in the init config, mutation expects old='available'" in a2["mutation_mismatch"][0]["error"]
    a3 = reasons(tmp_path / "tasks.attempts.jsonl")
    assert "I1" in a3["trigger_not_fired"][0]["error"] and "book_room" in a3["trigger_not_fired"][0]["error"]
    assert "I4" in a3["oracle_fails"][0]["error"] and "--- check goal" in a3["oracle_fails"][0]["error"]
    assert "I5" in a3["shortcut"][0]["error"]
    for f in ("envs", "drafts", "tasks"):  # every repair turn was answered with a valid answer
        rows = attempts(tmp_path / f"{f}.attempts.jsonl")
        assert all(a["ok"] for a in rows if a["answers_repair"] and a["answers_repair"] != "invalid_llm_output"
                   and a["item"] != "dolci:dolci_synth:1")
    # the explorer called tools and reported
    env = json.loads((tmp_path / "envs.jsonl").read_text().splitlines()[0])
    assert any("calls: 4 of 6" in f.get("detail", "") for r in env["test_report"] if "explore" in r for f in r["explore"])
    tasks = load_tasks(tmp_path / "tasks.jsonl")
    assert sorted(t.conflict_type for t in tasks) == ["S1", "ST1", "T1", "T2"]
    every = ["I6", "I7", "I8", "I9", "BIND", "LEVEL", "ASK", "JUDGE", "I10"]
    for t in tasks:  # stage 3 ran every gate of `validate`; the level is the measured one
        assert t.provenance.extra["invariants"] == {f"I{i}": True for i in range(1, 6)}
        assert t.provenance.extra["gates"] == dict.fromkeys(every, True), t.provenance.extra["gates"]
        assert t.level == "easy" and t.provenance.extra["level_features"]["observability"] == "explicit"
        assert [tr.activation.tool for tr in t.triggers] == ["*"] and "args" not in t.triggers[0].condition
    drafts = [json.loads(x) for x in (tmp_path / "drafts.jsonl").read_text().splitlines()]
    assert all(d["provenance"]["scenario_id"].startswith("RoomBookingEnv__") for d in drafts)
    assert all(d["provenance"]["profile_extra"]["fidelity_rules"] for d in drafts)
    r = subprocess.run([sys.executable, "-m", "stt_arena", "validate", "--gates", "all", str(tmp_path / "tasks.jsonl"),
                        "--json", str(tmp_path / "gates.jsonl")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "4/4 tasks valid on I1, I2, I3, I4, I5, I6, I7, I8, I9, BIND, LEVEL, ASK, JUDGE, " \
        "I10" in r.stdout, r.stdout + r.stderr
    rows = [json.loads(x) for x in (tmp_path / "gates.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(r["valid"] and all(r["invariants"].values()) for r in rows), rows
    assert all(set(r["gates"]) == set(every) and all(g["ok"] for g in r["gates"].values()) for r in rows), rows
    # normal file modes, no temporary file left behind
    for p in tmp_path.glob("*.json*"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p
    assert not [p for p in tmp_path.rglob("*.tmp")] and not list((tmp_path / "cache").rglob(".tmp-*"))
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in (tmp_path / "cache").rglob("*.json"))
    # the report: kept / rejected by reason, calls and tokens per kept task, repair success rate
    rep = synth("report", str(tmp_path), "--json", str(tmp_path / "report.json"))
    assert "calls per kept task" in rep.output and "repair success rate:" in rep.output
    figures = json.loads((tmp_path / "report.json").read_text())
    assert figures["kept_tasks"] == 4 and figures["calls_per_kept_task"] > 0 and figures["tokens_per_kept_task"] > 0
    assert figures["by_source"]["dolci"] == {"seeds": 2, "envs": 1, "tasks": 4, "tasks_per_seed": 2.0}
    assert {s["stage"] for s in figures["stages"]} == {"stage1", "stage2", "stage3"}


def test_without_repair_turns_each_planted_error_is_rejected_with_its_reason(tmp_path):
    with FakeOpenAIServer(FakeSynthLLM(faults=True)) as srv:
        r = runner.invoke(app, ["synth", "stage1", "--seeds", str(ROOMS_SEED), "--out", str(tmp_path / "envs.jsonl"),
                                *llm_args(srv, tmp_path / "c", "--max-repairs", "0")], catch_exceptions=False)
        assert r.exit_code == 0, r.output
    rej = {d["reason"]: d for d in attempts(tmp_path / "envs.rejected.jsonl")}
    assert set(rej) >= {"unsafe_code", "failing_methods"} or set(rej) >= {"syntax_error", "failing_methods"}
    assert (tmp_path / "envs.jsonl").read_text() == ""
    att = attempts(tmp_path / "envs.attempts.jsonl")
    assert {a["reason"] for a in att if not a["ok"]} >= {"unsafe_code", "syntax_error"}


def test_read_only_seeds_become_stateful_environments(tmp_path):
    seeds = ["--seeds", str(FIX / "seeds" / "toolace_readonly.json")]
    with FakeOpenAIServer(FakeSynthLLM(readonly=True)) as srv:
        synth("stage1", *seeds, "--out", str(tmp_path / "plain.jsonl"), *llm_args(srv, tmp_path / "c"))
        assert (tmp_path / "plain.jsonl").read_text() == ""  # both look-up seeds fail the statefulness filter
        synth("stage1", *seeds, "--augment-readonly", "--out", str(tmp_path / "envs.jsonl"), "--explore-budget", "0",
              *llm_args(srv, tmp_path / "c"))
        synth("stage2", "--envs", str(tmp_path / "envs.jsonl"), "--out", str(tmp_path / "drafts.jsonl"),
              "--levels", "easy", *llm_args(srv, tmp_path / "c"))
        synth("stage3", "--gates", "I1-I5", "--drafts", str(tmp_path / "drafts.jsonl"), "--out", str(tmp_path / "tasks.jsonl"),
              *llm_args(srv, tmp_path / "c"))
    envs = [json.loads(x) for x in (tmp_path / "envs.jsonl").read_text().splitlines()]
    assert [e["seed_id"] for e in envs] == ["toolace:toolace_readonly:0"]
    aug = envs[0]["provenance"]["augmented"]
    assert aug["answer"] == "YES" and {o["name"] for o in aug["write_operations"]} >= {"book_room"}
    rej = {d["item_id"]: d for d in attempts(tmp_path / "envs.rejected.jsonl")}
    assert rej["toolace:toolace_readonly:1"]["reason"] == "not_stateful" and "augmentation" in rej["toolace:toolace_readonly:1"]["detail"]
    tasks = load_tasks(tmp_path / "tasks.jsonl")
    assert tasks and all(t.provenance.extra["seed_source"] == "toolace" for t in tasks)
    (tmp_path / "plain.stats.json").unlink()
    figures = json.loads(json.dumps(__import__("stt_arena.synth.report", fromlist=["x"]).build_report(tmp_path)))
    assert figures["by_source"]["toolace"]["seeds"] == 2 and figures["by_source"]["toolace"]["tasks"] == len(tasks)


def test_stage2_trigger_check_accepts_world_triggers_and_rejects_unknown_tools():
    """Activation '*' (a world event, AUTHORING.md) passes stage 2's trigger check; a tool the env lacks does
    not, and neither does an expression the sandbox guard refuses."""
    check = _trigger_validator(SimpleNamespace(tools=[{"name": "book_room"}, {"name": "get_room"}])).check
    world = fake_llm.TRIGGER_ANSWERS["T1"]
    check(TriggerOut.model_validate({"triggers": [world]}))
    bad_tool = json.loads(json.dumps(world))
    bad_tool["activation"]["tool"] = "teleport_room"
    with pytest.raises(ValueError, match=r"activation tool 'teleport_room' is not a tool"):
        check(TriggerOut.model_validate({"triggers": [bad_tool]}))
    bad_expr = dict(world, condition="state.__class__ is dict")
    with pytest.raises(ValueError, match="condition of t1_havel"):
        check(TriggerOut.model_validate({"triggers": [bad_expr]}))
