#include "train/train_config.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "host/model_io.hpp"

namespace causalgen::train {

void TrainOverrides::merge(const TrainOverrides& o) {
#define CG_MERGE(f) \
  if (o.f) f = o.f;
  CG_MERGE(base) CG_MERGE(n_layer) CG_MERGE(n_embd) CG_MERGE(n_head) CG_MERGE(block_size)
  CG_MERGE(batch_size) CG_MERGE(max_iters) CG_MERGE(warmup_iters) CG_MERGE(lr_decay_iters)
  CG_MERGE(eval_interval) CG_MERGE(eval_iters) CG_MERGE(ckpt_interval) CG_MERGE(log_interval)
  CG_MERGE(threads) CG_MERGE(learning_rate) CG_MERGE(min_lr) CG_MERGE(weight_decay)
  CG_MERGE(beta1) CG_MERGE(beta2) CG_MERGE(grad_clip) CG_MERGE(dropout) CG_MERGE(mixers)
  CG_MERGE(bias) CG_MERGE(pos_emb) CG_MERGE(seed)
#undef CG_MERGE
}

bool check_resume_overrides(const TrainOverrides& o, const TrainConfig& c, std::string* err) {
  const Config& m = c.model;
  auto differs = [&](const char* name, const std::string& given, const std::string& have) {
    *err = std::string("--resume continues the checkpoint's run: ") + name + " " + given +
           " differs from its " + have +
           " (only max_iters, eval_interval, eval_iters, ckpt_interval, log_interval and "
           "threads can change)";
    return false;
  };
  auto num = [](double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return std::string(b);
  };
#define CG_SAME(field, have)                                                     \
  if (o.field && double(*o.field) != double(have))                               \
    return differs(#field, num(double(*o.field)), num(double(have)));
  CG_SAME(n_layer, m.n_layer) CG_SAME(n_embd, m.n_embd) CG_SAME(block_size, m.block_size)
  CG_SAME(batch_size, c.batch_size) CG_SAME(warmup_iters, c.warmup_iters)
  CG_SAME(lr_decay_iters, c.lr_decay_iters) CG_SAME(learning_rate, c.learning_rate)
  CG_SAME(min_lr, c.min_lr) CG_SAME(weight_decay, c.weight_decay) CG_SAME(beta1, c.beta1)
  CG_SAME(beta2, c.beta2) CG_SAME(grad_clip, c.grad_clip) CG_SAME(seed, c.seed)
#undef CG_SAME
  if (o.n_head && m.has_attention() && *o.n_head != m.n_head)
    return differs("n_head", std::to_string(*o.n_head), std::to_string(m.n_head));
  if (o.dropout && float(*o.dropout) != c.dropout)
    return differs("dropout", num(*o.dropout), num(c.dropout));
  if (o.bias && *o.bias != m.bias)
    return differs("bias", *o.bias ? "on" : "off", m.bias ? "on" : "off");
  if (o.pos_emb && *o.pos_emb != m.pos_emb)
    return differs("pos_emb", *o.pos_emb ? "on" : "off", m.pos_emb ? "on" : "off");
  if (o.base && *o.base != c.base) return differs("base config", *o.base, c.base);
  if (o.mixers) {
    const auto& ms = *o.mixers;
    bool same = ms.size() == 1 || ms.size() == m.n_layer;
    for (uint32_t l = 0; same && l < m.n_layer; ++l)
      same = ms[ms.size() == 1 ? 0 : l] == m.mixers[l];
    if (!same) {
      std::string given;
      for (size_t l = 0; l < ms.size(); ++l) given += (l ? "," : "") + std::string(mixer_name(ms[l]));
      return differs("mixer", given, mixer_list_string(m));
    }
  }
  return true;
}

bool parse_mixer_list(const std::string& s, std::vector<Mixer>* out, std::string* err) {
  out->clear();
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    Mixer m;
    if (!parse_mixer(item.c_str(), &m)) {
      *err = "unknown mixer '" + item + "' (max, min, max-avg, min-avg, attention)";
      return false;
    }
    out->push_back(m);
  }
  if (out->empty()) {
    *err = "empty mixer list";
    return false;
  }
  if (out->size() > kMaxLayers) {
    *err = "more than " + std::to_string(kMaxLayers) + " layers in the mixer list";
    return false;
  }
  return true;
}

std::string mixer_list_string(const Config& c) {
  bool same = true;
  for (uint32_t l = 1; l < c.n_layer; ++l) same = same && c.mixers[l] == c.mixers[0];
  if (same) return mixer_name(c.mixers[0]);
  std::string s;
  for (uint32_t l = 0; l < c.n_layer; ++l) s += (l ? "," : "") + std::string(mixer_name(c.mixers[l]));
  return s;
}

bool load_config_json(const std::string& path, TrainOverrides* out, std::string* err) {
  host::AlignedBytes bytes;
  if (!host::read_file(path, &bytes, err)) return false;
  const std::string text(reinterpret_cast<const char*>(bytes.data.get()), bytes.size);
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  if (doc.HasParseError()) {
    *err = path + ": not valid JSON: " + rapidjson::GetParseError_En(doc.GetParseError()) +
           " (at byte " + std::to_string(doc.GetErrorOffset()) + ")";
    return false;
  }
  if (!doc.IsObject()) {
    *err = path + ": expected a JSON object of settings";
    return false;
  }
  TrainOverrides o;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string k = it->name.GetString();
    const rapidjson::Value& v = it->value;
    auto bad = [&](const char* what) {
      *err = path + ": \"" + k + "\" must be " + what;
      return false;
    };
    auto u32 = [&](std::optional<uint32_t>& f) {
      if (!v.IsUint()) return bad("a non-negative integer");
      f = v.GetUint();
      return true;
    };
    auto num = [&](std::optional<double>& f) {
      if (!v.IsNumber()) return bad("a number");
      f = v.GetDouble();
      return true;
    };
    auto boolean = [&](std::optional<bool>& f) {
      if (!v.IsBool()) return bad("true or false");
      f = v.GetBool();
      return true;
    };
    bool ok = true;
    if (k == "base") {
      if (!v.IsString()) return bad("\"tiny\" or \"small\"");
      o.base = v.GetString();
    } else if (k == "n_layer") ok = u32(o.n_layer);
    else if (k == "n_embd") ok = u32(o.n_embd);
    else if (k == "n_head") ok = u32(o.n_head);
    else if (k == "block_size") ok = u32(o.block_size);
    else if (k == "batch_size") ok = u32(o.batch_size);
    else if (k == "max_iters") ok = u32(o.max_iters);
    else if (k == "warmup_iters") ok = u32(o.warmup_iters);
    else if (k == "lr_decay_iters") ok = u32(o.lr_decay_iters);
    else if (k == "eval_interval") ok = u32(o.eval_interval);
    else if (k == "eval_iters") ok = u32(o.eval_iters);
    else if (k == "ckpt_interval") ok = u32(o.ckpt_interval);
    else if (k == "log_interval") ok = u32(o.log_interval);
    else if (k == "threads") ok = u32(o.threads);
    else if (k == "learning_rate") ok = num(o.learning_rate);
    else if (k == "min_lr") ok = num(o.min_lr);
    else if (k == "weight_decay") ok = num(o.weight_decay);
    else if (k == "beta1") ok = num(o.beta1);
    else if (k == "beta2") ok = num(o.beta2);
    else if (k == "grad_clip") ok = num(o.grad_clip);
    else if (k == "dropout") ok = num(o.dropout);
    else if (k == "bias") ok = boolean(o.bias);
    else if (k == "pos_emb") ok = boolean(o.pos_emb);
    else if (k == "seed") {
      if (!v.IsUint64()) return bad("a non-negative integer");
      o.seed = v.GetUint64();
    } else if (k == "mixer") {
      std::vector<Mixer> ms;
      std::string list;
      if (v.IsString()) {
        list = v.GetString();
      } else if (v.IsArray()) {
        for (auto& e : v.GetArray()) {
          if (!e.IsString()) return bad("a mixer name or a list of them");
          list += (list.empty() ? "" : ",") + std::string(e.GetString());
        }
      } else {
        return bad("a mixer name or a list of them");
      }
      std::string e2;
      if (!parse_mixer_list(list, &ms, &e2)) {
        *err = path + ": \"mixer\": " + e2;
        return false;
      }
      o.mixers = ms;
    } else {
      *err = path + ": unknown setting \"" + k + "\"";
      return false;
    }
    if (!ok) return false;
  }
  *out = o;
  return true;
}

