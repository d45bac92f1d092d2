// Token + position embedding, forward and backward.
//   forward:  x (N,C) f32 = drop(wte[tok] + wpe[t]);  wte (V,C), wpe (T,C) or null
//   backward: dwte (V,C) += dx summed over each token's positions (through the
//             same dropout); dwpe (T,C) = dx summed over the batch
#include "../common.cuh"
#include "../layers.cuh"

namespace causalgen::cuda {

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

}  // namespace causalgen::cuda
