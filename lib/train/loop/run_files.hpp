// The files a training run writes in its output folder (train_loop.hpp says
// what each holds). A fresh run refuses a folder holding any of them.
#pragma once
#include "train/io/checkpoint.hpp"

namespace causalgen::train {

constexpr const char* kLogCsv = "log.csv";
constexpr const char* kEvalCsv = "eval.csv";
constexpr const char* kLossSvg = "loss.svg";
constexpr const char* kConfigJson = "config.json";
constexpr const char* kRunFiles[] = {kLastCheckpoint, kBestCheckpoint, kLogCsv,
                                     kEvalCsv,        kLossSvg,        kConfigJson};

}  // namespace causalgen::train
