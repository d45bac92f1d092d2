// The minGRU mixer (formulas: lib/core/mixers/mingru.cpp; the CPU trainer's
// lib/train/model/mixers/mingru.cpp is the reference the tests hold it to).
// N = B*T rows, W (2C,C) and b (2C) the layer's mixer_w and mixer_b:
//   forward:  u (N,2C) A = h W^T (GEMM); z = sigmoid(u_gate + b), c = u_cand + b
//             s_t = (1 - z) s_{t-1} + z c, s_{-1} = 0; m (N,C) A = s
//   backward: gs_t = dm_t + (1 - z_{t+1}) gs_{t+1} (the gradient at s_t)
//             du_gate = gs (c - s_{t-1}) z (1 - z), du_cand = gs z  (N,2C) A
//             db = column sums of du; dW = du^T h; dh = du W   (GEMMs)
//
// The scan is sequential, one thread per (b, channel) looping over the T
// positions, as the CPU trainer's (a sequential scan per channel, not a
// log-depth parallel one): the simplest form that is plainly right, not the
// fastest (B*C threads with T dependent steps each).
#include "../common.cuh"
#include "../gemm.cuh"
#include "../ops/reduce.cuh"
#include "mingru.cuh"
#include "mixer.cuh"

namespace causalgen::cuda {

namespace {

constexpr int kThreads = 128;

// The forward's thread (b, i): channel i of sequence b over its T positions.
template <class A>
__host__ __device__ void mingru_forward_thread(A* m, float* z_out, float* c_out, float* s_out,
                                               const A* u, const float* b, int bb, int i, int T,
                                               int C) {
  const float b_gate = b ? b[i] : 0.0f, b_cand = b ? b[C + i] : 0.0f;
  float s = 0.0f;  // s_{-1}
  for (int t = 0; t < T; ++t) {
    const size_t r = static_cast<size_t>(bb) * T + t;  // the row of (bb, t)
    const float z = 1.0f / (1.0f + expf(-(to_f32(u[r * 2 * C + i]) + b_gate)));
    const float c = to_f32(u[r * 2 * C + C + i]) + b_cand;
    s = (1.0f - z) * s + z * c;
    const size_t o = r * C + i;
    z_out[o] = z;
    c_out[o] = c;
    s_out[o] = s;
    m[o] = from_f32<A>(s);
  }
}

// The backward's thread (b, i), backwards over t, in the CPU trainer's order.
template <class A>
__host__ __device__ void mingru_backward_thread(A* du, const A* dm, const float* z_in,
                                                const float* c_in, const float* s_in, int bb,
                                                int i, int T, int C) {
  float gs = 0.0f;  // dL/ds_t from the positions after t
  for (int t = T - 1; t >= 0; --t) {
    const size_t r = static_cast<size_t>(bb) * T + t;
    const size_t o = r * C + i;
    const float z = z_in[o], c = c_in[o];
    const float prev = t > 0 ? s_in[o - C] : 0.0f;  // s_{t-1}: row r-1, same channel
    const float g = gs + to_f32(dm[o]);
    du[r * 2 * C + i] = from_f32<A>(g * (c - prev) * z * (1.0f - z));  // through the sigmoid
    du[r * 2 * C + C + i] = from_f32<A>(g * z);
    gs = g * (1.0f - z);
  }
}

template <class A>
__global__ void mingru_forward_kernel(A* m, float* z, float* c, float* s, const A* u,
                                      const float* b, int B, int T, int C) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;  // (b, i)
  if (idx >= B * C) return;
  mingru_forward_thread(m, z, c, s, u, b, idx / C, idx % C, T, C);
}

template <class A>
__global__ void mingru_backward_kernel(A* du, const A* dm, const float* z, const float* c,
                                       const float* s, int B, int T, int C) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;  // (b, i)
  if (idx >= B * C) return;
  mingru_backward_thread(du, dm, z, c, s, idx / C, idx % C, T, C);
}

}  // namespace

template <class A>
void mingru_scan_forward(A* m, float* z, float* c, float* s, const A* u, const float* b, int B,
                         int T, int C, cudaStream_t st) {
  mingru_forward_kernel<<<ceil_div(size_t(B) * C, kThreads), kThreads, 0, st>>>(m, z, c, s, u, b,
                                                                                B, T, C);
  CG_LAUNCH_CHECK();
}

