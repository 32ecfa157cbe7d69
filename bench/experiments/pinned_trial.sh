#!/bin/bash
# One search.run trial with every hyperparameter pinned: 2 epochs at batch 32, float32, no
# tensorboard, TensorFlow's start-up chatter filtered out of the log. The callers
# (plain_vs_harness.sh, paired_optimizers.sh, dropout_first_round.sh) give the point; SPACE picks
# the space (cnn when not set).
# Usage: [SPACE=resnet] bench/experiments/pinned_trial.sh DATA PROJECT LOG --fix NAME=VALUE ...
set -euo pipefail
cd "$(dirname "$0")/../.."
data=$1 project=$2 log=$3
shift 3
python -m search.run --space "${SPACE:-cnn}" --tuner random --max-trials 1 --max-epochs 2 --data "$data" --batch-size 32 \
  --project "$project" --overwrite --plain --no-tensorboard --precision float32 "$@" 2>&1 \
  | grep -v "^I0000\|^WARNING: All log\|cpu_feature\|^To enable" > "$log"
