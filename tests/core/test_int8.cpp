// int8 weights (model_file.hpp: per-group symmetric matrices, activations
// quantized per vector, int32 sums per group): the file round trip, the
// documented layout, logits close to f32 (tolerance stated below), corrupted
// int8 entries rejected, the step equal to the sequence forward bit for bit,
// and the kernels equal to a plain reference of their definition.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <random>

#include "causalgen/causalgen.h"

#include "host/convert.hpp"
#include "kernels.hpp"
#include "test_util.hpp"

using namespace cgtest;

namespace {

float get_f32(const Bytes& b, size_t off) {
  const uint32_t u = get_u32(b, off);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
void fix_crc(Bytes& b) { put_u32(b, b.size() - 4, crc32(b.data(), b.size() - 4)); }
size_t dir_entry(const Bytes& b, uint32_t i) { return get_u32(b, 56) + 64u * i; }

WriteOptions int8_options(uint32_t group) {
  WriteOptions o;
  o.matrices = DType::int8;
  o.group_size = group;
  return o;
}

Bytes int8_file(const Config& c, const std::vector<float>& params, uint32_t group) {
  const auto cps = host::default_codepoints(c.vocab_size);
  const WriteOptions o = int8_options(group);
  Bytes b(model_file_size(c, o));
  Error e;
  REQUIRE(write_model(c, cps.data(), params.data(), o, b.data(), b.size(), &e) == Status::ok);
  return b;
}

// A parsed model owning its (64-byte aligned) bytes.
struct Loaded {
  host::AlignedBytes bytes;
  Model model{};
};
std::unique_ptr<Loaded> load(const Bytes& b, Status* status = nullptr, Error* err = nullptr) {
  auto l = std::make_unique<Loaded>();
  l->bytes = host::aligned_bytes(b.size());
  std::memcpy(l->bytes.data.get(), b.data(), b.size());
  Error local;
  const Status s = parse_model(l->bytes.data.get(), b.size(), &l->model, err ? err : &local);
  if (status) *status = s;
  return s == Status::ok ? std::move(l) : nullptr;
}

// Every variant of test_util (all mixers, +-wpe, +-bias, widths 16..32).
Config full_config() {
  return make_config(19, 16, 20, 2, true, true, {Mixer::attention, Mixer::max_avg});
}

}  // namespace

TEST_CASE("int8 files: written as documented and parsed back", "[int8][model_file]") {
  // Group sizes that divide the width and ones that leave a short last group.
  for (uint32_t group : {4u, 5u, 8u, 32u}) {
    for (const Variant& v : all_variants()) {
      const Config& c = v.config;
      SECTION(v.name + " group " + std::to_string(group)) {
        const auto params = host::random_parameters(c, 7, 0.3f, 0.3f, 0.2f);
        const Bytes b = int8_file(c, params, group);
        CHECK(get_u64(b, 8) == b.size());
        // Deterministic: the same bytes twice.
        CHECK(int8_file(c, params, group) == b);
        Status s;
        Error e;
        auto l = load(b, &s, &e);
        INFO(e.message);
        REQUIRE(s == Status::ok);
        const Model& m = l->model;
        CHECK(m.quantized());
        CHECK(m.q_group == group);
        CHECK(m.wte == nullptr);
        CHECK(m.q_wte != 0);
        CHECK(m.lnf_w != nullptr);  // vectors stay f32

        // Directory and data, straight from the bytes (model_file.hpp layout).
        size_t p = 0;
        const uint32_t nt = tensor_count(c);
        for (uint32_t i = 0; i < nt; ++i) {
          const TensorSpec t = tensor_spec(c, i);
          INFO("tensor " << t.name);
          const size_t e_off = dir_entry(b, i);
          const uint32_t dtype = get_u32(b, e_off + 32), rows = get_u32(b, e_off + 36),
                         cols = get_u32(b, e_off + 40), g = get_u32(b, e_off + 44);
          const uint64_t off = get_u64(b, e_off + 48), nbytes = get_u64(b, e_off + 56);
          CHECK(off % 64 == 0);
          if (t.kind != TensorKind::matrix) {
            CHECK(dtype == 0);
            CHECK(g == 0);
            CHECK(std::memcmp(b.data() + off, params.data() + p, size_t(rows) * cols * 4) == 0);
          } else {
            REQUIRE(dtype == 1);
            CHECK(g == group);
            const uint32_t ng = (cols + group - 1) / group;
            const uint64_t scales = off + (uint64_t(rows) * cols + 63) / 64 * 64;
            CHECK(nbytes == scales - off + uint64_t(rows) * ng * 4);
            // value * scale[g][r] is within half a step of the weight, and the
            // largest magnitude of each group maps to +-127.
            for (uint32_t r = 0; r < rows; ++r)
              for (uint32_t gi = 0; gi < ng; ++gi) {
                const float sc = get_f32(b, scales + (size_t(gi) * rows + r) * 4);
                CHECK(sc >= 0.0f);
                int most = 0;
                for (uint32_t col = gi * group; col < std::min(cols, gi * group + group); ++col) {
                  const int q = int8_t(b[off + size_t(r) * cols + col]);
                  CHECK(q >= -127);
                  CHECK(q <= 127);
                  most = std::max(most, std::abs(q));
                  const float w = params[p + size_t(r) * cols + col];
                  CHECK(std::fabs(float(q) * sc - w) <= sc * 0.5f * 1.0001f + 1e-7f);
                }
                if (sc > 0.0f) CHECK(most == 127);
              }
          }
          p += size_t(rows) * cols;
        }
        CHECK(p == params.size());
        // model_parameters dequantizes the same way.
        const auto deq = host::model_parameters(l->bytes.data.get(), b.size());
        REQUIRE(deq.size() == params.size());
      }
    }
  }
}

TEST_CASE("f32 write options give exactly the f32 writer's bytes", "[int8][model_file]") {
  for (const Variant& v : all_variants()) {
    const Config& c = v.config;
    const auto cps = host::default_codepoints(c.vocab_size);
    const auto params = host::random_parameters(c, 3, 0.3f, 0.3f, 0.2f);
    Bytes a(model_file_size(c)), b(model_file_size(c, WriteOptions{}));
    REQUIRE(a.size() == b.size());
    Error e;
    REQUIRE(write_model(c, cps.data(), params.data(), a.data(), a.size(), &e) == Status::ok);
    REQUIRE(write_model(c, cps.data(), params.data(), WriteOptions{}, b.data(), b.size(), &e) == Status::ok);
    CHECK(a == b);
  }
}

TEST_CASE("convert: f32 -> int8 -> f32 keeps the shape and the dequantized weights", "[int8][model_file]") {
  const Config c = full_config();
  const auto params = host::random_parameters(c, 9, 0.3f, 0.3f, 0.2f);
  const Bytes f32 = host::make_model_file(c, host::default_codepoints(c.vocab_size), params);
  auto lf = load(f32);
  REQUIRE(lf);
  std::vector<uint8_t> q8, back;
  std::string err;
  REQUIRE(host::convert_model(lf->bytes.data.get(), f32.size(), DType::int8, 8, &q8, &err));
  CHECK(q8 == int8_file(c, params, 8));
  auto lq = load(q8);
  REQUIRE(lq);
  REQUIRE(host::convert_model(lq->bytes.data.get(), q8.size(), DType::f32, 0, &back, &err));
  CHECK(back.size() == f32.size());
  auto lb = load(back);
  REQUIRE(lb);
  CHECK(host::model_parameters(lb->bytes.data.get(), back.size()) ==
        host::model_parameters(lq->bytes.data.get(), q8.size()));
}

TEST_CASE("corrupted int8 entries are rejected with a message", "[int8][model_file]") {
  const Config c = full_config();
  const auto params = host::random_parameters(c, 11, 0.3f, 0.3f, 0.2f);
  const Bytes good = int8_file(c, params, 4);
  REQUIRE(load(good));
  // Directory indices: 0 wte, 1 wpe, 2 l0.ln1.w, ...
  uint32_t ln1 = 2, wo = 0, fc1 = 0;
  for (uint32_t i = 0; i < tensor_count(c); ++i) {
    const std::string n = tensor_spec(c, i).name;
    if (n == "l0.wo") wo = i;
    if (n == "l1.fc1.w") fc1 = i;
  }
  REQUIRE(std::string(tensor_spec(c, ln1).name) == "l0.ln1.w");
  const size_t scales_wo = get_u64(good, dir_entry(good, wo) + 48) + (20 * 20 + 63) / 64 * 64;

  struct Case {
    const char* what;
    Status want;
    std::function<void(Bytes&)> edit;
  };
  const std::vector<Case> cases = {
      {"group 0", Status::bad_tensor, [&](Bytes& b) { put_u32(b, dir_entry(b, wo) + 44, 0); }},
      {"group too large", Status::bad_tensor,
       [&](Bytes& b) { put_u32(b, dir_entry(b, wo) + 44, kMaxGroupSize + 1); }},
      {"mixed group sizes", Status::bad_tensor, [&](Bytes& b) { put_u32(b, dir_entry(b, fc1) + 44, 5); }},
      {"unknown dtype", Status::bad_tensor, [&](Bytes& b) { put_u32(b, dir_entry(b, wo) + 32, 2); }},
      {"int8 LayerNorm weight", Status::bad_tensor,
       [&](Bytes& b) {
         put_u32(b, dir_entry(b, ln1) + 32, 1);
         put_u32(b, dir_entry(b, ln1) + 44, 4);
       }},
      {"f32 entry with a group", Status::bad_tensor, [&](Bytes& b) { put_u32(b, dir_entry(b, ln1) + 44, 4); }},
      {"int8 matrix marked f32", Status::out_of_bounds,
       [&](Bytes& b) {
         put_u32(b, dir_entry(b, wo) + 32, 0);
         put_u32(b, dir_entry(b, wo) + 44, 0);
       }},
      {"nbytes off by 4", Status::bad_tensor,
       [&](Bytes& b) { put_u32(b, dir_entry(b, wo) + 56, get_u32(b, dir_entry(b, wo) + 56) - 4); }},
      {"offset past the end", Status::out_of_bounds,
       [&](Bytes& b) { put_u32(b, dir_entry(b, wo) + 48, uint32_t(b.size() - 64)); }},
      {"misaligned offset", Status::misaligned,
       [&](Bytes& b) { put_u32(b, dir_entry(b, wo) + 48, get_u32(b, dir_entry(b, wo) + 48) + 4); }},
      {"NaN scale", Status::bad_tensor, [&](Bytes& b) { put_u32(b, scales_wo + 8, 0x7FC00000u); }},
      {"infinite scale", Status::bad_tensor, [&](Bytes& b) { put_u32(b, scales_wo, 0x7F800000u); }},
      {"negative scale", Status::bad_tensor, [&](Bytes& b) { put_u32(b, scales_wo + 4, 0xBF800000u); }},
  };
  for (const Case& k : cases) {
    SECTION(k.what) {
      Bytes b = good;
      k.edit(b);
      fix_crc(b);
      Status s;
      Error e;
      CHECK_FALSE(load(b, &s, &e));
      INFO("got " << status_name(s) << ": " << e.message);
      CHECK(s == k.want);
      CHECK(std::strlen(e.message) > 0);
    }
  }
  SECTION("truncated") {
    for (size_t n : {good.size() - 1, good.size() / 2, size_t(100)}) {
      Bytes b(good.begin(), good.begin() + n);
      Status s;
      CHECK_FALSE(load(b, &s));
      CHECK(s != Status::ok);
    }
  }
  SECTION("every single-byte change of the directory (CRC fixed): an error or a valid model, no crash") {
    const size_t d0 = dir_entry(good, 0), d1 = dir_entry(good, tensor_count(c));
    for (size_t i = d0; i < d1; ++i)
      for (uint8_t x : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xFF)}) {
        Bytes b = good;
        b[i] ^= x;
        fix_crc(b);
        Status s;
        auto l = load(b, &s);
        if (l) {  // still valid (a name's padding, say): it must run
          host::OwnedState st;
          std::string err;
          REQUIRE(host::make_state(l->model, &st, &err));
          Error e;
          CHECK(state_feed(st.state, 1, &e) == Status::ok);
        }
      }
  }
}

