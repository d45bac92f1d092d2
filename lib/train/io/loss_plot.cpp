#include "train/io/loss_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace causalgen::train {

namespace {

// A "nice" tick step (1, 2 or 5 times a power of ten) for about n ticks.
double nice_step(double range, int n) {
  const double raw = range / n;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

std::string fmt(const char* f, double a) {
  char b[64];
  std::snprintf(b, sizeof b, f, a);
  return b;
}

}  // namespace

std::string loss_curve_svg(const std::vector<IterRecord>& iters,
                           const std::vector<EvalRecord>& evals, const std::string& title) {
  const double W = 800, H = 480, L = 70, R = 20, T = 40, B = 55;
  const double pw = W - L - R, ph = H - T - B;
  // Per-step loss averaged into buckets.
  std::vector<std::pair<double, double>> line;
  if (!iters.empty()) {
    const size_t buckets = std::min<size_t>(500, iters.size());
    for (size_t k = 0; k < buckets; ++k) {
      const size_t i0 = iters.size() * k / buckets, i1 = iters.size() * (k + 1) / buckets;
      double s = 0, x = 0;
      for (size_t i = i0; i < i1; ++i) s += iters[i].loss, x += double(iters[i].step + 1);
      if (i1 > i0) line.push_back({x / double(i1 - i0), s / double(i1 - i0)});
    }
  }
  double xmax = 1, ymin = 1e30, ymax = -1e30;
  for (auto& p : line) xmax = std::max(xmax, p.first), ymin = std::min(ymin, p.second), ymax = std::max(ymax, p.second);
  for (auto& e : evals) {
    xmax = std::max(xmax, double(e.step));
    for (double v : {e.train_loss, e.val_loss})
      if (std::isfinite(v)) ymin = std::min(ymin, v), ymax = std::max(ymax, v);
  }
  if (ymin > ymax) ymin = 0, ymax = 1;
  if (ymax - ymin < 1e-6) ymin -= 0.5, ymax += 0.5;
  const double ys = nice_step(ymax - ymin, 6);
  ymin = std::floor(ymin / ys) * ys;
  ymax = std::ceil(ymax / ys) * ys;
  const double xs = nice_step(xmax, 8);
  xmax = std::ceil(xmax / xs) * xs;
  auto X = [&](double x) { return L + pw * x / xmax; };
  auto Y = [&](double y) { return T + ph * (1 - (y - ymin) / (ymax - ymin)); };

  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"480\" viewBox=\"0 0 800 480\" "
       "font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"800\" height=\"480\" fill=\"white\"/>\n";
  s += "<text x=\"400\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" + escape(title) + "</text>\n";
  // Grid and ticks.
  for (double y = ymin; y <= ymax + ys / 2; y += ys) {
    s += "<line x1=\"" + fmt("%.1f", L) + "\" x2=\"" + fmt("%.1f", L + pw) + "\" y1=\"" + fmt("%.1f", Y(y)) +
         "\" y2=\"" + fmt("%.1f", Y(y)) + "\" stroke=\"#e4e4e4\"/>\n";
    s += "<text x=\"" + fmt("%.1f", L - 6) + "\" y=\"" + fmt("%.1f", Y(y) + 4) + "\" text-anchor=\"end\">" +
         fmt(ys < 0.1 ? "%.2f" : "%.1f", y) + "</text>\n";
  }
  for (double x = 0; x <= xmax + xs / 2; x += xs) {
    s += "<line x1=\"" + fmt("%.1f", X(x)) + "\" x2=\"" + fmt("%.1f", X(x)) + "\" y1=\"" + fmt("%.1f", T) +
         "\" y2=\"" + fmt("%.1f", T + ph) + "\" stroke=\"#e4e4e4\"/>\n";
    s += "<text x=\"" + fmt("%.1f", X(x)) + "\" y=\"" + fmt("%.1f", T + ph + 18) + "\" text-anchor=\"middle\">" +
         fmt("%.0f", x) + "</text>\n";
  }
  s += "<rect x=\"" + fmt("%.1f", L) + "\" y=\"" + fmt("%.1f", T) + "\" width=\"" + fmt("%.1f", pw) +
       "\" height=\"" + fmt("%.1f", ph) + "\" fill=\"none\" stroke=\"#444\"/>\n";
  s += "<text x=\"" + fmt("%.1f", L + pw / 2) + "\" y=\"" + fmt("%.1f", H - 12) +
       "\" text-anchor=\"middle\">step</text>\n";
  s += "<text transform=\"translate(18 " + fmt("%.1f", T + ph / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">cross-entropy loss (nats)</text>\n";
  auto polyline = [&](const std::vector<std::pair<double, double>>& pts, const char* color,
                      double width) {
    if (pts.empty()) return;
    s += "<polyline fill=\"none\" stroke=\"" + std::string(color) + "\" stroke-width=\"" +
         fmt("%.1f", width) + "\" points=\"";
    for (auto& p : pts) s += fmt("%.1f", X(p.first)) + "," + fmt("%.1f", Y(p.second)) + " ";
    s += "\"/>\n";
  };
  polyline(line, "#b8b8b8", 1);
  std::vector<std::pair<double, double>> tr, va;
  for (auto& e : evals) {
    tr.push_back({double(e.step), e.train_loss});
    va.push_back({double(e.step), e.val_loss});
  }
  polyline(tr, "#1f77b4", 2);
  polyline(va, "#ff7f0e", 2);
  for (auto& p : tr)
    s += "<circle cx=\"" + fmt("%.1f", X(p.first)) + "\" cy=\"" + fmt("%.1f", Y(p.second)) +
         "\" r=\"3\" fill=\"#1f77b4\"/>\n";
  for (auto& p : va)
    s += "<circle cx=\"" + fmt("%.1f", X(p.first)) + "\" cy=\"" + fmt("%.1f", Y(p.second)) +
         "\" r=\"3\" fill=\"#ff7f0e\"/>\n";
  // Legend (top right).
  const double lx = L + pw - 190, ly = T + 10;
  s += "<rect x=\"" + fmt("%.1f", lx) + "\" y=\"" + fmt("%.1f", ly) +
       "\" width=\"180\" height=\"62\" fill=\"white\" stroke=\"#ccc\"/>\n";
  const char* names[3] = {"batch loss (per step)", "train loss (eval)", "val loss (eval)"};
  const char* colors[3] = {"#b8b8b8", "#1f77b4", "#ff7f0e"};
  for (int i = 0; i < 3; ++i) {
    const double yy = ly + 16 + 18 * i;
    s += "<line x1=\"" + fmt("%.1f", lx + 8) + "\" x2=\"" + fmt("%.1f", lx + 30) + "\" y1=\"" +
         fmt("%.1f", yy - 4) + "\" y2=\"" + fmt("%.1f", yy - 4) + "\" stroke=\"" + colors[i] +
         "\" stroke-width=\"2\"/>\n";
    s += "<text x=\"" + fmt("%.1f", lx + 36) + "\" y=\"" + fmt("%.1f", yy) + "\">" + names[i] + "</text>\n";
  }
  s += "</svg>\n";
  return s;
}

}  // namespace causalgen::train
