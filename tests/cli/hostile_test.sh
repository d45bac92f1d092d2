#!/bin/bash
# Hostile but realistic input to both executables (issue 15, "Crashes and
# hangs" and "Messages"), one case per rule, each with several instances:
#   hostile_test.sh CAUSALGEN MODEL_DIR CASE
# Every failure must be one line "causalgen: error: ..." naming the problem,
# exit 1 (errors) or 2 (usage errors): never a signal, a hang or exit 0.
set -u
exe=$1
dir=$2
case_name=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL [$case_name]: $*" >&2; exit 1; }

# expect RC PATTERN ARGS...: exit status RC within 20 s, stderr one line
# starting "causalgen: error: " and matching PATTERN (extended regex).
expect() {
  local want=$1 pattern=$2
  shift 2
  timeout 20 "$exe" "$@" >"$work/out" 2>"$work/err" </dev/null
  local rc=$?
  [ "$rc" -ne 124 ] || fail "hung (killed after 20 s): $*"
  [ "$rc" -eq "$want" ] || fail "exit $rc (want $want) for: $* -- $(cat "$work/err")"
  [ "$(wc -l <"$work/err")" -eq 1 ] || fail "not one line on stderr for: $* -- $(cat "$work/err")"
  grep -q "^causalgen: error: " "$work/err" || fail "no 'causalgen: error:' prefix for: $* -- $(cat "$work/err")"
  grep -Eq -- "$pattern" "$work/err" || fail "stderr does not match /$pattern/ for: $* -- $(cat "$work/err")"
  echo "ok   $*: $(cat "$work/err")"
}

# A text in the test models' vocabulary ('\n', ' ' .. 'F').
awk 'BEGIN { srand(5); for (i = 0; i < 6000; i++) { printf "%s", (rand() < 0.5 ? "ABC " : "DEF "); if (i % 9 == 8) printf "\n" } }' >"$work/text.txt"
small=(--n-layer 2 --n-embd 32 --block-size 16 --batch-size 4 --eval-iters 2 --eval-interval 2 --threads 1 --quiet)

