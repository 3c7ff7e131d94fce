#!/usr/bin/env bash
# Evaluate a model served by a local OpenAI-compatible server (vLLM / sglang).
#   vllm serve Qwen/Qwen3-8B --enable-auto-tool-choice --tool-call-parser hermes --port 8000
#   bash evaluation/vllm.sh Qwen/Qwen3-8B 8000
set -euo pipefail
MODEL="${1:?model name}"; PORT="${2:-8000}"; shift $(( $# > 1 ? 2 : 1 ))
MODEL="$MODEL" BASE_URL="http://localhost:$PORT/v1" \
  EXTRA_BODY="${EXTRA_BODY:-{\"chat_template_kwargs\": {\"enable_thinking\": false}}}" \
  bash "$(dirname "$0")/../run.sh" "$@"
