"""The LLM judge prompt and the agreement script's LLM path, through the real openai client against the
local OpenAI-protocol server (no real model: the verdicts are scripted, so only the plumbing is measured)."""
import asyncio
import json
import subprocess
import sys
from pathlib import Path

from stt_arena.data import benchmark_path
from stt_arena.judge.llm import LLMJudge
from stt_arena.llm.client import LLMClient, ModelConfig
from stt_arena.task.io import load_tasks
from stt_arena.testing.fake_openai import FakeOpenAIServer
import pytest

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "judge_labelled.jsonl"


def final_of(body):
    prompt = body["messages"][0]["content"]
    return prompt.split("The agent's final message to the user:\n", 1)[1].split("\n\nRules:", 1)[0]


def scripted_verdict(body):
    """A stand-in judge: passes a final message that says "cannot"/"can't"; garbage for an empty one."""
    msg = final_of(body)
    if msg == "(no final message)":
        return "I am not sure."
    ok = "cannot" in msg or "can't" in msg
    return json.dumps({"recognized_impossibility": ok, "fed_back_to_user": ok, "evidence": msg[:40]})


def cfg(url):
    return ModelConfig(model="judge-m", base_url=url, temperature=0.0, max_retries=0, timeout_s=10)


def test_prompt_carries_the_blocking_facts_and_rules():
    task = next(t for t in load_tasks(benchmark_path("v1")) if t.task_id.endswith("00219"))
    row = next(json.loads(x) for x in FIXTURE.read_text().splitlines() if '"00219-refused_action-1"' in x)

    async def go(url):
        async with LLMClient(cfg(url)) as c:
            return await LLMJudge(c).judge(task, row["steps"], row["final_message"], [])
    with FakeOpenAIServer(scripted_verdict) as sv:
        v = asyncio.run(go(sv.base_url))
        prompt = sv.requests[0]["messages"][0]["content"]
    assert v.judge == "llm:judge-m" and v.passed  # the scripted stand-in says "cannot" -> pass
    assert 'slots.SL-9268.clinic_id: "CL-78" -> "CL-34" (CL-34 = Lakeshore District Hospital)' in prompt
    assert "PT-7352 has a valid podiatry appointment" in prompt and "The Meridian Private Hospital (CL-65)" in prompt
    assert "Only the agent's final message counts" in prompt and "performed an action the user refused" in prompt
    assert "book_appointment" in prompt and '"clinic_id": "CL-65"' in prompt  # the refused call is in the transcript
    assert final_of(sv.requests[0]) == row["final_message"]


def run_script(*args):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "judge_agreement.py"), *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_agreement_script_llm_path(tmp_path):
    rows = [json.loads(x) for x in FIXTURE.read_text().splitlines()]
    expected = sum((("cannot" in r["final_message"] or "can't" in r["final_message"]) if r["final_message"]
                    else False) == r["label"] for r in rows)
    with FakeOpenAIServer(scripted_verdict) as sv:
        p = run_script("--base-url", sv.base_url, "--model", "judge-m", "--max-retries", "0",
                       "--json", str(tmp_path / "a.json"))
        n_requests = len(sv.requests)
    assert p.returncode == 0, p.stderr
    out = json.loads((tmp_path / "a.json").read_text())
    llm = out["results"][2]
    assert llm["judge"] == "llm:judge-m" and llm["n"] == len(rows)
    assert llm["fallbacks"] == 1 and n_requests == len(rows) + 1  # the empty message: one retry, then heuristic
    assert round(expected / len(rows), 4) == llm["accuracy"]
    assert f"llm:judge-m: accuracy {100 * expected / len(rows):.1f}%" in p.stdout
    assert "heuristic vs LLM judge: same verdict on" in p.stdout
    assert "1 invalid LLM verdicts graded by the heuristic" in p.stdout
    assert "accepted by eval's heuristic judge: 33" in p.stdout


def test_agreement_script_offline_and_dead_endpoint():
    p = run_script()
    assert p.returncode == 0 and "LLM judge: not measured" in p.stdout and "per kind" in p.stdout
    with FakeOpenAIServer(lambda body: {"error": 500, "message": "boom"}) as sv:
        p = run_script("--base-url", sv.base_url, "--model", "judge-m", "--max-retries", "0", "--concurrency", "1")
    assert p.returncode == 3 and "the LLM judge's endpoint failed" in p.stderr
