"""Tool schemas parsed once per machine: kept on disk beside the vetted code, read back identical, never
served for other code, and parsed again when the entry is unreadable."""
import pytest

from stt_arena.env import schema
from stt_arena.sandbox import codecache
from tests.helpers import COUNTER_ENV

SOURCE = COUNTER_ENV + '''
    def note(self, text: str = "x", raw: bytes = b"\\x00") -> dict:
        """Keep a note.

        Args:
            text: what to keep
        """
        return {"success": True}
'''


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(codecache.CACHE_ENV, str(tmp_path))
    schema._tool_specs.cache_clear()
    yield tmp_path
    schema._tool_specs.cache_clear()


def _entries(root):
    return sorted((root / "toolspecs").rglob("*.json"))


def test_parsed_once_then_read_back_identical(cache, monkeypatch):
    first = schema.tool_specs(COUNTER_ENV, "CounterEnv")
    assert len(_entries(cache)) == 1
    schema._tool_specs.cache_clear()  # a later process: nothing in memory

    def no_parse(*a):
        raise AssertionError("parsed again")
    monkeypatch.setattr(schema, "_parse_specs", no_parse)
    assert schema.tool_specs(COUNTER_ENV, "CounterEnv") == first


def test_other_code_or_declarations_never_get_an_entry_not_theirs(cache):
    schema.tool_specs(COUNTER_ENV, "CounterEnv")
    declared = schema.tool_specs(COUNTER_ENV, "CounterEnv", ["get_count"])  # same code, other declaration
    assert {t.name for t in declared if t.mutating} == {"get_count"} and len(_entries(cache)) == 2
    edited = schema.tool_specs(COUNTER_ENV.replace("def add(", "def plus("), "CounterEnv")
    assert "plus" in {t.name for t in edited} and "add" not in {t.name for t in edited}
    assert len(_entries(cache)) == 3


def test_an_unreadable_entry_is_parsed_again_and_replaced(cache):
    first = schema.tool_specs(COUNTER_ENV, "CounterEnv")
    (entry,) = _entries(cache)
    for bad in ("{truncated", '[["add", "x"]]', "[1, 2]"):
        entry.write_text(bad)
        schema._tool_specs.cache_clear()
        assert schema.tool_specs(COUNTER_ENV, "CounterEnv") == first
        assert entry.read_text() != bad


def test_what_json_cannot_hold_is_not_kept(cache):
    specs = schema.tool_specs(SOURCE, "CounterEnv")  # a bytes default does not survive JSON
    assert any(t.name == "note" for t in specs) and not _entries(cache)


def test_cache_off_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(codecache.CACHE_ENV, "0")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    schema._tool_specs.cache_clear()
    try:
        schema.tool_specs(COUNTER_ENV, "CounterEnv")
        assert not list(tmp_path.rglob("*.json"))
    finally:
        schema._tool_specs.cache_clear()