TEST_CASE("int8: state_feed equals forward_sequence bit for bit at every position", "[int8][step]") {
  for (uint32_t group : {5u, 8u, 32u}) {
    for (const Variant& v : all_variants()) {
      const Config& c = v.config;
      SECTION(v.name + " group " + std::to_string(group)) {
        const Bytes b = int8_file(c, host::random_parameters(c, 21, 0.3f, 0.3f, 0.2f), group);
        auto l = load(b);
        REQUIRE(l);
        const Model& m = l->model;
        const uint32_t n = c.window_limited() ? c.block_size : 40;
        const auto tokens = random_tokens(n, c.vocab_size, 5);
        std::vector<float> seq;
        Error e;
        REQUIRE(run_forward(m, tokens, &seq, &e) == Status::ok);
        host::OwnedState st;
        std::string err;
        REQUIRE(host::make_state(m, &st, &err));
        for (uint32_t t = 0; t < n; ++t) {
          REQUIRE(state_feed(st.state, tokens[t], &e) == Status::ok);
          INFO("position " << t);
          REQUIRE(bits_equal(st.state->logits, seq.data() + size_t(t) * c.vocab_size, c.vocab_size));
        }
        for (uint32_t i = 0; i < n * c.vocab_size; ++i) REQUIRE(std::isfinite(seq[i]));
      }
    }
  }
}

