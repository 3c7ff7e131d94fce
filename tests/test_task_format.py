"""Task format: round trip, paper field mapping, clear errors, atomic writes, datasets, tool schemas."""
import json
from pathlib import Path

import pytest

from stt_arena.data import examples_path
from stt_arena.env.schema import tool_specs
from stt_arena.task.io import TaskFileError, from_hf_row, from_paper, load_tasks, save_tasks, to_hf_rows
from stt_arena.task.models import Task
from stt_arena.task.paper_schema import to_paper_blueprint
from tests.helpers import COUNTER_ENV, make_task


def test_examples_round_trip(tmp_path):
    tasks = load_tasks(examples_path())
    assert len(tasks) == 3 and len({t.conflict_type for t in tasks}) == 3
    out = tmp_path / "rt.jsonl"
    save_tasks(tasks, out)
    again = load_tasks(out)
    assert [t.model_dump() for t in again] == [t.model_dump() for t in tasks]
    assert out.read_text() == examples_path().read_text()


def test_schema_has_the_task_fields():
    schema = Task.model_json_schema()
    props = schema["properties"]
    for k in ("task_id", "conflict_type", "level", "environment", "query", "user_profile", "blueprint",
              "triggers", "checklist", "plans", "provenance"):
        assert k in props
    assert set(schema["$defs"]["ConflictType"]["enum"]) == {"T1", "T2", "T3", "S1", "S2", "S3", "ST1", "ST2", "ST3"}


def test_paper_field_names_are_mapped(tmp_path):
    row = {"id": "p1", "type": "s1", "difficulty": "Hard", "user_query": "Book it. Thanks.",
           "env_code": COUNTER_ENV, "init_config": {"count": 2},
           "checklist": [{"item_id": "g", "criterion": "count positive",
                          "check_func": "def f(state):\n    return state['count'] > 0"}],
           "scenario_story": "kept in provenance"}
    p = tmp_path / "paper.jsonl"
    p.write_text(json.dumps(row) + "\n")
    (t,) = load_tasks(p)
    assert (t.task_id, t.conflict_type, t.level) == ("p1", "S1", "hard")
    assert t.environment.class_name == "CounterEnv" and t.environment.init_config == {"count": 2}
    assert t.checklist[0].id == "g" and "def f" in t.checklist[0].check
    assert t.provenance.extra["unmapped_fields"] == {"scenario_story": "kept in provenance"}


def test_errors_name_file_line_and_field(tmp_path):
    good = json.loads(examples_path().read_text().splitlines()[0])
    bad = dict(good, task_id="x2", level="extreme")
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(TaskFileError, match=r"bad.jsonl:2 \(task x2\): field 'level'"):
        load_tasks(p)
    p.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(TaskFileError, match=r"bad.jsonl:2: invalid JSON"):
        load_tasks(p)
    p.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(TaskFileError, match="duplicate task_id"):
        load_tasks(p)
    no_check = dict(good, checklist=[{"id": "a", "check": "return 1"}])
    p.write_text(json.dumps(no_check) + "\n")
    with pytest.raises(TaskFileError, match=r"field 'checklist.0.check'"):
        load_tasks(p)


def test_failed_save_keeps_previous_file(tmp_path):
    out = tmp_path / "tasks.jsonl"
    tasks = load_tasks(examples_path())
    save_tasks(tasks, out)
    before = out.read_text()

    def boom():
        yield tasks[0]
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        save_tasks(boom(), out)
    assert out.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["tasks.jsonl"]


def test_loadable_with_datasets(tmp_path):
    datasets = pytest.importorskip("datasets")
    tasks = load_tasks(examples_path())
    ds = datasets.Dataset.from_list(to_hf_rows(tasks))
    assert ds.num_rows == 3 and set(ds["conflict_type"]) == {t.conflict_type for t in tasks}
    assert from_hf_row(ds[1]).model_dump() == tasks[1].model_dump()
    raw = datasets.load_dataset("json", data_files=str(examples_path()), split="train")
    assert raw.num_rows == 3 and raw[0]["task_id"] == tasks[0].task_id


SCHEMA_ENV = '''
from typing import Literal, Optional


class Shop:
    MUTATING_TOOLS = ["order"]

    def __init__(self, init_config):
        self.stock = {}

    def search_items(self, query: str, limit: int = 5, max_price: Optional[float] = None,
                     tags: list[str] | None = None) -> dict:
        """Search the catalogue.

        Args:
            query: Free text.
            limit: Max results.
            max_price: Price cap in EUR.
            tags: Tags to match.
        """
        return {"success": True, "data": []}

    def order(self, item_id: str, qty: int, mode: Literal["pickup", "delivery"] = "pickup", gift: bool = False):
        """Place an order."""
        return {"success": True, "message": "ok"}

    def update_note(self, note):
        return {"success": True}

    def _internal(self):
        return 1
'''


def test_tool_schema_derivation():
    specs = {s.name: s for s in tool_specs(SCHEMA_ENV, "Shop")}
    assert set(specs) == {"search_items", "order", "update_note"}
    p = specs["search_items"].parameters
    assert p["required"] == ["query"]
    assert p["properties"]["limit"] == {"type": "integer", "description": "Max results.", "default": 5}
    assert p["properties"]["max_price"]["type"] == "number"
    assert p["properties"]["tags"]["type"] == "array" and p["properties"]["tags"]["items"] == {"type": "string"}
    assert specs["search_items"].description == "Search the catalogue."
    o = specs["order"].parameters["properties"]
    assert o["mode"]["enum"] == ["pickup", "delivery"] and o["gift"]["type"] == "boolean"
    assert specs["order"].mutating and not specs["search_items"].mutating
    assert not specs["update_note"].mutating  # declared list wins over the name heuristic
    assert specs["update_note"].parameters["properties"]["note"] == {"type": "string"}
    fn = specs["order"].openai()
    assert fn["type"] == "function" and fn["function"]["name"] == "order"


