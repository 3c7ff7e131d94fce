#!/usr/bin/env bash
# Launch ROLL's agentic pipeline with an stt-arena config (needs ROLL installed from source; see RL/README.md).
#   bash RL/launch.sh RL/reinforce_pp.yaml
set -euo pipefail
CONFIG="${1:-RL/reinforce_pp.yaml}"
ROLL_DIR="${ROLL_DIR:?set ROLL_DIR to your ROLL checkout}"
python -c "import stt_arena.rl.env_manager" # registers the stt_arena envs with GEM; fails early if [rl] is missing
cfg_dir=$(cd "$(dirname "$CONFIG")" && pwd); cfg_name=$(basename "$CONFIG" .yaml)
cd "$ROLL_DIR"
python examples/start_agentic_pipeline.py --config_path "$cfg_dir" --config_name "$cfg_name"
