#include "train/trainer.hpp"

#include "train/gemm.hpp"

#ifdef CAUSALGEN_HAVE_CUDA
#include "causalgen_cuda/trainer.hpp"
#endif

namespace causalgen::train {

namespace cuda_backend {
#ifdef CAUSALGEN_HAVE_CUDA
struct Backend {
  std::unique_ptr<cuda::Trainer> gpu;
};
#else
struct Backend {};
#endif
}  // namespace cuda_backend

void init_state(const TrainConfig& cfg, const TextData& data, TrainState* s) {
  *s = TrainState{};
  s->config = cfg;
  s->config.model.vocab_size = uint32_t(data.vocab.size());
  s->vocab = data.vocab;
  const ParamLayout lay(s->config.model);
  s->params = Flat::from_shape({lay.total});
  s->m = xt::zeros<float>({lay.total});
  s->v = xt::zeros<float>({lay.total});
  init_parameters(lay, cfg.seed, s->params.data());
  s->batch_rng.seed(cfg.seed, /*stream=*/0xba7c);
  s->threads = uint32_t(threads());
  s->data_bytes = data.text_bytes;
  s->data_crc = data.text_crc;
}

LrSchedule schedule_of(const TrainConfig& c) {
  return LrSchedule{c.learning_rate, c.min_lr, c.warmup_iters, c.lr_decay_iters};
}

AdamWParams adamw_of(const TrainConfig& c) {
  return AdamWParams{c.beta1, c.beta2, 1e-8, c.weight_decay};
}

Trainer::Trainer(TrainState& s) : s_(s) {
  const TrainConfig& c = s.config;
  gpt_ = std::make_unique<DataParallelGpt>(c.model, int(c.batch_size), int(c.model.block_size),
                                           threads());
  grads_ = xt::zeros<float>({gpt_->layout().total});
  x_.resize(size_t(c.batch_size) * c.model.block_size);
  y_.resize(x_.size());
}

Trainer::~Trainer() = default;

bool Trainer::use_cuda(bool bf16, std::string* err) {
#ifdef CAUSALGEN_HAVE_CUDA
  const TrainConfig& c = s_.config;
  cuda::TrainerOptions o;
  o.batch_size = c.batch_size;
  o.block_size = c.model.block_size;
  o.dropout = c.dropout;
  o.seed = c.seed;
  o.precision = bf16 ? cuda::Precision::bf16 : cuda::Precision::f32;
  auto gpu = cuda::Trainer::create(c.model, o, err);
  if (!gpu) {
    *err = "--device cuda: " + *err;
    return false;
  }
  gpu->set_parameters(s_.params.data());
  gpu->set_adam_state(s_.m.data(), s_.v.data());
  cuda_bf16_ = bf16;
  cuda_ = std::make_unique<cuda_backend::Backend>();
  cuda_->gpu = std::move(gpu);
  return true;
#else
  (void)bf16;
  *err = "--device cuda: this build has no CUDA support (build where nvcc is installed, "
         "-DCAUSALGEN_CUDA=ON)";
  return false;
#endif
}

std::string Trainer::device_description() const {
#ifdef CAUSALGEN_HAVE_CUDA
  if (cuda_) return "CUDA: " + cuda::device_name() + (cuda_bf16_ ? ", bf16 products" : ", f32");
#endif
  return "CPU, " + std::to_string(threads()) + " threads";
}

void Trainer::sync_to_state() {
#ifdef CAUSALGEN_HAVE_CUDA
  if (!cuda_) return;
  cuda_->gpu->get_parameters(s_.params.data());
  cuda_->gpu->get_adam_state(s_.m.data(), s_.v.data());
#endif
}

double Trainer::step(const TextData& data, double* grad_norm, double* lr_out) {
  const TrainConfig& c = s_.config;
  const int B = int(c.batch_size), T = int(c.model.block_size);
  sample_batch(data.train, B, T, s_.batch_rng, x_.data(), y_.data());
#ifdef CAUSALGEN_HAVE_CUDA
  if (cuda_) {
    // The same batch, schedule and AdamW settings as the CPU path; reading
    // the loss back is the step's only wait for the GPU.
    const double lr = schedule_of(c).at(s_.step);
    const AdamWParams h = adamw_of(c);
    cuda::AdamWParams p;
    p.lr = float(lr), p.beta1 = float(h.beta1), p.beta2 = float(h.beta2), p.eps = float(h.eps);
    p.weight_decay = float(h.weight_decay), p.grad_clip = float(c.grad_clip);
    cuda_->gpu->train_step(x_.data(), y_.data(), p, s_.step + 1);
    ++s_.step;
    const double loss = cuda_->gpu->last_loss();
    if (grad_norm) *grad_norm = cuda_->gpu->last_grad_norm();
    if (lr_out) *lr_out = lr;
    return loss;
  }
#endif
  const DropoutSpec drop{c.dropout, c.seed, s_.step};
  const double loss =
      gpt_->forward_backward(s_.params.data(), x_.data(), y_.data(), B, T, drop, grads_.data());
  const double norm = clip_grad_norm(grads_.data(), grads_.size(), c.grad_clip);
  const double lr = schedule_of(c).at(s_.step);
  adamw_step(gpt_->layout().tensors, s_.params.data(), grads_.data(), s_.m.data(), s_.v.data(), lr,
             s_.step + 1, adamw_of(c));
  ++s_.step;
  if (grad_norm) *grad_norm = norm;
  if (lr_out) *lr_out = lr;
  return loss;
}

bool Trainer::evaluate(const TextData& data, double* train_loss, double* val_loss,
                       const std::atomic<bool>* stop) {
  const TrainConfig& c = s_.config;
  const int B = int(c.batch_size), T = int(c.model.block_size);
  Rng rng;
  rng.seed(c.seed, 0xe7a1000000000000ULL ^ s_.step);
  double loss[2] = {0, 0};
  for (int split = 0; split < 2; ++split) {
    const std::vector<uint32_t>& d = data.split(split == 1);
    for (uint32_t i = 0; i < c.eval_iters; ++i) {
      if (stop && stop->load()) return false;
      sample_batch(d, B, T, rng, x_.data(), y_.data());
#ifdef CAUSALGEN_HAVE_CUDA
      if (cuda_) {
        loss[split] += cuda_->gpu->eval_loss(x_.data(), y_.data());
        continue;
      }
#endif
      loss[split] += gpt_->forward(s_.params.data(), x_.data(), y_.data(), B, T);
    }
    loss[split] /= c.eval_iters;
  }
  *train_loss = loss[0];
  *val_loss = loss[1];
  return true;
}

}  // namespace causalgen::train
