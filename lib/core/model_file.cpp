#include "causalgen/model_file.hpp"

#include "causalgen/model_tensors.hpp"

#include <cstring>

namespace causalgen {

namespace {

inline uint32_t load_u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t load_u64(const uint8_t* p) { return load_u32(p) | uint64_t(load_u32(p + 4)) << 32; }
inline void store_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
inline void store_u64(uint8_t* p, uint64_t v) {
  store_u32(p, uint32_t(v));
  store_u32(p + 4, uint32_t(v >> 32));
}
inline uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// The format's gaps are zero bytes: the first nonzero byte in [from, to), or to.
uint64_t first_nonzero(const uint8_t* b, uint64_t from, uint64_t to) {
  while (from < to && b[from] == 0) ++from;
  return from;
}
// An f32's bits are an infinity or a NaN (all exponent bits set); tested on
// the bits so that no floating-point mode can change the answer.
inline bool f32_bits_not_finite(uint32_t bits) { return (bits & 0x7F800000u) == 0x7F800000u; }
// Every model load checks every value, so the scans below look at whole
// blocks without an early exit (which the compiler vectorises), and search
// value by value only within the block that holds a bad one.
constexpr uint64_t kScanBlock = 256;

// Index of the first f32 that is not finite in p[0..n), or n.
uint64_t first_not_finite(const uint8_t* p, uint64_t n) {
  uint64_t i = 0;
  for (; i + kScanBlock <= n; i += kScanBlock) {
    uint32_t bad = 0;
    for (uint64_t j = 0; j < kScanBlock; ++j) {
      uint32_t bits;  // host order = file order: the core reads weights in place (little-endian only)
      std::memcpy(&bits, p + 4 * (i + j), 4);
      bad |= uint32_t((bits & 0x7F800000u) == 0x7F800000u);
    }
    if (bad) break;
  }
  while (i < n && !f32_bits_not_finite(load_u32(p + 4 * i))) ++i;
  return i;
}
// Index of the first byte equal to v in p[0..n), or n.
uint64_t first_byte(const uint8_t* p, uint64_t n, uint8_t v) {
  uint64_t i = 0;
  for (; i + kScanBlock <= n; i += kScanBlock) {
    uint32_t hit = 0;
    for (uint64_t j = 0; j < kScanBlock; ++j) hit |= uint32_t(p[i + j] == v);
    if (hit) break;
  }
  while (i < n && p[i] != v) ++i;
  return i;
}

constexpr uint32_t kFlagBias = 1, kFlagPosEmb = 2;
const uint8_t kMagic[4] = {'C', 'G', 'L', 'M'};

// Header field offsets.
enum : uint32_t {
  kOffMagic = 0, kOffVersion = 4, kOffFileSize = 8, kOffHeaderSize = 16, kOffVocab = 20,
  kOffBlock = 24, kOffLayers = 28, kOffEmbd = 32, kOffHeads = 36, kOffFlags = 40,
  kOffNTensors = 44, kOffMixers = 48, kOffVocabTable = 52, kOffDir = 56, kOffData = 60,
};

// Byte layout that a config implies; parse and write both use it. windows is
// 0 when no layer's mixer takes a window (then the file has no window table).
struct Layout {
  uint32_t mixers, windows, vocab, dir, data;
  uint64_t file_size;
};

bool has_window_table(const Config& c) {
  for (uint32_t l = 0; l < c.n_layer && l < kMaxLayers; ++l)
    if (mixer_takes_window(c.mixers[l])) return true;
  return false;
}

uint64_t tensor_bytes(const TensorSpec& t) { return uint64_t(t.rows) * t.cols * 4; }

// Data bytes of tensor t stored as dtype (int8: with group size group).
uint64_t tensor_bytes_as(const TensorSpec& t, DType d, uint32_t group) {
  return d == DType::int8 ? int8_tensor_bytes(t.rows, t.cols, group) : tensor_bytes(t);
}

// The dtype the writer gives tensor t.
DType dtype_for(const TensorSpec& t, const WriteOptions& o) {
  return o.matrices == DType::int8 && t.kind == TensorKind::matrix ? DType::int8 : DType::f32;
}

// nbytes_of(i, spec) gives tensor i's data bytes (by its dtype).
template <class F>
Layout layout_with(const Config& c, F&& nbytes_of) {
  Layout l;
  l.mixers = kHeaderSize;
  const uint32_t after_mixers = uint32_t(align_up(l.mixers + c.n_layer, 4));
  l.windows = has_window_table(c) ? after_mixers : 0;
  l.vocab = l.windows ? l.windows + 4 * c.n_layer : after_mixers;
  l.dir = uint32_t(align_up(l.vocab + uint64_t(c.vocab_size) * 4, 8));
  l.data = uint32_t(align_up(l.dir + uint64_t(tensor_count(c)) * kDirEntrySize, kTensorAlign));
  uint64_t off = l.data;
  const uint32_t n = tensor_count(c);
  for (uint32_t i = 0; i < n; ++i) off = align_up(off, kTensorAlign) + nbytes_of(i, tensor_spec(c, i));
  l.file_size = off + 4;  // CRC
  return l;
}
Layout layout_for(const Config& c, const WriteOptions& o) {
  return layout_with(c, [&](uint32_t, const TensorSpec& t) {
    return tensor_bytes_as(t, dtype_for(t, o), o.group_size);
  });
}
Layout layout_for(const Config& c) { return layout_for(c, WriteOptions{}); }

// Symmetric int8 with one scale per group of a row (see model_file.hpp).
// false if a group's largest magnitude is not finite (inf or NaN weights).
bool quantize_rows(const float* w, uint32_t rows, uint32_t cols, uint32_t group, uint8_t* out) {
  const uint32_t ng = int8_groups(cols, group);
  int8_t* q = reinterpret_cast<int8_t*>(out);
  uint8_t* scales = out + int8_scales_offset(rows, cols);
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t g = 0; g < ng; ++g) {
      const uint32_t c0 = g * group, c1 = c0 + group < cols ? c0 + group : cols;
      const float* x = w + size_t(r) * cols;
      float amax = 0.0f;
      for (uint32_t i = c0; i < c1; ++i) {
        const float a = x[i] < 0.0f ? -x[i] : x[i];
        if (a > amax) amax = a;
      }
      for (uint32_t i = c0; i < c1; ++i)
        if (x[i] != x[i]) return false;
      if (!(amax <= 3.4028234e38f)) return false;
      const float scale = amax / 127.0f;
      const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      for (uint32_t i = c0; i < c1; ++i) {
        float v = x[i] * inv;
        if (!(v >= -127.0f && v <= 127.0f)) v = v > 0.0f ? 127.0f : v < 0.0f ? -127.0f : 0.0f;
        q[size_t(r) * cols + i] = int8_t(v >= 0.0f ? int(v + 0.5f) : -int(-v + 0.5f));
      }
      std::memcpy(scales + (size_t(g) * rows + r) * 4, &scale, 4);  // group-major
    }
  return true;
}

}  // namespace

