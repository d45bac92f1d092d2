// Development helper: CUDA trainer speed for the named shapes and every mixer,
// without the CLI. Usage: quick_bench [iters] [shape] [mixer] [bf16|f32]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../bench_train_cuda.hpp"
#include "causalgen_cuda/backend.hpp"

using namespace causalgen;

int main(int argc, char** argv) {
  const uint32_t iters = argc > 1 ? uint32_t(std::atoi(argv[1])) : 50;
  const char* mixers[] = {"max-avg", "min-avg", "max", "attention"};
  const std::string only_shape = argc > 2 ? argv[2] : "", only_mixer = argc > 3 ? argv[3] : "",
                    only_prec = argc > 4 ? argv[4] : "";
  for (const char* shape : {"tiny", "small"})
    for (const char* mx : mixers)
      for (bool bf16 : {true, false}) {
        if ((!only_shape.empty() && only_shape != shape) || (!only_mixer.empty() && only_mixer != mx) ||
            (!only_prec.empty() && only_prec != (bf16 ? "bf16" : "f32")))
          continue;
        Mixer m;
        parse_mixer(mx, &m);
        Config c;
        named_config(shape, m, &c);
        c.vocab_size = 65;
        const bool small = std::string(shape) == "small";
        train::BackendOptions o;
        o.model = c, o.batch_size = small ? 64 : 12, o.block_size = c.block_size;
        o.dropout = small ? 0.2f : 0.0f, o.bf16 = bf16;
        std::string err;
        const auto backend = cuda::create_backend(o, &err);
        if (!backend) {
          std::printf("error: %s\n", err.c_str());
          return 1;
        }
        const cli::CudaBenchResult r = cli::bench_train_backend(*backend, o, iters);
        std::printf("%-6s %-10s %-5s %10.0f tok/s %8.3f ms/iter %7.1f TFLOP/s loss %.3f\n", shape, mx,
                    bf16 ? "bf16" : "f32", r.tokens_per_s, r.ms_per_iter, r.tflops, r.final_loss);
      }
}
