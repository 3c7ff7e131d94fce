"""SFT and RL see the same token stream: a conversation exported for LlamaFactory and rendered by its
template with the settings of SFT/qwen3.yaml, against the same conversation played in the RL environment and
rendered as ROLL's ``AgentNativeStepEnvManager.format_messages`` does (the tokenizer's Qwen3 chat template,
``tools=info["tools"]``, ``add_generation_prompt=True``, ``enable_thinking=False``).

Needs the ``[sft]`` extra (llamafactory, transformers, tokenizers); skips without it. No tokenizer can be
downloaded here, so a small byte-level BPE is trained on the conversations (Qwen2's pre-tokenizer pattern,
Qwen3's special and added tokens) and given Qwen3's chat template (tests/fixtures/sft/).
"""
import asyncio
import importlib
import json
import sys
import types
from pathlib import Path

import pytest

pytest.importorskip("llamafactory")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
yaml = pytest.importorskip("yaml")

from stt_arena.eval.runner import run_eval  # noqa: E402
from stt_arena.export.llamafactory import export_llamafactory, tools_for_tasks  # noqa: E402
from stt_arena.benchmark.generate import generate  # noqa: E402
from stt_arena.refine.pipeline import Refiner, make_opener, refine_all, write_outputs  # noqa: E402
from stt_arena.rl.core import STTArenaCore  # noqa: E402

from .eval_helpers import cfg  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = (ROOT / "tests/fixtures/sft/qwen3_chat_template.jinja").read_text().rstrip("\n")
SFT = yaml.safe_load((ROOT / "SFT/qwen3.yaml").read_text())
QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
              r"\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
ADDED = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]


def _lf():
    """LlamaFactory's template, converter and parser modules. Its multimodal plugin imports torchaudio at
    module level; a CPU venv may lack it, and a placeholder lets the text code import (it is never used)."""
    for _ in range(3):
        try:
            return (importlib.import_module("llamafactory.data.template"),
                    importlib.import_module("llamafactory.data.converter"),
                    importlib.import_module("llamafactory.data.parser"),
                    importlib.import_module("llamafactory.hparams"))
        except ModuleNotFoundError as e:
            if e.name not in ("torchaudio", "torchvision"):
                raise
            sys.modules[e.name] = types.ModuleType(e.name)
    raise RuntimeError("llamafactory does not import")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Exported conversations from real trajectories: the oracle and refined stale/no-verify agents."""
    root = tmp_path_factory.mktemp("render")
    tasks = generate(12, 21, "train")
    recs = []
    for agent in ("oracle", "stale", "no-verify"):
        run_eval(cfg(f"builtin:{agent}"), tasks, root / agent, progress=False, fsync=False)
        recs += [json.loads(x) for x in (root / agent / "results.jsonl").read_text().splitlines()]
    opener, close = make_opener(False)
    try:
        outs = asyncio.run(refine_all(Refiner({t.task_id: t for t in tasks}, opener), recs))
    finally:
        close()
    write_outputs(outs, root / "ref")
    kept = [json.loads(x) for x in (root / "ref" / "results.jsonl").read_text().splitlines()]
    st = export_llamafactory(kept, tools_for_tasks(tasks), root / "sft")
    rows = json.loads((root / "sft" / "sft_refine_sharegpt.json").read_text())
    assert len(rows) >= 20, st
    return {"root": root / "sft", "rows": rows[:20], "tasks": {t.task_id: t for t in tasks}}


@pytest.fixture(scope="module")
def tok(data):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN_SPLIT), "isolated"),
                                                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tk.decoder = decoders.ByteLevel()
    corpus = [json.dumps(r, ensure_ascii=False) for r in data["rows"]]
    tk.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=3000, special_tokens=SPECIAL,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tk.add_tokens(ADDED)
    t = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    t.chat_template = TEMPLATE
    return t


def _action(turn: dict) -> str:
    """What the policy writes for an exported assistant turn: Qwen3's tool-call text or the reply."""
    if turn["from"] == "gpt":
        return turn["value"]
    thought, _, payload = turn["value"].rpartition("<tool_call>")
    call = json.loads(payload.replace("</tool_call>", "") if thought or "<tool_call>" in turn["value"] else turn["value"])
    text = "<tool_call>\n" + json.dumps({"name": call["name"], "arguments": call["arguments"]}, ensure_ascii=False) \
        + "\n</tool_call>"
    return f"{thought.rstrip()}\n{text}" if thought.strip() else text


