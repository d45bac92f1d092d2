// The CUDA kernels, each operation's forward beside its backward. See
// layers.cuh for the shapes. Block sizes are fixed so that every reduction
// visits its elements in the same order on every run.
#include "common.cuh"
#include "layers.cuh"

namespace causalgen::cuda {

namespace {

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

}  // namespace

size_t ln_partial_floats(int N, int C) { return 2 * static_cast<size_t>(ceil_div(N, kColRows)) * C; }

// ---- embedding ---------------------------------------------------------------

__global__ void embed_forward_kernel(float* x, const uint32_t* tokens, const float* wte,
                                     const float* wpe, int T, int C, size_t total, float p,
                                     uint64_t seed, uint64_t salt) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  const size_t n = i / C;
  const int c = static_cast<int>(i % C), t = static_cast<int>(n % T);
  float v = wte[static_cast<size_t>(tokens[n]) * C + c];
  if (wpe) v += wpe[static_cast<size_t>(t) * C + c];
  x[i] = v * dropout_scale(p, seed, salt, i);
}

void embed_forward(float* x, const uint32_t* tokens, const float* wte, const float* wpe, int B,
                   int T, int C, float p, uint64_t seed, uint64_t salt, cudaStream_t s) {
  const size_t total = static_cast<size_t>(B) * T * C;
  embed_forward_kernel<<<ceil_div(total, 256), 256, 0, s>>>(x, tokens, wte, wpe, T, C, total, p,
                                                            seed, salt);
  CG_LAUNCH_CHECK();
}

// dwte: the positions of each token (bucketed on the host, in position order)
// are cut into chunks of kEmbedChunk; block (tile, chunk) sums its chunk into
// partial[chunk]; a second kernel adds each token's chunks in order. A frequent
// character (the space) then spreads over many blocks.
constexpr int kEmbedChunk = 64;

__global__ void embed_backward_chunks_kernel(float* partial, const float* dx, const uint32_t* order,
                                             const uint32_t* chunk_start, const uint32_t* chunk_end,
                                             int C, float p, uint64_t seed, uint64_t salt) {
  const int chunk = blockIdx.y;
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float acc = 0.0f;
  for (uint32_t k = chunk_start[chunk]; k < chunk_end[chunk]; ++k) {
    const size_t i = static_cast<size_t>(order[k]) * C + c;
    acc += dx[i] * dropout_scale(p, seed, salt, i);
  }
  partial[static_cast<size_t>(chunk) * C + c] = acc;
}
__global__ void embed_backward_wte_kernel(float* dwte, const float* partial,
                                          const uint32_t* token_chunks, int C) {
  const int v = blockIdx.y;
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float acc = 0.0f;
  for (uint32_t k = token_chunks[v]; k < token_chunks[v + 1]; ++k)
    acc += partial[static_cast<size_t>(k) * C + c];
  dwte[static_cast<size_t>(v) * C + c] += acc;
}
__global__ void embed_backward_wpe_kernel(float* dwpe, const float* dx, int B, int T, int C,
                                          float p, uint64_t seed, uint64_t salt) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;  // t*C + c
  if (i >= static_cast<size_t>(T) * C) return;
  float acc = 0.0f;
  for (int b = 0; b < B; ++b) {
    const size_t j = static_cast<size_t>(b) * T * C + i;
    acc += dx[j] * dropout_scale(p, seed, salt, j);
  }
  dwpe[i] = acc;
}

uint32_t embed_chunk_count(int N, int V) { return static_cast<uint32_t>(N / kEmbedChunk + V); }
uint32_t embed_chunk_size() { return kEmbedChunk; }

void embed_backward(float* dwte, float* dwpe, const float* dx, const uint32_t* order,
                    const uint32_t* token_chunks, const uint32_t* start, const uint32_t* end,
                    uint32_t n_chunks, float* partial, int B, int T, int C, int V, float p,
                    uint64_t seed, uint64_t salt, cudaStream_t s) {
  if (n_chunks) {
    embed_backward_chunks_kernel<<<dim3(ceil_div(C, 128), n_chunks), 128, 0, s>>>(
        partial, dx, order, start, end, C, p, seed, salt);
    CG_LAUNCH_CHECK();
  }
  embed_backward_wte_kernel<<<dim3(ceil_div(C, 128), V), 128, 0, s>>>(dwte, partial, token_chunks, C);
  CG_LAUNCH_CHECK();
  if (dwpe) {
    embed_backward_wpe_kernel<<<ceil_div(static_cast<size_t>(T) * C, 256), 256, 0, s>>>(
        dwpe, dx, B, T, C, p, seed, salt);
    CG_LAUNCH_CHECK();
  }
}

