// The model's tensors, stated once: for a Config, the ordered list of every
// tensor (name, shape, role, layer, offset in the one flat parameter buffer,
// what kind of values it holds). The model file's directory, the CPU
// trainer's parameter layout and the CUDA trainer's offsets all come from
// tensor_spec(); nothing else names or orders tensors.
//
// Canonical order: wte, [wpe], then per layer ln1.w [ln1.b], the mixer's own
// tensors (mixers/registry.cpp), wo [wo.b], ln2.w [ln2.b], fc1.w [fc1.b],
// fc2.w [fc2.b]; then lnf.w [lnf.b]. [] = only with bias / position embedding.
#pragma once
#include <cstdint>
#include "causalgen/config.hpp"

namespace causalgen {

constexpr uint32_t kTensorNameMax = 32;  // including the terminating NUL
constexpr uint32_t kGlobalTensor = 0xFFFFFFFFu;  // TensorSpec::layer of wte, wpe, lnf.*

// What a tensor is for. Consumers bind tensors by (role, layer), never by name.
// A mixer owns at most one matrix and one vector per layer (attention: Wqkv
// and its bias); its descriptor names them and gives their shapes.
enum class TensorRole : uint8_t {
  wte, wpe, lnf_w, lnf_b,                                          // global
  ln1_w, ln1_b, wo, bo, ln2_w, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b,  // every layer
  mixer_w, mixer_b,                                                // owned by the layer's mixer
};
constexpr uint32_t kTensorRoles = 16;
constexpr uint64_t kNoTensor = ~uint64_t(0);

// Offsets (in floats) of one layer's tensors, or of the global ones, by role;
// kNoTensor where the config has no such tensor.
struct RoleOffsets {
  uint64_t at[kTensorRoles];
  uint64_t operator[](TensorRole r) const { return at[static_cast<uint32_t>(r)]; }
};

// What its values are: decides int8 storage, weight decay and initialisation.
enum class TensorKind : uint8_t {
  matrix,       // a weight matrix or embedding table: may be int8, takes weight decay
  norm_weight,  // LayerNorm gain: initialised to 1
  bias,         // initialised to 0
};

// One row of the tensor table, shapes in units of the config's sizes.
enum class Dim : uint8_t { one, C, C2, C3, C4, V, T };
struct TensorRow {
  TensorRole role;
  const char* name;    // per-layer rows: the suffix after "l<i>."
  Dim rows, cols;      // W is out x in (y = W x); a vector is 1 x n
  TensorKind kind;
  bool residual_proj;  // a projection into the residual stream: init std / sqrt(2L)
};

struct TensorSpec {
  char name[kTensorNameMax];  // "wte", "l3.fc1.w", ...
  uint32_t rows, cols;
  TensorRole role;
  TensorKind kind;
  bool residual_proj;
  uint32_t layer;   // kGlobalTensor for wte, wpe, lnf.*
  uint64_t offset;  // in floats, in the flat buffer of every tensor back to back
  uint64_t size() const { return uint64_t(rows) * cols; }
};

// Number of tensors the config implies, and the i-th one (canonical order).
uint32_t tensor_count(const Config& c);
TensorSpec tensor_spec(const Config& c, uint32_t index);
// Every tensor's offset by (role, layer): global gets wte, wpe and lnf.*;
// layers[l] (n_layer entries) the per-layer ones.
void tensor_offsets(const Config& c, RoleOffsets* global, RoleOffsets* layers);

}  // namespace causalgen
