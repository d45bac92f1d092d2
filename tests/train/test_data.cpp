// Text -> vocabulary, split and batches; bad input gives a clear error.
#include <catch2/catch.hpp>

#include "train/data/text_data.hpp"
#include "train_test_util.hpp"

using namespace causalgen::train;
using train_test::TempDir;
using train_test::write_text;

TEST_CASE("data: vocabulary is the sorted code points; 90/10 split", "[train][data]") {
  TempDir d;
  const std::string text = "héllo wörld, hello\n" + train_test::synthetic_text(981);
  write_text(d.file("t.txt"), text);
  TextData td;
  std::string err;
  REQUIRE(load_text_data(d.file("t.txt"), &td, &err));
  for (size_t i = 1; i < td.vocab.size(); ++i) CHECK(td.vocab[i - 1] < td.vocab[i]);
  CHECK(std::count(td.vocab.begin(), td.vocab.end(), 0xE9u) == 1);  // é, decoded from UTF-8
  CHECK(std::count(td.vocab.begin(), td.vocab.end(), 0xF6u) == 1);  // ö
  const size_t n = td.train.size() + td.val.size();
  CHECK(n == 1000);  // characters, not bytes
  CHECK(td.train.size() == 900);
  CHECK(td.vocab[td.train[1]] == 0xE9u);
  // The same text through a given vocabulary gives the same ids.
  TextData td2;
  REQUIRE(load_text_data(d.file("t.txt"), td.vocab, &td2, &err));
  CHECK(td2.train == td.train);
  CHECK(td2.val == td.val);
  // A character outside a given vocabulary is named.
  std::vector<uint32_t> small = {'a', 'b'};
  CHECK_FALSE(load_text_data(d.file("t.txt"), small, &td2, &err));
  CHECK(err.find("not in the model's vocabulary") != std::string::npos);
}

TEST_CASE("data: batches are windows and their next characters, seeded", "[train][data]") {
  std::vector<uint32_t> split(500);
  for (size_t i = 0; i < split.size(); ++i) split[i] = uint32_t(i);
  Rng a, b;
  a.seed(3), b.seed(3);
  std::vector<uint32_t> x(4 * 8), y(4 * 8), x2(32), y2(32);
  sample_batch(split, 4, 8, a, x.data(), y.data());
  sample_batch(split, 4, 8, b, x2.data(), y2.data());
  CHECK(x == x2);
  for (int bb = 0; bb < 4; ++bb)
    for (int t = 0; t < 8; ++t) {
      CHECK(y[bb * 8 + t] == x[bb * 8 + t] + 1);
      if (t) CHECK(x[bb * 8 + t] == x[bb * 8 + t - 1] + 1);
      CHECK(x[bb * 8 + 7] + 1 < 500);
    }
}

TEST_CASE("data: missing, empty, malformed and too-short files are clear errors", "[train][data]") {
  TempDir d;
  TextData td;
  std::string err;
  CHECK_FALSE(load_text_data(d.file("nope.txt"), &td, &err));
  CHECK(err.find("nope.txt") != std::string::npos);
  CHECK(err.find("No such file") != std::string::npos);
  write_text(d.file("empty.txt"), "");
  CHECK_FALSE(load_text_data(d.file("empty.txt"), &td, &err));
  CHECK(err.find("empty") != std::string::npos);
  write_text(d.file("one.txt"), "x");
  CHECK_FALSE(load_text_data(d.file("one.txt"), &td, &err));
  CHECK(err.find("1 character") != std::string::npos);
  write_text(d.file("bad.txt"), std::string("abc\xff\xfe"));
  CHECK_FALSE(load_text_data(d.file("bad.txt"), &td, &err));
  CHECK(err.find("not UTF-8") != std::string::npos);
  write_text(d.file("short.txt"), train_test::synthetic_text(300));
  REQUIRE(load_text_data(d.file("short.txt"), &td, &err));
  CHECK(check_windows(td, 29, &err));       // val split: 30 characters
  CHECK_FALSE(check_windows(td, 30, &err));
  CHECK(err.find("validation split has 30 characters") != std::string::npos);
  CHECK_FALSE(check_windows(td, 1000, &err));
  CHECK(err.find("training split") != std::string::npos);
}

TEST_CASE("data: tiny Shakespeare splits as nanoGPT's", "[train][data]") {
  if (!train_test::have_shakespeare()) {
    WARN("SKIPPED: " << train_test::shakespeare_path() << " not found (the corpus is not in the repository)");
    return;
  }
  TextData td;
  std::string err;
  REQUIRE(load_text_data(train_test::shakespeare_path(), &td, &err));
  CHECK(td.vocab.size() == 65);
  CHECK(td.train.size() == 1003854);
  CHECK(td.val.size() == 111540);
}
