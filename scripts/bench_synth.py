"""Yield and cost of the LLM synthesis pipeline against a scripted OpenAI-protocol server (no real model).

Runs `stt-arena synth stage1|stage2|stage3` in-process through the real openai client against
``FakeOpenAIServer`` playing the scripted model of the tests (tests/fixtures/synth/fake_llm.py), from real
API-Bank and ToolACE seeds (../shared/source_data) plus the Dolci fixture, with a fresh cache, and prints per
source: seeds, environments, tasks, tasks per seed; and LLM calls / tokens per kept task, repair turns, time.

    python scripts/bench_synth.py                       # paper-schema model with repairable errors
    python scripts/bench_synth.py --model-style ours --no-faults
    python scripts/bench_synth.py --repo /tmp/old-checkout   # the same run on another checkout's code

The scripted model recognises meeting-room seeds (and, with --augment-readonly, read-only seeds whose query or
tools mention times or places) and builds them its one fixture environment: the figures measure the
pipeline's mechanics and cost per kept task, not a real model's domain coverage. Stage 3 runs every gate of
``stt-arena validate`` (``--gates all``, the default) with a small search (``--gate-budget 40 --gate-depth 1``
here: each searched sequence is a sandboxed replay; validate's defaults for such files are 600 / 3, about a
minute per task on a loaded 2-CPU machine); ``--gates I1-I5`` gives the replay-only figures of earlier notes.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "source_data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", type=Path, default=ROOT, help="checkout whose stt_arena code runs (default: this one)")
    ap.add_argument("--model-style", choices=("paper", "ours"), default="paper")
    ap.add_argument("--faults", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--augment-readonly", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--api-bank", type=int, default=43, help="API-Bank level-1 dialogues (every k-th, sorted)")
    ap.add_argument("--toolace", type=int, default=50, help="first N ToolACE conversations")
    ap.add_argument("--explore-budget", type=int, default=0, help="exploratory tester calls per env (new code)")
    ap.add_argument("--levels", default="easy")
    ap.add_argument("--gates", default="all")
    ap.add_argument("--gate-budget", type=int, default=40, help="stage 3's gate search: sequences per search")
    ap.add_argument("--gate-depth", type=int, default=1, help="stage 3's gate search: calls per sequence")
    ap.add_argument("--max-repairs", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="keep the run folder here")
    a = ap.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"no seed data at {SHARED}")
    sys.path.insert(0, str(a.repo))
    for m in [m for m in sys.modules if m == "stt_arena" or m.startswith("stt_arena.")]:
        del sys.modules[m]
    from typer.testing import CliRunner

    cli = importlib.import_module("stt_arena.cli")
    from stt_arena.testing.fake_openai import FakeOpenAIServer

    spec = importlib.util.spec_from_file_location("bench_fake_llm", ROOT / "tests" / "fixtures" / "synth" / "fake_llm.py")
    fake_mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fake_mod)
    fake = fake_mod.FakeSynthLLM(paper=a.model_style == "paper", faults=a.faults, readonly=True)
    tokens = [0, 0]  # prompt, completion: counted as the fake server counts them (whitespace words)

    def words(x) -> int:
        return len(str(x).split()) if x else 0

    def model(body: dict):
        ans = fake(body)
        tokens[0] += sum(words(m.get("content")) for m in body["messages"])
        if isinstance(ans, dict):
            tokens[1] += words(ans.get("content")) + sum(words(json.dumps(c.get("arguments")))
                                                         for c in ans.get("tool_calls") or [])
        else:
            tokens[1] += words(ans)
        return ans

    work = a.keep or Path(tempfile.mkdtemp(prefix="bench_synth_"))
    work.mkdir(parents=True, exist_ok=True)
    dlg = sorted((SHARED / "api-bank" / "lv1-lv2-samples" / "level-1-given-desc").glob("*.jsonl"))
    step = max(1, len(dlg) // max(1, a.api_bank))
    api = dlg[::step][:a.api_bank]
    tool = json.loads((SHARED / "toolace" / "sharegpt_func_fixed.json").read_text())[:a.toolace]
    (work / "toolace.json").write_text(json.dumps(tool))
    seeds: list[str] = []
    for p in api:
        seeds += ["--seeds", str(p)]
    seeds += ["--seeds", str(work / "toolace.json"), "--seeds",
              str(ROOT / "tests" / "fixtures" / "synth" / "seeds" / "dolci_synth.jsonl")]
    runner = CliRunner()
    cmds = importlib.import_module("stt_arena.synth.commands")
    import inspect
    has = {s: set(inspect.signature(getattr(cmds, f"{s}_command")).parameters) for s in ("stage1", "stage3")}
    times = {}
    with FakeOpenAIServer(model) as srv:
        common = ["--model", "fake-synth", "--base-url", srv.base_url, "--cache-dir", str(work / "cache"),
                  "--no-progress", "--max-retries", "0", "--max-repairs", str(a.max_repairs)]
        s1 = ["--augment-readonly"] if a.augment_readonly and "augment_readonly" in has["stage1"] else []
        if "explore_budget" in has["stage1"]:
            s1 += ["--explore-budget", str(a.explore_budget)]
        s3 = ["--gates", a.gates] if "gates" in has["stage3"] else []
        if "gate_depth" in has["stage3"]:
            s3 += ["--gate-budget", str(a.gate_budget), "--gate-depth", str(a.gate_depth)]
        steps = [("stage1", [*seeds, *s1, "--out", str(work / "envs.jsonl")]),
                 ("stage2", ["--envs", str(work / "envs.jsonl"), "--out", str(work / "drafts.jsonl"), "--levels", a.levels]),
                 ("stage3", [*s3, "--drafts", str(work / "drafts.jsonl"), "--out", str(work / "tasks.jsonl")])]
        for name, args in steps:
            t0 = time.perf_counter()
            r = runner.invoke(cli.app, ["synth", name, *args, *common])
            times[name] = time.perf_counter() - t0
            if r.exit_code != 0:
                sys.exit(f"{name} failed: {r.output[-2000:]} {r.exception!r}")
        calls = len(srv.requests)
    tokens = sum(tokens)
    envs = [json.loads(x) for x in (work / "envs.jsonl").read_text().splitlines()]
    tasks = [json.loads(x) for x in (work / "tasks.jsonl").read_text().splitlines()]
    stats = {s: json.loads((work / f"{f}.stats.json").read_text()) for s, f in
             (("stage1", "envs"), ("stage2", "drafts"), ("stage3", "tasks"))}
    src_of = {"api-bank": len(api), "toolace": len(tool), "dolci": 2}
    print(f"code: {a.repo}  model: {a.model_style} schema, faults={a.faults}, augment-readonly="
          f"{'--augment-readonly' in s1}, explore budget {a.explore_budget if 'explore_budget' in has['stage1'] else '-'}, "
          f"levels={a.levels}, stage-3 gates={a.gates if s3 else 'I1-I5 (fixed)'}"
          f"{f' (search {a.gate_budget}/{a.gate_depth})' if '--gate-depth' in s3 else ''}, max repairs {a.max_repairs}")
    print(f"{'source':10} {'seeds':>6} {'envs':>5} {'tasks':>6} {'tasks/seed':>10}")
    for src, n in src_of.items():
        ne = sum(e["source"] == src for e in envs)
        nt = sum((t.get("provenance", {}).get("extra", {}).get("seed_source") == src) for t in tasks)
        print(f"{src:10} {n:>6} {ne:>5} {nt:>6} {nt / n:>10.2f}")
    for s, d in stats.items():
        print(f"{s}: in {d['in']}, kept {d['kept']}, rejected {dict(sorted(d['rejected'].items()))}, "
              f"{times[s]:.1f} s")
        llm = d.get("llm") or {}
        if "repaired" in llm:
            print(f"    repair turns {llm['repairs']} {llm.get('repairs_by_reason')}, repaired calls {llm['repaired']}")
    k = len(tasks)
    # the scripted model builds identical environments for many seeds, so some identical requests are served
    # by the cache within the run (timing-dependent): answers = sent + cache hits is the stable count
    hits = sum(int((d.get("llm") or {}).get("cached") or 0) for d in stats.values())
    nan = float("nan")
    print(f"LLM requests sent {calls} (+{hits} identical ones served by the cache); tokens sent {tokens} (fake "
          f"server's whitespace count); kept tasks {k}; answers per kept task {(calls + hits) / k if k else nan:.1f} "
          f"(sent {calls / k if k else nan:.1f}); tokens sent per kept task {tokens / k if k else nan:.0f}; "
          f"total time {sum(times.values()):.1f} s; run folder {work}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
