#include "train/export.hpp"

#include <cstring>

#include "host/model_io.hpp"
#include "train/params.hpp"

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
  const ParamLayout lay(c);
  params->assign(lay.total, 0.0f);
  auto put = [&](size_t off, const float* src, size_t n) {
    if (off != kAbsent && src) std::memcpy(params->data() + off, src, n * sizeof(float));
  };
  const size_t C = c.n_embd;
  put(lay.wte, m.wte, size_t(c.vocab_size) * C);
  put(lay.wpe, m.wpe, size_t(c.block_size) * C);
  put(lay.lnf_w, m.lnf_w, C);
  put(lay.lnf_b, m.lnf_b, C);
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    const LayerOffsets& o = lay.layers[l];
    const LayerWeights& w = m.layers[l];
    put(o.ln1_w, w.ln1_w, C);
    put(o.ln1_b, w.ln1_b, C);
    put(o.wqkv, w.wqkv, 3 * C * C);
    put(o.bqkv, w.bqkv, 3 * C);
    put(o.wo, w.wo, C * C);
    put(o.bo, w.bo, C);
    put(o.ln2_w, w.ln2_w, C);
    put(o.ln2_b, w.ln2_b, C);
    put(o.fc1_w, w.fc1_w, 4 * C * C);
    put(o.fc1_b, w.fc1_b, 4 * C);
    put(o.fc2_w, w.fc2_w, 4 * C * C);
    put(o.fc2_b, w.fc2_b, C);
  }
  vocab->resize(c.vocab_size);
  for (uint32_t i = 0; i < c.vocab_size; ++i) (*vocab)[i] = m.vocab.codepoint(i);
  return true;
}

}  // namespace causalgen::train
