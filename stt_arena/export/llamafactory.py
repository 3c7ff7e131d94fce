"""Trajectory records -> LlamaFactory SFT datasets (alpaca with history/system, and ShareGPT with tools).

* **alpaca** (``sft_refine``, the paper's entry: prompt=instruction, query=input, response=output,
  history, system). One row per trajectory: the system prompt carries the tool schemas in Qwen3's
  ``# Tools`` block, assistant turns carry tool calls as ``<tool_call>{json}</tool_call>`` text and tool
  results come back as user turns wrapped in ``<tool_response>`` -- the token stream Qwen3's own chat
  template (and so ROLL at RL time) renders for the same conversation. ``history`` holds every earlier
  (user/observation, assistant) pair; ``instruction`` is the last observation and ``output`` the final
  reply.
* **sharegpt** (``sft_refine_sharegpt``): ``conversations`` of human / function_call / observation / gpt
  turns plus a ``tools`` column (JSON list of function schemas); LlamaFactory's template renders the tool
  block and calls itself, which is the better fit for Qwen3 tool calling.
* **steps** (``sft_refine_steps``, what ``SFT/qwen3.yaml`` trains on): the ShareGPT conversation cut after
  each assistant turn, one row per turn; with ``mask_history: true`` LlamaFactory trains that last turn only
  and renders the history without thinking blocks, which is token for token the sample ROLL's native step
  manager builds at RL time (``tests/test_sft_rl_render.py``).

Before writing, exact and near-duplicate conversations are removed (``dedupe``: the best per task and
failure mode is kept) and a dataset card (``README.md`` + ``dataset_card.json``, ``card``) is written
beside ``dataset_info.json``.

Rows LlamaFactory would drop silently (broken alternation, empty prompt or response) are not written;
they are counted in the export statistics instead.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

ALPACA_FILE = "sft_refine_alpaca.json"
SHAREGPT_FILE = "sft_refine_sharegpt.json"
STEPS_FILE = "sft_refine_steps.json"

DATASET_INFO = {
    "sft_refine": {
        "file_name": ALPACA_FILE,
        "columns": {"prompt": "instruction", "query": "input", "response": "output", "history": "history",
                    "system": "system"},
    },
    "sft_refine_sharegpt": {
        "file_name": SHAREGPT_FILE,
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "system": "system", "tools": "tools"},
        "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                 "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"},
    },
}
DATASET_INFO["sft_refine_steps"] = {**DATASET_INFO["sft_refine_sharegpt"], "file_name": STEPS_FILE}

_TOOLS_HEAD = ("\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
               "You are provided with function signatures within <tools></tools> XML tags:\n<tools>")
_TOOLS_TAIL = ("\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
               "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
               "<args-json-object>}\n</tool_call>")


def qwen_tools_system(system: str, tools: list[dict]) -> str:
    """The system turn as Qwen3's chat template writes it when tools are given."""
    body = "".join("\n" + json.dumps(t, ensure_ascii=False) for t in tools)
    return (system or "") + _TOOLS_HEAD + body + _TOOLS_TAIL


def _call_json(tc: dict) -> dict:
    fn = tc.get("function") or tc
    args = fn.get("arguments")
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            args = {"_raw": args}
    return {"name": fn.get("name"), "arguments": args or {}}


def _turns(record: dict) -> tuple[str, list[tuple[str, str, list[dict] | None]]]:
    """(system, turns): turns are (role, text, calls) with role in user|assistant|tool, tool results of one
    assistant message merged into one turn."""
    msgs = record.get("messages") or []
    system = msgs[0]["content"] if msgs and msgs[0].get("role") == "system" else ""
    out: list[tuple[str, str, list[dict] | None]] = []
    pending_tool: list[str] = []
    for m in msgs[1 if system else 0:]:
        role = m.get("role")
        if role == "tool":
            pending_tool.append(str(m.get("content") or ""))
            continue
        if pending_tool:
            out.append(("tool", "\n</tool_response>\n<tool_response>\n".join(pending_tool), None))
            pending_tool = []
        text = m.get("content") or ""
        if isinstance(text, list):  # content parts
            text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
        calls = [_call_json(tc) for tc in m.get("tool_calls") or []] or None
        out.append((role, str(text).strip(), calls))
    if pending_tool:
        out.append(("tool", "\n</tool_response>\n<tool_response>\n".join(pending_tool), None))
    return system, out


def _valid(turns: list[tuple[str, str, list | None]]) -> str | None:
    """Why LlamaFactory would drop this conversation, or None."""
    if not turns or turns[0][0] != "user":
        return "does not start with the user's message"
    for i, (role, text, calls) in enumerate(turns):
        want = ("user", "tool") if i % 2 == 0 else ("assistant",)
        if role not in want:
            return f"turn {i}: {role} where {'/'.join(want)} expected"
        if role == "assistant" and not calls and not text:
            return f"turn {i}: empty assistant turn"
    if len(turns) % 2:
        return "does not end with an assistant turn"
    if turns[-1][2]:
        return "ends with a tool call, not a reply"
    return None


