#include "train/params.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "causalgen/model_file.hpp"
#include "train/rng.hpp"

namespace causalgen::train {

ParamLayout::ParamLayout(const Config& c) : config(c) {
  const uint32_t n = tensor_count(c);
  layers.assign(c.n_layer, LayerOffsets{kAbsent, kAbsent, kAbsent, kAbsent, kAbsent, kAbsent,
                                        kAbsent, kAbsent, kAbsent, kAbsent, kAbsent, kAbsent});
  size_t off = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const TensorSpec s = tensor_spec(c, i);
    const size_t size = size_t(s.rows) * s.cols;
    tensors.push_back({s.name, off, size, s.rows, s.cols, s.rows > 1});
    const std::string name = s.name;
    if (name == "wte") wte = off;
    else if (name == "wpe") wpe = off;
    else if (name == "lnf.w") lnf_w = off;
    else if (name == "lnf.b") lnf_b = off;
    else {
      // "l{l}.{kind}"
      char* end = nullptr;
      const unsigned long l = std::strtoul(s.name + 1, &end, 10);
      const std::string kind = end + 1;
      LayerOffsets& L = layers.at(l);
      if (kind == "ln1.w") L.ln1_w = off;
      else if (kind == "ln1.b") L.ln1_b = off;
      else if (kind == "attn.wqkv") L.wqkv = off;
      else if (kind == "attn.bqkv") L.bqkv = off;
      else if (kind == "wo") L.wo = off;
      else if (kind == "wo.b") L.bo = off;
      else if (kind == "ln2.w") L.ln2_w = off;
      else if (kind == "ln2.b") L.ln2_b = off;
      else if (kind == "fc1.w") L.fc1_w = off;
      else if (kind == "fc1.b") L.fc1_b = off;
      else if (kind == "fc2.w") L.fc2_w = off;
      else if (kind == "fc2.b") L.fc2_b = off;
    }
    off += size;
  }
  total = off;
}

template <class T>
ParamView<T> view(const ParamLayout& lay, T* base) {
  auto at = [base](size_t off) { return off == kAbsent ? nullptr : base + off; };
  ParamView<T> v{at(lay.wte), at(lay.wpe), at(lay.lnf_w), at(lay.lnf_b), {}};
  for (const LayerOffsets& L : lay.layers)
    v.layers.push_back({at(L.ln1_w), at(L.ln1_b), at(L.wqkv), at(L.bqkv), at(L.wo), at(L.bo),
                        at(L.ln2_w), at(L.ln2_b), at(L.fc1_w), at(L.fc1_b), at(L.fc2_w),
                        at(L.fc2_b)});
  return v;
}
template ParamView<float> view<float>(const ParamLayout&, float*);
template ParamView<const float> view<const float>(const ParamLayout&, const float*);
template ParamView<double> view<double>(const ParamLayout&, double*);
template ParamView<const double> view<const double>(const ParamLayout&, const double*);

void init_parameters(const ParamLayout& lay, uint64_t seed, float* p) {
  Rng rng;
  rng.seed(seed, /*stream=*/0x1417);
  const double proj_std = 0.02 / std::sqrt(2.0 * lay.config.n_layer);
  for (const TensorRange& t : lay.tensors) {
    float* d = p + t.offset;
    const bool is_ln_w = t.name.find("ln") != std::string::npos && t.name.ends_with(".w");
    if (!t.decay) {  // LayerNorm weights 1, biases 0
      for (size_t i = 0; i < t.size; ++i) d[i] = is_ln_w ? 1.0f : 0.0f;
      continue;
    }
    const bool is_proj = t.name.ends_with(".wo") || t.name.ends_with(".fc2.w");
    const double std = is_proj ? proj_std : 0.02;
    for (size_t i = 0; i < t.size; ++i) d[i] = static_cast<float>(std * rng.normal());
  }
}

}  // namespace causalgen::train
