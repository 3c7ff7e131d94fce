"""API-Bank seed loader: dialogue JSONL files, ``test-data/level-3.json`` and ``test-data/level-2-api.json``.

API descriptions come from ``all_apis.csv`` and initial databases from ``init_database/`` when found in the
data folder or one of its parents (or passed explicitly); ToolSearcher results fill in the APIs the catalogue
lacks.
"""
from __future__ import annotations

import ast
import csv
import json
import re
from functools import cached_property
from pathlib import Path
from typing import Any

from .callparse import parse_call_prefix, parse_calls
from .common import Collector, files_under, first_user_text, jsonl_lines, loads_line, read_json, to_text
from .models import Message, SeedFormatError, SeedList, SeedQuery, ToolCall, ToolSchema

SOURCE = "api-bank"
_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "list": "array",
          "dict": "object", "datetime": "string"}
_PY_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"),
             (dict, "object"))
_CATEGORY_EN = {"对外影响": "effect", "获取信息": "info", "数据库操作": "database", "数据库查询": "database-query",
                "外界信息查询": "external-query", "其他AI模型": "ai-model", "实时通信": "messaging", "工具": "tool",
                "增": "create", "删": "delete", "改": "update", "查": "read"}
# Which init_database/<Name>.json backs each stateful API (``database_name`` in API-Bank's apis/*.py).
_DATABASES = {
    "Account": "GetUserToken RegisterUser DeleteAccount ModifyPassword ForgotPassword",
    "Agenda": "AddAgenda DeleteAgenda ModifyAgenda QueryAgenda",
    "Alarm": "AddAlarm DeleteAlarm ModifyAlarm QueryAlarm",
    "Meeting": "AddMeeting DeleteMeeting ModifyMeeting QueryMeeting",
    "Reminder": "AddReminder DeleteReminder ModifyReminder QueryReminder GetReminder",
    "Appointments": "AppointmentRegistration CancelRegistration ModifyRegistration QueryRegistration",
    "Bank": "OpenBankAccount QueryBalance",
    "HealthData": "QueryHealthData RecordHealthData",
    "Hotel": "BookHotel",
    "Scenes": "AddScene DeleteScene ModifyScene QueryScene",
    "TimeSwitch": "TimedSwitch CancelTimedSwitch",
    "Stock": "QueryStock",
    "Symptom": "SymptomSearch EmergencyKnowledge",
}
_DB_OF = {api: db for db, apis in _DATABASES.items() for api in apis.split()}
TOOL_SEARCHER: dict[str, Any] = {"name": "ToolSearcher", "description": "Searches for relevant tools in library based on the keywords.",
                 "input_parameters": {"keywords": {"type": "str", "description": "The keyword to search for."}}}
_ROLES = {"User": "user", "AI": "assistant"}


class ApiBankResources:
    """The API catalogue (``all_apis.csv``) and initial databases (``init_database/``), both optional."""

    def __init__(self, catalog: Path | None = None, db_dir: Path | None = None):
        self.catalog_path, self.db_dir = catalog, db_dir
        self._dbs: dict[str, Any] = {}

    @classmethod
    def near(cls, path: Path, catalog: Path | None = None, db_dir: Path | None = None) -> "ApiBankResources":
        """Find ``all_apis.csv`` / ``init_database`` in ``path`` or up to three parents."""
        base = path if path.is_dir() else path.parent
        for folder in [base, *base.parents][:4]:
            catalog = catalog or _existing(folder / "all_apis.csv")
            db_dir = db_dir or _existing(folder / "init_database")
        return cls(catalog, db_dir)

    @cached_property
    def catalog(self) -> dict[str, ToolSchema]:
        return load_catalog(self.catalog_path) if self.catalog_path else {}

    def database(self, name: str) -> Any | None:
        if self.db_dir is None:
            return None
        if name not in self._dbs:
            f = self.db_dir / f"{name}.json"
            self._dbs[name] = read_json(f) if f.is_file() else None
        return self._dbs[name]

    def databases_for(self, calls: list[ToolCall]) -> dict[str, Any] | None:
        """Initial databases of the stateful APIs called (Account too when a call passes a token)."""
        names = [_DB_OF.get(c.name) for c in calls]
        names += ["Account" for c in calls if "token" in c.arguments]
        out = {n: db for n in dict.fromkeys(n for n in names if n) if (db := self.database(n)) is not None}
        return json.loads(json.dumps(out)) if out else None  # a private copy per seed


