#include "train/io/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <variant>
#include <filesystem>
#include <sstream>

#include "causalgen/model_file.hpp"
#include "host/input_file.hpp"
#include "host/memory_limit.hpp"
#include "causalgen/tensors.hpp"
#include "host/model_io.hpp"

namespace causalgen::train {

namespace {

const char kMagic[8] = {'C', 'G', 'C', 'K', 'P', 'T', '\r', '\n'};

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  put_u32(p, uint32_t(v));
  put_u32(p + 4, uint32_t(v >> 32));
}
uint32_t get_u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint64_t get_u64(const uint8_t* p) { return get_u32(p) | uint64_t(get_u32(p + 4)) << 32; }

// The body being decoded, read in place (no copy). A length read from it is
// checked against the bytes left (check_fits) before anything of that length
// is allocated, so that a crafted length is one message, not bad_alloc.
class BodyStream : public std::streambuf {
 public:
  BodyStream(const uint8_t* p, size_t n) {
    char* b = const_cast<char*>(reinterpret_cast<const char*>(p));
    setg(b, b, b + n);
  }
  uint64_t remaining() const { return uint64_t(egptr() - gptr()); }
};
thread_local const BodyStream* t_body = nullptr;

void check_fits(uint64_t count, size_t bytes_each, const std::string& what) {
  const uint64_t left = t_body ? t_body->remaining() : UINT64_MAX;
  if (count > left / bytes_each)
    throw std::runtime_error(what + " declares " + std::to_string(count) + " entries of " +
                             std::to_string(bytes_each) + " bytes; only " + std::to_string(left) +
                             " bytes of the body are left");
}

// A string or a vector of numbers as cereal writes them (a size tag, then
// the data), with the size checked first.
template <class Ar>
void load_sized(Ar& ar, std::string& s, const std::string& what) {
  cereal::size_type n = 0;
  ar(cereal::make_size_tag(n));
  check_fits(n, 1, what);
  s.resize(size_t(n));
  ar(cereal::binary_data(s.data(), size_t(n)));
}
template <class Ar, class T>
void load_sized(Ar& ar, std::vector<T>& v, const std::string& what) {
  cereal::size_type n = 0;
  ar(cereal::make_size_tag(n));
  check_fits(n, sizeof(T), what);
  v.resize(size_t(n));
  ar(cereal::binary_data(v.data(), size_t(n) * sizeof(T)));
}

// A flat float array as a size tag and raw (endian-portable) data.
template <class Ar>
void save_flat(Ar& ar, const Flat& f) {
  ar(cereal::make_size_tag(static_cast<cereal::size_type>(f.size())));
  ar(cereal::binary_data(f.data(), f.size() * sizeof(float)));
}
template <class Ar>
void load_flat(Ar& ar, Flat& f, size_t expected, const char* what) {
  cereal::size_type n = 0;
  ar(cereal::make_size_tag(n));
  if (n != expected)
    throw std::runtime_error(std::string(what) + " has " + std::to_string(n) +
                             " values, the config needs " + std::to_string(expected));
  check_fits(n, sizeof(float), what);
  f = Flat::from_shape({size_t(n)});
  ar(cereal::binary_data(f.data(), f.size() * sizeof(float)));
}

// ---- The settings: every row of the hyperparameter table, by key (version
// 2), so that a new row needs no new format; a row missing from an older
// file takes its default. Version 1 stored a fixed list positionally.

const char* const kV1Settings[] = {
    "block_size", "n_layer", "n_embd", "n_head", "bias", "pos_emb", "mixer",  // the model's
    "base", "batch_size", "max_iters", "warmup_iters", "lr_decay_iters", "learning_rate", "min_lr",
    "weight_decay", "beta1", "beta2", "grad_clip", "dropout", "eval_interval", "eval_iters",
    "ckpt_interval", "log_interval", "seed", "threads"};

template <class Ar>
void save_value(Ar& ar, const HyperValue& v) {
  std::visit(
      [&](const auto& x) {
        if constexpr (std::is_same_v<std::decay_t<decltype(x)>, MixerList>) {
          std::vector<uint8_t> codes;
          for (Mixer m : x) codes.push_back(uint8_t(m));
          ar(codes);
        } else {
          ar(x);
        }
      },
      v);
}

template <class T, class Ar>
HyperValue load_as(Ar& ar) {
  T x{};
  ar(x);
  return x;
}

template <class Ar>
HyperValue load_value(Ar& ar, HyperType t) {
  switch (t) {
    case HyperType::u32: return load_as<uint32_t>(ar);
    case HyperType::u64: return load_as<uint64_t>(ar);
    case HyperType::f32: return load_as<float>(ar);
    case HyperType::f64: return load_as<double>(ar);
    case HyperType::on_off: {
      // Written as one byte 0 or 1 (cereal's bool); read as a byte, since any
      // other value in a bool is undefined behaviour.
      uint8_t b = 0;
      ar(b);
      if (b > 1) throw std::runtime_error("an on/off setting holds " + std::to_string(b) + ", not 0 or 1");
      return b == 1;
    }
    case HyperType::name: {
      std::string text;
      load_sized(ar, text, "a setting's text");
      return text;
    }
    case HyperType::mixers: {
      std::vector<uint8_t> codes;
      load_sized(ar, codes, "the mixer list");
      MixerList ms;
      for (uint8_t code : codes) ms.push_back(Mixer(code));
      return ms;
    }
  }
  throw std::runtime_error("unknown setting type");
}

// Per-run rows (OnResume::per_run: how a run computes, not what) are not
// saved, and ignored if a file holds them.
bool saved(const Hyperparam& p) { return p.on_resume != OnResume::per_run; }

template <class Ar>
void save_settings(Ar& ar, const TrainConfig& c) {
  // Only the saved rows that apply to the model (as config.json), so that a
  // run without a local layer writes what builds before `window` read.
  std::vector<const Hyperparam*> rows;
  for (const Hyperparam& p : hyperparams())
    if (saved(p) && (!p.applies || p.applies(c.model))) rows.push_back(&p);
  ar(c.model.vocab_size);
  ar(cereal::make_size_tag(static_cast<cereal::size_type>(rows.size())));
  for (const Hyperparam* p : rows) {
    ar(std::string(p->key));
    save_value(ar, p->access.get(c));
  }
}

// A key read from the file, for a message: printable ASCII ('?' for any
// other byte: no control sequences or invalid UTF-8 on a terminal), and
// shortened when long.
std::string shown_key(const std::string& key) {
  std::string out;
  for (size_t i = 0; i < key.size() && i < 40; ++i)
    out += key[i] >= 0x20 && key[i] < 0x7F ? key[i] : '?';
  return key.size() > 40 ? out + "..." : out;
}

template <class Ar>
void read_setting(Ar& ar, const std::string& key, TrainOverrides* o) {
  const Hyperparam* p = find_hyperparam(key);
  if (!p)
    throw std::runtime_error("setting \"" + shown_key(key) + "\" is unknown to this build (a newer causalgen?)");
  const HyperValue v = load_value(ar, p->access.type);
  std::string why;
  if (!check_hyperparam(*p, v, &why)) throw std::runtime_error("training config: " + key + " " + why);
  if (saved(*p)) o->set(key, v);
}

template <class Ar>
void load_settings(Ar& ar, uint32_t version, TrainConfig& c) {
  uint32_t vocab_size = 0;
  ar(vocab_size);
  TrainOverrides o;
  if (version == 1) {
    for (const char* key : kV1Settings) read_setting(ar, key, &o);
  } else {
    cereal::size_type n = 0;
    ar(cereal::make_size_tag(n));
    if (n > 4 * hyperparams().size()) throw std::runtime_error("implausible number of settings");
    for (cereal::size_type i = 0; i < n; ++i) {
      std::string key;
      load_sized(ar, key, "a setting's name");
      read_setting(ar, key, &o);
    }
  }
  std::string why;
  if (!resolve_config(o, &c, &why)) throw std::runtime_error("training config: " + why);
  c.model.vocab_size = vocab_size;
  Error e;
  if (validate_config(c.model, &e) != Status::ok)
    throw std::runtime_error(std::string("model config: ") + e.message);
}

template <class Ar>
void save_body(Ar& ar, const TrainState& s) {
  ar(std::string("causalgen-train-state"));
  save_settings(ar, s.config);
  ar(s.vocab);
  save_flat(ar, s.params);
  save_flat(ar, s.m);
  save_flat(ar, s.v);
  ar(s.step, s.batch_rng.s[0], s.batch_rng.s[1], s.batch_rng.s[2], s.batch_rng.s[3]);
  ar(s.best_val, s.best_step, s.elapsed_s, s.threads, s.data_bytes, s.data_crc);
  ar(cereal::make_size_tag(static_cast<cereal::size_type>(s.iters.size())));
  for (const IterRecord& r : s.iters)
    ar(r.step, r.loss, r.lr, r.grad_norm, r.tokens_per_s, r.elapsed_s);
  ar(cereal::make_size_tag(static_cast<cereal::size_type>(s.evals.size())));
  for (const EvalRecord& r : s.evals) ar(r.step, r.train_loss, r.val_loss, r.elapsed_s);
}

template <class Ar>
void load_body(Ar& ar, uint32_t version, TrainState& s) {
  std::string tag;
  load_sized(ar, tag, "the body tag");
  if (tag != "causalgen-train-state") throw std::runtime_error("unexpected body tag");
  load_settings(ar, version, s.config);
  const Config& m = s.config.model;
  load_sized(ar, s.vocab, "the vocabulary");
  if (s.vocab.size() != m.vocab_size)
    throw std::runtime_error("vocabulary has " + std::to_string(s.vocab.size()) +
                             " characters, the config says " + std::to_string(m.vocab_size));
  for (size_t i = 0; i < s.vocab.size(); ++i)
    if (s.vocab[i] > 0x10FFFF || (i && s.vocab[i] <= s.vocab[i - 1]))
      throw std::runtime_error("vocabulary is not ascending code points");
  const size_t n = m.parameter_count();
  load_flat(ar, s.params, n, "params");
  load_flat(ar, s.m, n, "AdamW m");
  load_flat(ar, s.v, n, "AdamW v");
  ar(s.step, s.batch_rng.s[0], s.batch_rng.s[1], s.batch_rng.s[2], s.batch_rng.s[3]);
  ar(s.best_val, s.best_step, s.elapsed_s, s.threads, s.data_bytes, s.data_crc);
  cereal::size_type ni = 0, ne = 0;
  ar(cereal::make_size_tag(ni));
  if (ni > s.step + 1) throw std::runtime_error("iteration history longer than the step count");
  check_fits(ni, 8 + 4 * 4 + 8, "the iteration history");
  s.iters.resize(ni);
  for (IterRecord& r : s.iters) ar(r.step, r.loss, r.lr, r.grad_norm, r.tokens_per_s, r.elapsed_s);
  ar(cereal::make_size_tag(ne));
  if (ne > s.step + 1) throw std::runtime_error("evaluation history longer than the step count");
  check_fits(ne, 8 + 3 * 8, "the evaluation history");
  s.evals.resize(ne);
  for (EvalRecord& r : s.evals) ar(r.step, r.train_loss, r.val_loss, r.elapsed_s);
}

// The first value of f that is not finite (or, when nonnegative, below 0),
// named by its tensor; "" if none.
std::string first_bad_value(const Flat& f, const Config& c, const char* array, bool nonnegative) {
  for (size_t i = 0; i < f.size(); ++i) {
    const float x = f(i);
    if (std::isfinite(x) && !(nonnegative && x < 0)) continue;
    std::string where = "value " + std::to_string(i);
    for (uint32_t t = 0, n = tensor_count(c); t < n; ++t) {
      const TensorSpec spec = tensor_spec(c, t);
      if (i >= spec.offset && i < spec.offset + spec.size()) {
        where = "tensor '" + std::string(spec.name) + "' value " + std::to_string(i - spec.offset);
        break;
      }
    }
    return std::string(array) + ": " + where + " is " + std::to_string(x);
  }
  return "";
}

}  // namespace

