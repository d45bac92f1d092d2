// The GPT forward and backward on one GPU, top to bottom, over the flat
// parameter buffer (canonical order of the core's model file): the CUDA
// implementation of train::Backend.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "causalgen/tensors.hpp"
#include "causalgen_cuda/backend.hpp"
#include "common.cuh"
#include "gemm.cuh"
#include "layers.cuh"

namespace causalgen::cuda {

namespace {

constexpr size_t kAbsent = ~size_t(0);

// Offsets (in floats) of each tensor in the flat buffer.
struct LayerOffsets {
  size_t ln1_w = kAbsent, ln1_b = kAbsent, wqkv = kAbsent, bqkv = kAbsent, wo = kAbsent,
         bo = kAbsent, ln2_w = kAbsent, ln2_b = kAbsent, fc1_w = kAbsent, fc1_b = kAbsent,
         fc2_w = kAbsent, fc2_b = kAbsent;
};
struct Offsets {
  size_t wte = kAbsent, wpe = kAbsent, lnf_w = kAbsent, lnf_b = kAbsent;
  std::vector<LayerOffsets> layers;
  std::vector<uint8_t> decay;  // per tensor: weight decay applies (matrices)
  std::vector<size_t> starts, sizes;
};

// Offsets from the core's tensor table (causalgen/tensors.hpp).
Offsets compute_offsets(const Config& c) {
  using R = TensorRole;
  Offsets o;
  RoleOffsets global;
  std::vector<RoleOffsets> layers(c.n_layer);
  tensor_offsets(c, &global, layers.data());
  o.wte = global[R::wte], o.wpe = global[R::wpe], o.lnf_w = global[R::lnf_w], o.lnf_b = global[R::lnf_b];
  for (const RoleOffsets& r : layers)
    o.layers.push_back({r[R::ln1_w], r[R::ln1_b], r[R::mixer_w], r[R::mixer_b], r[R::wo], r[R::bo],
                        r[R::ln2_w], r[R::ln2_b], r[R::fc1_w], r[R::fc1_b], r[R::fc2_w], r[R::fc2_b]});
  for (uint32_t i = 0, n = tensor_count(c); i < n; ++i) {
    const TensorSpec t = tensor_spec(c, i);
    o.starts.push_back(t.offset);
    o.sizes.push_back(t.size());
    o.decay.push_back(t.kind == TensorKind::matrix ? 1 : 0);
  }
  return o;
}

template <class T>
T* at(T* base, size_t off) { return off == kAbsent ? nullptr : base + off; }
template <class T>
const T* at(const T* base, size_t off) { return off == kAbsent ? nullptr : base + off; }

template <class A>
class GptBackend final : public CudaBackend {
 public:
  GptBackend(const Config& c, const train::BackendOptions& o)
      : cfg_(c), opt_(o), off_(compute_offsets(c)), gemm_(sizeof(A) == 2) {
    B_ = int(o.batch_size), T_ = int(o.block_size), N_ = B_ * T_;
    C_ = int(c.n_embd), V_ = int(c.vocab_size), H_ = int(c.n_head), L_ = int(c.n_layer);
    P_ = c.parameter_count();
    CG_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    params_.resize(P_), grads_.resize(P_), m_.resize(P_), v_.resize(P_), decay_.resize(P_);
    if (sizeof(A) == 2) params_act_.resize(P_);
    std::vector<uint8_t> decay(P_);
    for (size_t i = 0; i < off_.starts.size(); ++i)
      std::memset(decay.data() + off_.starts[i], off_.decay[i], off_.sizes[i]);
    CG_CUDA_CHECK(cudaMemcpy(decay_.ptr, decay.data(), P_, cudaMemcpyHostToDevice));
    CG_CUDA_CHECK(cudaMemset(m_.ptr, 0, P_ * 4));
    CG_CUDA_CHECK(cudaMemset(v_.ptr, 0, P_ * 4));

    const size_t N = N_, C = C_, BHTT = size_t(B_) * H_ * T_ * T_;
    max_chunks_ = embed_chunk_count(N_, V_);
    staging_words_ = 3 * N + 2 * (V_ + 1) + 2 * max_chunks_;
    tokens_.resize(staging_words_);
    for (int i = 0; i < 2; ++i) {
      CG_CUDA_CHECK(cudaMallocHost(&pinned_[i], staging_words_ * 4));
      CG_CUDA_CHECK(cudaEventCreateWithFlags(&staged_[i], cudaEventDisableTiming));
    }
    x_.resize((L_ + 1) * N * C);
    x_mid_.resize(L_ * N * C);
    ln1_.resize(L_ * N * C), ln2_.resize(L_ * N * C), m_act_.resize(L_ * N * C);
    stats_.resize(L_ * 4 * N + 2 * N);
    pre_.resize(L_ * N * 4 * C), gelu_.resize(L_ * N * 4 * C);
    sel_.resize(L_ * N * C);
    shift_scratch_.resize(shift_scratch_floats(B_, T_, C_));
    int n_attn = 0;
    for (int l = 0; l < L_; ++l) n_attn += c.mixers[l] == Mixer::attention;
    if (n_attn) {
      q_.resize(n_attn * N * C), k_.resize(n_attn * N * C), v_act_.resize(n_attn * N * C);
      att_.resize(n_attn * BHTT), att_drop_.resize(n_attn * BHTT);
      preatt_.resize(BHTT), datt_.resize(BHTT), dpreatt_.resize(BHTT);
      y_.resize(N * C), dy_.resize(N * C), dq_.resize(N * C), dk_.resize(N * C), dv_.resize(N * C);
      dqkv_.resize(N * 3 * C);
    }
    lnf_.resize(N * C);
    logits_.resize(N * V_), dlogits_.resize(N * V_), loss_rows_.resize(N);
    scalars_.resize(4);  // loss, grad norm
    tmp_.resize(N * 4 * C), dA_.resize(N * 4 * C), dh_.resize(N * C), dres_.resize(N * C);
    dbranch_.resize(N * C), dpre_.resize(N * 4 * C);
    partial_.resize(std::max({ln_partial_floats(N_, 4 * C_), grad_norm_partial_floats(),
                              size_t(max_chunks_) * C_}));
    attn_index_.assign(L_, -1);
    for (int l = 0, a = 0; l < L_; ++l)
      if (c.mixers[l] == Mixer::attention) attn_index_[l] = a++;
  }

