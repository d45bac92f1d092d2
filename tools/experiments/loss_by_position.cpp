// Cross-entropy by position inside a window, over the validation split (last 10 % of the
// characters), for a model file without a window limit (shift mixers, no position embedding)
// or, for window-limited models, with --window <= T.
//   loss_by_position MODEL.cgm TEXT WINDOW OUT.csv [STRIDE]
// Windows of WINDOW characters starting every STRIDE characters (default WINDOW: consecutive,
// non-overlapping) each start a fresh state at position 0; the loss at position p is averaged
// over all windows. With STRIDE = 64 and WINDOW = 512, every 64-position block of the window
// sees (nearly) the same validation text, so blocks differ only by position.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
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
  uint32_t W = uint32_t(std::atoi(argv[3]));
  size_t stride = argc == 6 ? size_t(std::atol(argv[5])) : W;
  uint32_t V = m.config.vocab_size;
  size_t ab = forward_arena_bytes(m.config, W);
  void* arena = std::aligned_alloc(64, (ab + 63) / 64 * 64);
  std::vector<float> logits(size_t(W) * V);
  std::vector<double> sum(W, 0.0);
  size_t windows = 0;
  // window w covers val[w*W .. w*W+W-1] as inputs, targets val[w*W+1 .. w*W+W]
  for (size_t s = 0; s + W + 1 <= val.size(); s += stride, ++windows) {
    if (forward_sequence(m, val.data() + s, W, logits.data(), arena, ab, &err) != Status::ok) {
      std::fprintf(stderr, "forward: %s\n", err.message); return 1;
    }
    for (uint32_t p = 0; p < W; ++p) {
      const float* l = logits.data() + size_t(p) * V;
      double mx = l[0];
      for (uint32_t v = 1; v < V; ++v) mx = std::max(mx, double(l[v]));
      double z = 0;
      for (uint32_t v = 0; v < V; ++v) z += std::exp(double(l[v]) - mx);
      sum[p] += (std::log(z) + mx) - double(l[val[s + p + 1]]);
    }
  }
  FILE* f = std::fopen(argv[4], "w");
  std::fprintf(f, "position,mean_loss,windows\n");
  for (uint32_t p = 0; p < W; ++p) std::fprintf(f, "%u,%.5f,%zu\n", p, sum[p] / windows, windows);
  std::fclose(f);
  double all = 0; for (double x : sum) all += x;
  std::printf("%zu windows of %u (stride %zu); mean loss over all positions %.4f\n", windows, W, stride, all / windows / W);
  return 0;
}
