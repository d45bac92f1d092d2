// Training checkpoints (DESIGN.md §3): everything a run needs to continue
// exactly (TrainState), in a cereal portable binary archive behind a small
// raw header that is checked before cereal reads a byte:
//
//   offset 0   char magic[8] = "CGCKPT\r\n"
//          8   u32  format version (kCheckpointVersion)
//         12   u32  0 (reserved)
//         16   u64  body size in bytes
//         24   u32  CRC-32 of the body
//         28   body: cereal PortableBinaryOutputArchive of the state
//
// Loading checks, in order: size >= 28, magic (a model file is named as
// such), version, reserved == 0, body size == file size - 28 (truncation), CRC (corruption),
// then cereal (any exception is reported), then consistency (config valid,
// every array the config's size, vocabulary ascending, no byte left after
// the last field), then values (parameters and moments finite, AdamW's v
// >= 0). Each failure is one message naming the file and the problem. A
// state whose values are not finite is never written either.
//
// Files are written atomically: temp file in the same folder, fsync, rename,
// fsync of the folder; a process killed while saving leaves the previous
// checkpoint intact.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "host/model_io.hpp"
#include "train/loop/trainer.hpp"

namespace causalgen::train {

// Version 2 stores the settings by key (hyperparams.hpp); version 1 (a fixed
// list) still loads.
constexpr uint32_t kCheckpointVersion = 2;
constexpr uint32_t kOldestCheckpointVersion = 1;
constexpr size_t kCheckpointHeader = 28;

// In a run's output folder.
constexpr const char* kLastCheckpoint = "ckpt_last.cgc";
constexpr const char* kBestCheckpoint = "ckpt_best.cgc";

std::vector<uint8_t> encode_checkpoint(const TrainState& s);
// name: used in messages (the file's path).
bool decode_checkpoint(const uint8_t* data, size_t size, const std::string& name, TrainState* out,
                       std::string* err);

// "" when every parameter and AdamW moment is finite (and v >= 0);
// otherwise the first value that is not, by array and tensor
// ("params: tensor 'l0.wo' value 12 is nan").
std::string state_value_problem(const TrainState& s);

// Refuses (false, *err) a state with values that are not finite.
bool save_checkpoint(const std::string& path, const TrainState& s, std::string* err);
// The file's bytes, its header checked (and its declared size against the
// file's and the memory limit) before the body is read; not yet decoded.
bool read_checkpoint_file(const std::string& path, host::AlignedBytes* out, std::string* err);
bool load_checkpoint(const std::string& path, TrainState* out, std::string* err);

}  // namespace causalgen::train
