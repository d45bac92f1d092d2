// The hyperparameter table (lib/train/loop/hyperparams.hpp) and what is derived
// from it: defaults, ranges and their messages, the JSON reader and writer,
// the resume rules, and the settings in checkpoints, old (version 1, a file
// written before the table existed) and new.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "train/io/checkpoint.hpp"
#include "train/loop/hyperparams.hpp"
#include "train/loop/train_config.hpp"
#include "train/loop/train_loop.hpp"
#include "train_test_util.hpp"

using namespace causalgen;
using namespace causalgen::train;

namespace {

const std::string kV1Dir = std::string(CAUSALGEN_TEST_DATA) + "/checkpoint_v1";

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TrainConfig resolved(const TrainOverrides& o) {
  TrainConfig c;
  std::string err;
  INFO(err);
  REQUIRE(resolve_config(o, &c, &err));
  return c;
}

// The run recorded in tests/data/checkpoint_v1/config.json (by the old code).
// That config.json as this code writes it: the old file byte for byte, then
// the rows added since (per-run settings at their defaults).
std::string v1_config_json_now() {
  std::string old = read_all(kV1Dir + "/config.json");
  REQUIRE(old.size() > 3);
  REQUIRE(old.substr(old.size() - 3) == "\n}\n");
  return old.substr(0, old.size() - 3) +
         ",\n  \"overlap_allreduce\": true,\n  \"zero_stage\": 0\n}\n";
}

TrainConfig v1_run_config() {
  TrainOverrides o;
  std::string err;
  INFO(err);
  REQUIRE(load_config_json(kV1Dir + "/config.json", &o, &err));
  return resolved(o);
}

void require_same_settings(const TrainConfig& a, const TrainConfig& b) {
  for (const Hyperparam& p : hyperparams()) {
    INFO(p.key << ": " << value_text(p.access.get(a)) << " vs " << value_text(p.access.get(b)));
    CHECK(p.access.get(a) == p.access.get(b));
  }
}

// Another allowed value of p than v (for the resume rules).
HyperValue other_value(const Hyperparam& p, const HyperValue& v) {
  std::string err;
  auto allowed = [&](const HyperValue& x) { return check_hyperparam(p, x, &err); };
  switch (p.access.type) {
    case HyperType::u32: {
      const uint32_t x = std::get<uint32_t>(v);
      return allowed(HyperValue(x + 1)) ? HyperValue(x + 1) : HyperValue(x - 1);
    }
    case HyperType::u64: return std::get<uint64_t>(v) + 1;
    case HyperType::f32: {
      const float x = std::get<float>(v);
      return x != 0 ? x / 2 : 0.5f;
    }
    case HyperType::f64: {
      const double x = std::get<double>(v);
      return x != 0 ? x / 2 : 0.5;
    }
    case HyperType::on_off: return !std::get<bool>(v);
    case HyperType::name: return std::string(std::get<std::string>(v) == "tiny" ? "small" : "tiny");
    case HyperType::mixers: {
      const MixerList& ms = std::get<MixerList>(v);
      return MixerList(ms.size(), ms[0] == Mixer::max ? Mixer::min : Mixer::max);
    }
  }
  return v;
}

}  // namespace

TEST_CASE("hyperparams: the table is well formed", "[train][hyperparams]") {
  std::set<std::string> keys, flags;
  const TrainConfig defaults;
  for (const Hyperparam& p : hyperparams()) {
    INFO(p.key);
    CHECK(keys.insert(p.key).second);
    if (p.flag) {
      CHECK(std::string(p.flag).rfind("--", 0) == 0);
      CHECK(flags.insert(p.flag).second);
    }
    CHECK(std::string(p.help).size() > 3);
    CHECK(p.access.get(defaults).index() == size_t(p.access.type));
    CHECK(find_hyperparam(p.key) == &p);
  }
  CHECK(find_hyperparam("colour") == nullptr);
  // Every base's defaults are valid settings.
  for (const char* base : base_names()) {
    INFO(base);
    TrainConfig c;
    std::string err;
    REQUIRE(set_base_defaults(base, &c, &err));
    CHECK(c.base == base);
    CHECK(validate_train_config(c, &err));
  }
}

