// libFuzzer target: model files from hostile bytes. Each input is parsed as is
// and, so that mutations get past the CRC to the deeper checks, a second time
// with its CRC recomputed. A file that parses must then be usable: a state is
// initialised and fed, a sample drawn, and forward_sequence run on a few
// tokens (skipped when the arenas would exceed a few MB, to bound the work).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "causalgen/causalgen.hpp"

using namespace causalgen;

namespace {

constexpr size_t kMaxArena = 4u << 20;

struct Aligned {
  void* p;
  explicit Aligned(size_t n) : p(std::aligned_alloc(64, (n + 63) / 64 * 64)) {}
  ~Aligned() { std::free(p); }
};

void exercise(const Model& m, const uint8_t* data, size_t size) {
  const Config& c = m.config;
  // Work per token is about the parameter count: bound it.
  if (c.parameter_count() > (1u << 20)) return;
  uint32_t tokens[8];
  for (uint32_t i = 0; i < 8; ++i) tokens[i] = (size > i ? data[size - 1 - i] : i) % c.vocab_size;

  const size_t sb = state_bytes(c);
  if (sb <= kMaxArena) {
    Aligned mem(sb);
    State* s = nullptr;
    Error e;
    if (state_init(m, mem.p, sb, &s, &e) != Status::ok) std::abort();
    Pcg32 rng;
    rng.seed(size);
    const uint32_t n = c.window_limited() ? c.block_size + 2 : 8;  // slide the window too
    for (uint32_t i = 0; i < n && i < 40; ++i) {
      if (state_feed(s, tokens[i % 8], &e) != Status::ok) std::abort();
      const uint32_t t = sample_token(s->logits, c.vocab_size, SamplerParams{1.0f, 3, 0.9f}, &rng, s->probs, s->order);
      if (t >= c.vocab_size) std::abort();
    }
    if (state_feed(s, c.vocab_size, &e) != Status::bad_argument) std::abort();
  }
  const uint32_t n = c.block_size < 4 ? c.block_size : 4;
  const size_t fb = forward_arena_bytes(c, n);
  if (fb <= kMaxArena && size_t(n) * c.vocab_size <= (1u << 16)) {
    Aligned arena(fb);
    std::unique_ptr<float[]> logits(new float[size_t(n) * c.vocab_size]);
    Error e;
    if (forward_sequence(m, tokens, n, logits.get(), arena.p, fb, &e) != Status::ok) std::abort();
  }
}

void parse_and_run(const uint8_t* buf, size_t size) {
  Model m{};
  Error e;
  const Status s = parse_model(buf, size, &m, &e);
  if (s != Status::ok) {
    if (e.message[0] == 0 || std::strlen(status_name(s)) == 0) std::abort();  // errors must say what
    return;
  }
  exercise(m, buf, size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (8u << 20)) return 0;
  // An exact-size heap copy (16-byte aligned), so that ASan sees any read past the end.
  std::unique_ptr<uint8_t[]> buf(new uint8_t[size ? size : 1]);
  if (size) std::memcpy(buf.get(), data, size);
  parse_and_run(buf.get(), size);
  if (size >= 8) {
    const uint32_t crc = crc32(buf.get(), size - 4);
    for (int i = 0; i < 4; ++i) buf[size - 4 + i] = uint8_t(crc >> (8 * i));
    parse_and_run(buf.get(), size);
  }
  // Misaligned input is refused, never read.
  if (size >= 1) {
    std::unique_ptr<uint8_t[]> odd(new uint8_t[size + 1]);
    std::memcpy(odd.get() + 1, buf.get(), size);
    Model m{};
    Error e;
    if (parse_model(odd.get() + 1, size, &m, &e) != Status::misaligned) std::abort();
  }
  return 0;
}
