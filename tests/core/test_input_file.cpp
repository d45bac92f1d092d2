// host::open_input and the readers on it: every input is a regular file; a
// FIFO (with no writer: open() must not wait for one), a directory, a
// device and a socket are refused by what they are, naming the path.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "host/input_file.hpp"
#include "host/model_io.hpp"

using namespace causalgen::host;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/cg_input_XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// open_input's refusal for path ("" if it opened).
std::string refusal(const std::string& path) {
  InputFile f;
  std::string err;
  return open_input(path, &f, &err) ? std::string() : err;
}

}  // namespace

TEST_CASE("open_input opens a regular file with its size", "[input]") {
  TempDir d;
  const std::string p = (d.path / "text.txt").string();
  std::ofstream(p) << "hello";
  InputFile f;
  std::string err;
  REQUIRE(open_input(p, &f, &err));
  CHECK(f.size == 5);
  AlignedBytes b;
  REQUIRE(read_input(p, 5, "a text file", &b, &err));
  CHECK(std::string(reinterpret_cast<const char*>(b.data.get()), b.size) == "hello");
  CHECK_FALSE(read_input(p, 4, "a text file", &b, &err));
  CHECK(err == p + ": 5 bytes: too large; a text file may be at most 4 bytes");
}

TEST_CASE("open_input refuses a FIFO with no writer at once, by what it is", "[input]") {
  TempDir d;
  const std::string p = (d.path / "fifo").string();
  REQUIRE(::mkfifo(p.c_str(), 0600) == 0);
  // Would block forever in open() without O_NONBLOCK (ctest's timeout).
  CHECK(refusal(p) == p + ": a FIFO or pipe, not a file (give the file itself: its size is checked before it is read)");
  AlignedBytes b;
  std::string err;
  CHECK_FALSE(load_model_bytes(p, &b, &err));
  CHECK(err.rfind(p + ": a FIFO or pipe", 0) == 0);
  CHECK_FALSE(read_input(p, 100, "a text file", &b, &err));
  CHECK(err.rfind(p + ": a FIFO or pipe", 0) == 0);
}

TEST_CASE("open_input refuses a pipe", "[input]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  REQUIRE(::write(fds[1], "CGLM", 4) == 4);
  const std::string p = "/proc/self/fd/" + std::to_string(fds[0]);
  CHECK(refusal(p).rfind(p + ": a FIFO or pipe, not a file", 0) == 0);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("open_input refuses devices, directories and sockets by name", "[input]") {
  CHECK(refusal("/dev/zero") == "/dev/zero: a character device (like /dev/zero or a terminal), not a file");
  TempDir d;
  CHECK(refusal(d.path.string()) == d.path.string() + ": a directory, not a file");
  const std::string sock = (d.path / "sock").string();
  const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  CHECK(refusal(sock) == sock + ": a socket, not a file");
  ::close(s);
  CHECK(refusal((d.path / "missing").string()) == (d.path / "missing").string() + ": No such file or directory");
}