size_t model_file_size(const Config& c) { return size_t(layout_for(c).file_size); }
size_t model_file_size(const Config& c, const WriteOptions& o) {
  return size_t(layout_for(c, o).file_size);
}

Status write_model(const Config& c, const uint32_t* codepoints, const float* params, void* out,
                   size_t out_size, Error* err) {
  return write_model(c, codepoints, params, WriteOptions{}, out, out_size, err);
}

namespace {

// What write_model refuses before it writes a byte.
Status check_write_inputs(const Config& c, const uint32_t* codepoints, const WriteOptions& o,
                          Error* err) {
  if (o.matrices != DType::f32 && o.matrices != DType::int8)
    return fail(err, Status::bad_argument, "unknown dtype %u", unsigned(o.matrices));
  if (o.matrices == DType::int8 && (o.group_size < 1 || o.group_size > kMaxGroupSize))
    return fail(err, Status::bad_argument, "int8 group size %u outside 1..%u", unsigned(o.group_size),
                unsigned(kMaxGroupSize));
  if (Status s = validate_config(c, err); s != Status::ok) return s;
  for (uint32_t i = 0; i < c.vocab_size; ++i) {
    if (codepoints[i] > 0x10FFFF || (codepoints[i] >= 0xD800 && codepoints[i] <= 0xDFFF) ||
        (i > 0 && codepoints[i] <= codepoints[i - 1]))
      return fail(err, Status::bad_vocab, "vocabulary entry %u (U+%04X) not ascending/valid", i,
                  codepoints[i]);
  }
  return Status::ok;
}

// The header, the mixer and window tables and the vocabulary.
void write_header_and_tables(const Config& c, const uint32_t* codepoints, const Layout& lay,
                             uint8_t* b) {
  std::memcpy(b + kOffMagic, kMagic, 4);
  store_u32(b + kOffVersion, kFormatVersion);
  store_u64(b + kOffFileSize, lay.file_size);
  store_u32(b + kOffHeaderSize, kHeaderSize);
  store_u32(b + kOffVocab, c.vocab_size);
  store_u32(b + kOffBlock, c.block_size);
  store_u32(b + kOffLayers, c.n_layer);
  store_u32(b + kOffEmbd, c.n_embd);
  store_u32(b + kOffHeads, c.n_head);
  store_u32(b + kOffFlags, (c.bias ? kFlagBias : 0) | (c.pos_emb ? kFlagPosEmb : 0));
  store_u32(b + kOffNTensors, tensor_count(c));
  store_u32(b + kOffMixers, lay.mixers);
  store_u32(b + kOffVocabTable, lay.vocab);
  store_u32(b + kOffDir, lay.dir);
  store_u32(b + kOffData, lay.data);
  for (uint32_t l = 0; l < c.n_layer; ++l) b[lay.mixers + l] = uint8_t(c.mixers[l]);
  if (lay.windows)
    for (uint32_t l = 0; l < c.n_layer; ++l)
      store_u32(b + lay.windows + 4 * l, mixer_takes_window(c.mixers[l]) ? c.window[l] : 0);
  for (uint32_t i = 0; i < c.vocab_size; ++i) store_u32(b + lay.vocab + 4 * i, codepoints[i]);
}

// Each tensor's directory entry and data, in the tensor table's order.
Status write_tensors(const Config& c, const float* params, const WriteOptions& o, const Layout& lay,
                     uint8_t* b, Error* err) {
  uint64_t off = lay.data;
  const float* src = params;
  for (uint32_t i = 0, nt = tensor_count(c); i < nt; ++i) {
    const TensorSpec t = tensor_spec(c, i);
    off = align_up(off, kTensorAlign);
    uint8_t* e = b + lay.dir + uint64_t(i) * kDirEntrySize;
    const DType d = dtype_for(t, o);
    const uint64_t nbytes = tensor_bytes_as(t, d, o.group_size);
    std::memcpy(e, t.name, std::strlen(t.name));
    store_u32(e + 32, uint32_t(d));
    store_u32(e + 36, t.rows);
    store_u32(e + 40, t.cols);
    store_u32(e + 44, d == DType::int8 ? o.group_size : 0);
    store_u64(e + 48, off);
    store_u64(e + 56, nbytes);
    // Little-endian hosts only (x86-64, wasm32, Cortex-M): floats copy as is.
    if (d == DType::int8) {
      if (!quantize_rows(src, t.rows, t.cols, o.group_size, b + off))
        return fail(err, Status::bad_argument, "tensor '%s' has a weight that is not finite", t.name);
    } else {
      std::memcpy(b + off, src, size_t(nbytes));
      if (first_not_finite(b + off, uint64_t(t.rows) * t.cols) != uint64_t(t.rows) * t.cols)
        return fail(err, Status::bad_argument, "tensor '%s' has a weight that is not finite", t.name);
    }
    src += uint64_t(t.rows) * t.cols;
    off += nbytes;
  }
  return Status::ok;
}

}  // namespace

