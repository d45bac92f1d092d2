#!/usr/bin/env python3
"""Several loss_by_position CSVs in one picture and one markdown table, both as the mean loss per
block of TRAIN_WINDOW positions, a line / column per model. (Windows start every T characters,
so single positions differ by the text at that offset; the blocks all see nearly the same text.)
usage: plot_length.py OUT.svg [TRAIN_WINDOW=64] LABEL=IN.csv [LABEL=IN.csv ...]"""
import csv, sys
import svgplot

out = sys.argv[1]
args = sys.argv[2:]
T = 64
if args and "=" not in args[0]:
    T = int(args.pop(0))
models = []
for a in args:
    label, path = a.split("=", 1)
    rows = [(int(r["position"]), float(r["mean_loss"])) for r in csv.DictReader(open(path))]
    models.append((label, rows))
series = []
for label, rows in models:
    blocks = []
    for s in range(0, len(rows), T):
        chunk = rows[s:s + T]
        blocks.append((s + (len(chunk) - 1) / 2, sum(v for _, v in chunk) / len(chunk)))
    series.append((label, label, blocks))
W = max(len(rows) for _, rows in models)
svgplot.line_plot(out, series, title=f"loss by position, {W}-char windows (trained with T = {T}; mean per {T} positions)",
                  xlabel="position in window (block centre)", ylabel="mean cross-entropy (val split)",
                  clip_first=False, markers=True)
print("| positions | " + " | ".join(l for l, _ in models) + " |")
print("|---|" + "---:|" * len(models))
for s in range(0, W, T):
    cells = []
    for _, rows in models:
        chunk = rows[s:s + T]
        cells.append(f"{sum(v for _, v in chunk) / len(chunk):.4f}" if chunk else "")
    print(f"| {s}–{s + T - 1} | " + " | ".join(cells) + " |")