  ~GptBackend() override {
    cudaStreamSynchronize(stream_);
    for (int i = 0; i < 2; ++i) {
      if (pinned_[i]) cudaFreeHost(pinned_[i]);
      if (staged_[i]) cudaEventDestroy(staged_[i]);
    }
    cudaStreamDestroy(stream_);
  }

  void set_parameters(const float* p) override {
    CG_CUDA_CHECK(cudaMemcpy(params_.ptr, p, P_ * 4, cudaMemcpyHostToDevice));
  }
  std::string description() const override {
    return "CUDA: " + device_name() + (sizeof(A) == 2 ? ", bf16 products" : ", f32");
  }

  void set_moments(const float* m, const float* v) override {
    CG_CUDA_CHECK(cudaMemcpy(m_.ptr, m, P_ * 4, cudaMemcpyHostToDevice));
    CG_CUDA_CHECK(cudaMemcpy(v_.ptr, v, P_ * 4, cudaMemcpyHostToDevice));
  }
  void get_parameters(float* p) override { download(p, params_.ptr); }
  void get_moments(float* m, float* v) override {
    download(m, m_.ptr);
    download(v, v_.ptr);
  }
  void get_gradients(float* g) override { download(g, grads_.ptr); }

  // Queued, no wait. Dropout masks count steps from 1 (steps_done + 1).
  void forward_backward(const uint32_t* inputs, const uint32_t* targets,
                        uint64_t steps_done) override {
    stage(inputs, targets);
    forward(true, steps_done + 1);
    backward(steps_done + 1);
  }

