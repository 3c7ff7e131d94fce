#!/usr/bin/env bash
# Stage 1 — environment curation: seed queries -> filters -> synthesised, guarded, sandbox-tested env classes.
# Usage: stage1_environment_curation.sh OUT_DIR SEED_PATH [SEED_PATH...]   (extra flags via STT_SYNTH_ARGS)
# Model/endpoint: STT_SYNTH_MODEL (required), STT_SYNTH_BASE_URL, OPENAI_API_KEY (or --api-key-env in STT_SYNTH_ARGS).
set -euo pipefail
out="${1:?usage: $0 OUT_DIR SEED_PATH [SEED_PATH...]}"; shift
[ "$#" -ge 1 ] || { echo "usage: $0 OUT_DIR SEED_PATH [SEED_PATH...]" >&2; exit 2; }
seeds=(); for s in "$@"; do seeds+=(--seeds "$s"); done
exec stt-arena synth stage1 "${seeds[@]}" --out "$out/envs.jsonl" --cache-dir "$out/.synth_cache" \
  --model "${STT_SYNTH_MODEL:?set STT_SYNTH_MODEL}" ${STT_SYNTH_BASE_URL:+--base-url "$STT_SYNTH_BASE_URL"} \
  ${STT_SYNTH_ARGS:-}
