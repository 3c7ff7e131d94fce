"""Export of refined trajectories to LlamaFactory alpaca / ShareGPT files; LlamaFactory's converter when installed."""
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from stt_arena.export.llamafactory import DATASET_INFO, export_llamafactory, tools_for_tasks
from stt_arena.refine.pipeline import Refiner, make_opener, refine_all, write_outputs

from .fixtures.refine.helpers import run_agents, tasks

ROOT = Path(__file__).resolve().parents[1]


def _exported(tmp_path, dedupe=False):
    recs = run_agents(tmp_path, ("stale", "no-verify", "oracle"))
    opener, _ = make_opener(False)
    outs = asyncio.run(refine_all(Refiner(tasks(), opener), [r for rs in recs.values() for r in rs]))
    write_outputs(outs, tmp_path / "ref")
    kept = [json.loads(x) for x in (tmp_path / "ref" / "results.jsonl").read_text().splitlines()]
    st = export_llamafactory(kept, tools_for_tasks(tasks().values()), tmp_path / "sft", dedupe=dedupe)
    return kept, st


def test_alpaca_and_sharegpt_rows(tmp_path):
    kept, st = _exported(tmp_path)
    assert st.exported == len(kept) > 0 and st.skipped == {}
    info = json.loads((tmp_path / "sft" / "dataset_info.json").read_text())
    assert info["sft_refine"]["columns"] == {"prompt": "instruction", "query": "input", "response": "output",
                                             "history": "history", "system": "system"}
    assert info["sft_refine_sharegpt"] == DATASET_INFO["sft_refine_sharegpt"]
    alpaca = json.loads((tmp_path / "sft" / "sft_refine_alpaca.json").read_text())
    share = json.loads((tmp_path / "sft" / "sft_refine_sharegpt.json").read_text())
    assert len(alpaca) == len(share) == len(kept)
    for a, s, r in zip(alpaca, share, kept):
        assert a["instruction"].startswith("<tool_response>") and a["output"] and a["history"]
        assert a["history"][0][0] == r["messages"][1]["content"] and "<tool_call>" in a["history"][0][1]
        assert "# Tools" in a["system"] and "<tools>" in a["system"]
        roles = [t["from"] for t in s["conversations"]]
        assert roles[0] == "human" and roles[-1] == "gpt" and len(roles) % 2 == 0
        assert all(x in ("human", "observation") for x in roles[0::2])
        assert all(x in ("gpt", "function_call") for x in roles[1::2])
        assert roles.count("function_call") == r["n_tool_calls"] + r["n_chat"]
        names = {t["name"] for t in json.loads(s["tools"])}
        assert {"chat_with_user"} < names
        for t in s["conversations"]:
            if t["from"] == "function_call":
                payload = t["value"].split("<tool_call>")[-1].replace("</tool_call>", "")
                assert json.loads(payload)["name"] in names


def test_cli_export_and_prepare_script(tmp_path):
    run_agents(tmp_path, ("stale",))
    r = subprocess.run(["bash", str(ROOT / "SFT" / "prepare_llamafactory_data.sh"), str(tmp_path / "stale"),
                        str(tmp_path / "data")], capture_output=True, text=True, timeout=180,
                       env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PYTHON": sys.executable,
                            "TASKS": str(ROOT / "stt_arena" / "data" / "examples.jsonl"), "SANDBOX": "--no-sandbox"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "data" / "dataset_info.json").exists()
    assert len(json.loads((tmp_path / "data" / "sft_refine_sharegpt.json").read_text())) == 2
    card = json.loads((tmp_path / "data" / "dataset_card.json").read_text())
    assert card["conversations"] == 2 and card["per_source_model"] == {"builtin:stale": 2}
    assert "duplicates removed" in (tmp_path / "data" / "README.md").read_text()


def test_llamafactory_converter_keeps_every_row(tmp_path):
    pytest.importorskip("llamafactory")
    _, st = _exported(tmp_path, dedupe=True)
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "llamafactory_convert_check.py"), str(tmp_path / "sft")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"rows={st.exported} converted={st.exported} skipped=0" in r.stdout


def test_steps_rows_and_dataset_card(tmp_path):
    kept, st = _exported(tmp_path, dedupe=True)
    share = json.loads((tmp_path / "sft" / "sft_refine_sharegpt.json").read_text())
    steps = json.loads((tmp_path / "sft" / "sft_refine_steps.json").read_text())
    n_turns = sum(sum(m["from"] in ("gpt", "function_call") for m in s["conversations"]) for s in share)
    assert len(steps) == n_turns and all(s["conversations"][-1]["from"] in ("gpt", "function_call") for s in steps)
    info = json.loads((tmp_path / "sft" / "dataset_info.json").read_text())
    assert info["sft_refine_steps"]["file_name"] == "sft_refine_steps.json"
    card = json.loads((tmp_path / "sft" / "dataset_card.json").read_text())
    assert card["conversations"] == st.exported == len(share) and card["step_rows"] == len(steps)
    assert sum(card["per_level"].values()) == sum(card["per_conflict_type"].values()) == st.exported
    assert set(card["per_failure_mode"]) <= {"stale_state", "misdiagnosis", "missing_verification", "none"}
    assert card["duplicates_removed"]["exact"] == st.duplicates["exact"] and card["length_unit"] == "characters"
    assert card["length"]["p50"] <= card["length"]["p90"] <= card["length"]["max"]
    readme = (tmp_path / "sft" / "README.md").read_text()
    assert "| conflict type | rows |" in readme and "source failure mode" in readme


def test_dedupe_removes_exact_and_near_duplicates_and_keeps_the_best():
    from stt_arena.export.dedupe import dedupe_records

    def pair(tid, final, calls=('{"name": "a", "arguments": {}}',), passed=True, mode="stale_state", n=2):
        conv = [{"from": "human", "value": f"book it ({tid})"}]
        for c in calls:
            conv += [{"from": "function_call", "value": c}, {"from": "observation", "value": "{}"}]
        conv.append({"from": "gpt", "value": final})
        rec = {"task_id": tid, "passed": passed, "steps": [{"kind": "tool"}] * n,
               "refine": {"source_modes": {mode: True}, "status": "refined"}}
        return rec, {"conversations": conv, "system": "s", "tools": "[]"}

    long = "I rebooked you on slot S2 at 10:30 because S1 closed while I was booking; the clinic confirmed it."
    pairs = [pair("t1", long, n=5),                         # 0: worse (more calls) than 1
             pair("t1", long, n=2),                         # 1: kept
             pair("t1", long.replace("10:30", "11:45")),    # 2: near duplicate of 1 (numbers differ)
             pair("t1", long, mode="missing_verification"),  # 3: exact duplicate of 1 (other mode, same text)
             pair("t1", "Something entirely different was written here by the agent today."),  # 4: kept
             pair("t2", long),                              # 5: other task: kept
             pair("t1", long, calls=('{"name": "b", "arguments": {}}',)),  # 6: other calls: kept
             pair("t1", long, passed=False)]                # 7: exact duplicate, not passed: dropped
    kept, counts = dedupe_records(pairs)
    assert kept == [1, 4, 5, 6]
    assert counts == {"in": 8, "exact": 3, "near": 1, "kept": 4}
