"""The exploratory tester (an LLM loop calling the synthesized env's tools in the sandbox) and the LLM cache's
leftover cleanup; scripted through the real openai client against the local server."""
from __future__ import annotations

import json
import os
import stat

from stt_arena.llm.client import ModelConfig
from stt_arena.sandbox.executor import Executor
from stt_arena.synth.explore import explore
from stt_arena.synth.llm import DiskCache, Synthesizer
from stt_arena.synth.stage1 import FunctionalFailure, Stage1Options, functional_validation
from stt_arena.synth.schemas import AttributeClass, MethodSource, Operation, OperationList
from stt_arena.testing.fake_openai import FakeOpenAIServer

HEADER = '''class Depot:
    MUTATING_TOOLS = ["move_truck"]

    def __init__(self, init_config: dict):
        self.trucks = init_config.get("trucks", {})
'''
GET = '''def get_truck(self, truck_id: str) -> dict:
    """Get a truck.

    Args:
        truck_id: Truck id.
    """
    t = self.trucks.get(truck_id)
    if t is None:
        return {"success": False, "error": f"truck {truck_id} not found"}
    return {"success": True, "data": t}
'''
MOVE_BROKEN = '''def move_truck(self, truck_id: str, depot: str) -> dict:
    """Move a truck to a depot.

    Args:
        truck_id: Truck id.
        depot: Target depot.
    """
    if depot == "":
        return {"success": True, "data": self.trucks[depot]}
    self.trucks[truck_id]["depot"] = depot.lower()
    return {"success": True, "message": "moved"}
'''
MOVE_FIXED = MOVE_BROKEN.replace('''    if depot == "":
        return {"success": True, "data": self.trucks[depot]}
    self.trucks[truck_id]["depot"] = depot.lower()''', '''    if truck_id not in self.trucks or not depot:
        return {"success": False, "error": "unknown truck or empty depot"}
    self.trucks[truck_id]["depot"] = depot''')
INIT = {"trucks": {"T1": {"depot": "North"}}}
TOOLS = [{"name": "get_truck", "description": "Get a truck.", "parameters": {"type": "object", "properties": {
    "truck_id": {"type": "string"}}}, "mutating": False},
         {"name": "move_truck", "description": "Move a truck.", "parameters": {"type": "object", "properties": {
             "truck_id": {"type": "string"}, "depot": {"type": "string"}}}, "mutating": True}]


def call(name, args, raw=None):
    return {"tool_calls": [{"name": name, "arguments": raw if raw is not None else args}]}


def report(findings):
    return call("report", {"findings": findings, "summary": "done"})


async def test_explorer_calls_tools_reads_results_and_reports(tmp_path):
    script = [
        "I will start by looking around.",                     # no tool call: nudged
        call("teleport", {}),                                    # unknown tool: told so
        call("move_truck", None, raw="{not json"),               # bad arguments: told so
        call("move_truck", {"truck_id": "T1", "depot": "South"}),
        call("get_truck", {"truck_id": "T1"}),                   # reads back: depot 'south', not 'South'
        call("move_truck", {"truck_id": "T1", "depot": ""}),     # crashes: KeyError
        report([{"tool": "move_truck", "severity": "inconsistent",
                 "detail": "moved T1 to 'South' but get_truck says depot 'south'"}]),
    ]
    code = HEADER + "\n" + "\n".join("    " + ln if ln else ln for ln in (GET + "\n" + MOVE_BROKEN).splitlines()) + "\n"
    with FakeOpenAIServer(script) as srv, Executor() as ex:
        syn = Synthesizer(ModelConfig(model="m", base_url=srv.base_url, max_retries=0), cache_dir=tmp_path / "c")
        found = await explore(syn, ex, "depot", "Depot", code, INIT, TOOLS, budget=3)
        await syn.aclose()
        reqs = srv.requests
    tool_names = [t["function"]["name"] for t in reqs[0]["tools"]]
    assert tool_names == ["get_truck", "move_truck", "report"]
    replies = [json.loads(m["content"]) for m in reqs[-1]["messages"] if m["role"] == "tool"]
    assert "unknown tool 'teleport'" in replies[0]["error"] and "invalid JSON" in replies[1]["error"]
    assert replies[3]["data"] == {"depot": "south"}  # the model saw the real result of its call
    assert replies[4]["success"] is False and "KeyError" in replies[4]["error"]
    by = {(f["by"], f["tool"], f["severity"]) for f in found}
    assert ("sandbox", "move_truck", "broken") in by and ("model", "move_truck", "inconsistent") in by
    assert any(f["by"] == "tester" and "calls: 3 of 3" in f["detail"] for f in found)
    assert len(reqs) == 7


