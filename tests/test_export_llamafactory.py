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


def _exported(tmp_path):
    recs = run_agents(tmp_path, ("stale", "no-verify", "oracle"))
    opener, _ = make_opener(False)
    outs = asyncio.run(refine_all(Refiner(tasks(), opener), [r for rs in recs.values() for r in rs]))
    write_outputs(outs, tmp_path / "ref")
    kept = [json.loads(x) for x in (tmp_path / "ref" / "results.jsonl").read_text().splitlines()]
    st = export_llamafactory(kept, tools_for_tasks(tasks().values()), tmp_path / "sft")
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


def test_llamafactory_converter_keeps_every_row(tmp_path):
    pytest.importorskip("llamafactory")
    _, st = _exported(tmp_path)
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "llamafactory_convert_check.py"), str(tmp_path / "sft")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"rows={st.exported} converted={st.exported} skipped=0" in r.stdout
