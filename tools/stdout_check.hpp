// Standard output carries results (generated text, info, losses, C source):
// a write error there (a full disk, /dev/full, a file system gone) is the
// command's error, never an exit 0 with part of the output missing.
#pragma once
#include <string>

namespace causalgen::cli {

// Flushes stdout; false with *why ("standard output: No space left on
// device") if that or an earlier write failed. For loops that write as they
// go, so that they stop at the first failure.
bool stdout_ok(std::string* why);

// For std::atexit in main: flushes and closes stdout, and on any error
// prints "causalgen: error: standard output: ..." and ends the process with
// status 1 (atexit cannot change the status otherwise).
void check_stdout_at_exit();

}  // namespace causalgen::cli
