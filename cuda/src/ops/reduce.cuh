// Warp and column reductions shared by the kernels. Every sum visits its
// elements in a fixed order (fixed block sizes, no atomics), so results are
// the same on every run.
#pragma once
#include "../common.cuh"

namespace causalgen::cuda {

constexpr int kWarp = 32;
constexpr int kColTile = 32;    // columns per block in column reductions
constexpr int kColLanes = 32;   // threads per column in a block
constexpr int kColRows = 1024;  // rows per partial

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Column reductions in two fixed-order stages. Stage 1: a block takes 32
// columns x kColRows rows; thread (lane, col) sums rows lane, lane+32, ...
// in order, then the 32 lanes combine in a fixed tree -> partial[chunk][c].
// Stage 2: out[c] sums the chunks in order. value(n, c, k) gives element
// (n, c) of the k-th of K sums computed together.
template <int K, class F>
__global__ void column_partial_kernel(float* partial, int N, int C, int chunks, F value) {
  __shared__ float buf[K][kColLanes][kColTile + 1];
  const int col = threadIdx.x % kColTile, lane = threadIdx.x / kColTile;
  const int c = blockIdx.x * kColTile + col;
  const int r0 = blockIdx.y * kColRows, r1 = min(N, r0 + kColRows);
  float acc[K];
#pragma unroll
  for (int k = 0; k < K; ++k) acc[k] = 0.0f;
  if (c < C) {
#pragma unroll 4
    for (int n = r0 + lane; n < r1; n += kColLanes)
#pragma unroll
      for (int k = 0; k < K; ++k) acc[k] += value(n, c, k);
  }
#pragma unroll
  for (int k = 0; k < K; ++k) buf[k][lane][col] = acc[k];
  __syncthreads();
  for (int w = kColLanes / 2; w > 0; w >>= 1) {
    if (lane < w)
#pragma unroll
      for (int k = 0; k < K; ++k) buf[k][lane][col] += buf[k][lane + w][col];
    __syncthreads();
  }
  if (lane == 0 && c < C)
#pragma unroll
    for (int k = 0; k < K; ++k) partial[(static_cast<size_t>(k) * chunks + blockIdx.y) * C + c] = buf[k][0][col];
}
template <int K>
__global__ void column_final_kernel(float* out0, float* out1, const float* partial, int chunks,
                                    int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
#pragma unroll
  for (int k = 0; k < K; ++k) {
    float* out = k == 0 ? out0 : out1;
    if (!out) continue;
    float acc = 0.0f;
    for (int j = 0; j < chunks; ++j) acc += partial[(static_cast<size_t>(k) * chunks + j) * C + c];
    out[c] = acc;
  }
}
// out0 (and out1 when K == 2) [C] = column sums of value(n, c, k) over n < N.
template <int K, class F>
void column_sum(float* out0, float* out1, float* partial, int N, int C, F value, cudaStream_t s) {
  const int chunks = static_cast<int>(ceil_div(N, kColRows));
  column_partial_kernel<K><<<dim3(ceil_div(C, kColTile), chunks), kColTile * kColLanes, 0, s>>>(
      partial, N, C, chunks, value);
  CG_LAUNCH_CHECK();
  column_final_kernel<K><<<ceil_div(C, 128), 128, 0, s>>>(out0, out1, partial, chunks, C);
  CG_LAUNCH_CHECK();
}

template <class A>
struct ReadAt {
  const A* p;
  int C;
  __device__ float operator()(int n, int c, int) const { return to_f32(p[static_cast<size_t>(n) * C + c]); }
};

}  // namespace causalgen::cuda
