"""Append-only JSONL results with whole-line writes and torn-line recovery.

Each finished episode is one line, written with a single ``os.write`` on an ``O_APPEND`` descriptor
and fsync'ed. A process killed mid-write leaves at most one partial last line; ``recover`` detects it
(no trailing newline, or not valid JSON) and truncates the file back to the last complete line, so a
resumed run neither loses finished episodes nor records one twice.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Iterator

from .record import RecordError, read_record

log = logging.getLogger("stt_arena.eval")

RESULTS = "results.jsonl"
ERRORS = "errors.jsonl"
CONFIG = "config.json"
SUMMARY = "summary.json"
PENDING = "pending_judge.jsonl"  # finished episodes whose judge failed: only the judge runs again


class StoreWriteError(OSError):
    """The results directory cannot be written (disk full, read-only, quota): the run stops; everything
    written before stays valid and ``--resume`` continues from it."""


class ResultsFileError(ValueError):
    """A results file is corrupt in a way recovery cannot fix; the message names file and line."""


def _dumps(obj: Any) -> str:
    """One JSON line; ASCII-escaped where the text is not valid UTF-8 (a model's lone surrogate escape
    such as ``"\\udc80"``: found in review, it made every later write fail and lost finished episodes)."""
    text = json.dumps(obj, ensure_ascii=False, default=str, separators=(",", ":"))
    if not text.isascii():  # ASCII (the usual case) is valid UTF-8: no second encoding
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(obj, ensure_ascii=True, default=str, separators=(",", ":"))
    return text


def recover_jsonl(path: Path) -> tuple[list[dict], int]:
    """Records of a JSONL file, truncating a torn last line. Returns (records, dropped bytes)."""
    if not path.exists():
        return [], 0
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1  # bytes after the last newline are a torn write
    good, dropped = data[:end], len(data) - end
    lines = good.split(b"\n")[:-1] if good else []
    records: list[dict] = []
    offset = 0
    for n, raw in enumerate(lines, 1):
        try:
            rec = json.loads(raw)
            if not isinstance(rec, dict):
                raise ValueError("not an object")
        except ValueError as e:
            if n == len(lines):  # a complete but garbled last line: also a torn write
                dropped += len(raw) + 1
                end = offset
                break
            raise ResultsFileError(f"{path}:{n}: invalid record ({e}); fix or delete this line") from None
        records.append(rec)
        offset += len(raw) + 1
    if dropped:
        log.warning("%s: dropped a torn last line (%d bytes)", path, dropped)
        with path.open("r+b") as f:
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())
    return records, dropped


def _unlink(p: Path) -> None:
    try:
        p.unlink(missing_ok=True)
    except OSError:
        pass


def read_jsonl(path: Path) -> Iterator[dict]:
    """Read-only: complete lines only (a torn last line is skipped, not repaired)."""
    with Path(path).open("rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.endswith(b"\n"):
                break
            try:
                yield json.loads(raw)
            except ValueError:
                raise ResultsFileError(f"{path}:{n}: invalid JSON record") from None


class JsonlAppender:
    def __init__(self, path: Path, fsync: bool = True):
        self.path = path
        self.fsync = fsync
        self._lock = threading.Lock()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, record: dict) -> None:
        data = (_dumps(record) + "\n").encode("utf-8")
        with self._lock:
            if self._fd < 0:
                raise StoreWriteError(f"cannot write {self.path}: the results store is closed")
            view = memoryview(data)
            try:
                while view:
                    n = os.write(self._fd, view)
                    view = view[n:]
                if self.fsync:
                    os.fsync(self._fd)
            except OSError as e:
                raise StoreWriteError(e.errno, f"cannot write {self.path}: {e.strerror or e}") from e

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


TRAJECTORY_KEYS = ("messages", "steps", "events", "final_state", "tools")


def slim(record: dict) -> dict:
    """A record without its trajectory (what metrics and progress need; the file keeps everything)."""
    return {k: v for k, v in record.items() if k not in TRAJECTORY_KEYS}


class ResultsStore:
    """``DIR/results.jsonl`` (one record per finished episode), ``errors.jsonl`` (infrastructure
    failures, retried on resume), ``config.json`` and ``summary.json``.

    ``records`` holds each episode's record without its trajectory (``slim``): a long run keeps
    thousands, and full trajectories would make memory and garbage-collection pauses grow with the run.
    """

    def __init__(self, root: str | Path, fsync: bool = True):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.records, self.dropped_bytes = recover_jsonl(self.root / RESULTS)
        _, _ = recover_jsonl(self.root / ERRORS)
        seen: set[tuple[str, int]] = set()
        unique = []
        for r in self.records:
            k = (str(r.get("task_id")), int(r.get("run", 0)))
            if k not in seen:
                seen.add(k)
                unique.append(slim(r))
        self.records = unique
        self.done = seen
        pending, _ = recover_jsonl(self.root / PENDING)
        self.pending = {(str(r.get("task_id")), int(r.get("run", 0))): r for r in pending}
        for k in list(self.pending):
            if k in self.done:
                del self.pending[k]
        self.compact_errors(drop_unassigned=True)
        self._results = JsonlAppender(self.root / RESULTS, fsync)
        self._errors = JsonlAppender(self.root / ERRORS, fsync)
        self._pending = JsonlAppender(self.root / PENDING, fsync)

    def has(self, task_id: str, run: int) -> bool:
        return (task_id, run) in self.done

    def add(self, record: dict) -> bool:
        """Append one finished episode (validated: every record written reads back, ``load_results``)."""
        k = (record["task_id"], int(record["run"]))
        if k in self.done:
            return False
        read_record(record, f"episode record {k}")
        self._results.append(record)
        self.done.add(k)
        self.records.append(slim(record))
        return True

    def add_error(self, record: dict) -> None:
        self._errors.append(record)

    def add_pending(self, record: dict) -> None:
        """A finished episode whose judge failed (kept so that only the judge runs on --resume)."""
        k = (record["task_id"], int(record["run"]))
        if k not in self.done and k not in self.pending:
            self._pending.append(record)
            self.pending[k] = record

    def compact_errors(self, drop_unassigned: bool = False) -> None:
        """errors.jsonl keeps only episodes still not done (a resumed run that finished them clears
        them); ``drop_unassigned``: also entries of no episode (a crashed worker of an earlier session)."""
        p = self.root / ERRORS
        if not p.exists():
            return
        errs, _ = recover_jsonl(p)
        keep = [e for e in errs if (e.get("task_id") is None and not drop_unassigned)
                or (e.get("task_id") is not None and (e.get("task_id"), int(e.get("run") or 0)) not in self.done)]
        if len(keep) != len(errs):
            self._rewrite(p, keep)
        pp = self.root / PENDING
        if pp.exists() and getattr(self, "pending", None) is not None:
            recs, _ = recover_jsonl(pp)
            left = [r for r in recs if (r.get("task_id"), int(r.get("run", 0))) not in self.done]
            if len(left) != len(recs):
                self._rewrite(pp, left)

    def _rewrite(self, p: Path, recs: list[dict]) -> None:
        tmp = p.with_suffix(p.suffix + ".tmp")
        try:
            with tmp.open("w", encoding="utf-8") as f:
                f.writelines(_dumps(r) + "\n" for r in recs)
            os.replace(tmp, p)
        except OSError as e:
            _unlink(tmp)
            raise StoreWriteError(e.errno, f"cannot write {p}: {e.strerror or e}") from e
    def read_config(self) -> dict | None:
        p = self.root / CONFIG
        return json.loads(p.read_text()) if p.exists() else None

    def write_json(self, name: str, obj: Any) -> Path:
        p = self.root / name
        tmp = p.with_suffix(p.suffix + ".tmp")
        try:
            tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")
            os.replace(tmp, p)
        except OSError as e:  # never leave an empty or partial .tmp behind
            _unlink(tmp)
            raise StoreWriteError(e.errno, f"cannot write {p}: {e.strerror or e}") from e
        return p

    def close(self) -> None:
        self._results.close()
        self._errors.close()
        self._pending.close()


def load_results(root: str | Path) -> tuple[list[dict], dict]:
    """(records, config) of a results directory (or of a bare results JSONL file, with an empty config),
    read-only; every record is validated against the trajectory schema (``results.record``): a clear
    error naming file, line and field when one does not match, or when the path is neither."""
    root = Path(root)
    p = root if root.is_file() else root / RESULTS
    if not p.exists():
        raise ResultsFileError(f"{root}: not a results directory (no {RESULTS})")
    recs, seen = [], set()
    for n, r in enumerate(read_jsonl(p), 1):
        try:
            read_record(r, f"{p}:{n}")
        except RecordError as e:
            raise ResultsFileError(str(e)) from None
        k = (r.get("task_id"), r.get("run"))
        if root.is_file() or k not in seen:
            seen.add(k)
            recs.append(r)
    cfg_path = root / CONFIG
    cfg = json.loads(cfg_path.read_text()) if not root.is_file() and cfg_path.exists() else {}
    return recs, cfg
