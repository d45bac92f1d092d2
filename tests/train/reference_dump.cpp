// What the CPU trainer computes in its first steps, written out for an
// independent reference (tests/train/torch_reference.py builds a nanoGPT
// model in PyTorch from it): the initial parameters, the learning rate of
// every step, and per step the batch, the loss, the gradients (before
// clipping), the dropout masks and the parameters after clipping and AdamW.
//
//   reference_dump OUT STEPS [--data FILE] [KEY=VALUE ...]
//
// KEY=VALUE are rows of the hyperparameter table (base=tiny mixer=attention
// dropout=0.2 threads=2 ...). Without --data the text is 30,000 seeded random
// characters of a 65-letter alphabet. The batches, schedule and AdamW come
// from the trainer's own functions, stepped as Trainer::step steps them.
//
// OUT: one line of JSON (settings, tensors, then the arrays' names, types
// and counts in the order they follow), then the arrays, little-endian.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "train/loop/cpu_backend.hpp"
#include "train/loop/trainer.hpp"
#include "train/model/gemm.hpp"
#include "train/model/rng.hpp"

using namespace causalgen;
using namespace causalgen::train;

namespace {

int fail(const std::string& m) {
  std::fprintf(stderr, "reference_dump: %s\n", m.c_str());
  return 1;
}

// The arrays, in the order they are written.
struct Arrays {
  std::string index;  // JSON list of {name, type, count}
  std::vector<char> bytes;
  template <class T>
  void add(const std::string& name, const char* type, const T* p, size_t n) {
    index += std::string(index.empty() ? "" : ",") + "{\"name\":\"" + name + "\",\"type\":\"" +
             type + "\",\"count\":" + std::to_string(n) + "}";
    const char* b = reinterpret_cast<const char*>(p);
    bytes.insert(bytes.end(), b, b + n * sizeof(T));
  }
};

void synthetic_text(TextData* d) {
  Rng rng;
  rng.seed(7, 0x7e47);
  for (uint32_t i = 0; i < 65; ++i) d->vocab.push_back(32 + i);
  std::vector<uint32_t> ids(30000);
  for (auto& t : ids) t = uint32_t(rng.below(65));
  const size_t n_train = ids.size() * 9 / 10;
  d->train.assign(ids.begin(), ids.begin() + long(n_train));
  d->val.assign(ids.begin() + long(n_train), ids.end());
}

// The keep masks of one step (1 = kept), by site, each indexed as the whole
// batch's tensor: embeddings and the two residual branches [B,T,C], the
// attention weights [B,H,T,T] of each attention layer.
void add_masks(const TrainConfig& c, uint64_t step, Arrays* out) {
  const Config& m = c.model;
  const size_t B = c.batch_size, T = m.block_size, C = m.n_embd, H = m.n_head;
  auto mask = [&](const std::string& name, uint32_t site, size_t n) {
    const uint64_t key = dropout_key(c.seed, step, site);
    std::vector<uint8_t> keep(n);
    for (size_t i = 0; i < n; ++i) keep[i] = hash_uniform(key, i) >= c.dropout ? 1 : 0;
    out->add("step" + std::to_string(step) + ".mask." + name, "u8", keep.data(), n);
  };
  mask("emb", 0, B * T * C);
  for (uint32_t l = 0; l < m.n_layer; ++l) {
    const std::string p = "l" + std::to_string(l) + ".";
    mask(p + "proj", 1 + 3 * l, B * T * C);
    mask(p + "mlp", 2 + 3 * l, B * T * C);
    if (m.mixers[l] == Mixer::attention) mask(p + "att", 3 + 3 * l, B * H * T * T);
  }
}

std::string tensors_json(const ParamLayout& lay) {
  std::string s;
  for (const TensorRange& t : lay.tensors)
    s += std::string(s.empty() ? "" : ",") + "{\"name\":\"" + t.name + "\",\"offset\":" +
         std::to_string(t.offset) + ",\"rows\":" + std::to_string(t.rows) + ",\"cols\":" +
         std::to_string(t.cols) + ",\"decay\":" + (t.decay() ? "true" : "false") + "}";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return fail("usage: reference_dump OUT STEPS [--data FILE] [KEY=VALUE ...]");
  const std::string out_path = argv[1];
  const uint64_t steps = std::strtoull(argv[2], nullptr, 10);
  std::string data_path, err;
  TrainOverrides o;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) {
      data_path = argv[++i];
      continue;
    }
    const size_t eq = a.find('=');
    const Hyperparam* p = eq == std::string::npos ? nullptr : find_hyperparam(a.substr(0, eq));
    HyperValue v;
    if (!p) return fail("not a KEY=VALUE of the hyperparameter table: " + a);
    if (!parse_hyperparam(*p, a.substr(eq + 1), &v, &err)) return fail(p->key + (" " + err));
    o.set(p->key, v);
  }
  TrainConfig c;
  if (!resolve_config(o, &c, &err)) return fail(err);
  TextData data;
  if (data_path.empty()) synthetic_text(&data);
  else if (!load_text_data(data_path, &data, &err)) return fail(err);
  set_threads(c.threads ? int(c.threads) : default_threads());

  TrainState s;
  init_state(c, data, &s);
  c = s.config;  // with the vocabulary's size
  const ParamLayout lay(c.model);
  const size_t P = lay.total, BT = size_t(c.batch_size) * c.model.block_size;
  CpuBackend backend(backend_options(c), s.params.data(), s.m.data(), s.v.data());

  Arrays arrays;
  arrays.add("params.init", "f32", s.params.data(), P);
  std::vector<double> lr(c.max_iters);
  for (uint64_t i = 0; i < c.max_iters; ++i) lr[i] = schedule_of(c).at(i);
  arrays.add("lr", "f64", lr.data(), lr.size());
  std::vector<uint32_t> x(BT), y(BT);
  std::vector<float> grads(P);
  std::string losses;
  for (uint64_t step = 0; step < steps; ++step) {  // as Trainer::step
    const std::string k = "step" + std::to_string(step) + ".";
    sample_batch(data.train, c.batch_size, c.model.block_size, s.batch_rng, x.data(), y.data());
    backend.forward_backward(x.data(), y.data(), step);
    backend.get_gradients(grads.data());
    backend.optimizer_step(OptimizerStep{lr[step], step + 1, adamw_of(c), c.grad_clip});
    char b[64];
    std::snprintf(b, sizeof b, "%s%.17g", losses.empty() ? "" : ",", backend.loss());
    losses += b;
    arrays.add(k + "x", "u32", x.data(), BT);
    arrays.add(k + "y", "u32", y.data(), BT);
    arrays.add(k + "grads", "f32", grads.data(), P);
    if (c.dropout > 0) add_masks(c, step, &arrays);
    arrays.add(k + "params", "f32", s.params.data(), P);
  }
  std::string cfg = config_json(c);
  for (char& ch : cfg)
    if (ch == '\n') ch = ' ';
  const std::string header = "{\"config\":" + cfg + ",\"vocab_size\":" +
                             std::to_string(c.model.vocab_size) + ",\"threads\":" +
                             std::to_string(threads()) + ",\"tensors\":[" + tensors_json(lay) +
                             "],\"losses\":[" + losses + "],\"arrays\":[" + arrays.index + "]}\n";
  FILE* f = std::fopen(out_path.c_str(), "wb");
  if (!f) return fail("cannot write " + out_path);
  const bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
                  std::fwrite(arrays.bytes.data(), 1, arrays.bytes.size(), f) == arrays.bytes.size();
  if (std::fclose(f) != 0 || !ok) return fail("cannot write " + out_path);
  return 0;
}
