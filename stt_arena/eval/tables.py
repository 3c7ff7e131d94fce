"""Rich tables of a summary: the paper's Table 3 and per-conflict-type pass@k / pass^k."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..results.metrics import LEVELS, fmt_ms, pct


def table3(rows: list[tuple[str, dict]], title: str = "Pass rate (%) by level, mean ± std over runs") -> Table:
    """``rows``: (label, metrics) pairs; one row per model."""
    t = Table(title=title)
    t.add_column("Model")
    first = rows[0][1]["table3"] if rows else {}
    for lv in (*LEVELS, "overall"):
        n = first.get(lv, {}).get("tasks", 0)
        t.add_column(f"{lv.capitalize()}\nn={n}", justify="right")
    t.add_column("Avg.\nCalls", justify="right")
    for label, m in rows:
        tb = m["table3"]
        calls = tb.get("overall", {}).get("avg_calls")
        t.add_row(label, *[fmt_ms(tb.get(lv, {})) for lv in (*LEVELS, "overall")],
                  "-" if calls is None else f"{calls:.2f}")
    return t


def type_table(m: dict, title: str = "Per conflict type (pass@k / pass^k in %, 95% bootstrap CI over tasks)") -> Table:
    t = Table(title=title)
    mk = m.get("max_k") or 1
    ks = [str(k) for k in sorted({k for k in (1, 2, 3, 4, 5, mk) if k <= mk})]  # all k are in summary.json
    for c in ("Type", "Tasks", "Eps", "pass@1", "95% CI"):
        t.add_column(c, justify="left" if c == "Type" else "right")
    for k in ks[1:]:
        t.add_column(f"pass@{k}", justify="right")
    for k in ks[1:]:
        t.add_column(f"pass^{k}", justify="right")
    for name, s in list(m.get("by_type", {}).items()) + [("All", {**m.get("overall", {}), "name": ""})]:
        v1 = s.get("pass_at_k", {}).get("1")
        cells = ["-", "-"] if not v1 else [pct(v1["value"]), f"{pct(v1['ci95'][0])}-{pct(v1['ci95'][1])}"]
        for k in ks[1:]:
            v = s.get("pass_at_k", {}).get(k)
            cells.append("-" if not v else pct(v["value"]))
        for k in ks[1:]:
            v = s.get("pass_hat_k", {}).get(k)
            cells.append("-" if not v else pct(v["value"]))
        t.add_row(name, str(s.get("tasks", 0)), str(s.get("episodes", 0)), *cells)
    return t


def print_summary(console: Console, summary: dict, label: str | None = None) -> None:
    m = summary["metrics"]
    console.print(table3([(label or summary.get("model", "?"), m)]))
    console.print(type_table(m))
    u = summary.get("usage", {})
    tok = ", ".join(f"{r}: {v.get('prompt_tokens', 0)}+{v.get('completion_tokens', 0)} tokens"
                    for r, v in u.items() if v.get("calls"))
    console.print(f"episodes {summary['completed_episodes']}/{summary['expected_episodes']}"
                  f" | terminations {m.get('terminations')} | graded by {m.get('graded_by')}"
                  + (f" | {tok}" if tok else "") + f" | cost ${summary.get('total_cost', 0):.4f}")
