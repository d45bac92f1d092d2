#!/usr/bin/env bash
# Issue 15's rules against silent garbage and lost data, one ctest case per
# rule; each checks the exit status, the message and that the files there
# before are byte-identical afterwards.
#   data_safety.sh CAUSALGEN HOSTILE_EDIT SHIPPED_MODEL CASE
set -uo pipefail
exe=$1 edit=$2 shipped=$3 case_name=$4
dir=$(mktemp -d /tmp/causalgen_safety_XXXXXX)
trap 'rm -rf "$dir"' EXIT
fails=0

fail() { echo "FAIL [$case_name] $*"; fails=$((fails + 1)); }
ok() { echo "ok   [$case_name] $*"; }

# expect RC PATTERN ARGS...: exit status RC and PATTERN (ERE) in stderr.
expect() {
  local want=$1 pattern=$2
  shift 2
  "$exe" "$@" > "$dir/stdout" 2> "$dir/stderr"
  local rc=$?
  if ((rc != want)) || { [[ -n $pattern ]] && ! grep -Eq -- "$pattern" "$dir/stderr"; }; then
    fail "$*: exit $rc (want $want), stderr: $(head -c 400 "$dir/stderr")"
  else
    ok "$*: $(head -n 1 "$dir/stderr")"
  fi
}
# A folder's files and their contents, to compare before and after.
snapshot() { (cd "$1" && find . -type f -exec md5sum {} + | sort -k 2); }
same_as() {  # same_as FOLDER SNAPSHOT_FILE WHAT
  if snapshot "$1" | cmp -s - "$2"; then ok "$3: $1 unchanged"; else fail "$3: $1 changed"; fi
}

# A small text and a small run: checkpoints to work on (a second or two).
awk 'BEGIN { srand(5); for (i = 0; i < 6000; i++) { printf "%s ", (rand() < 0.5 ? "to be" : "or not"); if (i % 9 == 8) printf "\n" } }' > "$dir/text.txt"
small=(--n-layer 1 --n-embd 16 --block-size 16 --batch-size 4 --eval-iters 2 --threads 1 --quiet)
make_run() {  # make_run FOLDER STEPS
  "$exe" train --data "$dir/text.txt" --out "$1" "${small[@]}" --max-iters "$2" --eval-interval 3 ||
    { echo "FAIL [$case_name] setup: train exited $?"; exit 1; }
}

