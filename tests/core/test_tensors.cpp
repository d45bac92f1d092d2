// The tensor table (causalgen/tensors.hpp) and the mixer registry: the order
// and names below are the model file format's, written out by hand so that a
// change to the table that would change the format fails here.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "causalgen/model_tensors.hpp"
#include "mixers/mixer.hpp"
#include "test_util.hpp"

using namespace causalgen;
using namespace cgtest;

namespace {
struct Want {
  const char* name;
  uint32_t rows, cols;
};
}  // namespace

TEST_CASE("tensor table: canonical names, shapes and back-to-back offsets", "[tensors]") {
  // V=7, T=5, C=4, one max-avg layer and one attention layer, bias and wpe on.
  const Config c = make_config(7, 5, 4, 2, true, true, {Mixer::max_avg, Mixer::attention});
  const std::vector<Want> want = {
      {"wte", 7, 4},        {"wpe", 5, 4},        {"l0.ln1.w", 1, 4},       {"l0.ln1.b", 1, 4},
      {"l0.wo", 4, 4},      {"l0.wo.b", 1, 4},    {"l0.ln2.w", 1, 4},       {"l0.ln2.b", 1, 4},
      {"l0.fc1.w", 16, 4},  {"l0.fc1.b", 1, 16},  {"l0.fc2.w", 4, 16},      {"l0.fc2.b", 1, 4},
      {"l1.ln1.w", 1, 4},   {"l1.ln1.b", 1, 4},   {"l1.attn.wqkv", 12, 4},  {"l1.attn.bqkv", 1, 12},
      {"l1.wo", 4, 4},      {"l1.wo.b", 1, 4},    {"l1.ln2.w", 1, 4},       {"l1.ln2.b", 1, 4},
      {"l1.fc1.w", 16, 4},  {"l1.fc1.b", 1, 16},  {"l1.fc2.w", 4, 16},      {"l1.fc2.b", 1, 4},
      {"lnf.w", 1, 4},      {"lnf.b", 1, 4},
  };
  REQUIRE(tensor_count(c) == want.size());
  uint64_t offset = 0;
  for (uint32_t i = 0; i < want.size(); ++i) {
    const TensorSpec t = tensor_spec(c, i);
    INFO("tensor " << i << " " << t.name);
    CHECK(std::string(t.name) == want[i].name);
    CHECK(t.rows == want[i].rows);
    CHECK(t.cols == want[i].cols);
    CHECK(t.offset == offset);
    offset += t.size();
  }
  CHECK(c.parameter_count() == offset);

  // Without bias and wpe, and with layer numbers of two digits.
  Config d = make_config(3, 4, 8, 1, false, false, std::vector<Mixer>(12, Mixer::max));
  // ln1.w wo ln2.w fc1.w fc2.w per layer
  CHECK(tensor_count(d) == 1 + 12 * 5 + 1);
  CHECK(std::string(tensor_spec(d, 1 + 11 * 5).name) == "l11.ln1.w");
  CHECK(std::string(tensor_spec(d, 1 + 12 * 5).name) == "lnf.w");
}

TEST_CASE("tensor table: roles, kinds and the offsets by role agree with the list", "[tensors]") {
  for (const Variant& v : all_variants()) {
    SECTION(v.name) {
      const Config& c = v.config;
      RoleOffsets global;
      std::vector<RoleOffsets> layers(c.n_layer);
      tensor_offsets(c, &global, layers.data());
      uint32_t seen = 0;
      for (uint32_t i = 0; i < tensor_count(c); ++i) {
        const TensorSpec t = tensor_spec(c, i);
        const RoleOffsets& r = t.layer == kGlobalTensor ? global : layers.at(t.layer);
        CHECK(r[t.role] == t.offset);
        // Matrices are exactly the 2-D tensors here (V, T > 1 in every variant).
        CHECK((t.kind == TensorKind::matrix) == (t.rows > 1));
        ++seen;
      }
      uint32_t present = 0;
      for (uint64_t o : global.at) present += o != kNoTensor;
      for (const RoleOffsets& r : layers)
        for (uint64_t o : r.at) present += o != kNoTensor;
      CHECK(present == seen);
    }
  }
}

