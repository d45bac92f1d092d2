#include "causalgen/config.hpp"

#include <cstring>

#include "causalgen/tensors.hpp"
#include "mixers/mixer.hpp"

namespace causalgen {

const char* mixer_name(Mixer m) {
  const mixers::MixerDesc* d = mixers::find(m);
  return d ? d->name : "?";
}

bool parse_mixer(const char* s, Mixer* out) {
  const mixers::MixerDesc* d = mixers::find(s);
  if (d) *out = d->code;
  return d != nullptr;
}

uint32_t mixer_count() { return mixers::count(); }
bool mixer_known(Mixer m) { return mixers::find(m) != nullptr; }
Mixer mixer_at(uint32_t i) { return i < mixers::count() ? mixers::at(i)->code : Mixer::max; }

bool mixer_window_limited(Mixer m) {
  const mixers::MixerDesc* d = mixers::find(m);
  return d && d->window_limited;
}

bool mixer_takes_window(Mixer m) {
  const mixers::MixerDesc* d = mixers::find(m);
  return d && d->takes_window;
}

bool Config::has_attention() const {
  for (uint32_t l = 0; l < n_layer && l < kMaxLayers; ++l)
    if (mixers[l] == Mixer::attention) return true;
  return false;
}

bool Config::has_heads() const {
  for (uint32_t l = 0; l < n_layer && l < kMaxLayers; ++l)
    if (mixers[l] == Mixer::attention || mixers[l] == Mixer::local) return true;
  return false;
}

bool Config::window_limited() const {
  if (pos_emb) return true;
  for (uint32_t l = 0; l < n_layer && l < kMaxLayers; ++l)
    if (mixer_window_limited(mixers[l])) return true;
  return false;
}

uint64_t Config::parameter_count() const {
  const uint32_t n = tensor_count(*this);
  if (n == 0) return 0;
  const TensorSpec last = tensor_spec(*this, n - 1);
  return last.offset + last.size();
}

Status validate_config(const Config& c, Error* err) {
  if (c.vocab_size < 1 || c.vocab_size > kMaxVocab)
    return fail(err, Status::bad_config, "vocab_size %u outside 1..%u", c.vocab_size, kMaxVocab);
  if (c.block_size < 1 || c.block_size > kMaxBlock)
    return fail(err, Status::bad_config, "block_size %u outside 1..%u", c.block_size, kMaxBlock);
  if (c.n_layer < 1 || c.n_layer > kMaxLayers)
    return fail(err, Status::bad_config, "n_layer %u outside 1..%u", c.n_layer, kMaxLayers);
  if (c.n_embd < 1 || c.n_embd > kMaxEmbd)
    return fail(err, Status::bad_config, "n_embd %u outside 1..%u", c.n_embd, kMaxEmbd);
  for (uint32_t l = 0; l < c.n_layer; ++l)
    if (!mixers::find(c.mixers[l]))
      return fail(err, Status::bad_config, "layer %u has unknown mixer code %u", l,
                  static_cast<uint32_t>(c.mixers[l]));
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    if (mixer_takes_window(c.mixers[l]) && (c.window[l] < 1 || c.window[l] > c.block_size))
      return fail(err, Status::bad_config, "layer %u (%s): window %u outside 1..%u (block_size)", l,
                  mixer_name(c.mixers[l]), c.window[l], c.block_size);
  }
  if (c.has_heads()) {
    if (c.n_head < 1 || c.n_head > c.n_embd || c.n_embd % c.n_head != 0)
      return fail(err, Status::bad_config, "n_head %u does not divide n_embd %u", c.n_head,
                  c.n_embd);
  }
  return Status::ok;
}

bool named_config(const char* name, Mixer mixer, Config* out) {
  Config c;
  if (std::strcmp(name, "tiny") == 0) {
    c.n_layer = 4, c.n_embd = 128, c.n_head = 4, c.block_size = 64;
  } else if (std::strcmp(name, "small") == 0) {
    c.n_layer = 6, c.n_embd = 384, c.n_head = 6, c.block_size = 256;
  } else {
    return false;
  }
  for (uint32_t l = 0; l < c.n_layer; ++l) c.mixers[l] = mixer, c.window[l] = c.block_size;
  c.bias = true;
  // Attention needs positions; shift mixers get order from the shift itself and
  // then generate without a window limit.
  c.pos_emb = mixer == Mixer::attention;
  *out = c;
  return true;
}

}  // namespace causalgen