std::string state_value_problem(const TrainState& s) {
  const Config& c = s.config.model;
  std::string why = first_bad_value(s.params, c, "params", false);
  if (why.empty()) why = first_bad_value(s.m, c, "AdamW m", false);
  if (why.empty()) why = first_bad_value(s.v, c, "AdamW v", true);
  return why;
}

std::vector<uint8_t> encode_checkpoint(const TrainState& s) {
  std::ostringstream body(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(body);
    save_body(ar, s);
  }
  const std::string b = body.str();
  std::vector<uint8_t> out(kCheckpointHeader + b.size());
  std::memcpy(out.data(), kMagic, 8);
  put_u32(out.data() + 8, kCheckpointVersion);
  put_u32(out.data() + 12, 0);
  put_u64(out.data() + 16, b.size());
  put_u32(out.data() + 24, crc32(b.data(), b.size()));
  std::memcpy(out.data() + kCheckpointHeader, b.data(), b.size());
  return out;
}

namespace {

// The header's checks, in order (checkpoint.hpp), on its first `n` bytes of a
// file of `size` bytes: *version and *body on success.
bool check_header(const uint8_t* data, size_t n, uint64_t size, uint32_t* version, uint64_t* body,
                  std::string* why) {
  if (n >= 4 && std::memcmp(data, "CGLM", 4) == 0) {
    *why = "this is a causalgen model file, not a training checkpoint (use --model)";
    return false;
  }
  if (size < kCheckpointHeader) {
    if (size >= 8 && std::memcmp(data, kMagic, 8) == 0)
      *why = "truncated checkpoint (" + std::to_string(size) + " bytes, the header alone is " +
             std::to_string(kCheckpointHeader) + ")";
    else
      *why = size == 0 ? "empty file, not a causalgen checkpoint"
                       : "not a causalgen checkpoint (too short, no CGCKPT header)";
    return false;
  }
  if (std::memcmp(data, kMagic, 8) != 0) {
    *why = "not a causalgen checkpoint (bad magic)";
    return false;
  }
  *version = get_u32(data + 8);
  if (*version < kOldestCheckpointVersion || *version > kCheckpointVersion) {
    *why = "checkpoint format version " + std::to_string(*version) + "; this build reads " +
           std::to_string(kOldestCheckpointVersion) + " to " + std::to_string(kCheckpointVersion);
    return false;
  }
  if (get_u32(data + 12) != 0) {
    *why = "corrupt checkpoint header (reserved field not zero)";
    return false;
  }
  *body = get_u64(data + 16);
  if (*body != size - kCheckpointHeader) {
    *why = *body > size - kCheckpointHeader
               ? "truncated checkpoint (header says " + std::to_string(*body) +
                     " body bytes, the file has " + std::to_string(size - kCheckpointHeader) + ")"
               : "corrupt checkpoint (" + std::to_string(size - kCheckpointHeader - *body) +
                     " unexpected bytes after the body)";
    return false;
  }
  return true;
}

}  // namespace

