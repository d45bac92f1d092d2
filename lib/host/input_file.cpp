#include "host/input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace causalgen::host {

InputFile::~InputFile() {
  if (fd >= 0) ::close(fd);
}

namespace {

// What a file that is not a regular file is, for the message; null: regular.
const char* unreadable_kind(mode_t mode) {
  if (S_ISREG(mode)) return nullptr;
  if (S_ISDIR(mode)) return "a directory, not a file";
  if (S_ISFIFO(mode)) return "a FIFO or pipe, not a file (give the file itself: its size is checked before it is read)";
  if (S_ISCHR(mode)) return "a character device (like /dev/zero or a terminal), not a file";
  if (S_ISBLK(mode)) return "a block device, not a file";
  if (S_ISSOCK(mode)) return "a socket, not a file";
  return "not a regular file";
}

}  // namespace

bool open_input(const std::string& path, InputFile* f, std::string* error) {
  auto fail = [&](const std::string& why) {
    *error = path + ": " + why;
    return false;
  };
  // O_NONBLOCK: opening a FIFO that has no writer does not wait for one;
  // fstat then refuses it. Cleared again for the reads of a regular file.
  f->fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (f->fd < 0) {
    if (errno == ENXIO) return fail("a socket, not a file");
    return fail(std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(f->fd, &st) != 0) return fail(std::strerror(errno));
  if (const char* kind = unreadable_kind(st.st_mode)) return fail(kind);
  ::fcntl(f->fd, F_SETFL, ::fcntl(f->fd, F_GETFL) & ~O_NONBLOCK);
  f->size = uint64_t(st.st_size);
  return true;
}

int64_t read_up_to(int fd, uint8_t* p, uint64_t n) {
  uint64_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, p + got, size_t(n - got));
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    got += uint64_t(r);
  }
  return int64_t(got);
}

std::string describe_bytes(uint64_t n) {
  char b[64];
  if (n >= (1ull << 30)) std::snprintf(b, sizeof b, "%.1f GiB (%llu bytes)", double(n) / (1ull << 30), (unsigned long long)n);
  else if (n >= (1ull << 20)) std::snprintf(b, sizeof b, "%.1f MiB (%llu bytes)", double(n) / (1ull << 20), (unsigned long long)n);
  else std::snprintf(b, sizeof b, "%llu bytes", (unsigned long long)n);
  return b;
}

bool read_input(const std::string& path, uint64_t cap, const char* what, AlignedBytes* out,
                std::string* error) {
  auto fail = [&](const std::string& why) {
    *error = path + ": " + why;
    return false;
  };
  InputFile f;
  if (!open_input(path, &f, error)) return false;
  if (f.size > cap)
    return fail(describe_bytes(f.size) + ": too large; " + what + " may be at most " + describe_bytes(cap));
  *out = aligned_bytes(size_t(f.size));
  if (!out->data) return fail("out of memory for its " + describe_bytes(f.size));
  const int64_t n = read_up_to(f.fd, out->data.get(), f.size);
  if (n < 0) return fail(std::strerror(errno));
  out->size = size_t(n);  // shorter if it shrank meanwhile
  return true;
}

}  // namespace causalgen::host
