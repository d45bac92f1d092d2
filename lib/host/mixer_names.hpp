// The registered mixers' names as one string, for help texts and messages
// (the core's registry decides the list).
#pragma once
#include <string>
#include <vector>

#include "causalgen/config.hpp"

namespace causalgen::host {

// The names, in registry order.
inline std::vector<const char*> registered_mixers() {
  std::vector<const char*> names;
  for (uint32_t i = 0; i < mixer_count(); ++i) names.push_back(mixer_name(mixer_at(i)));
  return names;
}

// The names joined by separator.
inline std::string mixer_names(const char* separator = ", ") {
  std::string s;
  for (const char* name : registered_mixers()) s += (s.empty() ? "" : separator) + std::string(name);
  return s;
}

}  // namespace causalgen::host