def _existing(p: Path) -> Path | None:
    return p if p.exists() else None


def load_catalog(csv_path: Path) -> dict[str, ToolSchema]:
    """``all_apis.csv`` -> {class name: schema}; headers are Chinese (类名 = class name, 类型 = category...)."""
    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, ToolSchema] = {}
    for row in rows:
        name = (row.get("类名") or row.get("class_name") or row.get("name") or "").strip()
        if not name:
            continue
        info = _assignments(row.get("api_info") or "")
        params = info.get("input_parameters")
        if not isinstance(params, dict):
            params = _signature_params(row.get("input_parameters") or "")
        category = (row.get("类型") or "").strip()
        meta = {"category": "/".join(_CATEGORY_EN.get(p.strip(), p.strip()) for p in category.split("-")),
                "category_zh": category, "scenario_zh": (row.get("应用场景") or "").strip(),
                "output_parameters": info.get("output_parameters") or {}}
        out[name] = bank_schema(name, info.get("description") or "", params, **meta)
    return out


def _assignments(src: str) -> dict[str, Any]:
    """``description = "..."`` / ``input_parameters = {...}`` lines of an ``api_info`` cell."""
    try:
        body = ast.parse(src).body
    except SyntaxError:
        return {}
    out = {}
    for node in body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


def _signature_params(sig: str) -> dict[str, dict]:
    """``(image: str, n: int)`` -> API-Bank style parameter dict."""
    try:
        fn = ast.parse(f"def _f{sig.strip()}: pass").body[0]
    except SyntaxError:
        return {}
    if not isinstance(fn, ast.FunctionDef):
        return {}
    return {a.arg: {"type": ast.unparse(a.annotation) if a.annotation else "", "description": ""}
            for a in fn.args.args}


