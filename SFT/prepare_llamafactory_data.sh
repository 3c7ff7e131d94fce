#!/usr/bin/env bash
# Refine agent trajectories and write LlamaFactory SFT data + dataset_info.json.
#
#   bash SFT/prepare_llamafactory_data.sh RESULTS_DIR[,RESULTS_DIR...] OUT_DIR
#
# Env: TASKS=task JSONL (default: the results' config), MODE=rules|llm (default rules), LLM_ARGS="--model M
# --base-url URL" for MODE=llm, SANDBOX=--sandbox|--no-sandbox (default --sandbox), PYTHON (default python).
# OUT_DIR/refined holds the refined trajectories and stats.json; OUT_DIR has sft_refine_alpaca.json,
# sft_refine_sharegpt.json and dataset_info.json (point LlamaFactory's dataset_dir at OUT_DIR).
set -euo pipefail
IN=${1:?usage: prepare_llamafactory_data.sh RESULTS_DIR[,RESULTS_DIR...] OUT_DIR}
OUT=${2:?usage: prepare_llamafactory_data.sh RESULTS_DIR[,RESULTS_DIR...] OUT_DIR}
PY=${PYTHON:-python}
TASK_ARGS=()
[ -n "${TASKS:-}" ] && TASK_ARGS=(--tasks "$TASKS")
IFS=, read -r -a INPUTS <<< "$IN"
# shellcheck disable=SC2086
"$PY" -m stt_arena refine "${INPUTS[@]}" -o "$OUT/refined" --mode "${MODE:-rules}" ${LLM_ARGS:-} \
  "${TASK_ARGS[@]}" ${SANDBOX:---sandbox} --no-progress
"$PY" -m stt_arena export-sft "$OUT/refined" -o "$OUT" "${TASK_ARGS[@]}"
