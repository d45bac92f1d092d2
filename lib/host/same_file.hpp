// Outputs that would overwrite an input: every command that writes files
// asks paths_overlap() before it writes (or reads) anything.
#pragma once
#include <string>
#include <vector>

namespace causalgen::host {

// A path as the command line gave it, with the flag that gave it.
struct NamedPath {
  std::string flag;  // "--out", "--checkpoint", ...
  std::string path;
};

// True when a and b name one file: the same device and inode when both
// exist (symbolic and hard links included); when neither exists yet, the
// same folder (device and inode) and the same last name.
bool same_file(const std::string& a, const std::string& b);

// "" when no output names the same file as an input, as another output, or
// (its temporary file while written atomically, OUT.tmp) as an input;
// otherwise one message naming both flags and the path.
std::string paths_overlap(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs);

}  // namespace causalgen::host