// ---- LayerNorm -----------------------------------------------------------------

template <class A>
__global__ void layernorm_forward_kernel(A* out, float* mean, float* rstd, const float* x,
                                         const float* w, const float* b, int N, int C) {
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= N) return;
  const float* xr = x + static_cast<size_t>(row) * C;
  float s = 0.0f;
  for (int c = lane; c < C; c += kWarp) s += xr[c];
  const float mu = warp_sum(s) / C;
  float v = 0.0f;
  for (int c = lane; c < C; c += kWarp) {
    const float d = xr[c] - mu;
    v += d * d;
  }
  const float rs = rsqrtf(warp_sum(v) / C + 1e-5f);
  A* o = out + static_cast<size_t>(row) * C;
  for (int c = lane; c < C; c += kWarp) {
    const float y = (xr[c] - mu) * rs * w[c] + (b ? b[c] : 0.0f);
    o[c] = from_f32<A>(y);
  }
  if (lane == 0) {
    mean[row] = mu;
    rstd[row] = rs;
  }
}

template <class A>
void layernorm_forward(A* out, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, int N, int C, cudaStream_t s) {
  layernorm_forward_kernel<<<ceil_div(N, 8), 256, 0, s>>>(out, mean, rstd, x, w, b, N, C);
  CG_LAUNCH_CHECK();
}

template <class A>
__global__ void layernorm_backward_kernel(float* dx, const A* dout, const float* x, const float* w,
                                          const float* mean, const float* rstd, int N, int C,
                                          A* dbranch, float p, uint64_t seed, uint64_t salt) {
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= N) return;
  const size_t off = static_cast<size_t>(row) * C;
  const float mu = mean[row], rs = rstd[row];
  float s1 = 0.0f, s2 = 0.0f;  // mean(dxhat), mean(dxhat * xhat)
  for (int c = lane; c < C; c += kWarp) {
    const float xhat = (x[off + c] - mu) * rs;
    const float dxhat = to_f32(dout[off + c]) * w[c];
    s1 += dxhat;
    s2 += dxhat * xhat;
  }
  s1 = warp_sum(s1) / C;
  s2 = warp_sum(s2) / C;
  for (int c = lane; c < C; c += kWarp) {
    const float xhat = (x[off + c] - mu) * rs;
    const float dxhat = to_f32(dout[off + c]) * w[c];
    const float d = dx[off + c] + rs * (dxhat - s1 - xhat * s2);
    dx[off + c] = d;
    // The residual branch below this LayerNorm sees the same gradient, through its dropout.
    if (dbranch) dbranch[off + c] = from_f32<A>(d * dropout_scale(p, seed, salt, off + c));
  }
}

// k = 0: dw = sum dout * xhat; k = 1: db = sum dout.
template <class A>
struct LnWeightGrad {
  const A* dout;
  const float *x, *mean, *rstd;
  int C;
  __device__ float operator()(int n, int c, int k) const {
    const size_t i = static_cast<size_t>(n) * C + c;
    const float d = to_f32(dout[i]);
    return k == 0 ? d * ((x[i] - mean[n]) * rstd[n]) : d;
  }
};

template <class A>
void layernorm_backward(float* dx, float* dw, float* db, const A* dout, const float* x,
                        const float* w, const float* mean, const float* rstd, float* partial,
                        int N, int C, A* dbranch, float p, uint64_t seed, uint64_t salt,
                        cudaStream_t s) {
  layernorm_backward_kernel<<<ceil_div(N, 8), 256, 0, s>>>(dx, dout, x, w, mean, rstd, N, C,
                                                           dbranch, p, seed, salt);
  CG_LAUNCH_CHECK();
  const LnWeightGrad<A> f{dout, x, mean, rstd, C};
  if (db) column_sum<2>(dw, db, partial, N, C, f, s);
  else column_sum<1>(dw, nullptr, partial, N, C, f, s);
}

// ---- residual branch + LayerNorm (fused) ------------------------------------------
// One warp a row: x_out = x + drop(branch + bias), then the LayerNorm of x_out.

