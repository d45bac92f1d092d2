// The folder of the running executable: where its sibling executable
// (causalgen-train) and the backend libraries it opens at run time live.
#pragma once
#include <string>

namespace causalgen::host {

// "" if it cannot be determined.
std::string executable_dir();

}  // namespace causalgen::host
