"""Inspect logs of the ``stt_arena`` task as trajectory records (``results.record``), so ``stt-arena report``,
``analyze``, ``refine`` and ``export-sft`` read runs made from Inspect: ``write_results`` (``stt-arena
inspect-import``) turns a ``.eval`` / ``.json`` Inspect log into a results directory. (``results`` sits below
this package in the import layers, so ``load_results`` itself does not read Inspect logs.)

Each scored sample carries its record in its store (``stt_arena_record``); the scorer's grade (checklist and
judge, possibly re-scored with ``inspect score``) is taken from the score's metadata. Samples that ended in
an error (endpoint, sandbox) have no record: they are listed in the config's ``errors``, as ``errors.jsonl``
lists a run's infrastructure errors, and never counted as failures.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..results.record import RecordError, read_record
from ..results.store import ResultsFileError

RECORD_KEY = "stt_arena_record"  # the same key as task.RECORD_KEY (that module needs inspect_ai)
SCORER = "episode_scorer"
LOG_SUFFIXES = (".eval", ".json")


def is_inspect_log(path: str | Path) -> bool:
    p = Path(path)
    return p.is_file() and p.suffix in LOG_SUFFIXES


def _config(log: Any, path: Path, errors: list[dict]) -> dict:
    from ..data import benchmark_version, resolve_tasks
    from ..eval.runner import file_sha256

    args = dict(log.eval.task_args or {})
    solver: dict[str, Any] = next((st.params for st in (log.plan.steps if log.plan else []) if st.solver.endswith("episode_solver")), {})
    tasks = solver.get("tasks", args.get("tasks"))  # the solver's copy: a file's absolute path
    cfg: dict[str, Any] = {"label": log.eval.model, "source": "inspect_ai", "inspect_log": str(path),
                           "inspect_eval_id": log.eval.eval_id, "task_args": args, "errors": errors}
    try:
        tp = resolve_tasks(tasks)
        if tp.exists():
            cfg.update(tasks_sha256=file_sha256(tp), benchmark=benchmark_version(tp),
                       config={"tasks_path": str(tp.resolve())})
    except (OSError, ValueError):
        pass
    return cfg


def records_from_log(path: str | Path) -> tuple[list[dict], dict]:
    """(records, config) of an Inspect log of the ``stt_arena`` task, like ``load_results`` of a results
    directory. Raises ``ResultsFileError`` naming the file (and the sample) when it is not one."""
    p = Path(path)
    try:
        from inspect_ai.log import read_eval_log
    except ImportError:
        raise ResultsFileError(f"{p}: reading an Inspect log needs inspect_ai (pip install 'stt-arena[inspect]')") from None
    try:
        log = read_eval_log(str(p), resolve_attachments=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file: one clear error
        raise ResultsFileError(f"{p}: not a readable Inspect log ({type(e).__name__}: {str(e)[:200]})") from None
    if log.eval.task.split("/")[-1] != "stt_arena":
        raise ResultsFileError(f"{p}: an Inspect log of task {log.eval.task!r}, not of stt_arena")
    recs, errors = [], []
    for s in log.samples or []:
        where = f"{p}: sample {s.id} epoch {s.epoch}"
        rec = (s.store or {}).get(RECORD_KEY)
        score = (s.scores or {}).get(SCORER)
        if rec is None or score is None:
            errors.append({"task_id": str(s.id), "run": s.epoch - 1, "role": "harness", "cause": "inspect_sample_error",
                           "error": (s.error.message if s.error else "no episode record or score")[:500]})
            continue
        rec = dict(rec)
        meta = score.metadata or {}
        if "grade" in meta:
            rec["grade"], rec["passed"] = meta["grade"], bool(meta["passed"])
        rec["inspect"] = {"log": str(p), "eval_id": log.eval.eval_id, "sample_id": s.id, "epoch": s.epoch}
        try:
            read_record(rec, where)
        except RecordError as e:
            raise ResultsFileError(str(e)) from None
        recs.append(rec)
    return recs, _config(log, p, errors)


def write_results(log_path: str | Path, out_dir: str | Path) -> dict:
    """A results directory (``results.jsonl``, ``errors.jsonl``, ``config.json``) from an Inspect log; refuses
    a directory that already holds results (nothing there is overwritten)."""
    from ..results.store import ResultsStore

    recs, cfg = records_from_log(log_path)
    out = Path(out_dir)
    if (out / "results.jsonl").exists():
        raise ResultsFileError(f"{out}: already holds results.jsonl; choose an empty directory")
    store = ResultsStore(out)
    try:
        for r in recs:
            store.add(r)
        for e in cfg["errors"]:
            store.add_error(e)
        store.write_json("config.json", {k: v for k, v in cfg.items() if k != "errors"})
    finally:
        store.close()
    return {"records": len(recs), "errors": len(cfg["errors"]), "passed": sum(bool(r["passed"]) for r in recs),
            "out": str(out)}
