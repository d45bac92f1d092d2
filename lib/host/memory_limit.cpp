#include "host/memory_limit.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "host/input_file.hpp"

namespace causalgen::host {

namespace {

// A cgroup limit file's value; 0 when absent or "max" (no limit).
uint64_t cgroup_value(const char* path) {
  FILE* f = std::fopen(path, "r");
  if (!f) return 0;
  char b[64] = {};
  const bool got = std::fgets(b, sizeof b, f) != nullptr;
  std::fclose(f);
  if (!got || b[0] < '0' || b[0] > '9') return 0;
  return std::strtoull(b, nullptr, 10);
}

}  // namespace

MemoryLimit memory_limit() {
  MemoryLimit m;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  m.bytes = pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : UINT64_MAX;
  m.source = "physical memory";
  const struct {
    const char *path, *name;
  } cgroups[] = {{"/sys/fs/cgroup/memory.max", "cgroup memory.max"},
                 {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "cgroup memory.limit_in_bytes"}};
  for (const auto& c : cgroups) {
    const uint64_t v = cgroup_value(c.path);
    if (v && v < m.bytes) {
      m.bytes = v;
      m.source = c.name;
    }
  }
  // A lower limit by hand, as a cgroup would set it (tests; shared machines).
  if (const char* env = std::getenv("CAUSALGEN_MEMORY_LIMIT")) {
    const uint64_t v = std::strtoull(env, nullptr, 10);
    if (v && v < m.bytes) {
      m.bytes = v;
      m.source = "CAUSALGEN_MEMORY_LIMIT";
    }
  }
  return m;
}

bool check_budget(uint64_t need, const std::string& what, std::string* error) {
  const MemoryLimit m = memory_limit();
  if (need <= m.bytes) return true;
  *error = what + " needs about " + describe_bytes(need) + " of memory, more than this machine's " +
           describe_bytes(m.bytes) + " (" + m.source + ")";
  return false;
}

}  // namespace causalgen::host
