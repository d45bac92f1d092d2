// Opening an input for reading, one way for every input the tools read (text
// data, JSON settings, checkpoints; model files through load_model_bytes):
// nothing is read before the input is known to be something that ends and
// that fits. A FIFO with no writer does not block (it reads as empty), a
// directory or a device is refused by name, and a regular file larger than
// the caller's cap is refused by its size before a byte is read.
#pragma once
#include <cstdint>
#include <string>

#include "host/model_io.hpp"

namespace causalgen::host {

// An open input: a regular file (size known) or a pipe/FIFO (size unknown).
struct InputFile {
  int fd = -1;
  bool regular = false;
  uint64_t size = 0;  // regular files only
  InputFile() = default;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();
};

// Opens path for reading without blocking on a FIFO that has no writer.
// Refuses, naming what it is, a directory, a character or block device
// (/dev/zero, a terminal) and a socket. *error is "PATH: reason".
bool open_input(const std::string& path, InputFile* f, std::string* error);

// Reads up to n bytes (fewer only at the end); -1 on a read error (errno set).
int64_t read_up_to(int fd, uint8_t* p, uint64_t n);

// The reason given for a pipe or FIFO that ends before its first byte.
constexpr const char* kEmptyPipe =
    "a pipe or FIFO that gave nothing to read (a FIFO with no writer reads as empty)";

// "1.5 GiB (1610612736 bytes)": a byte count for messages.
std::string describe_bytes(uint64_t n);

// Reads a whole input (open_input) of at most `cap` bytes. A regular file
// over the cap is refused by its size before reading; a pipe when it passes
// the cap. `what` names the input in that message ("a text file").
bool read_input(const std::string& path, uint64_t cap, const char* what, AlignedBytes* out,
                std::string* error);

}  // namespace causalgen::host
