#include "train/loop/hyperparams.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "host/mixer_names.hpp"
#include "train/loop/train_config.hpp"

namespace causalgen::train {

namespace {

// ---- Where a row's value lives: a member of TrainConfig or of its model Config.

template <class T> constexpr HyperType type_of();
template <> constexpr HyperType type_of<uint32_t>() { return HyperType::u32; }
template <> constexpr HyperType type_of<uint64_t>() { return HyperType::u64; }
template <> constexpr HyperType type_of<float>() { return HyperType::f32; }
template <> constexpr HyperType type_of<double>() { return HyperType::f64; }
template <> constexpr HyperType type_of<bool>() { return HyperType::on_off; }
template <> constexpr HyperType type_of<std::string>() { return HyperType::name; }

template <class Member> struct MemberOf;
template <class C, class T> struct MemberOf<T C::*> {
  using Class = C;
  using Type = T;
};

template <class C> constexpr C& part(TrainConfig& c) {
  if constexpr (std::is_same_v<C, Config>) return c.model;
  else return c;
}
template <class C> constexpr const C& part(const TrainConfig& c) {
  if constexpr (std::is_same_v<C, Config>) return c.model;
  else return c;
}

template <auto member>
constexpr Access field() {
  using Class = typename MemberOf<decltype(member)>::Class;
  using Type = typename MemberOf<decltype(member)>::Type;
  return {type_of<Type>(),
          [](const TrainConfig& c) { return HyperValue(std::in_place_type<Type>, part<Class>(c).*member); },
          [](TrainConfig& c, const HyperValue& v, std::string*) {
            part<Class>(c).*member = std::get<Type>(v);
            return true;
          }};
}

// The per-layer mixers: one name applies to every layer; a list names each.
HyperValue get_mixers(const TrainConfig& c) {
  return MixerList(c.model.mixers, c.model.mixers + std::min(c.model.n_layer, kMaxLayers));
}
bool set_mixers(TrainConfig& c, const HyperValue& v, std::string* err) {
  const MixerList& ms = std::get<MixerList>(v);
  Config& m = c.model;
  if (ms.size() == 1) {
    for (Mixer& x : m.mixers) x = ms[0];  // every layer, whatever n_layer becomes
  } else if (ms.size() == m.n_layer) {
    std::copy(ms.begin(), ms.end(), m.mixers);
  } else {
    *err = "the mixer list names " + std::to_string(ms.size()) + " layers but n_layer is " +
           std::to_string(m.n_layer);
    return false;
  }
  return true;
}
constexpr Access mixers() { return {HyperType::mixers, get_mixers, set_mixers}; }

// The window of every layer whose mixer takes one (`local`); the others ignore it.
HyperValue get_window(const TrainConfig& c) { return c.model.window[0]; }
bool set_window(TrainConfig& c, const HyperValue& v, std::string*) {
  for (uint32_t& w : c.model.window) w = std::get<uint32_t>(v);
  return true;
}
constexpr Access window() { return {HyperType::u32, get_window, set_window}; }
bool has_window(const Config& m) {
  for (uint32_t l = 0; l < m.n_layer && l < kMaxLayers; ++l)
    if (mixer_takes_window(m.mixers[l])) return true;
  return false;
}

// ---- Defaults and ranges, as the table writes them.

constexpr Default is(const char* value, const char* small = nullptr) { return {value, small}; }
constexpr Default base_shape() { return {}; }
constexpr Default derived(const char* from, void (*derive)(TrainConfig&)) {
  return {nullptr, nullptr, derive, from};
}

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr Range in(double lo, double hi) { return {lo, hi}; }           // [lo, hi]
constexpr Range at_least(double lo) { return {lo, kInf}; }              // [lo, inf)
constexpr Range above(double lo) { return {lo, kInf, true}; }           // (lo, inf)
constexpr Range below(double lo, double hi) { return {lo, hi, false, true}; }  // [lo, hi)
constexpr Range any() { return {0, kInf}; }

void derive_pos_emb(TrainConfig& c) { c.model.pos_emb = c.model.has_attention(); }
void derive_window(TrainConfig& c) { set_window(c, c.model.block_size, nullptr); }
void derive_min_lr(TrainConfig& c) { c.min_lr = c.learning_rate / 10.0; }
void derive_lr_decay_iters(TrainConfig& c) { c.lr_decay_iters = c.max_iters; }

using enum OnResume;

// ---- The table. The optimisation defaults are nanoGPT's: `tiny` its README
// CPU run, `small` shakespeare_char. Row order is config.json's.
constexpr Hyperparam kHyperparams[] = {
    // key, flag, where, default, allowed, on --resume, help
    {"base", nullptr, field<&TrainConfig::base>(), is("tiny"), {}, must_match,
     "Named base: the model shape and the defaults below (on the command line: --config NAME)"},
    {"n_layer", "--n-layer", field<&Config::n_layer>(), base_shape(), in(1, kMaxLayers), must_match,
     "Layers (or the length of a per-layer mixer list)"},
    {"n_embd", "--n-embd", field<&Config::n_embd>(), base_shape(), in(1, kMaxEmbd), must_match, "Width C"},
    {"n_head", "--n-head", field<&Config::n_head>(), base_shape(), in(1, kMaxEmbd),
     must_match_if_attention, "Attention heads (attention and local layers only; must divide n_embd)"},
    {"block_size", "--block-size", field<&Config::block_size>(), base_shape(), in(1, kMaxBlock),
     must_match, "Training window T"},
    {"bias", "--bias", field<&Config::bias>(), base_shape(), {}, must_match,
     "Biases in Linear and LayerNorm"},
    {"pos_emb", "--pos-emb", field<&Config::pos_emb>(),
     derived("on iff a layer is attention", derive_pos_emb), {}, must_match,
     "Learned position embedding"},
    {"mixer", "--mixer", mixers(), is("max-avg"), {}, must_match,
     "Token mixer of every layer, or a comma-separated list with one per layer"},
    {"window", "--window", window(), derived("= block_size", derive_window), in(1, kMaxBlock),
     must_match, "Positions a local layer attends to (at most block_size)", has_window},
    {"batch_size", "--batch-size", field<&TrainConfig::batch_size>(), is("12", "64"), in(1, 1 << 20),
     must_match, "Windows per step"},
    {"max_iters", "--max-iters", field<&TrainConfig::max_iters>(), is("2000", "5000"), in(1, 1e8),
     may_change, "Optimizer steps"},
    {"learning_rate", "--lr", field<&TrainConfig::learning_rate>(), is("1e-3"), above(0), must_match,
     "Peak learning rate"},
    {"min_lr", "--min-lr", field<&TrainConfig::min_lr>(),
     derived("= learning_rate / 10", derive_min_lr), at_least(0), must_match,
     "Final learning rate of the cosine decay"},
    {"warmup_iters", "--warmup-iters", field<&TrainConfig::warmup_iters>(), is("100"), any(),
     must_match, "Linear warmup steps"},
    {"lr_decay_iters", "--lr-decay-iters", field<&TrainConfig::lr_decay_iters>(),
     derived("= max_iters", derive_lr_decay_iters), any(), must_match, "Cosine decay length"},
    {"weight_decay", "--weight-decay", field<&TrainConfig::weight_decay>(), is("0.1"), at_least(0),
     must_match, "AdamW weight decay (matrices only)"},
    {"beta1", "--beta1", field<&TrainConfig::beta1>(), is("0.9"), below(0, 1), must_match, "AdamW beta1"},
    {"beta2", "--beta2", field<&TrainConfig::beta2>(), is("0.99"), below(0, 1), must_match, "AdamW beta2"},
    {"grad_clip", "--grad-clip", field<&TrainConfig::grad_clip>(), is("1.0"), at_least(0), must_match,
     "Gradient norm clip (0 = off)"},
    {"dropout", "--dropout", field<&TrainConfig::dropout>(), is("0", "0.2"), below(0, 1), must_match,
     "Dropout probability"},
    {"eval_interval", "--eval-interval", field<&TrainConfig::eval_interval>(), is("250"), in(1, 1e8),
     may_change, "Steps between evaluations"},
    {"eval_iters", "--eval-iters", field<&TrainConfig::eval_iters>(), is("20", "200"), in(1, 1e6),
     may_change, "Batches per split per evaluation"},
    {"ckpt_interval", "--ckpt-interval", field<&TrainConfig::ckpt_interval>(), is("0"), any(),
     may_change, "Steps between saves of ckpt_last (0 = at evaluations)"},
    {"log_interval", "--log-interval", field<&TrainConfig::log_interval>(), is("10"), in(1, 1e8),
     may_change, "Steps between log lines when not on a terminal"},
    {"seed", "--seed", field<&TrainConfig::seed>(), is("1337"), any(), must_match,
     "Seed for initialisation, batches and dropout"},
    {"threads", "--threads", field<&TrainConfig::threads>(), is("0"), in(0, 1024), may_change,
     "Threads (0 = all cores, shared by the MPI ranks on a machine; results are reproducible "
     "for a seed and thread count)"},
    {"overlap_allreduce", "--overlap-allreduce", field<&TrainConfig::overlap_allreduce>(), is("on"),
     {}, per_run,
     "With MPI ranks on the CPU: sum each layer's gradients over the ranks while the backward "
     "pass goes on (off: one sum after it; the same result)"},
    {"zero_stage", "--zero", field<&TrainConfig::zero_stage>(), is("0"), in(0, 1), per_run,
     "ZeRO stage: 1 shards the AdamW moments across the MPI ranks (CPU, 2 or more ranks; the "
     "same result); 0 keeps them whole on every rank"},
};

constexpr const char* kBaseNames[] = {"tiny", "small"};

// ---- Text of values and ranges.

std::string number_text(double x, bool integer) {
  char b[32];
  std::snprintf(b, sizeof b, integer ? "%.0f" : "%g", x);
  return b;
}

bool is_integer(HyperType t) { return t == HyperType::u32 || t == HyperType::u64; }
bool is_number(HyperType t) { return t <= HyperType::f64; }

double type_max(HyperType t) { return t == HyperType::u32 ? double(UINT32_MAX) : kInf; }

// "a, b or c"
std::string or_list(std::span<const char* const> names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += i + 1 == names.size() ? " or " : ", ";
    s += names[i];
  }
  return s;
}

double as_double(const HyperValue& v) {
  return std::visit(
      [](const auto& x) -> double {
        if constexpr (std::is_arithmetic_v<std::decay_t<decltype(x)>>) return double(x);
        else return 0;
      },
      v);
}

std::string must_be(const Hyperparam& p, const std::string& given) {
  // An integer without an upper bound of its own still has its type's.
  const HyperType t = p.access.type;
  if (is_integer(t) && !(p.range.hi < type_max(t)))
    return "must be an integer in " + number_text(p.range.lo, true) + ".." +
           std::to_string(t == HyperType::u32 ? uint64_t(UINT32_MAX) : UINT64_MAX) + ", not " + given;
  return "must be " + allowed_text(p) + ", not " + given;
}

// Unsigned decimal digits only (strtoull would take "-1" and " 7").
bool parse_unsigned(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  for (char ch : s)
    if (ch < '0' || ch > '9') return false;
  errno = 0;
  *out = std::strtoull(s.c_str(), nullptr, 10);
  return errno == 0;
}

bool parse_real(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && errno == 0 && std::isfinite(*out);  // not nan, inf
}

}  // namespace

