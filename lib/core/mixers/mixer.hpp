// A mixer, described once: its name and file-format code, the tensors it owns
// in each layer, the size of its generation state, and its two core kernels
// (step: one position on the recurrent state; sequence: n positions at once).
// The trainers keep their own tables keyed by the same code (lib/train/model/
// mixers/, cuda/src/mixers/). docs/adding-a-mixer.md lists every file.
#pragma once
#include <cstddef>
#include <cstdint>

#include "causalgen/model_file.hpp"
#include "causalgen/tensors.hpp"

namespace causalgen::mixers {

// One position of one layer, on that layer's recurrent state.
struct StepArgs {
  const Model* model;
  uint32_t layer;
  const float* h;   // C: this position's LN1 output
  uint64_t t;       // its 0-based position in the current window (earlier positions seen)
  float* state;     // state_floats(config, layer) floats, zero after a reset
  float* scratch;   // step_scratch_floats(config) floats
  void* q_scratch;  // 16C bytes, free during the mixer: int8 products quantize their input here
  float* m;         // C: the mixer's output
};

// n positions of one layer (a sequence starting at position 0).
struct SequenceArgs {
  const Model* model;
  uint32_t layer;
  const float* H;   // n x C: LN1 outputs
  uint32_t n;
  float* scratch;   // sequence_scratch_floats(config, n) floats
  void* q_scratch;  // as in StepArgs
  float* M;         // n x C: outputs
};

struct MixerDesc {
  Mixer code;            // the byte in the model file's mixer table
  const char* name;      // as the command line and config files spell it
  bool window_limited;   // needs the last T positions (a cache bounded by T)
  const TensorRow* tensors;  // the tensors it owns in each of its layers, in file order
  uint32_t n_tensors;
  size_t (*state_floats)(const Config& c, uint32_t layer);
  size_t (*step_scratch_floats)(const Config& c);
  void (*step)(const StepArgs& a);
  size_t (*sequence_scratch_floats)(const Config& c, uint32_t n);
  void (*sequence)(const SequenceArgs& a);
  // Has a window W of its own (Config::window, the model file's window table).
  bool takes_window = false;
};

// The registry (registry.cpp): the descriptor for a code, null if unknown.
const MixerDesc* find(Mixer code);
const MixerDesc* find(const char* name);
uint32_t count();
const MixerDesc* at(uint32_t i);  // registry order; null past count()

// Floats carved in 16-byte units, so that each array a kernel carves from its
// scratch stays aligned.
inline size_t round4(size_t floats) { return (floats + 3) & ~size_t(3); }

}  // namespace causalgen::mixers