case "$case_name" in
  finite_values)
    # Model files: a NaN in an f32 tensor behind a valid CRC, in the first
    # tensor and in a LayerNorm vector; every command that reads it refuses,
    # naming the file and the tensor, and writes nothing.
    "$exe" convert --model "$shipped" --out "$dir/m8.cgm" --dtype int8 2> /dev/null || fail "setup: convert"
    for t in wte lnf.w; do
      "$edit" model-nan "$shipped" "$dir/nan.cgm" "$t" || fail "setup: model-nan $t"
      pat="nan\.cgm: .*tensor '$t'.*not finite"
      expect 1 "$pat" generate --model "$dir/nan.cgm" --tokens 5
      expect 1 "$pat" info --model "$dir/nan.cgm"
      expect 1 "$pat" eval --model "$dir/nan.cgm" --data "$dir/text.txt" --eval-iters 1 --no-full
      expect 1 "$pat" bench generate --model "$dir/nan.cgm" --positions 1 --seconds 0.01
      expect 1 "$pat" convert --model "$dir/nan.cgm" --out "$dir/nan8.cgm" --dtype int8
      [[ -e $dir/nan8.cgm ]] && fail "convert of a NaN model wrote $dir/nan8.cgm"
    done
    # Checkpoints: NaN parameters or moments; export, eval and resume refuse.
    make_run "$dir/run" 3
    for a in params m v; do
      "$edit" ckpt-nan "$dir/run/ckpt_last.cgc" "$dir/nan.cgc" "$a" || fail "setup: ckpt-nan $a"
      echo "an earlier file" > "$dir/out.cgm"
      expect 1 "nan\.cgc: unusable checkpoint: .*tensor '.*' value [0-9]+ is -?nan" \
        export --checkpoint "$dir/nan.cgc" --out "$dir/out.cgm"
      grep -qx "an earlier file" "$dir/out.cgm" || fail "export of a NaN checkpoint replaced its --out"
      expect 1 "nan\.cgc: unusable checkpoint" eval --checkpoint "$dir/nan.cgc" --data "$dir/text.txt"
    done
    cp "$dir/nan.cgc" "$dir/run/ckpt_last.cgc"
    snapshot "$dir/run" > "$dir/before"
    expect 1 "ckpt_last\.cgc: unusable checkpoint" train --data "$dir/text.txt" --out "$dir/run" --resume --quiet
    same_as "$dir/run" "$dir/before" "resume from a NaN checkpoint"
    ;;
  format_rules)
    # The validator's rules beyond the CRC (tests/core has each byte by byte).
    "$exe" convert --model "$shipped" --out "$dir/m8.cgm" --dtype int8 2> /dev/null || fail "setup: convert"
    "$edit" model-int8-min "$dir/m8.cgm" "$dir/min.cgm" l0.fc1.w && expect 1 "min\.cgm: .*'l0.fc1.w'.*-128" info --model "$dir/min.cgm"
    "$edit" model-overlap "$shipped" "$dir/lap.cgm" l1.wo && expect 1 "lap\.cgm: .*'l1.wo'.*overlaps" info --model "$dir/lap.cgm"
    "$edit" model-padding "$shipped" "$dir/pad.cgm" && expect 1 "pad\.cgm: .*nonzero padding" generate --model "$dir/pad.cgm"
    ;;
  checkpoint_trailing)
    # Bytes after the last field, with the header's size and CRC made to fit.
    make_run "$dir/run" 3
    for n in 1 64; do
      "$edit" ckpt-trailing "$dir/run/ckpt_last.cgc" "$dir/t.cgc" $n || fail "setup: ckpt-trailing"
      expect 1 "t\.cgc: corrupt checkpoint \($n bytes after the last field" export --checkpoint "$dir/t.cgc" --out "$dir/t.cgm"
      expect 1 "t\.cgc: corrupt checkpoint" eval --checkpoint "$dir/t.cgc" --data "$dir/text.txt"
    done
    [[ -e $dir/t.cgm ]] && fail "export wrote a model from a checkpoint with trailing bytes"
    cp "$dir/t.cgc" "$dir/run/ckpt_last.cgc"
    snapshot "$dir/run" > "$dir/before"
    expect 1 "corrupt checkpoint" train --data "$dir/text.txt" --out "$dir/run" --resume --quiet
    same_as "$dir/run" "$dir/before" "resume from a checkpoint with trailing bytes"
    ;;
  stdout_errors)
    # Results written to a full device: exit 1 and one message, never exit 0.
    make_run "$dir/run" 3
    for args in "generate --model $shipped --tokens 20" "info --model $shipped" \
                "eval --model $shipped --data $dir/text.txt --eval-iters 1 --no-full" \
                "bench generate --positions 1 --seconds 0.01" \
                "convert --model $shipped --out /dev/stdout --c-array" "--help" "generate --help" \
                "export --checkpoint $dir/run/ckpt_last.cgc --out $dir/e.cgm" \
                "train --data $dir/text.txt --out $dir/r2 ${small[*]/--quiet/--no-live} --max-iters 2"; do
      timeout 60 "$exe" $args > /dev/full 2> "$dir/stderr"
      rc=$?
      if ((rc == 1)) && grep -Eq "^causalgen: error: (standard output|/dev/stdout): (No space left on device|a write failed)" "$dir/stderr" &&
         (($(wc -l < "$dir/stderr") == 1)); then
        ok "$args > /dev/full: $(cat "$dir/stderr")"
      else
        fail "$args > /dev/full: exit $rc, stderr: $(cat "$dir/stderr")"
      fi
    done
    # A long generation stops at the first failed write (well within the timeout).
    SECONDS=0
    timeout 20 "$exe" generate --model "$shipped" --tokens 100000000 > /dev/full 2> "$dir/stderr"
    rc=$?
    if ((rc == 1 && SECONDS < 10)); then ok "long generate > /dev/full stopped at once"; else fail "long generate > /dev/full: exit $rc after ${SECONDS}s"; fi
    # Written to a device in place, never renamed over it.
    "$exe" convert --model "$shipped" --out /dev/stdout --c-array 2> /dev/null | grep -q "const unsigned long cg_model_data_len = 2417220UL;" &&
      ok "convert --c-array --out /dev/stdout writes to stdout" || fail "convert --c-array --out /dev/stdout"
    [[ -c /dev/null ]] && "$exe" convert --model "$shipped" --out /dev/null 2> /dev/null && [[ -c /dev/null ]] &&
      ok "--out /dev/null stays a device" || fail "--out /dev/null"
    ;;
  seeds)
    # Every command that takes a seed: 0 .. 2^64-1 in decimal digits, else a usage error naming the range.
    make_run "$dir/run" 3
    for bad in -1 18446744073709551616 99999999999999999999999 1e3 0x10 " 7" ""; do
      for cmd in "generate --model $shipped --tokens 1" "eval --model $shipped --data $dir/text.txt --eval-iters 1 --no-full" \
                 "bench generate --positions 1 --seconds 0.01" "bench train --steps 1 --warmup 0" \
                 "train --data $dir/text.txt --out $dir/never"; do
        expect 2 "seed.*0( to |\.\.)18446744073709551615" $cmd --seed "$bad"
      done
    done
    [[ -e $dir/never ]] && fail "a refused train created its --out"
    # A real range refuses NaN too (CLI::Range alone lets it through).
    for bad in nan -nan inf 0.001; do
      expect 2 "seconds.*0\.01( to |\.\.)600" bench generate --positions 1 --seconds "$bad"
    done
    expect 0 "" generate --model "$shipped" --tokens 3 --seed 18446744073709551615
    "$exe" generate --model "$shipped" --tokens 40 --seed 18446744073709551615 --temperature 1 > "$dir/a"
    "$exe" generate --model "$shipped" --tokens 40 --seed 18446744073709551614 --temperature 1 > "$dir/b"
    cmp -s "$dir/a" "$dir/b" && fail "seeds 2^64-1 and 2^64-2 gave the same text"
    ;;
  c_array_names)
    for name in int class _Bool __x 1abc a-b "" while; do
      expect 2 "--name: .*(keyword|not a C identifier|reserved)" convert --model "$shipped" --out "$dir/m.c" --c-array --name "$name"
    done
    [[ -e $dir/m.c ]] && fail "a refused --name wrote $dir/m.c"
    expect 2 "--name: .*keyword" export --checkpoint "$dir/missing.cgc" --out "$dir/m.c" --c-array --name int
    # A name that is not a keyword gives C that compiles (a small model: quick to compile).
    make_run "$dir/run" 3
    expect 0 "" export --checkpoint "$dir/run/ckpt_last.cgc" --out "$dir/m.c" --c-array --name my_model --header "$dir/m.h"
    if command -v cc > /dev/null; then
      printf '#include "m.h"\nint main(void) { return my_model_len == my_model_BYTES ? 0 : 1; }\n' > "$dir/main.c"
      (cd "$dir" && cc -std=c11 -o main main.c m.c && ./main) && ok "the C array compiles and links" || fail "the C array does not compile"
    fi
    ;;
  same_file)
    # An output that names an input (or another output) is refused before anything is written.
    make_run "$dir/run" 3
    w=$dir/w
    mkdir "$w"
    cp "$dir/run/ckpt_last.cgc" "$w/x.cgc"
    cp "$shipped" "$w/m.cgm"
    ln -s m.cgm "$w/link.cgm"
    ln "$w/m.cgm" "$w/hard.cgm"
    snapshot "$w" > "$dir/before"
    expect 1 "--out .*x\.cgc is the same file as --checkpoint .*x\.cgc" export --checkpoint "$w/x.cgc" --out "$w/x.cgc"
    expect 1 "--out .*x\.cgc is the same file as --checkpoint" export --checkpoint "$w/x.cgc" --out "$w/./x.cgc" --c-array
    expect 1 "--out .*m\.cgm is the same file as --model" convert --model "$w/m.cgm" --out "$w/m.cgm" --dtype int8
    expect 1 "--header .*m\.cgm is the same file as --model" convert --model "$w/m.cgm" --out "$w/m.c" --c-array --header "$w/m.cgm"
    expect 1 "--out .*m\.cgm is the same file as --model .*link\.cgm" convert --model "$w/link.cgm" --out "$w/m.cgm"
    expect 1 "--out .*hard\.cgm is the same file as --model .*m\.cgm" convert --model "$w/m.cgm" --out "$w/hard.cgm"
    expect 1 "--header .*new\.c and --out .*new\.c are the same file" convert --model "$w/m.cgm" --out "$w/new.c" --c-array --header "$w/./new.c"
    expect 1 "--header .*x\.h and --out .*x\.h are the same file" export --checkpoint "$w/x.cgc" --out "$w/x.h" --c-array --header "$w/x.h"
    same_as "$w" "$dir/before" "outputs naming inputs"
    cp "$w/m.cgm" "$dir/m2.cgm.tmp"
    expect 1 "m2\.cgm\.tmp is the temporary file" convert --model "$dir/m2.cgm.tmp" --out "$dir/m2.cgm"
    cmp -s "$dir/m2.cgm.tmp" "$shipped" || fail "the input named like the output's temporary file changed"
    # The training text cannot be one of the run's files.
    cp "$dir/text.txt" "$dir/run/log.csv"
    snapshot "$dir/run" > "$dir/before"
    expect 1 "--out .*log\.csv is the same file as --data" train --data "$dir/run/log.csv" --out "$dir/run" --resume --quiet
    same_as "$dir/run" "$dir/before" "--data inside the run's files"
    ;;
  train_guard)
    # A fresh run into a folder holding any file a run writes is refused, and
    # leaves the folder as it was.
    make_run "$dir/run" 3
    for f in ckpt_last.cgc ckpt_best.cgc log.csv eval.csv loss.svg config.json; do
      rm -rf "$dir/one"; mkdir "$dir/one"
      cp "$dir/run/$f" "$dir/one/"
      snapshot "$dir/one" > "$dir/before"
      expect 1 "already holds a run \($f\)" train --data "$dir/text.txt" --out "$dir/one" "${small[@]}" --max-iters 2
      same_as "$dir/one" "$dir/before" "fresh run over $f"
    done
    # A folder of other files is fine.
    rm -rf "$dir/other"; mkdir "$dir/other"; echo notes > "$dir/other/notes.txt"
    expect 0 "" train --data "$dir/text.txt" --out "$dir/other" "${small[@]}" --max-iters 2
    [[ -f $dir/other/ckpt_last.cgc && $(cat "$dir/other/notes.txt") == notes ]] || fail "run beside other files"
    ;;
  failed_resume)
    # A resume that cannot start writes nothing: not config.json, not the logs.
    make_run "$dir/run" 3
    snapshot "$dir/run" > "$dir/before"
    "$exe" train --data "$dir/text.txt" --out "$dir/run" --resume --max-iters 6 --quiet --device cuda 2> "$dir/stderr"
    rc=$?
    if ((rc == 1)); then
      grep -q "^causalgen: error: --device cuda: " "$dir/stderr" || fail "--device cuda: $(cat "$dir/stderr")"
      same_as "$dir/run" "$dir/before" "resume --device cuda without a GPU"
    else
      ok "resume --device cuda: exit $rc (a GPU is here: nothing to check)"
    fi
    head -c 20000 "$dir/text.txt" > "$dir/other.txt"  # the same characters, another text
    expect 1 "not the text this run was trained on" train --data "$dir/other.txt" --out "$dir/run" --resume --max-iters 6 --quiet
    same_as "$dir/run" "$dir/before" "resume with another text"
    expect 1 "No such file" train --data "$dir/missing.txt" --out "$dir/run" --resume --max-iters 6 --quiet
    same_as "$dir/run" "$dir/before" "resume with a missing text"
    # A fresh run that cannot start creates no folder.
    expect 1 "No such file" train --data "$dir/missing.txt" --out "$dir/fresh" "${small[@]}"
    [[ -e $dir/fresh ]] && fail "a fresh run that failed created $dir/fresh"
    ;;
  divergence)
    # --lr 1e30: the weights become NaN after the first step. Whether the
    # next evaluation or the next step notices, nothing non-finite is saved
    # and the message names the last good checkpoint.
    # (With a save after every step, the last good checkpoint is a later one:
    # its weights are finite, only the next step's loss is not.)
    for extra in "--eval-interval 1" "--eval-interval 5" "--eval-interval 50 --ckpt-interval 1"; do
      rm -rf "$dir/d"
      step=0
      [[ $extra == *ckpt-interval* ]] && step="[0-9]+"
      expect 1 "training diverged at step [0-9]+: .*the last good checkpoint is .*/d/ckpt_last\.cgc \(step $step\)" \
        train --data "$dir/text.txt" --out "$dir/d" "${small[@]}" --max-iters 20 --lr 1e30 $extra
      expect 0 "" eval --checkpoint "$dir/d/ckpt_last.cgc" --data "$dir/text.txt" --eval-iters 1 --no-full
      grep -qi nan "$dir/d/log.csv" "$dir/d/eval.csv" && fail "NaN in the logs ($extra)"
      [[ $step == 0 ]] && { grep -Eq "^estimate +[0-9]" "$dir/stdout" || fail "ckpt_last after divergence: $(cat "$dir/stdout")"; }
    done
    ;;
  *)
    fail "unknown case"
    ;;
esac
((fails == 0)) || { echo "$fails failure(s)"; exit 1; }
exit 0