std::span<const Hyperparam> hyperparams() { return kHyperparams; }

const Hyperparam* find_hyperparam(std::string_view key) {
  for (const Hyperparam& p : kHyperparams)
    if (key == p.key) return &p;
  return nullptr;
}

std::span<const char* const> base_names() { return kBaseNames; }

bool set_base_defaults(const std::string& base, TrainConfig* c, std::string* err) {
  if (!named_config(base.c_str(), Mixer::max_avg, &c->model)) {
    *err = "unknown base config '" + base + "' (" + or_list(kBaseNames) + ")";
    return false;
  }
  c->base = base;
  for (const Hyperparam& p : kHyperparams) {
    if (!p.def.value || p.access.type == HyperType::name) continue;
    const char* text = base == "small" && p.def.small ? p.def.small : p.def.value;
    HyperValue v;
    std::string why;
    if (!parse_hyperparam(p, text, &v, &why) || !p.access.set(*c, v, &why)) {
      *err = std::string("the default of ") + p.key + " " + why;  // a bad row: the table test fails
      return false;
    }
  }
  for (const Hyperparam& p : kHyperparams)
    if (p.def.derive) p.def.derive(*c);
  return true;
}

bool check_hyperparam(const Hyperparam& p, const HyperValue& v, std::string* err) {
  if (v.index() != size_t(p.access.type)) {
    *err = "must be " + allowed_text(p) + " (a value of another type was given)";
    return false;
  }
  if (p.access.type == HyperType::name) {
    Config probe;
    if (named_config(std::get<std::string>(v).c_str(), Mixer::max, &probe)) return true;
    *err = must_be(p, "'" + std::get<std::string>(v) + "'");
    return false;
  }
  if (p.access.type == HyperType::mixers) {
    const MixerList& ms = std::get<MixerList>(v);
    for (Mixer m : ms)
      if (!mixer_known(m)) {
        *err = "names an unknown mixer code " + std::to_string(uint32_t(m));
        return false;
      }
    if (!ms.empty() && ms.size() <= kMaxLayers) return true;
    *err = must_be(p, "a list of " + std::to_string(ms.size()));
    return false;
  }
  if (!is_number(p.access.type)) return true;
  const double x = as_double(v), hi = std::min(p.range.hi, type_max(p.access.type));
  const bool ok = std::isfinite(x) && (p.range.lo_open ? x > p.range.lo : x >= p.range.lo) &&
                  (p.range.hi_open ? x < hi : x <= hi);
  if (!ok) *err = must_be(p, value_text(v));
  return ok;
}

