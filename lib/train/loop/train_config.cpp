#include "train/loop/train_config.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "host/mixer_names.hpp"
#include "host/input_file.hpp"
#include "host/model_io.hpp"

namespace causalgen::train {

namespace {

const Hyperparam& row(std::string_view key) {
  const Hyperparam* p = find_hyperparam(key);
  if (!p) {
    std::fprintf(stderr, "causalgen: internal error: no setting '%.*s' in the hyperparameter table\n",
                 int(key.size()), key.data());
    std::abort();
  }
  return *p;
}

// A JSON value as the row's type; false with *err = what it must be.
bool from_json(const Hyperparam& p, const rapidjson::Value& v, HyperValue* out, std::string* err) {
  switch (p.access.type) {
    case HyperType::u32:
      if (v.IsUint()) *out = uint32_t(v.GetUint());
      else *err = "a non-negative integer";
      break;
    case HyperType::u64:
      if (v.IsUint64()) *out = uint64_t(v.GetUint64());
      else *err = "a non-negative integer";
      break;
    case HyperType::f32:
      if (v.IsNumber()) *out = float(v.GetDouble());
      else *err = "a number";
      break;
    case HyperType::f64:
      if (v.IsNumber()) *out = v.GetDouble();
      else *err = "a number";
      break;
    case HyperType::on_off:
      if (v.IsBool()) *out = v.GetBool();
      else *err = "true or false";
      break;
    case HyperType::name:
      if (v.IsString()) *out = std::string(v.GetString());
      else *err = "a string (" + allowed_text(p) + ")";
      break;
    case HyperType::mixers: {
      std::string list;
      bool names = v.IsString() || v.IsArray();
      if (v.IsString()) list = v.GetString();
      for (rapidjson::SizeType i = 0; v.IsArray() && i < v.Size(); ++i) {
        names = names && v[i].IsString();
        if (names) list += (i ? "," : "") + std::string(v[i].GetString());
      }
      if (!names) {
        *err = "a mixer name or a list of them";
        return false;
      }
      MixerList ms;
      if (!parse_mixer_list(list, &ms, err)) return false;
      *out = ms;
      return true;
    }
  }
  return err->empty();
}

// The parser recurses once per level of nesting: a file nested millions of
// levels deep would overflow the stack. The offset of the first bracket
// deeper than max_depth (outside strings), or text.size() if none is.
size_t json_nesting_past(const std::string& text, uint32_t max_depth) {
  uint32_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_string) {
      if (ch == '\\') ++i;
      else if (ch == '"') in_string = false;
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '{' || ch == '[') {
      if (++depth > max_depth) return i;
    } else if ((ch == '}' || ch == ']') && depth) {
      --depth;
    }
  }
  return text.size();
}

std::string to_json(const HyperValue& v) {
  char b[40];
  switch (HyperType(v.index())) {
    case HyperType::f32: std::snprintf(b, sizeof b, "%.9g", double(std::get<float>(v))); return b;
    case HyperType::f64: std::snprintf(b, sizeof b, "%.17g", std::get<double>(v)); return b;
    case HyperType::on_off: return std::get<bool>(v) ? "true" : "false";
    case HyperType::name: return "\"" + std::get<std::string>(v) + "\"";
    case HyperType::mixers: {
      std::string s = "[";
      for (Mixer m : std::get<MixerList>(v)) s += std::string(s.size() > 1 ? ", " : "") + "\"" + mixer_name(m) + "\"";
      return s + "]";
    }
    default: return value_text(v);  // integers
  }
}

// "a, b and c"
std::string and_list(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i)
    s += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return s;
}

// ---- resolve_config's steps.

// The base's defaults; a per-layer mixer list sets the layer count unless n_layer is given.
bool start_from_base(const TrainOverrides& o, TrainConfig* c, std::string* err) {
  const HyperValue* base = o.find("base");
  if (!set_base_defaults(base ? std::get<std::string>(*base) : row("base").def.value, c, err))
    return false;
  const HyperValue* mixers = o.find("mixer");
  if (mixers && std::get<MixerList>(*mixers).size() > 1 && !o.find("n_layer"))
    c->model.n_layer = uint32_t(std::get<MixerList>(*mixers).size());
  return true;
}

// Every given setting, in table order (n_layer before the mixer list).
bool apply_given(const TrainOverrides& o, TrainConfig* c, std::string* err) {
  for (const Hyperparam& p : hyperparams()) {
    const HyperValue* v = o.find(p.key);
    if (v && p.access.type != HyperType::name && !p.access.set(*c, *v, err)) return false;
  }
  return true;
}

void derive_not_given(const TrainOverrides& o, TrainConfig* c) {
  for (const Hyperparam& p : hyperparams())
    if (p.def.derive && !o.find(p.key)) p.def.derive(*c);
}

}  // namespace

TrainConfig::TrainConfig() {
  std::string err;
  if (!set_base_defaults(row("base").def.value, this, &err)) {
    std::fprintf(stderr, "causalgen: internal error: %s\n", err.c_str());
    std::abort();
  }
}

void TrainOverrides::set(std::string_view key, HyperValue v) {
  const Hyperparam& p = row(key);
  if (v.index() != size_t(p.access.type)) {
    std::fprintf(stderr, "causalgen: internal error: setting '%s' given a value of another type\n", p.key);
    std::abort();
  }
  values_.insert_or_assign(std::string(p.key), std::move(v));
}

