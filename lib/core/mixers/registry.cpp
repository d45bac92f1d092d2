// The mixer registry: one line per mixer. A new mixer adds its descriptor
// file beside this one and its line here (docs/adding-a-mixer.md).
#include "mixer.hpp"

#include <cstring>

namespace causalgen::mixers {

// The descriptors, each defined in its mixer's file.
extern const MixerDesc kMax, kMin, kMaxAvg, kMinAvg;  // shift.cpp
extern const MixerDesc kAttention;                    // attention.cpp
extern const MixerDesc kEma, kMaxEma;                 // ema.cpp
extern const MixerDesc kMinGru;                       // mingru.cpp
extern const MixerDesc kLocal;                        // local.cpp

namespace {
// In code order: find() indexes it by code.
const MixerDesc* const kRegistry[] = {
    &kMax, &kMin, &kMaxAvg, &kMinAvg, &kAttention, &kEma, &kMaxEma, &kMinGru, &kLocal,
};
}  // namespace

uint32_t count() { return sizeof kRegistry / sizeof kRegistry[0]; }
const MixerDesc* at(uint32_t i) { return i < count() ? kRegistry[i] : nullptr; }

const MixerDesc* find(Mixer code) {
  const uint32_t i = static_cast<uint32_t>(code);
  return i < count() && kRegistry[i]->code == code ? kRegistry[i] : nullptr;
}

const MixerDesc* find(const char* name) {
  for (const MixerDesc* d : kRegistry)
    if (std::strcmp(d->name, name) == 0) return d;
  return nullptr;
}

}  // namespace causalgen::mixers
