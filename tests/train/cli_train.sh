#!/usr/bin/env bash
# The trainer's command line: bad input gives one clear message and a
# non-zero exit (never a crash); Ctrl-C saves and exits 130; --resume then
# finishes; export + eval of the model file give the checkpoint's loss.
# Usage: cli_train.sh CAUSALGEN_EXE
set -uo pipefail
exe=$1
dir=$(mktemp -d /tmp/causalgen_cli_XXXXXX)
trap 'rm -rf "$dir"' EXIT
fails=0

# expect_error NAME PATTERN ARGS...: non-zero exit below 128 and PATTERN in stderr.
expect_error() {
  local name=$1 pattern=$2
  shift 2
  "$exe" "$@" > "$dir/stdout" 2> "$dir/stderr"
  local rc=$?
  if ((rc == 0 || rc >= 128)) || ! grep -q -- "$pattern" "$dir/stderr"; then
    echo "FAIL $name: exit $rc, stderr:"; cat "$dir/stderr"; fails=$((fails + 1))
  else
    echo "ok   $name: $(head -n 1 "$dir/stderr")"
  fi
}

awk 'BEGIN { srand(3); for (i = 0; i < 8000; i++) { printf "%s ", (rand() < 0.5 ? "to be" : "or not"); if (i % 9 == 8) printf "\n" } }' > "$dir/text.txt"
: > "$dir/empty.txt"
printf 'a short text' > "$dir/short.txt"
small=(--n-layer 2 --n-embd 32 --block-size 16 --batch-size 4 --eval-iters 2 --threads 1)

expect_error "missing data" "No such file" train --data "$dir/nope.txt" --out "$dir/r0"
expect_error "empty data" "empty" train --data "$dir/empty.txt" --out "$dir/r0"
expect_error "too short" "fewer than one window" train --data "$dir/short.txt" --out "$dir/r0"
expect_error "window larger than the data" "block size 20000" train --data "$dir/text.txt" --out "$dir/r0" --block-size 20000
expect_error "unknown mixer" "unknown mixer 'maxx'" train --data "$dir/text.txt" --out "$dir/r0" --mixer maxx
expect_error "mixer list length" "names 3 layers" train --data "$dir/text.txt" --out "$dir/r0" --n-layer 2 --mixer max,min,max
expect_error "heads" "n_head 3 does not divide" train --data "$dir/text.txt" --out "$dir/r0" --mixer attention --n-head 3
expect_error "local window 0" "window: must be an integer in 1..65536, not 0" train --data "$dir/text.txt" --out "$dir/r0" --mixer local --window 0
expect_error "local window past T" "layer 1 (local): window 17 outside 1..16" train --data "$dir/text.txt" --out "$dir/r0" "${small[@]}" --mixer max,local --window 17
expect_error "negative lr" "must be a positive number" train --data "$dir/text.txt" --out "$dir/r0" --lr -1
expect_error "unknown flag" "--frobnicate" train --data "$dir/text.txt" --out "$dir/r0" --frobnicate
expect_error "unknown config" "neither a named config" train --data "$dir/text.txt" --out "$dir/r0" --config huge
printf '{"n_layer": 2, "colour": "red"}' > "$dir/bad.json"
expect_error "unknown JSON key" 'unknown setting "colour"' train --data "$dir/text.txt" --out "$dir/r0" --config "$dir/bad.json"
printf '{"n_layer": 2,' > "$dir/broken.json"
expect_error "broken JSON" "not valid JSON" train --data "$dir/text.txt" --out "$dir/r0" --config "$dir/broken.json"
expect_error "resume without a checkpoint" "does not exist" train --data "$dir/text.txt" --out "$dir/r1" --resume

# --device cuda: trains where the CUDA backend and a GPU exist; otherwise one
# message naming the missing piece (the backend library, or a GPU) and exit 1.
# Mixers with CUDA kernels (issue 13's ema, max-ema and mingru too) never get "no kernels".
expect_cuda_run() {
  local name=$1 out=$2
  shift 2
  "$exe" train --data "$dir/text.txt" --out "$out" "${small[@]}" --max-iters 2 --quiet --device cuda "$@" 2> "$dir/stderr"
  local rc=$?
  if ((rc == 0)) && [[ -f $out/ckpt_last.cgc ]]; then
    echo "ok   $name: trained on the GPU"
  elif ((rc == 1)) && grep -q "^causalgen: error: --device cuda: " "$dir/stderr" &&
       ! grep -q "no kernels for mixer" "$dir/stderr"; then
    echo "ok   $name: $(head -n 1 "$dir/stderr")"
  else
    echo "FAIL $name: exit $rc, stderr:"; cat "$dir/stderr"; fails=$((fails + 1))
  fi
}
expect_cuda_run "--device cuda" "$dir/gpu"
expect_cuda_run "--device cuda with issue 13's mixers" "$dir/gpu2" --mixer max-ema,mingru

