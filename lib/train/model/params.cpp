#include "train/model/params.hpp"

#include <cmath>
#include "causalgen/tensors.hpp"
#include "train/model/rng.hpp"

namespace causalgen::train {

ParamLayout::ParamLayout(const Config& c) : config(c), layers(c.n_layer) {
  tensor_offsets(c, &global, layers.data());
  const uint32_t n = tensor_count(c);
  for (uint32_t i = 0; i < n; ++i) {
    const TensorSpec s = tensor_spec(c, i);
    tensors.push_back({s.name, s.offset, s.size(), s.rows, s.cols, s.kind, s.residual_proj});
    total = s.offset + s.size();
  }
}

size_t ParamLayout::at(TensorRole role, uint32_t layer) const {
  return layer == kGlobalTensor ? global[role] : layers.at(layer)[role];
}

template <class T>
ParamView<T> view(const ParamLayout& lay, T* base) {
  auto at = [base](size_t off) { return off == kAbsent ? nullptr : base + off; };
  using R = TensorRole;
  ParamView<T> v{at(lay.at(R::wte)), at(lay.at(R::wpe)), at(lay.at(R::lnf_w)), at(lay.at(R::lnf_b)),
                 {}};
  for (uint32_t l = 0; l < lay.layers.size(); ++l) {
    auto in = [&](R r) { return at(lay.at(r, l)); };
    v.layers.push_back({in(R::ln1_w), in(R::ln1_b), in(R::mixer_w), in(R::mixer_b), in(R::wo),
                        in(R::bo), in(R::ln2_w), in(R::ln2_b), in(R::fc1_w), in(R::fc1_b),
                        in(R::fc2_w), in(R::fc2_b)});
  }
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
    if (t.kind != TensorKind::matrix) {  // LayerNorm weights 1, biases 0
      for (size_t i = 0; i < t.size; ++i) d[i] = t.kind == TensorKind::norm_weight ? 1.0f : 0.0f;
      continue;
    }
    const double std = t.residual_proj ? proj_std : 0.02;
    for (size_t i = 0; i < t.size; ++i) d[i] = static_cast<float>(std * rng.normal());
  }
}

}  // namespace causalgen::train
