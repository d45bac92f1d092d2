// The CPU trainer's mixer registry: one line per mixer, keyed by the core's
// code (lib/core/mixers/registry.cpp has the matching line).
#include <stdexcept>
#include <string>

#include "train/model/mixers/mixer.hpp"

namespace causalgen::train::mixers {

template <class T> TrainMixer<T> shift_mixer(Mixer code);  // shift.cpp
template <class T> TrainMixer<T> attention_mixer();        // attention.cpp
template <class T> TrainMixer<T> ema_mixer(Mixer code);    // ema.cpp
template <class T> TrainMixer<T> mingru_mixer();           // mingru.cpp
template <class T> TrainMixer<T> local_mixer();            // local.cpp

template <class T>
const TrainMixer<T>& find(Mixer code) {
  static const TrainMixer<T> registry[] = {
      shift_mixer<T>(Mixer::max), shift_mixer<T>(Mixer::min), shift_mixer<T>(Mixer::max_avg),
      shift_mixer<T>(Mixer::min_avg), attention_mixer<T>(), ema_mixer<T>(Mixer::ema),
      ema_mixer<T>(Mixer::max_ema), mingru_mixer<T>(), local_mixer<T>(),
  };
  for (const TrainMixer<T>& m : registry)
    if (m.code == code) return m;
  throw std::invalid_argument("the CPU trainer has no mixer with code " +
                              std::to_string(static_cast<unsigned>(code)));
}

template const TrainMixer<float>& find<float>(Mixer);
template const TrainMixer<double>& find<double>(Mixer);

}  // namespace causalgen::train::mixers