bool parse_hyperparam(const Hyperparam& p, const std::string& text, HyperValue* out,
                      std::string* err) {
  uint64_t u = 0;
  double x = 0;
  bool ok = false;
  switch (p.access.type) {
    case HyperType::u32:
      ok = parse_unsigned(text, &u) && u <= UINT32_MAX;
      if (ok) *out = uint32_t(u);
      break;
    case HyperType::u64:
      ok = parse_unsigned(text, &u);
      if (ok) *out = u;
      break;
    case HyperType::f32:
    case HyperType::f64:
      ok = parse_real(text, &x);
      if (ok && p.access.type == HyperType::f32) *out = float(x);
      else if (ok) *out = x;
      break;
    case HyperType::on_off:
      ok = text == "on" || text == "off";
      if (ok) *out = text == "on";
      break;
    case HyperType::name:
      ok = true;
      *out = text;
      break;
    case HyperType::mixers: {
      MixerList ms;
      if (!parse_mixer_list(text, &ms, err)) return false;
      *out = ms;
      ok = true;
      break;
    }
  }
  if (!ok) {
    *err = must_be(p, text);
    return false;
  }
  return check_hyperparam(p, *out, err);
}

std::string allowed_text(const Hyperparam& p) {
  const Range& r = p.range;
  const HyperType t = p.access.type;
  if (t == HyperType::on_off) return "on or off";
  if (t == HyperType::name) return or_list(kBaseNames);
  if (t == HyperType::mixers) {
    return or_list(host::registered_mixers()) + ", or a list of them";
  }
  const bool integer = is_integer(t);
  const bool bounded = r.hi < type_max(t);
  if (integer) {
    const std::string lo = number_text(r.lo, true);
    return bounded ? "an integer in " + lo + ".." + number_text(r.hi, true) : "an integer >= " + lo;
  }
  if (!bounded) return r.lo == 0 && r.lo_open ? "a positive number"
                                              : std::string("a number ") + (r.lo_open ? "> " : ">= ") +
                                                    number_text(r.lo, false);
  return std::string("a number in ") + (r.lo_open ? "(" : "[") + number_text(r.lo, false) + ", " +
         number_text(r.hi, false) + (r.hi_open ? ")" : "]");
}

