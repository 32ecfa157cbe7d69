#!/usr/bin/env bash
# The README's recommended CPU recipe, its two commands as written there, timed end to end on
# prepared data/fer2013 (python -m fer.prepare ../shared/data/fer2013_from_images.csv.gz). Run it
# alone: the 2-hour budget is wall clock, so anything else on the cores costs it epochs.
#   [EPOCHS=100] [LOG=bench/results/cpu_recipe/cpu_recipe_PROJECT] bash bench/experiments/cpu_recipe.sh [PROJECT]   (default cpu-recipe)
# EPOCHS caps the report's retraining; the 92-minute budget cuts it to the epochs that fit, and the
# cosine schedule is re-planned to end with them.
# Logs: ${LOG}_{search,report}.log (with /usr/bin/time -v's peak memory);
# the report's metrics.json and per_class.csv are in reports/PROJECT/.
set -euo pipefail
cd "$(dirname "$0")/../.."
PROJECT=${1:-cpu-recipe}
EPOCHS=${EPOCHS:-100}
LOG=${LOG:-bench/results/cpu_recipe/cpu_recipe_$PROJECT}
start=$(date +%s)
echo "start $(date -u +%FT%TZ)"
/usr/bin/time -v python -m search.run --space cnn --tuner random --max-trials 3 --max-epochs 1 --time-budget 20m \
  --data data/fer2013 --project "$PROJECT" \
  --fix crop_size=44 --fix lr_schedule=cosine --fix augment=light --fix conv_blocks=3 --fix filters=32 \
  --fix convs_per_block=2 --fix lean_first_block=true --fix batch_norm=true --fix pooling=flatten \
  --fix dense_units=256 --fix mixup=0 --fix random_erasing=0 --fix class_weight=sqrt \
  > ${LOG}_search.log 2>&1
mid=$(date +%s)
echo "search $((mid-start)) s"
/usr/bin/time -v python -m search.report --project "$PROJECT" --top 1 --epochs "$EPOCHS" --time-budget 92m --tta ten-crop \
  > ${LOG}_report.log 2>&1
end=$(date +%s)
echo "report $((end-mid)) s; total $((end-start)) s; end $(date -u +%FT%TZ)"
