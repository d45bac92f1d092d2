// Random numbers for training: a small generator whose whole state is four
// u64 words (so a checkpoint can store it), and a stateless counter hash for
// dropout masks (the backward pass regenerates the forward's mask from its
// key, so nothing is stored and no thread ordering can change it).
#pragma once
#include <cmath>
#include <cstdint>

namespace causalgen::train {

// splitmix64 finaliser: a bijective 64-bit mix.
inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// xoshiro256** (Blackman & Vigna), seeded through splitmix64.
struct Rng {
  uint64_t s[4] = {1, 2, 3, 4};

  void seed(uint64_t seed, uint64_t stream = 0) {
    uint64_t z = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (auto& w : s) w = mix64(z += 0x9e3779b97f4a7c15ULL);
  }
  uint64_t next() {
    const uint64_t r = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
  }
  // Uniform integer in [0, n), n >= 1 (multiply-shift; bias < n / 2^64).
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  // Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Standard normal (Box-Muller; uses two draws, keeps no cached value).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
};

// Key of one dropout site at one step: mask bit i is keep(key, i).
inline uint64_t dropout_key(uint64_t seed, uint64_t step, uint32_t site) {
  return mix64(mix64(seed ^ 0x5eed0d40u) ^ mix64(step * 0x100000001b3ULL + site));
}
// Uniform in [0, 1) from (key, index): 24 bits, stateless.
inline float hash_uniform(uint64_t key, uint64_t index) {
  return static_cast<float>(mix64(key ^ (index * 0x9e3779b97f4a7c15ULL)) >> 40) * 0x1.0p-24f;
}

}  // namespace causalgen::train