std::string value_text(const HyperValue& v) {
  char b[40];
  switch (HyperType(v.index())) {
    case HyperType::u32: return std::to_string(std::get<uint32_t>(v));
    case HyperType::u64: return std::to_string(std::get<uint64_t>(v));
    case HyperType::f32: std::snprintf(b, sizeof b, "%g", double(std::get<float>(v))); return b;
    case HyperType::f64: std::snprintf(b, sizeof b, "%g", std::get<double>(v)); return b;
    case HyperType::on_off: return std::get<bool>(v) ? "on" : "off";
    case HyperType::name: return std::get<std::string>(v);
    case HyperType::mixers: {
      const MixerList& ms = std::get<MixerList>(v);
      bool same = true;
      for (Mixer m : ms) same = same && m == ms[0];
      std::string s;
      for (size_t l = 0; l < (same ? std::min<size_t>(ms.size(), 1) : ms.size()); ++l) {
        if (l) s += ',';
        s += mixer_name(ms[l]);
      }
      return s;
    }
  }
  return "?";
}

std::string default_text(const Hyperparam& p) {
  if (p.def.derive) return p.def.derived_from;
  TrainConfig tiny, small;
  std::string err;
  set_base_defaults("tiny", &tiny, &err);
  set_base_defaults("small", &small, &err);
  const std::string a = value_text(p.access.get(tiny)), b = value_text(p.access.get(small));
  return a == b || p.access.type == HyperType::name ? a : a + " (small: " + b + ")";
}

