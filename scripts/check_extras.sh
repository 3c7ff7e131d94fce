#!/usr/bin/env bash
# The tests that need the [sft]/[rl] extras (and, optionally, ROLL's source), in a separate CPU-only venv:
# SFT/RL token streams (tests/test_sft_rl_render.py), GEM envs (tests/test_rl_gem.py), RL credit against
# ROLL's own advantage code (tests/test_rl_credit.py, with ROLL_DIR), LlamaFactory's converter
# (tests/test_export_llamafactory.py). For a CI job where time allows:
#
#   bash scripts/check_extras.sh [VENV_DIR]          # ROLL_DIR=/path/to/ROLL for the ROLL cross-check
#
# torch comes as the local CPU wheel (torch==2.13.0), llamafactory 0.9.5 without its GPU/multimodal
# dependencies (as scripts/check_llamafactory.sh), gem-llm; with ROLL_DIR also ray, tensordict, imageio,
# codetiming (ROLL's imports for its advantage code).
set -euo pipefail
VENV=${1:-${EXTRAS_VENV:-.venv-extras}}
HERE=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
py() { "$VENV/bin/python" "$@"; }
py -c "import torch" 2>/dev/null || "$VENV/bin/pip" install -q torch==2.13.0
py -c "import llamafactory" 2>/dev/null || {
  "$VENV/bin/pip" install -q --no-deps "llamafactory==0.9.5"
  "$VENV/bin/pip" install -q "transformers>=4.55,<=5.6.0" "datasets>=2.16,<=4.0.0" "peft>=0.18.0,<=0.18.1" \
    "accelerate>=1.3.0,<=1.11.0" "trl>=0.18,<=0.24" omegaconf pyyaml sentencepiece tiktoken protobuf scipy fire \
    "tyro<0.9.0" einops packaging pandas; }
py -c "import gem" 2>/dev/null || "$VENV/bin/pip" install -q gem-llm
py -c "import stt_arena" 2>/dev/null || "$VENV/bin/pip" install -q -e "$HERE[test]"
cd "$HERE"
py -m pytest -q tests/test_sft_rl_render.py tests/test_rl_gem.py tests/test_rl_credit.py tests/test_export_llamafactory.py
if [ -n "${ROLL_DIR:-}" ]; then
  # ROLL's source on the path only here: with it, stt_arena.rl.env_manager subclasses ROLL's managers, whose
  # module imports need ROLL's full requirements (transfer_queue...); the advantage code does not
  py -c "import ray, tensordict, imageio, codetiming" 2>/dev/null || "$VENV/bin/pip" install -q ray tensordict imageio codetiming
  PYTHONPATH="$ROLL_DIR${PYTHONPATH:+:$PYTHONPATH}" py -m pytest -q tests/test_rl_credit.py
fi
