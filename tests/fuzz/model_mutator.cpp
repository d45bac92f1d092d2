// Structure-aware mutations for fuzz_model_file (libFuzzer's custom mutator).
// A random byte flip is almost always stopped by the CRC-32 or the size
// checks; these edits aim at one field the validator reads (a header field,
// a mixer code, a vocabulary entry, a directory field, a tensor value, a
// padding byte), or re-write a valid file of another shape or dtype, and then
// reseal the file (declared size and CRC), so that the input reaches the
// check the edit aims at. Now and then the seal is left broken on purpose.
#include <cstdint>
#include <cstring>
#include <vector>

#include "causalgen/causalgen.hpp"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

using namespace causalgen;

struct Rand {
  uint64_t s;
  uint32_t next() {  // xorshift64*
    s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
    return uint32_t((s * 0x2545F4914F6CDD1Dull) >> 32);
  }
  uint32_t below(uint32_t n) { return n ? next() % n : 0; }
  bool one_in(uint32_t n) { return below(n) == 0; }
};

uint32_t get32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
uint64_t get64(const uint8_t* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }
void put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void put64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

// The input as the header describes it, each offset checked against the
// size before use (the header itself may be garbage).
struct View {
  uint8_t* b;
  size_t size;
  bool fits(uint64_t off, uint64_t n) const { return off <= size && n <= size - off; }
  uint32_t u32(uint32_t off) const { return fits(off, 4) ? get32(b + off) : 0; }
  uint32_t n_layer() const { return u32(28); }
  uint32_t vocab() const { return u32(20); }
  uint32_t n_tensors() const { return u32(44); }
  uint32_t vocab_off() const { return u32(52); }
  uint32_t dir_off() const { return u32(56); }
  uint8_t* entry(uint32_t i) const {
    const uint64_t off = dir_off() + uint64_t(i) * kDirEntrySize;
    return fits(off, kDirEntrySize) ? b + off : nullptr;
  }
};

// A value on or near the boundary of some check.
uint32_t edge_u32(Rand& r, uint32_t old) {
  switch (r.below(9)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return old + 1;
    case 3: return old - 1;
    case 4: return 0xFFFFFFFFu;
    case 5: return 0x80000000u;
    case 6: return old * 2;
    case 7: return old + kTensorAlign;
    default: return r.next();
  }
}
uint64_t edge_u64(Rand& r, uint64_t old) {
  switch (r.below(5)) {
    case 0: return old + kTensorAlign;
    case 1: return old - kTensorAlign;
    case 2: return old + 4 * (r.below(5) + 1);
    case 3: return uint64_t(1) << (32 + r.below(32));
    default: return edge_u32(r, uint32_t(old));
  }
}

// f32 bit patterns the finiteness check must catch or let through.
uint32_t edge_f32_bits(Rand& r) {
  static const uint32_t bits[] = {0x7FC00000u, 0xFFC00000u, 0x7F800000u, 0xFF800000u, 0x7F800001u,
                                  0x7F7FFFFFu, 0x00000001u, 0x80000000u, 0xBF800000u};
  return bits[r.below(sizeof bits / sizeof bits[0])];
}

bool edit_header(View v, Rand& r) {
  const uint32_t off = 4 * (1 + r.below(15));  // past the magic
  if (!v.fits(off, 4)) return false;
  put32(v.b + off, edge_u32(r, get32(v.b + off)));
  return true;
}

bool edit_mixer(View v, Rand& r) {
  const uint32_t n = v.n_layer();
  if (n == 0 || !v.fits(kHeaderSize, n)) return false;
  v.b[kHeaderSize + r.below(n)] = r.one_in(4) ? uint8_t(r.next()) : uint8_t(r.below(mixer_count() + 2));
  return true;
}

