#!/usr/bin/env python
"""Refine agent trajectories for SFT (a thin wrapper over ``stt-arena refine``).

    python SFT/refine_train_trajectory.py --input results/run1 [--input results/run2.jsonl ...] \
        --output sft_data/refined [--tasks tasks.jsonl] [--mode rules|llm --model M --base-url URL] [--no-sandbox]

Every option of ``stt-arena refine --help`` is accepted; ``--input`` may be repeated.
"""
import sys

from stt_arena.cli import app


def main(argv: list[str]) -> None:
    inputs, rest = [], []
    it = iter(argv)
    for a in it:
        if a == "--input":
            inputs.append(next(it))
        elif a.startswith("--input="):
            inputs.append(a.split("=", 1)[1])
        else:
            rest.append(a)
    if not inputs:
        sys.exit("error: --input is required (a results directory or results.jsonl)")
    app(["refine", *inputs, "--no-progress", *rest], prog_name="refine_train_trajectory.py")


if __name__ == "__main__":
    main(sys.argv[1:])