std::string config_json(const TrainConfig& c) {
  const Config& m = c.model;
  std::string mix = "[";
  for (uint32_t l = 0; l < m.n_layer; ++l)
    mix += std::string(l ? ", " : "") + "\"" + mixer_name(m.mixers[l]) + "\"";
  mix += "]";
  char buf[2048];
  std::snprintf(buf, sizeof buf,
                "{\n  \"base\": \"%s\",\n  \"n_layer\": %u,\n  \"n_embd\": %u,\n  \"n_head\": %u,\n"
                "  \"block_size\": %u,\n  \"bias\": %s,\n  \"pos_emb\": %s,\n  \"mixer\": %s,\n"
                "  \"batch_size\": %u,\n  \"max_iters\": %u,\n  \"learning_rate\": %.17g,\n"
                "  \"min_lr\": %.17g,\n  \"warmup_iters\": %u,\n  \"lr_decay_iters\": %u,\n"
                "  \"weight_decay\": %.17g,\n  \"beta1\": %.17g,\n  \"beta2\": %.17g,\n"
                "  \"grad_clip\": %.17g,\n  \"dropout\": %.9g,\n  \"eval_interval\": %u,\n"
                "  \"eval_iters\": %u,\n  \"ckpt_interval\": %u,\n  \"log_interval\": %u,\n"
                "  \"seed\": %llu,\n  \"threads\": %u\n}\n",
                c.base.c_str(), m.n_layer, m.n_embd, m.n_head, m.block_size,
                m.bias ? "true" : "false", m.pos_emb ? "true" : "false", mix.c_str(),
                c.batch_size, c.max_iters, c.learning_rate, c.min_lr, c.warmup_iters,
                c.lr_decay_iters, c.weight_decay, c.beta1, c.beta2, c.grad_clip,
                double(c.dropout), c.eval_interval, c.eval_iters, c.ckpt_interval,
                c.log_interval, static_cast<unsigned long long>(c.seed), c.threads);
  return buf;
}