bool edit_vocab(View v, Rand& r) {
  const uint32_t n = v.vocab();
  if (n == 0) return false;
  const uint32_t i = r.below(n);
  const uint64_t at = v.vocab_off() + 4ull * i;
  if (!v.fits(at, 4)) return false;
  const uint32_t prev = i > 0 && v.fits(at - 4, 4) ? get32(v.b + at - 4) : 0;
  static const uint32_t edges[] = {0xD800u, 0xDFFFu, 0x10FFFFu, 0x110000u, 0xFFFFFFFFu};
  uint32_t cp;
  switch (r.below(4)) {
    case 0: cp = prev; break;       // a repeat
    case 1: cp = prev - 1; break;   // descending
    case 2: cp = edges[r.below(5)]; break;
    default: cp = edge_u32(r, get32(v.b + at));
  }
  put32(v.b + at, cp);
  return true;
}

// One field of one directory entry: name, dtype, shape, group, offset, size.
bool edit_directory(View v, Rand& r) {
  const uint32_t nt = v.n_tensors();
  if (nt == 0) return false;
  const uint32_t i = r.below(nt);
  uint8_t* e = v.entry(i);
  if (!e) return false;
  switch (r.below(7)) {
    case 0: e[r.below(kTensorNameMax)] = r.one_in(2) ? 0 : uint8_t('a' + r.below(26)); break;
    case 1: put32(e + 32, r.below(3)); break;  // dtype
    case 2: put32(e + 36, edge_u32(r, get32(e + 36))); break;
    case 3: put32(e + 40, edge_u32(r, get32(e + 40))); break;
    case 4: put32(e + 44, r.one_in(2) ? 1u << r.below(17) : edge_u32(r, get32(e + 44))); break;
    case 5: {  // offset: next to, onto or inside a neighbour (overlap), or unaligned
      const uint8_t* other = v.entry(r.one_in(2) && i > 0 ? i - 1 : i + 1);
      put64(e + 48, other && r.one_in(2) ? get64(other + 48) + r.below(2) * kTensorAlign
                                         : edge_u64(r, get64(e + 48)));
      break;
    }
    default: put64(e + 56, edge_u64(r, get64(e + 56)));
  }
  return true;
}

// One value of one tensor's data: a non-finite f32; for int8, -128, a bad
// scale, or a nonzero byte in the padding before the scales.
bool edit_tensor_data(View v, Rand& r) {
  const uint32_t nt = v.n_tensors();
  if (nt == 0) return false;
  const uint8_t* e = v.entry(r.below(nt));
  if (!e) return false;
  const uint64_t off = get64(e + 48), n = get64(e + 56);
  if (n < 4 || !v.fits(off, n)) return false;
  uint8_t* p = v.b + off;
  if (get32(e + 32) == uint32_t(DType::int8)) {
    const uint64_t values = uint64_t(get32(e + 36)) * get32(e + 40);
    const uint64_t scales = int8_scales_offset(get32(e + 36), get32(e + 40));
    if (scales > n - 4 || values > scales) return false;  // room for one scale
    switch (r.below(3)) {
      case 0: if (values) p[r.next() % values] = 0x80; break;
      case 1: if (scales > values) p[values + r.next() % (scales - values)] = uint8_t(1 + r.below(255)); break;
      default: put32(p + scales + 4 * (r.next() % ((n - scales) / 4)), edge_f32_bits(r));
    }
    return true;
  }
  put32(p + 4 * (r.next() % (n / 4)), edge_f32_bits(r));
  return true;
}

// A byte in a gap the format says is zero (after the sections, between tensors).
bool edit_padding(View v, Rand& r) {
  const uint32_t nt = v.n_tensors();
  uint64_t from = 0, to = 0;
  if (nt && r.one_in(2)) {
    const uint8_t* e = v.entry(r.below(nt));
    if (!e) return false;
    from = get64(e + 48) + get64(e + 56);
    to = (from + kTensorAlign - 1) / kTensorAlign * kTensorAlign;
  } else {
    from = kHeaderSize + uint64_t(v.n_layer());
    to = v.vocab_off();
  }
  if (from >= to || !v.fits(from, to - from)) return false;
  v.b[from + r.next() % (to - from)] = uint8_t(1 + r.below(255));
  return true;
}

