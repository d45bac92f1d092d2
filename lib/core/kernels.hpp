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
float gelu(float x);  // tanh approximation (GPT-2, llm.c; nanoGPT uses erf: docs/trainer.md)
// x[i] = gelu(x[i]) for i < n, the same bits (vectorized where the target has SIMD).
void gelu_inplace(float* x, uint32_t n);

float sum(const float* x, uint32_t n);
float dot(const float* a, const float* b, uint32_t n);

// out[r] = dot(W[r, :], x) + (b ? b[r] : 0) for r < rows; W is rows x cols.
void matvec(float* out, const float* W, const float* b, const float* x, uint32_t rows,
            uint32_t cols);

// LayerNorm with eps 1e-5 and biased variance; b may be null.
void layernorm(float* out, const float* x, const float* w, const float* b, uint32_t n);

// --- int8 (model_file.hpp: per-group symmetric weights) -------------------
// Quantizes x (n) with one scale s = max|x| / 127: q[i] = round(x[i] * (127 /
// max|x|)), half away from zero, clamped to [-127, 127] (NaN -> 0). Returns s
// (0 when x is all zeros; NaN when max|x| is not finite, so outputs are NaN).
// q may be x itself (x is then overwritten).
float quantize_vector(int8_t* q, const float* x, uint32_t n);

// out[r] = acc_r * xs (+ b[r]) with acc_r = sum over groups g in order of
// float(isum_rg) * S[g * rows + r], where isum_rg is the exact int32 sum of
// W[r][c] * xq[c] over the group's columns (group size `group`, the last one
// of a row possibly shorter). W is rows x cols int8, S group-major scales.
// Integer sums are exact, so every implementation (AVX2, Arm DSP, scalar)
// gives the same bits.
void matvec_q8(float* out, const int8_t* W, const float* S, uint32_t group, const float* b,
               const int8_t* xq, float xs, uint32_t rows, uint32_t cols);

// out = W x (+ b) for an int8 W: quantize_vector then matvec_q8, or the same
// computation in this target's form (Cortex-M4: x as 16-bit pairs). scratch:
// 2 * cols bytes, 4-byte aligned; it may be x itself (x is then overwritten).
void linear_q8(float* out, const int8_t* W, const float* S, uint32_t group, const float* b,
               const float* x, uint32_t rows, uint32_t cols, void* scratch);

}  // namespace causalgen::kernels
