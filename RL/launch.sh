#!/usr/bin/env bash
# Launch ROLL's agentic pipeline with an stt-arena config (ROLL installed from source; see RL/README.md).
#   ROLL_DIR=~/ROLL bash RL/launch.sh RL/reinforce_pp.yaml        # or RL/grpo.yaml
#   SFT_CKPT=/abs/path/to/sft/checkpoint                          # default: ./saves/qwen3-4b/full/sft_refine
set -euo pipefail
CONFIG="${1:-RL/reinforce_pp.yaml}"
ROLL_DIR="${ROLL_DIR:?set ROLL_DIR to your ROLL checkout}"
export SFT_CKPT="$(realpath "${SFT_CKPT:-saves/qwen3-4b/full/sft_refine}")"
# registers the stt_arena envs with GEM and checks the class paths; fails early if the [rl] extra is missing
python -c "import stt_arena.rl.env_manager as m; assert m.register_envs(), 'pip install -e .[rl]'"
# hydra's initialize() (examples/start_agentic_pipeline.py) takes a config dir relative to ROLL's examples/
cfg_dir=$(python -c "import os,sys; print(os.path.relpath(os.path.abspath(os.path.dirname(sys.argv[1])), os.path.join(sys.argv[2], 'examples')))" "$CONFIG" "$ROLL_DIR")
cfg_name=$(basename "$CONFIG" .yaml)
cd "$ROLL_DIR"
python examples/start_agentic_pipeline.py --config_path "$cfg_dir" --config_name "$cfg_name"
