#include "random_model.hpp"

#include <random>
#include <stdexcept>

#include "causalgen/model_file.hpp"

namespace causalgen::host {

std::vector<float> random_parameters(const Config& c, uint64_t seed, float std, float ln_std,
                                     float bias_std) {
  std::vector<float> p(c.parameter_count());
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const uint32_t n = tensor_count(c);
  for (uint32_t i = 0; i < n; ++i) {
    const TensorSpec t = tensor_spec(c, i);
    const bool is_norm = t.kind == TensorKind::norm_weight;
    const float scale = is_norm ? ln_std : t.kind == TensorKind::bias ? bias_std : std;
    for (uint64_t k = 0; k < t.size(); ++k)
      p[t.offset + k] = (is_norm ? 1.0f : 0.0f) + scale * normal(rng);
  }
  return p;
}

std::vector<uint32_t> default_codepoints(uint32_t vocab_size) {
  std::vector<uint32_t> cps;
  cps.push_back('\n');
  for (uint32_t c = ' '; c < 0x7F && cps.size() < vocab_size; ++c) cps.push_back(c);
  // Latin-1 letters on, past the UTF-16 surrogates (not characters), so that
  // every size up to kMaxVocab has a vocabulary.
  for (uint32_t c = 0xC0; cps.size() < vocab_size; ++c)
    if (c < 0xD800 || c > 0xDFFF) cps.push_back(c);
  cps.resize(vocab_size);
  return cps;
}

std::vector<uint8_t> make_model_file(const Config& c, const std::vector<uint32_t>& codepoints,
                                     const std::vector<float>& params) {
  std::vector<uint8_t> out(model_file_size(c));
  Error e;
  if (codepoints.size() != c.vocab_size || params.size() != c.parameter_count() ||
      write_model(c, codepoints.data(), params.data(), out.data(), out.size(), &e) != Status::ok)
    throw std::runtime_error(std::string("make_model_file: ") + e.message);
  return out;
}

}  // namespace causalgen::host
