// The CUDA trainer's mixer registry: one line per mixer, in code order, so
// that find() indexes it by code (lib/core/mixers/registry.cpp has the
// matching line). A new mixer adds its file beside this one and its line here.
#include <cuda_bf16.h>

#include <iterator>

#include "mixer.cuh"

namespace causalgen::cuda::mixers {

// The descriptors, each made in its mixer's file.
template <class A> CudaMixer<A> shift_mixer(Mixer code);  // shift.cu
template <class A> CudaMixer<A> attention_mixer();        // attention.cu
template <class A> CudaMixer<A> ema_mixer(Mixer code);    // ema.cu
template <class A> CudaMixer<A> mingru_mixer();           // mingru.cu

template <class A>
const CudaMixer<A>* find(Mixer code) {
  static const CudaMixer<A> registry[] = {
      shift_mixer<A>(Mixer::max), shift_mixer<A>(Mixer::min), shift_mixer<A>(Mixer::max_avg),
      shift_mixer<A>(Mixer::min_avg), attention_mixer<A>(), ema_mixer<A>(Mixer::ema),
      ema_mixer<A>(Mixer::max_ema), mingru_mixer<A>(),
  };
  const size_t i = static_cast<size_t>(code);
  return i < std::size(registry) && registry[i].code == code ? &registry[i] : nullptr;
}

template const CudaMixer<float>* find<float>(Mixer);
template const CudaMixer<__nv_bfloat16>* find<__nv_bfloat16>(Mixer);

}  // namespace causalgen::cuda::mixers
