// Host-side helpers around the core: reading a model file into aligned memory
// and parsing it, with messages that name the file.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "causalgen/causalgen.h"
#include "causalgen/causalgen.hpp"

namespace causalgen::host {

// Gives back an AlignedBytes' memory: free() it, or unmap a file mapping.
struct ReleaseBytes {
  size_t mapped = 0;  // bytes of a file mapping; 0: allocated
  void operator()(uint8_t* p) const;
};
// 64-byte aligned, owned bytes (the core reads tensors in place).
struct AlignedBytes {
  std::unique_ptr<uint8_t[], ReleaseBytes> data;
  size_t size = 0;
};
AlignedBytes aligned_bytes(size_t n);

// Writes atomically: temp file (PATH.tmp) in the same folder, fsync, rename.
// An existing PATH that is not a regular file (/dev/stdout, a pipe) is
// written in place instead, every write checked; a directory is an error.
bool write_file_atomic(const std::string& path, const void* data, size_t n, std::string* error);

// A model file's bytes, opened by open_input (input_file.hpp: anything but a
// regular file is refused by what it is): its header is checked first (magic,
// version), then the file is mapped read-only (page-aligned; populated in one
// system call when its size is what the header says), or read when it cannot
// be mapped. The bytes must not be written.
bool load_model_bytes(const std::string& path, AlignedBytes* out, std::string* error);

struct LoadedModel {
  AlignedBytes bytes;
  Model model{};
};
// Reads (load_model_bytes) and validates a model file; *error is
// "FILE: reason" on failure, the reason being the core's message, which
// names the fault itself (its status name before it would repeat it:
// "truncated: file is truncated").
bool load_model(const std::string& path, LoadedModel* out, std::string* error);

// A generation state in owned, aligned memory.
struct OwnedState {
  AlignedBytes mem;
  State* state = nullptr;
};
bool make_state(const Model& m, OwnedState* out, std::string* error);

// The same through the C API (causalgen.h), for code that runs its generation
// loop (cg_generate): the model descriptor and the state in owned memory.
struct LoadedCModel {
  AlignedBytes bytes;
  AlignedBytes mem;  // cg_model_bytes()
  cg_model* model = nullptr;
};
bool load_c_model(const std::string& path, LoadedCModel* out, std::string* error);
struct OwnedCState {
  AlignedBytes mem;
  cg_state* state = nullptr;
};
bool make_c_state(const cg_model* m, uint64_t seed, OwnedCState* out, std::string* error);

}  // namespace causalgen::host
