"""Incremental request bodies: what is sent equals encoding the whole request every turn."""
import json

import pytest

from stt_arena.llm.encoding import EncodedList, json_body


def test_body_equals_full_encoding_and_any_other_list_change_falls_back():
    msgs = EncodedList([{"role": "system", "content": "Ünïcode \u2028 \"quoted\""}])
    tools = EncodedList([{"type": "function", "function": {"name": "t", "parameters": {"type": "object"}}}])
    body = {"model": "m", "messages": msgs, "tools": tools, "temperature": 0.0, "extra": [1, {"a": None}]}
    for turn in range(4):
        msgs.append({"role": "user", "content": f"turn {turn}", "nested": {"k": [turn, "ü"]}})
        assert json.loads(json_body(body)) == json.loads(json.dumps(body))
    msgs.insert(1, {"role": "user", "content": "inserted"})
    assert msgs.encoded is None and json.loads(json_body(body))["messages"][1]["content"] == "inserted"
    msgs.append({"role": "assistant", "content": "after"})  # stays on the full path
    assert json.loads(json_body(body)) == json.loads(json.dumps(body))


@pytest.mark.parametrize("change", ["pop", "setitem", "delslice", "iadd", "clear", "reverse"])
def test_every_list_mutation_drops_saved_encodings(change):
    msgs = EncodedList([{"a": 1}, {"b": 2}])
    {"pop": lambda: msgs.pop(), "setitem": lambda: msgs.__setitem__(0, {"z": 9}),
     "delslice": lambda: msgs.__delitem__(slice(0, 1)), "iadd": lambda: msgs.__iadd__([{"c": 3}]),
     "clear": msgs.clear, "reverse": msgs.reverse}[change]()
    assert msgs.json() is None
    assert json.loads(json_body({"messages": msgs})) == {"messages": list(msgs)}


def test_plain_bodies_unchanged():
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    assert json_body(body) == json.dumps(body, ensure_ascii=False).encode()
    assert json.loads(json_body({"messages": EncodedList()})) == {"messages": []}