  // Queued, no wait; the norm stays on the device for the clip.
  void optimizer_step(const train::OptimizerStep& s) override {
    float* norm = scalars_.ptr + 1;
    cuda::grad_norm(norm, grads_.ptr, P_, partial_.ptr, stream_);
    const float beta1 = float(s.adamw.beta1), beta2 = float(s.adamw.beta2);
    const float bc1 = 1.0f - std::pow(beta1, float(s.t));
    const float bc2 = 1.0f - std::pow(beta2, float(s.t));
    adamw_update(params_.ptr, m_.ptr, v_.ptr, grads_.ptr, decay_.ptr, P_, float(s.lr), beta1,
                 beta2, float(s.adamw.eps), float(s.adamw.weight_decay), bc1, bc2, norm,
                 float(s.grad_clip), stream_);
  }

  double loss() override { return read_scalar(0); }
  double grad_norm() override { return read_scalar(1); }

  double eval_loss(const uint32_t* inputs, const uint32_t* targets) override {
    stage(inputs, targets);
    forward(false, 0);
    return read_scalar(0);
  }

  void get_logits(float* out) override {
    CG_CUDA_CHECK(cudaStreamSynchronize(stream_));
    CG_CUDA_CHECK(cudaMemcpy(out, logits_.ptr, size_t(N_) * V_ * 4, cudaMemcpyDeviceToHost));
  }

 private:
  void download(float* host, const float* dev) {
    CG_CUDA_CHECK(cudaStreamSynchronize(stream_));
    CG_CUDA_CHECK(cudaMemcpy(host, dev, P_ * 4, cudaMemcpyDeviceToHost));
  }
  float read_scalar(int i) {
    float v = 0;
    CG_CUDA_CHECK(cudaStreamSynchronize(stream_));
    CG_CUDA_CHECK(cudaMemcpy(&v, scalars_.ptr + i, 4, cudaMemcpyDeviceToHost));
    return v;
  }

  // Copies inputs, targets and the inputs bucketed by token (for the
  // embedding gradient) through a pinned buffer; two buffers alternate so the
  // host waits only for a copy issued a step earlier.
  void stage(const uint32_t* inputs, const uint32_t* targets) {
    const int slot = slot_ ^= 1;
    CG_CUDA_CHECK(cudaEventSynchronize(staged_[slot]));
    uint32_t* h = pinned_[slot];
    const size_t N = N_;
    std::memcpy(h, inputs, N * 4);
    std::memcpy(h + N, targets, N * 4);
    uint32_t* order = h + 2 * N;
    uint32_t* offsets = h + 3 * N;                  // V+1: positions of token v
    uint32_t* token_chunks = offsets + V_ + 1;      // V+1: chunks of token v
    uint32_t* chunk_start = token_chunks + V_ + 1;  // max_chunks_
    uint32_t* chunk_end = chunk_start + max_chunks_;
    std::fill(offsets, offsets + V_ + 1, 0u);
    for (size_t n = 0; n < N; ++n) {
      if (inputs[n] >= uint32_t(V_) || targets[n] >= uint32_t(V_))
        throw std::runtime_error("token id outside the vocabulary");
      offsets[inputs[n] + 1]++;
    }
    for (int v = 0; v < V_; ++v) offsets[v + 1] += offsets[v];
    std::vector<uint32_t> fill(offsets, offsets + V_);
    for (size_t n = 0; n < N; ++n) order[fill[inputs[n]]++] = uint32_t(n);
    const uint32_t chunk = embed_chunk_size();
    uint32_t k = 0;
    for (int v = 0; v < V_; ++v) {
      token_chunks[v] = k;
      for (uint32_t a = offsets[v]; a < offsets[v + 1]; a += chunk, ++k) {
        chunk_start[k] = a;
        chunk_end[k] = std::min(a + chunk, offsets[v + 1]);
      }
    }
    token_chunks[V_] = k;
    n_chunks_ = k;
    CG_CUDA_CHECK(cudaMemcpyAsync(tokens_.ptr, h, staging_words_ * 4, cudaMemcpyHostToDevice, stream_));
    CG_CUDA_CHECK(cudaEventRecord(staged_[slot], stream_));
  }