Status write_model(const Config& c, const uint32_t* codepoints, const float* params,
                   const WriteOptions& o, void* out, size_t out_size, Error* err) {
  if (Status s = check_write_inputs(c, codepoints, o, err); s != Status::ok) return s;
  const Layout lay = layout_for(c, o);
  if (out_size < lay.file_size)
    return fail(err, Status::arena_too_small, "output buffer %zu bytes, need %llu", out_size,
                static_cast<unsigned long long>(lay.file_size));
  auto* b = static_cast<uint8_t*>(out);
  std::memset(b, 0, size_t(lay.file_size));  // the format's gaps are zero bytes
  write_header_and_tables(c, codepoints, lay, b);
  if (Status s = write_tensors(c, params, o, lay, b, err); s != Status::ok) return s;
  store_u32(b + lay.file_size - 4, crc32(b, size_t(lay.file_size - 4)));
  return Status::ok;
}

namespace {
// Where a Model keeps tensor (role, layer): its f32 pointer, and for weight
// matrices the int8 data offset (q null for vectors, which are always f32).
struct Slot {
  const float** f32;
  uint32_t* q;
};
Slot slot(Model& m, TensorRole role, uint32_t layer) {
  LayerWeights& w = m.layers[layer < kMaxLayers ? layer : 0];
  QuantLayer& q = m.q_layers[layer < kMaxLayers ? layer : 0];
  switch (role) {
    case TensorRole::wte: return {&m.wte, &m.q_wte};
    case TensorRole::wpe: return {&m.wpe, &m.q_wpe};
    case TensorRole::lnf_w: return {&m.lnf_w, nullptr};
    case TensorRole::lnf_b: return {&m.lnf_b, nullptr};
    case TensorRole::ln1_w: return {&w.ln1_w, nullptr};
    case TensorRole::ln1_b: return {&w.ln1_b, nullptr};
    case TensorRole::mixer_w: return {&w.wqkv, &q.wqkv};
    case TensorRole::mixer_b: return {&w.bqkv, nullptr};
    case TensorRole::wo: return {&w.wo, &q.wo};
    case TensorRole::bo: return {&w.bo, nullptr};
    case TensorRole::ln2_w: return {&w.ln2_w, nullptr};
    case TensorRole::ln2_b: return {&w.ln2_b, nullptr};
    case TensorRole::fc1_w: return {&w.fc1_w, &q.fc1_w};
    case TensorRole::fc1_b: return {&w.fc1_b, nullptr};
    case TensorRole::fc2_w: return {&w.fc2_w, &q.fc2_w};
    case TensorRole::fc2_b: return {&w.fc2_b, nullptr};
  }
  return {nullptr, nullptr};
}

// Points tensor t's slot at its f32 data p, or records its int8 data offset
// q_off (nonzero when the tensor is int8).
void bind(Model& m, const TensorSpec& t, const float* p, uint32_t q_off) {
  const Slot s = slot(m, t.role, t.layer);
  if (s.f32) *s.f32 = p;
  if (s.q) *s.q = q_off;
}
}  // namespace

