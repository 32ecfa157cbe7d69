#!/bin/bash
# One random-points trial that stayed at the majority class (random_points_cpu_v4.csv, trial 00:
# AdamW 4.1e-4 with mixup 0.2), rerun with every value pinned, once with AdamW and once with Adam:
# is the optimizer what kept it there? 2 epochs at batch 32 on bench_random_points.py's
# 3,000-face sample (seed 0). Logs: bench/results/paired_optimizers/paired_optimizers_*.log
# Arguments after DATA change some of the point's values (later --fix wins); VARIANT names their
# logs and OPTS picks the optimizers, e.g. whether mixup and erasing are what kept it there:
#   VARIANT=no-mixup-erasing OPTS=adamw bench/experiments/paired_optimizers.sh "" --fix mixup=0 --fix random_erasing=0
# or whether dropout is (the point had 0.25 after every block and in the head):
#   VARIANT=head-dropout OPTS=adamw bench/experiments/paired_optimizers.sh "" --fix block_dropout=0
#   VARIANT=no-dropout OPTS=adamw bench/experiments/paired_optimizers.sh "" --fix block_dropout=0 --fix dropout=0
set -euo pipefail
cd "$(dirname "$0")/../.."
D=${1:-tuner_runs/rp-data/train3000-val1000-seed0}
shift || true
for opt in ${OPTS:-adamw adam}; do
  extra=(); [ $opt = adamw ] && extra=(--fix adamw_weight_decay=0.00839)
  bench/experiments/pinned_trial.sh "$D" pair-$opt bench/results/paired_optimizers/paired_optimizers_$opt${VARIANT:+_$VARIANT}.log \
    --fix augment=off --fix crop_size=44 --fix random_erasing=0.25 --fix class_weight=none --fix conv_blocks=2 \
    --fix filters=64 --fix convs_per_block=3 --fix lean_first_block=false --fix dropout=0.25 --fix block_dropout=0.25 --fix pooling=flatten \
    --fix dense_units=64 --fix optimizer=$opt "${extra[@]}" --fix learning_rate=0.00041 --fix lr_schedule=cosine \
    --fix label_smoothing=0 --fix mixup=0.2 "$@"
done
grep -H "val_accuracy" bench/results/paired_optimizers/paired_optimizers_*${VARIANT:+_$VARIANT}.log