template <class A>
void mingru_scan_backward(A* du, const A* dm, const float* z, const float* c, const float* s,
                          int B, int T, int C, cudaStream_t st) {
  mingru_backward_kernel<<<ceil_div(size_t(B) * C, kThreads), kThreads, 0, st>>>(du, dm, z, c, s,
                                                                                 B, T, C);
  CG_LAUNCH_CHECK();
}

template <class A>
void mingru_scan_forward_on_host(A* m, float* z, float* c, float* s, const A* u, const float* b,
                                 int B, int T, int C) {
  for (int bb = 0; bb < B; ++bb)
    for (int i = 0; i < C; ++i) mingru_forward_thread(m, z, c, s, u, b, bb, i, T, C);
}

template <class A>
void mingru_scan_backward_on_host(A* du, const A* dm, const float* z, const float* c,
                                  const float* s, int B, int T, int C) {
  for (int bb = 0; bb < B; ++bb)
    for (int i = 0; i < C; ++i) mingru_backward_thread(du, dm, z, c, s, bb, i, T, C);
}

// Explicit instantiations for the two activation types.
#define CG_INSTANTIATE(A)                                                                        \
  template void mingru_scan_forward<A>(A*, float*, float*, float*, const A*, const float*, int, \
                                       int, int, cudaStream_t);                                 \
  template void mingru_scan_backward<A>(A*, const A*, const float*, const float*, const float*, \
                                        int, int, int, cudaStream_t);                           \
  template void mingru_scan_forward_on_host<A>(A*, float*, float*, float*, const A*,            \
                                               const float*, int, int, int);                    \
  template void mingru_scan_backward_on_host<A>(A*, const A*, const float*, const float*,       \
                                                const float*, int, int, int);

CG_INSTANTIATE(float)
CG_INSTANTIATE(__nv_bfloat16)
#undef CG_INSTANTIATE

// The descriptor (mixer.cuh). The products take A operands and give A (as
// attention's Wqkv); the scan works in f32 and saves z, c, s in f32 for the
// backward. The forward's u and the backward's du share the scratch.
namespace mixers {
namespace {

struct Saved {
  float *z, *c, *s;
};
Saved saved_layout(Carver& k, const Shape& sh) {
  const size_t NC = size_t(sh.B) * sh.T * sh.C;
  Saved l;
  l.z = k.take<float>(NC);
  l.c = k.take<float>(NC);
  l.s = k.take<float>(NC);
  return l;
}

size_t mingru_saved_bytes(const Shape& s) {
  Carver k;
  saved_layout(k, s);
  return k.bytes();
}

// u (forward) or du (backward): (N,2C) A.
template <class A>
size_t mingru_scratch_bytes(const Shape& s) {
  Carver k;
  k.take<A>(size_t(s.B) * s.T * 2 * s.C);
  return k.bytes();
}

template <class A>
void mingru_forward(const Pass<A>& a) {
  const int B = a.shape.B, T = a.shape.T, C = a.shape.C, N = B * T;
  Carver saved(a.saved), scratch(a.scratch);
  const Saved keep = saved_layout(saved, a.shape);
  A* u = scratch.take<A>(size_t(N) * 2 * C);
  linear_forward(*a.gemm, u, a.h, a.w, N, 2 * C, C, a.stream);
  mingru_scan_forward(a.m, keep.z, keep.c, keep.s, u, a.b, B, T, C, a.stream);
}

template <class A>
void mingru_backward(const Pass<A>& a) {
  const int B = a.shape.B, T = a.shape.T, C = a.shape.C, N = B * T;
  Carver saved(a.saved), scratch(a.scratch);
  const Saved keep = saved_layout(saved, a.shape);
  A* du = scratch.take<A>(size_t(N) * 2 * C);
  mingru_scan_backward(du, a.dm, keep.z, keep.c, keep.s, B, T, C, a.stream);
  if (a.db) column_sum<1>(a.db, nullptr, a.partial, N, 2 * C, ReadAt<A>{du, 2 * C}, a.stream);
  linear_dweight(*a.gemm, a.dw, du, a.h, N, 2 * C, C, a.stream);
  linear_dinput(*a.gemm, a.dh, du, a.w, N, 2 * C, C, a.stream);
}

}  // namespace

template <class A>
CudaMixer<A> mingru_mixer() {
  return {Mixer::mingru, mingru_saved_bytes, mingru_scratch_bytes<A>, mingru_forward<A>,
          mingru_backward<A>};
}

template CudaMixer<float> mingru_mixer<float>();
template CudaMixer<__nv_bfloat16> mingru_mixer<__nv_bfloat16>();

}  // namespace mixers
}  // namespace causalgen::cuda
