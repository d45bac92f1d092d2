// An independent reference of the model, written from DESIGN.md §1 and the
// tensor order documented in model_file.hpp: plain loops in double precision,
// its own LayerNorm, GELU (tanh approximation), softmax, attention and mixers.
// It shares nothing with the library except the parameter vector.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "test_util.hpp"

using namespace cgtest;

namespace {

using Vec = std::vector<double>;

struct Reader {
  const std::vector<float>& p;
  size_t off = 0;
  // Next tensor of rows x cols floats (row-major, W is out x in).
  std::vector<double> take(size_t rows, size_t cols) {
    std::vector<double> t(p.begin() + off, p.begin() + off + rows * cols);
    off += rows * cols;
    return t;
  }
};

struct RefLayer {
  Vec ln1_w, ln1_b, wqkv, bqkv, wo, bo, ln2_w, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b;
};

Vec layer_norm(const Vec& x, const Vec& w, const Vec& b) {
  const size_t n = x.size();
  double mean = 0;
  for (double v : x) mean += v;
  mean /= n;
  double var = 0;
  for (double v : x) var += (v - mean) * (v - mean);
  var /= n;  // biased, as torch
  Vec y(n);
  for (size_t i = 0; i < n; ++i) y[i] = (x[i] - mean) / std::sqrt(var + 1e-5) * w[i] + (b.empty() ? 0.0 : b[i]);
  return y;
}

// y = W x + b, W is rows x cols.
Vec linear(const Vec& W, const Vec& b, const Vec& x, size_t rows) {
  const size_t cols = x.size();
  Vec y(rows);
  for (size_t r = 0; r < rows; ++r) {
    double s = b.empty() ? 0.0 : b[r];
    for (size_t c = 0; c < cols; ++c) s += W[r * cols + c] * x[c];
    y[r] = s;
  }
  return y;
}

double gelu_tanh(double x) {
  const double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}

// Rotary embedding at position pos: channels (2j, 2j+1) of each head of size
// hs rotated by pos * 10000^(-2j/hs) radians (an odd last channel stays).
void rotate_pairs(Vec& x, size_t hs, double pos) {
  for (size_t off = 0; off + hs <= x.size(); off += hs)
    for (size_t j = 0; j < hs / 2; ++j) {
      const double a = pos * std::pow(10000.0, -2.0 * double(j) / double(hs));
      const double x0 = x[off + 2 * j], x1 = x[off + 2 * j + 1];
      x[off + 2 * j] = x0 * std::cos(a) - x1 * std::sin(a);
      x[off + 2 * j + 1] = x0 * std::sin(a) + x1 * std::cos(a);
    }
}

// Logits (n x V) of the reference model.
std::vector<double> reference_forward(const Config& c, const std::vector<float>& params,
                                      const std::vector<uint32_t>& tokens) {
  const size_t V = c.vocab_size, T = c.block_size, C = c.n_embd, n = tokens.size();
  Reader rd{params};
  const Vec wte = rd.take(V, C);
  const Vec wpe = c.pos_emb ? rd.take(T, C) : Vec{};
  std::vector<RefLayer> layers(c.n_layer);
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    RefLayer& L = layers[l];
    L.ln1_w = rd.take(1, C);
    if (c.bias) L.ln1_b = rd.take(1, C);
    if (c.mixers[l] == Mixer::attention || c.mixers[l] == Mixer::local) {
      L.wqkv = rd.take(3 * C, C);
      if (c.bias) L.bqkv = rd.take(1, 3 * C);
    }
    if (c.mixers[l] == Mixer::mingru) {  // W (2C x C): gate rows, then candidate rows
      L.wqkv = rd.take(2 * C, C);
      if (c.bias) L.bqkv = rd.take(1, 2 * C);
    }
    L.wo = rd.take(C, C);
    if (c.bias) L.bo = rd.take(1, C);
    L.ln2_w = rd.take(1, C);
    if (c.bias) L.ln2_b = rd.take(1, C);
    L.fc1_w = rd.take(4 * C, C);
    if (c.bias) L.fc1_b = rd.take(1, 4 * C);
    L.fc2_w = rd.take(C, 4 * C);
    if (c.bias) L.fc2_b = rd.take(1, C);
  }
  const Vec lnf_w = rd.take(1, C);
  const Vec lnf_b = c.bias ? rd.take(1, C) : Vec{};
  REQUIRE(rd.off == params.size());  // the documented order covers every parameter