  const float* P(size_t off) const { return at<const float>(params_.ptr, off); }
  const A* PA(size_t off) const {
    if constexpr (sizeof(A) == 2) return at<const A>(params_act_.ptr, off);
    else return reinterpret_cast<const A*>(at<const float>(params_.ptr, off));
  }
  float* G(size_t off) { return at<float>(grads_.ptr, off); }
  size_t NC() const { return size_t(N_) * C_; }
  size_t BHTT() const { return size_t(B_) * H_ * T_ * T_; }
  uint64_t salt(uint64_t step, int layer, int site) const { return step * 4096 + layer * 8 + site; }

  // out (rows, out_f) = in (rows, in_f) . W^T, W (out_f, in_f); out in A.
  void linear(A* out, const A* in, size_t w_off, int rows, int out_f, int in_f) {
    GemmShape g{rows, out_f, in_f, false, true};
    g.out_act = true;
    gemm_.run(out, in, PA(w_off), g, 1.0f, 0.0f, stream_);
  }
  // dIn (rows, in_f) A = dOut (rows, out_f) . W
  void linear_dinput(A* din, const A* dout, size_t w_off, int rows, int out_f, int in_f) {
    GemmShape g{rows, in_f, out_f, false, false};
    g.out_act = true;
    gemm_.run(din, dout, PA(w_off), g, 1.0f, 0.0f, stream_);
  }
  // dW (out_f, in_f) f32 = dOut^T . in
  void linear_dweight(size_t w_off, const A* dout, const A* in, int rows, int out_f, int in_f) {
    gemm_.run(G(w_off), dout, in, GemmShape{out_f, in_f, rows, true, false}, 1.0f, 0.0f, stream_);
  }

