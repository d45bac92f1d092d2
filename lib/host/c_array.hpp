// Model files as C source for firmware (DESIGN.md §3): the bytes become an
// aligned const array, which a microcontroller toolchain places in flash and
// the core reads in place, like `xxd -i` but 64-byte aligned (the file's
// tensors are 64-byte aligned relative to its first byte).
//
// The source compiles as C (C11) and as C++ and defines, with C linkage:
//   alignas(64) const unsigned char NAME[] = {...};   // the model file
//   const unsigned long NAME_len = ...;               // its size in bytes
// The optional header declares both and gives compile-time sizes:
//   #define NAME_BYTES        the file's size
//   #define NAME_STATE_BYTES  cg_state_bytes() for this model computed on a
//                             64-bit host: an upper bound for 32-bit targets
//                             (only the State struct's pointers shrink there)
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace causalgen::host {

// "" when name can name the array in C and in C++: an identifier that is
// not a keyword of either language nor reserved (__x, _X); else why not.
std::string c_identifier_problem(const std::string& name);
bool valid_c_identifier(const std::string& name);

// The C source for data[0..n) as described above. name must be a valid C
// identifier; source_note (e.g. the model file's name) goes into the comment.
std::string c_array_source(const uint8_t* data, size_t n, const std::string& name,
                           const std::string& source_note);

// The matching header. state_bytes: cg_state_bytes() for the model (0 to leave
// NAME_STATE_BYTES out).
std::string c_array_header(size_t n, const std::string& name, size_t state_bytes,
                           const std::string& source_note);

// Writes the source (and, when header_path is not empty, the header) with
// write_file_atomic. data must be a valid model file when header_path is set
// (the state size is computed from it). false with *error set on failure.
bool write_c_array(const std::string& path, const std::string& header_path, const uint8_t* data,
                   size_t n, const std::string& name, const std::string& source_note,
                   std::string* error);

}  // namespace causalgen::host