bool decode_checkpoint(const uint8_t* data, size_t size, const std::string& name, TrainState* out,
                       std::string* err) {
  auto fail = [&](const std::string& why) {
    *err = name + ": " + why;
    return false;
  };
  uint32_t version = 0;
  uint64_t body = 0;
  std::string why;
  if (!check_header(data, size, size, &version, &body, &why)) return fail(why);
  if (crc32(data + kCheckpointHeader, body) != get_u32(data + 24))
    return fail("corrupt checkpoint (CRC-32 mismatch: the bytes changed after it was written)");
  TrainState s;
  BodyStream stream(data + kCheckpointHeader, size_t(body));
  struct Current {  // t_body while this body is decoded
    Current(const BodyStream* b) { t_body = b; }
    ~Current() { t_body = nullptr; }
  } current(&stream);
  try {
    std::istream in(&stream);
    cereal::PortableBinaryInputArchive ar(in);
    load_body(ar, version, s);
    // The size and the CRC cover bytes that no field reads: not a file this
    // program wrote.
    if (const std::streamsize left = stream.remaining(); left > 0)
      return fail("corrupt checkpoint (" + std::to_string(left) +
                  " bytes after the last field, inside the size and CRC)");
  } catch (const cereal::Exception&) {
    // cereal's only failure here is a read past the end ("Failed to read N bytes").
    return fail("malformed checkpoint: the body (" + std::to_string(body) +
                " bytes) ends before the fields it declares");
  } catch (const std::bad_alloc&) {
    return fail("malformed checkpoint: out of memory for the sizes it declares");
  } catch (const std::exception& e) {
    return fail(std::string("malformed checkpoint: ") + e.what());
  }
  if (const std::string why = state_value_problem(s); !why.empty())
    return fail("unusable checkpoint: " + why +
                " (parameters and moments must be finite: the run that wrote it diverged?)");
  *out = std::move(s);
  return true;
}