  std::vector<Vec> x(n, Vec(C));
  for (size_t t = 0; t < n; ++t)
    for (size_t i = 0; i < C; ++i) x[t][i] = wte[tokens[t] * C + i] + (c.pos_emb ? wpe[t * C + i] : 0.0);

  for (uint32_t l = 0; l < c.n_layer; ++l) {
    const RefLayer& L = layers[l];
    std::vector<Vec> h(n), m(n, Vec(C));
    for (size_t t = 0; t < n; ++t) h[t] = layer_norm(x[t], L.ln1_w, L.ln1_b);
    const Mixer mx = c.mixers[l];
    if (mx == Mixer::attention || mx == Mixer::local) {
      const size_t H = c.n_head, hs = C / H;
      std::vector<Vec> q(n), k(n), v(n);
      for (size_t t = 0; t < n; ++t) {
        const Vec qkv = linear(L.wqkv, L.bqkv, h[t], 3 * C);
        q[t].assign(qkv.begin(), qkv.begin() + C);
        k[t].assign(qkv.begin() + C, qkv.begin() + 2 * C);
        v[t].assign(qkv.begin() + 2 * C, qkv.end());
        if (mx == Mixer::local) {  // RoPE: pair (2j, 2j+1) of each head turns t 10000^(-2j/hs)
          rotate_pairs(q[t], hs, double(t));
          rotate_pairs(k[t], hs, double(t));
        }
      }
      // local: the last W positions only
      const size_t W = mx == Mixer::local ? c.window[l] : n;
      for (size_t t = 0; t < n; ++t)
        for (size_t hd = 0; hd < H; ++hd) {
          Vec score(t + 1, -1e300);
          double mxs = -1e300;
          for (size_t s = t + 1 > W ? t + 1 - W : 0; s <= t; ++s) {
            double d = 0;
            for (size_t i = 0; i < hs; ++i) d += q[t][hd * hs + i] * k[s][hd * hs + i];
            score[s] = d / std::sqrt(double(hs));
            mxs = std::max(mxs, score[s]);
          }
          double z = 0;
          for (double& s : score) z += (s = s == -1e300 ? 0.0 : std::exp(s - mxs));
          for (size_t i = 0; i < hs; ++i) {
            double acc = 0;
            for (size_t s = 0; s <= t; ++s) acc += score[s] / z * v[s][hd * hs + i];
            m[t][hd * hs + i] = acc;
          }
        }
    } else if (mx == Mixer::mingru) {
      Vec s(C, 0.0);  // s_{-1} = 0
      for (size_t t = 0; t < n; ++t) {
        const Vec u = linear(L.wqkv, L.bqkv, h[t], 2 * C);
        for (size_t i = 0; i < C; ++i) {
          const double z = 1.0 / (1.0 + std::exp(-u[i]));
          s[i] = (1 - z) * s[i] + z * u[C + i];
          m[t][i] = s[i];
        }
      }
    } else if (mx == Mixer::ema || mx == Mixer::max_ema) {
      // Channel i's rate 2^-k, k = 1 + floor(i S / C), S = ceil(log2 T) + 2.
      const double S = std::ceil(std::log2(double(T))) + 2;
      Vec a(C);
      for (size_t t = 0; t < n; ++t) {
        const Vec& prev = h[t == 0 ? 0 : t - 1];
        for (size_t i = 0; i < C; ++i) {
          const double w = std::pow(2.0, -(1 + std::floor(double(i) * S / double(C))));
          a[i] = t == 0 ? h[t][i] : (1 - w) * a[i] + w * h[t][i];
          m[t][i] = mx == Mixer::ema ? a[i] : std::max({h[t][i], prev[i], a[i]});
        }
      }
    } else {
      Vec sum(C, 0.0);
      for (size_t t = 0; t < n; ++t) {
        const Vec& prev = h[t == 0 ? 0 : t - 1];  // h_0 := h_1
        for (size_t i = 0; i < C; ++i) {
          sum[i] += h[t][i];
          const double a = sum[i] / double(t + 1);  // causal running mean
          switch (mx) {
            case Mixer::max: m[t][i] = std::max(h[t][i], prev[i]); break;
            case Mixer::min: m[t][i] = std::min(h[t][i], prev[i]); break;
            case Mixer::max_avg: m[t][i] = std::max({h[t][i], prev[i], a}); break;
            case Mixer::min_avg: m[t][i] = std::min({h[t][i], prev[i], a}); break;
            default: FAIL("bad mixer");
          }
        }
      }
    }
    for (size_t t = 0; t < n; ++t) {
      const Vec o = linear(L.wo, L.bo, m[t], C);
      for (size_t i = 0; i < C; ++i) x[t][i] += o[i];
      Vec a = linear(L.fc1_w, L.fc1_b, layer_norm(x[t], L.ln2_w, L.ln2_b), 4 * C);
      for (double& e : a) e = gelu_tanh(e);
      const Vec f = linear(L.fc2_w, L.fc2_b, a, C);
      for (size_t i = 0; i < C; ++i) x[t][i] += f[i];
    }
  }
  std::vector<double> logits(n * V);
  for (size_t t = 0; t < n; ++t) {
    const Vec y = layer_norm(x[t], lnf_w, lnf_b);
    for (size_t j = 0; j < V; ++j) {
      double s = 0;
      for (size_t i = 0; i < C; ++i) s += wte[j * C + i] * y[i];  // tied with wte
      logits[t * V + j] = s;
    }
  }
  return logits;
}

}  // namespace

