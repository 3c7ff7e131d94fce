#!/usr/bin/env bash
# Offline: run the built-in reference agents and write one comparison report.
set -euo pipefail
OUT="${OUT:-results/builtin}"
TASKS_ARG=(); [[ -n "${TASKS:-}" ]] && TASKS_ARG=(--tasks "$TASKS")
dirs=()
for a in oracle stale retry no-verify; do
  d="$OUT/$a"; resume=(); [[ -f "$d/results.jsonl" ]] && resume=(--resume)
  stt-arena eval --model "builtin:$a" "${TASKS_ARG[@]}" --runs "${RUNS:-3}" --output "$d" "${resume[@]}" "$@" || true
  dirs+=("$d")
done
stt-arena report "${dirs[@]}" --output "$OUT/report"
