#include "train/io/export.hpp"

#include <cstring>

#include "causalgen/model_tensors.hpp"
#include "host/model_io.hpp"

namespace causalgen::train {

bool model_bytes(const TrainState& s, std::vector<uint8_t>* out, std::string* err) {
  const Config& c = s.config.model;
  out->assign(model_file_size(c), 0);
  Error e;
  if (write_model(c, s.vocab.data(), s.params.data(), out->data(), out->size(), &e) != Status::ok) {
    *err = std::string("export: ") + status_name(e.status) + ": " + e.message;
    return false;
  }
  return true;
}

bool export_model(const TrainState& s, const std::string& path, size_t* bytes_written,
                  std::string* err) {
  std::vector<uint8_t> bytes;
  if (!model_bytes(s, &bytes, err)) return false;
  if (!host::write_file_atomic(path, bytes.data(), bytes.size(), err)) return false;
  if (bytes_written) *bytes_written = bytes.size();
  return true;
}

bool params_from_model(const Model& m, std::vector<float>* params, std::vector<uint32_t>* vocab,
                       std::string* err) {
  const Config& c = m.config;
  if (m.quantized()) {
    *err = "an int8 model: its weights are not f32 (the core's forward evaluates it)";
    return false;
  }
  params->assign(c.parameter_count(), 0.0f);
  for (uint32_t i = 0, n = tensor_count(c); i < n; ++i) {
    const TensorView t = tensor_view(m, i);
    tensor_values(t, params->data() + t.spec.offset);
  }
  vocab->resize(c.vocab_size);
  for (uint32_t i = 0; i < c.vocab_size; ++i) (*vocab)[i] = m.vocab.codepoint(i);
  return true;
}

}  // namespace causalgen::train
