"""Resume after a kill mid-write: no lost and no duplicated episodes; torn-line recovery."""
import json

import pytest

from stt_arena.eval.runner import run_eval
from stt_arena.results.store import ResultsFileError, ResultsStore, load_results, recover_jsonl

from .eval_helpers import cfg, examples


def _keys(path):
    return [(json.loads(x)["task_id"], json.loads(x)["run"]) for x in path.read_text().splitlines()]


def test_resume_after_torn_last_line(tmp_path):
    out = tmp_path / "r"
    run_eval(cfg("builtin:oracle", runs=2), examples(), out, progress=False)
    res = out / "results.jsonl"
    data = res.read_bytes()
    lines = data.splitlines(keepends=True)
    assert len(lines) == 6
    torn_key = _keys(res)[-1]
    # simulate kill -9 in the middle of writing the last record: half a line, no newline
    res.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    s = run_eval(cfg("builtin:oracle", runs=3), examples(), out, progress=False, resume=True)
    keys = _keys(res)
    assert len(keys) == len(set(keys)) == 9 and torn_key in keys
    assert s["completed_episodes"] == 9 and s["metrics"]["table3"]["overall"]["mean"] == 1.0
    assert all(x.endswith("}") for x in res.read_text().splitlines())
    # a second resume has nothing left to do
    s = run_eval(cfg("builtin:oracle", runs=3), examples(), out, progress=False, resume=True)
    assert len(_keys(res)) == 9


def test_garbled_complete_last_line_is_dropped_middle_line_is_an_error(tmp_path):
    p = tmp_path / "results.jsonl"
    p.write_text('{"task_id": "a", "run": 0}\n{"task_id": "b", "ru\n')
    recs, dropped = recover_jsonl(p)
    assert [r["task_id"] for r in recs] == ["a"] and dropped > 0
    assert p.read_text() == '{"task_id": "a", "run": 0}\n'
    p.write_text('{"task_id": "a", "run": 0}\nnot json\n{"task_id": "c", "run": 0}\n')
    with pytest.raises(ResultsFileError, match=r"results.jsonl:2"):
        recover_jsonl(p)


def test_store_never_duplicates(tmp_path):
    st = ResultsStore(tmp_path)
    assert st.add({"task_id": "a", "run": 0, "passed": True})
    assert not st.add({"task_id": "a", "run": 0, "passed": False})
    st.close()
    st = ResultsStore(tmp_path)
    assert st.has("a", 0) and not st.has("a", 1) and len(st.records) == 1
    st.close()
    recs, _ = load_results(tmp_path)
    assert recs == [{"task_id": "a", "run": 0, "passed": True}]
    with pytest.raises(ResultsFileError, match="not a results directory"):
        load_results(tmp_path / "nope")


def test_trajectory_records_are_validated_on_load_with_file_line_and_field(tmp_path):
    from stt_arena.results.record import SCHEMA_V1, read_record
    good = {"schema": SCHEMA_V1, "task_id": "t1", "run": 0, "passed": True, "fraction": 1.0, "model": "m",
            "steps": [{"index": 0, "turn": 0, "kind": "tool", "tool": "get_x", "arguments": {}, "result": {}}]}
    legacy = {k: v for k, v in good.items() if k != "schema"} | {"task_id": "t2"}  # before the schema field
    bad_step = good | {"task_id": "t3", "steps": [{"index": 0, "turn": 0, "kind": "teleport"}]}
    p = tmp_path / "results.jsonl"
    p.write_text(json.dumps(good) + "\n" + json.dumps(legacy) + "\n")
    recs, _ = load_results(tmp_path)
    assert [r["task_id"] for r in recs] == ["t1", "t2"] and recs[0]["model"] == "m"  # extra fields kept
    assert read_record(legacy).schema_ == SCHEMA_V1
    p.write_text(json.dumps(good) + "\n" + json.dumps(bad_step) + "\n")
    with pytest.raises(ResultsFileError, match=r"results.jsonl:2: field 'steps.0.kind'"):
        load_results(tmp_path)
    p.write_text(json.dumps(good | {"schema": "stt-arena/trajectory/v9"}) + "\n")
    with pytest.raises(ResultsFileError, match="unknown record schema"):
        load_results(p)
    p.write_text(json.dumps({k: v for k, v in good.items() if k != "passed"}) + "\n")
    with pytest.raises(ResultsFileError, match="field 'passed'"):
        load_results(p)


def test_the_store_refuses_to_write_a_record_that_would_not_read_back(tmp_path):
    from stt_arena.results.record import RecordError
    store = ResultsStore(tmp_path)
    with pytest.raises(RecordError, match="field 'passed'"):
        store.add({"task_id": "t", "run": 0, "steps": []})
    store.close()
    assert not (tmp_path / "results.jsonl").read_text()
