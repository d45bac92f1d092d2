// Checkpoint -> deployable model file (model_file.hpp), and back: a model
// file's tensors into the trainer's flat parameter array (for `eval --model`).
#pragma once
#include <string>
#include <vector>

#include "causalgen/model_file.hpp"
#include "train/loop/trainer.hpp"

namespace causalgen::train {

// The model file's bytes for a state's config, vocabulary and parameters.
bool model_bytes(const TrainState& s, std::vector<uint8_t>* out, std::string* err);
// Written atomically (temp file, fsync, rename).
bool export_model(const TrainState& s, const std::string& path, size_t* bytes_written,
                  std::string* err);

// The parameters of a parsed f32 model in canonical order (parameter_count
// floats) and its vocabulary's code points. False for an int8 model.
bool params_from_model(const Model& m, std::vector<float>* params, std::vector<uint32_t>* vocab,
                       std::string* err);

}  // namespace causalgen::train
