// Converting model files between weight dtypes (f32 <-> int8) on the host.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "causalgen/model_file.hpp"
#include "host/same_file.hpp"

namespace causalgen::host {

// Weights per scale along a row for int8 matrices unless told otherwise (the
// shipped tiny model: val loss 1.7531 f32, 1.7529 / 1.7531 / 1.7530 int8 with
// groups of 32 / 64 / 128; 64 halves the Cortex-M4 per-group cost of 32).
constexpr uint32_t kDefaultGroupSize = 64;

// "f32" or "int8".
bool parse_dtype(const std::string& s, DType* out);
const char* dtype_name(DType d);

// Every parameter of a valid model file in canonical order, as f32 (int8
// tensors dequantized: value * scale of its group).
std::vector<float> model_parameters(const uint8_t* file, size_t n);

// Rewrites a valid model file with its weight matrices as dtype (vectors stay
// f32). From int8 back to f32 gives the dequantized values.
bool convert_model(const uint8_t* file, size_t n, DType dtype, uint32_t group,
                   std::vector<uint8_t>* out, std::string* error);

// What `convert` and `export` write: the model as dtype ("keep" leaves the
// file as it is), as a model file or as C source (c_array; header optional).
struct OutputOptions {
  std::string out;
  std::string dtype = "keep";
  uint32_t group = kDefaultGroupSize;
  bool c_array = false;
  std::string name = "cg_model_data";
  std::string header;
  std::string source_note;  // for the C source's comment (the input's name)
};
// The files write_output writes, by flag (--out, and --header when given).
std::vector<NamedPath> output_paths(const OutputOptions& o);
// Converts (when asked) and writes atomically; *bytes_written: the model's size.
bool write_output(const uint8_t* file, size_t n, const OutputOptions& o, size_t* bytes_written,
                  std::string* error);

}  // namespace causalgen::host
