#!/usr/bin/env bash
# One device call on the lent GPU (nvidia-h100-x1: PyTorch and JAX, no TensorFlow, no network), so
# Keras runs with KERAS_BACKEND=torch. Everything ends within TOTAL seconds (500 by default): each
# step is bounded by the harness's own --time-budget and by `timeout`, and is skipped when too little
# time is left. Run from the repository root with the ignored folders .whl (keras, keras-tuner and
# the three packages the image lacks, as wheels) and .devdata (bench/tools/device_unpack.py's packed data)
# carried:   bash bench/experiments/gpu_recipe.sh 2>&1 | tee $OUT/gpu_recipe.log
# (the device tool sets OUT, the folder whose files come back; DRY=1 only prints the commands;
# the committed log is bench/results/gpu_recipe/gpu_recipe.log)
#
#   step                       bound (s)   what
#   0 machine                  -           nvidia-smi -L, python, versions
#   1 wheels                   60          pip install --target /tmp/site (device README's recipe)
#   2 data                     90          .devdata/fer2013 -> data/fer2013, checked against meta.json
#   3 random points            ~160 (180)  bench_random_points.py: cnn and resnet, 12 random trials each,
#                                          2 epochs, 4 seeded searches per space at once, --time-budget 110s
#   4 recipe search            ~105 (130)  search.run: cnn at the FER-2013 recipe (VGG 64-512, SGD, cosine,
#                                          crop 44), 3 random trials x 3 epochs of the free hyperparameters
#                                          (sgd_learning_rate, weight_decay, label_smoothing), 75s
#   5 report                   the rest    search.report: the best retrained for as many epochs (up to 40)
#                                          as the search's pace fits into what is left, ten-crop TTA
#   6 files                    -           logs, leaderboards and the report's metrics into $OUT
set -uo pipefail
cd "$(dirname "$0")/../.."
TOTAL=${TOTAL:-500}
BATCH=${BATCH:-128}                 # 64 (the default) spends most of a GPU step in Python's overhead
BENCH_BUDGET=${BENCH_BUDGET:-110}   # seconds, each of the 8 parallel searches of step 3
BENCH_PARALLEL=${BENCH_PARALLEL:-4} # searches per space at once (seeds 0-3, 3 trials each)
SEARCH_BUDGET=${SEARCH_BUDGET:-75}  # seconds, step 4
REPORT_OVERHEAD=${REPORT_OVERHEAD:-75}  # step 5 outside retraining: start-up, test and TTA passes, Grad-CAM, figures
OUT=${OUT:-/tmp/gpu-recipe-out}
mkdir -p "$OUT"
START=$(date +%s)
left() { echo $(( TOTAL - ($(date +%s) - START) )); }
bound() { local l=$(( $(left) - $2 )); echo $(( $1 < l ? $1 : l )); }  # min(cap, time left less a reserve)
step() { echo; echo "=== step $1 at +$(( $(date +%s) - START ))s, $(left)s left"; }
x() { echo "+ $*"; [[ -n ${DRY:-} ]] || "$@"; }  # show each command as set -x would, without the helpers' noise
export KERAS_BACKEND=torch PYTHONUNBUFFERED=1

step "0 machine"
x nvidia-smi -L
x python3 --version

step "1 wheels"
x timeout 60 python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site; echo "+ export PYTHONPATH=$PYTHONPATH KERAS_BACKEND=$KERAS_BACKEND"
x python3 -c "import keras, keras_tuner, torch; print('keras', keras.__version__, keras.backend.backend(), 'keras-tuner', keras_tuner.__version__, 'torch', torch.__version__, 'cuda', torch.cuda.is_available())" || exit 1

step "2 data"
x timeout 90 python3 bench/tools/device_unpack.py unpack .devdata/fer2013 data/fer2013 || exit 1

step "3 random points"
T=$(bound 180 200)
if (( T > BENCH_BUDGET )); then
  x timeout -k 10 "$T" python3 bench/bench_random_points.py --data data/fer2013 --spaces cnn resnet \
    --max-trials 12 --max-epochs 2 --parallel "$BENCH_PARALLEL" --batch-size "$BATCH" \
    --time-budget "${BENCH_BUDGET}s" --grace $(( T - BENCH_BUDGET - 10 )) --out "$OUT/random_points.csv"
  echo "step 3 exit status $?"
else echo "step 3 skipped: $(left)s left"; fi

step "4 recipe search"
T=$(bound 130 90)
if (( T > SEARCH_BUDGET )); then
  x timeout -k 10 "$T" python3 -m search.run --space cnn --tuner random --max-trials 3 --max-epochs 3 \
    --batch-size "$BATCH" --data data/fer2013 --project gpu-recipe --overwrite --plain --no-tensorboard \
    --time-budget "${SEARCH_BUDGET}s" \
    --fix conv_blocks=4 --fix filters=64 --fix convs_per_block=2 --fix lean_first_block=false \
    --fix batch_norm=true --fix crop_size=44 \
    --fix lr_schedule=cosine --fix optimizer=sgd --fix augment=light --fix pooling=flatten \
    --fix dense_units=256 --fix mixup=0 --fix random_erasing=0 --fix class_weight=none
  echo "step 4 exit status $?"
else echo "step 4 skipped: $(left)s left"; fi

step "5 report"
BUDGET=$(( $(left) - REPORT_OVERHEAD - 10 ))
# the epochs that fit: the search's slowest pace (seconds per epoch, trial start-up included), 90% of the budget
EPOCHS=$(python3 - "$BUDGET" <<'EOF'
import csv, sys
rows = [r for r in csv.DictReader(open("tuner_runs/gpu-recipe/leaderboard.csv")) if r["status"] == "COMPLETED" and r["epochs"]]
pace = max(float(r["seconds"]) / int(r["epochs"]) for r in rows)
print(f"{max(1, min(40, int(0.9 * float(sys.argv[1]) / pace)))}")
print(f"pace {pace:.1f} s/epoch -> {sys.argv[1]} s of retraining", file=sys.stderr)
EOF
) || EPOCHS=10
echo "report: $EPOCHS epochs, --time-budget ${BUDGET}s"
if (( BUDGET >= 30 )); then
  x timeout -k 10 $(( $(left) - 8 )) python3 -m search.report --project gpu-recipe --top 1 --epochs "$EPOCHS" \
    --tta ten-crop --time-budget "${BUDGET}s" --plain
  echo "step 5 exit status $?"
else echo "step 5 skipped: $(left)s left"; fi

step "6 files"
# with gpu_recipe.log and random_points.csv: 8 files, none in a folder
for pair in tuner_runs/gpu-recipe/leaderboard.csv:search_leaderboard.csv tuner_runs/gpu-recipe/config.json:search_config.json \
    reports/gpu-recipe/metrics.json:report_metrics.json reports/gpu-recipe/per_class.csv:report_per_class.csv \
    reports/gpu-recipe/report_config.json:report_config.json; do
  x cp "${pair%%:*}" "$OUT/${pair##*:}" || true
done
tail -n 5 tuner_runs/rp-logs/*.log > "$OUT/random_points_search_tails.log" || true
echo "=== done in $(( $(date +%s) - START ))s of $TOTAL"
ls -la "$OUT"
