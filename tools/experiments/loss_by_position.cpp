// Cross-entropy by position inside a window, over the validation split (last 10 % of the
// characters).
//   loss_by_position MODEL.cgm TEXT WINDOW OUT.csv [STRIDE]
// Windows of WINDOW characters starting every STRIDE characters (default: consecutive,
// non-overlapping) each start from nothing at position 0; the loss at position p is averaged
// over all windows. With STRIDE = 64 and WINDOW = 512, every 64-position block of the window
// sees (nearly) the same validation text, so blocks differ only by position.
//
// Models without a window limit (shift mixers, no position embedding) run each window as one
// forward_sequence, exactly as the recurrent State would. Window-limited models (position
// embedding or attention, window T) are run as generation runs them (State, nanoGPT's crop):
// positions p < T by one forward over the window's first T characters, and every p >= T sees
// only the last T characters, re-encoded at positions 0..T-1. That crop loss depends only on
// the text position, so it is computed once per validation position, on all hardware threads.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>
#include "causalgen/forward.hpp"
#include "causalgen/model_file.hpp"
#include "causalgen/tokens.hpp"

using namespace causalgen;

static std::string slurp(const char* p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) { std::fprintf(stderr, "cannot read %s\n", p); std::exit(1); }
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// -log softmax(l)[target], in double
static double cross_entropy(const float* l, uint32_t V, uint32_t target) {
  double mx = l[0];
  for (uint32_t v = 1; v < V; ++v) mx = std::max(mx, double(l[v]));
  double z = 0;
  for (uint32_t v = 0; v < V; ++v) z += std::exp(double(l[v]) - mx);
  return (std::log(z) + mx) - double(l[target]);
}

struct Scratch {
  size_t arena_bytes;
  void* arena;
  std::vector<float> logits;
  Scratch(const Config& c, uint32_t n)
      : arena_bytes((forward_arena_bytes(c, n) + 63) / 64 * 64),
        arena(std::aligned_alloc(64, arena_bytes)), logits(size_t(n) * c.vocab_size) {}
  ~Scratch() { std::free(arena); }
};

static void forward_or_die(const Model& m, const uint32_t* t, uint32_t n, Scratch& s) {
  Error err;
  if (forward_sequence(m, t, n, s.logits.data(), s.arena, s.arena_bytes, &err) != Status::ok) {
    std::fprintf(stderr, "forward: %s\n", err.message);
    std::exit(1);
  }
}

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) { std::fprintf(stderr, "usage: %s MODEL TEXT WINDOW OUT.csv [STRIDE]\n", argv[0]); return 2; }
  std::string mbytes = slurp(argv[1]);
  void* mbuf = std::aligned_alloc(64, (mbytes.size() + 63) / 64 * 64);
  std::copy(mbytes.begin(), mbytes.end(), static_cast<char*>(mbuf));
  Model m; Error err;
  if (parse_model(mbuf, mbytes.size(), &m, &err) != Status::ok) { std::fprintf(stderr, "model: %s\n", err.message); return 1; }
  std::string text = slurp(argv[2]);
  std::vector<uint32_t> ids(text.size());
  size_t n = 0;
  if (encode_text(m.vocab, text.data(), text.size(), ids.data(), ids.size(), &n, &err) != Status::ok) {
    std::fprintf(stderr, "text: %s\n", err.message); return 1;
  }
  ids.resize(n);
  size_t n_train = n * 9 / 10;
  std::vector<uint32_t> val(ids.begin() + n_train, ids.end());
  const uint32_t W = uint32_t(std::atoi(argv[3]));
  const size_t stride = argc == 6 ? size_t(std::atol(argv[5])) : W;
  const uint32_t V = m.config.vocab_size;
  const bool crop = m.config.window_limited() && W > m.config.block_size;
  const uint32_t T = crop ? m.config.block_size : W;  // length of each forward
  if (W == 0 || stride == 0 || val.size() < size_t(W) + 1) { std::fprintf(stderr, "bad WINDOW/STRIDE\n"); return 2; }

  // crop_loss[t]: loss of the target val[t + 1] from the T characters val[t-T+1 .. t]
  std::vector<double> crop_loss;
  if (crop) {
    crop_loss.assign(val.size(), 0.0);
    std::atomic<size_t> next{T - 1};
    unsigned nt = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> pool;
    for (unsigned i = 0; i < nt; ++i)
      pool.emplace_back([&] {
        Scratch s(m.config, T);
        for (size_t t; (t = next.fetch_add(1)) + 1 < val.size();) {
          forward_or_die(m, val.data() + t - (T - 1), T, s);
          crop_loss[t] = cross_entropy(s.logits.data() + size_t(T - 1) * V, V, val[t + 1]);
        }
      });
    for (auto& th : pool) th.join();
  }

  Scratch s(m.config, T);
  std::vector<double> sum(W, 0.0);
  size_t windows = 0;
  // the window starting at s0 has inputs val[s0 .. s0+W-1] and targets val[s0+1 .. s0+W]
  for (size_t s0 = 0; s0 + W + 1 <= val.size(); s0 += stride, ++windows) {
    forward_or_die(m, val.data() + s0, T, s);
    for (uint32_t p = 0; p < T; ++p)
      sum[p] += cross_entropy(s.logits.data() + size_t(p) * V, V, val[s0 + p + 1]);
    // self-check of the crop indexing: the crop ending at s0+T-1 is this very forward
    if (crop && crop_loss[s0 + T - 1] != cross_entropy(s.logits.data() + size_t(T - 1) * V, V, val[s0 + T])) {
      std::fprintf(stderr, "crop loss at %zu disagrees with the window forward\n", s0 + T - 1);
      return 1;
    }
    for (uint32_t p = T; p < W; ++p) sum[p] += crop_loss[s0 + p];
  }
  FILE* f = std::fopen(argv[4], "w");
  if (!f) { std::fprintf(stderr, "cannot write %s\n", argv[4]); return 1; }
  std::fprintf(f, "position,mean_loss,windows\n");
  for (uint32_t p = 0; p < W; ++p) std::fprintf(f, "%u,%.5f,%zu\n", p, sum[p] / windows, windows);
  std::fclose(f);
  double all = 0; for (double x : sum) all += x;
  std::printf("%zu windows of %u (stride %zu%s); mean loss over all positions %.4f\n", windows, W, stride,
              crop ? ", positions past T see the last T characters" : "", all / windows / W);
  return 0;
}
