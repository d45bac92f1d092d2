// Specified byte by byte, with the computation it defines, in docs/model-format.md.
// The deployable model file (DESIGN.md §3): flat little-endian binary, parsed
// in place from a byte span. Layout (all integers little-endian):
//
//   offset 0   header (64 bytes)
//     char     magic[4] = "CGLM"
//     u32      version  = 1
//     u64      file_size          (whole file, CRC included)
//     u32      header_size = 64
//     u32      vocab_size, block_size, n_layer, n_embd, n_head
//     u32      flags              (bit 0: bias, bit 1: position embedding)
//     u32      n_tensors
//     u32      mixers_offset      (n_layer bytes, one Mixer code per layer)
//     u32      vocab_offset       (vocab_size u32 code points, strictly ascending)
//     u32      dir_offset         (n_tensors entries of 64 bytes)
//     u32      data_offset        (first tensor's data, 64-byte aligned)
//   directory entry (64 bytes)
//     char     name[32]           (NUL-terminated, NUL-padded)
//     u32      dtype              (0 = f32, 1 = int8)
//     u32      rows, cols         (a vector is 1 x n)
//     u32      group              (int8: values per scale along a row; f32: 0)
//     u64      offset, nbytes     (data, 64-byte aligned offset)
//   tensor data, each tensor 64-byte aligned, zero padding between
//   u32 CRC-32 (IEEE, as zlib) of every byte before it
//
// Tensor data by dtype (little-endian):
//   f32   rows*cols floats, row-major; nbytes = 4*rows*cols.
//   int8  per-group symmetric quantization of a weight matrix. With
//         G = group (1..65536) and ng = ceil(cols/G) groups per row:
//           values  rows*cols int8, row-major, in [-127, 127]
//           zero padding to the next multiple of 64 bytes (from the offset)
//           scales  ng*rows f32, group-major: scale[g][r] (index g*rows + r)
//                   covers row r, columns g*G .. min(cols, g*G+G)-1 (the last
//                   group of a row may be short). Group-major so that kernels
//                   working on several rows load their scales together.
//         nbytes = align64(rows*cols) + 4*rows*ng; W[r][c] ~ value * scale[c/G][r].
//         Only the weight matrices (TensorKind::matrix in tensors.hpp: wte, wpe,
//         the mixers' matrices (l*.attn.wqkv, l*.mingru.w), l*.wo, l*.fc1.w,
//         l*.fc2.w) may be int8; LayerNorm
//         weights and biases stay f32. Scales must
//         be finite and >= 0. This reader needs every int8 tensor of a file
//         to use the same group size (the writer always does).
//   int8 matrix-vector products quantize the input vector to int8 with one
//   scale (max|x|/127, round half away from zero), sum value products in
//   int32 within each group, then accumulate float(sum) * scale group by
//   group in order and multiply by the input's scale (kernels.hpp): exact
//   integer sums and a fixed float order give the same bits on every platform.
//
// Tensors: in the canonical order of the tensor table (tensors.hpp), which
//   names them and gives their shapes. The logits reuse wte (tied).
#pragma once
#include <cstddef>
#include <cstdint>
#include "causalgen/config.hpp"
#include "causalgen/status.hpp"
#include "causalgen/tensors.hpp"
#include "causalgen/tokens.hpp"

namespace causalgen {

constexpr uint32_t kFormatVersion = 1;
constexpr uint32_t kHeaderSize = 64;
constexpr uint32_t kDirEntrySize = 64;
constexpr uint32_t kTensorAlign = 64;

enum class DType : uint32_t { f32 = 0, int8 = 1 };
constexpr uint32_t kMaxGroupSize = 65536;

// Bytes of an int8 tensor's data and where its scales start (from its offset).
inline uint32_t int8_groups(uint32_t cols, uint32_t group) { return (cols + group - 1) / group; }
inline uint64_t int8_scales_offset(uint32_t rows, uint32_t cols) {
  return (uint64_t(rows) * cols + kTensorAlign - 1) / kTensorAlign * kTensorAlign;
}
inline uint64_t int8_tensor_bytes(uint32_t rows, uint32_t cols, uint32_t group) {
  return int8_scales_offset(rows, cols) + uint64_t(rows) * int8_groups(cols, group) * 4;
}
struct LayerWeights {
  const float *ln1_w, *ln1_b;    // C
  const float *wqkv, *bqkv;      // the mixer's own matrix and vector (attention: 3C x C, 3C)
  const float *wo, *bo;          // C x C, C
  const float *ln2_w, *ln2_b;    // C
  const float *fc1_w, *fc1_b;    // 4C x C, 4C
  const float *fc2_w, *fc2_b;    // C x 4C, C
};

// Byte offsets (from the file's first byte) of a layer's int8 weight
// matrices; 0 when the matrix is f32 (then LayerWeights has its pointer).
struct QuantLayer {
  uint32_t wqkv, wo, fc1_w, fc2_w;
};

// A parsed model: pointers into the caller's bytes, which must outlive it.
// Biases are null when the config has no bias. A weight matrix stored as int8
// has a null f32 pointer here and a nonzero offset in q_* (kept as 32-bit
// offsets so that the descriptor fits cg_model_storage).
struct Model {
  Config config;
  Vocab vocab;
  const float* wte;  // V x C
  const float* wpe;  // T x C, or null
  const float *lnf_w, *lnf_b;
  LayerWeights layers[kMaxLayers];
  size_t file_size;
  const uint8_t* bytes;  // the file's first byte
  uint32_t q_group;      // group size of the int8 tensors (0: the file has none)
  uint32_t q_wte, q_wpe; // int8 wte / wpe data offsets, 0 when f32 (or absent)
  QuantLayer q_layers[kMaxLayers];
  bool quantized() const { return q_group != 0; }
};

// The file size a model file's header declares, from its first n bytes
// (n >= kHeaderSize + 4, or the whole file if it is shorter): checks the magic
// and the version with parse_model's messages, so that a reader can refuse
// what is not a model before reading all of it.
Status model_file_size_from_header(const void* head, size_t n, uint64_t* size, Error* err);

// Validates everything docs/model-format.md states (sizes, offsets, alignment,
// shapes, the CRC, zero padding, tensors back to back in canonical order,
// finite f32 values and int8 scales, int8 values in [-127, 127]) and fills
// *out with pointers into data. data must be 4-byte aligned (64 preferred).
Status parse_model(const void* data, size_t size, Model* out, Error* err);

// Writing: the exact file size for a config, then the file itself into a
// caller buffer of that size. params holds every tensor of the canonical
// layout back to back in canonical order (parameter_count() floats);
// codepoints must be strictly ascending.
size_t model_file_size(const Config& c);
Status write_model(const Config& c, const uint32_t* codepoints, const float* params,
                   void* out, size_t out_size, Error* err);

// The same with the weight matrices (TensorKind::matrix) stored as `matrices`:
// int8 quantizes each row per group of group_size values: scale = max|w|/127,
// value = round(w * (127/max|w|)) (f32 operations, half away from zero; a
// group of zeros has scale 0). Non-finite weights are refused (bad_argument).
// f32 options give exactly the bytes of the functions above.
struct WriteOptions {
  DType matrices = DType::f32;
  uint32_t group_size = 64;
};
size_t model_file_size(const Config& c, const WriteOptions& o);
Status write_model(const Config& c, const uint32_t* codepoints, const float* params,
                   const WriteOptions& o, void* out, size_t out_size, Error* err);

uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

}  // namespace causalgen
