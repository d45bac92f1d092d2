#include "train/loop/trainer.hpp"

#include "train/loop/collectives.hpp"
#include "train/loop/cpu_backend.hpp"
#include "train/model/gemm.hpp"

namespace causalgen::train {

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

BackendOptions backend_options(const TrainConfig& c, bool bf16, Communicator* comm) {
  BackendOptions o;
  o.model = c.model;
  o.batch_size = c.batch_size;
  o.block_size = c.model.block_size;
  o.dropout = c.dropout;
  o.seed = c.seed;
  o.bf16 = bf16;
  o.comm = comm;
  o.overlap_allreduce = c.overlap_allreduce;
  o.shard_moments = c.zero_stage == 1;
  return o;
}

Trainer::Trainer(TrainState& s, Communicator* comm)
    : Trainer(s,
              std::make_unique<CpuBackend>(backend_options(s.config, true, comm), s.params.data(),
                                           s.m.data(), s.v.data()),
              comm) {}

Trainer::Trainer(TrainState& s, std::unique_ptr<Backend> backend, Communicator* comm)
    : s_(s), backend_(std::move(backend)), comm_(comm) {
  backend_->set_parameters(s_.params.data());
  backend_->set_moments(s_.m.data(), s_.v.data());
  drop_synced_moments();  // ZeRO-1: the backend holds this rank's shard
  x_.resize(size_t(s.config.batch_size) * s.config.model.block_size);
  y_.resize(x_.size());
}

Trainer::~Trainer() = default;

void Trainer::sync_to_state() {
  backend_->get_parameters(s_.params.data());
  if (backend_->moments_sharded() && (!comm_ || comm_->rank() == 0)) {
    s_.m = Flat::from_shape({s_.params.size()});
    s_.v = Flat::from_shape({s_.params.size()});
  }
  backend_->get_moments(s_.m.size() ? s_.m.data() : nullptr, s_.v.size() ? s_.v.data() : nullptr);
}

void Trainer::drop_synced_moments() {
  if (!backend_->moments_sharded()) return;
  s_.m = Flat::from_shape({0});
  s_.v = Flat::from_shape({0});
}

double Trainer::step(const TextData& data, double* grad_norm, double* lr_out) {
  const TrainConfig& c = s_.config;
  const int B = int(c.batch_size), T = int(c.model.block_size);
  sample_batch(data.train, B, T, s_.batch_rng, x_.data(), y_.data());
  const double lr = schedule_of(c).at(s_.step);
  backend_->forward_backward(x_.data(), y_.data(), s_.step);
  backend_->optimizer_step(OptimizerStep{lr, s_.step + 1, adamw_of(c), c.grad_clip});
  ++s_.step;
  // On a GPU, reading the loss back is the step's only wait.
  const double loss = backend_->loss();
  if (grad_norm) *grad_norm = backend_->grad_norm();
  if (lr_out) *lr_out = lr;
  return loss;
}

bool Trainer::stop_anywhere(bool here) { return comm_ ? any_rank(*comm_, here) : here; }

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
      if (stop && stop_anywhere(stop->load())) return false;
      sample_batch(d, B, T, rng, x_.data(), y_.data());
      loss[split] += backend_->eval_loss(x_.data(), y_.data());
    }
    loss[split] /= c.eval_iters;
  }
  *train_loss = loss[0];
  *val_loss = loss[1];
  return true;
}

}  // namespace causalgen::train
