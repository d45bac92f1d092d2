#!/usr/bin/env python3
"""Plot loss_by_position CSV (position,mean_loss,windows) as SVG, raw and in bins of 8 positions;
prints mean loss per 64-position block.
usage: plot_loss_by_position.py IN.csv OUT.svg [TRAIN_WINDOW=64]"""
import csv, sys
import svgplot

inp, outp = sys.argv[1], sys.argv[2]
T = int(sys.argv[3]) if len(sys.argv) > 3 else 64
rows = [(int(r["position"]), float(r["mean_loss"])) for r in csv.DictReader(open(inp))]
W = len(rows)
binned = []
for s in range(0, W, 8):
    chunk = rows[s:s + 8]
    binned.append((s + (len(chunk) - 1) / 2, sum(v for _, v in chunk) / len(chunk)))
svgplot.line_plot(outp, [("per position", "per position", rows), ("mean of 8", "mean of 8 positions", binned)],
                  title=f"loss by position in a {W}-char window (trained with T = {T})",
                  xlabel="position in window", ylabel="mean cross-entropy (val split)", clip_first=False)
print("| positions | mean loss |\n|---|---:|")
for s in range(0, W, T):
    chunk = rows[s:s + T]
    print(f"| {s}–{s + len(chunk) - 1} | {sum(v for _, v in chunk) / len(chunk):.4f} |")