TEST_CASE("hyperparams: defaults are those before the table", "[train][hyperparams]") {
  // The values TrainConfig and resolve_config had when they were written out
  // by hand (nanoGPT's: README CPU run for tiny, shakespeare_char for small).
  const TrainConfig tiny = resolved({});
  CHECK(tiny.base == "tiny");
  CHECK(tiny.model.n_layer == 4);
  CHECK(tiny.model.mixers[3] == Mixer::max_avg);
  CHECK_FALSE(tiny.model.pos_emb);
  CHECK(tiny.batch_size == 12);
  CHECK(tiny.max_iters == 2000);
  CHECK(tiny.lr_decay_iters == 2000);
  CHECK(tiny.learning_rate == 1e-3);
  CHECK(tiny.min_lr == 1e-3 / 10.0);
  CHECK(tiny.warmup_iters == 100);
  CHECK(tiny.weight_decay == 0.1);
  CHECK(tiny.beta1 == 0.9);
  CHECK(tiny.beta2 == 0.99);
  CHECK(tiny.grad_clip == 1.0);
  CHECK(tiny.dropout == 0.0f);
  CHECK(tiny.eval_interval == 250);
  CHECK(tiny.eval_iters == 20);
  CHECK(tiny.ckpt_interval == 0);
  CHECK(tiny.log_interval == 10);
  CHECK(tiny.seed == 1337);
  CHECK(tiny.threads == 0);
  TrainOverrides o;
  o.set("base", "small");
  o.set("mixer", MixerList{Mixer::attention});
  o.set("n_layer", 8);
  const TrainConfig small = resolved(o);
  CHECK(small.model.n_embd == 384);
  CHECK(small.model.mixers[7] == Mixer::attention);  // layers past the base's 6 too
  CHECK(small.model.pos_emb);
  CHECK(small.batch_size == 64);
  CHECK(small.max_iters == 5000);
  CHECK(small.lr_decay_iters == 5000);
  CHECK(small.dropout == 0.2f);
  CHECK(small.eval_iters == 200);
  // A per-layer list sets the layer count.
  TrainOverrides list;
  list.set("mixer", MixerList{Mixer::max, Mixer::attention, Mixer::min});
  CHECK(resolved(list).model.n_layer == 3);
}

TEST_CASE("hyperparams: values outside a setting's range name it and the range",
          "[train][hyperparams]") {
  int checked = 0;
  for (const Hyperparam& p : hyperparams()) {
    const HyperType t = p.access.type;
    if (t > HyperType::f64) continue;
    std::vector<double> outside;
    const bool integer = t == HyperType::u32 || t == HyperType::u64;
    if (p.range.lo_open) outside.push_back(p.range.lo);
    else if (!integer || p.range.lo >= 1) outside.push_back(integer ? p.range.lo - 1 : p.range.lo - 0.5);
    if (std::isfinite(p.range.hi) && p.range.hi < 4e9)
      outside.push_back(p.range.hi_open ? p.range.hi : p.range.hi + 1);
    for (double x : outside) {
      std::ostringstream text;
      if (integer) text << uint64_t(x);
      else text << x;
      INFO(p.key << " = " << text.str());
      HyperValue v;
      std::string err;
      CHECK_FALSE(parse_hyperparam(p, text.str(), &v, &err));
      CHECK(err == "must be " + allowed_text(p) + ", not " + text.str());
      // The same range holds for a config file or code (resolve_config).
      TrainOverrides o;
      if (integer) o.set(p.key, uint64_t(x));
      else o.set(p.key, x);
      TrainConfig c;
      CHECK_FALSE(resolve_config(o, &c, &err));
      CHECK(err.rfind(std::string(p.key) + " must be " + allowed_text(p), 0) == 0);
      ++checked;
    }
  }
  CHECK(checked >= 20);
  // Words and the wrong type are refused too.
  const Hyperparam& lr = *find_hyperparam("learning_rate");
  HyperValue v;
  std::string err;
  CHECK_FALSE(parse_hyperparam(lr, "fast", &v, &err));
  CHECK(err == "must be a positive number, not fast");
  CHECK_FALSE(parse_hyperparam(*find_hyperparam("seed"), "-3", &v, &err));
  CHECK_FALSE(parse_hyperparam(*find_hyperparam("bias"), "yes", &v, &err));
  CHECK(err == "must be on or off, not yes");
  CHECK_FALSE(parse_hyperparam(*find_hyperparam("mixer"), "max,maxx", &v, &err));
  CHECK(err.find("unknown mixer 'maxx'") != std::string::npos);
  // A JSON file names itself, the key and the range.
  train_test::TempDir d;
  train_test::write_text(d.file("c.json"), "{\"beta2\": 1.5}");
  TrainOverrides o;
  CHECK_FALSE(load_config_json(d.file("c.json"), &o, &err));
  CHECK(err == d.file("c.json") + ": \"beta2\" must be a number in [0, 1), not 1.5");
}

