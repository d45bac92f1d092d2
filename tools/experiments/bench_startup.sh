#!/usr/bin/env bash
# Start-up cost of a causalgen command: wall time, CPU time and peak resident
# memory under GNU time (/usr/bin/time -v, Debian package `time`), median of
# N runs, the CPU time by perf stat where installed, and the shared
# libraries the executable loads (ldd).
#   tools/experiments/bench_startup.sh EXE [N] -- ARGS...
# e.g. bench_startup.sh build/release/tools/causalgen 21 -- --help
set -euo pipefail
exe=$1 n=${2:-21}
shift 2
[[ ${1:-} == -- ]] && shift
echo "\$ $exe $*  (median of $n runs; load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "libraries: $(ldd "$exe" | awk '{print $1}' | grep -v '^linux-vdso' | tr '\n' ' ')"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$n"); do
  /usr/bin/time -v "$exe" "$@" > /dev/null 2> "$out"
  awk -F': ' '/Elapsed \(wall/ {n = split($2, t, ":"); w = t[n] + 60 * t[n - 1]}
              /User time/ {u = $2} /System time/ {s = $2}
              /Maximum resident/ {r = $2}
              END {printf "%.4f %.4f %d\n", w, u + s, r}' "$out"
done | python3 -c '
import sys
rows = [list(map(float, l.split())) for l in sys.stdin]
med = lambda k: sorted(r[k] for r in rows)[len(rows) // 2]
print("GNU time: wall %.0f ms (min %.0f), user+sys %.0f ms (10 ms steps), peak RSS %.1f MB" %
      (med(0) * 1e3, min(r[0] for r in rows) * 1e3, med(1) * 1e3, med(2) / 1024))'
# CPU and wall time to the microsecond (GNU time counts in 10 ms steps),
# where perf is installed.
if command -v perf > /dev/null; then
  perf stat -r "$n" -e task-clock "$exe" "$@" 2>&1 > /dev/null |
    awk '/task-clock/ {cpu = $1} /time elapsed/ {wall = $1 * 1000}
         END {printf "perf: %s ms CPU (task-clock), %.1f ms wall, means\n", cpu, wall}'
fi
