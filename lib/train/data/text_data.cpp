#include "train/data/text_data.hpp"

#include <algorithm>
#include <cstdio>

#include "causalgen/model_file.hpp"
#include "causalgen/tokens.hpp"
#include "host/input_file.hpp"
#include "host/memory_limit.hpp"
#include "host/model_io.hpp"

namespace causalgen::train {

namespace {

// Decoding holds the file (1 byte per byte), its code points and, for a new
// vocabulary, their sorted copy (4 + 4), then the token ids (4).
constexpr uint64_t kMemoryPerTextByte = 13;

bool decode_file(const std::string& path, std::vector<uint32_t>* cps, TextData* out,
                 std::string* err) {
  host::AlignedBytes bytes;
  if (!host::read_input(path, kMaxTextBytes, "a text file", &bytes, err)) return false;
  if (bytes.size == 0) {
    *err = path + ": the file is empty (training and evaluation need text)";
    return false;
  }
  if (!host::check_budget(bytes.size * kMemoryPerTextByte,
                          path + ": decoding its " + host::describe_bytes(bytes.size), err))
    return false;
  const char* s = reinterpret_cast<const char*>(bytes.data.get());
  cps->clear();
  cps->reserve(bytes.size);
  for (size_t i = 0; i < bytes.size;) {
    uint32_t cp;
    const size_t n = utf8_decode(s + i, bytes.size - i, &cp);
    if (n == 0) {
      *err = path + ": not UTF-8 text (malformed byte sequence at byte offset " +
             std::to_string(i) + ")";
      return false;
    }
    cps->push_back(cp);
    i += n;
  }
  if (cps->size() < 2) {
    *err = path + ": only " + std::to_string(cps->size()) +
           " character(s); training and evaluation need at least 2 (one to predict)";
    return false;
  }
  out->path = path;
  out->text_bytes = bytes.size;
  out->text_crc = crc32(bytes.data.get(), bytes.size);
  return true;
}

void split_tokens(std::vector<uint32_t>&& ids, TextData* out) {
  const size_t n = ids.size();
  const size_t n_train = static_cast<size_t>(static_cast<double>(n) * 0.9);
  out->train.assign(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n_train));
  out->val.assign(ids.begin() + static_cast<std::ptrdiff_t>(n_train), ids.end());
}

std::string describe_char(uint32_t cp) {
  char buf[32];
  if (cp >= 0x20 && cp < 0x7f)
    std::snprintf(buf, sizeof buf, "'%c' (U+%04X)", static_cast<char>(cp), cp);
  else
    std::snprintf(buf, sizeof buf, "U+%04X", cp);
  return buf;
}

}  // namespace

bool load_text_data(const std::string& path, TextData* out, std::string* err) {
  std::vector<uint32_t> cps;
  if (!decode_file(path, &cps, out, err)) return false;
  std::vector<uint32_t> vocab = cps;
  std::sort(vocab.begin(), vocab.end());
  vocab.erase(std::unique(vocab.begin(), vocab.end()), vocab.end());
  if (vocab.size() > kMaxVocab) {
    *err = path + ": " + std::to_string(vocab.size()) + " distinct characters; at most " +
           std::to_string(kMaxVocab) + " are supported";
    return false;
  }
  for (auto& c : cps)
    c = static_cast<uint32_t>(std::lower_bound(vocab.begin(), vocab.end(), c) - vocab.begin());
  out->vocab = std::move(vocab);
  split_tokens(std::move(cps), out);
  return true;
}

bool load_text_data(const std::string& path, const std::vector<uint32_t>& vocab, TextData* out,
                    std::string* err) {
  std::vector<uint32_t> cps;
  if (!decode_file(path, &cps, out, err)) return false;
  for (size_t i = 0; i < cps.size(); ++i) {
    auto it = std::lower_bound(vocab.begin(), vocab.end(), cps[i]);
    if (it == vocab.end() || *it != cps[i]) {
      *err = path + ": character " + describe_char(cps[i]) + " (character " + std::to_string(i) +
             ") is not in the model's vocabulary of " + std::to_string(vocab.size());
      return false;
    }
    cps[i] = static_cast<uint32_t>(it - vocab.begin());
  }
  out->vocab = vocab;
  split_tokens(std::move(cps), out);
  return true;
}

bool check_windows(const TextData& d, uint32_t block_size, std::string* err) {
  const uint64_t need = uint64_t(block_size) + 1;
  for (int v = 0; v < 2; ++v) {
    const auto& s = d.split(v == 1);
    if (s.size() < need) {
      const uint64_t total = d.train.size() + d.val.size();
      // The val split is the last 10%: the text needs about 10x the window.
      *err = d.path + ": the " + (v ? "validation" : "training") + " split has " +
             std::to_string(s.size()) + " characters (of " + std::to_string(total) +
             "), fewer than one window of block size " + std::to_string(block_size) +
             " plus its next character (" + std::to_string(need) +
             "); use a longer text or a smaller --block-size";
      return false;
    }
  }
  return true;
}

void sample_batch(const std::vector<uint32_t>& split, uint32_t B, uint32_t T, Rng& rng,
                  uint32_t* x, uint32_t* y) {
  const uint64_t range = split.size() - T;  // check_windows guarantees >= 1
  for (uint32_t b = 0; b < B; ++b) {
    const uint64_t i = rng.below(range);
    for (uint32_t t = 0; t < T; ++t) {
      x[size_t(b) * T + t] = split[i + t];
      y[size_t(b) * T + t] = split[i + t + 1];
    }
  }
}

}  // namespace causalgen::train
