"""Minimal hand-written SVG line plots (no matplotlib)."""
import math

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

def _ticks(lo, hi, n=6):
    span = hi - lo
    if span <= 0:
        return [lo]
    step = 10 ** math.floor(math.log10(span / n))
    for m in (1, 2, 2.5, 5, 10):
        if span / (step * m) <= n:
            step *= m
            break
    t = math.ceil(lo / step) * step
    out = []
    while t <= hi + 1e-12:
        out.append(round(t, 10))
        t += step
    return out

def _fmt(v):
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:g}"

def line_plot(path, series, title="", xlabel="", ylabel="", logx=False, logy=False,
              ymin=None, ymax=None, clip_first=False, markers=False, width=760, height=440):
    """series: list of (label, group, [(x, y), ...]); one colour per group, legend per group."""
    groups = list(dict.fromkeys(g for _, g, _ in series))
    color = {g: COLORS[i % len(COLORS)] for i, g in enumerate(groups)}
    pts_all = [p for _, _, pts in series for p in (pts[1:] if clip_first else pts)]
    fx = (lambda v: math.log10(v)) if logx else (lambda v: v)
    fy = (lambda v: math.log10(v)) if logy else (lambda v: v)
    xs = [fx(x) for x, _ in pts_all]
    ys = [fy(y) for _, y in pts_all]
    x0, x1 = min(xs), max(xs)
    y0 = fy(ymin) if ymin is not None else min(ys)
    y1 = fy(ymax) if ymax is not None else max(ys)
    if not logy:
        pad = (y1 - y0) * 0.05 or 0.1
        y0, y1 = (y0 - pad if ymin is None else y0), (y1 + pad if ymax is None else y1)
    if x1 == x0:
        x1 = x0 + 1
    L, R, T, B = 70, 190, 40, 50
    pw, ph = width - L - R, height - T - B
    X = lambda v: L + (fx(v) - x0) / (x1 - x0) * pw
    Y = lambda v: T + ph - (min(max(fy(v), y0), y1) - y0) / (y1 - y0) * ph
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'font-family="sans-serif" font-size="12">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="{L + pw / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>',
         f'<rect x="{L}" y="{T}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>']
    if logx:
        xt = [10 ** k for k in range(math.floor(x0), math.ceil(x1) + 1) if x0 - 1e-9 <= k <= x1 + 1e-9]
    else:
        xt = _ticks(x0, x1)
    for t in xt:
        px = X(t)
        o.append(f'<line x1="{px:.1f}" y1="{T}" x2="{px:.1f}" y2="{T + ph}" stroke="#ddd"/>')
        o.append(f'<text x="{px:.1f}" y="{T + ph + 16}" text-anchor="middle">{_fmt(t)}</text>')
    if logy:
        yt = [10 ** k for k in range(math.floor(y0), math.ceil(y1) + 1) if y0 - 1e-9 <= k <= y1 + 1e-9]
    else:
        yt = _ticks(y0, y1)
    for t in yt:
        py = T + ph - ((fy(t) if logy else t) - y0) / (y1 - y0) * ph
        o.append(f'<line x1="{L}" y1="{py:.1f}" x2="{L + pw}" y2="{py:.1f}" stroke="#ddd"/>')
        o.append(f'<text x="{L - 6}" y="{py + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    o.append(f'<text x="{L + pw / 2}" y="{height - 12}" text-anchor="middle">{xlabel}</text>')
    o.append(f'<text x="16" y="{T + ph / 2}" text-anchor="middle" '
             f'transform="rotate(-90 16 {T + ph / 2})">{ylabel}</text>')
    for label, g, pts in series:
        p = pts[1:] if clip_first else pts
        d = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in p)
        o.append(f'<polyline points="{d}" fill="none" stroke="{color[g]}" stroke-width="1.5" '
                 f'opacity="0.85"><title>{label}</title></polyline>')
        if markers:
            for x, y in p:
                o.append(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="3" fill="{color[g]}"/>')
    for i, g in enumerate(groups):
        ly = T + 10 + i * 18
        o.append(f'<line x1="{L + pw + 12}" y1="{ly}" x2="{L + pw + 36}" y2="{ly}" '
                 f'stroke="{color[g]}" stroke-width="3"/>')
        o.append(f'<text x="{L + pw + 42}" y="{ly + 4}">{g}</text>')
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")
