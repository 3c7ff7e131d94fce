"""Stage 1 seed loaders: fixtures under tests/fixtures/seeds (always) and the real shared source data (if present)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from stt_arena.synth.seeds import (SeedFormatError, SeedQuery, detect_source, load_api_bank, load_dolci,
                                   load_seeds, load_toolace)
from stt_arena.synth.seeds.api_bank import load_catalog
from stt_arena.synth.seeds.callparse import CallParseError, looks_like_calls, parse_call_prefix, parse_calls

FIX = Path(__file__).resolve().parent / "fixtures" / "seeds"
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "source_data"


def calls(seed: SeedQuery) -> list[tuple[str, dict]]:
    return [(c.name, c.arguments) for c in seed.tool_calls]


# --- call-string parser ------------------------------------------------------------------------------------

def test_parse_calls_names_with_spaces_and_several_calls():
    out = parse_calls('[Market Trends API(trend_type="MARKET_INDEXES", country="us"), Other(x=1)]')
    assert out == [{"name": "Market Trends API", "arguments": {"trend_type": "MARKET_INDEXES", "country": "us"}},
                   {"name": "Other", "arguments": {"x": 1}}]


def test_parse_calls_values_json_constants_and_newlines():
    out = parse_calls('f(a=true, b=null, c=-2.5, d={"k": [1, false]}, e=None)\ng(q="a, b=c")')
    assert out[0]["arguments"] == {"a": True, "b": None, "c": -2.5, "d": {"k": [1, False]}, "e": None}
    assert out[1] == {"name": "g", "arguments": {"q": "a, b=c"}}


def test_parse_calls_broken_quoting_keeps_inner_text():
    out = parse_calls("[AddMeeting(token='t', attendees='['John', 'Jane']', note='John's')]")
    assert out[0]["arguments"] == {"token": "t", "attendees": "['John', 'Jane']", "note": "John's"}


def test_parse_calls_known_names_with_parentheses_and_prefix():
    assert parse_calls("[Countries All (min)(limit=2)]", ["Countries All (min)"])[0]["name"] == "Countries All (min)"
    found, end = parse_call_prefix("[ToolSearcher(keywords='x')]->{'name': 'Q'}")
    assert found == [{"name": "ToolSearcher", "arguments": {"keywords": "x"}}]
    assert "[ToolSearcher(keywords='x')]->{'name': 'Q'}"[end:] == "->{'name': 'Q'}"
    assert parse_calls("[GetToday()]") == [{"name": "GetToday", "arguments": {}}] and parse_calls("[]") == []


@pytest.mark.parametrize("bad", ["[foo(x=1)", "foo(x=", "[foo(x=1) bar]", "no call here"])
def test_parse_calls_errors(bad):
    with pytest.raises(CallParseError):
        parse_calls(bad)


def test_looks_like_calls():
    assert looks_like_calls("[Market Trends API(x=1)]")
    assert not looks_like_calls("[1, 2]") and not looks_like_calls("Sure, here you go.")


# --- fixtures: API-Bank ------------------------------------------------------------------------------------

def test_api_bank_fixture_dialogues_catalog_and_databases():
    seeds = {s.seed_id: s for s in load_api_bank(FIX / "api_bank" / "dialogues")}
    alarm = seeds["api-bank:AddAlarm-level-1-1:0"]
    assert alarm.query == "Please set an alarm for 6:30 tomorrow morning; today is 2024-02-10."
    assert calls(alarm) == [("GetUserToken", {"username": "ana", "password": "pw1"}),
                            ("AddAlarm", {"token": "tok-ana-1", "time": "2024-02-11 06:30:00"})]
    assert [m.role for m in alarm.dialogue] == ["user", "assistant", "user", "assistant", "tool", "assistant",
                                                "tool", "assistant"]
    tools = {t.name: t for t in alarm.tools}
    assert tools["AddAlarm"].description == "Add an alarm at a given time."  # from all_apis.csv (Chinese headers)
    assert tools["AddAlarm"].meta["category"] == "effect/database/create"
    assert tools["AddAlarm"].parameters["required"] == ["token", "time"]
    db = json.loads((FIX / "api_bank" / "init_database" / "Alarm.json").read_text())
    assert set(alarm.init_database) == {"Account", "Alarm"} and alarm.init_database["Alarm"] == db
    assert alarm.provenance["file_level"] == 1

    stock = seeds["api-bank:QueryStock-level-3-1:0"]  # result without api_name; schema from ToolSearcher output
    assert calls(stock)[1] == ("QueryStock", {"stock_code": "AAPL", "date": "2024-01-05"})
    qs = next(t for t in stock.tools if t.name == "QueryStock")
    assert qs.meta["schema_source"] == "dialogue" and set(qs.parameters["properties"]) == {"stock_code", "date"}
    assert stock.init_database is None  # no Stock.json in the fixture databases


def test_api_bank_fixture_level3_and_level2():
    l3 = load_api_bank(FIX / "api_bank" / "test-data" / "level-3.json")
    assert [s.seed_id for s in l3] == ["api-bank:level-3:0", "api-bank:level-3:1"]
    assert l3[0].query.startswith("Set an alarm 10 minutes before")
    assert calls(l3[0])[1] == ("AddAlarm", {"token": "tok-li-2", "time": "2024-03-04 08:50:00"})
    assert l3[0].dialogue[-1].content == "Your alarm is set for 2024-03-04 08:50."
    assert l3[1].dialogue[2].content == "Exception: Invalid token"
    qa = l3[1].tools[0]  # catalogue lacks the 'date' argument: parameters inferred from the call
    assert qa.meta["schema_source"] == "observed" and qa.description == "List the alarms of a user."
    assert set(qa.parameters["properties"]) == {"token", "date"}

    l2 = load_api_bank(FIX / "api_bank" / "test-data" / "level-2-api.json")
    assert l2[0].query == "Schedule a sync with Ana and Li.\nMy token is tok-ana-1."
    assert calls(l2[0]) == [("ToolSearcher", {"keywords": "add meeting"}),
                            ("AddMeeting", {"token": "tok-ana-1", "meeting_topic": "Sync",
                                            "attendees": "['Ana', 'Li']"})]
    assert {t.name: t.meta["schema_source"] for t in l2[0].tools} == {"ToolSearcher": "dialogue",
                                                                      "AddMeeting": "dialogue"}
    assert calls(l2[1]) == [("GetToday", {})]


def test_api_bank_folder_and_autodetect():
    seeds = load_seeds(FIX / "api_bank")
    assert detect_source(FIX / "api_bank") == "api-bank" and len(seeds) == 6 and not seeds.errors
    assert len({s.seed_id for s in seeds}) == 6
    assert SeedQuery.model_validate(json.loads(seeds[0].model_dump_json())) == seeds[0]


def test_api_bank_bad_line_names_file_and_line(tmp_path):
    d = tmp_path / "dialogues"
    d.mkdir()
    shutil.copy(FIX / "api_bank" / "dialogues" / "AddAlarm-level-1-1.jsonl", d)
    bad = d / "Broken-level-1-1.jsonl"
    bad.write_text('{"role": "User", "text": "hi"}\n{"role": "AI", "text": "ok"}\n{"role": "API", oops}\n')
    with pytest.raises(SeedFormatError) as e:
        load_api_bank(d)
    assert "Broken-level-1-1.jsonl" in str(e.value) and "line 3" in str(e.value) and "invalid JSON" in str(e.value)
    got = load_api_bank(d, skip_bad=True)
    assert [s.seed_id for s in got] == ["api-bank:AddAlarm-level-1-1:0"]
    assert len(got.errors) == 1 and got.errors[0].where == "line 3"
    bad.write_text('{"role": "User", "text": "hi"}\n{"role": "Robot", "text": "?"}\n')
    with pytest.raises(SeedFormatError, match=r"line 2.*unknown role 'Robot'"):
        load_api_bank(bad)
    (d / "Empty-level-1-1.jsonl").write_text("")
    got = load_api_bank(d, skip_bad=True)
    assert len(got) == 1 and any("Empty-level-1-1.jsonl" in s for s in got.skipped)


def test_api_bank_level3_bad_item(tmp_path):
    f = tmp_path / "level-3.json"
    f.write_text(json.dumps([{"requirement": "ok", "apis": []}, {"requirement": "no apis", "response": ""}]))
    with pytest.raises(SeedFormatError, match=r"level-3\.json \(item 1\)"):
        load_api_bank(f)
    assert len(load_api_bank(f, skip_bad=True)) == 1


# --- fixtures: ToolACE -------------------------------------------------------------------------------------

def test_toolace_raw_fixture():
    seeds = load_toolace(FIX / "toolace" / "data.json")
    assert [s.seed_id for s in seeds] == ["toolace:data:0", "toolace:data:1", "toolace:data:2"]
    assert all(s.provenance["format"] == "raw" for s in seeds)
    s0 = seeds[0]
    assert s0.query == "What are the market index trends in the US right now?"
    assert calls(s0) == [("Market Trends API", {"trend_type": "MARKET_INDEXES", "country": "us"})]
    assert [t.name for t in s0.tools] == ["Market Trends API", "Get Futures Prices"]
    assert s0.tools[0].parameters["type"] == "object" and s0.tools[0].parameters["required"] == ["trend_type"]
    assert s0.dialogue[2].role == "tool" and s0.dialogue[2].name == "Market Trends API"
    multi = seeds[1].dialogue[1]
    assert [(c.name, c.arguments) for c in multi.tool_calls] == [
        ("Get Weather Forecast", {"city": "Paris", "hours": 6, "unit": "celsius"}),
        ("Time Zone Lookup", {"city": "Paris"})]
    assert [(m.role, m.name) for m in seeds[1].dialogue[2:4]] == [("tool", "Get Weather Forecast"),
                                                                  ("tool", "Time Zone Lookup")]
    assert calls(seeds[2]) == [("Meeting Room Booking", {"room": "B2", "start": "2024-05-06T09:00:00",
                                                         "attendees": ["Ana", "Li"], "recurring": True}),
                               ("Countries All (min)", {"limit": 2})]


def test_toolace_sharegpt_name_recovery(tmp_path):
    system = json.loads((FIX / "toolace" / "data.json").read_text())[1]["system"]
    item = {"system": system, "tools": "[]", "conversations": [
        {"from": "human", "value": "Weather in Oslo and its time zone?"},
        {"from": "function_call", "value": json.dumps([{"name": "Forecast", "arguments": {"city": "Oslo"}},
                                                       {"name": "Lookup", "arguments": "{\"city\": \"Oslo\"}"}])},
        {"from": "observation", "value": json.dumps([{"name": "Get Weather Forecast", "results": {"t": 3}},
                                                     {"name": "Time Zone Lookup", "results": {"tz": "CET"}}])},
        {"from": "gpt", "value": "3C, CET."},
        {"from": "human", "value": "And tomorrow?"},
        {"from": "function_call", "value": json.dumps({"name": "Forecast", "arguments": {"city": "Oslo", "hours": 24}})}]}
    f = tmp_path / "sharegpt.json"
    f.write_text(json.dumps([item]))
    (seed,) = load_seeds(f)
    assert seed.source == "toolace" and seed.provenance["format"] == "sharegpt"
    assert [c.name for c in seed.tool_calls] == ["Get Weather Forecast", "Time Zone Lookup", "Get Weather Forecast"]
    assert seed.tool_calls[1].arguments == {"city": "Oslo"}
    assert seed.provenance["raw_call_names"] == ["Forecast", "Lookup", "Forecast"]


def test_toolace_bad_inputs_name_item_and_turn(tmp_path):
    data = json.loads((FIX / "toolace" / "data.json").read_text())
    data[1]["conversations"][1]["value"] = '[Get Weather Forecast(city="Paris"]'
    data.append({"system": "x"})
    f = tmp_path / "data.json"
    f.write_text(json.dumps(data))
    with pytest.raises(SeedFormatError, match=r"data\.json \(item 1, conversations\[1\]\): unparseable call list"):
        load_toolace(f)
    got = load_toolace(f, skip_bad=True)
    assert [s.seed_id for s in got] == ["toolace:data:0", "toolace:data:2"]
    assert [e.where for e in got.errors] == ["item 1, conversations[1]", "item 3"]
    f.write_text("[{]")
    with pytest.raises(SeedFormatError, match="invalid JSON"):
        load_toolace(f)


# --- fixtures: Dolci ---------------------------------------------------------------------------------------

def _check_dolci(seeds):
    assert len(seeds) == 3
    s0, s1, s2 = seeds
    assert s0.query == "Is it raining in Boston right now?" and calls(s0) == [("get_weather", {"city": "Boston"})]
    assert s0.dialogue[2].role == "tool" and s0.dialogue[2].name == "get_weather"
    assert s0.provenance["row_id"] == "dolci-fx-1" and s0.provenance["dataset_source"] == "fixture-weather"
    assert [t.name for t in s1.tools] == ["check_availability", "book_room"]  # wrapped {"type": "function"} form
    assert s1.tools[1].parameters["required"] == ["hotel", "check_in", "nights"]
    assert calls(s1) == [("check_availability", {"hotel": "harbor-inn", "check_in": "2024-07-01", "nights": 2}),
                         ("book_room", {"hotel": "harbor-inn", "check_in": "2024-07-01", "nights": 2,
                                        "late_checkout": True})]
    assert [m.name for m in s1.dialogue if m.role == "tool"] == ["check_availability", "book_room"]
    assert s1.provenance["dataset_source"] == "fixture-hotel"
    assert s2.tool_calls == [] and s2.tools == [] and s2.query == "What does UTC stand for?"


def test_dolci_jsonl_fixture():
    seeds = load_seeds(FIX / "dolci" / "tool_use.jsonl")
    assert detect_source(FIX / "dolci") == "dolci"
    _check_dolci(seeds)
    assert [s.seed_id for s in seeds] == ["dolci:tool_use:0", "dolci:tool_use:1", "dolci:tool_use:2"]
    assert seeds[1].provenance["line"] == 2


def test_dolci_parquet_written_at_runtime(tmp_path):
    rows = [json.loads(line) for line in (FIX / "dolci" / "tool_use.jsonl").read_text().splitlines()]
    for r in rows:  # one source column for the whole frame, like the real dataset
        r["source"] = r.pop("source", None) or r.pop("dataset_source")
    f = tmp_path / "train-00000.parquet"
    pd.DataFrame(rows).to_parquet(f)
    assert detect_source(f) == "dolci"
    seeds = load_seeds(f)
    assert [s.seed_id for s in seeds] == [f"dolci:train-00000:{i}" for i in range(3)]
    _check_dolci(seeds)


def test_dolci_bad_rows_collected(tmp_path):
    lines = (FIX / "dolci" / "tool_use.jsonl").read_text().splitlines()
    bad_call = json.loads(lines[1])
    bad_call["messages"][2]["function_calls"] = 'book_room(hotel="x"'
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join([lines[0], "{not json", json.dumps(bad_call)]) + "\n")
    with pytest.raises(SeedFormatError, match=r"rows\.jsonl \(line 2\): invalid JSON"):
        load_dolci(f)
    got = load_dolci(f, skip_bad=True)
    assert len(got) == 1 and [e.where for e in got.errors] == ["line 2", "line 3, messages[2]"]
    assert "bad function_calls" in got.errors[1].problem


def test_load_seeds_unknown_source(tmp_path):
    f = tmp_path / "mystery.json"
    f.write_text(json.dumps([{"foo": 1}]))
    with pytest.raises(SeedFormatError, match="cannot tell the seed source"):
        load_seeds(f)
    with pytest.raises(ValueError, match="unknown seed source"):
        load_seeds(f, source="nope")


# --- real shared source data -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real() -> Path:
    if not REAL.is_dir():
        pytest.skip(f"shared source data not present at {REAL}")
    return REAL


@pytest.fixture(scope="module")
def level1(real):
    return load_seeds(real / "api-bank" / "lv1-lv2-samples" / "level-1-given-desc")


def test_real_api_bank_level1_counts(real, level1):
    folder = real / "api-bank" / "lv1-lv2-samples" / "level-1-given-desc"
    assert len(list(folder.glob("*.jsonl"))) == 214
    # 213 dialogues load; SearchEngine-level-1-1.jsonl is an empty file upstream and is reported as skipped.
    assert len(level1) == 213 and not level1.errors
    assert len(level1.skipped) == 1 and "SearchEngine-level-1-1.jsonl" in level1.skipped[0]
    assert all(s.query and s.source == "api-bank" for s in level1)
    assert len({s.seed_id for s in level1}) == 213


def test_real_api_bank_known_dialogues(real, level1):
    by_id = {s.seed_id: s for s in level1}
    alarm = by_id["api-bank:AddAlarm-level-1-1:0"]
    assert alarm.query == "Can you help me set an alarm for 8 am tomorrow?"
    assert calls(alarm) == [("GetUserToken", {"username": "foo", "password": "bar"}),
                            ("AddAlarm", {"token": "z9x8c7v6b5n4m3q2w1", "time": "2021-10-14 08:00:00"})]
    db = json.loads((real / "api-bank" / "init_database" / "Alarm.json").read_text())
    assert set(alarm.init_database) == {"Account", "Alarm"} and alarm.init_database["Alarm"] == db
    assert next(t for t in alarm.tools if t.name == "AddAlarm").meta["category"] == "effect/database/create"
    hotel = by_id["api-bank:BookHotel-level-1-1:0"]  # typed values from result.input, not param_dict strings
    assert hotel.tool_calls[0].arguments["room_count"] == 1 and set(hotel.init_database) == {"Hotel"}
    meeting = by_id["api-bank:AddMeeting-level-1-1:0"]
    assert meeting.tool_calls[1].arguments["attendees"] == ["John Smith", "Jane Doe", "Adam Lee"]
    # Every call to a stateful API carries that API's initial database.
    stateful = {"AddAgenda": "Agenda", "ModifyReminder": "Reminder", "QueryBalance": "Bank",
                "TimedSwitch": "TimeSwitch", "RecordHealthData": "HealthData", "DeleteScene": "Scenes",
                "CancelRegistration": "Appointments", "DeleteAccount": "Account"}
    seen = 0
    for s in level1:
        for c in s.tool_calls:
            if c.name in stateful:
                seen += 1
                assert stateful[c.name] in (s.init_database or {}), s.seed_id
    assert seen > 40
    assert all(set(c.arguments) <= set(next(t for t in s.tools if t.name == c.name).parameters["properties"])
               for s in level1 for c in s.tool_calls)


def test_real_api_bank_toolsearcher_folder(real):
    seeds = load_seeds(real / "api-bank" / "lv1-lv2-samples" / "level-2-toolsearcher")
    assert len(seeds) == 50 and not seeds.errors
    assert {(s.provenance["folder_level"], s.provenance["file_level"]) for s in seeds} == {(2, 3)}
    assert sum("ToolSearcher" in s.called_tools for s in seeds) == 45
    assert all(s.tools[0].meta["schema_source"] == "dialogue" for s in seeds if s.tool_calls[:1]
               and s.tool_calls[0].name == "ToolSearcher")


def test_real_api_bank_level3(real):
    seeds = load_seeds(real / "api-bank" / "test-data" / "level-3.json")
    assert len(seeds) == 50 and not seeds.errors
    s0 = seeds[0]
    assert s0.query == "Query meeting of John and send email reminder to john@example.com."
    assert ("QueryMeeting", {"user_name": "John"}) in calls(s0)
    assert {t.name: t.meta["schema_source"] for t in s0.tools}["EmailReminder"] == "dialogue"
    assert "Meeting" in s0.init_database


def test_real_api_bank_level2_api(real):
    seeds = load_seeds(real / "api-bank" / "test-data" / "level-2-api.json")
    assert len(seeds) == 135 and not seeds.errors
    assert seeds[0].query == "Can you tell me what happened on October 6th in history?"
    assert calls(seeds[0])[-1] == ("ToolSearcher", {"keywords": "history October 6th"})
    # expected_output with broken quoting: attendees='['John']'
    assert calls(seeds[70])[-1] == ("AddMeeting", {
        "token": "a9s8d7f6g5h4j3k2l1", "meeting_topic": "Meeting with John", "start_time": "2023-07-10 14:00:00",
        "end_time": "2023-07-10 15:00:00", "location": "meeting room", "attendees": "['John']"})


def test_real_api_bank_root_and_catalog(real):
    assert detect_source(real / "api-bank") == "api-bank"
    seeds = load_seeds(real / "api-bank")
    assert len(seeds) == 213 + 50 + 50 + 135 and not seeds.errors
    catalog = load_catalog(real / "api-bank" / "all_apis.csv")
    assert len(catalog) == 101 and catalog["ImageCaption"].parameters["required"] == ["image"]


def test_real_toolace_sharegpt(real):
    f = real / "toolace" / "sharegpt_func_fixed.json"
    assert detect_source(f) == "toolace"
    seeds = load_seeds(f)
    assert len(seeds) == 100 and not seeds.errors and all(s.query for s in seeds)
    s0 = seeds[0]
    assert [c.name for c in s0.tool_calls] == ["Market Trends API", "SEC Filings",
                                               "United States Away from Home Mobility API"]
    assert s0.tool_calls[0].arguments == {"trend_type": "MARKET_INDEXES", "country": "us"}
    assert s0.provenance["raw_call_names"] == ["API", "Filings", "API"]
    assert [c.name for c in seeds[74].tool_calls] == ["Get Translation"] * 3 + [
        "Get Available Languages for High-Quality Translation"]
    assert [c.name for c in seeds[81].tool_calls][-1] == "findpincodebysubdistrict"
    n_calls = 0
    for s in seeds:  # every mangled name was recovered to a listed tool
        names = {t.name for t in s.tools}
        n_calls += len(s.tool_calls)
        assert all(c.name in names for c in s.tool_calls), s.seed_id
    assert n_calls == 200