template <class A>
__global__ void residual_layernorm_kernel(float* x_out, A* ln_out, float* mean, float* rstd,
                                          const float* x, const A* branch, const float* bias,
                                          const float* w, const float* b, int N, int C, float p,
                                          uint64_t seed, uint64_t salt) {
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= N) return;
  const size_t off = static_cast<size_t>(row) * C;
  float s = 0.0f;
  for (int c = lane; c < C; c += kWarp) {
    const size_t i = off + c;
    const float v = to_f32(branch[i]) + (bias ? bias[c] : 0.0f);
    const float y = x[i] + v * dropout_scale(p, seed, salt, i);
    x_out[i] = y;
    s += y;
  }
  const float mu = warp_sum(s) / C;
  float var = 0.0f;
  for (int c = lane; c < C; c += kWarp) {
    const float d = x_out[off + c] - mu;
    var += d * d;
  }
  const float rs = rsqrtf(warp_sum(var) / C + 1e-5f);
  for (int c = lane; c < C; c += kWarp)
    ln_out[off + c] = from_f32<A>((x_out[off + c] - mu) * rs * w[c] + (b ? b[c] : 0.0f));
  if (lane == 0) {
    mean[row] = mu;
    rstd[row] = rs;
  }
}

template <class A>
void residual_layernorm_forward(float* x_out, A* ln_out, float* mean, float* rstd, const float* x,
                                const A* branch, const float* bias, const float* w, const float* b,
                                int N, int C, float p, uint64_t seed, uint64_t salt, cudaStream_t s) {
  residual_layernorm_kernel<<<ceil_div(N, 8), 256, 0, s>>>(x_out, ln_out, mean, rstd, x, branch,
                                                           bias, w, b, N, C, p, seed, salt);
  CG_LAUNCH_CHECK();
}

template <class A>
void bias_grad(float* db, const A* dbranch, float* partial, int N, int C, cudaStream_t s) {
  if (db) column_sum<1>(db, nullptr, partial, N, C, ReadAt<A>{dbranch, C}, s);
}

// ---- GELU (tanh approximation) -------------------------------------------------------

__device__ __forceinline__ float gelu_f(float x) {
  const float k = 0.7978845608f;
  return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}
__device__ __forceinline__ float gelu_grad(float x) {
  const float k = 0.7978845608f;
  const float u = k * (x + 0.044715f * x * x * x);
  const float t = tanhf(u);
  const float du = k * (1.0f + 3.0f * 0.044715f * x * x);
  return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
}

// Both GELU kernels move 16 bytes per access (8 bf16 or 4 floats): they are
// pure memory traffic over (N, 4C).
template <class A>
struct alignas(16) Pack {
  static constexpr int n = 16 / sizeof(A);
  A v[n];
};

template <class A>
__global__ void bias_gelu_forward_kernel(A* pre, A* out, const A* in, const float* b, int H,
                                         size_t packs) {
  using P = Pack<A>;
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= packs) return;
  const P x = reinterpret_cast<const P*>(in)[i];
  const int c0 = static_cast<int>((i * P::n) % H);
  P pv, ov;
#pragma unroll
  for (int j = 0; j < P::n; ++j) {
    pv.v[j] = from_f32<A>(to_f32(x.v[j]) + (b ? b[c0 + j] : 0.0f));
    ov.v[j] = from_f32<A>(gelu_f(to_f32(pv.v[j])));
  }
  reinterpret_cast<P*>(pre)[i] = pv;
  reinterpret_cast<P*>(out)[i] = ov;
}

template <class A>
void bias_gelu_forward(A* pre, A* out, const A* in, const float* b, int N, int H,
                       cudaStream_t s) {
  if (H % Pack<A>::n != 0) throw std::runtime_error("GELU width must be a multiple of 8");
  const size_t packs = static_cast<size_t>(N) * H / Pack<A>::n;
  bias_gelu_forward_kernel<<<ceil_div(packs, 256), 256, 0, s>>>(pre, out, in, b, H, packs);
  CG_LAUNCH_CHECK();
}

template <class A>
__global__ void gelu_backward_kernel(A* dpre, const A* dout, const A* pre, size_t packs) {
  using P = Pack<A>;
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= packs) return;
  const P d = reinterpret_cast<const P*>(dout)[i];
  const P x = reinterpret_cast<const P*>(pre)[i];
  P r;
#pragma unroll
  for (int j = 0; j < P::n; ++j) r.v[j] = from_f32<A>(to_f32(d.v[j]) * gelu_grad(to_f32(x.v[j])));
  reinterpret_cast<P*>(dpre)[i] = r;
}

template <class A>
void gelu_backward(A* dpre, float* db, const A* dout, const A* pre, float* partial, int N,
                   int H, cudaStream_t s) {
  if (H % Pack<A>::n != 0) throw std::runtime_error("GELU width must be a multiple of 8");
  const size_t packs = static_cast<size_t>(N) * H / Pack<A>::n;
  gelu_backward_kernel<<<ceil_div(packs, 256), 256, 0, s>>>(dpre, dout, pre, packs);
  CG_LAUNCH_CHECK();
  if (db) column_sum<1>(db, nullptr, partial, N, H, ReadAt<A>{dpre, H}, s);
}