  // Forward, top to bottom. Per layer l (N = B*T rows):
  //   ln1 = LN1(x_l)                         (fused into the previous residual add)
  //   m   = Mix(ln1)                          (shift mixer, or attention)
  //   x_mid = x_l + drop(m Wo^T + bo); ln2 = LN2(x_mid)       (one fused kernel)
  //   g   = GELU(ln2 W1^T + b1)
  //   x_{l+1} = x_mid + drop(g W2^T + b2); next LN            (one fused kernel)
  void forward(bool train, uint64_t step) {
    const int N = N_, C = C_, T = T_, H = H_, hs = C_ / std::max(1, H_);
    const float p = train ? opt_.dropout : 0.0f;
    const uint64_t seed = opt_.seed;
    const uint32_t* inputs = tokens_.ptr;
    const uint32_t* targets = tokens_.ptr + N;
    if constexpr (sizeof(A) == 2) cast_f32(params_act_.ptr, params_.ptr, P_, stream_);

    embed_forward(x_.ptr, inputs, P(off_.wte), P(off_.wpe), B_, T, C, p, seed, salt(step, 0, 0), stream_);
    layernorm_forward(ln1_.ptr, stats_.ptr, stats_.ptr + N, x_.ptr, P(off_.layers[0].ln1_w),
                      P(off_.layers[0].ln1_b), N, C, stream_);
    for (int l = 0; l < L_; ++l) {
      const LayerOffsets& w = off_.layers[l];
      float* x_in = x_.ptr + l * NC();
      float* x_mid = x_mid_.ptr + l * NC();
      A* ln1 = ln1_.ptr + l * NC();
      A* m = m_act_.ptr + l * NC();
      float* st = stats_.ptr + size_t(l) * 4 * N;
      if (cfg_.mixers[l] == Mixer::attention) {
        const int a = attn_index_[l];
        A *q = q_.ptr + a * NC(), *k = k_.ptr + a * NC(), *v = v_act_.ptr + a * NC();
        A *att = att_.ptr + a * BHTT(), *att_drop = att_drop_.ptr + a * BHTT();
        linear(tmp_.ptr, ln1, w.wqkv, N, 3 * C, C);
        qkv_split_forward(q, k, v, tmp_.ptr, P(w.bqkv), B_, T, C, H, stream_);
        gemm_.run(preatt_.ptr, q, k, GemmShape{T, T, hs, false, true, B_ * H, T * hs, T * hs, T * T},
                  1.0f, 0.0f, stream_);
        causal_softmax_forward(att, att_drop, preatt_.ptr, 1.0f / std::sqrt(float(hs)), B_ * H, T, p,
                               seed, salt(step, l, 1), stream_);
        gemm_.run(y_.ptr, att_drop, v, GemmShape{T, hs, T, false, false, B_ * H, T * T, T * hs, T * hs},
                  1.0f, 0.0f, stream_);
        merge_heads_forward(m, y_.ptr, B_, T, C, H, stream_);
      } else {
        shift_mix_forward(m, sel_.ptr + l * NC(), ln1, shift_scratch_.ptr, B_, T, C, cfg_.mixers[l],
                          stream_);
      }
      linear(tmp_.ptr, m, w.wo, N, C, C);
      A* ln2 = ln2_.ptr + l * NC();
      residual_layernorm_forward(x_mid, ln2, st + 2 * N, st + 3 * N, x_in, tmp_.ptr, P(w.bo),
                                 P(w.ln2_w), P(w.ln2_b), N, C, p, seed, salt(step, l, 2), stream_);
      A* pre = pre_.ptr + l * 4 * NC();
      A* g = gelu_.ptr + l * 4 * NC();
      linear(tmp_.ptr, ln2, w.fc1_w, N, 4 * C, C);
      bias_gelu_forward(pre, g, tmp_.ptr, P(w.fc1_b), N, 4 * C, stream_);
      linear(tmp_.ptr, g, w.fc2_w, N, C, 4 * C);
      // The next LayerNorm: layer l+1's LN1, or the final one.
      const bool last = l + 1 == L_;
      A* next_ln = last ? lnf_.ptr : ln1_.ptr + (l + 1) * NC();
      float* next_st = stats_.ptr + size_t(l + 1) * 4 * N;
      const float* nw = last ? P(off_.lnf_w) : P(off_.layers[l + 1].ln1_w);
      const float* nb = last ? P(off_.lnf_b) : P(off_.layers[l + 1].ln1_b);
      residual_layernorm_forward(x_.ptr + (l + 1) * NC(), next_ln, next_st, next_st + N, x_mid,
                                 tmp_.ptr, P(w.fc2_b), nw, nb, N, C, p, seed, salt(step, l, 3), stream_);
    }
    gemm_.run(logits_.ptr, lnf_.ptr, PA(off_.wte), GemmShape{N, V_, C, false, true}, 1.0f, 0.0f, stream_);
    crossentropy_forward_backward(loss_rows_.ptr, dlogits_.ptr, logits_.ptr, targets, N, V_, train,
                                  stream_);
    mean_reduce(scalars_.ptr, loss_rows_.ptr, N, stream_);
  }