def rl_streams(row, task, tok):
    """Per assistant turn: ROLL's prompt ids and the full stream (prompt + the turn, chat template)."""
    core = STTArenaCore(max_steps=200)
    core.tasks = [task]
    msgs, info = core.reset(0)
    out = []
    for turn in [m for m in row["conversations"] if m["from"] in ("gpt", "function_call")]:
        action = _action(turn)
        prompt = tok.apply_chat_template(msgs, tools=info["tools"], tokenize=True, add_generation_prompt=True,
                                         enable_thinking=False, return_dict=False)
        full = tok.apply_chat_template(msgs + [{"role": "assistant", "content": action}], tools=info["tools"],
                                       tokenize=True, enable_thinking=False, return_dict=False)
        out.append((list(prompt), list(full)))
        msgs, _, done, _, _ = core.step(action)
        if done:
            break
    return out


def sft_streams(row, tok, template="qwen3", enable_thinking=False, mask_history=True):
    """Per assistant turn: LlamaFactory's (context, trained turn) ids for ``row`` cut after that turn,
    encoded as its supervised processor does (``encode_multiturn`` with ``discarding_history_cot``)."""
    tmpl_mod, conv_mod, parser, hparams = _lf()
    args = hparams.DataArguments(template=template, enable_thinking=enable_thinking, mask_history=mask_history)
    tmpl = tmpl_mod.get_template_and_fix_tokenizer(tok, args)
    tok.chat_template = TEMPLATE  # LlamaFactory may install its own jinja; ROLL uses the model's
    attr = parser.DatasetAttr("file", dataset_name="x", formatting="sharegpt")
    for k, v in {"messages": "conversations", "system": "system", "tools": "tools", "role_tag": "from",
                 "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                 "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"}.items():
        setattr(attr, k, v)
    convert = conv_mod.get_dataset_converter("sharegpt", attr, args)
    conv = row["conversations"]
    out = []
    for i, m in enumerate(conv):
        if m["from"] not in ("gpt", "function_call"):
            continue
        ex = convert({**row, "conversations": conv[: i + 1]})
        pairs = tmpl.encode_multiturn(tok, ex["_prompt"] + ex["_response"], ex["_system"], ex["_tools"],
                                      mask_history and not tmpl.preserve_thinking)
        context = [t for s, r in pairs[:-1] for t in s + r] + pairs[-1][0]
        out.append((context, context + pairs[-1][1]))
    return out


def test_sft_config_is_the_rl_rendering():
    assert SFT["template"] == "qwen3" and SFT["enable_thinking"] is False and SFT["mask_history"] is True
    assert SFT["dataset"] == "sft_refine_steps"


def test_twenty_conversations_render_identically(data, tok):
    n_turns = 0
    for row in data["rows"]:
        rl = rl_streams(row, data["tasks"][row["task_id"]], tok)
        sft = sft_streams(row, tok, SFT["template"], SFT["enable_thinking"], SFT["mask_history"])
        assert len(rl) == len(sft)
        for k, ((rp, rf), (sp, sf)) in enumerate(zip(rl, sft)):
            assert sp == rp, (row["task_id"], k, tok.decode(sp)[-300:], tok.decode(rp)[-300:])
            assert sf == rf, (row["task_id"], k, tok.decode(sf)[len(tok.decode(sp)):], tok.decode(rf)[len(tok.decode(rp)):])
            n_turns += 1
    assert n_turns > 100


@pytest.mark.parametrize("variant", [{"template": "qwen3_nothink"}, {"mask_history": False}])
def test_other_sft_settings_render_a_different_stream(data, tok, variant):
    """Planted: ``qwen3_nothink`` drops the empty think block ROLL's prompt ends with; training whole
    conversations (no ``mask_history``) puts empty think blocks in the history, which ROLL's prompts lack."""
    row = next(r for r in data["rows"] if len(r["conversations"]) >= 6)
    rl = rl_streams(row, data["tasks"][row["task_id"]], tok)
    sft = sft_streams(row, tok, **{"template": "qwen3", "mask_history": True, **variant})
    assert any(sp != rp for (rp, _), (sp, _) in zip(rl, sft))


def test_dataset_card_counts_tokens_with_a_local_tokenizer(data, tok, tmp_path):
    tok.save_pretrained(tmp_path / "tok")
    kept = [json.loads(x) for x in (data["root"].parent / "ref" / "results.jsonl").read_text().splitlines()]
    st = export_llamafactory(kept, tools_for_tasks(data["tasks"].values()), tmp_path / "sft", tokenizer=str(tmp_path / "tok"))
    card = json.loads((tmp_path / "sft" / "dataset_card.json").read_text())
    assert card["length_unit"] == "tokens" and card["conversations"] == st.exported
    row = json.loads((tmp_path / "sft" / "sft_refine_sharegpt.json").read_text())[0]
    rl = rl_streams(row, data["tasks"][row["task_id"]], tok)
    assert card["length"]["min"] <= len(rl[-1][1]) <= card["length"]["max"]  # the full conversation's tokens
