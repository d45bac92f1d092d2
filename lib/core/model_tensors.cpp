#include "causalgen/model_tensors.hpp"

#include <cstring>

namespace causalgen {

namespace {
inline uint32_t load_u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t load_u64(const uint8_t* p) { return load_u32(p) | uint64_t(load_u32(p + 4)) << 32; }

// Where model_file.hpp's layout puts the directory and an entry's fields.
enum : uint32_t { kHeaderDirOffset = 56 };
enum : uint32_t { kEntryDType = 32, kEntryGroup = 44, kEntryOffset = 48 };
}  // namespace

TensorView tensor_view(const Model& m, uint32_t index) {
  const uint8_t* entry = m.bytes + load_u32(m.bytes + kHeaderDirOffset) + uint64_t(index) * kDirEntrySize;
  TensorView t;
  t.spec = tensor_spec(m.config, index);  // parse_model checked the entry's name and shape
  t.dtype = static_cast<DType>(load_u32(entry + kEntryDType));
  t.group = load_u32(entry + kEntryGroup);
  t.data = m.bytes + load_u64(entry + kEntryOffset);
  return t;
}

void tensor_values(const TensorView& t, float* out) {
  const uint32_t rows = t.spec.rows, cols = t.spec.cols;
  if (t.dtype == DType::f32) {
    std::memcpy(out, t.data, size_t(rows) * cols * sizeof(float));
    return;
  }
  const auto* q = reinterpret_cast<const int8_t*>(t.data);
  const uint8_t* scales = t.data + int8_scales_offset(rows, cols);
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 0; c < cols; ++c) {
      float s;
      std::memcpy(&s, scales + (size_t(c / t.group) * rows + r) * 4, 4);  // group-major
      out[size_t(r) * cols + c] = float(q[size_t(r) * cols + c]) * s;
    }
}

}  // namespace causalgen
