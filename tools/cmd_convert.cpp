// causalgen convert: rewrite a model file with another weight dtype (f32 or
// int8, per-group symmetric) and/or as C source for firmware (--c-array).
//   causalgen convert --model m.cgm --out m8.cgm --dtype int8
//   causalgen convert --model m.cgm --out model_data.c --c-array --name cg_model_data \
//                     --header model_data.h
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "host/model_io.hpp"
#include "output_options.hpp"

namespace causalgen::cli {

void add_convert(CLI::App& app, int& exit_code) {
  auto model = std::make_shared<std::string>();
  auto o = std::make_shared<host::OutputOptions>();
  CLI::App* sub = app.add_subcommand(
      "convert", "Rewrite a model file: weight dtype (f32, int8) and/or C array source for firmware");
  sub->add_option("--model", *model, "Input model file (.cgm)")->required();
  sub->add_option("--out", o->out, "Output file (.cgm, or .c with --c-array)")->required();
  add_output_options(sub, *o, "Weight matrices as f32 or int8 (per-group symmetric); default: keep the input's");
  sub->callback([model, o, &exit_code] {
    host::LoadedModel lm;
    std::string err = host::paths_overlap({{"--model", *model}}, host::output_paths(*o));
    if (!err.empty()) {
      exit_code = error(err);
      return;
    }
    if (!host::load_model(*model, &lm, &err)) {
      exit_code = error(err);
      return;
    }
    o->source_note = *model;
    size_t bytes = 0;
    if (!host::write_output(lm.bytes.data.get(), lm.bytes.size, *o, &bytes, &err)) {
      exit_code = error(err);
      return;
    }
    std::fprintf(stderr, "wrote %s (%zu model bytes%s)\n", o->out.c_str(), bytes,
                 o->c_array ? ", as a C array" : "");
    exit_code = 0;
  });
}

}  // namespace causalgen::cli