TEST_CASE("hyperparams: config.json is written as before and read back", "[train][hyperparams]") {
  // config.json from the old code (tests/data/checkpoint_v1), byte for byte,
  // and the rows added since.
  const TrainConfig c = v1_run_config();
  CHECK(config_json(c) == v1_config_json_now());
  // Every setting survives a write and a read.
  train_test::TempDir d;
  train_test::write_text(d.file("c.json"), config_json(c));
  TrainOverrides o;
  std::string err;
  REQUIRE(load_config_json(d.file("c.json"), &o, &err));
  require_same_settings(resolved(o), c);
}

TEST_CASE("hyperparams: --resume may change exactly the rows that say so", "[train][hyperparams]") {
  const TrainConfig c = v1_run_config();  // min-avg + attention: n_head matters
  REQUIRE(c.model.has_attention());
  for (const Hyperparam& p : hyperparams()) {
    const HyperValue v = other_value(p, p.access.get(c));
    INFO(p.key << " given as " << value_text(v));
    TrainOverrides o;
    o.set(p.key, v);
    TrainConfig r = c;
    std::string err;
    if (p.on_resume == OnResume::may_change || p.on_resume == OnResume::per_run) {
      CHECK(apply_resume_overrides(o, &r, &err));
      CHECK(p.access.get(r) == v);
    } else {
      CHECK_FALSE(apply_resume_overrides(o, &r, &err));
      CHECK(err.find(std::string(p.key) + " " + value_text(v) + " differs from its " +
                     value_text(p.access.get(c))) != std::string::npos);
    }
    // The same value again is always fine.
    TrainOverrides same;
    same.set(p.key, p.access.get(c));
    r = c;
    CHECK(apply_resume_overrides(same, &r, &err));
  }
  // n_head matters only to attention layers.
  TrainOverrides shift;
  shift.set("mixer", MixerList{Mixer::max});
  const TrainConfig s = resolved(shift);
  TrainOverrides heads;
  heads.set("n_head", s.model.n_head * 2);
  TrainConfig r = s;
  std::string err;
  CHECK(apply_resume_overrides(heads, &r, &err));
  CHECK(r.model.n_head == s.model.n_head);
  // ... and local layers: there it must match.
  TrainOverrides local;
  local.set("mixer", MixerList{Mixer::max, Mixer::max, Mixer::max, Mixer::local});
  const TrainConfig lc = resolved(local);
  r = lc;
  CHECK_FALSE(apply_resume_overrides(heads, &r, &err));
  CHECK(err.find("n_head") != std::string::npos);
}

