"""Shared pieces of the stages: statistics, rejections, JSONL files, concurrent item runs."""
from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable

from pydantic import BaseModel
from tqdm import tqdm

from ..task.models import ChecklistItem, Environment, Task
from .llm import DryRunStop, LLMError, StructuredOutputError


class Reject(Exception):
    """An item is discarded: ``code`` is the reason category, ``detail`` the specifics."""

    def __init__(self, code: str, detail: str = ""):
        self.code, self.detail = code, detail
        super().__init__(f"{code}: {detail}" if detail else code)


@dataclass
class StageStats:
    stage: str
    n_in: int = 0
    kept: int = 0
    rejected: Counter = field(default_factory=Counter)
    dry_run_pending: int = 0
    llm: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"stage": self.stage, "in": self.n_in, "kept": self.kept, "rejected": dict(self.rejected),
                "rejected_total": sum(self.rejected.values()), "dry_run_pending": self.dry_run_pending,
                "llm": self.llm}


@dataclass
class Rejection:
    item_id: str
    stage: str
    code: str
    detail: str
    record: dict | None = None

    def as_dict(self) -> dict:
        return {"item_id": self.item_id, "stage": self.stage, "reason": self.code, "detail": self.detail,
                **({"record": self.record} if self.record is not None else {})}


def read_jsonl(path: Path | str, model: type[BaseModel] | None = None) -> list:
    out = []
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except ValueError as e:
                raise ValueError(f"{path}: line {n}: not JSON ({e})") from None
            out.append(model.model_validate(d) if model else d)
    return out


def write_jsonl(path: Path | str, rows: Iterable[Any]) -> int:
    """Atomic write (tmp file + rename): a killed run never leaves a half-written stage output."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for r in rows:
                d = r.model_dump(mode="json", exclude_none=False) if isinstance(r, BaseModel) else r
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")
                n += 1
            os.fchmod(fh.fileno(), normal_mode())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return n


def normal_mode() -> int:
    """0666 less the umask: what ``open(path, "w")`` would create (mkstemp makes 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_json(path: Path | str, obj: Any) -> None:
    """Atomic JSON write with normal permissions."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")
            os.fchmod(fh.fileno(), normal_mode())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def side_paths(out: Path) -> tuple[Path, Path]:
    """``<out>.rejected.jsonl`` and ``<out>.stats.json`` next to a stage output."""
    stem = out.name[:-6] if out.name.endswith(".jsonl") else out.name
    return out.with_name(stem + ".rejected.jsonl"), out.with_name(stem + ".stats.json")


def attempts_path(out: Path) -> Path:
    """``<out>.attempts.jsonl``: every checked LLM answer (item, prompt, attempt, ok, reason, error)."""
    stem = out.name[:-6] if out.name.endswith(".jsonl") else out.name
    return out.with_name(stem + ".attempts.jsonl")


def slug(text: str, n: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:n] or "x"


def probe_task(class_name: str, code: str, init_config: dict, triggers: list | None = None,
               clock: dict | None = None) -> Task:
    """A throwaway Task wrapping env code so the sandbox Executor can run it."""
    env = Environment(class_name=class_name, source=code, init_config=init_config, **({"clock": clock} if clock else {}))
    return Task(task_id="probe", conflict_type="T1", level="easy", environment=env, query="probe",
                triggers=triggers or [],
                checklist=[ChecklistItem(id="probe", check="def check(state):\n    return True\n")])


async def run_items(items: list, worker: Callable[[Any], Awaitable[list]], stats: StageStats,
                    rejections: list[Rejection], item_id: Callable[[Any], str], stage: str,
                    desc: str, progress: bool = True) -> list:
    """Run ``worker`` on every item concurrently; each returns a list of kept records or raises Reject.
    LLM failures reject the item (recorded); DryRunStop only counts it as pending."""
    results: list[list] = [[] for _ in items]
    bar = tqdm(total=len(items), desc=desc, disable=not progress, leave=False)

    async def one(i: int, it: Any) -> None:
        try:
            results[i] = await worker(it)
        except DryRunStop:
            stats.dry_run_pending += 1
        except Reject as r:
            stats.rejected[r.code] += 1
            rejections.append(Rejection(item_id(it), stage, r.code, r.detail))
        except StructuredOutputError as e:  # repairs ran out: the reason is the last failure's
            stats.rejected[e.code] += 1
            rejections.append(Rejection(item_id(it), stage, e.code, str(e)))
        except LLMError as e:
            stats.rejected["llm_error"] += 1
            rejections.append(Rejection(item_id(it), stage, "llm_error", str(e)))
        finally:
            bar.update(1)

    await asyncio.gather(*(one(i, it) for i, it in enumerate(items)))
    bar.close()
    kept = [r for rs in results for r in rs]
    return kept
