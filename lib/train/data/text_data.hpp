// Text -> tokens -> batches. The vocabulary is the sorted set of Unicode code
// points of the text (UTF-8); the first 90% of the tokens train, the last 10%
// validate (nanoGPT's split: n_train = floor(0.9 n)). Batches are random
// windows of T tokens and their T next tokens, drawn from a seeded Rng.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/model/rng.hpp"

namespace causalgen::train {

struct TextData {
  std::string path;
  std::vector<uint32_t> vocab;       // code points, strictly ascending
  std::vector<uint32_t> train, val;  // token ids
  uint64_t text_bytes = 0;
  uint32_t text_crc = 0;  // CRC-32 of the file's bytes (a resume checks it)
  const std::vector<uint32_t>& split(bool validation) const { return validation ? val : train; }
};

// The largest text file read (host::read_input refuses a larger one by its
// size, before reading): 1 GiB, about 1000 times tiny Shakespeare; decoding
// it holds about 13 bytes per byte of text.
constexpr uint64_t kMaxTextBytes = uint64_t(1) << 30;

// Reads a UTF-8 text file and builds its vocabulary and split. Errors (false,
// *err names the file and the problem): unreadable or not a file, larger than
// kMaxTextBytes or the machine's memory, empty, malformed UTF-8, more than
// 65536 distinct characters, fewer than 2 characters.
bool load_text_data(const std::string& path, TextData* out, std::string* err);

// The same, with a given vocabulary (a trained model's): a character of the
// text outside it is an error naming the character and its byte offset.
bool load_text_data(const std::string& path, const std::vector<uint32_t>& vocab, TextData* out,
                    std::string* err);

// Checks that both splits hold at least one window of block_size inputs plus
// its next token (block_size + 1 tokens); otherwise a clear error.
bool check_windows(const TextData& d, uint32_t block_size, std::string* err);

// B windows: x[b*T + t] = split[i_b + t], y[b*T + t] = split[i_b + t + 1],
// i_b uniform in [0, len - T) (as nanoGPT's torch.randint(len - T)).
void sample_batch(const std::vector<uint32_t>& split, uint32_t B, uint32_t T, Rng& rng,
                  uint32_t* x, uint32_t* y);

}  // namespace causalgen::train