// ---- shift mixers ------------------------------------------------------------------
// The sequence is cut into segments of kSegLen positions and one thread takes
// a (b, segment, c): a first pass sums each segment (the running mean's
// prefix, or the backward's suffix), a second adds the earlier (later)
// segments' sums in order and scans its own segment. That gives B*C*T/16
// threads instead of B*C, so the scans are not bound by memory latency.

constexpr int kSegLen = 16;

__host__ __device__ inline int seg_count(int T) { return (T + kSegLen - 1) / kSegLen; }
size_t shift_scratch_floats(int B, int T, int C) { return static_cast<size_t>(B) * seg_count(T) * C; }

template <class A>
__global__ void segment_sum_kernel(float* seg, const A* h, int B, int T, int C) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;  // (b, segment, c)
  const int S = seg_count(T);
  if (idx >= B * S * C) return;
  const int c = idx % C, sg = (idx / C) % S, b = idx / (C * S);
  const int t0 = sg * kSegLen, t1 = min(T, t0 + kSegLen);
  const size_t base = static_cast<size_t>(b) * T * C + c;
  float acc = 0.0f;
#pragma unroll 16
  for (int t = t0; t < t1; ++t) acc += to_f32(h[base + static_cast<size_t>(t) * C]);
  seg[idx] = acc;
}

template <class A>
__global__ void shift_mix_forward_kernel(A* m, uint8_t* sel, const A* h, const float* seg, int B,
                                         int T, int C, int mixer) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  const int S = seg_count(T);
  if (idx >= B * S * C) return;
  const int c = idx % C, sg = (idx / C) % S, b = idx / (C * S);
  const bool is_max = mixer == static_cast<int>(Mixer::max) || mixer == static_cast<int>(Mixer::max_avg);
  const bool avg = mixer == static_cast<int>(Mixer::max_avg) || mixer == static_cast<int>(Mixer::min_avg);
  const int t0 = sg * kSegLen, t1 = min(T, t0 + kSegLen);
  const size_t base = static_cast<size_t>(b) * T * C + c;
  float sum = 0.0f;
  if (avg)
    for (int k = 0; k < sg; ++k) sum += seg[(static_cast<size_t>(b) * S + k) * C + c];
  float prev = to_f32(h[base + static_cast<size_t>(t0 > 0 ? t0 - 1 : 0) * C]);  // h_0 := h_1
  float xs[kSegLen];
#pragma unroll
  for (int j = 0; j < kSegLen; ++j)
    xs[j] = t0 + j < t1 ? to_f32(h[base + static_cast<size_t>(t0 + j) * C]) : 0.0f;
#pragma unroll
  for (int j = 0; j < kSegLen; ++j) {
    const int t = t0 + j;
    if (t >= t1) break;
    const size_t i = base + static_cast<size_t>(t) * C;
    const float x = xs[j];
    float v = x;
    uint8_t which = 0;
    if (is_max ? prev > v : prev < v) { v = prev; which = 1; }
    if (avg) {
      sum += x;
      const float a = sum / static_cast<float>(t + 1);
      if (is_max ? a > v : a < v) { v = a; which = 2; }
    }
    m[i] = from_f32<A>(v);
    sel[i] = which;
    prev = x;
  }
}

template <class A>
void shift_mix_forward(A* m, uint8_t* sel, const A* h, float* scratch, int B, int T, int C,
                       Mixer mixer, cudaStream_t s) {
  const int threads = B * seg_count(T) * C;
  if (mixer_uses_avg(mixer)) {
    segment_sum_kernel<<<ceil_div(threads, 256), 256, 0, s>>>(scratch, h, B, T, C);
    CG_LAUNCH_CHECK();
  }
  shift_mix_forward_kernel<<<ceil_div(threads, 256), 256, 0, s>>>(m, sel, h, scratch, B, T, C,
                                                                  static_cast<int>(mixer));
  CG_LAUNCH_CHECK();
}

// Per segment: sum of the mean's gradient share g_t / (t+1) where sel == 2.
template <class A>
__global__ void segment_avg_grad_kernel(float* seg, const A* dm, const uint8_t* sel, int B, int T,
                                        int C) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  const int S = seg_count(T);
  if (idx >= B * S * C) return;
  const int c = idx % C, sg = (idx / C) % S, b = idx / (C * S);
  const int t0 = sg * kSegLen, t1 = min(T, t0 + kSegLen);
  const size_t base = static_cast<size_t>(b) * T * C + c;
  float acc = 0.0f;
  for (int t = t1 - 1; t >= t0; --t) {
    const size_t i = base + static_cast<size_t>(t) * C;
    if (sel[i] == 2) acc += to_f32(dm[i]) / static_cast<float>(t + 1);
  }
  seg[idx] = acc;
}