bool save_checkpoint(const std::string& path, const TrainState& s, std::string* err) {
  if (const std::string why = state_value_problem(s); !why.empty()) {
    *err = path + ": not saved: " + why + " (parameters and moments must be finite)";
    return false;
  }
  const std::vector<uint8_t> bytes = encode_checkpoint(s);
  if (!host::write_file_atomic(path, bytes.data(), bytes.size(), err)) return false;
  // Make the rename itself durable.
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return true;
}

bool read_checkpoint_file(const std::string& path, host::AlignedBytes* out, std::string* err) {
  // The header first: what is not a checkpoint, or one whose declared size
  // is not the file's or does not fit in memory, is refused before the body
  // is read.
  host::InputFile f;
  if (!host::open_input(path, &f, err)) return false;
  uint8_t head[kCheckpointHeader] = {};
  const int64_t n = host::read_up_to(f.fd, head, sizeof head);
  if (n < 0) {
    *err = path + ": " + std::strerror(errno);
    return false;
  }
  uint32_t version = 0;
  uint64_t body = 0;
  std::string why;
  const uint64_t size = n < int64_t(kCheckpointHeader) ? uint64_t(n) : f.size;
  if (!check_header(head, size_t(n), size, &version, &body, &why)) {
    *err = path + ": " + why;
    return false;
  }
  // Decoding holds the body and the state it describes (about the body again).
  const uint64_t need = body > UINT64_MAX / 2 ? UINT64_MAX : 2 * body;
  if (!host::check_budget(need, path + ": loading this checkpoint", err)) return false;
  // One byte more than declared, so that bytes added since the header was
  // checked show as such.
  host::AlignedBytes bytes = host::aligned_bytes(size_t(kCheckpointHeader + body + 1));
  if (!bytes.data) {
    *err = path + ": out of memory for its " + host::describe_bytes(kCheckpointHeader + body);
    return false;
  }
  std::memcpy(bytes.data.get(), head, kCheckpointHeader);
  const int64_t got = host::read_up_to(f.fd, bytes.data.get() + kCheckpointHeader, body + 1);
  if (got < 0) {
    *err = path + ": " + std::strerror(errno);
    return false;
  }
  bytes.size = kCheckpointHeader + size_t(got);  // shorter: decode says truncated
  *out = std::move(bytes);
  return true;
}

bool load_checkpoint(const std::string& path, TrainState* out, std::string* err) {
  host::AlignedBytes bytes;
  return read_checkpoint_file(path, &bytes, err) &&
         decode_checkpoint(bytes.data.get(), bytes.size, path, out, err);
}

}  // namespace causalgen::train
