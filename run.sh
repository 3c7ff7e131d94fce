#!/usr/bin/env bash
# Reproduce the paper's evaluation protocol against any OpenAI-compatible endpoint.
#
#   MODEL=Qwen/Qwen3-8B BASE_URL=http://localhost:8000/v1 bash run.sh
#   bash run.sh --model gpt-4o-mini --judge-model gpt-4o        # args are passed to `stt-arena eval`
#   MODEL=builtin:oracle bash run.sh                            # offline, built-in reference agent
#
# Environment (all optional): MODEL, BASE_URL, API_KEY_ENV (name of the env var holding the key),
# USER_MODEL, JUDGE_MODEL (default: offline scripted user / heuristic judge), TASKS, RUNS (3),
# MAX_TURNS (50), TEMPERATURE (0.7), CONCURRENCY (8), RPM, EXTRA_BODY (JSON), OUTPUT, SEED.
# Protocol: one tool call executed per turn, final reply without a tool call, at most 50 turns,
# temperature 0.7, 3 runs per task. Re-running with the same OUTPUT resumes an interrupted run.
set -euo pipefail
cd "$(dirname "$0")"

MODEL="${MODEL:-builtin:oracle}"
RUNS="${RUNS:-3}"
MAX_TURNS="${MAX_TURNS:-50}"
TEMPERATURE="${TEMPERATURE:-0.7}"
CONCURRENCY="${CONCURRENCY:-8}"
OUTPUT="${OUTPUT:-results/$(echo "$MODEL" | tr -c 'A-Za-z0-9._\n-' '-')}"

args=(--model "$MODEL" --runs "$RUNS" --max-turns "$MAX_TURNS" --temperature "$TEMPERATURE"
      --concurrency "$CONCURRENCY" --output "$OUTPUT")
[[ -n "${BASE_URL:-}" ]] && args+=(--base-url "$BASE_URL")
[[ -n "${API_KEY_ENV:-}" ]] && args+=(--api-key-env "$API_KEY_ENV")
[[ -n "${USER_MODEL:-}" ]] && args+=(--user-model "$USER_MODEL")
[[ -n "${JUDGE_MODEL:-}" ]] && args+=(--judge-model "$JUDGE_MODEL")
[[ -n "${TASKS:-}" ]] && args+=(--tasks "$TASKS")
[[ -n "${RPM:-}" ]] && args+=(--rpm "$RPM")
[[ -n "${SEED:-}" ]] && args+=(--seed "$SEED")
[[ -n "${EXTRA_BODY:-}" ]] && args+=(--extra-body "$EXTRA_BODY")
if [[ -f "$OUTPUT/results.jsonl" ]]; then args+=(--resume); fi

STT="${STT_ARENA:-stt-arena}"
command -v "$STT" >/dev/null 2>&1 || STT="python -m stt_arena"
set +e
$STT eval "${args[@]}" "$@"
rc=$?
set -e
if [[ -f "$OUTPUT/results.jsonl" ]]; then
  $STT report "$OUTPUT" --output "$OUTPUT/report" || true
fi
exit $rc
