#!/usr/bin/env bash
# GPU bench (issue 13): a from-config Llama of ~1.1B parameters in bf16 on one GPU, each engine against its
# anchor in the same run; about 6 minutes on one H200.
#   multiple choice: xinstruct's log-likelihood engine vs lm-eval's HF backend (XCOPA, same batch size and
#                    dtype; predictions identical: yes|no)            goal: ratio >= 3
#   generation:      xinstruct's generate vs lm-eval's generate_until (XQuAD prompts)        goal: ratio >= 2
#   training:        xinstruct's SFT vs TRL SFTTrainer defaults, non-padding tokens/s and MFU
#                                                                     goal: MFU >= 40%, ratio >= 1.5
# Prepare here first (wheels the machine lacks, the data): bash bench/gpu_prepare.sh; then run on the device
# with carry [".whl", ".bench-data"]. Writes the log to $OUT/gpu_bench.log when $OUT is set.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 XINSTRUCT_DATA=$PWD/.bench-data TOKENIZERS_PARALLELISM=false
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || exit 1
  export PYTHONPATH=/tmp/site:$PWD/src
fi
LOG=${OUT:-/tmp}/gpu_bench.log
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
  timeout 240 python3 bench/mc_speed.py --device cuda --dtype bf16 --size 1b --batch-size 32 --limit 100 --repeat 1
  timeout 150 python3 bench/gen_speed.py --device cuda --dtype bf16 --size 1b --batch-size 32 --limit 96 --repeat 1
  timeout 150 python3 bench/train_throughput.py --device cuda --dtype bf16 --size 1b --steps 20 --batch-size 8 \
      --max-length 1024
} 2>&1 | tee "$LOG"
grep -E "^(mc_speed|gen_speed|train_throughput|mfu):" "$LOG"