TEST_CASE("forward_sequence matches an independent double-precision reference", "[reference]") {
  uint64_t seed = 700;
  for (const Variant& v : all_variants()) {
    SECTION(v.name) {
      auto tm = make_model(v.config, ++seed);
      REQUIRE(tm);
      const uint32_t V = v.config.vocab_size, T = v.config.block_size;
      const auto tokens = random_tokens(T, V, seed);
      std::vector<float> got;
      REQUIRE(run_forward(tm->model, tokens, &got) == Status::ok);
      const std::vector<double> ref = reference_forward(v.config, tm->params, tokens);
      double scale = 0, worst = 0;
      for (double r : ref) scale = std::max(scale, std::fabs(r));
      REQUIRE(scale > 0.1);  // logits of a meaningful size
      for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::fabs(ref[i] - got[i]));
      INFO("max |logit| " << scale << ", worst abs error " << worst);
      CHECK(worst <= 1e-4 * scale);
    }
  }
}

TEST_CASE("the reference is sensitive to the mixer (mixers really differ)", "[reference]") {
  // Guards against a reference that ignores the mixer: the library's logits
  // for max and min models with the same weights differ.
  Config a = make_config(19, 16, 16, 1, true, false, {Mixer::max, Mixer::max});
  Config b = a;
  b.mixers[0] = b.mixers[1] = Mixer::min;
  auto ta = make_model(a, 42), tb = make_model(b, 42);
  REQUIRE(ta);
  REQUIRE(tb);
  REQUIRE(ta->params == tb->params);
  const auto tokens = random_tokens(16, 19, 1);
  const auto ra = reference_forward(a, ta->params, tokens), rb = reference_forward(b, tb->params, tokens);
  double diff = 0;
  for (size_t i = 19; i < ra.size(); ++i) diff = std::max(diff, std::fabs(ra[i] - rb[i]));
  CHECK(diff > 1e-2);
}

TEST_CASE("local with W = T is full causal attention with RoPE over the first T positions",
          "[reference][local]") {
  // The reference without a band (its window far beyond n) is plain causal
  // multi-head attention with rotary q and k; the core's local layer with
  // W = T must match it on T positions, and with W < T must not.
  Config c = make_config(19, 16, 24, 3, true, false, {Mixer::local, Mixer::local});
  auto tm = make_model(c, 77);
  REQUIRE(tm);
  Config full = c;
  full.window[0] = full.window[1] = 1u << 30;
  const auto tokens = random_tokens(16, 19, 5);
  const std::vector<double> ref = reference_forward(full, tm->params, tokens);
  auto worst_error = [&](const Config& cfg) {
    auto m = make_model(cfg, 77);
    REQUIRE(m);
    std::vector<float> got;
    REQUIRE(run_forward(m->model, tokens, &got) == Status::ok);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      worst = std::max(worst, std::fabs(ref[i] - got[i]));
      scale = std::max(scale, std::fabs(ref[i]));
    }
    return worst / scale;
  };
  CHECK(worst_error(c) <= 1e-4);
  Config narrow = c;
  narrow.window[0] = narrow.window[1] = 13;
  CHECK(worst_error(narrow) > 1e-3);
}
