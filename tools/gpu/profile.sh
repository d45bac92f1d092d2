#!/usr/bin/env bash
# Per-kernel GPU times of one training step (after warm-up) with Nsight Compute.
#   tools/gpu/profile.sh BENCH_BINARY shape mixer
set -euo pipefail
bin=$1 shape=$2 mixer=$3
ncu --launch-skip ${SKIP:-2000} --launch-count ${COUNT:-200} --metrics gpu__time_duration.sum --csv \
  "$bin" 12 "$shape" "$mixer" bf16 > /tmp/ncu.csv 2>/dev/null || true
python3 - <<'PY'
import csv, collections
rows = list(csv.reader(open('/tmp/ncu.csv')))
hdr = None
agg = collections.defaultdict(lambda: [0, 0.0])
for r in rows:
    if 'Kernel Name' in r: hdr = r; continue
    if not hdr or len(r) != len(hdr): continue
    d = dict(zip(hdr, r))
    if d.get('Metric Name') != 'gpu__time_duration.sum': continue
    name = d['Kernel Name'].split('(')[0][:70]
    v = float(d['Metric Value'].replace(',', ''))
    unit = d.get('Metric Unit', 'nsecond')
    v = v / 1000.0 if unit == 'nsecond' else (v if unit == 'usecond' else v * 1000.0)
    agg[name][0] += 1; agg[name][1] += v
tot = sum(x[1] for x in agg.values())
print(f"total {tot:.0f} us over {sum(x[0] for x in agg.values())} kernels")
for k, (n, t) in sorted(agg.items(), key=lambda kv: -kv[1][1])[:25]:
    print(f"{t:9.1f} us {n:4d}x {k}")
PY
