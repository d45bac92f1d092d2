#include "convert.hpp"

#include <cstring>

#include "causalgen/causalgen.hpp"
#include "host/c_array.hpp"
#include "host/model_io.hpp"

namespace causalgen::host {

bool parse_dtype(const std::string& s, DType* out) {
  if (s == "f32") return *out = DType::f32, true;
  if (s == "int8") return *out = DType::int8, true;
  return false;
}

const char* dtype_name(DType d) {
  switch (d) {
    case DType::f32: return "f32";
    case DType::int8: return "int8";
  }
  return "?";
}

std::vector<float> model_parameters(const uint8_t* file, size_t n) {
  Model m{};
  Error e;
  if (parse_model(file, n, &m, &e) != Status::ok) return {};
  std::vector<float> p(m.config.parameter_count());
  size_t at = 0;
  for (uint32_t i = 0; i < tensor_count(m.config); ++i) {
    const TensorView t = tensor_view(m, i);
    tensor_values(t, p.data() + at);
    at += size_t(t.spec.rows) * t.spec.cols;
  }
  return p;
}

bool convert_model(const uint8_t* file, size_t n, DType dtype, uint32_t group,
                   std::vector<uint8_t>* out, std::string* error) {
  Model m{};
  Error e;
  if (parse_model(file, n, &m, &e) != Status::ok) {
    *error = e.message;
    return false;
  }
  const std::vector<float> params = model_parameters(file, n);
  std::vector<uint32_t> cps(m.config.vocab_size);
  for (uint32_t i = 0; i < m.config.vocab_size; ++i) cps[i] = m.vocab.codepoint(i);
  WriteOptions o;
  o.matrices = dtype;
  o.group_size = group;
  out->assign(model_file_size(m.config, o), 0);
  if (write_model(m.config, cps.data(), params.data(), o, out->data(), out->size(), &e) !=
      Status::ok) {
    *error = e.message;
    return false;
  }
  return true;
}

std::vector<NamedPath> output_paths(const OutputOptions& o) {
  std::vector<NamedPath> out = {{"--out", o.out}};
  if (!o.header.empty()) out.push_back({"--header", o.header});
  return out;
}

bool write_output(const uint8_t* file, size_t n, const OutputOptions& o, size_t* bytes_written,
                  std::string* error) {
  std::vector<uint8_t> converted;
  const uint8_t* bytes = file;
  size_t size = n;
  if (o.dtype != "keep") {
    DType dt;
    if (!parse_dtype(o.dtype, &dt)) {
      *error = "unknown dtype '" + o.dtype + "' (f32, int8)";
      return false;
    }
    if (!convert_model(file, n, dt, o.group, &converted, error)) return false;
    bytes = converted.data();
    size = converted.size();
  }
  if (o.c_array) {
    if (!write_c_array(o.out, o.header, bytes, size, o.name, o.source_note, error)) return false;
  } else {
    if (!o.header.empty()) {
      *error = "--header needs --c-array";
      return false;
    }
    if (!write_file_atomic(o.out, bytes, size, error)) return false;
  }
  if (bytes_written) *bytes_written = size;
  return true;
}

}  // namespace causalgen::host
