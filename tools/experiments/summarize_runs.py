#!/usr/bin/env python3
"""Summarise causalgen training runs: per-run CSV, mean ± sd markdown table per mixer, SVG of
validation-loss curves (one colour per mixer). RUNDIR/full_val.txt, when present, is the output of
`causalgen eval --no-estimate` on the run's best checkpoint: the loss over the whole val split.
usage: summarize_runs.py --out DIR --tag TAG  MIXER SEED RUNDIR STDOUTLOG  [MIXER SEED RUNDIR STDOUTLOG ...]
"""
import argparse, csv, os, re, statistics
import svgplot

def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))

def summarise(mixer, seed, rundir, stdout_log):
    ev = read_csv(os.path.join(rundir, "eval.csv"))
    lg = read_csv(os.path.join(rundir, "log.csv"))
    params = ""
    if os.path.exists(stdout_log):
        m = re.search(r"([\d,]+) parameters", open(stdout_log).read())
        if m:
            params = int(m.group(1).replace(",", ""))
    vals = [float(r["val_loss"]) for r in ev]
    best_i = min(range(len(vals)), key=lambda i: vals[i])
    tps = [float(r["tokens_per_s"]) for r in lg]
    full = ""
    fp = os.path.join(rundir, "full_val.txt")
    if os.path.exists(fp):
        m = re.search(r"^full\s+([\d.]+)", open(fp).read(), re.M)
        if m:
            full = float(m.group(1))
    return dict(mixer=mixer, seed=int(seed), params=params, full_val=full,
                best_val=vals[best_i], best_step=int(ev[best_i]["step"]),
                last_val=vals[-1], last_step=int(ev[-1]["step"]),
                last_train=float(ev[-1]["train_loss"]),
                tokens_per_s=statistics.fmean(tps),
                wall_s=float(lg[-1]["elapsed_s"]),
                curve=[(int(r["step"]), float(r["val_loss"])) for r in ev])

def ms(xs, fmt):
    if len(xs) == 1:
        return fmt.format(xs[0])
    return (fmt + " ± " + fmt).format(statistics.fmean(xs), statistics.stdev(xs))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("runs", nargs="+")
    a = ap.parse_args()
    assert len(a.runs) % 4 == 0
    rows = [summarise(*a.runs[i:i + 4]) for i in range(0, len(a.runs), 4)]
    os.makedirs(a.out, exist_ok=True)
    keys = ["mixer", "seed", "params", "best_val", "best_step", "last_val", "last_step",
            "last_train", "full_val", "tokens_per_s", "wall_s"]
    with open(os.path.join(a.out, a.tag + ".csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        for r in rows:
            w.writerow([f"{r[k]:.4f}" if isinstance(r[k], float) and k != "tokens_per_s" and k != "wall_s"
                        else (f"{r[k]:.1f}" if isinstance(r[k], float) else r[k]) for k in keys])
    # curves
    with open(os.path.join(a.out, a.tag + "_curves.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mixer", "seed", "step", "val_loss"])
        for r in rows:
            for s, v in r["curve"]:
                w.writerow([r["mixer"], r["seed"], s, f"{v:.4f}"])
    mixers = list(dict.fromkeys(r["mixer"] for r in rows))
    has_full = all(r["full_val"] != "" for r in rows)
    lines = ["| mixer | seeds | params | best val loss | val loss at last step | train loss at last step |"
             + (" whole val split, best ckpt |" if has_full else "") + " train tokens/s | wall s |",
             "|---|---|---:|---:|---:|---:|" + ("---:|" if has_full else "") + "---:|---:|"]
    for m in mixers:
        rs = [r for r in rows if r["mixer"] == m]
        cells = [f"`{m}`", " ".join(str(r["seed"]) for r in rs),
                 "{:,}".format(rs[0]["params"]) if rs[0]["params"] != "" else "",
                 ms([r["best_val"] for r in rs], "{:.4f}"), ms([r["last_val"] for r in rs], "{:.4f}"),
                 ms([r["last_train"] for r in rs], "{:.4f}")]
        if has_full:
            cells.append(ms([r["full_val"] for r in rs], "{:.4f}"))
        cells += [ms([r["tokens_per_s"] for r in rs], "{:,.0f}"), ms([r["wall_s"] for r in rs], "{:.0f}")]
        lines.append("| " + " | ".join(cells) + " |")
    md = "\n".join(lines) + "\n"
    open(os.path.join(a.out, a.tag + ".md"), "w").write(md)
    print(md)
    series = [(f'{r["mixer"]} s{r["seed"]}', r["mixer"], r["curve"]) for r in rows]
    svgplot.line_plot(os.path.join(a.out, a.tag + "_val_loss.svg"), series,
                      title=f"{a.tag}: validation loss (nanoGPT estimate) by step",
                      xlabel="step", ylabel="val loss", ymin=None, ymax=None, clip_first=True)

if __name__ == "__main__":
    main()
