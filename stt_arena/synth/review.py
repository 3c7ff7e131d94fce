"""Human review: a static HTML page per task plus a CSV sheet to fill in, and the import of decisions."""
from __future__ import annotations

import csv
import html
import json
from pathlib import Path

from ..task.models import Task

SHEET = "review.csv"
COLUMNS = ["task_id", "conflict_type", "level", "query", "decision", "note"]
ACCEPT = {"accept", "accepted", "yes", "y", "1", "ok", "keep"}
REJECT = {"reject", "rejected", "no", "n", "0", "drop"}


def _pre(obj) -> str:
    text = obj if isinstance(obj, str) else json.dumps(obj, indent=2, ensure_ascii=False)
    return f"<pre>{html.escape(text)}</pre>"


def task_html(task: Task) -> str:
    e = html.escape
    rows = "".join(f"<tr><td>{e(c.id)}</td><td>{e(c.kind)}</td><td>{e(c.description)}</td></tr>" for c in task.checklist)
    plan = lambda steps: "<ol>" + "".join(  # noqa: E731
        f"<li><code>{e(s.method)}</code> <i>{e(s.role)}</i> {e(json.dumps(s.arguments, ensure_ascii=False))}</li>"
        for s in steps) + "</ol>"
    extra = task.provenance.extra
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{e(task.task_id)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}}pre{{background:#f4f4f4;padding:8px;overflow:auto;max-height:420px}}
td{{border-bottom:1px solid #ddd;padding:3px 8px;vertical-align:top}}</style></head><body>
<h1>{e(task.task_id)}</h1><p><b>{e(task.conflict_type)}</b> / <b>{e(task.level)}</b> &middot; env {e(task.environment.class_name)}
&middot; seed {e(str(extra.get('seed_id')))}</p>
<h2>User query</h2><blockquote>{e(task.query)}</blockquote>
<h2>Scenario</h2><p>{e(task.provenance.notes)}</p>
<h2>User profile</h2>{_pre(task.user_profile.model_dump())}
<h2>Blueprint</h2>{_pre(task.blueprint.model_dump())}
<h2>Triggers</h2>{_pre([t.model_dump() for t in task.triggers])}
<h2>Checklist</h2><table>{rows}</table>
<h2>Normal plan (must fail)</h2>{plan(task.plans.normal)}
<h2>Oracle plan (must pass)</h2>{plan(task.plans.oracle)}
<h2>Automatic checks</h2>{_pre({k: extra.get(k) for k in ('invariants', 'check_agent', 'audit')})}
<h2>Init config</h2>{_pre(task.environment.init_config)}
<h2>Environment code</h2>{_pre(task.environment.source)}
<p>Record your decision (accept / reject) and a note in <code>{SHEET}</code>, then run
<code>stt-arena synth review-import</code>.</p></body></html>
"""


def export_review(tasks: list[Task], out_dir: Path | str) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    links = []
    for t in tasks:
        (out_dir / f"{t.task_id}.html").write_text(task_html(t), encoding="utf-8")
        links.append(f'<li><a href="{html.escape(t.task_id)}.html">{html.escape(t.task_id)}</a> '
                     f"{html.escape(t.conflict_type)}/{html.escape(t.level)}: {html.escape(t.query[:120])}</li>")
    (out_dir / "index.html").write_text("<!doctype html><meta charset='utf-8'><h1>Synthesised tasks for review</h1><ul>"
                                        + "".join(links) + "</ul>", encoding="utf-8")
    sheet = out_dir / SHEET
    old = read_decisions(sheet) if sheet.exists() else {}
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for t in tasks:
            d, note = old.get(t.task_id, ("", ""))
            w.writerow({"task_id": t.task_id, "conflict_type": t.conflict_type, "level": t.level,
                        "query": t.query, "decision": d, "note": note})
    return sheet


def read_decisions(sheet: Path | str) -> dict[str, tuple[str, str]]:
    out = {}
    with Path(sheet).open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            tid = (row.get("task_id") or "").strip()
            if tid:
                out[tid] = ((row.get("decision") or "").strip().lower(), (row.get("note") or "").strip())
    return out


def apply_decisions(tasks: list[Task], decisions: dict[str, tuple[str, str]], undecided: str = "drop"
                    ) -> tuple[list[Task], dict[str, list[str]]]:
    """Accepted tasks (with the reviewer's note in provenance) and the ids per outcome."""
    kept: list[Task] = []
    outcome: dict[str, list[str]] = {"accepted": [], "rejected": [], "undecided": [], "unknown_decision": []}
    for t in tasks:
        d, note = decisions.get(t.task_id, ("", ""))
        if d in ACCEPT or (not d and undecided == "keep"):
            t = t.model_copy(deep=True)
            t.provenance.extra["review"] = {"decision": "accept" if d else "undecided", "note": note}
            kept.append(t)
            outcome["accepted" if d else "undecided"].append(t.task_id)
        elif d in REJECT:
            outcome["rejected"].append(t.task_id)
        elif not d:
            outcome["undecided"].append(t.task_id)
        else:
            outcome["unknown_decision"].append(t.task_id)
    return kept, outcome
