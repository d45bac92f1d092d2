// The all-reduce overlapped with the backward pass (gradient_exchange.hpp):
// the backward pass says truthfully when gradients are final (no value
// changes after it said so, for every mixer), the buckets cover the gradient
// once, last layer first, each started only when final and scaled by the
// rank's weight, and ranks with different thread counts start the same sums
// in the same order (else their non-blocking collectives would not match).
// The sums themselves are checked under mpirun (mpi_train.sh).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "train/loop/gradient_exchange.hpp"
#include "train/model/data_parallel.hpp"
#include "train/model/gemm.hpp"
#include "train/model/gpt.hpp"
#include "train_test_util.hpp"

using namespace causalgen;
using namespace causalgen::train;

namespace {

// Records the sums started; waits and progress are counted.
class RecordingComm final : public Communicator {
 public:
  explicit RecordingComm(const float* base) : base_(base) {}
  int rank() const override { return 0; }
  int size() const override { return 2; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 2; }
  void allreduce_sum(float*, size_t) override { FAIL("a blocking sum"); }
  void allreduce_sum(double*, size_t) override { FAIL("a blocking sum"); }
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(int code) override { std::exit(code); }
  std::string description() const override { return "recording"; }
  void start_allreduce_sum(float* d, size_t n) override {
    started.push_back({size_t(d - base_), n});
    values.emplace_back(d, d + n);  // as handed over (already scaled)
  }
  void progress() override { ++progressed; }
  void wait_all() override { ++waits; }
  void allgather_shards(float*, size_t) override {}
  void gather_shards(const float*, float*, size_t, int) override {}

  std::vector<std::pair<size_t, size_t>> started;  // (offset, count)
  std::vector<std::vector<float>> values;
  int progressed = 0, waits = 0;

 private:
  const float* base_;
};

Config hybrid_config() {
  Config c;
  c.vocab_size = 11;
  c.block_size = 8;
  c.n_embd = 16;
  c.n_head = 2;
  c.bias = true;
  c.pos_emb = true;
  const Mixer ms[] = {Mixer::attention, Mixer::max_avg, Mixer::ema, Mixer::mingru, Mixer::max_ema};
  c.n_layer = 5;
  std::copy(std::begin(ms), std::end(ms), c.mixers);
  return c;
}

std::vector<float> random_floats(size_t n, uint64_t seed, double scale) {
  const std::vector<double> d = train_test::randn(n, seed, scale);
  return std::vector<float>(d.begin(), d.end());
}

struct Batch {
  int B = 4, T = 8;
  std::vector<uint32_t> x, y;
  explicit Batch(uint32_t vocab) {
    for (int i = 0; i < B * T; ++i) {
      x.push_back(uint32_t(i * 7 + 3) % vocab);
      y.push_back(uint32_t(i * 5 + 1) % vocab);
    }
  }
};

}  // namespace

TEST_CASE("model: the backward pass tells when gradients are final, last layer first",
          "[train][model][overlap]") {
  const Config c = hybrid_config();
  const ParamLayout lay(c);
  Gpt<float> g(c, 4, 8);
  const Batch b(c.vocab_size);
  const std::vector<float> p = random_floats(lay.total, 5, 0.3);
  g.forward(p.data(), b.x.data(), b.y.data(), b.B, b.T, DropoutSpec{0.1f, 3, 2});
  std::vector<float> grads(lay.total, 0.0f);
  std::vector<std::pair<size_t, std::vector<float>>> told;  // first, grads[first..] then
  g.backward(p.data(), grads.data(), [&](size_t first) {
    told.push_back({first, std::vector<float>(grads.begin() + long(first), grads.end())});
  });
  // The final LayerNorm, each layer from the last, the embeddings.
  REQUIRE(told.size() == c.n_layer + 2);
  CHECK(told.front().first == lay.at(TensorRole::lnf_w));
  for (uint32_t l = 0; l < c.n_layer; ++l)
    CHECK(told[1 + (c.n_layer - 1 - l)].first == lay.at(TensorRole::ln1_w, l));
  CHECK(told.back().first == 0);
  // Nothing changed after it was said to be final (bit for bit).
  for (const auto& [first, then] : told) {
    INFO("final from " << first);
    CHECK(std::memcmp(then.data(), grads.data() + first, then.size() * sizeof(float)) == 0);
  }
  // And the gradient is the one backward() writes untold.
  std::vector<float> plain(lay.total);
  g.forward(p.data(), b.x.data(), b.y.data(), b.B, b.T, DropoutSpec{0.1f, 3, 2});
  g.backward(p.data(), plain.data());
  CHECK(plain == grads);
}

