#include "convert.hpp"

#include <cstring>

#include "causalgen/causalgen.hpp"
#include "host/c_array.hpp"
#include "host/model_io.hpp"

namespace causalgen::host {

namespace {
uint32_t rd32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint64_t rd64(const uint8_t* p) { return rd32(p) | uint64_t(rd32(p + 4)) << 32; }
}  // namespace

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
  const Config& c = m.config;
  std::vector<float> p;
  p.reserve(c.parameter_count());
  const uint32_t dir = rd32(file + 56), nt = tensor_count(c);
  for (uint32_t i = 0; i < nt; ++i) {
    const uint8_t* entry = file + dir + uint64_t(i) * kDirEntrySize;
    const uint64_t off = rd64(entry + 48);
    const uint32_t rows = rd32(entry + 36), cols = rd32(entry + 40), group = rd32(entry + 44);
    const size_t count = size_t(rows) * cols;
    const size_t at = p.size();
    p.resize(at + count);
    if (rd32(entry + 32) == uint32_t(DType::int8)) {
      const auto* q = reinterpret_cast<const int8_t*>(file + off);
      const uint8_t* scales = file + off + int8_scales_offset(rows, cols);
      for (uint32_t r = 0; r < rows; ++r)
        for (uint32_t c = 0; c < cols; ++c) {
          float s;
          std::memcpy(&s, scales + (size_t(c / group) * rows + r) * 4, 4);
          p[at + size_t(r) * cols + c] = float(q[size_t(r) * cols + c]) * s;
        }
    } else {
      std::memcpy(p.data() + at, file + off, count * sizeof(float));
    }
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
