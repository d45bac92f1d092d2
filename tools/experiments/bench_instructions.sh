#!/usr/bin/env bash
# Instruction counts (callgrind), before/after a change: generation per
# character on the shipped model, and one CPU training step of a small hybrid
# model (so that the trainer's own code, not only BLAS, is counted).
#   tools/experiments/bench_instructions.sh OLD_TOOLS_DIR NEW_TOOLS_DIR
# Each *_TOOLS_DIR holds causalgen (and, after the split, causalgen-train).
# Counts do not depend on the machine's load: compare them directly.
set -euo pipefail
old=$1 new=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
model=$root/examples/models/tiny-shakespeare-max-avg.cgm
data=${CAUSALGEN_DATA:-$root/../shared/data/tinyshakespeare.txt}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c 200000 "$data" > "$work/small.txt"
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
            sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
trainer() { [[ -x $1/causalgen-train ]] && echo "$1/causalgen-train" || echo "$1/causalgen"; }
train_args=(--data "$work/small.txt" --mixer max-avg,attention --n-layer 2 --n-embd 64 --n-head 2
            --block-size 32 --batch-size 8 --eval-interval 100000 --eval-iters 1 --threads 1)
echo "| build | generate: instructions per character | train: instructions per step |"
echo "|---|---:|---:|"
for dir in "$old" "$new"; do
  g1=$(count "$dir/causalgen" generate --model "$model" --prompt "ROMEO:" --tokens 1 --seed 1)
  g2=$(count "$dir/causalgen" generate --model "$model" --prompt "ROMEO:" --tokens 1001 --seed 1)
  t=$(trainer "$dir")
  a=$(count "$t" train "${train_args[@]}" --out "$work/a" --max-iters 2)
  b=$(count "$t" train "${train_args[@]}" --out "$work/b" --max-iters 12)
  rm -rf "$work/a" "$work/b"
  echo "| $dir | $(( (g2 - g1) / 1000 )) | $(( (b - a) / 10 )) |"
done
