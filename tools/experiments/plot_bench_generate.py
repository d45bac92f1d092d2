#!/usr/bin/env python3
"""Parse `causalgen bench generate` output (bench_generate.sh's raw file) into CSV, markdown, SVG.
usage: plot_bench_generate.py RAW.txt OUTDIR"""
import os, re, sys
import svgplot

raw, out = sys.argv[1], sys.argv[2]
rows, model = [], None
for line in open(raw):
    m = re.match(r"\$ causalgen bench generate .*--mixer (\S+)", line)
    if m:
        model = m.group(1)
        continue
    m = re.match(r"\|\s*(\d+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|", line)
    if m and model:
        rows.append((model, int(m.group(1)), float(m.group(2)), float(m.group(3)), int(m.group(4))))
with open(os.path.join(out, "bench_generate.csv"), "w") as f:
    f.write("mixer,position,chars_per_s,gflop_per_s,state_bytes\n")
    for r in rows:
        f.write("%s,%d,%.0f,%.2f,%d\n" % r)
md = ["| model (`tiny` shape, random weights) | position | chars/s | GFLOP/s | state bytes |",
      "|---|---:|---:|---:|---:|"]
for mx, p, cps, gf, sb in rows:
    md.append(f"| `{mx}` | {p:,} | {cps:,.0f} | {gf:.2f} | {sb:,} |")
open(os.path.join(out, "bench_generate.md"), "w").write("\n".join(md) + "\n")
print("\n".join(md))
mixers = list(dict.fromkeys(r[0] for r in rows))
series = [(mx, mx, [(r[1], r[2]) for r in rows if r[0] == mx]) for mx in mixers]
svgplot.line_plot(os.path.join(out, "bench_generate_chars_per_s.svg"), series,
                  title="tiny, one thread: generation chars/s by position", xlabel="position (log)",
                  ylabel="chars/s (log)", logx=True, logy=True, markers=True)
series = [(mx, mx, [(r[1], r[4]) for r in rows if r[0] == mx]) for mx in mixers]
svgplot.line_plot(os.path.join(out, "bench_generate_state_bytes.svg"), series,
                  title="tiny: generation state bytes by position", xlabel="position (log)",
                  ylabel="state bytes (log)", logx=True, logy=True, markers=True)