# A mixer the CUDA backend has no kernels for: one message naming it (where the
# backend library is built; without it, the missing library's message), exit 1.
pattern="^causalgen: error: --device cuda: "
[[ -f $(dirname "$exe")/libcausalgen_cuda_backend.so ]] && pattern="no kernels for mixer 'local' (layer 1)"
expect_error "--device cuda with a CPU-only mixer" "$pattern" train --data "$dir/text.txt" --out "$dir/gpu3" \
  "${small[@]}" --mixer max,local --max-iters 2 --quiet --device cuda

# A JSON config is used (and its keys show in config.json).
printf '{"base": "tiny", "n_layer": 2, "n_embd": 32, "block_size": 16, "batch_size": 4, "max_iters": 6, "eval_interval": 3, "eval_iters": 2, "mixer": ["max-avg", "attention"], "threads": 1}' > "$dir/good.json"
if "$exe" train --data "$dir/text.txt" --out "$dir/json" --config "$dir/good.json" --quiet &&
   grep -q '"attention"' "$dir/json/config.json" && grep -q '"max_iters": 6' "$dir/json/config.json"; then
  echo "ok   JSON config"
else
  echo "FAIL JSON config"; fails=$((fails + 1))
fi

# Ctrl-C: saves, exits 130; --resume finishes the run.
"$exe" train --data "$dir/text.txt" --out "$dir/int" "${small[@]}" --max-iters 100000 --eval-interval 100000 --no-live > "$dir/int.txt" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "^iter" "$dir/int.txt" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
kill -INT "$pid"
wait "$pid"
rc=$?
if ((rc == 130)) && grep -q "stopped at step" "$dir/int.txt" && [[ -f $dir/int/ckpt_last.cgc ]]; then
  echo "ok   Ctrl-C: exit 130, $(grep 'stopped at step' "$dir/int.txt")"
else
  echo "FAIL Ctrl-C: exit $rc"; cat "$dir/int.txt"; fails=$((fails + 1))
fi
# (--max-iters past the step it stopped at: a resume with nothing to train is refused.)
stopped=$(sed -n 's/.*stopped at step \([0-9]*\).*/\1/p' "$dir/int.txt")
if "$exe" train --data "$dir/text.txt" --out "$dir/int" --resume --max-iters $((${stopped:-0} + 20)) --quiet; then
  echo "ok   resume after Ctrl-C"
else
  echo "FAIL resume after Ctrl-C"; fails=$((fails + 1))
fi

# Corrupt, truncated, foreign checkpoints.
ck=$dir/int/ckpt_last.cgc
cp "$ck" "$dir/trunc.cgc"; truncate -s 5000 "$dir/trunc.cgc"
cp "$ck" "$dir/flip.cgc"; printf '\xff' | dd of="$dir/flip.cgc" bs=1 seek=3000 conv=notrunc 2> /dev/null
expect_error "truncated checkpoint" "truncated checkpoint" export --checkpoint "$dir/trunc.cgc" --out "$dir/x.cgm"
expect_error "corrupt checkpoint" "CRC-32 mismatch" eval --checkpoint "$dir/flip.cgc" --data "$dir/text.txt"
expect_error "foreign checkpoint" "not a causalgen checkpoint" export --checkpoint "$dir/text.txt" --out "$dir/x.cgm"
expect_error "missing checkpoint" "No such file" eval --checkpoint "$dir/none.cgc" --data "$dir/text.txt"
cp "$dir/trunc.cgc" "$dir/int/ckpt_last.cgc"
expect_error "resume from a truncated checkpoint" "truncated checkpoint" train --data "$dir/text.txt" --out "$dir/int" --resume

# Export, then the model file's loss (core forward) matches the checkpoint's.
"$exe" export --checkpoint "$dir/int/ckpt_best.cgc" --out "$dir/m.cgm" > /dev/null || { echo "FAIL export"; fails=$((fails + 1)); }
a=$("$exe" eval --checkpoint "$dir/int/ckpt_best.cgc" --data "$dir/text.txt" --no-estimate --threads 2 | awk '/^full/ {print $2}')
b=$("$exe" eval --model "$dir/m.cgm" --engine core --data "$dir/text.txt" --no-estimate --threads 2 | awk '/^full/ {print $2}')
# Two forward passes (batched trainer, core): equal up to f32 rounding, so
# within 1e-5 of each other (eval prints 6 decimals).
if [[ -n $a && -n $b ]] && awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; exit !(d <= 1e-5 && d >= -1e-5) }'; then
  echo "ok   eval: checkpoint $a ~ exported model (core forward) $b (within 1e-5)"
else
  echo "FAIL eval: checkpoint '$a' vs exported model '$b'"; fails=$((fails + 1))
fi
expect_error "eval of a checkpoint as a model" "not a training checkpoint\|bad magic\|not a causalgen model" eval --model "$dir/int/ckpt_best.cgc" --data "$dir/text.txt"
printf 'xyz%.0s' $(seq 500) >"$dir/foreign.txt"
expect_error "eval with a foreign vocabulary" "not in the model's vocabulary" eval --model "$dir/m.cgm" --data "$dir/foreign.txt"

echo "$fails failure(s)"
exit $((fails > 0))
