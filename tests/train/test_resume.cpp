// Resume exactness: N steps straight and N/2 + resume + N/2 give bit-identical
// parameters, moments, generator state and history (same thread count). And
// the run's guard rails: resume without a checkpoint, changed settings,
// other data, an occupied output folder.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "train/io/checkpoint.hpp"
#include "train/loop/train_loop.hpp"
#include "train_test_util.hpp"

using namespace causalgen;
using namespace causalgen::train;
using train_test::TempDir;

namespace {

TrainOverrides small_run(uint32_t threads) {
  TrainOverrides o;
  o.set("n_layer", 2), o.set("n_embd", 32), o.set("n_head", 2), o.set("block_size", 16);
  o.set("batch_size", 4), o.set("max_iters", 24), o.set("eval_interval", 8);
  o.set("eval_iters", 2), o.set("warmup_iters", 5);
  o.set("mixer", MixerList{Mixer::max_avg, Mixer::attention});
  o.set("dropout", 0.1);  // the masks must continue exactly too
  o.set("threads", threads);
  o.set("seed", 99);
  return o;
}

int run(const std::string& data, const std::string& dir, const TrainOverrides& o, bool resume,
        uint64_t stop_at, std::string* err) {
  TrainRunOptions ro;
  ro.data_path = data;
  ro.out_dir = dir;
  ro.overrides = o;
  ro.resume = resume;
  ro.stop_at = stop_at;
  ro.out = nullptr;
  TrainRunResult r;
  return run_training(ro, &r, err);
}

TrainState load(const std::string& path) {
  TrainState s;
  std::string err;
  INFO(err);
  REQUIRE(load_checkpoint(path, &s, &err));
  return s;
}

void require_identical(const TrainState& a, const TrainState& b) {
  REQUIRE(a.step == b.step);
  REQUIRE(a.params.size() == b.params.size());
  CHECK(std::memcmp(a.params.data(), b.params.data(), a.params.size() * 4) == 0);
  CHECK(std::memcmp(a.m.data(), b.m.data(), a.m.size() * 4) == 0);
  CHECK(std::memcmp(a.v.data(), b.v.data(), a.v.size() * 4) == 0);
  CHECK(std::memcmp(a.batch_rng.s, b.batch_rng.s, sizeof a.batch_rng.s) == 0);
  REQUIRE(a.iters.size() == b.iters.size());
  for (size_t i = 0; i < a.iters.size(); ++i) {
    CHECK(a.iters[i].step == b.iters[i].step);
    CHECK(a.iters[i].loss == b.iters[i].loss);
    CHECK(a.iters[i].grad_norm == b.iters[i].grad_norm);
  }
  REQUIRE(a.evals.size() == b.evals.size());
  for (size_t i = 0; i < a.evals.size(); ++i) {
    CHECK(a.evals[i].step == b.evals[i].step);
    CHECK(a.evals[i].val_loss == b.evals[i].val_loss);
  }
  CHECK(a.best_val == b.best_val);
  CHECK(a.best_step == b.best_step);
}

}  // namespace

TEST_CASE("resume: N straight == N/2 + resume + N/2, bit for bit", "[train][resume]") {
  TempDir d;
  const std::string data = d.file("text.txt");
  train_test::write_text(data, train_test::synthetic_text(20000));
  for (uint32_t threads : {1u, 2u}) {
    for (uint64_t stop : {12u, 7u}) {  // on an evaluation step and between
      INFO("threads " << threads << ", stop at " << stop);
      const std::string a = d.file("a" + std::to_string(threads) + "_" + std::to_string(stop));
      const std::string b = d.file("b" + std::to_string(threads) + "_" + std::to_string(stop));
      std::string err;
      REQUIRE(run(data, a, small_run(threads), false, 0, &err) == 0);
      REQUIRE(run(data, b, small_run(threads), false, stop, &err) == 130);
      CHECK(load(b + "/ckpt_last.cgc").step == stop);
      TrainOverrides again;  // nothing but what the checkpoint holds
      INFO(err);
      REQUIRE(run(data, b, again, true, 0, &err) == 0);
      const TrainState sa = load(a + "/ckpt_last.cgc"), sb = load(b + "/ckpt_last.cgc");
      CHECK(sa.step == 24);
      require_identical(sa, sb);
      require_identical(load(a + "/ckpt_best.cgc"), load(b + "/ckpt_best.cgc"));
      // The logs of the resumed run hold each step once.
      std::ifstream log(b + "/log.csv");
      const auto lines = std::count(std::istreambuf_iterator<char>(log), {}, '\n');
      CHECK(lines == 24 + 1);
    }
  }
}

TEST_CASE("resume: guard rails give clear errors", "[train][resume]") {
  TempDir d;
  const std::string data = d.file("text.txt");
  train_test::write_text(data, train_test::synthetic_text(20000));
  std::string err;
  // No checkpoint to resume.
  CHECK(run(data, d.file("none"), {}, true, 0, &err) == 1);
  CHECK(err.find("--resume") != std::string::npos);
  CHECK(err.find("does not exist") != std::string::npos);
  // A finished run: a fresh run may not overwrite it; a resume may not
  // change the model or the optimisation, but may extend max_iters.
  TrainOverrides o = small_run(1);
  o.set("max_iters", 4);
  REQUIRE(run(data, d.file("r"), o, false, 0, &err) == 0);
  CHECK(run(data, d.file("r"), o, false, 0, &err) == 1);
  CHECK(err.find("already holds a run") != std::string::npos);
  TrainOverrides lr;
  lr.set("learning_rate", 0.1);
  CHECK(run(data, d.file("r"), lr, true, 0, &err) == 1);
  CHECK(err.find("learning_rate 0.1 differs from its 0.001") != std::string::npos);
  // The same settings given again are fine (the same command plus --resume).
  o.set("max_iters", 5);
  CHECK(run(data, d.file("r"), o, true, 0, &err) == 0);
  TrainOverrides more;
  more.set("max_iters", 6);
  INFO(err);
  CHECK(run(data, d.file("r"), more, true, 0, &err) == 0);
  CHECK(load(d.file("r") + "/ckpt_last.cgc").step == 6);
  // Nothing left to train (max_iters at or below the step): refused.
  CHECK(run(data, d.file("r"), more, true, 0, &err) == 1);
  CHECK(err.find("is at step 6 and --max-iters is 6: nothing to train") != std::string::npos);
  more.set("max_iters", 7);
  // Other data.
  const std::string other = d.file("other.txt");
  train_test::write_text(other, train_test::synthetic_text(20000, 8));
  CHECK(run(other, d.file("r"), more, true, 0, &err) == 1);
  CHECK(err.find("not the text this run was trained on") != std::string::npos);
  // A window larger than the data.
  TrainOverrides big = small_run(1);
  big.set("block_size", 5000);
  CHECK(run(data, d.file("big"), big, false, 0, &err) == 1);
  CHECK(err.find("fewer than one window") != std::string::npos);
}