  // Backward, bottom to top. dres is the residual stream's gradient (f32);
  // each LayerNorm backward adds to it and hands the branch below its
  // gradient through that branch's dropout (dbranch, A).
  void backward(uint64_t step) {
    const int N = N_, C = C_, T = T_, H = H_, hs = C_ / std::max(1, H_);
    const float p = opt_.dropout;
    const uint64_t seed = opt_.seed;
    CG_CUDA_CHECK(cudaMemsetAsync(grads_.ptr, 0, P_ * 4, stream_));
    CG_CUDA_CHECK(cudaMemsetAsync(dres_.ptr, 0, NC() * 4, stream_));
    // logits = lnf . wte^T
    gemm_.run(G(off_.wte), dlogits_.ptr, lnf_.ptr, GemmShape{V_, C, N, true, false}, 1.0f, 0.0f, stream_);
    linear_dinput(dA_.ptr, dlogits_.ptr, off_.wte, N, V_, C);
    const float* stf = stats_.ptr + size_t(L_) * 4 * N;
    layernorm_backward(dres_.ptr, G(off_.lnf_w), G(off_.lnf_b), dA_.ptr, x_.ptr + L_ * NC(),
                       P(off_.lnf_w), stf, stf + N, partial_.ptr, N, C, dbranch_.ptr, p, seed,
                       salt(step, L_ - 1, 3), stream_);
    for (int l = L_ - 1; l >= 0; --l) {
      const LayerOffsets& w = off_.layers[l];
      const float* st = stats_.ptr + size_t(l) * 4 * N;
      // MLP branch (dbranch holds its output gradient)
      bias_grad(G(w.fc2_b), dbranch_.ptr, partial_.ptr, N, C, stream_);
      linear_dweight(w.fc2_w, dbranch_.ptr, gelu_.ptr + l * 4 * NC(), N, C, 4 * C);
      linear_dinput(dA_.ptr, dbranch_.ptr, w.fc2_w, N, C, 4 * C);
      gelu_backward(dpre_.ptr, G(w.fc1_b), dA_.ptr, pre_.ptr + l * 4 * NC(), partial_.ptr, N, 4 * C,
                    stream_);
      linear_dweight(w.fc1_w, dpre_.ptr, ln2_.ptr + l * NC(), N, 4 * C, C);
      linear_dinput(dA_.ptr, dpre_.ptr, w.fc1_w, N, 4 * C, C);
      layernorm_backward(dres_.ptr, G(w.ln2_w), G(w.ln2_b), dA_.ptr, x_mid_.ptr + l * NC(),
                         P(w.ln2_w), st + 2 * N, st + 3 * N, partial_.ptr, N, C, dbranch_.ptr, p,
                         seed, salt(step, l, 2), stream_);
      // Mixer branch
      bias_grad(G(w.bo), dbranch_.ptr, partial_.ptr, N, C, stream_);
      linear_dweight(w.wo, dbranch_.ptr, m_act_.ptr + l * NC(), N, C, C);
      linear_dinput(dA_.ptr, dbranch_.ptr, w.wo, N, C, C);
      const A* ln1 = ln1_.ptr + l * NC();
      if (cfg_.mixers[l] == Mixer::attention) {
        const int a = attn_index_[l];
        const A *q = q_.ptr + a * NC(), *k = k_.ptr + a * NC(), *v = v_act_.ptr + a * NC();
        const A *att = att_.ptr + a * BHTT(), *att_drop = att_drop_.ptr + a * BHTT();
        merge_heads_backward(dy_.ptr, dA_.ptr, B_, T, C, H, stream_);
        gemm_.run(datt_.ptr, dy_.ptr, v, GemmShape{T, T, hs, false, true, B_ * H, T * hs, T * hs, T * T},
                  1.0f, 0.0f, stream_);
        gemm_.run(dv_.ptr, att_drop, dy_.ptr,
                  GemmShape{T, hs, T, true, false, B_ * H, T * T, T * hs, T * hs}, 1.0f, 0.0f, stream_);
        causal_softmax_backward(dpreatt_.ptr, datt_.ptr, att, 1.0f / std::sqrt(float(hs)), B_ * H, T,
                                p, seed, salt(step, l, 1), stream_);
        gemm_.run(dq_.ptr, dpreatt_.ptr, k, GemmShape{T, hs, T, false, false, B_ * H, T * T, T * hs, T * hs},
                  1.0f, 0.0f, stream_);
        gemm_.run(dk_.ptr, dpreatt_.ptr, q, GemmShape{T, hs, T, true, false, B_ * H, T * T, T * hs, T * hs},
                  1.0f, 0.0f, stream_);
        qkv_split_backward(dqkv_.ptr, G(w.bqkv), dq_.ptr, dk_.ptr, dv_.ptr, partial_.ptr, B_, T, C, H,
                           stream_);
        linear_dweight(w.wqkv, dqkv_.ptr, ln1, N, 3 * C, C);
        linear_dinput(dh_.ptr, dqkv_.ptr, w.wqkv, N, 3 * C, C);
      } else {
        shift_mix_backward(dh_.ptr, dA_.ptr, sel_.ptr + l * NC(), shift_scratch_.ptr, B_, T, C,
                           cfg_.mixers[l], stream_);
      }
      // Below layer 0 is the embedding, whose backward applies its own dropout.
      layernorm_backward(dres_.ptr, G(w.ln1_w), G(w.ln1_b), dh_.ptr, x_.ptr + l * NC(), P(w.ln1_w),
                         st, st + N, partial_.ptr, N, C, l > 0 ? dbranch_.ptr : nullptr, p, seed,
                         salt(step, l - 1, 3), stream_);
    }
    // The chunk table that stage() laid out after the inputs, targets and order.
    const uint32_t* token_chunks = tokens_.ptr + 3 * N + V_ + 1;
    const uint32_t* chunk_start = token_chunks + V_ + 1;
    embed_backward(G(off_.wte), G(off_.wpe), dres_.ptr, tokens_.ptr + 2 * N, token_chunks,
                   chunk_start, chunk_start + max_chunks_, n_chunks_, partial_.ptr, B_, T, C, V_, p,
                   seed, salt(step, 0, 0), stream_);
  }