namespace {

// The steps of parse_model, in the order it runs them: each trusts only what
// the steps before it checked.

// The header's start, from the first n bytes of a file of at least n
// bytes: magic, a whole header, version.
Status check_header_start(const uint8_t* b, size_t n, Error* err) {
  if (n < 4 || std::memcmp(b, kMagic, 4) != 0) {
    if (n < 4) return fail(err, Status::truncated, "file is %zu bytes, too short for a model", n);
    return fail(err, Status::bad_magic, "not a causalgen model file (magic is not \"CGLM\")");
  }
  if (n < kHeaderSize + 4)
    return fail(err, Status::truncated, "file is %zu bytes, shorter than the %u-byte header",
                n, kHeaderSize + 4);
  const uint32_t version = load_u32(b + kOffVersion);
  if (version != kFormatVersion)
    return fail(err, Status::bad_version, "format version %u, this build reads version %u",
                version, kFormatVersion);
  return Status::ok;
}

// The envelope: the header's start, sizes, CRC-32 and header size.
Status check_envelope(const uint8_t* b, size_t size, Error* err) {
  if (Status s = check_header_start(b, size, err); s != Status::ok) return s;
  const uint64_t file_size = load_u64(b + kOffFileSize);
  if (file_size > size)
    return fail(err, Status::truncated, "file is truncated: header says %llu bytes, got %zu",
                static_cast<unsigned long long>(file_size), size);
  if (file_size < size)
    return fail(err, Status::out_of_bounds, "file is %zu bytes, %llu more than the %llu its header declares",
                size, static_cast<unsigned long long>(size - file_size),
                static_cast<unsigned long long>(file_size));
  const uint32_t crc_stored = load_u32(b + size - 4);
  const uint32_t crc_actual = crc32(b, size - 4);
  if (crc_stored != crc_actual)
    return fail(err, Status::crc_mismatch, "CRC-32 mismatch (stored %08x, computed %08x): file is corrupt",
                crc_stored, crc_actual);
  if (load_u32(b + kOffHeaderSize) != kHeaderSize)
    return fail(err, Status::bad_config, "header size %u, expected %u", load_u32(b + kOffHeaderSize),
                kHeaderSize);
  return Status::ok;
}

// The window table (present when a layer's mixer takes a window): each such
// layer's W, checked by validate_config; 0 for every other layer.
Status read_windows(const uint8_t* b, size_t size, Config* c, Error* err) {
  for (uint32_t l = 0; l < c->n_layer; ++l)
    if (!mixer_known(c->mixers[l]))  // validate_config names it
      return Status::ok;
  if (!has_window_table(*c)) return Status::ok;
  const uint64_t at = align_up(kHeaderSize + c->n_layer, 4);
  if (at + 4 * uint64_t(c->n_layer) > size - 4)
    return fail(err, Status::out_of_bounds, "file ends inside the window table");
  for (uint32_t l = 0; l < c->n_layer; ++l) {
    const uint32_t w = load_u32(b + at + 4 * l);
    if (mixer_takes_window(c->mixers[l])) c->window[l] = w;
    else if (w != 0)
      return fail(err, Status::bad_config, "layer %u (%s): window %u, must be 0 (the mixer has none)",
                  l, mixer_name(c->mixers[l]), w);
  }
  return Status::ok;
}

// The config: header fields, flags and the mixer table, validated.
Status read_config(const uint8_t* b, size_t size, Config* out, Error* err) {
  Config c;
  c.vocab_size = load_u32(b + kOffVocab);
  c.block_size = load_u32(b + kOffBlock);
  c.n_layer = load_u32(b + kOffLayers);
  c.n_embd = load_u32(b + kOffEmbd);
  c.n_head = load_u32(b + kOffHeads);
  const uint32_t flags = load_u32(b + kOffFlags);
  if (flags & ~(kFlagBias | kFlagPosEmb))
    return fail(err, Status::bad_config, "unknown flags 0x%x", flags);
  c.bias = flags & kFlagBias;
  c.pos_emb = flags & kFlagPosEmb;
  if (c.n_layer < 1 || c.n_layer > kMaxLayers)
    return fail(err, Status::bad_config, "n_layer %u outside 1..%u", c.n_layer, kMaxLayers);
  // Fixed sections must sit exactly where the config puts them.
  const uint32_t mixers_off = load_u32(b + kOffMixers);
  if (mixers_off != kHeaderSize || uint64_t(mixers_off) + c.n_layer > size - 4)
    return fail(err, Status::out_of_bounds, "mixer table offset %u invalid", mixers_off);
  for (uint32_t l = 0; l < c.n_layer; ++l) c.mixers[l] = static_cast<Mixer>(b[mixers_off + l]);
  if (Status s = read_windows(b, size, &c, err); s != Status::ok) return s;
  if (Status s = validate_config(c, err); s != Status::ok) return s;
  *out = c;
  return Status::ok;
}

// The tensor count and the vocabulary, directory and data offsets.
Status check_sections(const uint8_t* b, size_t size, const Config& c, Error* err) {
  const Layout lay = layout_for(c);
  const uint32_t nt = load_u32(b + kOffNTensors);
  if (nt != tensor_count(c))
    return fail(err, Status::bad_tensor, "%u tensors in directory, config needs %u", nt,
                tensor_count(c));
  const uint32_t vocab_off = load_u32(b + kOffVocabTable), dir_off = load_u32(b + kOffDir),
                 data_off = load_u32(b + kOffData);
  if (vocab_off != lay.vocab || dir_off != lay.dir || data_off != lay.data)
    return fail(err, Status::out_of_bounds,
                "section offsets (vocab %u, directory %u, data %u) do not match the layout", vocab_off,
                dir_off, data_off);
  if (uint64_t(lay.data) > size - 4)
    return fail(err, Status::out_of_bounds, "file size %llu, the directory alone needs %llu",
                static_cast<unsigned long long>(size), static_cast<unsigned long long>(lay.data) + 4);
  // The gaps between the sections are zero bytes.
  const struct {
    uint64_t from, to;
    Status status;
    const char* after;
  } gaps[] = {
      {lay.mixers + uint64_t(c.n_layer), lay.windows ? lay.windows : lay.vocab, Status::bad_config,
       "mixer table"},
      {lay.vocab + uint64_t(c.vocab_size) * 4, lay.dir, Status::bad_vocab, "vocabulary"},
      {lay.dir + uint64_t(nt) * kDirEntrySize, lay.data, Status::bad_tensor, "tensor directory"},
  };
  for (const auto& g : gaps)
    if (uint64_t at = first_nonzero(b, g.from, g.to); at != g.to)
      return fail(err, g.status, "nonzero padding byte at offset %llu after the %s",
                  static_cast<unsigned long long>(at), g.after);
  return Status::ok;
}

const uint8_t* dir_entry(const uint8_t* b, uint32_t i) {
  return b + load_u32(b + kOffDir) + uint64_t(i) * kDirEntrySize;
}

// Each entry's dtype (int8 only for matrices) and the file's one int8 group
// size (0: no int8 tensor); then the file size they imply.
Status check_dtypes(const uint8_t* b, size_t size, const Config& c, uint32_t* q_group, Error* err) {
  const uint32_t nt = tensor_count(c);
  for (uint32_t i = 0; i < nt; ++i) {
    const uint8_t* e = dir_entry(b, i);
    const uint32_t dtype = load_u32(e + 32), group = load_u32(e + 44);
    if (dtype == uint32_t(DType::f32)) {
      if (group != 0)
        return fail(err, Status::bad_tensor, "directory entry %u: group field %u, must be 0 for f32", i,
                    group);
    } else if (dtype == uint32_t(DType::int8)) {
      const TensorSpec want = tensor_spec(c, i);
      if (want.kind != TensorKind::matrix)
        return fail(err, Status::bad_tensor, "tensor '%s' cannot be int8 (only weight matrices can)",
                    want.name);
      if (group < 1 || group > kMaxGroupSize)
        return fail(err, Status::bad_tensor, "tensor '%s' has int8 group size %u, outside 1..%u",
                    want.name, group, kMaxGroupSize);
      if (*q_group != 0 && group != *q_group)
        return fail(err, Status::bad_tensor,
                    "tensor '%s' has int8 group size %u but an earlier one has %u (one per file)",
                    want.name, group, *q_group);
      *q_group = group;
    } else {
      return fail(err, Status::bad_tensor, "tensor '%s' has unknown dtype %u", tensor_spec(c, i).name,
                  dtype);
    }
  }
  // Each tensor's dtype (and int8 group size) decides its size, hence the layout.
  const Layout sized = layout_with(c, [&](uint32_t i, const TensorSpec& t) {
    const uint8_t* e = dir_entry(b, i);
    return tensor_bytes_as(t, static_cast<DType>(load_u32(e + 32)), load_u32(e + 44));
  });
  if (sized.file_size != size)
    return fail(err, Status::out_of_bounds, "file size %llu, config implies %llu",
                static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(sized.file_size));
  return Status::ok;
}

// Strictly ascending Unicode code points (no surrogates).
Status check_vocab(const Vocab& v, Error* err) {
  for (uint32_t i = 0; i < v.size; ++i) {
    const uint32_t cp = v.codepoint(i);
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return fail(err, Status::bad_vocab, "vocabulary entry %u is not a code point (0x%x)", i, cp);
    if (i > 0 && cp <= v.codepoint(i - 1))
      return fail(err, Status::bad_vocab, "vocabulary not strictly ascending at entry %u", i);
  }
  return Status::ok;
}

// A tensor's data at off: f32 values finite; int8 values in [-127, 127],
// zero padding before the scales, scales finite and >= 0 (sign bit clear).
Status check_tensor_data(const uint8_t* b, uint64_t off, DType dtype, const TensorSpec& t,
                         uint32_t q_group, Error* err) {
  const uint64_t n = uint64_t(t.rows) * t.cols;
  if (dtype == DType::f32) {
    if (uint64_t k = first_not_finite(b + off, n); k != n)
      return fail(err, Status::bad_tensor, "tensor '%s': value %llu (row %llu, column %llu) is not finite",
                  t.name, static_cast<unsigned long long>(k), static_cast<unsigned long long>(k / t.cols),
                  static_cast<unsigned long long>(k % t.cols));
    return Status::ok;
  }
  if (uint64_t k = first_byte(b + off, n, 0x80); k != n)
      return fail(err, Status::bad_tensor, "tensor '%s': int8 value %llu is -128 (the format allows -127..127)",
                  t.name, static_cast<unsigned long long>(k));
  const uint64_t scales_off = off + int8_scales_offset(t.rows, t.cols);
  if (uint64_t at = first_nonzero(b, off + n, scales_off); at != scales_off)
    return fail(err, Status::bad_tensor, "tensor '%s': nonzero padding byte at offset %llu before its scales",
                t.name, static_cast<unsigned long long>(at));
  const uint64_t n_scales = uint64_t(t.rows) * int8_groups(t.cols, q_group);
  for (uint64_t k = 0; k < n_scales; ++k) {
    const uint32_t bits = load_u32(b + scales_off + 4 * k);
    if (f32_bits_not_finite(bits) || (bits >> 31) != 0)
      return fail(err, Status::bad_tensor, "tensor '%s': int8 scale %llu is not finite and >= 0",
                  t.name, static_cast<unsigned long long>(k));
  }
  return Status::ok;
}

// A directory entry's name for a message: up to its NUL, each byte outside
// printable ASCII shown as '?', so that a hostile file cannot put control
// sequences or invalid UTF-8 on the user's terminal.
void printable_name(const uint8_t* e, char out[kTensorNameMax]) {
  uint32_t k = 0;
  for (; k + 1 < kTensorNameMax && e[k] != 0; ++k) out[k] = e[k] >= 0x20 && e[k] < 0x7F ? char(e[k]) : '?';
  out[k] = 0;
}

// Directory entry i against the tensor table (name, shape, size, bounds,
// alignment, place, data), then bound into m by its role. *end: where the
// previous tensor's data ends (data_offset before the first); tensor i must
// start at the next multiple of 64 after it, so no two tensors overlap and
// every byte between them is padding, which must be zero.
Status bind_entry(Model& m, uint32_t i, uint64_t* end, Error* err) {
  const uint8_t* b = m.bytes;
  const size_t size = m.file_size;
  const uint8_t* e = dir_entry(b, i);
  const TensorSpec want = tensor_spec(m.config, i);
  if (std::memchr(e, 0, kTensorNameMax) == nullptr)
    return fail(err, Status::bad_tensor, "directory entry %u: name not NUL-terminated", i);
  if (std::strncmp(reinterpret_cast<const char*>(e), want.name, kTensorNameMax) != 0) {
    char shown[kTensorNameMax];
    printable_name(e, shown);
    return fail(err, Status::bad_tensor, "directory entry %u is '%s', expected '%s'", i, shown, want.name);
  }
  if (first_nonzero(e, std::strlen(want.name), kTensorNameMax) != kTensorNameMax)
    return fail(err, Status::bad_tensor, "directory entry %u ('%s'): name not NUL-padded", i, want.name);
  const uint32_t rows = load_u32(e + 36), cols = load_u32(e + 40);
  const DType dtype = static_cast<DType>(load_u32(e + 32));  // check_dtypes checked it
  const uint64_t off = load_u64(e + 48), nbytes = load_u64(e + 56);
  if (rows != want.rows || cols != want.cols)
    return fail(err, Status::bad_tensor, "tensor '%s' has shape %ux%u, expected %ux%u", want.name,
                rows, cols, want.rows, want.cols);
  const uint64_t want_bytes = tensor_bytes_as(want, dtype, m.q_group);
  if (nbytes != want_bytes)
    return fail(err, Status::bad_tensor, "tensor '%s' is %llu bytes, expected %llu", want.name,
                static_cast<unsigned long long>(nbytes), static_cast<unsigned long long>(want_bytes));
  if (off < load_u32(b + kOffData) || off > size - 4 || nbytes > size - 4 - off)
    return fail(err, Status::out_of_bounds, "tensor '%s' at offset %llu runs past the end",
                want.name, static_cast<unsigned long long>(off));
  if (off % kTensorAlign != 0)
    return fail(err, Status::misaligned, "tensor '%s' offset %llu not %u-byte aligned", want.name,
                static_cast<unsigned long long>(off), kTensorAlign);
  const uint64_t place = align_up(*end, kTensorAlign);
  if (off != place)
    return fail(err, Status::bad_tensor, "tensor '%s' at offset %llu, the layout puts it at %llu%s",
                want.name, static_cast<unsigned long long>(off), static_cast<unsigned long long>(place),
                off < *end ? " (it overlaps the tensor before it)" : "");
  if (uint64_t at = first_nonzero(b, *end, off); at != off)
    return fail(err, Status::bad_tensor, "nonzero padding byte at offset %llu before tensor '%s'",
                static_cast<unsigned long long>(at), want.name);
  if (Status s = check_tensor_data(b, off, dtype, want, m.q_group, err); s != Status::ok) return s;
  *end = off + nbytes;
  uint32_t q_off = 0;  // int8: the data offset (nonzero: the data follows the header)
  if (dtype == DType::int8) {
    if (off > 0xFFFFFFFFu)
      return fail(err, Status::out_of_bounds, "int8 tensor '%s' lies past 4 GiB", want.name);
    q_off = uint32_t(off);
  }
  const float* p = dtype == DType::f32 ? reinterpret_cast<const float*>(b + off) : nullptr;
  bind(m, want, p, q_off);
  return Status::ok;
}

}  // namespace

