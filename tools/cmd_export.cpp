// causalgen export: a training checkpoint -> the deployable model file.
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "output_options.hpp"
#include "train/io/checkpoint.hpp"
#include "train/io/export.hpp"

namespace causalgen::cli {

void add_export(CLI::App& app, int& exit_code) {
  auto ck = std::make_shared<std::string>();
  auto o = std::make_shared<host::OutputOptions>();
  o->dtype = "f32";
  CLI::App* sub = app.add_subcommand("export", trainer_description("", "export"));
  sub->add_option("--checkpoint", *ck, "Training checkpoint (.cgc)")->required();
  sub->add_option("--out", o->out, "Model file to write (atomically), or C source with --c-array")->required();
  add_output_options(sub, *o, "Weight matrices as f32 (default) or int8 (per-group symmetric)");
  sub->callback([ck, o, &exit_code] {
    const std::string* out = &o->out;
    std::string err = host::paths_overlap({{"--checkpoint", *ck}}, host::output_paths(*o));
    if (!err.empty()) {
      exit_code = error(err);
      return;
    }
    train::TrainState s;
    if (!train::load_checkpoint(*ck, &s, &err)) {
      exit_code = error(err);
      return;
    }
    size_t bytes = 0;
    std::vector<uint8_t> f32;
    o->source_note = *ck;
    if (!train::model_bytes(s, &f32, &err) ||
        !host::write_output(f32.data(), f32.size(), *o, &bytes, &err)) {
      exit_code = error(err);
      return;
    }
    const double val = s.evals.empty() ? 0.0 : s.evals.back().val_loss;
    std::printf("wrote %s: %zu bytes, %llu parameters (%s%s), step %llu", out->c_str(), bytes,
                static_cast<unsigned long long>(s.config.model.parameter_count()),
                o->dtype == "int8" ? "int8" : "f32", o->c_array ? ", as a C array" : "",
                static_cast<unsigned long long>(s.step));
    if (!s.evals.empty()) std::printf(", last val loss %.4f (estimate at step %llu)", val,
                                      static_cast<unsigned long long>(s.evals.back().step));
    std::printf("\n");
    exit_code = 0;
  });
}

}  // namespace causalgen::cli
