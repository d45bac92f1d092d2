// Shared by the per-kernel tests (test_kernels_*.cpp): device arrays, the
// activation types on the host, seeded random inputs, and one comparison
// with a stated tolerance. Host-only C++: the kernels are reached through
// their launchers (cuda/src/layers.cuh).
#pragma once
#include <catch2/catch.hpp>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace kernel_test {

inline void check(cudaError_t e, const char* what) {
  INFO(what << ": " << cudaGetErrorString(e));
  REQUIRE(e == cudaSuccess);
}

// Waits for the launches so far and fails on any error they raised.
inline void wait_for_kernels() { check(cudaDeviceSynchronize(), "kernel"); }

// A device copy of a host vector (or n elements), freed on scope exit.
template <class T>
struct Device {
  T* ptr = nullptr;
  size_t n = 0;
  explicit Device(size_t count) : n(count) {
    check(cudaMalloc(&ptr, (n ? n : 1) * sizeof(T)), "cudaMalloc");
    check(cudaMemset(ptr, 0, (n ? n : 1) * sizeof(T)), "cudaMemset");
  }
  explicit Device(const std::vector<T>& h) : Device(h.size()) { put(h); }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  ~Device() { cudaFree(ptr); }
  void put(const std::vector<T>& h) {
    REQUIRE(h.size() == n);
    check(cudaMemcpy(ptr, h.data(), n * sizeof(T), cudaMemcpyHostToDevice), "upload");
  }
  std::vector<T> get() const {
    std::vector<T> h(n);
    check(cudaMemcpy(h.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost), "download");
    return h;
  }
  // The pointer as the kernel's type (bf16 arrays are uint16_t on the host).
  template <class U>
  U* as() const { return reinterpret_cast<U*>(ptr); }
};

// bf16 by hand, so that the host side needs no CUDA device code: the upper
// half of the f32 bits, rounded to nearest even (as __float2bfloat16_rn for
// the finite values used here).
inline uint16_t bf16_from_f32(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
inline float f32_from_bf16(uint16_t h) {
  const uint32_t u = uint32_t(h) << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// |got - want| <= abs + rel * |want|, element by element.
struct Tolerance {
  double abs, rel;
};

// The activation type A (float or __nv_bfloat16) on the host: its storage,
// conversions, and the tolerance for a value that the kernel rounds to A
// (bf16 keeps 8 significant bits: rounding moves a value by half an ulp,
// at most 2^-8 of it).
template <class A>
struct Act;
template <>
struct Act<float> {
  using Host = float;
  static constexpr const char* name = "f32";
  static float store(float x) { return x; }
  static float load(float h) { return h; }
  static constexpr Tolerance rounding{0.0, 0.0};
};
template <>
struct Act<__nv_bfloat16> {
  using Host = uint16_t;
  static constexpr const char* name = "bf16";
  static uint16_t store(float x) { return bf16_from_f32(x); }
  static float load(uint16_t h) { return f32_from_bf16(h); }
  static constexpr Tolerance rounding{1e-6, 1.0 / 256};
};

// x (f32) stored as A, and back to f32: the value the kernel sees.
template <class A>
float round_to(float x) {
  return Act<A>::load(Act<A>::store(x));
}
template <class A>
std::vector<typename Act<A>::Host> to_act(const std::vector<float>& x) {
  std::vector<typename Act<A>::Host> h(x.size());
  for (size_t i = 0; i < x.size(); ++i) h[i] = Act<A>::store(x[i]);
  return h;
}
template <class A>
std::vector<float> from_act(const std::vector<typename Act<A>::Host>& h) {
  std::vector<float> x(h.size());
  for (size_t i = 0; i < h.size(); ++i) x[i] = Act<A>::load(h[i]);
  return x;
}
// The values as the kernel of type A reads them (rounded to A, back in f32).
template <class A>
std::vector<float> rounded(const std::vector<float>& x) {
  return from_act<A>(to_act<A>(x));
}

// Uniform in [lo, hi), from a fixed seed: the same inputs on every run.
inline std::vector<float> uniform(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> x(n);
  for (auto& v : x) v = d(rng);
  return x;
}
inline std::vector<uint32_t> tokens(size_t n, uint32_t V, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<uint32_t> d(0, V - 1);
  std::vector<uint32_t> t(n);
  for (auto& v : t) v = d(rng);
  return t;
}
inline std::vector<double> to_double(const std::vector<float>& x) {
  return std::vector<double>(x.begin(), x.end());
}

// Tolerance a + b: a reference error budget plus A's rounding.
inline Tolerance operator+(Tolerance a, Tolerance b) { return {a.abs + b.abs, a.rel + b.rel}; }

// Every got[i] within tol of want[i]; on failure names the first bad index,
// how many are bad and the largest error.
template <class G, class W>
void require_close(const char* what, const std::vector<G>& got, const std::vector<W>& want,
                   Tolerance tol) {
  REQUIRE(got.size() == want.size());
  size_t bad = 0, first = 0;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = double(got[i]), w = double(want[i]);
    const double err = std::fabs(g - w);
    if (!(err <= tol.abs + tol.rel * std::fabs(w))) {  // NaN fails too
      if (!bad) first = i;
      ++bad;
    }
    if (err > worst || err != err) worst = err;
  }
  INFO(what << ": " << bad << " of " << got.size() << " outside abs " << tol.abs << " + rel "
            << tol.rel << "; first at " << first << " (got " << (bad ? double(got[first]) : 0.0)
            << ", want " << (bad ? double(want[first]) : 0.0) << "); largest error " << worst);
  CHECK(bad == 0);
}

}  // namespace kernel_test
