"""Matplotlib charts (Agg backend): radar over the nine conflict types, grouped bars per level."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..results.metrics import LEVELS, TYPES  # noqa: E402


STYLES = [("-", "o"), ("--", "s"), ("-.", "^"), (":", "D"), ("-", "v"), ("--", "P"), ("-.", "X"), (":", "*")]


def _label(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def radar(runs, path: Path) -> Path:
    """pass@1 per conflict type, written to ``path`` (see ``radar_figure``)."""
    fig = radar_figure(runs)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def radar_figure(runs):
    """0% sits on a ring (not the centre) and every run has its own line style and markers, so a 0% run and
    runs with equal values stay visible; the legend sits below the plot."""
    angles = [2 * math.pi * i / len(TYPES) for i in range(len(TYPES))] + [0.0]
    fig = plt.figure(figsize=(7, 7.6))
    ax = fig.add_subplot(111, polar=True)
    ax.set_rorigin(-18)  # 0% is a ring, not the centre point
    seen: dict[tuple, str] = {}
    for k, r in enumerate(runs):
        vals = []
        for ty in TYPES:
            s = r.metrics["by_type"].get(ty)
            vals.append(100 * s["pass_at_k"]["1"]["value"] if s and "1" in s["pass_at_k"] else 0.0)
        vals.append(vals[0])
        ls, marker = STYLES[k % len(STYLES)]
        label = _label(r.label)
        if tuple(vals) in seen:
            label += f" (= {seen[tuple(vals)]})"
        seen.setdefault(tuple(vals), _label(r.label, 16))
        ax.plot(angles, vals, linestyle=ls, marker=marker, markersize=6 + 2 * (len(runs) - 1 - k) / max(1, len(runs)),
                linewidth=1.8, label=label, alpha=0.9, zorder=3 + k)
        ax.fill(angles, vals, alpha=0.08)
    ax.set_xticks(angles[:-1])
    ax.set_xticklabels(TYPES)
    ax.set_ylim(0, 100)
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.set_yticklabels(["0", "25", "50", "75", "100"], fontsize=8)
    fig.suptitle("pass@1 (%) per conflict type", y=0.98)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=2 if len(runs) > 3 else 1, fontsize=8,
              frameon=False)
    fig.subplots_adjust(top=0.88, bottom=0.2)
    return fig


def level_bars(runs, path: Path) -> Path:
    """Pass rate per level, written to ``path`` (see ``level_bars_figure``)."""
    fig = level_bars_figure(runs)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def level_bars_figure(runs):
    """Every bar carries its value (a 0% bar is a labelled stub, missing data 'n/a')."""
    cats = [*LEVELS, "overall"]
    fig, ax = plt.subplots(figsize=(8.5, 5))
    width = 0.8 / max(1, len(runs))
    for i, r in enumerate(runs):
        t = r.metrics["table3"]
        means = [None if t.get(c, {}).get("mean") is None else 100 * t[c]["mean"] for c in cats]
        stds = [100 * (t.get(c, {}).get("std") or 0) for c in cats]
        xs = [j + (i - (len(runs) - 1) / 2) * width for j in range(len(cats))]
        shown = [0.8 if m == 0 else (m or 0) for m in means]  # a visible stub for 0%
        bars = ax.bar(xs, shown, width, yerr=[s if m else 0 for s, m in zip(stds, means)], capsize=3,
                      label=_label(r.label))
        for b, m in zip(bars, means):
            ax.annotate("n/a" if m is None else f"{m:.0f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(range(len(cats)))
    ax.set_xticklabels([c.capitalize() for c in cats])
    ax.set_ylabel("pass rate (%)")
    ax.set_ylim(0, 112)
    ax.set_title("Pass rate per level (mean ± std over runs)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=min(4, max(1, len(runs))),
              frameon=False)
    fig.subplots_adjust(bottom=0.22)
    return fig