TEST_CASE("int8 logits stay close to f32 logits", "[int8]") {
  // Trained-like scales (weights N(0, 0.05), embeddings N(0, 0.5)), 3 layers
  // of width 128, group 32, 200 positions. Stated tolerance: every logit
  // within 0.05 + 3% of the position's largest f32 logit magnitude; every
  // softmax probability within 0.06 of f32's, and on average within 0.001
  // (measured: 0.66 of the logit bound, worst probability error 0.043, mean 3e-5).
  Config c = make_config(65, 64, 128, 4, true, false, {Mixer::max_avg, Mixer::max_avg, Mixer::max_avg});
  auto params = host::random_parameters(c, 31, 0.05f, 0.1f, 0.02f);
  for (size_t i = 0; i < size_t(c.vocab_size) * c.n_embd; ++i) params[i] *= 10.0f;  // wte
  const Bytes f = host::make_model_file(c, host::default_codepoints(c.vocab_size), params);
  auto lf = load(f), lq = load(int8_file(c, params, 32));
  REQUIRE(lf);
  REQUIRE(lq);
  const auto tokens = random_tokens(200, c.vocab_size, 3);
  std::vector<float> a, b;
  REQUIRE(run_forward(lf->model, tokens, &a) == Status::ok);
  REQUIRE(run_forward(lq->model, tokens, &b) == Status::ok);
  double worst_logit = 0, worst_prob = 0, sum_prob = 0;
  const uint32_t V = c.vocab_size;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const float* x = a.data() + t * V;
    const float* y = b.data() + t * V;
    float scale = 0, mx = -1e30f, my = -1e30f;
    for (uint32_t i = 0; i < V; ++i) scale = std::max(scale, std::fabs(x[i])), mx = std::max(mx, x[i]), my = std::max(my, y[i]);
    double sx = 0, sy = 0;
    for (uint32_t i = 0; i < V; ++i) sx += std::exp(double(x[i] - mx)), sy += std::exp(double(y[i] - my));
    for (uint32_t i = 0; i < V; ++i) {
      worst_logit = std::max(worst_logit, std::fabs(double(x[i]) - y[i]) / (0.05 + 0.03 * scale));
      const double dp = std::fabs(std::exp(double(x[i] - mx)) / sx - std::exp(double(y[i] - my)) / sy);
      worst_prob = std::max(worst_prob, dp);
      sum_prob += dp;
    }
  }
  const double mean_prob = sum_prob / (double(tokens.size()) * V);
  INFO("worst logit error / tolerance " << worst_logit << ", probability error worst " << worst_prob
                                        << " mean " << mean_prob);
  CHECK(worst_logit <= 1.0);
  CHECK(worst_prob <= 0.06);
  CHECK(mean_prob <= 0.001);
}

