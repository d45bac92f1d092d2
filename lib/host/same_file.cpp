#include "host/same_file.hpp"

#include <sys/stat.h>

namespace causalgen::host {

namespace {

// What identifies a file: its device and inode, or, for a file that does not
// exist yet, its folder's and its last name.
struct FileId {
  bool valid = false, exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  std::string name;
};

FileId file_id(const std::string& path) {
  FileId id;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    id.valid = id.exists = true;
    id.dev = st.st_dev, id.ino = st.st_ino;
    return id;
  }
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  id.name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (id.name.empty() || ::stat(dir.c_str(), &st) != 0) return id;  // nothing to compare
  id.valid = true;
  id.dev = st.st_dev, id.ino = st.st_ino;
  return id;
}

bool same_id(const FileId& a, const FileId& b) {
  return a.valid && b.valid && a.exists == b.exists && a.dev == b.dev && a.ino == b.ino &&
         a.name == b.name;
}

}  // namespace

bool same_file(const std::string& a, const std::string& b) { return same_id(file_id(a), file_id(b)); }

std::string paths_overlap(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const NamedPath& out = outputs[i];
    for (const NamedPath& in : inputs) {
      if (same_file(out.path, in.path))
        return out.flag + " " + out.path + " is the same file as " + in.flag + " " + in.path +
               ": writing it would destroy the input";
      if (same_file(out.path + ".tmp", in.path))
        return in.flag + " " + in.path + " is the temporary file that writing " + out.flag + " " +
               out.path + " uses: rename it or write elsewhere";
    }
    for (size_t j = 0; j < i; ++j)
      if (same_file(out.path, outputs[j].path))
        return out.flag + " " + out.path + " and " + outputs[j].flag + " " + outputs[j].path +
               " are the same file: give each output its own";
  }
  return "";
}

}  // namespace causalgen::host
