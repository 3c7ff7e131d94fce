#!/usr/bin/env bash
# Stage 2 — dynamic injection: curated envs -> conflict assignment, blueprints, init configs, triggers, queries.
# Usage: stage2_dynamic_injection.sh OUT_DIR   (reads OUT_DIR/envs.jsonl, writes OUT_DIR/drafts.jsonl)
# Model/endpoint: STT_SYNTH_MODEL, STT_SYNTH_BASE_URL; extra flags (e.g. --levels easy,medium
# --trigger-mode code --dry-run) via STT_SYNTH_ARGS.
set -euo pipefail
out="${1:?usage: $0 OUT_DIR}"
exec stt-arena synth stage2 --envs "$out/envs.jsonl" --out "$out/drafts.jsonl" --cache-dir "$out/.synth_cache" \
  --model "${STT_SYNTH_MODEL:?set STT_SYNTH_MODEL}" ${STT_SYNTH_BASE_URL:+--base-url "$STT_SYNTH_BASE_URL"} \
  ${STT_SYNTH_ARGS:-}
