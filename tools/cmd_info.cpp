// causalgen info: what a model file holds.
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "host/model_io.hpp"

namespace causalgen::cli {

namespace {
int run_info(const std::string& path) {
  host::LoadedModel lm;
  std::string err;
  if (!host::load_model(path, &lm, &err)) return error(err);
  const Config& c = lm.model.config;
  std::printf("model        %s\n", path.c_str());
  std::printf("file size    %zu bytes\n", lm.model.file_size);
  if (lm.model.q_group)
    std::printf("weights      int8, groups of %u (LayerNorm and biases f32)\n", lm.model.q_group);
  else
    std::printf("weights      f32\n");
  std::printf("vocab        %u characters\n", c.vocab_size);
  std::printf("block size   %u (training window T)\n", c.block_size);
  std::printf("layers       %u\n", c.n_layer);
  std::printf("embedding    %u\n", c.n_embd);
  bool local = false;
  for (uint32_t l = 0; l < c.n_layer; ++l) local = local || mixer_takes_window(c.mixers[l]);
  if (c.has_heads()) std::printf("heads        %u\n", c.n_head);
  std::printf("bias         %s\n", c.bias ? "yes" : "no");
  std::printf("position emb %s\n", c.pos_emb ? "yes" : "no");
  std::printf("mixers      ");
  for (uint32_t l = 0; l < c.n_layer; ++l) std::printf(" %s", mixer_name(c.mixers[l]));
  if (local) {  // the window of each layer that has one
    std::printf("\nwindows     ");
    for (uint32_t l = 0; l < c.n_layer; ++l)
      if (mixer_takes_window(c.mixers[l])) std::printf(" %u (layer %u)", c.window[l], l);
  }
  std::printf("\nparameters   %llu\n", static_cast<unsigned long long>(c.parameter_count()));
  std::printf("state bytes  %zu%s\n", state_bytes(c),
              c.window_limited() ? " (window of T positions; slides past T)"
                                 : " (fixed, however long the text)");
  return 0;
}
}  // namespace

void add_info(CLI::App& app, int& exit_code) {
  auto path = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("info", "Show a model file's config and sizes");
  sub->add_option("--model", *path, "Model file")->required();
  sub->callback([path, &exit_code] { exit_code = run_info(*path); });
}

}  // namespace causalgen::cli
