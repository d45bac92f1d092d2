// Shared CUDA helpers: error checks, the activation type, a counter-based RNG.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace causalgen::cuda {

#define CG_CUDA_CHECK(expr)                                                              \
  do {                                                                                   \
    cudaError_t e_ = (expr);                                                             \
    if (e_ != cudaSuccess)                                                               \
      throw std::runtime_error(std::string("CUDA error: ") + cudaGetErrorString(e_) +     \
                               " at " __FILE__ ":" + std::to_string(__LINE__));          \
  } while (0)

// After every launch: a bad configuration shows up here, not steps later.
#define CG_LAUNCH_CHECK() CG_CUDA_CHECK(cudaGetLastError())

inline unsigned ceil_div(size_t a, size_t b) { return static_cast<unsigned>((a + b - 1) / b); }

// Conversions for the activation types (float or bf16) used in templates;
// host too, so that a kernel's per-thread body can run on the host in tests.
__host__ __device__ __forceinline__ float to_f32(float x) { return x; }
__host__ __device__ __forceinline__ float to_f32(__nv_bfloat16 x) { return __bfloat162float(x); }
template <class T> __host__ __device__ __forceinline__ T from_f32(float x);
template <> __host__ __device__ __forceinline__ float from_f32<float>(float x) { return x; }
template <> __host__ __device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

// Dropout keep decision from a hash of (seed, salt, index): the same on every
// run and recomputable in the backward pass, so no mask is stored.
__device__ __forceinline__ uint32_t hash_u32(uint64_t seed, uint64_t salt, uint64_t i) {
  uint64_t z = seed ^ (salt * 0x9E3779B97F4A7C15ULL) ^ (i * 0xD1B54A32D192ED03ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<uint32_t>(z >> 32);
}
// Multiplier for element i: 0 (dropped) or 1/(1-p) (kept).
__device__ __forceinline__ float dropout_scale(float p, uint64_t seed, uint64_t salt, uint64_t i) {
  if (p <= 0.0f) return 1.0f;
  const float u = (hash_u32(seed, salt, i) >> 8) * (1.0f / 16777216.0f);
  return u < p ? 0.0f : 1.0f / (1.0f - p);
}

// A device allocation that frees itself.
template <class T>
struct DeviceBuffer {
  T* ptr = nullptr;
  size_t count = 0;
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) { resize(n); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { if (ptr) cudaFree(ptr); }
  void resize(size_t n) {
    if (ptr) cudaFree(ptr);
    ptr = nullptr;
    count = n;
    if (n) CG_CUDA_CHECK(cudaMalloc(&ptr, n * sizeof(T)));
  }
};

}  // namespace causalgen::cuda