Status model_file_size_from_header(const void* head, size_t n, uint64_t* size, Error* err) {
  const auto* b = static_cast<const uint8_t*>(head);
  if (!b && n) return fail(err, Status::bad_argument, "no header bytes");
  if (Status s = check_header_start(b, n, err); s != Status::ok) return s;
  *size = load_u64(b + kOffFileSize);
  return Status::ok;
}

Status parse_model(const void* data, size_t size, Model* out, Error* err) {
  const auto* b = static_cast<const uint8_t*>(data);
  if (!b) return fail(err, Status::bad_argument, "no model bytes");
  if (reinterpret_cast<uintptr_t>(b) % 4 != 0)
    return fail(err, Status::misaligned, "model bytes must be 4-byte aligned");
  if (Status s = check_envelope(b, size, err); s != Status::ok) return s;
  Config c;
  if (Status s = read_config(b, size, &c, err); s != Status::ok) return s;
  if (Status s = check_sections(b, size, c, err); s != Status::ok) return s;
  uint32_t q_group = 0;
  if (Status s = check_dtypes(b, size, c, &q_group, err); s != Status::ok) return s;
  const Vocab v{b + load_u32(b + kOffVocabTable), c.vocab_size};
  if (Status s = check_vocab(v, err); s != Status::ok) return s;

  // Filled in place (a Model is several KB: no copy on a microcontroller's
  // stack); on failure *out is left partly filled.
  *out = Model{};
  out->config = c;
  out->vocab = v;
  out->file_size = size;
  out->bytes = b;
  out->q_group = q_group;
  uint64_t end = load_u32(b + kOffData);
  for (uint32_t i = 0, nt = tensor_count(c); i < nt; ++i)
    if (Status s = bind_entry(*out, i, &end, err); s != Status::ok) return s;
  return Status::ok;
}

TensorView tensor_view(const Model& m, uint32_t index) {
  const uint8_t* e = dir_entry(m.bytes, index);
  TensorView t;
  t.spec = tensor_spec(m.config, index);  // parse_model checked the entry's name and shape
  t.dtype = static_cast<DType>(load_u32(e + 32));
  t.group = load_u32(e + 44);
  t.data = m.bytes + load_u64(e + 48);
  return t;
}

void tensor_values(const TensorView& t, float* out) {
  const uint32_t rows = t.spec.rows, cols = t.spec.cols;
  if (t.dtype == DType::f32) {
    std::memcpy(out, t.data, size_t(rows) * cols * sizeof(float));
    return;
  }
  const auto* q = reinterpret_cast<const int8_t*>(t.data);
  const uint8_t* scales = t.data + int8_scales_offset(rows, cols);
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 0; c < cols; ++c) {
      float s;
      std::memcpy(&s, scales + (size_t(c / t.group) * rows + r) * 4, 4);  // group-major
      out[size_t(r) * cols + c] = float(q[size_t(r) * cols + c]) * s;
    }
}

}  // namespace causalgen
