"""Metrics on hand-made records: pass@k / pass^k by hand, Table 3 weighting, mean ± std."""
import math

import pytest

from stt_arena.results.metrics import bootstrap_ci, pass_at_k, pass_hat_k, summarize


def test_pass_at_k_and_pass_hat_k_by_hand():
    # n=3 runs, c=1 passed
    assert pass_at_k(3, 1, 1) == pytest.approx(1 / 3)
    assert pass_at_k(3, 1, 2) == pytest.approx(1 - 1 / 3)  # 1 - C(2,2)/C(3,2)
    assert pass_at_k(3, 1, 3) == 1.0
    assert pass_hat_k(3, 1, 2) == 0.0 and pass_hat_k(3, 2, 2) == pytest.approx(1 / 3)  # C(2,2)/C(3,2)
    assert pass_hat_k(3, 3, 3) == 1.0 and pass_hat_k(3, 2, 3) == 0.0
    assert pass_at_k(3, 0, 3) == 0.0 and pass_at_k(4, 2, 2) == pytest.approx(1 - 1 / 6)
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)


def rec(task, run, passed, level, ty, calls=2):
    return {"task_id": task, "run": run, "passed": passed, "level": level, "conflict_type": ty,
            "n_tool_calls": calls, "fraction": 1.0 if passed else 0.5, "termination": "final",
            "grade": {"graded_by": "checklist"}}


def test_summary_table3_and_types():
    # easy: e1 passes runs 0,1 fails run 2; e2 always passes. impossible: i1 passes run 0 only.
    R = [rec("e1", 0, True, "easy", "T1"), rec("e1", 1, True, "easy", "T1"), rec("e1", 2, False, "easy", "T1"),
         rec("e2", 0, True, "easy", "T2", 4), rec("e2", 1, True, "easy", "T2", 4), rec("e2", 2, True, "easy", "T2", 4),
         rec("i1", 0, True, "impossible", "T1"), rec("i1", 1, False, "impossible", "T1"),
         rec("i1", 2, False, "impossible", "T1")]
    m = summarize(R)
    t = m["table3"]
    assert t["easy"]["runs"] == {"0": 1.0, "1": 1.0, "2": 0.5}
    assert t["easy"]["mean"] == pytest.approx(2.5 / 3)
    assert t["easy"]["std"] == pytest.approx(math.sqrt(((1 - 2.5 / 3) ** 2 * 2 + (0.5 - 2.5 / 3) ** 2) / 2))
    # overall per run = passes / 3 tasks (weighted by task counts)
    assert t["overall"]["runs"] == {"0": 1.0, "1": pytest.approx(2 / 3), "2": pytest.approx(1 / 3)}
    assert t["overall"]["mean"] == pytest.approx(2 / 3)
    assert t["impossible"]["mean"] == pytest.approx(1 / 3) and t["medium"]["mean"] is None
    assert t["overall"]["avg_calls"] == pytest.approx((2 * 6 + 4 * 3) / 9)
    t1 = m["by_type"]["T1"]  # e1 (c=2) and i1 (c=1), n=3
    assert t1["pass_at_k"]["1"]["value"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert t1["pass_at_k"]["2"]["value"] == pytest.approx((1.0 + 2 / 3) / 2)
    assert t1["pass_hat_k"]["2"]["value"] == pytest.approx((1 / 3 + 0) / 2)
    assert t1["pass_hat_k"]["3"]["value"] == 0.0 and m["by_type"]["T2"]["pass_hat_k"]["3"]["value"] == 1.0
    lo, hi = t1["pass_at_k"]["1"]["ci95"]
    assert lo <= 0.5 <= hi and 0 <= lo and hi <= 1
    assert m["max_k"] == 3 and m["episodes"] == 9 and m["tasks"] == 3


def test_bootstrap_is_deterministic():
    v = [0, 1, 1, 0, 1, 0.5]
    assert bootstrap_ci(v) == bootstrap_ci(v)
    assert bootstrap_ci([1.0]) == (1.0, 1.0)
