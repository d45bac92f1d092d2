#!/usr/bin/env python3
"""SVG of the `small` validation curves already measured on an H100 (docs/results/gpu/*-eval.csv).
usage: plot_gpu_small.py [OUT.svg]  (run from the repo root; default docs/results/cpu/small_gpu_val_loss.svg)"""
import csv, sys
import svgplot

out = sys.argv[1] if len(sys.argv) > 1 else "docs/results/cpu/small_gpu_val_loss.svg"
series = []
for m in ("attention", "max-avg", "min-avg"):
    rows = list(csv.DictReader(open(f"docs/results/gpu/small-{m}-eval.csv")))
    series.append((m, m, [(int(r["step"]), float(r["val_loss"])) for r in rows]))
svgplot.line_plot(out, series, title="small (6x384, T=256), one H100, seed 1337: val loss by step",
                  xlabel="step", ylabel="val loss", clip_first=True, markers=True)