template <class A>
__global__ void shift_mix_backward_kernel(A* dh, const A* dm, const uint8_t* sel, const float* seg,
                                          int B, int T, int C, bool avg) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  const int S = seg_count(T);
  if (idx >= B * S * C) return;
  const int c = idx % C, sg = (idx / C) % S, b = idx / (C * S);
  const int t0 = sg * kSegLen, t1 = min(T, t0 + kSegLen);
  const size_t base = static_cast<size_t>(b) * T * C + c;
  // suffix: sum over s >= t of the mean's share g_s / (s+1) (later segments
  // first, in order); from_next: what position t+1 sent to its h_{t-1}.
  float suffix = 0.0f;
  if (avg)
    for (int k = S - 1; k > sg; --k) suffix += seg[(static_cast<size_t>(b) * S + k) * C + c];
  float from_next = 0.0f;
  if (t1 < T) {
    const size_t i = base + static_cast<size_t>(t1) * C;
    if (sel[i] == 1) from_next = to_f32(dm[i]);
  }
  float gs[kSegLen];
  uint8_t ws[kSegLen];
#pragma unroll
  for (int j = 0; j < kSegLen; ++j) {
    const int t = t0 + j;
    const size_t i = base + static_cast<size_t>(t < t1 ? t : t0) * C;
    gs[j] = t < t1 ? to_f32(dm[i]) : 0.0f;
    ws[j] = t < t1 ? sel[i] : 0;
  }
#pragma unroll
  for (int j = kSegLen - 1; j >= 0; --j) {
    const int t = t0 + j;
    if (t >= t1) continue;
    const float g = gs[j];
    const uint8_t w = ws[j];
    float d = from_next;
    from_next = 0.0f;
    if (w == 0) d += g;
    else if (w == 1) { if (t == 0) d += g; else from_next = g; }  // h_0 := h_1
    else suffix += g / static_cast<float>(t + 1);
    dh[base + static_cast<size_t>(t) * C] = from_f32<A>(d + suffix);
  }
}

template <class A>
void shift_mix_backward(A* dh, const A* dm, const uint8_t* sel, float* scratch, int B, int T, int C,
                        Mixer mixer, cudaStream_t s) {
  const int threads = B * seg_count(T) * C;
  const bool avg = mixer_uses_avg(mixer);
  if (avg) {
    segment_avg_grad_kernel<<<ceil_div(threads, 256), 256, 0, s>>>(scratch, dm, sel, B, T, C);
    CG_LAUNCH_CHECK();
  }
  shift_mix_backward_kernel<<<ceil_div(threads, 256), 256, 0, s>>>(dh, dm, sel, scratch, B, T, C, avg);
  CG_LAUNCH_CHECK();
}

// ---- attention -----------------------------------------------------------------------

template <class A>
__global__ void qkv_split_forward_kernel(A* q, A* k, A* v, const A* qkv, const float* b,
                                         int T, int C, int H, size_t total) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;  // over N*3C
  if (i >= total) return;
  const int C3 = 3 * C, hs = C / H;
  const size_t n = i / C3;
  const int j = static_cast<int>(i % C3);
  const int part = j / C, cc = j % C, head = cc / hs, d = cc % hs;
  const int bb = static_cast<int>(n / T), t = static_cast<int>(n % T);
  const size_t o = ((static_cast<size_t>(bb) * H + head) * T + t) * hs + d;
  const A val = from_f32<A>(to_f32(qkv[i]) + (b ? b[j] : 0.0f));
  (part == 0 ? q : part == 1 ? k : v)[o] = val;
}

template <class A>
void qkv_split_forward(A* q, A* k, A* v, const A* qkv, const float* b, int B, int T, int C,
                       int H, cudaStream_t s) {
  const size_t total = static_cast<size_t>(B) * T * 3 * C;
  qkv_split_forward_kernel<<<ceil_div(total, 256), 256, 0, s>>>(q, k, v, qkv, b, T, C, H, total);
  CG_LAUNCH_CHECK();
}