def _call_text(text: str, calls: list[dict]) -> str:
    body = "\n".join("<tool_call>\n" + json.dumps(c, ensure_ascii=False) + "\n</tool_call>" for c in calls)
    return f"{text}\n{body}" if text else body


def _tool_schemas(record: dict, tools_by_task: dict[str, list[dict]] | None) -> list[dict]:
    tools = (tools_by_task or {}).get(str(record.get("task_id")))
    if tools is None:
        raise KeyError(f"no tool schemas for task {record.get('task_id')!r}")
    return tools


def to_sharegpt(record: dict, tools: list[dict]) -> dict:
    system, turns = _turns(record)
    why = _valid(turns)
    if why:
        raise ValueError(why)
    conv = []
    for role, text, calls in turns:
        if role == "user":
            conv.append({"from": "human", "value": text})
        elif role == "tool":
            conv.append({"from": "observation", "value": text})
        elif calls:
            payload = json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)
            # a thought before the call travels in front of <tool_call>...</tool_call>, which LlamaFactory's
            # FunctionFormatter splits off and keeps as text
            conv.append({"from": "function_call", "value": f"{text}\n<tool_call>{payload}</tool_call>" if text
                         else payload})
        else:
            conv.append({"from": "gpt", "value": text})
    return {"conversations": conv, "system": system,
            "tools": json.dumps([t.get("function", t) for t in tools], ensure_ascii=False),
            "task_id": record.get("task_id"), "source": record.get("model")}


def to_steps(row: dict) -> list[dict]:
    """A ShareGPT row cut after each assistant turn (for ``mask_history: true``: one trained turn per row)."""
    conv = row["conversations"]
    return [{**row, "conversations": conv[: i + 1], "step": n}
            for n, i in enumerate(i for i, m in enumerate(conv) if m["from"] in ("gpt", "function_call"))]


def to_alpaca(record: dict, tools: list[dict]) -> dict:
    system, turns = _turns(record)
    why = _valid(turns)
    if why:
        raise ValueError(why)
    texts = []
    for role, text, calls in turns:
        if role == "tool":
            texts.append("<tool_response>\n" + text + "\n</tool_response>")
        elif role == "assistant" and calls:
            texts.append(_call_text(text, calls))
        else:
            texts.append(text)
    pairs = [[texts[i], texts[i + 1]] for i in range(0, len(texts), 2)]
    (instruction, output), history = pairs[-1], pairs[:-1]
    return {"instruction": instruction, "input": "", "output": output, "history": history,
            "system": qwen_tools_system(system, tools), "task_id": record.get("task_id"),
            "source": record.get("model")}


@dataclass
class ExportStats:
    records: int = 0
    exported: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def export_llamafactory(records: Iterable[dict], tools_by_task: dict[str, list[dict]], output: str | Path,
                        only_passed: bool = True, formats: tuple[str, ...] = ("alpaca", "sharegpt", "steps"),
                        dedupe: bool = True, tokenizer: str | None = None,
                        template: dict | None = None) -> ExportStats:
    """Write the dataset files, ``dataset_info.json`` and the dataset card; duplicates removed first."""
    from .card import write_card
    from .dedupe import dedupe_records

    root = Path(output)
    root.mkdir(parents=True, exist_ok=True)
    st = ExportStats()
    rows: list[tuple[dict, dict, dict]] = []
    for r in records:
        st.records += 1
        if only_passed and not r.get("passed"):
            st.skipped["not passed"] = st.skipped.get("not passed", 0) + 1
            continue
        try:
            tools = _tool_schemas(r, tools_by_task)
            rows.append((r, to_alpaca(r, tools), to_sharegpt(r, tools)))
        except (KeyError, ValueError) as e:
            key = str(e).split(":")[0].strip("'\"")[:60]
            st.skipped[key] = st.skipped.get(key, 0) + 1
    if dedupe:
        keep, st.duplicates = dedupe_records([(r, s) for r, _, s in rows])
        rows = [rows[i] for i in keep]
    st.exported = len(rows)
    data = {"alpaca": (ALPACA_FILE, "sft_refine", [a for _, a, _ in rows]),
            "sharegpt": (SHAREGPT_FILE, "sft_refine_sharegpt", [s for _, _, s in rows]),
            "steps": (STEPS_FILE, "sft_refine_steps", [x for _, _, s in rows for x in to_steps(s)])}
    info = {}
    for fmt in formats:
        fname, name, items = data[fmt]
        (root / fname).write_text(json.dumps(items, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        st.files.append(str(root / fname))
        info[name] = DATASET_INFO[name]
    (root / "dataset_info.json").write_text(json.dumps(info, indent=2) + "\n")
    st.files.append(str(root / "dataset_info.json"))
    st.files += write_card(root, [r for r, _, _ in rows], [s for _, _, s in rows], st, tools_by_task,
                           tokenizer=tokenizer, template=template)
    return st


def tools_for_tasks(tasks) -> dict[str, list[dict]]:
    """Agent-facing OpenAI tool schemas per task id (the environment's tools plus chat_with_user)."""
    from ..episode import agent_tools
    return {t.task_id: agent_tools(t) for t in tasks}