bool resolve_config(const TrainOverrides& o, TrainConfig* out, std::string* err) {
  TrainConfig c;
  c.base = o.base.value_or("tiny");
  const std::vector<Mixer> mixers = o.mixers.value_or(std::vector<Mixer>{Mixer::max_avg});
  if (!named_config(c.base.c_str(), mixers[0], &c.model)) {
    *err = "unknown base config '" + c.base + "' (tiny, small)";
    return false;
  }
  if (c.base == "small") {  // nanoGPT's shakespeare_char
    c.batch_size = 64, c.max_iters = 5000, c.dropout = 0.2f, c.eval_iters = 200;
  } else {  // tiny: nanoGPT's README CPU run
    c.batch_size = 12, c.max_iters = 2000, c.dropout = 0.0f, c.eval_iters = 20;
  }
  Config& m = c.model;
  if (o.n_layer) m.n_layer = *o.n_layer;
  else if (mixers.size() > 1) m.n_layer = uint32_t(mixers.size());
  if (m.n_layer < 1 || m.n_layer > kMaxLayers) {
    *err = "n_layer " + std::to_string(m.n_layer) + " outside 1.." + std::to_string(kMaxLayers);
    return false;
  }
  if (mixers.size() == 1) {
    for (uint32_t l = 0; l < m.n_layer; ++l) m.mixers[l] = mixers[0];
  } else if (mixers.size() == m.n_layer) {
    for (uint32_t l = 0; l < m.n_layer; ++l) m.mixers[l] = mixers[l];
  } else {
    *err = "the mixer list names " + std::to_string(mixers.size()) + " layers but n_layer is " +
           std::to_string(m.n_layer);
    return false;
  }
  if (o.n_embd) m.n_embd = *o.n_embd;
  if (o.n_head) m.n_head = *o.n_head;
  if (o.block_size) m.block_size = *o.block_size;
  if (o.bias) m.bias = *o.bias;
  m.pos_emb = o.pos_emb ? *o.pos_emb : m.has_attention();
#define CG_SET(f) \
  if (o.f) c.f = *o.f;
  CG_SET(batch_size) CG_SET(max_iters) CG_SET(warmup_iters) CG_SET(learning_rate)
  CG_SET(weight_decay) CG_SET(beta1) CG_SET(beta2) CG_SET(grad_clip) CG_SET(eval_interval)
  CG_SET(eval_iters) CG_SET(ckpt_interval) CG_SET(log_interval) CG_SET(seed) CG_SET(threads)
#undef CG_SET
  if (o.dropout) c.dropout = float(*o.dropout);
  c.lr_decay_iters = o.lr_decay_iters ? *o.lr_decay_iters : c.max_iters;
  c.min_lr = o.min_lr ? *o.min_lr : c.learning_rate / 10.0;
  if (!validate_train_config(c, err)) return false;
  *out = c;
  return true;
}