template <class A>
__global__ void qkv_split_backward_kernel(A* dqkv, const float* dq, const float* dk,
                                          const float* dv, int T, int C, int H, size_t total) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  const int C3 = 3 * C, hs = C / H;
  const size_t n = i / C3;
  const int j = static_cast<int>(i % C3);
  const int part = j / C, cc = j % C, head = cc / hs, d = cc % hs;
  const int bb = static_cast<int>(n / T), t = static_cast<int>(n % T);
  const size_t o = ((static_cast<size_t>(bb) * H + head) * T + t) * hs + d;
  dqkv[i] = from_f32<A>((part == 0 ? dq : part == 1 ? dk : dv)[o]);
}

template <class A>
void qkv_split_backward(A* dqkv, float* db, const float* dq, const float* dk, const float* dv,
                        float* partial, int B, int T, int C, int H, cudaStream_t s) {
  const size_t total = static_cast<size_t>(B) * T * 3 * C;
  qkv_split_backward_kernel<<<ceil_div(total, 256), 256, 0, s>>>(dqkv, dq, dk, dv, T, C, H, total);
  CG_LAUNCH_CHECK();
  if (db) column_sum<1>(db, nullptr, partial, B * T, 3 * C, ReadAt<A>{dqkv, 3 * C}, s);
}

// One warp per (bh, t) row of the T x T score matrix.
template <class A>
__global__ void causal_softmax_forward_kernel(A* att, A* att_drop, const float* pre, float scale,
                                              int rows, int T, float p, uint64_t seed,
                                              uint64_t salt) {
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  const int t = row % T;
  const size_t off = static_cast<size_t>(row) * T;
  float mx = -INFINITY;
  for (int s = lane; s <= t; s += kWarp) mx = fmaxf(mx, pre[off + s] * scale);
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int s = lane; s <= t; s += kWarp) sum += expf(pre[off + s] * scale - mx);
  const float inv = 1.0f / warp_sum(sum);
  for (int s = lane; s < T; s += kWarp) {
    const float a = s <= t ? expf(pre[off + s] * scale - mx) * inv : 0.0f;
    const A av = from_f32<A>(a);
    att[off + s] = av;
    att_drop[off + s] = from_f32<A>(to_f32(av) * dropout_scale(p, seed, salt, off + s));
  }
}

template <class A>
void causal_softmax_forward(A* att, A* att_drop, const float* pre, float scale, int BH, int T,
                            float p, uint64_t seed, uint64_t salt, cudaStream_t s) {
  const int rows = BH * T;
  causal_softmax_forward_kernel<<<ceil_div(rows, 8), 256, 0, s>>>(att, att_drop, pre, scale,
                                                                  rows, T, p, seed, salt);
  CG_LAUNCH_CHECK();
}

template <class A>
__global__ void causal_softmax_backward_kernel(A* dpre, const float* datt_drop, const A* att,
                                               float scale, int rows, int T, float p,
                                               uint64_t seed, uint64_t salt) {
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  const int t = row % T;
  const size_t off = static_cast<size_t>(row) * T;
  float dot = 0.0f;
  for (int s = lane; s <= t; s += kWarp)
    dot += to_f32(att[off + s]) * datt_drop[off + s] * dropout_scale(p, seed, salt, off + s);
  dot = warp_sum(dot);
  for (int s = lane; s < T; s += kWarp) {
    float g = 0.0f;
    if (s <= t) {
      const float da = datt_drop[off + s] * dropout_scale(p, seed, salt, off + s);
      g = scale * to_f32(att[off + s]) * (da - dot);
    }
    dpre[off + s] = from_f32<A>(g);
  }
}

template <class A>
void causal_softmax_backward(A* dpre, const float* datt_drop, const A* att, float scale, int BH,
                             int T, float p, uint64_t seed, uint64_t salt, cudaStream_t s) {
  const int rows = BH * T;
  causal_softmax_backward_kernel<<<ceil_div(rows, 8), 256, 0, s>>>(dpre, datt_drop, att, scale,
                                                                   rows, T, p, seed, salt);
  CG_LAUNCH_CHECK();
}

template <class A>
__global__ void merge_heads_kernel(A* m, const float* y, int T, int C, int H, size_t total) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;  // over N*C
  if (i >= total) return;
  const int hs = C / H;
  const size_t n = i / C;
  const int cc = static_cast<int>(i % C), head = cc / hs, d = cc % hs;
  const int bb = static_cast<int>(n / T), t = static_cast<int>(n % T);
  m[i] = from_f32<A>(y[((static_cast<size_t>(bb) * H + head) * T + t) * hs + d]);
}

template <class A>
void merge_heads_forward(A* m, const float* y, int B, int T, int C, int H, cudaStream_t s) {
  const size_t total = static_cast<size_t>(B) * T * C;
  merge_heads_kernel<<<ceil_div(total, 256), 256, 0, s>>>(m, y, T, C, H, total);
  CG_LAUNCH_CHECK();
}

