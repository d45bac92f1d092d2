// A short training run on tiny Shakespeare: the validation loss must fall
// well below an untrained model's (ln 65 = 4.17).
#include <catch2/catch.hpp>

#include <cmath>

#include "train/loop/train_loop.hpp"
#include "train_test_util.hpp"

using namespace causalgen;
using namespace causalgen::train;

TEST_CASE("end to end: 250 steps of tiny on tiny Shakespeare reach val loss < 2.6", "[train][e2e]") {
  if (!train_test::have_shakespeare()) {
    WARN("SKIPPED: " << train_test::shakespeare_path()
                     << " not found (the corpus is not in the repository)");
    return;
  }
  train_test::TempDir d;
  TrainRunOptions ro;
  ro.data_path = train_test::shakespeare_path();
  ro.out_dir = d.file("run");
  ro.overrides.set("base", "tiny");
  ro.overrides.set("mixer", MixerList{Mixer::max_avg});
  ro.overrides.set("max_iters", 250);
  ro.overrides.set("eval_interval", 125);
  ro.overrides.set("threads", 2);
  ro.out = nullptr;
  TrainRunResult r;
  std::string err;
  REQUIRE(run_training(ro, &r, &err) == 0);
  INFO("val loss " << r.val_loss << ", " << r.tokens_per_s << " tokens/s");
  CHECK(r.step == 250);
  CHECK(r.val_loss < 2.6);
  CHECK(r.val_loss < std::log(65.0) - 1.5);
  CHECK(std::filesystem::exists(d.file("run/loss.svg")));
}
