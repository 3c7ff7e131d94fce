#!/usr/bin/env bash
# Reproduce the paper's evaluation protocol against any OpenAI-compatible endpoint, for a list of models,
# then print the comparison table.
#
#   MODELS="Qwen/Qwen3-8B,Qwen/Qwen3-32B" OPENAI_BASE_URL=http://localhost:8000/v1 bash run.sh
#   MODELS=gpt-4o-mini JUDGE_MODEL=gpt-4o USER_MODEL=gpt-4o-mini bash run.sh   # uses OPENAI_API_KEY
#   bash run.sh                       # no endpoint configured: the built-in reference agents, offline
#   bash run.sh --limit 20            # extra arguments go to every `stt-arena eval`
#
# Environment (all optional): MODELS (comma-separated; MODEL works too), OPENAI_BASE_URL (or BASE_URL),
# API_KEY_ENV (name of the variable holding the key; default OPENAI_API_KEY), USER_MODEL, JUDGE_MODEL
# (default: offline scripted user / heuristic judge), TASKS, RUNS (3), MAX_TURNS (50), TEMPERATURE (0.7),
# CONCURRENCY (8), RPM, EXTRA_BODY (JSON), SEED, OUT (results), REPORT (OUT/report).
# Protocol: one tool call executed per turn, final reply without a tool call, at most 50 turns,
# temperature 0.7, 3 runs per task. Re-running resumes interrupted runs (one directory per model).
set -euo pipefail
cd "$(dirname "$0")"

MODELS="${MODELS:-${MODEL:-}}"
BASE_URL="${BASE_URL:-${OPENAI_BASE_URL:-}}"
API_KEY_ENV="${API_KEY_ENV:-OPENAI_API_KEY}"
RUNS="${RUNS:-3}"
MAX_TURNS="${MAX_TURNS:-50}"
TEMPERATURE="${TEMPERATURE:-0.7}"
CONCURRENCY="${CONCURRENCY:-8}"
OUT="${OUT:-results}"
REPORT="${REPORT:-$OUT/report}"
REFERENCE="builtin:oracle,builtin:stale,builtin:retry,builtin:no-verify"

if [[ -z "$MODELS" ]]; then
  if [[ -n "$BASE_URL" || -n "${!API_KEY_ENV:-}" ]]; then
    echo "run.sh: an endpoint is configured but no model: set MODELS (comma-separated model names)" >&2
    exit 2
  fi
  echo "run.sh: no endpoint configured (MODELS with OPENAI_BASE_URL and/or OPENAI_API_KEY); running the"
  echo "        built-in reference agents offline instead: ${REFERENCE//,/ }"
  MODELS="$REFERENCE"
fi

STT="${STT_ARENA:-stt-arena}"
command -v "$STT" >/dev/null 2>&1 || STT="python -m stt_arena"

rc=0
dirs=()
IFS=',' read -r -a models <<< "$MODELS"
for model in "${models[@]}"; do
  model="$(echo "$model" | xargs)"  # trim spaces
  [[ -z "$model" ]] && continue
  output="$OUT/$(echo "$model" | tr -c 'A-Za-z0-9._\n-' '-')"
  args=(--model "$model" --runs "$RUNS" --max-turns "$MAX_TURNS" --temperature "$TEMPERATURE"
        --concurrency "$CONCURRENCY" --output "$output" --api-key-env "$API_KEY_ENV")
  if [[ "$model" != builtin:* && -n "$BASE_URL" ]]; then args+=(--base-url "$BASE_URL"); fi
  [[ -n "${USER_MODEL:-}" ]] && args+=(--user-model "$USER_MODEL")
  [[ -n "${JUDGE_MODEL:-}" ]] && args+=(--judge-model "$JUDGE_MODEL")
  [[ -n "${TASKS:-}" ]] && args+=(--tasks "$TASKS")
  [[ -n "${RPM:-}" ]] && args+=(--rpm "$RPM")
  [[ -n "${SEED:-}" ]] && args+=(--seed "$SEED")
  [[ -n "${EXTRA_BODY:-}" ]] && args+=(--extra-body "$EXTRA_BODY")
  if [[ -f "$output/results.jsonl" ]]; then args+=(--resume); fi
  echo "== $model -> $output"
  set +e
  $STT eval "${args[@]}" "$@"
  status=$?
  set -e
  if [[ $status -ne 0 ]]; then rc=$status; fi
  if [[ -f "$output/results.jsonl" ]]; then dirs+=("$output"); fi
done

if [[ ${#dirs[@]} -gt 0 ]]; then
  $STT report "${dirs[@]}" --output "$REPORT" >/dev/null
  echo
  echo "== comparison ($REPORT/report.md; radar chart, level bars and trajectory viewer beside it)"
  cat "$REPORT/report.md"
fi
exit $rc
