#include "model_io.hpp"

#include "host/input_file.hpp"
#include "host/memory_limit.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace causalgen::host {

void ReleaseBytes::operator()(uint8_t* p) const {
  if (mapped) ::munmap(p, mapped);
  else std::free(p);
}

AlignedBytes aligned_bytes(size_t n) {
  AlignedBytes b;
  const size_t rounded = (n + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded ? rounded : 64);
  if (!p) return b;
  b.data = std::unique_ptr<uint8_t[], ReleaseBytes>(static_cast<uint8_t*>(p), ReleaseBytes{});
  b.size = n;
  return b;
}

namespace {

// A regular file mapped read-only: populated in one call when its size is
// what the header declares (no page fault per 4 KB, no copy), lazily
// otherwise, so that parse_model names the mismatch without touching it all.
bool map_model(int fd, size_t size, bool populate, AlignedBytes* out) {
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0);
  if (p == MAP_FAILED) return false;
  out->data = std::unique_ptr<uint8_t[], ReleaseBytes>(static_cast<uint8_t*>(p), ReleaseBytes{size});
  out->size = size;
  return true;
}

}  // namespace

bool load_model_bytes(const std::string& path, AlignedBytes* out, std::string* error) {
  auto fail = [&](const std::string& why) {
    *error = path + ": " + why;
    return false;
  };
  InputFile f;
  if (!open_input(path, &f, error)) return false;
  const int fd = f.fd;

  // The header first: what is not a model (a huge sparse file) is refused
  // after 68 bytes.
  uint8_t head[kHeaderSize + 4];
  const int64_t n = read_up_to(fd, head, sizeof head);
  if (n < 0) return fail(std::strerror(errno));
  uint64_t declared = 0;
  Error e;
  if (model_file_size_from_header(head, size_t(n), &declared, &e) != Status::ok)
    return fail(e.message);

  if (map_model(fd, size_t(f.size), f.size == declared, out)) return true;
  // A file that cannot be mapped: read, the declared size and one byte more
  // (at most the file's size), so that parse_model names a size mismatch.
  const uint64_t want = std::max<uint64_t>(uint64_t(n), std::min<uint64_t>(declared, f.size - 1) + 1);
  std::string why;
  if (!check_budget(want, "reading the model its header declares", &why)) return fail(why);
  *out = aligned_bytes(size_t(want));
  if (!out->data) return fail("out of memory for its " + describe_bytes(want));
  std::memcpy(out->data.get(), head, size_t(n));
  const int64_t rest = read_up_to(fd, out->data.get() + n, size_t(want) - size_t(n));
  if (rest < 0) return fail(std::strerror(errno));
  out->size = size_t(n) + size_t(rest);
  return true;
}


namespace {

// Writes n bytes; false (errno set) on an error.
bool write_all(int fd, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(fd, p + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += size_t(w);
  }
  return true;
}

// An existing target that is not a regular file (/dev/stdout, a terminal, a
// pipe, /dev/null) is written in place: a rename would replace the device
// node or the link itself. A FIFO without a reader is an error, not a wait.
bool write_in_place(const std::string& path, const void* data, size_t n, std::string* error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *error = path + ": " + (errno == ENXIO ? std::string("a pipe that nobody reads") : std::strerror(errno));
    return false;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  const bool ok = write_all(fd, data, n);
  const int write_errno = errno;
  if (::close(fd) != 0 || !ok) {
    *error = path + ": " + std::strerror(ok ? errno : write_errno);
    return false;
  }
  return true;
}

}  // namespace

bool write_file_atomic(const std::string& path, const void* data, size_t n, std::string* error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) {
      *error = path + ": is a directory, not a file";
      return false;
    }
    return write_in_place(path, data, n, error);
  }
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    *error = tmp + ": " + std::strerror(errno);
    return false;
  }
  if (!write_all(fd, data, n)) {
    *error = tmp + ": " + std::strerror(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    *error = tmp + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

bool load_model(const std::string& path, LoadedModel* out, std::string* error) {
  if (!load_model_bytes(path, &out->bytes, error)) return false;
  Error e;
  if (parse_model(out->bytes.data.get(), out->bytes.size, &out->model, &e) != Status::ok) {
    *error = path + ": " + e.message;
    return false;
  }
  return true;
}

bool make_state(const Model& m, OwnedState* out, std::string* error) {
  out->mem = aligned_bytes(state_bytes(m.config));
  Error e;
  if (state_init(m, out->mem.data.get(), out->mem.size, &out->state, &e) != Status::ok) {
    *error = std::string("state: ") + e.message;
    return false;
  }
  return true;
}

bool load_c_model(const std::string& path, LoadedCModel* out, std::string* error) {
  if (!load_model_bytes(path, &out->bytes, error)) return false;
  out->mem = aligned_bytes(cg_model_bytes());
  cg_error e;
  out->model = cg_model_load(out->mem.data.get(), out->mem.size, out->bytes.data.get(),
                             out->bytes.size, &e);
  if (!out->model) {
    *error = path + ": " + e.message;
    return false;
  }
  return true;
}

bool make_c_state(const cg_model* m, uint64_t seed, OwnedCState* out, std::string* error) {
  out->mem = aligned_bytes(cg_state_bytes(m));
  cg_error e;
  out->state = cg_state_init(m, out->mem.data.get(), out->mem.size, seed, &e);
  if (!out->state) {
    *error = std::string("state: ") + e.message;
    return false;
  }
  return true;
}

}  // namespace causalgen::host
