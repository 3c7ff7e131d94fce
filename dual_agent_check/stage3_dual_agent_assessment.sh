#!/usr/bin/env bash
# Stage 3 — dual-agent assessment: checklist, plan agent, executed invariants I1-I5 in the sandbox, checking
# agent, consistency audit; writes benchmark tasks and a human-review sheet.
# Usage: stage3_dual_agent_assessment.sh OUT_DIR   (reads OUT_DIR/drafts.jsonl, writes OUT_DIR/tasks.jsonl
#        and OUT_DIR/review/); then: stt-arena synth review-import --tasks OUT_DIR/tasks.jsonl \
#        --sheet OUT_DIR/review/review.csv --out OUT_DIR/accepted.jsonl
set -euo pipefail
out="${1:?usage: $0 OUT_DIR}"
exec stt-arena synth stage3 --drafts "$out/drafts.jsonl" --out "$out/tasks.jsonl" --review-dir "$out/review" \
  --cache-dir "$out/.synth_cache" --model "${STT_SYNTH_MODEL:?set STT_SYNTH_MODEL}" \
  ${STT_SYNTH_BASE_URL:+--base-url "$STT_SYNTH_BASE_URL"} ${STT_SYNTH_ARGS:-}