template <class A>
__global__ void split_heads_kernel(A* dy, const A* dm, int T, int C, int H, size_t total) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;  // over N*C
  if (i >= total) return;
  const int hs = C / H;
  const size_t n = i / C;
  const int cc = static_cast<int>(i % C), head = cc / hs, d = cc % hs;
  const int bb = static_cast<int>(n / T), t = static_cast<int>(n % T);
  dy[((static_cast<size_t>(bb) * H + head) * T + t) * hs + d] = dm[i];
}

template <class A>
void merge_heads_backward(A* dy, const A* dm, int B, int T, int C, int H, cudaStream_t s) {
  const size_t total = static_cast<size_t>(B) * T * C;
  split_heads_kernel<<<ceil_div(total, 256), 256, 0, s>>>(dy, dm, T, C, H, total);
  CG_LAUNCH_CHECK();
}

// ---- softmax + cross-entropy -------------------------------------------------------------

template <class A>
__global__ void crossentropy_kernel(float* loss_rows, A* dlogits, const float* logits,
                                    const uint32_t* targets, int N, int V, bool want_grad) {
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= N) return;
  const float* l = logits + static_cast<size_t>(row) * V;
  float mx = -INFINITY;
  for (int j = lane; j < V; j += kWarp) mx = fmaxf(mx, l[j]);
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int j = lane; j < V; j += kWarp) sum += expf(l[j] - mx);
  sum = warp_sum(sum);
  const int tgt = static_cast<int>(targets[row]);
  if (lane == 0) loss_rows[row] = logf(sum) + mx - l[tgt];
  if (want_grad) {
    const float inv_n = 1.0f / N, inv_sum = 1.0f / sum;
    for (int j = lane; j < V; j += kWarp) {
      const float pj = expf(l[j] - mx) * inv_sum;
      dlogits[static_cast<size_t>(row) * V + j] = from_f32<A>((pj - (j == tgt ? 1.0f : 0.0f)) * inv_n);
    }
  }
}

template <class A>
void crossentropy_forward_backward(float* loss_rows, A* dlogits, const float* logits,
                                   const uint32_t* targets, int N, int V, bool want_grad,
                                   cudaStream_t s) {
  crossentropy_kernel<<<ceil_div(N, 8), 256, 0, s>>>(loss_rows, dlogits, logits, targets, N, V,
                                                     want_grad);
  CG_LAUNCH_CHECK();
}

// Single block, fixed order: each thread sums a strided slice, then a tree.
__global__ void mean_reduce_kernel(float* out, const float* x, int n) {
  __shared__ float buf[1024];
  float acc = 0.0f;
  for (int i = threadIdx.x; i < n; i += blockDim.x) acc += x[i];
  buf[threadIdx.x] = acc;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) buf[threadIdx.x] += buf[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[0] = buf[0] / n;
}

void mean_reduce(float* out, const float* x, int n, cudaStream_t s) {
  mean_reduce_kernel<<<1, 1024, 0, s>>>(out, x, n);
  CG_LAUNCH_CHECK();
}

// ---- gradient norm and AdamW -------------------------------------------------------------

constexpr int kNormBlocks = 264;  // 2 per H100 multiprocessor; fixed for determinism
constexpr int kNormThreads = 512;

__global__ void sumsq_partial_kernel(float* partial, const float* g, size_t n) {
  __shared__ float buf[kNormThreads];
  float acc = 0.0f;
  for (size_t i = blockIdx.x * static_cast<size_t>(kNormThreads) + threadIdx.x; i < n;
       i += static_cast<size_t>(kNormBlocks) * kNormThreads)
    acc += g[i] * g[i];
  buf[threadIdx.x] = acc;
  __syncthreads();
  for (int w = kNormThreads / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) buf[threadIdx.x] += buf[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = buf[0];
}
__global__ void sumsq_final_kernel(float* norm, const float* partial) {
  if (threadIdx.x != 0) return;
  float acc = 0.0f;
  for (int i = 0; i < kNormBlocks; ++i) acc += partial[i];
  norm[0] = sqrtf(acc);
}

size_t grad_norm_partial_floats() { return kNormBlocks; }

void grad_norm(float* norm, const float* g, size_t n, float* partial, cudaStream_t s) {
  sumsq_partial_kernel<<<kNormBlocks, kNormThreads, 0, s>>>(partial, g, n);
  CG_LAUNCH_CHECK();
  sumsq_final_kernel<<<1, 32, 0, s>>>(norm, partial);
  CG_LAUNCH_CHECK();
}

__global__ void adamw_kernel(float* params, float* m, float* v, const float* g,
                             const uint8_t* decay, size_t n, float lr, float beta1, float beta2,
                             float eps, float wd, float bc1, float bc2, const float* norm,
                             float clip) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float gn = norm[0];
  const float scale = (clip > 0.0f && gn > clip) ? clip / (gn + 1e-6f) : 1.0f;
  const float gi = g[i] * scale;
  float p = params[i];
  if (decay[i]) p -= lr * wd * p;
  const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
  const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  const float mhat = mi / bc1, vhat = vi / bc2;
  params[i] = p - lr * mhat / (sqrtf(vhat) + eps);
}