bool validate_train_config(const TrainConfig& c, std::string* err) {
  const Config& m = c.model;
  Config probe = m;
  if (probe.vocab_size == 0) probe.vocab_size = 1;
  Error e;
  if (validate_config(probe, &e) != Status::ok) {
    *err = std::string("model config: ") + e.message;
    return false;
  }
  auto fail = [&](const std::string& s) {
    *err = s;
    return false;
  };
  if (c.batch_size < 1) return fail("batch_size must be at least 1");
  if (c.max_iters < 1) return fail("max_iters must be at least 1");
  if (!(c.learning_rate > 0) || !std::isfinite(c.learning_rate))
    return fail("learning_rate must be a positive number");
  if (!(c.min_lr >= 0) || !std::isfinite(c.min_lr)) return fail("min_lr must be >= 0");
  if (!(c.weight_decay >= 0) || !std::isfinite(c.weight_decay))
    return fail("weight_decay must be >= 0");
  if (!(c.beta1 >= 0 && c.beta1 < 1)) return fail("beta1 must be in [0, 1)");
  if (!(c.beta2 >= 0 && c.beta2 < 1)) return fail("beta2 must be in [0, 1)");
  if (!(c.grad_clip >= 0) || !std::isfinite(c.grad_clip))
    return fail("grad_clip must be >= 0 (0 = off)");
  if (!(c.dropout >= 0 && c.dropout < 1)) return fail("dropout must be in [0, 1)");
  if (c.eval_interval < 1) return fail("eval_interval must be at least 1");
  if (c.eval_iters < 1) return fail("eval_iters must be at least 1");
  if (c.log_interval < 1) return fail("log_interval must be at least 1");
  if (c.threads > 1024) return fail("threads must be at most 1024");
  // Activation memory grows with batch x block x layers x width; refuse
  // shapes that cannot fit rather than failing in an allocation.
  const double n = double(c.batch_size) * m.block_size;
  const double floats = n * m.n_embd * m.n_layer * 26.0 +
                        (m.has_attention() ? double(c.batch_size) * m.n_head * m.block_size *
                                                 double(m.block_size) * m.n_layer
                                           : 0.0);
  if (floats * 4 > 64e9)
    return fail("batch_size x block_size x n_layer x n_embd needs more than 64 GB of activations");
  return true;
}

}  // namespace causalgen::train