void TrainOverrides::set_integer(std::string_view key, uint64_t v) {
  switch (row(key).access.type) {
    case HyperType::u32: return set(key, HyperValue(uint32_t(v)));
    case HyperType::u64: return set(key, HyperValue(v));
    case HyperType::f32: return set(key, HyperValue(float(v)));
    case HyperType::f64: return set(key, HyperValue(double(v)));
    default: return set(key, HyperValue(v));  // aborts: not a number
  }
}

void TrainOverrides::set_real(std::string_view key, double v) {
  if (row(key).access.type == HyperType::f32) return set(key, HyperValue(float(v)));
  set(key, HyperValue(v));  // aborts unless the row is f64
}

const HyperValue* TrainOverrides::find(std::string_view key) const {
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

void TrainOverrides::merge(const TrainOverrides& later) {
  for (const auto& [key, v] : later.values_) values_.insert_or_assign(key, v);
}

bool apply_resume_overrides(const TrainOverrides& o, TrainConfig* c, std::string* err) {
  const auto changes = [](const Hyperparam& p) {
    return p.on_resume == OnResume::may_change || p.on_resume == OnResume::per_run;
  };
  std::vector<std::string> may_change;
  for (const Hyperparam& p : hyperparams())
    if (changes(p)) may_change.push_back(p.key);
  for (const Hyperparam& p : hyperparams()) {
    const HyperValue* given = o.find(p.key);
    if (!given || changes(p)) continue;
    if (p.on_resume == OnResume::must_match_if_attention && !c->model.has_heads()) continue;
    TrainConfig probe = *c;
    std::string why;
    const bool base = p.access.type == HyperType::name;  // the base is a name, not a field to set
    const bool same = base ? *given == p.access.get(*c)
                           : p.access.set(probe, *given, &why) && p.access.get(probe) == p.access.get(*c);
    if (!same) {
      *err = std::string("--resume continues the checkpoint's run: ") + p.key + " " +
             value_text(*given) + " differs from its " + value_text(p.access.get(*c)) + " (only " +
             and_list(may_change) + " can change)";
      return false;
    }
  }
  for (const Hyperparam& p : hyperparams()) {
    const HyperValue* given = o.find(p.key);
    if (given && changes(p) && !p.access.set(*c, *given, err)) return false;
  }
  return validate_train_config(*c, err);
}

bool parse_mixer_list(const std::string& s, std::vector<Mixer>* out, std::string* err) {
  out->clear();
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    Mixer m;
    if (!parse_mixer(item.c_str(), &m)) {
      *err = "unknown mixer '" + item + "' (" + host::mixer_names() + ")";
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
  return value_text(MixerList(c.mixers, c.mixers + std::min(c.n_layer, kMaxLayers)));
}

bool load_config_json(const std::string& path, TrainOverrides* out, std::string* err) {
  host::AlignedBytes bytes;
  if (!host::read_input(path, kMaxConfigBytes, "a JSON settings file", &bytes, err)) return false;
  const std::string text(reinterpret_cast<const char*>(bytes.data.get()), bytes.size);
  const size_t too_deep = json_nesting_past(text, kMaxJsonDepth);
  if (too_deep != text.size()) {
    *err = path + ": JSON nested more than " + std::to_string(kMaxJsonDepth) +
           " levels deep (at byte " + std::to_string(too_deep) +
           "); a settings file is one object of values and lists";
    return false;
  }
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
    const std::string key = it->name.GetString();
    const Hyperparam* p = find_hyperparam(key);
    if (!p) {
      *err = path + ": unknown setting \"" + key + "\"";
      return false;
    }
    HyperValue v;
    std::string why;
    if (!from_json(*p, it->value, &v, &why)) {
      *err = path + ": \"" + key + "\" must be " + why;
      return false;
    }
    if (!check_hyperparam(*p, v, &why)) {
      *err = path + ": \"" + key + "\" " + why;
      return false;
    }
    o.set(key, v);
  }
  *out = o;
  return true;
}

std::string config_json(const TrainConfig& c) {
  std::string s = "{\n";
  for (const Hyperparam& p : hyperparams())
    if (!p.applies || p.applies(c.model))
      s += std::string(s.size() > 2 ? ",\n" : "") + "  \"" + p.key + "\": " + to_json(p.access.get(c));
  return s + "\n}\n";
}

bool resolve_config(const TrainOverrides& o, TrainConfig* out, std::string* err) {
  TrainConfig c;
  if (!start_from_base(o, &c, err) || !apply_given(o, &c, err)) return false;
  derive_not_given(o, &c);
  if (!validate_train_config(c, err)) return false;
  *out = c;
  return true;
}

bool validate_train_config(const TrainConfig& c, std::string* err) {
  for (const Hyperparam& p : hyperparams()) {
    std::string why;
    if (!check_hyperparam(p, p.access.get(c), &why)) {
      *err = std::string(p.key) + " " + why;
      return false;
    }
  }
  const Config& m = c.model;
  Config probe = m;
  if (probe.vocab_size == 0) probe.vocab_size = 1;
  Error e;
  if (validate_config(probe, &e) != Status::ok) {
    *err = std::string("model config: ") + e.message;
    return false;
  }
  // Activation memory grows with batch x block x layers x width; refuse
  // shapes that cannot fit rather than failing in an allocation.
  const double n = double(c.batch_size) * m.block_size;
  const double floats = n * m.n_embd * m.n_layer * 26.0 +
                        (m.has_heads() ? double(c.batch_size) * m.n_head * m.block_size *
                                                 double(m.block_size) * m.n_layer
                                           : 0.0);
  if (floats * 4 > 64e9) {
    *err = "batch_size x block_size x n_layer x n_embd needs more than 64 GB of activations";
    return false;
  }
  return true;
}

}  // namespace causalgen::train
