// Generation speed through the C API, the same source natively and in
// WebAssembly (the int8 vs f32 figures of docs/firmware_results.md), plus a
// digest of 300 logits vectors (FNV-1a of their bits) that must be equal on
// both. Benchmark, not a test:
//   g++ -std=c++20 -O2 -Ilib/include tests/firmware/bench_c_api.cpp build/release/lib/libcausalgen.a -o bench
//   em++ -std=c++20 -O3 -msimd128 -fno-vectorize -fno-slp-vectorize -ffp-contract=off -fno-exceptions
//        -fno-rtti -Ilib/include lib/core/*.cpp lib/core/mixers/*.cpp tests/firmware/bench_c_api.cpp -o bench.js
//        -sNODERAWFS=1 -sALLOW_MEMORY_GROWTH=1     (the flags of wasm/CMakeLists.txt)
//   ./bench MODEL 3000;  node --no-experimental-fetch bench.js MODEL 3000
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#else
#include <chrono>
static double emscripten_get_now() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
#endif
#include "causalgen/causalgen.h"
int main(int argc, char** argv) {
  FILE* f = fopen(argv[1], "rb"); if (!f) return 1;
  fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
  void* bytes = (void*)aligned_alloc(64, (n + 63) / 64 * 64); fread(bytes, 1, n, f); fclose(f);
  static cg_model_storage ms; cg_error err;
  const cg_model* m = cg_model_load(&ms, sizeof ms, bytes, n, &err); if (!m) { puts(err.message); return 1; }
  void* mem = (void*)aligned_alloc(16, (cg_state_bytes(m) + 15) / 16 * 16);
  cg_state* s = cg_state_init(m, mem, cg_state_bytes(m), 1337, &err);
  cg_feed_text(s, "ROMEO:", 6, &err);
  const cg_sampler sp = {0.8f, 0, 1.0f};
  int N = argc > 2 ? atoi(argv[2]) : 2000;
  double best = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    double t0 = emscripten_get_now();
    for (int i = 0; i < N; ++i) cg_feed_token(s, cg_sample_token(s, &sp), &err);
    double dt = (emscripten_get_now() - t0) / 1000.0; if (dt < best) best = dt;
  }
  // digest: fresh state, 300 steps, FNV-1a of every logits vector's bits
  cg_state* d = cg_state_init(m, mem, cg_state_bytes(m), 7, &err);
  cg_feed_text(d, "ROMEO:", 6, &err);
  uint64_t h = 0xcbf29ce484222325ull;
  for (int i = 0; i < 300; ++i) {
    const unsigned char* p = (const unsigned char*)cg_logits(d);
    for (size_t k = 0; k < cg_vocab_size(m) * 4; ++k) h = (h ^ p[k]) * 0x100000001b3ull;
    cg_feed_token(d, cg_sample_token(d, &sp), &err);
  }
  printf("%s: %.0f chars/s (best of 3 x %d), digest %016llx\n", argv[1], N / best, N, (unsigned long long)h);
  return 0;
}