TEST_CASE("matvec_q8 equals a plain reference of its definition, bit for bit", "[int8][kernels]") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> q(-127, 127);
  std::uniform_real_distribution<float> u(0.0f, 0.02f);
  struct Shape {
    uint32_t rows, cols, group;
  };
  // Multiples of 32 take the AVX2 path on x86; odd shapes the generic one.
  for (Shape s : {Shape{65, 128, 32}, Shape{128, 512, 32}, Shape{17, 64, 64}, Shape{9, 20, 5},
                  Shape{3, 7, 2}, Shape{33, 96, 96}, Shape{8, 40, 16}, Shape{1, 1, 1}}) {
    INFO(s.rows << "x" << s.cols << " group " << s.group);
    const uint32_t ng = (s.cols + s.group - 1) / s.group;
    std::vector<int8_t> W(size_t(s.rows) * s.cols), x(s.cols);
    std::vector<float> S(size_t(ng) * s.rows), b(s.rows), out(s.rows), ref(s.rows);
    for (auto& v : W) v = int8_t(q(rng));
    for (auto& v : x) v = int8_t(q(rng));
    for (auto& v : S) v = u(rng);
    for (auto& v : b) v = u(rng) - 0.01f;
    for (int with_bias = 0; with_bias < 2; ++with_bias) {
      const float xs = 0.0173f;
      kernels::matvec_q8(out.data(), W.data(), S.data(), s.group, with_bias ? b.data() : nullptr,
                         x.data(), xs, s.rows, s.cols);
      for (uint32_t r = 0; r < s.rows; ++r) {
        float acc = 0.0f;
        for (uint32_t g = 0; g < ng; ++g) {
          int64_t sum = 0;
          for (uint32_t col = g * s.group; col < std::min(s.cols, g * s.group + s.group); ++col)
            sum += int64_t(W[size_t(r) * s.cols + col]) * x[col];
          const volatile float term = float(int32_t(sum)) * S[size_t(g) * s.rows + r];
          acc = acc + term;
        }
        const volatile float y = acc * xs;
        ref[r] = with_bias ? y + b[r] : y;
      }
      CHECK(bits_equal(out.data(), ref.data(), s.rows));
    }
  }
}

