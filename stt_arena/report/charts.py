"""Matplotlib charts (Agg backend): radar over the nine conflict types, grouped bars per level."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..eval.metrics import LEVELS, TYPES  # noqa: E402


def radar(runs, path: Path) -> Path:
    angles = [2 * math.pi * i / len(TYPES) for i in range(len(TYPES))] + [0.0]
    fig = plt.figure(figsize=(6.5, 6.5))
    ax = fig.add_subplot(111, polar=True)
    for r in runs:
        vals = []
        for ty in TYPES:
            s = r.metrics["by_type"].get(ty)
            vals.append(100 * s["pass_at_k"]["1"]["value"] if s and "1" in s["pass_at_k"] else 0.0)
        vals.append(vals[0])
        ax.plot(angles, vals, linewidth=1.8, label=r.label)
        ax.fill(angles, vals, alpha=0.12)
    ax.set_xticks(angles[:-1])
    ax.set_xticklabels(TYPES)
    ax.set_ylim(0, 100)
    ax.set_yticks([20, 40, 60, 80, 100])
    ax.set_title("pass@1 (%) per conflict type", pad=18)
    ax.legend(loc="upper right", bbox_to_anchor=(1.3, 1.12), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def level_bars(runs, path: Path) -> Path:
    cats = [*LEVELS, "overall"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / max(1, len(runs))
    for i, r in enumerate(runs):
        t = r.metrics["table3"]
        means = [100 * (t[c]["mean"] or 0) for c in cats]
        stds = [100 * (t[c]["std"] or 0) for c in cats]
        xs = [j + (i - (len(runs) - 1) / 2) * width for j in range(len(cats))]
        ax.bar(xs, means, width, yerr=stds, capsize=3, label=r.label)
    ax.set_xticks(range(len(cats)))
    ax.set_xticklabels([c.capitalize() for c in cats])
    ax.set_ylabel("pass rate (%)")
    ax.set_ylim(0, 105)
    ax.set_title("Pass rate per level (mean ± std over runs)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
