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
#include "gradient_allreduce.hpp"
#include "layers.cuh"
#include "mixers/mixer.cuh"

namespace causalgen::cuda {

namespace {

constexpr size_t kAbsent = ~size_t(0);

// Offsets (in floats) of each tensor in the flat buffer.
struct LayerOffsets {
  size_t ln1_w = kAbsent, ln1_b = kAbsent, mixer_w = kAbsent, mixer_b = kAbsent, wo = kAbsent,
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

// This process's share of a run on several GPUs, one per rank
// (docs/distributed.md): its rows of each global batch, and the sum of the
// ranks' weighted gradients (NCCL) after each backward pass.
struct RankShare {
  train::Communicator* comm = nullptr;  // null: this process alone
  train::RowSlice rows;
  uint32_t global_batch = 0, block = 0;
  std::unique_ptr<GradientAllReduce> allreduce;
  size_t input_offset() const { return size_t(rows.first) * block; }
  // This rank's mean loss over its rows -> the global batch's.
  double global_mean(double local) const {
    if (!comm) return local;
    double sum = local * rows.count;
    comm->allreduce_sum(&sum, 1);
    return sum / global_batch;
  }
};

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

    const size_t N = N_, C = C_;
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
    carve_mixers(c);
    lnf_.resize(N * C);
    logits_.resize(N * V_), dlogits_.resize(N * V_), loss_rows_.resize(N);
    scalars_.resize(4);  // loss, grad norm
    tmp_.resize(N * 4 * C), dA_.resize(N * 4 * C), dh_.resize(N * C), dres_.resize(N * C);
    dbranch_.resize(N * C), dpre_.resize(N * 4 * C);
    partial_.resize(std::max({ln_partial_floats(N_, 4 * C_), grad_norm_partial_floats(),
                              size_t(max_chunks_) * C_}));
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
    stage(inputs + share_.input_offset(), targets + share_.input_offset());
    forward(true, steps_done + 1);
    backward(steps_done + 1);
    if (share_.allreduce) share_.allreduce->sum(grads_.ptr, P_, stream_);
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

  double loss() override { return share_.global_mean(read_scalar(0)); }
  double grad_norm() override { return read_scalar(1); }

  double eval_loss(const uint32_t* inputs, const uint32_t* targets) override {
    stage(inputs + share_.input_offset(), targets + share_.input_offset());
    forward(false, 0);
    return share_.global_mean(read_scalar(0));
  }

  // Several GPUs: this rank's rows and the gradient sum (create_backend).
  void share(RankShare s) { share_ = std::move(s); }

  void get_logits(float* out) override {
    CG_CUDA_CHECK(cudaStreamSynchronize(stream_));
    CG_CUDA_CHECK(cudaMemcpy(out, logits_.ptr, size_t(N_) * V_ * 4, cudaMemcpyDeviceToHost));
  }

 private:
  // Each layer's mixer (mixers/registry.cu), its saved block (laid out one
  // after another) and one scratch block for the largest need of any layer.
  void carve_mixers(const Config& c) {
    const mixers::Shape shape{B_, T_, C_, H_};
    mixers::Carver saved;
    size_t scratch = 0;
    for (int l = 0; l < L_; ++l) {
      const mixers::CudaMixer<A>* m = mixers::find<A>(c.mixers[l]);
      if (!m)
        throw std::runtime_error(std::string("the CUDA trainer has no mixer ") +
                                 mixer_name(c.mixers[l]));
      mixer_.push_back(m);
      saved_at_.push_back(saved.bytes());
      saved.take<uint8_t>(m->saved_bytes(shape));
      scratch = std::max(scratch, m->scratch_bytes(shape));
    }
    mixer_saved_.resize(saved.bytes());
    mixer_scratch_.resize(scratch);
  }

  // Layer l's mixer pass, less its direction's input and output (m; dm, dh).
  mixers::Pass<A> mixer_pass(int l, float p, uint64_t step) {
    const LayerOffsets& w = off_.layers[l];
    mixers::Pass<A> a{};
    a.code = cfg_.mixers[l];
    a.config = &cfg_;
    a.shape = {B_, T_, C_, H_};
    a.h = ln1_.ptr + l * NC();
    a.saved = mixer_saved_.ptr + saved_at_[l];
    a.scratch = mixer_scratch_.ptr;
    a.partial = partial_.ptr;
    a.w = PA(w.mixer_w), a.b = P(w.mixer_b), a.dw = G(w.mixer_w), a.db = G(w.mixer_b);
    a.p = p, a.seed = opt_.seed, a.salt = salt(step, l, 1);
    a.gemm = &gemm_;
    a.stream = stream_;
    return a;
  }

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
  // A dropout mask's salt. Sites: 0 of layer 0 the embedding; 1 layer l's
  // mixer (its Pass::salt), 2 and 3 its two residual branches.
  uint64_t salt(uint64_t step, int layer, int site) const { return step * 4096 + layer * 8 + site; }