case "$case_name" in
  special_inputs)
    # Every input (text, JSON settings, checkpoint, model) is a regular file:
    # a FIFO with no writer, a pipe, /dev/zero, a block device, a socket and a
    # directory are refused at once by what they are (never a wait in open()),
    # a 64 GB sparse file by its size or its header.
    mkfifo "$work/fifo"
    truncate -s 64G "$work/sparse"
    mkdir "$work/folder"
    python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$work/sock" ||
      fail "could not make a socket"
    block=$(find /dev -maxdepth 1 -type b -readable 2>/dev/null | head -1)
    fifo="fifo: a FIFO or pipe, not a file"
    expect 1 "$fifo" train --data "$work/fifo" --out "$work/r"
    expect 1 "/dev/zero: a character device" train --data /dev/zero --out "$work/r"
    expect 1 "folder: a directory, not a file" train --data "$work/folder" --out "$work/r"
    expect 1 "sock: a socket, not a file" train --data "$work/sock" --out "$work/r"
    expect 1 "sparse: 64.0 GiB \(68719476736 bytes\): too large; a text file may be at most 1.0 GiB" \
      train --data "$work/sparse" --out "$work/r"
    expect 1 "sparse: 64.0 GiB .*too large" eval --model "$dir/shift.cgm" --data "$work/sparse"
    expect 1 "/dev/zero: a character device" eval --model "$dir/shift.cgm" --data /dev/zero
    expect 1 "$fifo" eval --model "$dir/shift.cgm" --data "$work/fifo"
    expect 1 "$fifo" train --data "$work/text.txt" --out "$work/r" --config "$work/fifo"
    expect 1 "/dev/zero: a character device" train --data "$work/text.txt" --out "$work/r" --config /dev/zero
    expect 1 "folder: a directory, not a file" train --data "$work/text.txt" --out "$work/r" --config "$work/folder"
    expect 1 "sock: a socket, not a file" train --data "$work/text.txt" --out "$work/r" --config "$work/sock"
    expect 1 "sparse: 64.0 GiB .*a JSON settings file may be at most 1.0 MiB" \
      train --data "$work/text.txt" --out "$work/r" --config "$work/sparse"
    expect 1 "$fifo" eval --checkpoint "$work/fifo" --data "$work/text.txt"
    expect 1 "$fifo" export --checkpoint "$work/fifo" --out "$work/m.cgm"
    mkdir "$work/r2" && mkfifo "$work/r2/ckpt_last.cgc"
    expect 1 "ckpt_last.cgc: a FIFO or pipe, not a file" train --data "$work/text.txt" --out "$work/r2" --resume
    expect 1 "/dev/zero: a character device" export --checkpoint /dev/zero --out "$work/m.cgm"
    expect 1 "folder: a directory, not a file" eval --checkpoint "$work/folder" --data "$work/text.txt"
    expect 1 "sock: a socket, not a file" export --checkpoint "$work/sock" --out "$work/m.cgm"
    expect 1 "sparse: not a causalgen checkpoint \(bad magic\)" export --checkpoint "$work/sparse" --out "$work/m.cgm"
    expect 1 "folder: a directory, not a file" convert --model "$work/folder" --out "$work/m.cgm"
    expect 1 "$fifo" convert --model "$work/fifo" --out "$work/m.cgm"
    expect 1 "$fifo" generate --model "$work/fifo"
    expect 1 "$fifo" eval --model "$work/fifo" --data "$work/text.txt"
    expect 1 "/dev/zero: a character device" info --model /dev/zero
    expect 1 "sock: a socket, not a file" info --model "$work/sock"
    if [ -n "$block" ]; then
      expect 1 "$block: a block device, not a file" info --model "$block"
      expect 1 "$block: a block device, not a file" eval --model "$dir/shift.cgm" --data "$block"
    else
      echo "skip a block device: none readable in /dev"
    fi
    [ ! -e "$work/r/ckpt_last.cgc" ] || fail "a refused run wrote a checkpoint"
    # /dev/stdin redirected from a file is that file; a pipe is refused by
    # what it is (its size cannot be checked before it is read).
    timeout 60 "$exe" eval --model "$dir/shift.cgm" --data /dev/stdin --no-estimate <"$work/text.txt" >"$work/out" 2>"$work/err" ||
      fail "text from a redirect: $(cat "$work/err")"
    grep -q "^full" "$work/out" || fail "no loss for a text from a redirect: $(cat "$work/out")"
    cat "$work/text.txt" | timeout 20 "$exe" eval --model "$dir/shift.cgm" --data /dev/stdin --no-estimate >"$work/out" 2>"$work/err"
    rc=$?
    [ "$rc" -eq 1 ] || fail "text through a pipe: exit $rc, want 1"
    grep -q "^causalgen: error: /dev/stdin: a FIFO or pipe, not a file" "$work/err" || fail "text through a pipe: $(cat "$work/err")"
    ;;
  memory_budget)
    # What a command will allocate is computed from its settings and refused
    # with the figure and the limit before anything is allocated.
    export CAUSALGEN_MEMORY_LIMIT=$((8 << 30))
    expect 1 "training 4 layers x 8192 .* needs about [0-9.]+ GiB .* more than this machine's 8.0 GiB \(8589934592 bytes\) \(CAUSALGEN_MEMORY_LIMIT\)" \
      train --data "$work/text.txt" --out "$work/r" --n-embd 8192
    expect 1 "training 6 layers x 384 .*batch 512 x 256 .* needs about [0-9.]+ GiB" \
      train --data "$work/text.txt" --out "$work/r" --config small --batch-size 512 --block-size 256
    CAUSALGEN_MEMORY_LIMIT=$((64 << 20)) expect 1 "evaluating .*batch 65536 x 16 .* needs about .* more than" \
      eval --model "$dir/shift.cgm" --data "$work/text.txt" --batch-size 65536
    [ ! -s "$work/out" ] || fail "eval printed before refusing its batch: $(cat "$work/out")"
    expect 1 "evaluating 1000000 batches of 65536 windows with the core needs about [0-9.]+ GiB" \
      eval --model "$dir/shift.cgm" --data "$work/text.txt" --engine core --batch-size 65536 --eval-iters 1000000
    CAUSALGEN_MEMORY_LIMIT=4096 expect 1 "text.txt: decoding its .* needs about .* more than this machine's 4096 bytes" \
      eval --model "$dir/shift.cgm" --data "$work/text.txt"
    CAUSALGEN_MEMORY_LIMIT=$((16 << 20)) expect 1 "training 4 layers x 128 .* needs about .* more than this machine's 16.0 MiB" \
      bench train --threads 1 --steps 1 --warmup 0 --mixer max
    [ ! -e "$work/r/ckpt_last.cgc" ] || fail "a refused run wrote a checkpoint"
    # Within the limit it runs.
    timeout 120 "$exe" eval --model "$dir/shift.cgm" --data "$work/text.txt" --batch-size 8 --eval-iters 2 >"$work/out" 2>"$work/err" ||
      fail "eval within the limit: $(cat "$work/err")"
    ;;
  json_depth)
    # The parser recurses per level: depth is refused before parsing.
    awk 'BEGIN { s = "{\"mixer\": "; for (i = 0; i < 1000; i++) s = s "["; printf "%s", s }' >"$work/deep.json"
    expect 1 "deep.json: JSON nested more than 64 levels deep \(at byte 73\)" \
      train --data "$work/text.txt" --out "$work/r" --config "$work/deep.json"
    awk 'BEGIN { s = ""; for (i = 0; i < 100; i++) s = s "{\"a\":"; printf "%s", s }' >"$work/deep2.json"
    expect 1 "deep2.json: JSON nested more than 64 levels" train --data "$work/text.txt" --out "$work/r" --config "$work/deep2.json"
    # Brackets inside strings are not nesting.
    awk 'BEGIN { s = ""; for (i = 0; i < 100; i++) s = s "["; printf "{\"colour\": \"%s\"}", s }' >"$work/str.json"
    expect 1 'unknown setting "colour"' train --data "$work/text.txt" --out "$work/r" --config "$work/str.json"
    # Two million levels (the issue's example): refused, no crash.
    head -c 2000000 /dev/zero | tr '\0' '[' >"$work/huge.json"
    expect 1 "huge.json: .*(too large|nested)" train --data "$work/text.txt" --out "$work/r" --config "$work/huge.json"
    ;;
  counts)
    # Numbers are checked as parsed: a negative, absurd or non-finite value
    # is a usage error (exit 2) naming the value and the range.
    expect 2 "--positions: '-1' is not a whole number from 1 to 100000000" bench generate --positions -1
    expect 2 "--positions: '-5' is not a whole number" bench generate --positions 1000,-5
    expect 2 "--positions: '18446744073709551616' is not" bench generate --positions 18446744073709551616
    expect 2 "--seconds: 'nan' is not a number from 0.01 to 600" bench generate --seconds nan
    expect 2 "--seconds: 'inf' is not a number" bench generate --seconds inf
    expect 2 "--vocab: '1' is not a whole number from 2 to 65536" bench generate --vocab 1
    expect 2 "--tokens: '-1' is not a whole number from 0 to 100000000" generate --model "$dir/shift.cgm" --tokens -1
    expect 2 "--top-k: '-3' is not a whole number from 0 to 65536" generate --model "$dir/shift.cgm" --top-k -3
    expect 2 "--temperature: 'nan' is not a number from 0 to 100" generate --model "$dir/shift.cgm" --temperature nan
    expect 2 "--group-size: '-1' is not a whole number from 1 to 65536" convert --model "$dir/shift.cgm" --out "$work/x.cgm" --group-size -1
    expect 2 "--batch-size: '0' is not a whole number from 1 to 65536" eval --model "$dir/shift.cgm" --data "$work/text.txt" --batch-size 0
    expect 2 "--threads: '-2' is not a whole number from 1 to 1024" eval --model "$dir/shift.cgm" --data "$work/text.txt" --threads -2
    expect 2 "--stop-at: '-1' is not a whole number" train --data "$work/text.txt" --out "$work/r" --stop-at -1
    expect 2 "--warmup: '-1' is not a whole number from 0 to 100000" bench train --warmup -1
    expect 2 "--lr" train --data "$work/text.txt" --out "$work/r" --lr nan
    expect 2 "--max-iters" train --data "$work/text.txt" --out "$work/r" --max-iters -1
    ;;
  no_exception)
    # Vocabularies of every allowed size exist (the surrogates are skipped):
    # no exception escapes, and the benchmark runs.
    for v in 55201 65536; do
      timeout 60 "$exe" bench generate --vocab $v --positions 1 --seconds 0.01 >"$work/out" 2>"$work/err"
      rc=$?
      [ "$rc" -eq 0 ] || fail "bench generate --vocab $v: exit $rc: $(cat "$work/err")"
      grep -q "vocab $v" "$work/out" || fail "bench generate --vocab $v: $(cat "$work/out")"
    done
    ;;
  usage_messages)
    # Usage errors: one line with the program's prefix, exit 2, in both executables.
    expect 2 "unknown command 'frobnicate'; the commands are: generate, info, bench, convert, train, eval, export" frobnicate
    expect 2 "unknown command 'bench frob'; the bench commands are: generate, train" bench frob
    expect 2 "not expected: 3 --bogus \(see 'causalgen generate --help'\)$" generate --model "$dir/shift.cgm" --bogus 3
    expect 2 "--model is required" generate
    expect 2 "'causalgen bench' needs a command: generate, train \(see 'causalgen bench --help'\)$" bench
    expect 2 "'causalgen' needs a command: generate, info, bench" 
    expect 2 "--frobnicate .*see 'causalgen train --help'" train --data "$work/text.txt" --out "$work/r" --frobnicate
    expect 2 "--mixer" train --data "$work/text.txt" --out "$work/r" --mixer maximum
    expect 2 "--batch-size: 'x' is not" eval --model "$dir/shift.cgm" --data "$work/text.txt" --batch-size x
    expect 2 "--steps" bench train --steps 0
    exe="$(dirname "$exe")/causalgen-train" expect 2 "unknown command 'frob'; the commands are: bench, train, eval, export" frob
    exe="$(dirname "$exe")/causalgen-train" expect 2 "--data is required \(see 'causalgen eval --help'\)" eval --model "$dir/shift.cgm"
    ;;
  file_messages)
    # Errors in files say what is wrong with the file, without C++ internals
    # or repeats, and eval's speak of evaluation.
    expect 1 "truncated\.cgm: file is truncated: header says [0-9]+ bytes, got [0-9]+$" info --model "$dir/truncated.cgm"
    cat "$dir/shift.cgm" >"$work/long.cgm"; printf 'x' >>"$work/long.cgm"
    expect 1 "long\.cgm: file is [0-9]+ bytes, 1 more than the [0-9]+ its header declares$" info --model "$work/long.cgm"
    expect 1 "long\.cgm: file is [0-9]+ bytes, 1 more" generate --model "$work/long.cgm"
    printf '' >"$work/empty.txt"
    expect 1 "empty.txt: the file is empty \(training and evaluation need text\)" eval --model "$dir/shift.cgm" --data "$work/empty.txt"
    printf 'AB' >"$work/short.txt"
    expect 1 "short.txt: the val split has" eval --model "$dir/shift.cgm" --data "$work/short.txt"
    grep -qi "training" "$work/err" && fail "eval's message speaks of training: $(cat "$work/err")"
    ;;
  resume)
    # A resume that would train nothing is refused before anything is written.
    timeout 120 "$exe" train --data "$work/text.txt" --out "$work/run" "${small[@]}" --max-iters 4 ||
      fail "the run to resume failed"
    # A checkpoint through a pipe is refused by what it is; from a redirect it is the file.
    cat "$work/run/ckpt_last.cgc" | timeout 20 "$exe" export --checkpoint /dev/stdin --out "$work/p.cgm" 2>"$work/err"
    grep -q "^causalgen: error: /dev/stdin: a FIFO or pipe, not a file" "$work/err" ||
      fail "a checkpoint through a pipe: $(cat "$work/err")"
    timeout 60 "$exe" export --checkpoint /dev/stdin --out "$work/p.cgm" <"$work/run/ckpt_last.cgc" >/dev/null 2>"$work/err" ||
      fail "a checkpoint from a redirect: $(cat "$work/err")"
    cp "$work/run/config.json" "$work/config.before"
    expect 1 "--resume: .*ckpt_last.cgc is at step 4 and --max-iters is 4: nothing to train; give a --max-iters above 4" \
      train --data "$work/text.txt" --out "$work/run" --resume
    expect 1 "is at step 4 and --max-iters is 2" train --data "$work/text.txt" --out "$work/run" --resume --max-iters 2
    cmp -s "$work/config.before" "$work/run/config.json" || fail "a refused resume rewrote config.json"
    timeout 120 "$exe" train --data "$work/text.txt" --out "$work/run" --resume --max-iters 6 --quiet ||
      fail "a resume with a larger --max-iters failed"
    ;;
  *)
    fail "unknown case"
    ;;
esac
exit 0
