#!/usr/bin/env bash
# The README's recommended CPU recipe (search/recipes/cpu-2h.toml), its two commands, timed end to end on
# prepared data/fer2013 (python -m fer.prepare ../shared/data/fer2013_from_images.csv.gz). Run it
# alone: the 2-hour budget is wall clock, so anything else on the cores costs it epochs.
#   [EPOCHS=100] [LOG=bench/results/cpu_recipe/cpu_recipe_PROJECT] bash bench/experiments/cpu_recipe.sh [PROJECT]   (default cpu-recipe)
# EPOCHS caps the report's retraining (100, the recipe's, by default); the recipe's 92-minute budget
# cuts it to the epochs that fit, and the cosine schedule is re-planned to end with them.
# Logs: ${LOG}_{search,report}.log (with /usr/bin/time -v's peak memory);
# the report's metrics.json and per_class.csv are in reports/PROJECT/.
set -euo pipefail
cd "$(dirname "$0")/../.."
PROJECT=${1:-cpu-recipe}
EPOCHS=${EPOCHS:-100}
LOG=${LOG:-bench/results/cpu_recipe/cpu_recipe_$PROJECT}
start=$(date +%s)
echo "start $(date -u +%FT%TZ)"
/usr/bin/time -v python -m search.run --recipe cpu-2h --data data/fer2013 --project "$PROJECT" \
  > ${LOG}_search.log 2>&1
mid=$(date +%s)
echo "search $((mid-start)) s"
/usr/bin/time -v python -m search.report --project "$PROJECT" --epochs "$EPOCHS" \
  > ${LOG}_report.log 2>&1
end=$(date +%s)
echo "report $((end-mid)) s; total $((end-start)) s; end $(date -u +%FT%TZ)"