  // The products with the weight at w_off (gemm.cuh).
  void linear(A* out, const A* in, size_t w_off, int rows, int out_f, int in_f) {
    linear_forward(gemm_, out, in, PA(w_off), rows, out_f, in_f, stream_);
  }
  void linear_dinput(A* din, const A* dout, size_t w_off, int rows, int out_f, int in_f) {
    cuda::linear_dinput(gemm_, din, dout, PA(w_off), rows, out_f, in_f, stream_);
  }
  void linear_dweight(size_t w_off, const A* dout, const A* in, int rows, int out_f, int in_f) {
    cuda::linear_dweight(gemm_, G(w_off), dout, in, rows, out_f, in_f, stream_);
  }

  // Forward, top to bottom. Per layer l (N = B*T rows):
  //   ln1 = LN1(x_l)                         (fused into the previous residual add)
  //   m   = Mix(ln1)                          (the layer's mixer: mixers/)
  //   x_mid = x_l + drop(m Wo^T + bo); ln2 = LN2(x_mid)       (one fused kernel)
  //   g   = GELU(ln2 W1^T + b1)
  //   x_{l+1} = x_mid + drop(g W2^T + b2); next LN            (one fused kernel)
  void forward(bool train, uint64_t step) {
    const int N = N_, C = C_, T = T_;
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
      A* m = m_act_.ptr + l * NC();
      float* st = stats_.ptr + size_t(l) * 4 * N;
      mixers::Pass<A> mix = mixer_pass(l, p, step);
      mix.m = m;
      mixer_[l]->forward(mix);
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
    const int N = N_, C = C_, T = T_;
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
      mixers::Pass<A> mix = mixer_pass(l, p, step);
      mix.dm = dA_.ptr;
      mix.dh = dh_.ptr;
      mixer_[l]->backward(mix);
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
  RankShare share_;
  Offsets off_;
  Gemm gemm_;
  cudaStream_t stream_ = nullptr;
  int B_, T_, N_, C_, V_, H_, L_;
  size_t P_;
  std::vector<const mixers::CudaMixer<A>*> mixer_;  // per layer
  std::vector<size_t> saved_at_;                    // per layer: its block in mixer_saved_
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
  DeviceBuffer<A> ln1_, ln2_, m_act_, pre_, gelu_, lnf_;
  DeviceBuffer<uint8_t> mixer_saved_;
  DeviceBuffer<float> logits_, loss_rows_, scalars_;
  DeviceBuffer<A> dlogits_;
  // Scratch.
  DeviceBuffer<float> dres_, partial_;
  DeviceBuffer<A> tmp_, dA_, dh_, dbranch_, dpre_;
  DeviceBuffer<uint8_t> mixer_scratch_;
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
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || cudaGetDeviceProperties(&prop, device) != cudaSuccess)
    return "unknown";
  return prop.name;
}

namespace {

// One GPU per node-local rank, this rank's rows (a batch of its own size
// for the backend, dropout masks of its own), and NCCL. Collective.
bool join_ranks(const train::BackendOptions& o, train::BackendOptions* local, RankShare* share,
                std::string* error) {
  train::Communicator& comm = *o.comm;
  int devices = 0;
  cudaGetDeviceCount(&devices);
  double short_of_gpus = comm.local_size() > devices ? 1.0 : 0.0;
  comm.allreduce_sum(&short_of_gpus, 1);  // every rank stops, or none
  if (short_of_gpus != 0.0) {
    *error = std::to_string(comm.local_size()) + " ranks on a machine with " +
             std::to_string(devices) + " GPUs: start one rank per GPU";
    return false;
  }
  CG_CUDA_CHECK(cudaSetDevice(comm.local_rank()));
  share->comm = &comm;
  share->rows = train::rows_of_rank(o.batch_size, comm.rank(), comm.size());
  share->global_batch = o.batch_size;
  share->block = o.block_size;
  local->batch_size = share->rows.count;
  local->seed = o.seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t(comm.rank()) + 1));
  local->comm = nullptr;
  const float weight = float(double(share->rows.count) / o.batch_size);
  share->allreduce = open_gradient_allreduce(comm, weight, error);
  return share->allreduce != nullptr;
}

template <class A>
std::unique_ptr<CudaBackend> make_backend(const Config& c, const train::BackendOptions& o,
                                          RankShare share) {
  auto b = std::make_unique<GptBackend<A>>(c, o);
  b->share(std::move(share));
  return b;
}

}  // namespace

std::unique_ptr<CudaBackend> create_backend(const train::BackendOptions& o, std::string* error) {
  const Config& c = o.model;
  for (uint32_t l = 0; l < c.n_layer; ++l)
    if (!mixers::find<float>(c.mixers[l])) {  // kernels land here after the CPU trainer's
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
    train::BackendOptions local = o;
    RankShare share;
    if (o.comm && o.comm->size() > 1 && !join_ranks(o, &local, &share, error)) return nullptr;
    if (o.bf16) return make_backend<__nv_bfloat16>(c, local, std::move(share));
    return make_backend<float>(c, local, std::move(share));
  } catch (const std::exception& e) {
    *error = e.what();
    return nullptr;
  }
}

}  // namespace causalgen::cuda
