// Opening an input for reading, one way for every input the tools read (text
// data, JSON settings, checkpoints; model files through load_model_bytes):
// nothing is read before the input is known to be a regular file, whose size
// can be checked before its bytes are read. A FIFO or pipe, a directory, a
// device or a socket is refused by what it is, and the open itself never
// waits (a FIFO with no writer), and a regular file larger than the caller's
// cap is refused by its size before a byte is read.
#pragma once
#include <cstdint>
#include <string>

#include "host/model_io.hpp"

namespace causalgen::host {

// An open input: a regular file.
struct InputFile {
  int fd = -1;
  uint64_t size = 0;
  InputFile() = default;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();
};

// Opens path for reading if it is a regular file (or a link to one). Refuses,
// naming what it is, a FIFO or pipe, a directory, a character or block
// device (/dev/zero, a terminal) and a socket, without waiting for a FIFO's
// writer. *error is "PATH: reason".
bool open_input(const std::string& path, InputFile* f, std::string* error);

// Reads up to n bytes (fewer only at the end); -1 on a read error (errno set).
int64_t read_up_to(int fd, uint8_t* p, uint64_t n);

// "1.5 GiB (1610612736 bytes)": a byte count for messages.
std::string describe_bytes(uint64_t n);

// Reads a whole input (open_input) of at most `cap` bytes; a larger one is
// refused by its size before reading. `what` names the input in that message
// ("a text file").
bool read_input(const std::string& path, uint64_t cap, const char* what, AlignedBytes* out,
                std::string* error);

}  // namespace causalgen::host
