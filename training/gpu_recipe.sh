#!/usr/bin/env bash
# Teachers and distilled students on a GPU (Keras 3 on JAX). The shipped model is a single
# train_emotion run (see its card); this recipe's students are candidates, compared with
# `python -m bench.compare_emotion` before one replaces it.
# The shipped one has phase 2's width-32 configuration (seed 51, KD 0.7), trained on its own for 171 epochs.
# Allow T1 + T2 + ~3 min: start-up, compilation and four runs sharing one GPU add to the budgets
# (timings: docs/emotion-model.md).
# Phase 1: three teachers (wide VGG) in parallel with a hard-label width-48 student that trains
#          through both phases (its budget is PHASE1 + PHASE2 + 40 s for the teacher targets).
# Phase 2: students distilled from the teachers' ensemble (each averaged over the served views), in parallel.
# usage: training/gpu_recipe.sh DATA(.npz|.csv.gz) OUTDIR PHASE1_SECONDS PHASE2_SECONDS
# Each run is an ordinary `python -m training.train_emotion` (see its --help); the epochs each
# reached under its time budget are in OUTDIR/*/state.json, so a run can be repeated exactly with
# --epochs N on any machine.
set -u
DATA=$1 OUT=$2 T1=$3 T2=$4
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false TF_CPP_MIN_LOG_LEVEL=2
export KERAS_BACKEND=${KERAS_BACKEND:-jax}
mkdir -p "$OUT"
# EXTRA: flags for every run, e.g. "--mixed-precision --batch-size 256 --lr 3e-3" on a GPU.
train() { local name=$1; shift; $PY -m training.train_emotion --data "$DATA" --out "$OUT/$name" "$@" ${EXTRA:-} >"$OUT/$name.log" 2>&1; }

train teacher1 --arch teacher --seed 11 --epochs 400 --time-budget "$T1" & t1=$!
train teacher2 --arch teacher --seed 12 --epochs 400 --time-budget "$T1" --dropout 0.3 & t2=$!
train teacher3 --arch teacher --seed 13 --epochs 400 --time-budget "$T1" --dropout 0.5 & t3=$!
train student_l_hard --arch student-l --seed 21 --epochs 400 --time-budget "$((T1 + T2 + 40))" &
wait $t1 $t2 $t3
$PY -m training.teacher_targets --data "$DATA" --out "$OUT/teacher_probs.npz" \
    --teachers "$OUT"/teacher? >"$OUT/teacher_targets.log" 2>&1
cat "$OUT/teacher_targets.log" | grep -v '^[WI]0000'
train student_kd --arch student --seed 51 --epochs 400 --time-budget "$T2" --kd-weight 0.7 --teacher-probs "$OUT/teacher_probs.npz" &
train student_l_kd --arch student-l --seed 33 --epochs 400 --time-budget "$T2" --kd-weight 0.7 --teacher-probs "$OUT/teacher_probs.npz" &
wait
for f in "$OUT"/*.log; do echo "== $f"; grep -E "time budget|done:|Error|error" "$f" | tail -3; done
