#!/bin/bash
# Does dropout keep a first round at the majority class? One point that learns (the CPU recipe's
# winner: lean 3x32x2 cnn, crop 44, light augmentation, AdamW 1.87e-3 with decay 4.5e-3, cosine,
# label smoothing 0.1, no mixup, erasing or class weights) trained for 2 epochs at batch 32 on
# bench_random_points.py's 3,000-face sample (seed 0), without dropout and with it in the head or
# after every block; then a small resnet (1-1-1 at width 32, the same recipe) without and with its
# old default head dropout 0.2. One run each. Logs: bench/results/dropout_first_round/dropout_first_round_*.log
set -euo pipefail
cd "$(dirname "$0")/../.."
D=${1:-tuner_runs/rp-data/train3000-val1000-seed0}
OUT=bench/results/dropout_first_round
recipe=(--fix augment=light --fix crop_size=44 --fix random_erasing=0 --fix class_weight=none
        --fix optimizer=adamw --fix adamw_weight_decay=0.0045 --fix learning_rate=0.00187 --fix lr_schedule=cosine
        --fix label_smoothing=0.1 --fix mixup=0)
cnn=(--fix conv_blocks=3 --fix filters=32 --fix convs_per_block=2 --fix lean_first_block=true --fix pooling=flatten
     --fix dense_units=256)
for v in "dropout=0 block_dropout=0" "dropout=0.1 block_dropout=0" "dropout=0.25 block_dropout=0" \
         "dropout=0.5 block_dropout=0" "dropout=0 block_dropout=0.1" "dropout=0 block_dropout=0.25"; do
  set -- $v
  bench/experiments/pinned_trial.sh "$D" dropout-cnn "$OUT/dropout_first_round_cnn_${1/=/}_${2/=/}.log" "${recipe[@]}" "${cnn[@]}" \
    --fix "$1" --fix "$2"
done
for v in dropout=0 dropout=0.2; do
  SPACE=resnet bench/experiments/pinned_trial.sh "$D" dropout-resnet "$OUT/dropout_first_round_resnet_${v/=/}.log" "${recipe[@]}" \
    --fix blocks=1-1-1 --fix width=32 --fix "$v"
done
grep -H "epoch 2/2" $OUT/dropout_first_round_*.log | sed 's/.*dropout_first_round_//; s/\.log:.*val_accuracy=/  val_accuracy=/'
