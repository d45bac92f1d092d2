#!/bin/bash
# CLI tests for the `causalgen` command line, one case per ctest test:
#   cli_test.sh CAUSALGEN MODEL_DIR CASE
# The model files come from make_test_model (fixture cli_models). Vocabulary:
# '\n', ' ' .. 'F' (so "ABC" is valid and 'z' is not).
set -u
exe=$1
dir=$2
case_name=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL [$case_name]: $*" >&2; exit 1; }

# run ARGS...: stdout -> $work/out, stderr -> $work/err, exit code -> $rc
run() {
  "$exe" "$@" >"$work/out" 2>"$work/err"
  rc=$?
}
# Expects a clean failure: exit code 1..127 (not a signal), a message on stderr.
expect_error() {
  local pattern=$1
  shift
  run "$@"
  [ "$rc" -ne 0 ] || fail "exit 0 for: $*"
  [ "$rc" -lt 128 ] || fail "crashed (exit $rc) for: $*"
  [ -s "$work/err" ] || fail "no message on stderr for: $*"
  grep -Eq -- "$pattern" "$work/err" || fail "stderr does not match /$pattern/ for: $* -- got: $(cat "$work/err")"
}

case "$case_name" in
  generate_prints)
    for m in shift window; do
      run generate --model "$dir/$m.cgm" --tokens 100 --seed 3
      [ "$rc" -eq 0 ] || fail "$m: exit $rc: $(cat "$work/err")"
      # 100 characters (all ASCII in this vocabulary) and a final newline.
      n=$(wc -c <"$work/out")
      [ "$n" -eq 101 ] || fail "$m: expected 101 bytes, got $n"
      run generate --model "$dir/$m.cgm" --prompt "ABC" --tokens 40 --seed 3
      [ "$rc" -eq 0 ] || fail "$m with prompt: exit $rc"
      [ "$(head -c 3 "$work/out")" = "ABC" ] || fail "$m: output does not start with the prompt"
      n=$(wc -c <"$work/out")
      [ "$n" -eq 44 ] || fail "$m: expected 44 bytes with the prompt, got $n"
    done
    # Past the window of the window-limited model (T = 16): still works.
    run generate --model "$dir/window.cgm" --tokens 60 --top-k 5 --top-p 0.9 --temperature 1.2 --stats
    [ "$rc" -eq 0 ] || fail "window past T: exit $rc"
    grep -q "chars/s" "$work/err" || fail "--stats printed no chars/s"
    ;;
  seed_determinism)
    for m in shift window; do
      run generate --model "$dir/$m.cgm" --tokens 200 --seed 7 --temperature 1.0
      cp "$work/out" "$work/a"
      run generate --model "$dir/$m.cgm" --tokens 200 --seed 7 --temperature 1.0
      cmp -s "$work/a" "$work/out" || fail "$m: same seed, different output"
      run generate --model "$dir/$m.cgm" --tokens 200 --seed 8 --temperature 1.0
      cmp -s "$work/a" "$work/out" && fail "$m: seeds 7 and 8 gave the same 200 characters"
      # Greedy ignores the seed.
      run generate --model "$dir/$m.cgm" --tokens 50 --seed 1 --temperature 0
      cp "$work/out" "$work/g"
      run generate --model "$dir/$m.cgm" --tokens 50 --seed 2 --temperature 0
      cmp -s "$work/g" "$work/out" || fail "$m: greedy output depends on the seed"
    done
    ;;
  wrong_flag)
    expect_error "bogus" generate --model "$dir/shift.cgm" --bogus 3
    expect_error "." frobnicate
    expect_error "." generate                               # --model is required
    expect_error "tokens|-1" generate --model "$dir/shift.cgm" --tokens -1
    run
    [ "$rc" -ne 0 ] || fail "no subcommand gave exit 0"
    # Usage errors exit 2 (errors in the input exit 1), in both executables.
    for args in "generate --model $dir/shift.cgm --bogus 3" "frobnicate" "generate" \
                "generate --model $dir/shift.cgm --tokens -1" "train --data x --out y --mixer maximum" \
                "eval --frobnicate"; do
      run $args
      [ "$rc" -eq 2 ] || fail "exit $rc (want 2) for the usage error: $args"
    done
    run --help
    [ "$rc" -eq 0 ] || fail "--help gave exit $rc"
    ;;
  missing_file)
    expect_error "no-such-model\.cgm.*(No such file|not found)" generate --model "$dir/no-such-model.cgm"
    expect_error "no-such-model\.cgm" info --model "$dir/no-such-model.cgm"
    ;;
  corrupt_file)
    expect_error "truncated\.cgm.*truncated" generate --model "$dir/truncated.cgm"
    expect_error "flipped\.cgm.*(crc|CRC)" generate --model "$dir/flipped.cgm"
    expect_error "notmodel\.cgm.*magic" generate --model "$dir/notmodel.cgm"
    expect_error "empty\.cgm: file is 0 bytes, too short" info --model "$dir/empty.cgm"
    expect_error "flipped\.cgm" info --model "$dir/flipped.cgm"
    # A directory is not a model file, and says so.
    expect_error "$dir: a directory, not a file" generate --model "$dir"
    expect_error "$dir: a directory, not a file" info --model "$dir"
    ;;
  special_files)
    # Files that never end or never start: one message within seconds naming
    # what they are (the sparse file: by its header), never a hang or the
    # whole file read into memory.
    mkfifo "$work/fifo"
    truncate -s 64G "$work/sparse.cgm"
    for f in "$work/fifo" /dev/zero "$work/sparse.cgm"; do
      for cmd in info generate; do
        timeout 20 "$exe" $cmd --model "$f" >"$work/out" 2>"$work/err"
        rc=$?
        [ "$rc" -eq 1 ] || fail "$cmd --model $f: exit $rc (124: it hung), want 1"
        grep -Eq "fifo: a FIFO or pipe, not a file|magic|/dev/zero: a character device" "$work/err" ||
          fail "$cmd --model $f: $(cat "$work/err")"
      done
    done
    # /dev/stdin redirected from a model file is that file.
    run generate --model /dev/stdin --tokens 20 --seed 3 <"$dir/shift.cgm"
    [ "$rc" -eq 0 ] || fail "model from a redirect: exit $rc: $(cat "$work/err")"
    # A pipe is refused by what it is: its size cannot be checked before reading.
    cat "$dir/shift.cgm" | timeout 20 "$exe" info --model /dev/stdin >"$work/out" 2>"$work/err"
    rc=$?
    [ "$rc" -eq 1 ] || fail "model through a pipe: exit $rc, want 1"
    grep -q "^causalgen: error: /dev/stdin: a FIFO or pipe, not a file" "$work/err" || fail "model through a pipe: $(cat "$work/err")"
    ;;
  bad_prompt)
    expect_error "'z'.*vocabulary" generate --model "$dir/shift.cgm" --prompt "ABz" --tokens 5
    expect_error "U\+00E9" generate --model "$dir/shift.cgm" --prompt "é" --tokens 5
    expect_error "UTF-8" generate --model "$dir/shift.cgm" --prompt $'A\xff' --tokens 5
    # Nothing was generated before the error.
    run generate --model "$dir/shift.cgm" --prompt "ABz" --tokens 5
    [ ! -s "$work/out" ] || fail "output printed before the prompt error: $(cat "$work/out")"
    ;;
  bad_sampler)
    expect_error "top" generate --model "$dir/shift.cgm" --top-p 0
    expect_error "top" generate --model "$dir/shift.cgm" --top-p 1.5
    expect_error "temperature" generate --model "$dir/shift.cgm" --temperature -1
    ;;
  info)
    for m in shift window; do
      run info --model "$dir/$m.cgm"
      [ "$rc" -eq 0 ] || fail "$m: exit $rc: $(cat "$work/err")"
      want=$(cat "$dir/$m.params")
      grep -Eq "^parameters +$want\$" "$work/out" || fail "$m: parameter count $want not printed: $(cat "$work/out")"
      grep -Eq "^state bytes +[0-9]+" "$work/out" || fail "$m: no state bytes line"
      grep -Eq "^vocab +40 " "$work/out" || fail "$m: vocabulary size 40 not printed"
    done
    grep -q "attention max-avg" "$work/out" || fail "window: mixers not listed"
    s_shift=$("$exe" info --model "$dir/shift.cgm" | sed -n 's/^state bytes *\([0-9]*\).*/\1/p')
    s_win=$("$exe" info --model "$dir/window.cgm" | sed -n 's/^state bytes *\([0-9]*\).*/\1/p')
    # The attention layer's K/V cache (2 x T x C floats = 4096 bytes) is in the window model's state.
    [ "$s_win" -ge $((s_shift + 4096)) ] || fail "state bytes: shift $s_shift, window $s_win"
    ;;
  lean)
    # `causalgen` runs generation on the core alone: no BLAS, OpenMP or CUDA
    # library is loaded (the trainer's commands run in causalgen-train).
    libs=$(ldd "$exe") || fail "ldd failed"
    if grep -Ei "blas|gomp|omp\.so|cuda|cublas|xtensor" <<<"$libs"; then fail "loads: $libs"; fi
    run --help
    [ "$rc" -eq 0 ] || fail "--help: exit $rc"
    for c in generate info bench convert train eval export; do
      grep -Eq "^ +$c( |$)" "$work/out" || fail "--help does not list $c: $(cat "$work/out")"
    done
    ;;
  trainer_commands)
    # The trainer's commands run in causalgen-train with the same arguments.
    run train --help
    [ "$rc" -eq 0 ] || fail "train --help: exit $rc: $(cat "$work/err")"
    grep -q -- "--data" "$work/out" || fail "train --help lacks --data: $(cat "$work/out")"
    run bench train --help
    [ "$rc" -eq 0 ] && grep -q -- "--device" "$work/out" || fail "bench train --help: exit $rc"
    expect_error "missing.cgc: No such file" export --checkpoint "$dir/missing.cgc" --out "$work/x.cgm"
    # Without its sibling executable: one clear message, exit 1.
    cp "$exe" "$work/causalgen"
    exe="$work/causalgen" expect_error "causalgen-train.*cannot run" train --data x --out y
    [ "$rc" -eq 1 ] || fail "missing causalgen-train: exit $rc"
    ;;
  import_nanogpt)
    # Runs the Python script beside the executable: its usage errors exit 2;
    # without PyTorch, or without the script, one message and exit 1.
    run import-nanogpt --checkpoint x.pt
    [ "$rc" -eq 2 ] && grep -q "causalgen: error:.*required" "$work/err" || fail "usage: exit $rc: $(cat "$work/err")"
    mkdir -p "$work/notorch"
    printf 'raise ImportError("No module named torch (test)")\n' > "$work/notorch/torch.py"
    PYTHONPATH="$work/notorch" expect_error "needs PyTorch" import-nanogpt --checkpoint x.pt --meta m.pkl --out "$work/x.cgm"
    [ "$rc" -eq 1 ] || fail "without torch: exit $rc"
    # Inputs must be regular files, checked before torch reads them: a FIFO
    # with no writer is refused at once (never waited on), a directory by name.
    mkdir -p "$work/faketorch"
    : > "$work/faketorch/torch.py"
    mkfifo "$work/fifo.pt"
    : > "$work/m.pkl"
    printf '#!/bin/sh\nexec timeout 20 "%s" "$@"\n' "$exe" > "$work/timed"
    chmod +x "$work/timed"
    PYTHONPATH="$work/faketorch" exe="$work/timed" expect_error "fifo.pt: a FIFO or pipe, not a file" \
      import-nanogpt --checkpoint "$work/fifo.pt" --meta "$work/m.pkl" --out "$work/x.cgm"
    [ "$rc" -eq 1 ] || fail "FIFO checkpoint: exit $rc"
    PYTHONPATH="$work/faketorch" expect_error "faketorch: a directory, not a file" \
      import-nanogpt --checkpoint "$work/m.pkl" --meta "$work/faketorch" --out "$work/x.cgm"
    PYTHONPATH="$work/faketorch" expect_error "missing.pt: No such file or directory" \
      import-nanogpt --checkpoint "$work/missing.pt" --meta "$work/m.pkl" --out "$work/x.cgm"
    cp "$exe" "$work/causalgen"
    exe="$work/causalgen" expect_error "import-nanogpt runs .*causalgen-import-nanogpt, which cannot run" \
      import-nanogpt --checkpoint x.pt --meta m.pkl --out "$work/x.cgm"
    [ "$rc" -eq 1 ] || fail "missing causalgen-import-nanogpt: exit $rc"
    [ ! -e "$work/x.cgm" ] || fail "an output file was written"
    ;;
  *)
    fail "unknown case"
    ;;
esac
exit 0
