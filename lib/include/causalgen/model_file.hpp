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
//     u32      dtype              (0 = f32)
//     u32      rows, cols         (a vector is 1 x n)
//     u32      reserved = 0
//     u64      offset, nbytes     (data, 64-byte aligned offset)
//   tensor data, each tensor 64-byte aligned, zero padding between
//   u32 CRC-32 (IEEE, as zlib) of every byte before it
//
// Tensors, in this canonical order (W is out x in; y = W x):
//   wte VxC, [wpe TxC], then per layer l: l{l}.ln1.w 1xC [l{l}.ln1.b],
//   [attention: l{l}.attn.wqkv 3CxC [l{l}.attn.bqkv 1x3C]], l{l}.wo CxC [l{l}.wo.b],
//   l{l}.ln2.w [l{l}.ln2.b], l{l}.fc1.w 4CxC [l{l}.fc1.b 1x4C],
//   l{l}.fc2.w Cx4C [l{l}.fc2.b], then lnf.w [lnf.b]. ([] = only with bias/
//   position embedding/attention). The logits reuse wte (tied).
#pragma once
#include <cstddef>
#include <cstdint>
#include "causalgen/config.hpp"
#include "causalgen/status.hpp"
#include "causalgen/tokens.hpp"

namespace causalgen {

constexpr uint32_t kFormatVersion = 1;
constexpr uint32_t kHeaderSize = 64;
constexpr uint32_t kDirEntrySize = 64;
constexpr uint32_t kTensorAlign = 64;
constexpr uint32_t kTensorNameMax = 32;  // including the terminating NUL

enum class DType : uint32_t { f32 = 0 };

// One tensor of the canonical layout.
struct TensorSpec {
  char name[kTensorNameMax];
  uint32_t rows, cols;
};

// Number of tensors the config implies, and the i-th one's name and shape.
uint32_t tensor_count(const Config& c);
TensorSpec tensor_spec(const Config& c, uint32_t index);

struct LayerWeights {
  const float *ln1_w, *ln1_b;    // C
  const float *wqkv, *bqkv;      // 3C x C, 3C  (attention layers)
  const float *wo, *bo;          // C x C, C
  const float *ln2_w, *ln2_b;    // C
  const float *fc1_w, *fc1_b;    // 4C x C, 4C
  const float *fc2_w, *fc2_b;    // C x 4C, C
};

// A parsed model: pointers into the caller's bytes, which must outlive it.
// Biases are null when the config has no bias.
struct Model {
  Config config;
  Vocab vocab;
  const float* wte;  // V x C
  const float* wpe;  // T x C, or null
  const float *lnf_w, *lnf_b;
  LayerWeights layers[kMaxLayers];
  size_t file_size;
};

// Validates every field (sizes, offsets, alignment, shapes, CRC) and fills
// *out with pointers into data. data must be 4-byte aligned (64 preferred).
Status parse_model(const void* data, size_t size, Model* out, Error* err);

// Writing: the exact file size for a config, then the file itself into a
// caller buffer of that size. params holds every tensor of the canonical
// layout back to back in canonical order (parameter_count() floats);
// codepoints must be strictly ascending.
size_t model_file_size(const Config& c);
Status write_model(const Config& c, const uint32_t* codepoints, const float* params,
                   void* out, size_t out_size, Error* err);

uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

}  // namespace causalgen
