#include "train/io/loss_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace causalgen::train {

namespace {

using Points = std::vector<std::pair<double, double>>;  // (step, loss)

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
std::string num(double a) { return fmt("%.1f", a); }

// The per-step loss averaged into at most 500 buckets (x: mean step + 1).
Points bucketed_batch_loss(const std::vector<IterRecord>& iters) {
  Points line;
  const size_t buckets = std::min<size_t>(500, iters.size());
  for (size_t k = 0; k < buckets; ++k) {
    const size_t i0 = iters.size() * k / buckets, i1 = iters.size() * (k + 1) / buckets;
    double s = 0, x = 0;
    for (size_t i = i0; i < i1; ++i) s += iters[i].loss, x += double(iters[i].step + 1);
    if (i1 > i0) line.push_back({x / double(i1 - i0), s / double(i1 - i0)});
  }
  return line;
}

// The plot area (800 x 480 pixels, margins for the labels) and its axes:
// x from 0 to xmax steps, y from ymin to ymax nats, rounded to tick steps.
struct Frame {
  static constexpr double W = 800, H = 480, L = 70, R = 20, T = 40, B = 55;
  static constexpr double pw = W - L - R, ph = H - T - B;
  double xmax = 1, ymin = 1e30, ymax = -1e30, xs = 1, ys = 1;
  double X(double x) const { return L + pw * x / xmax; }
  double Y(double y) const { return T + ph * (1 - (y - ymin) / (ymax - ymin)); }
};

Frame fit_axes(const Points& line, const std::vector<EvalRecord>& evals) {
  Frame f;
  for (auto& p : line)
    f.xmax = std::max(f.xmax, p.first), f.ymin = std::min(f.ymin, p.second),
    f.ymax = std::max(f.ymax, p.second);
  for (auto& e : evals) {
    f.xmax = std::max(f.xmax, double(e.step));
    for (double v : {e.train_loss, e.val_loss})
      if (std::isfinite(v)) f.ymin = std::min(f.ymin, v), f.ymax = std::max(f.ymax, v);
  }
  if (f.ymin > f.ymax) f.ymin = 0, f.ymax = 1;
  if (f.ymax - f.ymin < 1e-6) f.ymin -= 0.5, f.ymax += 0.5;
  f.ys = nice_step(f.ymax - f.ymin, 6);
  f.ymin = std::floor(f.ymin / f.ys) * f.ys;
  f.ymax = std::ceil(f.ymax / f.ys) * f.ys;
  f.xs = nice_step(f.xmax, 8);
  f.xmax = std::ceil(f.xmax / f.xs) * f.xs;
  return f;
}

void draw_header(std::string& s, const std::string& title) {
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"480\" viewBox=\"0 0 800 480\" "
       "font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"800\" height=\"480\" fill=\"white\"/>\n";
  s += "<text x=\"400\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" + escape(title) + "</text>\n";
}

void draw_grid(std::string& s, const Frame& f) {
  const double L = f.L, T = f.T, pw = f.pw, ph = f.ph;
  for (double y = f.ymin; y <= f.ymax + f.ys / 2; y += f.ys) {
    s += "<line x1=\"" + num(L) + "\" x2=\"" + num(L + pw) + "\" y1=\"" + num(f.Y(y)) + "\" y2=\"" +
         num(f.Y(y)) + "\" stroke=\"#e4e4e4\"/>\n";
    s += "<text x=\"" + num(L - 6) + "\" y=\"" + num(f.Y(y) + 4) + "\" text-anchor=\"end\">" +
         fmt(f.ys < 0.1 ? "%.2f" : "%.1f", y) + "</text>\n";
  }
  for (double x = 0; x <= f.xmax + f.xs / 2; x += f.xs) {
    s += "<line x1=\"" + num(f.X(x)) + "\" x2=\"" + num(f.X(x)) + "\" y1=\"" + num(T) + "\" y2=\"" +
         num(T + ph) + "\" stroke=\"#e4e4e4\"/>\n";
    s += "<text x=\"" + num(f.X(x)) + "\" y=\"" + num(T + ph + 18) + "\" text-anchor=\"middle\">" +
         fmt("%.0f", x) + "</text>\n";
  }
  s += "<rect x=\"" + num(L) + "\" y=\"" + num(T) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
       "\" fill=\"none\" stroke=\"#444\"/>\n";
  s += "<text x=\"" + num(L + pw / 2) + "\" y=\"" + num(f.H - 12) + "\" text-anchor=\"middle\">step</text>\n";
  s += "<text transform=\"translate(18 " + num(T + ph / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">cross-entropy loss (nats)</text>\n";
}

void draw_polyline(std::string& s, const Frame& f, const Points& pts, const char* color, double width) {
  if (pts.empty()) return;
  s += "<polyline fill=\"none\" stroke=\"" + std::string(color) + "\" stroke-width=\"" + num(width) +
       "\" points=\"";
  for (auto& p : pts) s += num(f.X(p.first)) + "," + num(f.Y(p.second)) + " ";
  s += "\"/>\n";
}

void draw_dots(std::string& s, const Frame& f, const Points& pts, const char* color) {
  for (auto& p : pts)
    s += "<circle cx=\"" + num(f.X(p.first)) + "\" cy=\"" + num(f.Y(p.second)) + "\" r=\"3\" fill=\"" +
         color + "\"/>\n";
}

void draw_legend(std::string& s, const Frame& f) {
  const double lx = f.L + f.pw - 190, ly = f.T + 10;
  s += "<rect x=\"" + num(lx) + "\" y=\"" + num(ly) +
       "\" width=\"180\" height=\"62\" fill=\"white\" stroke=\"#ccc\"/>\n";
  const char* names[3] = {"batch loss (per step)", "train loss (eval)", "val loss (eval)"};
  const char* colors[3] = {"#b8b8b8", "#1f77b4", "#ff7f0e"};
  for (int i = 0; i < 3; ++i) {
    const double yy = ly + 16 + 18 * i;
    s += "<line x1=\"" + num(lx + 8) + "\" x2=\"" + num(lx + 30) + "\" y1=\"" + num(yy - 4) +
         "\" y2=\"" + num(yy - 4) + "\" stroke=\"" + colors[i] + "\" stroke-width=\"2\"/>\n";
    s += "<text x=\"" + num(lx + 36) + "\" y=\"" + num(yy) + "\">" + names[i] + "</text>\n";
  }
}

}  // namespace

std::string loss_curve_svg(const std::vector<IterRecord>& iters,
                           const std::vector<EvalRecord>& evals, const std::string& title) {
  const Points batch = bucketed_batch_loss(iters);
  Points train_eval, val_eval;
  for (auto& e : evals) {
    train_eval.push_back({double(e.step), e.train_loss});
    val_eval.push_back({double(e.step), e.val_loss});
  }
  const Frame frame = fit_axes(batch, evals);
  std::string s;
  draw_header(s, title);
  draw_grid(s, frame);
  draw_polyline(s, frame, batch, "#b8b8b8", 1);
  draw_polyline(s, frame, train_eval, "#1f77b4", 2);
  draw_polyline(s, frame, val_eval, "#ff7f0e", 2);
  draw_dots(s, frame, train_eval, "#1f77b4");
  draw_dots(s, frame, val_eval, "#ff7f0e");
  draw_legend(s, frame);
  s += "</svg>\n";
  return s;
}

}  // namespace causalgen::train
