"""The synthesis pipeline's LLM layer: prompts, JSON extraction, the on-disk cache and the repair loop."""
from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from stt_arena.llm.client import ModelConfig
from stt_arena.synth.llm import (PROMPTS_DIR, DiskCache, PromptError, StructuredOutputError, Synthesizer, cache_key,
                                 extract_json, prompt_marker, render)
from stt_arena.synth.stage1 import assemble
from stt_arena.synth.schemas import AttributeClass, MethodSource
from stt_arena.testing.fake_openai import FakeOpenAIServer


class Out(BaseModel):
    answer: str
    n: int


def test_every_prompt_file_has_its_marker():
    files = sorted(PROMPTS_DIR.glob("*.md"))
    assert len(files) >= 20
    for f in files:
        if not f.stem.startswith("system"):
            assert prompt_marker(f.read_text()) == f.stem, f


def test_every_prompt_has_worked_examples_from_files():
    from stt_arena.synth.llm import load_examples
    for f in sorted(PROMPTS_DIR.glob("*.md")):
        text = f.read_text()
        if "{{examples}}" in text:
            ex = load_examples(f.stem)
            assert "example" in ex.lower() and len(ex) > 200, f
    assert "stt-st1-easy" in load_examples("env_method") or "Example:" in load_examples("env_method")
    assert "normal" in load_examples("plan_agent") and "oracle" in load_examples("plan_agent")
    n = sum("{{examples}}" in f.read_text() for f in PROMPTS_DIR.glob("*.md"))
    assert n >= 19  # every stage prompt (the repair and system prompts have none)
    syn = Synthesizer(ModelConfig(model="m"), cache_dir=None)
    msgs = syn.messages_for("blueprint", {k: "x" for k in ("class_name", "conflict_type", "level", "assignment",
                                                              "init_config", "tools", "code")}, Out)
    assert "Worked examples (from the built-in benchmark" in msgs[1]["content"]


def test_render_and_extract_json():
    assert render("a {{x}} b {{ y }}", {"x": "1", "y": {"k": 2}}) == 'a 1 b {\n "k": 2\n}'
    with pytest.raises(PromptError, match="missing"):
        render("{{missing}}", {})
    assert extract_json('Sure:\n```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('noise {"a": {"b": [1]}} tail') == {"a": {"b": [1]}}
    with pytest.raises(ValueError):
        extract_json("no json here")


def test_disk_cache_atomic_and_torn_files_are_misses(tmp_path):
    c = DiskCache(tmp_path)
    k1 = cache_key([{"role": "user", "content": "x"}], "m1", {"temperature": 0})
    assert k1 != cache_key([{"role": "user", "content": "x"}], "m2", {"temperature": 0})
    assert k1 != cache_key([{"role": "user", "content": "x"}], "m1", {"temperature": 1})
    c.put(k1, {"content": "hello"})
    assert c.get(k1) == {"content": "hello"} and not list(tmp_path.rglob(".tmp-*"))
    (tmp_path / k1[:2] / f"{k1}.json").write_text('{"content": "hel')  # torn by a crash
    assert c.get(k1) is None


async def test_repair_loop_then_cache(tmp_path):
    script = ["not json at all", json.dumps({"answer": "yes", "n": "many"}), json.dumps({"answer": "yes", "n": 3})]
    with FakeOpenAIServer(script) as srv:
        syn = Synthesizer(ModelConfig(model="m", base_url=srv.base_url, max_retries=0), cache_dir=tmp_path,
                          max_repairs=2)
        out = await syn.call("filter_statefulness", {"seed": {"query": "q"}}, Out)
        assert out == Out(answer="yes", n=3) and syn.stats.repairs == 2 and len(srv.requests) == 3
        last = srv.requests[-1]["messages"]
        assert prompt_marker(last[-1]["content"]) == "repair" and "n" in last[-1]["content"]
        assert last[0]["role"] == "system" and prompt_marker(last[1]["content"]) == "filter_statefulness"
        # the same call again: served from the cache, repairs included
        syn2 = Synthesizer(ModelConfig(model="m", base_url=srv.base_url, max_retries=0), cache_dir=tmp_path)
        assert await syn2.call("filter_statefulness", {"seed": {"query": "q"}}, Out) == out
        assert len(srv.requests) == 3 and syn2.stats.cached == 3
        await syn.aclose()
        await syn2.aclose()


async def test_repairs_exhausted_raises(tmp_path):
    with FakeOpenAIServer(["{}", "{}", "{}"]) as srv:
        syn = Synthesizer(ModelConfig(model="m", base_url=srv.base_url, max_retries=0), cache_dir=None, max_repairs=1)
        with pytest.raises(StructuredOutputError, match="invalid output after 2 attempts"):
            await syn.call("filter_statefulness", {"seed": {}}, Out, validate=None)
        assert len(srv.requests) == 2
        await syn.aclose()


def test_assemble_adds_mutating_tools_and_methods():
    cls = AttributeClass(class_name="Shop", source="import math\n\n\nclass Shop:\n    def __init__(self, init_config: dict):\n"
                                                    "        self.items = init_config.get('items', {})\n")
    m = MethodSource(name="get_items", source="def get_items(self) -> dict:\n    \"\"\"List items.\"\"\"\n"
                                               "    return {'success': True, 'data': self.items}\n")
    src = assemble(cls, [m], ["buy"])
    assert "    MUTATING_TOOLS = ['buy']" in src and "\n    def get_items(self)" in src
    compile(src, "x", "exec")