TEST_CASE("checkpoint: a version-1 checkpoint loads and resumes with the same settings",
          "[train][checkpoint][resume]") {
  // tests/data/checkpoint_v1/README.md says how it was made.
  const std::string v1 = read_all(kV1Dir + "/ckpt_last.cgc");
  REQUIRE(v1.size() > kCheckpointHeader);
  REQUIRE(v1[8] == 1);  // format version 1
  const TrainConfig expected = v1_run_config();
  TrainState s;
  std::string err;
  INFO(err);
  REQUIRE(load_checkpoint(kV1Dir + "/ckpt_last.cgc", &s, &err));
  require_same_settings(s.config, expected);
  CHECK(s.step == 2);
  CHECK(s.config.model.vocab_size == 8);
  CHECK(s.vocab.size() == 8);

  // Resume it (the run stopped at step 2 of 4): the new code finishes the run
  // and writes version 2 with the same settings.
  train_test::TempDir d;
  std::filesystem::create_directories(d.file("run"));
  std::filesystem::copy_file(kV1Dir + "/ckpt_last.cgc", d.file("run/ckpt_last.cgc"));
  TrainRunOptions ro;
  ro.data_path = kV1Dir + "/text.txt";
  ro.out_dir = d.file("run");
  ro.resume = true;
  ro.out = nullptr;
  TrainRunResult result;
  REQUIRE(run_training(ro, &result, &err) == 0);
  TrainState r;
  REQUIRE(load_checkpoint(d.file("run/ckpt_last.cgc"), &r, &err));
  CHECK(read_all(d.file("run/ckpt_last.cgc"))[8] == char(kCheckpointVersion));
  CHECK(r.step == 4);
  require_same_settings(r.config, expected);
  CHECK(r.iters.size() == 4);
  CHECK(std::isfinite(r.iters.back().loss));
  CHECK(r.vocab == s.vocab);
  CHECK(read_all(d.file("run/config.json")) == v1_config_json_now());

  // A setting the table lets a resume change (max_iters) extends it; one it
  // does not (learning_rate) is refused.
  ro.overrides.set("max_iters", 5);
  REQUIRE(run_training(ro, &result, &err) == 0);
  REQUIRE(load_checkpoint(d.file("run/ckpt_last.cgc"), &r, &err));
  CHECK(r.step == 5);
  CHECK(r.config.max_iters == 5);
  ro.overrides.set("learning_rate", 0.5);
  CHECK(run_training(ro, &result, &err) == 1);
  CHECK(err.find("learning_rate 0.5 differs from its 0.002") != std::string::npos);
}

TEST_CASE("checkpoint: per-run settings are not saved, and a resume takes the flag or the default",
          "[train][checkpoint][hyperparams]") {
  TrainState s;
  std::string err;
  INFO(err);
  REQUIRE(load_checkpoint(kV1Dir + "/ckpt_last.cgc", &s, &err));
  std::vector<std::string> per_run;
  for (const Hyperparam& p : hyperparams())
    if (p.on_resume == OnResume::per_run) per_run.push_back(p.key);
  REQUIRE(per_run == std::vector<std::string>{"overlap_allreduce", "zero_stage"});
  // Saved with other values than the defaults, read back with the defaults.
  s.config.overlap_allreduce = false;
  s.config.zero_stage = 1;
  train_test::TempDir d;
  REQUIRE(save_checkpoint(d.file("c.cgc"), s, &err));
  const std::string bytes = read_all(d.file("c.cgc"));
  CHECK(bytes.find("overlap_allreduce") == std::string::npos);
  CHECK(bytes.find("zero_stage") == std::string::npos);
  TrainState r;
  REQUIRE(load_checkpoint(d.file("c.cgc"), &r, &err));
  CHECK(r.config.overlap_allreduce == true);
  CHECK(r.config.zero_stage == 0);
  // A resume may give them.
  TrainOverrides o;
  o.set("zero_stage", 1);
  o.set("overlap_allreduce", false);
  REQUIRE(apply_resume_overrides(o, &r.config, &err));
  CHECK(r.config.zero_stage == 1);
  CHECK(r.config.overlap_allreduce == false);
}
