"""Resume after a kill mid-write: no lost and no duplicated episodes; torn-line recovery."""
import json

import pytest

from stt_arena.eval.runner import run_eval
from stt_arena.eval.store import ResultsFileError, ResultsStore, load_results, recover_jsonl

from .test_eval_helpers import cfg, examples


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
