// Model configuration: the shape of the network and a mixer per layer
// (DESIGN.md §1). Plain data; validated by validate_config().
#pragma once
#include <cstdint>
#include "causalgen/status.hpp"

namespace causalgen {

constexpr uint32_t kMaxLayers = 64;
constexpr uint32_t kMaxVocab = 1u << 16;
constexpr uint32_t kMaxEmbd = 8192;
constexpr uint32_t kMaxBlock = 1u << 16;

// A layer's token mixer: the value is its code in the model file. Each one is
// described once in the core's mixer registry (lib/core/mixers/registry.cpp).
enum class Mixer : uint8_t {
  max = 0, min = 1, max_avg = 2, min_avg = 3, attention = 4,
  ema = 5, max_ema = 6, mingru = 7, local = 8,
};

const char* mixer_name(Mixer m);                       // "max", "max-avg", ...; "?" if unknown
bool parse_mixer(const char* s, Mixer* out);           // inverse of mixer_name
// The registered mixers, in registry order (for help texts and listings).
uint32_t mixer_count();
Mixer mixer_at(uint32_t i);
// Whether the core's registry has a mixer with this code.
bool mixer_known(Mixer m);
// Whether the mixer needs the last T positions (its state is a window cache).
bool mixer_window_limited(Mixer m);
// Whether the mixer has a window W of its own (Config::window; the model
// file's window table, docs/model-format.md §2).
bool mixer_takes_window(Mixer m);
// The shift family's running-mean forms (their kernels in every backend).
inline bool mixer_uses_avg(Mixer m) { return m == Mixer::max_avg || m == Mixer::min_avg; }

struct Config {
  uint32_t vocab_size = 0;  // V
  uint32_t block_size = 0;  // T, the training window
  uint32_t n_layer = 0;     // L
  uint32_t n_embd = 0;      // C
  uint32_t n_head = 1;      // H (attention layers only; C % H == 0 when any)
  bool bias = true;         // bias in Linear and LayerNorm
  bool pos_emb = false;     // learned position embedding wpe (T x C)
  Mixer mixers[kMaxLayers] = {};
  // Per layer: the window W (1..T) of a mixer that takes one (`local`: the
  // positions it attends to); ignored, and stored as 0, for the others.
  uint32_t window[kMaxLayers] = {};

  bool has_attention() const;
  // Any layer that uses n_head (attention or local).
  bool has_heads() const;
  // A model with position embedding or attention sees at most T positions at
  // once; generation past T re-encodes the last T characters (nanoGPT's crop).
  bool window_limited() const;
  uint64_t parameter_count() const;
};

Status validate_config(const Config& c, Error* err);

// The static multi-scale EMA of the ema mixers (docs/model-format.md §6.5):
// channel i of a layer moves toward h by the weight 2^-k per position, k =
// ema_rate_log2(c, i), from 1 (half-life one position) to ema_scales(c)
// (half-life about 2.8 T), the channels split into that many equal groups.
uint32_t ema_scales(const Config& c);
uint32_t ema_rate_log2(const Config& c, uint32_t channel);

// Rotary position embedding of the `local` mixer (docs/model-format.md §6.7):
// for the absolute position `position` (0-based, since the reset), the cosine
// and sine of the rotation of each of the head's floor(head_size / 2) channel
// pairs, pair j turning by base^(-2j / head_size) radians per position (base
// 10000). The phase is kept in exact 64-bit fixed point, so position 10^12
// is as accurate as position 1 and the angle between two positions depends
// only on their distance.
void rope_cos_sin(uint64_t position, uint32_t head_size, float* cos, float* sin);

// The named configurations of DESIGN.md (shape only; vocab_size left 0).
// name: "tiny" (4x128, T=64) or "small" (6x384, T=256). All layers get `mixer`.
bool named_config(const char* name, Mixer mixer, Config* out);

}  // namespace causalgen
