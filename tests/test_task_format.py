"""Task format: round trip, paper field mapping, clear errors, atomic writes, datasets, tool schemas."""
import json

import pytest

from stt_arena.data import examples_path
from stt_arena.env.schema import tool_specs
from stt_arena.task.io import TaskFileError, from_hf_row, load_tasks, save_tasks, to_hf_rows
from stt_arena.task.models import Task
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
