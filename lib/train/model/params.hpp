// The parameters as one flat array in the core's canonical tensor order
// (causalgen/tensors.hpp, the one tensor table): offsets of every tensor, per-layer views, nanoGPT's
// initialisation and which tensors get weight decay (the matrices: wte, wpe
// and every Linear weight; not LayerNorm weights, not biases).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "causalgen/config.hpp"
#include "causalgen/tensors.hpp"

namespace causalgen::train {

constexpr size_t kAbsent = kNoTensor;

struct TensorRange {
  std::string name;
  size_t offset, size;
  uint32_t rows, cols;
  TensorKind kind;
  bool residual_proj;
  bool decay() const { return kind == TensorKind::matrix; }  // weight decay: matrices only
};

struct ParamLayout {
  Config config;
  size_t total = 0;
  RoleOffsets global;               // wte, wpe, lnf.*
  std::vector<RoleOffsets> layers;  // per layer, by role
  std::vector<TensorRange> tensors;

  explicit ParamLayout(const Config& c);
  // Offset of tensor (role, layer), kAbsent where the config has none.
  size_t at(TensorRole role, uint32_t layer = kGlobalTensor) const;
};

// Pointers into one flat array (null where the config has no such tensor).
template <class T>
struct LayerView {
  T *ln1_w, *ln1_b, *mix_w, *mix_b, *wo, *bo, *ln2_w, *ln2_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
};
template <class T>
struct ParamView {
  T *wte, *wpe, *lnf_w, *lnf_b;
  std::vector<LayerView<T>> layers;
};
template <class T>
ParamView<T> view(const ParamLayout& lay, T* base);

// nanoGPT's init: matrices and embeddings N(0, 0.02), the two residual
// projections (wo, fc2) N(0, 0.02/sqrt(2L)), biases 0, LayerNorm weights 1.
void init_parameters(const ParamLayout& lay, uint64_t seed, float* p);

}  // namespace causalgen::train