std::string hyperparam_help(const Hyperparam& p) {
  return std::string(p.help) + " [default " + default_text(p) + "; " + allowed_text(p) + "]" +
         (p.on_resume == OnResume::may_change ? " [--resume may change]"
          : p.on_resume == OnResume::per_run  ? " [per run: not saved in checkpoints]"
                                              : "");
}

const char* type_name(HyperType t) {
  switch (t) {
    case HyperType::u32: return "UINT";
    case HyperType::u64: return "UINT";
    case HyperType::f32: return "FLOAT";
    case HyperType::f64: return "FLOAT";
    case HyperType::on_off: return "on|off";
    case HyperType::name: return "NAME";
    case HyperType::mixers: return "MIXERS";
  }
  return "?";
}

std::string hyperparams_markdown() {
  static const char* const kResume[] = {"must match", "may change", "must match (attention)",
                                        "per run (not saved)"};
  std::string s =
      "| setting (JSON key) | flag | default | allowed | on `--resume` | meaning |\n"
      "|---|---|---|---|---|---|\n";
  for (const Hyperparam& p : kHyperparams) {
    const std::string flag = p.flag ? std::string("`") + p.flag + "`" : std::string("—");
    for (const std::string& cell : {std::string("`") + p.key + "`", flag, default_text(p),
                                    allowed_text(p), std::string(kResume[int(p.on_resume)]),
                                    std::string(p.help)})
      s += "| " + cell + " ";
    s += "|\n";
  }
  return s;
}

}  // namespace causalgen::train