void adamw_update(float* params, float* m, float* v, const float* g, const uint8_t* decay,
                  size_t n, float lr, float beta1, float beta2, float eps, float wd,
                  float bias_corr1, float bias_corr2, const float* norm, float clip,
                  cudaStream_t s) {
  adamw_kernel<<<ceil_div(n, 256), 256, 0, s>>>(params, m, v, g, decay, n, lr, beta1, beta2, eps,
                                                wd, bias_corr1, bias_corr2, norm, clip);
  CG_LAUNCH_CHECK();
}

// ---- casts -----------------------------------------------------------------------------------

template <class A>
__global__ void cast_kernel(A* out, const float* in, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = from_f32<A>(in[i]);
}
template <class A>
void cast_f32(A* out, const float* in, size_t n, cudaStream_t s) {
  cast_kernel<<<ceil_div(n, 256), 256, 0, s>>>(out, in, n);
  CG_LAUNCH_CHECK();
}
__global__ void to_f32_kernel(float* out, const __nv_bfloat16* in, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = __bfloat162float(in[i]);
}
void to_f32(float* out, const __nv_bfloat16* in, size_t n, cudaStream_t s) {
  to_f32_kernel<<<ceil_div(n, 256), 256, 0, s>>>(out, in, n);
  CG_LAUNCH_CHECK();
}

// ---- explicit instantiations for the two activation types ----------------------------------

#define CG_INSTANTIATE(A)                                                                        \
  template void layernorm_forward<A>(A*, float*, float*, const float*, const float*,            \
                                     const float*, int, int, cudaStream_t);                     \
  template void layernorm_backward<A>(float*, float*, float*, const A*, const float*,           \
                                      const float*, const float*, const float*, float*, int,    \
                                      int, A*, float, uint64_t, uint64_t, cudaStream_t);        \
  template void residual_layernorm_forward<A>(float*, A*, float*, float*, const float*,         \
                                              const A*, const float*, const float*,             \
                                              const float*, int, int, float, uint64_t,          \
                                              uint64_t, cudaStream_t);                          \
  template void bias_grad<A>(float*, const A*, float*, int, int, cudaStream_t);                 \
  template void bias_gelu_forward<A>(A*, A*, const A*, const float*, int, int, cudaStream_t);   \
  template void gelu_backward<A>(A*, float*, const A*, const A*, float*, int, int,              \
                                 cudaStream_t);                                                 \
  template void shift_mix_forward<A>(A*, uint8_t*, const A*, float*, int, int, int, Mixer,      \
                                     cudaStream_t);                                             \
  template void shift_mix_backward<A>(A*, const A*, const uint8_t*, float*, int, int, int,      \
                                      Mixer, cudaStream_t);                                     \
  template void qkv_split_forward<A>(A*, A*, A*, const A*, const float*, int, int, int, int,    \
                                     cudaStream_t);                                             \
  template void qkv_split_backward<A>(A*, float*, const float*, const float*, const float*,     \
                                      float*, int, int, int, int, cudaStream_t);                \
  template void causal_softmax_forward<A>(A*, A*, const float*, float, int, int, float,         \
                                          uint64_t, uint64_t, cudaStream_t);                    \
  template void causal_softmax_backward<A>(A*, const float*, const A*, float, int, int, float,  \
                                           uint64_t, uint64_t, cudaStream_t);                   \
  template void merge_heads_forward<A>(A*, const float*, int, int, int, int, cudaStream_t);     \
  template void merge_heads_backward<A>(A*, const A*, int, int, int, int, cudaStream_t);        \
  template void crossentropy_forward_backward<A>(float*, A*, const float*, const uint32_t*,     \
                                                 int, int, bool, cudaStream_t);                 \
  template void cast_f32<A>(A*, const float*, size_t, cudaStream_t);

CG_INSTANTIATE(float)
CG_INSTANTIATE(__nv_bfloat16)

}  // namespace causalgen::cuda