async def test_budget_is_enforced_and_a_silent_model_ends_without_a_report(tmp_path):
    script = [call("get_truck", {"truck_id": "T1"})] * 10
    code = HEADER + "\n" + "\n".join("    " + ln if ln else ln for ln in GET.splitlines()) + "\n"
    with FakeOpenAIServer(script) as srv, Executor() as ex:
        syn = Synthesizer(ModelConfig(model="m", base_url=srv.base_url, max_retries=0), cache_dir=None)
        found = await explore(syn, ex, "d", "Depot", code, INIT, TOOLS[:1], budget=2)
        await syn.aclose()
        assert len(srv.requests) == 3  # two calls, then one last turn asked for the report
        assert "budget is spent" in srv.requests[-1]["messages"][-1]["content"]
    assert found[-1]["by"] == "tester" and "report: none" in found[-1]["detail"]


async def test_a_broken_method_found_by_the_explorer_goes_back_to_the_model(tmp_path):
    """Stage 1: the static plan passes, the explorer finds move_truck broken, the method is regenerated."""
    ops = OperationList(operations=[Operation(name="get_truck", kind="query"),
                                    Operation(name="move_truck", kind="state_change")])
    cls = AttributeClass(class_name="Depot", source=HEADER)
    methods = {"get_truck": MethodSource(name="get_truck", source=GET),
               "move_truck": MethodSource(name="move_truck", source=MOVE_BROKEN)}

    def script(body):
        first = body["messages"][1]["content"]
        if "synth-prompt: env_init_config" in first:
            return json.dumps({"init_config": INIT})
        if "synth-prompt: env_tests" in first:
            return json.dumps({"tests": [{"tool": "get_truck", "arguments": {"truck_id": "T1"}, "kind": "positive"},
                                         {"tool": "move_truck", "arguments": {"truck_id": "T1", "depot": "S"},
                                          "kind": "positive"}]})
        if "synth-prompt: env_method" in first:  # the repair turn: carries the explorer's finding
            assert "exploratory tester" in body["messages"][-1]["content"]
            return json.dumps({"name": "move_truck", "source": MOVE_FIXED})
        if "synth-prompt: explore" in first:
            n = sum(m["role"] == "tool" for m in body["messages"])
            fixed = "unknown truck or empty depot" in first
            if n == 0:
                return call("move_truck", {"truck_id": "T1", "depot": ""})
            return report([] if fixed else [{"tool": "move_truck", "severity": "broken", "detail": "empty depot crashes"}])
        raise AssertionError(first[:200])

    ctx = {"state_space": [], "summary": {}, "operations": [o.model_dump() for o in ops.operations]}
    with FakeOpenAIServer(script) as srv, Executor() as ex:
        syn = Synthesizer(ModelConfig(model="m", base_url=srv.base_url, max_retries=0), cache_dir=None, max_repairs=2)
        code, tools, init, rep = await functional_validation(syn, ex, "depot", ctx, ops, cls, methods,
                                                  Stage1Options(explore_budget=3))
        assert "unknown truck or empty depot" in code and syn.stats.repaired_by_reason == {"exploration_failed": 1}
        # with no repair turns left, the same finding rejects the environment
        methods["move_truck"] = MethodSource(name="move_truck", source=MOVE_BROKEN)
        syn0 = Synthesizer(ModelConfig(model="m", base_url=srv.base_url, max_retries=0), cache_dir=None, max_repairs=0)
        try:
            await functional_validation(syn0, ex, "depot", ctx, ops, cls, methods, Stage1Options(explore_budget=3))
        except FunctionalFailure as f:
            assert f.code == "exploration_failed" and "move_truck" in f.detail
        else:
            raise AssertionError("the broken method must reject the environment")
        await syn.aclose()
        await syn0.aclose()


def test_cache_leaves_nothing_behind_and_uses_normal_modes(tmp_path):
    os.umask(0o022)
    c = DiskCache(tmp_path)
    c.put("ab" + "0" * 62, {"content": "x"})
    (tmp_path / "ab" / ".tmp-999999999-dead.json").write_text("{")  # a writer killed mid-write (no such pid)
    (tmp_path / "ab" / f".tmp-{os.getpid()}-live.json").write_text("{")  # a live writer's file: kept
    assert DiskCache(tmp_path).swept == 1
    left = sorted(p.name for p in (tmp_path / "ab").iterdir())
    assert left == [f".tmp-{os.getpid()}-live.json", "ab" + "0" * 62 + ".json"]
    assert stat.S_IMODE((tmp_path / "ab" / ("ab" + "0" * 62 + ".json")).stat().st_mode) == 0o644
