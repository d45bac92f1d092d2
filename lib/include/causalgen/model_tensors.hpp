// Reading a parsed model's tensors one by one, as its directory describes them
// (name, shape, dtype, data): for tools that rewrite or inspect a model file
// (`convert`, tests), so that none of them reads directory bytes itself.
#pragma once
#include <cstdint>
#include "causalgen/model_file.hpp"

namespace causalgen {

struct TensorView {
  TensorSpec spec;      // name and shape (rows x cols)
  DType dtype;
  uint32_t group;       // int8: values per scale along a row; f32: 0
  const uint8_t* data;  // in the model's bytes, 64-byte aligned in the file
};

// Tensor index (0 .. tensor_count(m.config)-1, canonical order) of a model
// that parse_model accepted.
TensorView tensor_view(const Model& m, uint32_t index);

// The tensor's rows*cols values as f32 into out: int8 values times the scale
// of their group (model_file.hpp).
void tensor_values(const TensorView& t, float* out);

}  // namespace causalgen
