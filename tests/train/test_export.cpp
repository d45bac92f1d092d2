// The exported model file, run by the core's own forward pass, gives the
// trainer's logits and loss (within float rounding: the core fixes its own
// summation order).
#include <catch2/catch.hpp>

#include <cmath>

#include "causalgen/causalgen.hpp"
#include "host/model_io.hpp"
#include "train/loop/eval.hpp"
#include "train/io/export.hpp"
#include "train/model/gemm.hpp"
#include "train/loop/trainer.hpp"
#include "train_test_util.hpp"

using namespace causalgen;
using namespace causalgen::train;

namespace {

void check_export(TrainOverrides o, const TextData& data) {
  std::string err;
  TrainConfig c;
  o.set("batch_size", 4), o.set("block_size", 32), o.set("n_embd", 32), o.set("n_head", 4);
  o.set("max_iters", 30), o.set("warmup_iters", 2), o.set("learning_rate", 3e-3);
  REQUIRE(resolve_config(o, &c, &err));
  TrainState s;
  init_state(c, data, &s);
  Trainer tr(s);
  for (int i = 0; i < 30; ++i) tr.step(data);  // trained weights, not the init's
  std::vector<uint8_t> bytes;
  REQUIRE(model_bytes(s, &bytes, &err));
  host::AlignedBytes ab = host::aligned_bytes(bytes.size());
  std::copy(bytes.begin(), bytes.end(), ab.data.get());
  Model m;
  Error e;
  REQUIRE(parse_model(ab.data.get(), ab.size, &m, &e) == Status::ok);
  // Logits of one window.
  const int T = int(c.model.block_size), V = int(data.vocab.size());
  const uint32_t* x = data.val.data();
  Gpt<float> g(s.config.model, 1, T);
  g.forward(s.params.data(), x, nullptr, 1, T);
  std::vector<float> core_logits(size_t(T) * V);
  host::AlignedBytes arena = host::aligned_bytes(forward_arena_bytes(m.config, uint32_t(T)));
  REQUIRE(forward_sequence(m, x, uint32_t(T), core_logits.data(), arena.data.get(), arena.size,
                           &e) == Status::ok);
  float worst = 0;
  for (size_t i = 0; i < core_logits.size(); ++i)
    worst = std::max(worst, std::fabs(core_logits[i] - g.logits()[i]));
  CHECK(worst < 1e-4f);
  // Losses over the whole validation split, both ways.
  DataParallelGpt dp(s.config.model, 8, T, threads());
  const FullPass a = full_pass_loss(dp, s.params.data(), data.val, 8, T);
  const FullPass b = core_full_pass_loss(m, data.val, T, &err);
  CHECK(a.tokens == b.tokens);
  CHECK(std::fabs(a.loss - b.loss) < 1e-4);
  CHECK(a.loss < std::log(double(V)));  // it learned something
  // And the model's parameters read back are the checkpoint's.
  std::vector<float> back;
  std::vector<uint32_t> vocab;
  REQUIRE(params_from_model(m, &back, &vocab, &err));
  CHECK(std::equal(back.begin(), back.end(), s.params.begin()));
  CHECK(vocab == s.vocab);
}

}  // namespace

TEST_CASE("export: core forward on the model file == trainer forward", "[train][export]") {
  set_threads(2);
  train_test::TempDir d;
  train_test::write_text(d.file("t.txt"), train_test::synthetic_text(30000));
  TextData data;
  std::string err;
  REQUIRE(load_text_data(d.file("t.txt"), &data, &err));
  for (uint32_t i = 0; i < mixer_count(); ++i) {
    const Mixer mx = mixer_at(i);
    INFO("mixer " << mixer_name(mx));
    TrainOverrides o;
    o.set("n_layer", 2);
    o.set("mixer", MixerList{mx});
    check_export(o, data);
  }
  {
    INFO("hybrid, no bias, no position embedding");
    TrainOverrides o;
    o.set("mixer", MixerList{Mixer::min_avg, Mixer::attention, Mixer::max});
    o.set("bias", false);
    o.set("pos_emb", false);
    check_export(o, data);
  }
  {
    INFO("mingru + local with a window shorter than T");
    TrainOverrides o;
    o.set("mixer", MixerList{Mixer::mingru, Mixer::local});
    o.set("window", uint32_t(7));
    check_export(o, data);
  }
  {
    INFO("shift mixers with position embedding");
    TrainOverrides o;
    o.set("n_layer", 2);
    o.set("mixer", MixerList{Mixer::max_avg});
    o.set("pos_emb", true);
    check_export(o, data);
  }
}