  Config cfg_;
  train::BackendOptions opt_;
  Offsets off_;
  Gemm gemm_;
  cudaStream_t stream_ = nullptr;
  int B_, T_, N_, C_, V_, H_, L_;
  size_t P_;
  std::vector<int> attn_index_;
  DeviceBuffer<float> params_, grads_, m_, v_;
  DeviceBuffer<uint8_t> decay_;
  DeviceBuffer<A> params_act_;
  size_t staging_words_ = 0;
  uint32_t max_chunks_ = 0, n_chunks_ = 0;
  DeviceBuffer<uint32_t> tokens_;  // the staged words: see stage()
  uint32_t* pinned_[2] = {nullptr, nullptr};
  cudaEvent_t staged_[2] = {nullptr, nullptr};
  int slot_ = 0;
  // Activations saved for the backward pass.
  DeviceBuffer<float> x_, x_mid_, stats_;
  DeviceBuffer<A> ln1_, ln2_, m_act_, pre_, gelu_, q_, k_, v_act_, att_, att_drop_, lnf_;
  DeviceBuffer<uint8_t> sel_;
  DeviceBuffer<float> logits_, loss_rows_, scalars_;
  DeviceBuffer<A> dlogits_;
  // Scratch.
  DeviceBuffer<float> shift_scratch_, dres_, y_, preatt_, datt_, dq_, dk_, dv_, partial_;
  DeviceBuffer<A> tmp_, dA_, dh_, dbranch_, dpre_, dy_, dpreatt_, dqkv_;
};

}  // namespace

bool device_available(std::string* why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    if (why) *why = e != cudaSuccess ? std::string("no CUDA device: ") + cudaGetErrorString(e)
                                     : std::string("no CUDA device found");
    return false;
  }
  return true;
}

std::string device_name() {
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return "unknown";
  return prop.name;
}

namespace {
// The mixers this backend has kernels for (the shift family and attention);
// the others train on the CPU until their kernels land here.
bool has_kernels(Mixer m) {
  return m == Mixer::attention || m == Mixer::max || m == Mixer::min || mixer_uses_avg(m);
}
}  // namespace

std::unique_ptr<CudaBackend> create_backend(const train::BackendOptions& o, std::string* error) {
  const Config& c = o.model;
  for (uint32_t l = 0; l < c.n_layer; ++l)
    if (!has_kernels(c.mixers[l])) {
      *error = std::string("the CUDA trainer has no kernels for mixer '") + mixer_name(c.mixers[l]) +
               "' (layer " + std::to_string(l) + "): train it with --device cpu";
      return nullptr;
    }
  try {
    if (!device_available(error)) return nullptr;
    if (o.block_size < 1 || o.block_size > c.block_size || o.batch_size < 1) {
      *error = "batch/block size outside the model's limits";
      return nullptr;
    }
    if (c.n_embd % 2 != 0) {  // the GELU kernels move 8 values of 4C at a time
      *error = "the CUDA trainer needs an even n_embd";
      return nullptr;
    }
    if (o.bf16) return std::make_unique<GptBackend<__nv_bfloat16>>(c, o);
    return std::make_unique<GptBackend<float>>(c, o);
  } catch (const std::exception& e) {
    *error = e.what();
    return nullptr;
  }
}

}  // namespace causalgen::cuda
