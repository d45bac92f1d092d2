// Decisions every rank of a run takes together, so that no rank waits in a
// collective that another has left: an error anywhere ends every rank, a stop
// request anywhere stops every rank, and the ranks check that they were
// started alike. With one process each is a plain test.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/loop/backend.hpp"

namespace causalgen::train {

// True when every rank is ok. Otherwise false on every rank, and rank 0's
// *err holds the first failing rank's message ("rank 2: ..." for another
// rank's); the other ranks' *err is cleared (rank 0 alone reports).
bool all_ok(Communicator& c, bool ok, std::string* err);

// True on every rank when flag is true on any.
bool any_rank(Communicator& c, bool flag);

// root's bytes (any length) to every rank.
void broadcast_bytes(Communicator& c, std::vector<uint8_t>* bytes, int root);

// True when `settings` (text that must match) is the same on every rank;
// otherwise false everywhere, with rank 0's *err naming the ranks that differ
// and `what`.
bool same_on_all_ranks(Communicator& c, const std::string& settings, const std::string& what,
                       std::string* err);

}  // namespace causalgen::train
