// The memory a command may use: the machine's physical memory, or the
// cgroup's limit (memory.max, cgroup v2; memory.limit_in_bytes, v1) where
// that is lower, or CAUSALGEN_MEMORY_LIMIT (bytes) where that is. Commands compute what they will allocate from their
// configuration and compare it with this before allocating (check_budget),
// so that a size the flags allow but the machine cannot hold is one message
// with both figures, not std::bad_alloc or the OOM killer.
#pragma once
#include <cstdint>
#include <string>

namespace causalgen::host {

struct MemoryLimit {
  uint64_t bytes = 0;
  std::string source;  // "physical memory" or "cgroup memory.max"
};
MemoryLimit memory_limit();

// False with *error = "<what> needs about X, more than <the limit>" if
// `need` bytes exceed the limit.
bool check_budget(uint64_t need, const std::string& what, std::string* error);

}  // namespace causalgen::host
