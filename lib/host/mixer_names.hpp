// The registered mixers' names as one string, for help texts and messages
// (the core's registry decides the list).
#pragma once
#include <string>

#include "causalgen/config.hpp"

namespace causalgen::host {

inline std::string mixer_names(const char* separator = ", ") {
  std::string s;
  for (uint32_t i = 0; i < mixer_count(); ++i) {
    if (i) s += separator;
    s += mixer_name(mixer_at(i));
  }
  return s;
}

}  // namespace causalgen::host