// A new valid config near c: one field changed, kept small.
bool vary_config(Config& c, Rand& r) {
  switch (r.below(7)) {
    case 0: c.vocab_size = 1 + r.below(12); break;
    case 1: c.block_size = 1 + r.below(9); break;
    case 2: {
      const uint32_t n = 1 + r.below(4);
      for (uint32_t l = c.n_layer; l < n; ++l) c.mixers[l] = c.mixers[0];
      c.n_layer = n;
      break;
    }
    case 3: c.n_embd = 1 + r.below(12), c.n_head = 1; break;
    case 4: c.n_head = 1 + r.below(4); break;
    case 5: c.bias = !c.bias, c.pos_emb = r.one_in(2); break;
    default: c.mixers[r.below(c.n_layer)] = mixer_at(r.below(mixer_count()));
  }
  Error e;
  return validate_config(c, &e) == Status::ok && c.parameter_count() <= 4096;
}

// A valid input re-written whole: its weights as f32 or int8 (of some group
// size), or a config one step away with fresh weights.
size_t rewrite(uint8_t* data, size_t size, size_t max_size, Rand& r) {
  std::vector<uint8_t> aligned(data, data + size);  // parse_model wants 4-byte alignment
  Model m{};
  Error e;
  if (parse_model(aligned.data(), size, &m, &e) != Status::ok) return 0;
  Config c = m.config;
  std::vector<float> params(c.parameter_count());
  for (uint32_t i = 0, nt = tensor_count(c); i < nt; ++i) {
    const TensorView t = tensor_view(m, i);
    tensor_values(t, params.data() + t.spec.offset);
  }
  std::vector<uint32_t> cps(c.vocab_size);
  for (uint32_t i = 0; i < c.vocab_size; ++i) cps[i] = m.vocab.codepoint(i);
  if (r.one_in(2)) {
    if (!vary_config(c, r)) return 0;
    params.resize(c.parameter_count());
    for (float& x : params) x = float(int32_t(r.below(2001)) - 1000) / 1000.0f;
    cps.resize(c.vocab_size);
    for (uint32_t i = 0; i < c.vocab_size; ++i) cps[i] = 'a' + i;
  }
  static const uint32_t groups[] = {1, 2, 3, 4, 7, 8, 16, 64};
  WriteOptions o;
  o.matrices = r.one_in(3) ? DType::f32 : DType::int8;
  o.group_size = groups[r.below(sizeof groups / sizeof groups[0])];
  const size_t n = model_file_size(c, o);
  if (n > max_size) return 0;
  std::vector<uint8_t> out(n);
  if (write_model(c, cps.data(), params.data(), o, out.data(), n, &e) != Status::ok) return 0;
  std::memcpy(data, out.data(), n);
  return n;
}

// Declared size and CRC made to match the bytes.
void reseal(uint8_t* data, size_t size) {
  if (size < kHeaderSize + 4) return;
  put64(data + 8, size);
  put32(data + size - 4, crc32(data, size - 4));
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  Rand r{uint64_t(seed) * 0x9E3779B97F4A7C15ull + 1};
  const View v{data, size};
  const bool model = size >= kHeaderSize + 4 && std::memcmp(data, "CGLM", 4) == 0;
  bool edited = false;
  if (model) {
    switch (r.below(8)) {
      case 0: edited = edit_header(v, r); break;
      case 1: edited = edit_mixer(v, r); break;
      case 2: edited = edit_vocab(v, r); break;
      case 3: edited = edit_directory(v, r); break;
      case 4: edited = edit_tensor_data(v, r); break;
      case 5: edited = edit_padding(v, r); break;
      case 6:
        if (const size_t n = rewrite(data, size, max_size, r)) size = n, edited = true;
        break;
      default: break;  // libFuzzer's own byte-level mutation below
    }
  }
  if (!edited) size = LLVMFuzzerMutate(data, size, max_size);
  if (!r.one_in(32)) reseal(data, size);
  return size;
}
