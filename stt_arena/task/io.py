"""Task files: JSONL, one task a line; clear errors naming file, line and field; atomic writes."""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from .models import Task, UserProfile
from .paper_schema import normalize_profile, task_blueprint


class TaskFileError(ValueError):
    """A task file could not be read; the message names the file, line and field."""


_PAPER_KEYS = {  # field names the paper's public release is likely to use -> ours
    "id": "task_id", "type": "conflict_type", "conflict": "conflict_type", "difficulty": "level",
    "user_query": "query", "instruction": "query", "question": "query",
}
_SOURCE_KEYS = ("env_code", "environment_code", "env_class_code", "class_code", "code", "env_source")
_CLASS_KEYS = ("class_name", "env_class_name", "env_class", "env_name")


def _class_of(source: str) -> str | None:
    m = re.search(r"^class\s+([A-Za-z_]\w*)", source, re.M)
    return m.group(1) if m else None


def from_paper(d: dict[str, Any]) -> dict[str, Any]:
    """Map paper-release field names onto the task format (our own names pass through unchanged)."""
    d = dict(d)
    for old, new in _PAPER_KEYS.items():
        if old in d and new not in d:
            d[new] = d.pop(old)
    if "environment" not in d or not isinstance(d["environment"], dict):
        env: dict[str, Any] = {}
        for k in _SOURCE_KEYS:
            if isinstance(d.get(k), str):
                env["source"] = d.pop(k)
                break
        for k in _CLASS_KEYS:
            if isinstance(d.get(k), str):
                env["class_name"] = d.pop(k)
                break
        if "init_config" in d:
            env["init_config"] = d.pop("init_config")
        if "source" in env and "class_name" not in env:
            env["class_name"] = _class_of(env["source"]) or ""
        if env:
            d["environment"] = env
    if isinstance(d.get("level"), str):
        d["level"] = d["level"].strip().lower()
    if isinstance(d.get("conflict_type"), str):
        d["conflict_type"] = d["conflict_type"].strip().upper()
    _paper_blueprint_and_profile(d)
    items = []
    for i, it in enumerate(d.get("checklist") or []):
        if isinstance(it, dict):
            it = dict(it)
            if "check" not in it:
                for k in ("check_func", "check_function", "func", "code"):
                    if k in it:
                        it["check"] = it.pop(k)
                        break
            if "id" not in it:
                it["id"] = str(it.pop("item_id", it.pop("name", f"c{i + 1}")))
            if "description" not in it and "criterion" in it:
                it["description"] = it.pop("criterion")
        items.append(it)
    if items:
        d["checklist"] = items
    known = set(Task.model_fields)
    extra = {k: d.pop(k) for k in list(d) if k not in known}
    if extra:
        prov = dict(d.get("provenance") or {})
        prov.setdefault("extra", {}).update({"unmapped_fields": extra})
        d["provenance"] = prov
    return d


def _paper_blueprint_and_profile(d: dict[str, Any]) -> None:
    """A blueprint in the paper's appendix form and a profile with the paper's names, mapped in place
    (``paper_schema``); what has no field of ours goes to ``provenance.extra``."""
    extra: dict[str, Any] = {}
    notes = ""
    if "blueprint" in d:
        try:
            bp, meta = task_blueprint(d["blueprint"])
        except ValueError as e:
            raise TaskFileError(f"field 'blueprint': {e}") from None
        d["blueprint"] = bp
        for field, paper in (("conflict_type", "conflict_type"), ("level", "difficulty")):
            if field in meta:
                if d.get(field) in (None, ""):
                    d[field] = meta[field]
                elif d[field] != meta[field]:
                    raise TaskFileError(f"field 'blueprint.{paper}': {meta[field]!r} disagrees with the task's "
                                        f"{field} {d[field]!r}")
        notes = meta.get("scenario", "")
        extra.update({k: meta[k] for k in ("scenario_id", "env_id") if k in meta})
    prof = d.get("user_profile")
    if isinstance(prof, list) or isinstance(prof, dict) and (
            set(prof) - set(UserProfile.model_fields) or any(isinstance(prof.get(k), list)
                                                             for k in ("known_facts", "withheld_facts"))):
        prof, pextra = normalize_profile(prof)
        d["user_profile"] = prof
        if pextra:
            extra["profile_extra"] = pextra
    if extra or notes:
        prov = dict(d.get("provenance") or {})
        if notes and not prov.get("notes"):
            prov["notes"] = notes
        prov["extra"] = {**extra, **(prov.get("extra") or {})}
        d["provenance"] = prov


def _fmt(err: ValidationError) -> str:
    parts = []
    for e in err.errors()[:5]:
        loc = ".".join(str(x) for x in e["loc"]) or "(task)"
        parts.append(f"field '{loc}': {e['msg']}")
    return "; ".join(parts)


def parse_task(d: dict[str, Any], where: str = "") -> Task:
    try:
        return Task.model_validate(from_paper(d))
    except ValidationError as e:
        raise TaskFileError(f"{where}: {_fmt(e)}") from None
    except TaskFileError as e:
        raise TaskFileError(f"{where}: {e}") from None


def iter_tasks(path: str | Path) -> Iterable[Task]:
    path = Path(path)
    if not path.exists():
        raise TaskFileError(f"{path}: no such file")
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                raise TaskFileError(f"{path}:{n}: invalid JSON ({e.msg} at column {e.colno})") from None
            if not isinstance(d, dict):
                raise TaskFileError(f"{path}:{n}: a task must be a JSON object")
            tid = d.get("task_id") or d.get("id") or "?"
            yield parse_task(d, f"{path}:{n} (task {tid})")


def load_tasks(path: str | Path) -> list[Task]:
    tasks = list(iter_tasks(path))
    seen: dict[str, int] = {}
    for i, t in enumerate(tasks):
        if t.task_id in seen:
            raise TaskFileError(f"{path}: duplicate task_id {t.task_id!r} (tasks {seen[t.task_id] + 1} and {i + 1})")
        seen[t.task_id] = i
    return tasks


def dump_task(task: Task) -> str:
    return json.dumps(task.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))


def save_tasks(tasks: Iterable[Task], path: str | Path) -> int:
    """Write atomically: a crash mid-write leaves the previous file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for t in tasks:
                f.write(dump_task(t) + "\n")
                n += 1
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def to_hf_rows(tasks: Iterable[Task]) -> list[dict[str, Any]]:
    """Flat rows for ``datasets.Dataset.from_list``: scalar columns plus the whole task as JSON."""
    return [{"task_id": t.task_id, "conflict_type": t.conflict_type, "level": t.level, "query": t.query,
             "domain": t.provenance.domain, "class_name": t.environment.class_name, "task_json": dump_task(t)}
            for t in tasks]


def from_hf_row(row: dict[str, Any]) -> Task:
    return parse_task(json.loads(row["task_json"]) if "task_json" in row else row, f"row {row.get('task_id')}")
