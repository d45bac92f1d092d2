#!/usr/bin/env bash
# A process killed (SIGKILL) in the middle of saving leaves the previous
# checkpoint loadable. Trains a model whose checkpoint is large next to a
# step, saving every step, kills the real `causalgen train` process at
# random moments (odd rounds) or as soon as a save's temp file appears (even
# rounds), and after every kill checks that ckpt_last.cgc loads (export) and
# that the run resumes from it.
# Usage: crash_during_save.sh CAUSALGEN_EXE [ROUNDS]
set -euo pipefail
exe=$1
rounds=${2:-25}
dir=$(mktemp -d /tmp/causalgen_crash_XXXXXX)
trap 'rm -rf "$dir"' EXIT

# A text to train on (no corpus needed).
awk 'BEGIN { srand(7); for (i = 0; i < 6000; i++) { printf "%s ", (rand() < 0.5 ? "to be" : "or not"); if (i % 9 == 8) printf "\n" } }' > "$dir/text.txt"

run=$dir/run
args=(train --data "$dir/text.txt" --out "$run" --n-layer 2 --n-embd 256 --block-size 16
      --batch-size 2 --max-iters 100000 --eval-interval 100000 --eval-iters 1
      --ckpt-interval 1 --threads 1 --quiet)
during_save=0
loaded=0
RANDOM=12345
for ((i = 1; i <= rounds; i++)); do
  marker=$dir/started.$i
  touch "$marker"
  sleep 0.01  # timestamps after the marker's are strictly newer
  resume=()
  [[ -f $run/ckpt_last.cgc ]] && resume=(--resume)
  "$exe" "${args[@]}" "${resume[@]}" > "$dir/out.txt" 2>&1 &
  pid=$!
  # Past start-up: wait until this process has begun or finished a save.
  for _ in $(seq 600); do
    [[ $run/ckpt_last.cgc.tmp -nt $marker || $run/ckpt_last.cgc -nt $marker ]] && break
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.05
  done
  if ((i % 2)); then
    # Odd rounds: a random moment within the next ~0.6 s.
    sleep "$(printf '0.%03d' $((RANDOM % 600)))"
  else
    # Even rounds: the moment the next save has its temp file open
    # (writing, fsync), after a random delay.
    sleep "$(printf '0.%03d' $((RANDOM % 200)))"
    deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)) && [[ ! $run/ckpt_last.cgc.tmp -nt $marker ]]; do :; done
  fi
  if ! kill -KILL "$pid" 2> /dev/null; then
    echo "FAIL round $i: train exited by itself:"; cat "$dir/out.txt"; exit 1
  fi
  wait "$pid" 2> /dev/null || true
  in_save=no
  # A temp file written by this process (a stale one from an earlier kill
  # is older than the marker; the trainer truncates it when it saves).
  if [[ $run/ckpt_last.cgc.tmp -nt $marker ]]; then in_save=yes; during_save=$((during_save + 1)); fi
  if [[ ! -f $run/ckpt_last.cgc ]]; then
    echo "round $i: killed before the first checkpoint existed"
    continue
  fi
  if ! "$exe" export --checkpoint "$run/ckpt_last.cgc" --out "$dir/model.cgm" > "$dir/export.txt" 2>&1; then
    echo "FAIL round $i: the last checkpoint does not load after SIGKILL:"
    cat "$dir/export.txt"
    exit 1
  fi
  loaded=$((loaded + 1))
  echo "round $i: killed (inside a save: $in_save); ckpt_last loads: $(grep -o 'step [0-9]*' "$dir/export.txt" | head -n 1)"
done
echo "kills during a save (temp file left behind): $during_save of $rounds; checkpoint loaded after $loaded"
if ((loaded < rounds / 2)); then echo "FAIL: too few rounds reached a checkpoint"; exit 1; fi
if ((during_save == 0)); then echo "FAIL: no kill landed inside a save; the test did not exercise it"; exit 1; fi
echo "PASS"
