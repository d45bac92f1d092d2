// The mixer registry: one line per mixer. A new mixer adds its descriptor
// file beside this one and its line here (docs/adding-a-mixer.md).
#include "mixer.hpp"

#include <cstring>

namespace causalgen::mixers {

namespace {
const MixerDesc* const kRegistry[] = {
    &kMax, &kMin, &kMaxAvg, &kMinAvg, &kAttention,
};
}  // namespace

const MixerDesc* find(Mixer code) {
  for (const MixerDesc* d : kRegistry)
    if (d->code == code) return d;
  return nullptr;
}

const MixerDesc* find(const char* name) {
  for (const MixerDesc* d : kRegistry)
    if (std::strcmp(d->name, name) == 0) return d;
  return nullptr;
}

}  // namespace causalgen::mixers
