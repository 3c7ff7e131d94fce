"""Build tasks from the built-in families and run every gate on them: the loop for fixing a family.

Usage: python scripts/check_families.py --domain clinic_appointments [--family NAME] [--seeds 2]
       [--levels easy,medium] [--gates I1-I5,I6,...] [--no-suite] [--budget 3000] [--verbose]

Prints one line per (family, level, seed) with the failing gates and reason codes, then, unless --no-suite,
the shortcut-policy table (I10) over the built tasks. Exit status 1 when anything fails.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time

from stt_arena.domains import all_families
from stt_arena.benchmark.gates.gates import Budget
from stt_arena.benchmark.validation import parse_gates, validate_task
from stt_arena.benchmark.validity import open_local


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--domain", action="append", help="domain(s) to check (default: all)")
    ap.add_argument("--family", action="append", help="family name(s)")
    ap.add_argument("--levels", default="easy,medium,hard,impossible")
    ap.add_argument("--seeds", type=int, default=2, help="tasks per (family, level)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--gates", default="all")
    ap.add_argument("--budget", type=int, default=3000)
    ap.add_argument("--no-suite", action="store_true", help="skip I10 (shortcut policies)")
    ap.add_argument("--verbose", "-v", action="store_true", help="print the evidence of each failure")
    a = ap.parse_args()
    gates = [g for g in parse_gates(a.gates) if g != "I10"]
    levels = a.levels.split(",")
    fams = [f for f in all_families() if (not a.domain or f.domain in a.domain) and
            (not a.family or f.name in a.family)]
    if not fams:
        print("no family matches", file=sys.stderr)
        return 2
    tasks, bad, t0 = [], 0, time.time()
    for f in fams:
        for lv in levels:
            if lv not in f.levels:
                continue
            for s in range(a.seeds):
                t = f.build(random.Random(f"check:{a.seed}:{f.name}:{lv}:{s}"), lv)
                t = t.model_copy(update={"task_id": f"{f.name}-{lv}-{s}"})
                tasks.append(t)
                rep = validate_task(t, open_local, gates, trusted=True, budget=Budget(a.budget))
                probs = rep.problems()
                bad += bool(probs)
                fails = [f"{g}:{rep.reason(g)}" for g in gates if rep.gate_ok(g) is False]
                print(f"{'FAIL' if probs else 'ok  '} {f.domain}/{f.name} {lv} #{s}  {' '.join(fails)}")
                if a.verbose:
                    for p in probs:
                        print("     ", p[:400])
                    for g in rep.gates.values():
                        if not g.ok and g.evidence:
                            print("      evidence", g.gate, json.dumps(g.evidence, default=str)[:1200])
    print(f"{len(tasks) - bad}/{len(tasks)} tasks pass {','.join(gates)} ({time.time() - t0:.0f} s)")
    if not a.no_suite and "I10" in parse_gates(a.gates):
        from stt_arena.benchmark.gates.shortcuts import run_shortcut_suite

        suite = run_shortcut_suite(tasks)
        for row in suite.table():
            print("  ".join(f"{c:>16}" for c in row))
        offenders = {p: v for lv, c in suite.level_checks().items() for p, v in c["offenders"].items()}
        for r in suite.level_checks().values():
            for p, v in r["offenders"].items():
                print(f"  I10 offender {p}: {', '.join(v['tasks'])}")
        bad += bool(offenders)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
