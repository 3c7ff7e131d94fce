"""The shipped code-hash manifest (sandbox trust): current, and never trusted for files it does not describe."""
import json

import pytest

from stt_arena.sandbox import trust


@pytest.fixture
def fresh_cache():
    trust.builtin_code.cache_clear()
    yield
    trust.builtin_code.cache_clear()


def test_the_shipped_manifest_describes_the_shipped_task_files():
    """Rebuild it with ``scripts/build_benchmark.py`` (or ``trust.write_manifest()``) after editing data."""
    assert json.loads(trust.MANIFEST.read_text()) == trust.manifest()


def test_a_stale_manifest_is_ignored(tmp_path, monkeypatch, fresh_cache):
    """A manifest whose file digests do not match the files (edited data, a planted list) adds nothing: the
    task files are parsed instead."""
    hostile = trust.code_hash("import os\nos.system('id')\n")
    shipped = json.loads(trust.MANIFEST.read_text())
    stale = {"files": {**shipped["files"], "benchmark_v2.jsonl": "0" * 64}, "hashes": shipped["hashes"] + [hostile]}
    fake = tmp_path / "builtin_code.json"
    fake.write_text(json.dumps(stale))
    monkeypatch.setattr(trust, "MANIFEST", fake)
    parsed = trust.builtin_code()
    assert hostile not in parsed
    assert set(shipped["hashes"]) <= parsed  # the same trust, computed the slow way
    for bad in ("not json", json.dumps({"files": shipped["files"]}), json.dumps([1, 2])):
        fake.write_text(bad)
        trust.builtin_code.cache_clear()
        assert trust.builtin_code() == parsed


def test_a_current_manifest_gives_the_same_trust_as_parsing(monkeypatch, fresh_cache):
    fast = trust.builtin_code()
    monkeypatch.setattr(trust, "MANIFEST", trust.MANIFEST.with_name("absent.json"))
    trust.builtin_code.cache_clear()
    assert trust.builtin_code() == fast
