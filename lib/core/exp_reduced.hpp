// e^x / 2^n for n = round(x / ln 2): the Cody-Waite reduction r = x - n ln2
// (ln2 split in two) and a degree-7 Taylor polynomial for e^r. Inline and
// branch-free so that the core's exp/tanh/GELU and the CPU trainer's GELU
// (lib/train/model/layers.cpp, vectorised loops) evaluate the same operations.
#pragma once

namespace causalgen::detail {

inline float exp_reduced(float x, int n) {
  const float fn = static_cast<float>(n);
  const float r = (x - fn * 0.693359375f) - fn * -2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p;
}

}  // namespace causalgen::detail