TEST_CASE("quantize_vector: one scale, round half away from zero, clamped", "[int8][kernels]") {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 2.0f);
  for (uint32_t n : {1u, 3u, 4u, 7u, 128u, 513u}) {
    std::vector<float> x(n);
    for (auto& v : x) v = nd(rng);
    if (n > 3) x[2] = -x[1];  // a tie in magnitude
    std::vector<int8_t> q(n);
    const float s = kernels::quantize_vector(q.data(), x.data(), n);
    float amax = 0;
    for (float v : x) amax = std::max(amax, std::fabs(v));
    CHECK(s == amax / 127.0f);
    const float inv = 127.0f / amax;
    for (uint32_t i = 0; i < n; ++i) {
      const float v = x[i] * inv;
      const int want = v >= 0 ? int(v + 0.5f) : -int(-v + 0.5f);
      CHECK(int(q[i]) == std::max(-127, std::min(127, want)));
    }
  }
  std::vector<int8_t> q(5, 9);
  const std::vector<float> zeros(5, 0.0f);
  CHECK(kernels::quantize_vector(q.data(), zeros.data(), 5) == 0.0f);
  for (int8_t v : q) CHECK(v == 0);
  const std::vector<float> with_nan = {1.0f, NAN, -2.0f, 0.5f, 4.0f};
  CHECK(kernels::quantize_vector(q.data(), with_nan.data(), 5) == 4.0f / 127.0f);
  CHECK(q[1] == 0);
  CHECK(q[4] == 127);
  CHECK(q[2] == -64);  // -63.5 rounds away from zero
  const std::vector<float> with_inf = {1.0f, INFINITY};
  CHECK(std::isnan(kernels::quantize_vector(q.data(), with_inf.data(), 2)));
}

