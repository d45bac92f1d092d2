#include "train/loop/collectives.hpp"

namespace causalgen::train {

bool all_ok(Communicator& c, bool ok, std::string* err) {
  if (c.size() == 1) return ok;
  std::vector<double> failed(size_t(c.size()), 0.0);
  failed[size_t(c.rank())] = ok ? 0.0 : 1.0;
  c.allreduce_sum(failed.data(), failed.size());
  int first = -1;
  for (int r = 0; r < c.size() && first < 0; ++r)
    if (failed[size_t(r)] != 0.0) first = r;
  if (first < 0) return true;
  std::vector<uint8_t> msg;
  if (c.rank() == first) msg.assign(err->begin(), err->end());
  broadcast_bytes(c, &msg, first);
  if (c.rank() == 0)
    *err = (first == 0 ? "" : "rank " + std::to_string(first) + ": ") +
           std::string(msg.begin(), msg.end());
  else
    err->clear();
  return false;
}

bool any_rank(Communicator& c, bool flag) {
  if (c.size() == 1) return flag;
  double n = flag ? 1.0 : 0.0;
  c.allreduce_sum(&n, 1);
  return n > 0.0;
}

void broadcast_bytes(Communicator& c, std::vector<uint8_t>* bytes, int root) {
  if (c.size() == 1) return;
  uint64_t n = bytes->size();
  c.broadcast(&n, sizeof n, root);
  bytes->resize(size_t(n));
  if (n) c.broadcast(bytes->data(), size_t(n), root);
}

namespace {
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ULL;
  return h;
}
}  // namespace

bool same_on_all_ranks(Communicator& c, const std::string& settings, const std::string& what,
                       std::string* err) {
  if (c.size() == 1) return true;
  uint64_t root_hash = fnv1a(settings);
  c.broadcast(&root_hash, sizeof root_hash, 0);
  std::vector<double> differs(size_t(c.size()), 0.0);
  differs[size_t(c.rank())] = fnv1a(settings) != root_hash ? 1.0 : 0.0;
  c.allreduce_sum(differs.data(), differs.size());
  std::string ranks;
  int n = 0;
  for (int r = 0; r < c.size(); ++r)
    if (differs[size_t(r)] != 0.0) {
      if (n < 8) ranks += (n ? ", " : "") + std::to_string(r);
      ++n;
    }
  if (n == 0) return true;
  if (n > 8) ranks += " and " + std::to_string(n - 8) + " more";
  if (c.rank() == 0)
    *err = "the ranks were started differently: " + what + " of rank" + (n > 1 ? "s " : " ") +
           ranks + " differ from rank 0's (start every rank with the same flags, --config and data)";
  else
    err->clear();
  return false;
}

}  // namespace causalgen::train