def test_mutating_heuristic_without_declaration():
    specs = {s.name: s.mutating for s in tool_specs(COUNTER_ENV.replace('MUTATING_TOOLS = ["add", "set_mode"]', ""),
                                                   "CounterEnv")}
    assert specs == {"get_count": False, "get_time": False, "roll": True, "add": True, "set_mode": True}


def test_task_model_rejects_inconsistent_triggers():
    with pytest.raises(ValueError, match="unknown triggers"):
        make_task(triggers=[{"id": "a", "activation": {"tool": "add"}, "after_triggers": ["zz"]}])
    with pytest.raises(ValueError, match="recovery_guard"):
        make_task(triggers=[{"id": "a", "activation": {"tool": "add"}, "recovery_guard": "True"}])


PAPER_TASK = Path(__file__).resolve().parent / "fixtures" / "synth" / "paper" / "task_paper_form.jsonl"


def test_paper_form_task_file_round_trips(tmp_path):
    """A task file written with the paper's names only: blueprint as in appendix D.1 (one-element list,
    `user_goal`, `{operation, purpose}` flow, `trigger_mechanism`, `change_description`, numbered recovery text),
    profile as in Figure 15, checklist `item_id/criterion/check_func`, `env_code`, `difficulty`, `user_query`."""
    row = json.loads(PAPER_TASK.read_text())
    (t,) = load_tasks(PAPER_TASK)
    assert (t.task_id, t.conflict_type, t.level, t.environment.class_name) == (
        "paper-rooms-T1-easy", "T1", "easy", "RoomBookingEnv")
    assert t.query == row["user_query"] and t.environment.init_config == row["init_config"]
    cd = t.blueprint.conflict_design
    assert [(m.state_path, m.old, m.new) for m in cd.mutations] == [("rooms.R-204.open_until", "18:00", "09:30")]
    assert cd.mode == "always_once" and cd.observable_via == ["get_room", "find_free_rooms"]
    assert t.blueprint.normal_flow == ["list_rooms: List the North Tower rooms seating at least 8.",
                                       "book_room: Book Havel (R-204) for Friday 10:00-11:00."]
    assert len(t.blueprint.recovery_path) == 4 and t.blueprint.recovery_path[2].startswith("`book_room` — Book Dahme")
    p = t.user_profile
    assert p.goal == row["user_profile"]["task_goal"] and "Quarterly planning week" in p.persona and "Tone:" in p.persona
    assert p.known_facts == {"fact_1": "We are 8 people.", "fact_2": "The meeting is in the North Tower (B-North)."}
    assert list(p.withheld_facts.values()) == row["user_profile"]["withhold_until_asked"]
    assert p.refusals == [row["user_profile"]["decline_cancel_response"]]
    assert p.fallback_reply == row["user_profile"]["fallback_response"] and p.clarifications["time"]
    assert [c.id for c in t.checklist] == ["goal", "detect", "told"] and all("def check" in c.check for c in t.checklist)
    assert t.provenance.notes == row["blueprint"][0]["user_goal"]
    extra = t.provenance.extra
    assert (extra["scenario_id"], extra["env_id"]) == ("RoomBookingEnv__T1__easy", "RoomBookingEnv")
    assert set(extra["profile_extra"]) == {"fidelity_rules", "helpfulness_rules", "frustration_threshold", "flexibility"}
    assert "unmapped_fields" not in extra  # every field of the paper's form has a place
    # ours -> file -> ours: identical, written in our names
    out = tmp_path / "ours.jsonl"
    save_tasks([t], out)
    assert load_tasks(out) == [t] and "difficulty" not in json.loads(out.read_text())
    assert from_paper(t.model_dump(mode="json")) == t.model_dump(mode="json")  # our names pass unchanged
    # ours -> the paper's blueprint form -> ours: the same task
    back = dict(row, blueprint=[to_paper_blueprint(t.provenance.notes, t.blueprint.model_dump(),
                                                   scenario_id=extra["scenario_id"], env_id=extra["env_id"],
                                                   conflict_type=t.conflict_type, level=t.level)])
    again = tmp_path / "paper_again.jsonl"
    again.write_text(json.dumps(back, ensure_ascii=False) + "\n")
    assert load_tasks(again) == [t]


def test_paper_form_errors_name_file_line_and_field(tmp_path):
    row = json.loads(PAPER_TASK.read_text())
    p = tmp_path / "paper.jsonl"
    bp = dict(row["blueprint"][0], difficulty="hard")
    p.write_text(json.dumps(dict(row, blueprint=[bp])) + "\n")
    with pytest.raises(TaskFileError, match=r"paper.jsonl:1 \(task paper-rooms-T1-easy\): field 'blueprint.difficulty': "
                                            r"'hard' disagrees with the task's level 'easy'"):
        load_tasks(p)
    cd = dict(bp["conflict_design"], mutations=[{"state_path": "rooms.R-204.open_until",
                                                 "change_description": "it closes earlier"}])
    p.write_text(json.dumps(dict(row, blueprint=[dict(bp, difficulty="easy", conflict_design=cd)])) + "\n")
    with pytest.raises(TaskFileError, match=r"paper.jsonl:1 \(task paper-rooms-T1-easy\): field 'blueprint': "
                                            r"change_description 'it closes earlier' is not of the form"):
        load_tasks(p)
    # a task without `difficulty` takes the blueprint's
    p.write_text(json.dumps({k: v for k, v in row.items() if k != "difficulty"}) + "\n")
    assert load_tasks(p)[0].level == "easy"
