// The output flags `convert` and `export` share (host::OutputOptions).
#pragma once
#include <CLI/CLI.hpp>

#include "cli_checks.hpp"
#include "host/c_array.hpp"
#include "host/convert.hpp"

namespace causalgen::cli {

inline void add_output_options(CLI::App* sub, host::OutputOptions& o, const char* dtype_help) {
  sub->add_option("--dtype", o.dtype, dtype_help)->check(CLI::IsMember({"keep", "f32", "int8"}));
  sub->add_option("--group-size", o.group, "int8: weights per scale along a row (default 64)")
      ->check(count_range(1, 65536));
  sub->add_flag("--c-array", o.c_array,
                "Write C source for firmware: alignas(64) const unsigned char NAME[] and NAME_len");
  sub->add_option("--name", o.name, "C symbol for --c-array (default cg_model_data)")
      ->check(CLI::Validator([](std::string& name) { return host::c_identifier_problem(name); }, ""));
  sub->add_option("--header", o.header,
                  "With --c-array: also write a header (NAME_BYTES, NAME_STATE_BYTES, declarations)");
}

}  // namespace causalgen::cli