TEST_CASE("gelu_inplace gives gelu's bits for every class of input", "[kernels]") {
  // 2^24 evenly spread bit patterns (every sign, exponent and NaN payload
  // class), in runs whose lengths are not multiples of the vector width.
  // (An exhaustive run over all 2^32 inputs also matched; it takes minutes.)
  std::vector<float> x, y;
  for (uint64_t b = 0; b < (1ull << 32); b += 251) {
    const uint32_t u = uint32_t(b);
    float f;
    std::memcpy(&f, &u, 4);
    x.push_back(f);
  }
  for (float f : {0.0f, -0.0f, 9.0f, -9.0f, 4.5f, 44.36f, -44.36f, INFINITY, -INFINITY, 1e-45f})
    x.push_back(f);
  y = x;
  size_t bad = 0;
  for (size_t i = 0; i < y.size();) {
    const uint32_t n = uint32_t(std::min<size_t>(y.size() - i, 1 + i % 37));
    kernels::gelu_inplace(y.data() + i, n);
    i += n;
  }
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = kernels::gelu(x[i]);
    if (std::memcmp(&want, &y[i], 4) != 0 && bad++ < 5) {
      uint32_t u;
      std::memcpy(&u, &x[i], 4);
      FAIL_CHECK("gelu(bits " << std::hex << u << ") differs");
    }
  }
  CHECK(bad == 0);
}

TEST_CASE("C API: an int8 model loads into cg_model_storage and generates", "[int8][c_api]") {
  const Config c = full_config();
  const Bytes b = int8_file(c, host::random_parameters(c, 2, 0.3f, 0.3f, 0.2f), 8);
  auto bytes = host::aligned_bytes(b.size());
  std::memcpy(bytes.data.get(), b.data(), b.size());
  static cg_model_storage ms;
  cg_error err;
  const cg_model* m = cg_model_load(&ms, sizeof ms, bytes.data.get(), b.size(), &err);
  INFO(err.message);
  REQUIRE(m);
  CHECK(cg_model_bytes() <= sizeof(cg_model_storage));
  auto mem = host::aligned_bytes(cg_state_bytes(m));
  cg_state* s = cg_state_init(m, mem.data.get(), mem.size, 1337, &err);
  REQUIRE(s);
  REQUIRE(cg_feed_text(s, "!#", 2, &err) == CG_OK);
  const cg_sampler sp{0.8f, 0, 1.0f};
  for (int i = 0; i < 40; ++i) REQUIRE(cg_feed_token(s, cg_sample_token(s, &sp), &err) == CG_OK);
  for (uint32_t i = 0; i < cg_vocab_size(m); ++i) CHECK(std::isfinite(cg_logits(s)[i]));
}
