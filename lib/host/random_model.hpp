// Models with random weights, for tests and benchmarks of shapes that have no
// trained model. Deterministic for a seed on one platform.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "causalgen/config.hpp"

namespace causalgen::host {

// Parameters in canonical order: N(0, std) matrices and embeddings; LayerNorm
// weights 1 + N(0, ln_std), biases N(0, bias_std).
std::vector<float> random_parameters(const Config& c, uint64_t seed, float std = 0.02f,
                                     float ln_std = 0.0f, float bias_std = 0.0f);

// Code points 'a', 'b', ... style: the printable ASCII range first, enough for V.
std::vector<uint32_t> default_codepoints(uint32_t vocab_size);

// A complete model file in memory.
std::vector<uint8_t> make_model_file(const Config& c, const std::vector<uint32_t>& codepoints,
                                     const std::vector<float>& params);

}  // namespace causalgen::host