TEST_CASE("exchange: buckets cover the gradient once, last layer first, each started when final",
          "[train][overlap]") {
  const Config c = hybrid_config();
  const ParamLayout lay(c);
  std::vector<float> grads(lay.total, 2.0f);
  RecordingComm comm(grads.data());

  // One bucket per layer when every layer is big enough; the final LayerNorm
  // (2 C values) joins the last layer.
  const size_t layer_floats = lay.at(TensorRole::ln1_w, 1) - lay.at(TensorRole::ln1_w, 0);
  GradientExchange per_layer(comm, lay, layer_floats / 2);
  REQUIRE(per_layer.buckets().size() == c.n_layer + 1);
  size_t end = lay.total;
  for (const auto& bk : per_layer.buckets()) {
    CHECK(bk.first + bk.count == end);
    end = bk.first;
  }
  CHECK(end == 0);
  CHECK(per_layer.buckets().front().first == lay.at(TensorRole::ln1_w, c.n_layer - 1));

  // Tiny minimum: nothing merges but the final LayerNorm stays its own.
  CHECK(GradientExchange(comm, lay, 1).buckets().size() == c.n_layer + 2);
  // Huge minimum: one bucket, the whole gradient.
  const GradientExchange whole(comm, lay, lay.total * 2);
  REQUIRE(whole.buckets().size() == 1);
  CHECK(whole.buckets()[0].count == lay.total);

  // A step: only final buckets start, scaled by the weight, in order.
  per_layer.begin(grads.data(), 0.25f);
  per_layer.ready(lay.at(TensorRole::lnf_w));  // the last layer is not done yet
  CHECK(comm.started.empty());
  per_layer.ready(lay.at(TensorRole::ln1_w, c.n_layer - 2));  // two layers done
  REQUIRE(comm.started.size() == 2);
  CHECK(comm.started[0].first == lay.at(TensorRole::ln1_w, c.n_layer - 1));
  CHECK(comm.started[1].first == lay.at(TensorRole::ln1_w, c.n_layer - 2));
  CHECK(grads[lay.total - 1] == 0.5f);  // scaled
  CHECK(grads[0] == 2.0f);              // not yet
  CHECK(comm.waits == 0);
  CHECK(comm.progressed == 2);
  per_layer.finish();
  CHECK(comm.waits == 1);
  REQUIRE(comm.started.size() == per_layer.buckets().size());
  for (size_t i = 0; i < comm.started.size(); ++i) {
    CHECK(comm.started[i].first == per_layer.buckets()[i].first);
    CHECK(comm.started[i].second == per_layer.buckets()[i].count);
  }
  CHECK(std::all_of(grads.begin(), grads.end(), [](float v) { return v == 0.5f; }));
}

TEST_CASE("exchange: ranks of 1 and 2 threads start the same sums of the same values",
          "[train][overlap]") {
  // Rank A computes its rows in one part (told layer by layer), rank B in two
  // (told once, after its parts are combined): the same buckets must start in
  // the same order, and each holds w * (the rows' gradient).
  const Config c = hybrid_config();
  const ParamLayout lay(c);
  const Batch b(c.vocab_size);
  const std::vector<float> p = random_floats(lay.total, 6, 0.3);
  std::vector<std::vector<std::pair<size_t, size_t>>> orders;
  for (int parts : {1, 2}) {
    set_threads(parts);
    DataParallelGpt model(c, b.B, b.T, parts);
    REQUIRE(model.parts() == parts);
    std::vector<float> grads(lay.total);
    RecordingComm comm(grads.data());
    GradientExchange ex(comm, lay, 1);
    ex.begin(grads.data(), 0.5f);
    model.forward_backward(p.data(), b.x.data(), b.y.data(), b.B, b.T, DropoutSpec{}, grads.data(),
                           [&](size_t first) { ex.ready(first); });
    ex.finish();
    // One part is told after every layer (and finish() once more); two parts
    // once, after their gradients are combined.
    CHECK(comm.progressed == (parts == 1 ? int(c.n_layer) + 3 : 2));
    orders.push_back(comm.started);
    CHECK(comm.started.size() == ex.buckets().size());
  }
  set_threads(1);
  CHECK(orders[0] == orders[1]);
}
