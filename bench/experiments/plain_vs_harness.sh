#!/bin/bash
# Is a slow first round the harness's doing? The cnn default's shape (3 blocks of 2 convs from 32,
# batch norm, flatten, dense 256, dropout 0.25 after every block and in the head, Adam 1e-3, no augmentation) trained for 2 epochs
# at batch 32 on the same stratified sample, written out in plain Keras (bench/experiments/plain_cnn.py) and
# as a one-trial search.run with every hyperparameter pinned; then the same with AdamW (decay 0.01).
# The sample is bench_random_points.py's (--train-sample 7200 --val-sample 1000, seed 0).
# Logs: bench/results/plain_vs_harness/plain_vs_harness_*.log (the committed Adam log ran these commands as project cmp-harness)
set -euo pipefail
cd "$(dirname "$0")/../.."
D=${1:-tuner_runs/rp-data/train7200-val1000-seed0}
OUT=bench/results/plain_vs_harness
python bench/experiments/plain_cnn.py "$D" 2 > $OUT/plain_vs_harness_plain.log 2>&1
for opt in adam adamw; do
  extra=(); [ $opt = adamw ] && extra=(--fix adamw_weight_decay=0.01)
  bench/experiments/pinned_trial.sh "$D" cmp-$opt $OUT/plain_vs_harness_$opt.log \
    --fix augment=off --fix crop_size=48 --fix random_erasing=0 --fix class_weight=none --fix conv_blocks=3 \
    --fix filters=32 --fix convs_per_block=2 --fix lean_first_block=false --fix dropout=0.25 --fix block_dropout=0.25 --fix pooling=flatten \
    --fix dense_units=256 --fix optimizer=$opt "${extra[@]}" --fix learning_rate=0.001 --fix lr_schedule=plateau \
    --fix label_smoothing=0 --fix mixup=0
done
grep -H "val_accuracy" $OUT/plain_vs_harness_*.log