def bank_schema(name: str, description: str, params: dict, **meta: Any) -> ToolSchema:
    """API-Bank ``input_parameters`` ({arg: {type, description}}) -> JSON-schema parameters, all required."""
    props = {}
    for arg, spec in (params or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        t = str(spec.get("type", ""))
        js = _TYPES.get(t) or ("array" if t.lower().startswith("list") else None)
        props[arg] = {**({"type": js} if js else {}), "description": spec.get("description", "")}
    return ToolSchema(name=name, description=description,
                      parameters={"type": "object", "properties": props, "required": list(props)}, meta=meta)


def harvest_tools(obj: Any) -> dict[str, ToolSchema]:
    """API descriptions found anywhere in ``obj`` (e.g. ToolSearcher outputs): dicts with name+input_parameters."""
    found: dict[str, ToolSchema] = {}
    stack = [obj]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            if isinstance(cur.get("name"), str) and isinstance(cur.get("input_parameters"), dict):
                found.setdefault(cur["name"], bank_schema(cur["name"], cur.get("description", ""),
                                                          cur["input_parameters"],
                                                          output_parameters=cur.get("output_parameters") or {}))
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    return found


def _tools_for(calls: list[ToolCall], harvested: dict[str, ToolSchema], res: ApiBankResources) -> list[ToolSchema]:
    """Schemas of the called APIs: in-dialogue descriptions first, then the catalogue if it fits the calls.

    ``all_apis.csv`` often names parameters differently from the implemented APIs (``QueryStock(time)`` vs the
    ``date`` the dialogues pass); then the parameters are inferred from the calls and only the catalogue's
    description and category are kept. ``meta["schema_source"]`` says which happened.
    """
    tools = []
    for name in dict.fromkeys(c.name for c in calls):
        used = set().union(*(c.arguments for c in calls if c.name == name))
        schema = harvested.get(name)
        if schema is None and name == "ToolSearcher":
            schema = bank_schema(name, TOOL_SEARCHER["description"], TOOL_SEARCHER["input_parameters"])
        if schema is not None:
            schema = schema.model_copy(update={"meta": {**schema.meta, "schema_source": "dialogue"}})
        elif (cat := res.catalog.get(name)) and used <= set(cat.parameters["properties"]):
            schema = cat.model_copy(update={"meta": {**cat.meta, "schema_source": "catalog"}})
        else:
            meta = {**cat.meta, "schema_source": "observed"} if cat else {"schema_source": "observed"}
            schema = ToolSchema(name=name, description=cat.description if cat else "",
                                parameters=_observed_parameters(name, calls), meta=meta)
        tools.append(schema)
    return tools


def _observed_parameters(name: str, calls: list[ToolCall]) -> dict:
    """Parameters inferred from the argument values actually passed to ``name``."""
    props: dict[str, dict] = {}
    for c in calls:
        if c.name == name:
            for arg, value in c.arguments.items():
                js = next((t for py, t in _PY_TYPES if isinstance(value, py)), None)
                props.setdefault(arg, {"type": js} if js else {})
    return {"type": "object", "properties": props, "required": list(props)}


def _make_seed(seed_id: str, dialogue: list[Message], harvested: dict, res: ApiBankResources,
               provenance: dict) -> SeedQuery:
    calls = [c for m in dialogue for c in m.tool_calls]
    return SeedQuery(seed_id=seed_id, source=SOURCE, query=first_user_text(dialogue), dialogue=dialogue,
                     tools=_tools_for(calls, harvested, res), tool_calls=calls,
                     init_database=res.databases_for(calls), provenance=provenance)


def _level(text: str) -> int | None:
    m = re.search(r"level-(\d+)", text)
    return int(m.group(1)) if m else None


# --- (a) one dialogue per JSONL file -------------------------------------------------------------------------

def _dialogue_seed(path: Path, res: ApiBankResources) -> SeedQuery | None:
    dialogue: list[Message] = []
    harvested: dict[str, ToolSchema] = {}
    for n, line in jsonl_lines(path):
        row = loads_line(path, n, line)
        role = row.get("role") if isinstance(row, dict) else None
        if role in _ROLES:
            if not isinstance(row.get("text"), str):
                raise SeedFormatError(path, f"line {n}", f"{role} row without a 'text' string")
            dialogue.append(Message(role=_ROLES[role], content=row["text"]))
        elif role == "API":
            result = row.get("result") if isinstance(row.get("result"), dict) else {}
            name = row.get("api_name") or result.get("api_name")
            args = result.get("input") if isinstance(result.get("input"), dict) else row.get("param_dict")
            if not isinstance(name, str) or not isinstance(args, dict):
                raise SeedFormatError(path, f"line {n}", "API row needs 'api_name' and a 'param_dict' object")
            dialogue.append(Message(role="assistant", tool_calls=[ToolCall(name=name, arguments=args)]))
            exc = result.get("exception")
            dialogue.append(Message(role="tool", name=name,
                                    content=f"Exception: {exc}" if exc else to_text(result.get("output"))))
            if name == "ToolSearcher":
                harvested.update(harvest_tools(result.get("output")))
        else:
            raise SeedFormatError(path, f"line {n}", f"unknown role {role!r} (expected User/AI/API)")
    if not dialogue:
        return None
    if not first_user_text(dialogue):
        raise SeedFormatError(path, None, "dialogue has no User message")
    prov = {"path": str(path), "format": "dialogue", "file_level": _level(path.stem),
            "folder": path.parent.name, "folder_level": _level(path.parent.name)}
    return _make_seed(f"{SOURCE}:{path.stem}:0", dialogue, harvested, res, prov)


# --- (b) test-data/level-3.json ------------------------------------------------------------------------------

def _level3_seed(path: Path, i: int, item: dict, res: ApiBankResources) -> SeedQuery:
    if not isinstance(item.get("requirement"), str) or not isinstance(item.get("apis"), list):
        raise SeedFormatError(path, f"item {i}", "level-3 item needs 'requirement' (str) and 'apis' (list)")
    dialogue = [Message(role="user", content=item["requirement"].strip())]
    harvested: dict[str, ToolSchema] = {}
    for j, api in enumerate(item["apis"]):
        if not isinstance(api, dict) or not isinstance(api.get("api_name"), str):
            raise SeedFormatError(path, f"item {i}, apis[{j}]", "API entry needs 'api_name'")
        out = api.get("output")
        result = out if isinstance(out, dict) and "exception" in out else {"output": out}
        dialogue.append(Message(role="assistant",
                                tool_calls=[ToolCall(name=api["api_name"], arguments=api.get("input") or {})]))
        exc = result.get("exception")
        dialogue.append(Message(role="tool", name=api["api_name"],
                                content=f"Exception: {exc}" if exc else to_text(result.get("output"))))
        if api["api_name"] == "ToolSearcher":
            harvested.update(harvest_tools(result.get("output")))
    if item.get("response"):
        dialogue.append(Message(role="assistant", content=str(item["response"])))
    prov = {"path": str(path), "format": "level-3", "index": i, "file_level": 3}
    return _make_seed(f"{SOURCE}:{path.stem}:{i}", dialogue, harvested, res, prov)


# --- (c) test-data/level-2-api.json --------------------------------------------------------------------------

def _level2_seed(path: Path, i: int, item: dict, res: ApiBankResources) -> SeedQuery:
    where = f"item {i}"
    if not all(isinstance(item.get(k), str) for k in ("input", "expected_output")):
        raise SeedFormatError(path, where, "level-2 item needs 'input' and 'expected_output' strings")
    harvested: dict[str, ToolSchema] = {}
    for desc in str(item.get("instruction", "")).partition("API descriptions:")[2].strip().splitlines():
        try:
            harvested.update(harvest_tools(json.loads(desc)))
        except json.JSONDecodeError:
            pass
    dialogue: list[Message] = []
    for line in item["input"].split("\n"):
        head, _, rest = line.partition(": ")
        if head in _ROLES:
            dialogue.append(Message(role=_ROLES[head], content=rest))
        elif line.startswith("API-Request:"):
            text = line[len("API-Request:"):]
            calls, end = parse_call_prefix(text)
            dialogue.append(Message(role="assistant", tool_calls=[ToolCall(**c) for c in calls]))
            result = text[end:].strip().removeprefix("->")
            for c in calls:
                dialogue.append(Message(role="tool", name=c["name"], content=result))
            if calls and calls[0]["name"] == "ToolSearcher":
                try:
                    harvested.update(harvest_tools(ast.literal_eval(result)))
                except (ValueError, SyntaxError):
                    pass
        elif line.strip() and not line.startswith("Generate API Request") and dialogue:
            dialogue[-1].content += "\n" + line
    target = item["expected_output"].strip().removeprefix("API-Request:").strip()
    try:
        expected = parse_calls(target)
    except ValueError as e:
        raise SeedFormatError(path, where, f"bad expected_output {target[:60]!r}: {e}") from None
    dialogue.append(Message(role="assistant", tool_calls=[ToolCall(**c) for c in expected]))
    prov = {"path": str(path), "format": "level-2-api", "index": i, "id": item.get("id"),
            "dialogue_file": item.get("file"), "file_level": _level(str(item.get("file", ""))),
            "expected_output": item["expected_output"]}
    return _make_seed(f"{SOURCE}:{path.stem}:{i}", dialogue, harvested, res, prov)


def _json_kind(data: Any) -> str | None:
    first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    if "requirement" in first and "apis" in first:
        return "level-3"
    if "expected_output" in first and "input" in first:
        return "level-2-api"
    return None


def load_api_bank(path: str | Path, *, skip_bad: bool = False, catalog: str | Path | None = None,
                  init_db_dir: str | Path | None = None) -> SeedList:
    """Load API-Bank seeds from a dialogue file, a folder (searched recursively) or a test-data JSON file."""
    path = Path(path)
    res = ApiBankResources.near(path, Path(catalog) if catalog else None, Path(init_db_dir) if init_db_dir else None)
    sink = Collector(skip_bad)
    for f in files_under(path, (".jsonl", ".json")):
        if f.suffix == ".jsonl":
            with sink.row(f, None):
                seed = _dialogue_seed(f, res)
                if seed is None:
                    sink.seeds.skipped.append(f"{f}: empty dialogue file")
                else:
                    sink.seeds.append(seed)
            continue
        if path.is_dir() and res.db_dir and res.db_dir in f.parents:
            continue
        data = kind = None
        with sink.row(f, None):
            data = read_json(f)
            kind = _json_kind(data)
            if kind is None and f == path:
                raise SeedFormatError(f, None, "not an API-Bank level-3 or level-2-api JSON array")
        if kind is None:  # unreadable, or an unrelated JSON file inside a folder
            continue
        make = _level3_seed if kind == "level-3" else _level2_seed
        for i, item in enumerate(data):
            with sink.row(f, f"item {i}"):
                if not isinstance(item, dict):
                    raise SeedFormatError(f, f"item {i}", "expected a JSON object")
                sink.seeds.append(make(f, i, item, res))
    return sink.seeds
