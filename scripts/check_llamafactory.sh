#!/usr/bin/env bash
# Check exported SFT data with LlamaFactory's own parser and converters, in a separate virtual env.
#
#   bash scripts/check_llamafactory.sh DATA_DIR [VENV_DIR]
#
# DATA_DIR holds dataset_info.json and the exported files (SFT/prepare_llamafactory_data.sh writes them).
# The venv gets the CPU build of torch from local disk (pip install torch==2.13.0), llamafactory without
# its GPU/multimodal dependencies (torchvision, torchaudio, gradio...) and the libraries its data code
# imports. Prints rows / converted / skipped per dataset; exits 1 when LlamaFactory would drop any row.
set -euo pipefail
DATA_DIR=${1:?usage: check_llamafactory.sh DATA_DIR [VENV_DIR]}
VENV=${2:-${LLAMAFACTORY_VENV:-.venv-llamafactory}}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import llamafactory" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q torch==2.13.0
  "$VENV/bin/pip" install -q --no-deps "llamafactory==0.9.5"
  "$VENV/bin/pip" install -q "transformers>=4.55,<=5.6.0" "datasets>=2.16,<=4.0.0" "peft>=0.18.0,<=0.18.1" \
    "accelerate>=1.3.0,<=1.11.0" "trl>=0.18,<=0.24" omegaconf pyyaml sentencepiece tiktoken protobuf scipy fire \
    "tyro<0.9.0" einops packaging pandas
fi
HF_DATASETS_OFFLINE=1 "$VENV/bin/python" "$HERE/llamafactory_convert_check.py" "$DATA_DIR"
