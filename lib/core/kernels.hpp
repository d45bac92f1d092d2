// The f32 reference kernels (DESIGN.md §4). Every reduction has a fixed order:
// 8 lane-wise partial sums (element i goes to lane i % 8), combined as
// ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)). Built with -ffp-contract=off, so each
// multiply and add rounds separately and x86-64, wasm32 and Cortex-M4F produce
// the same bits. exp and tanh are the project's own, for the same reason.
#pragma once
#include <cstdint>

namespace causalgen::kernels {

float exp_f32(float x);
float tanh_f32(float x);
float gelu(float x);  // tanh approximation, as nanoGPT

float sum(const float* x, uint32_t n);
float dot(const float* a, const float* b, uint32_t n);

// out[r] = dot(W[r, :], x) + (b ? b[r] : 0) for r < rows; W is rows x cols.
void matvec(float* out, const float* W, const float* b, const float* x, uint32_t rows,
            uint32_t cols);

// LayerNorm with eps 1e-5 and biased variance; b may be null.
void layernorm(float* out, const float* x, const float* w, const float* b, uint32_t n);

}  // namespace causalgen::kernels
