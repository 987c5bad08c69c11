#!/usr/bin/env bash
# How the shipped emotion model was made from the GPU run runs/s32 on 2 CPU cores (~25 min per
# fine-tune): self-distillation fine-tunes from s32 with different seeds, then their uniform
# weight soup. Each step is an ordinary command (see its --help); RUNS defaults to ./runs.
# usage: training/cpu_soup_recipe.sh [targets|finetune SEED EPOCHS|soup|export]
set -eu
RUNS=${RUNS:-runs}
PY=${PYTHON:-python}
case ${1:-} in
  targets)   # the s32 model itself, as LiteRT, averaged over 18 views of each Training face
    $PY -m training.export_emotion --run "$RUNS/s32" --quantize dynamic --out-dir "$RUNS/s32/export"
    $PY -m training.self_targets --model "$RUNS/s32/export/emotion.tflite" --out "$RUNS/self18.npy" ;;
  finetune)  # shipped soup: ft1 = seed 7, 16 epochs; ft2 = seed 8, 12; ft3 = seed 9, 12; ft4 = seed 10, 12
    $PY -m training.train_emotion --arch student --init-from "$RUNS/s32" --teacher-probs "$RUNS/self18.npy" \
        --kd-weight 0.5 --lr 5e-4 --warmup-epochs 1 --epochs "$3" --workers 1 --seed "$2" --out "$RUNS/ft$(( $2 - 6 ))" ;;
  soup)
    $PY -m training.soup_emotion --runs "$RUNS/s32" "$RUNS"/ft? --out "$RUNS/soup" ;;
  export)
    $PY -m training.export_emotion --run "$RUNS/soup" --quantize dynamic \
        --recipe "training/cpu_soup_recipe.sh targets; finetune 7 16; finetune 8 12; finetune 9 12; finetune 10 12; soup (from runs/s32, trained on a GPU: see training_args)" ;;
  *) echo "usage: $0 targets | finetune SEED EPOCHS | soup | export" >&2; exit 2 ;;
esac