TEST_CASE("mixer registry: names, codes and parse round trip", "[tensors][mixers]") {
  const char* names[] = {"max", "min", "max-avg", "min-avg", "attention", "ema", "max-ema", "mingru",
                         "local"};
  const uint32_t n = sizeof names / sizeof names[0];
  CHECK(mixer_count() == n);
  for (uint32_t code = 0; code < n; ++code) {
    const Mixer m = static_cast<Mixer>(code);
    REQUIRE(mixers::find(m) != nullptr);
    CHECK(std::string(mixer_name(m)) == names[code]);
    Mixer back;
    REQUIRE(parse_mixer(names[code], &back));
    CHECK(back == m);
  }
  CHECK(mixers::find(static_cast<Mixer>(n)) == nullptr);
  CHECK(mixers::find(static_cast<Mixer>(255)) == nullptr);
  Mixer unused;
  CHECK_FALSE(parse_mixer("maximum", &unused));
  CHECK(mixer_window_limited(Mixer::attention));
  CHECK_FALSE(mixer_window_limited(Mixer::max_avg));
}

TEST_CASE("the shipped model: the table binds every tensor and rewrites the same bytes", "[tensors]") {
  host::LoadedModel lm;
  std::string err;
  REQUIRE(host::load_model(CAUSALGEN_SOURCE_DIR "/examples/models/tiny-shakespeare-max-avg.cgm", &lm,
                           &err));
  const Model& m = lm.model;
  const Config& c = m.config;
  // The Model binds each tensor, by its role, to the directory entry's data.
  const Model* mp = &m;
  auto bound = [mp](const TensorSpec& t) -> const float* {
    const LayerWeights& w = mp->layers[t.layer == kGlobalTensor ? 0 : t.layer];
    switch (t.role) {
      case TensorRole::wte: return mp->wte;
      case TensorRole::lnf_w: return mp->lnf_w;
      case TensorRole::lnf_b: return mp->lnf_b;
      case TensorRole::ln1_w: return w.ln1_w;
      case TensorRole::ln1_b: return w.ln1_b;
      case TensorRole::wo: return w.wo;
      case TensorRole::bo: return w.bo;
      case TensorRole::ln2_w: return w.ln2_w;
      case TensorRole::ln2_b: return w.ln2_b;
      case TensorRole::fc1_w: return w.fc1_w;
      case TensorRole::fc1_b: return w.fc1_b;
      case TensorRole::fc2_w: return w.fc2_w;
      case TensorRole::fc2_b: return w.fc2_b;
      default: return nullptr;  // not in this model (no wpe, no mixer tensors)
    }
  };
  std::vector<float> params(c.parameter_count());
  for (uint32_t i = 0; i < tensor_count(c); ++i) {
    const TensorView t = tensor_view(m, i);
    INFO(t.spec.name);
    CHECK(reinterpret_cast<const uint8_t*>(bound(t.spec)) == t.data);
    tensor_values(t, params.data() + t.spec.offset);
  }
  std::vector<uint32_t> vocab(c.vocab_size);
  for (uint32_t i = 0; i < c.vocab_size; ++i) vocab[i] = m.vocab.codepoint(i);
  std::vector<uint8_t> out(model_file_size(c));
  Error e;
  REQUIRE(write_model(c, vocab.data(), params.data(), out.data(), out.size(), &e) == Status::ok);
  REQUIRE(out.size() == lm.bytes.size);
  CHECK(std::memcmp(out.data(), lm.bytes.data.get(), out.size()) == 0);
  // The figure README.md states for its generation state on x86-64: the
  // State struct (one pointer per layer slot) plus 3C floats per layer and
  // the scratch (13,728 before the mixer registry, when each layer slot held
  // five pointers).
  CHECK(state_bytes(c) == 11680);
}

TEST_CASE("the shipped mingru model: what README.md and examples/models/README.md state", "[tensors]") {
  host::LoadedModel lm;
  std::string err;
  REQUIRE(host::load_model(CAUSALGEN_SOURCE_DIR "/examples/models/tiny-shakespeare-mingru.cgm", &lm,
                           &err));
  const Config& c = lm.model.config;
  CHECK(c.n_layer == 4);
  CHECK(c.n_embd == 128);
  CHECK_FALSE(c.pos_emb);
  for (uint32_t l = 0; l < c.n_layer; ++l) CHECK(c.mixers[l] == Mixer::mingru);
  CHECK(c.parameter_count() == 735616);
  CHECK(lm.bytes.size == 2946116);
  // one C-float recurrent vector per layer: the same 8,608 bytes at any position
  CHECK(state_bytes(c) == 8608);
}
