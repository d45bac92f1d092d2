// The loss curve as an SVG picture any browser opens: the per-step training
// loss (light, averaged into at most 500 buckets) and the evaluations' train
// and validation losses, against the step, with axes, ticks and a legend.
#pragma once
#include <string>
#include <vector>

#include "train/loop/trainer.hpp"

namespace causalgen::train {

std::string loss_curve_svg(const std::vector<IterRecord>& iters,
                           const std::vector<EvalRecord>& evals, const std::string& title);

}  // namespace causalgen::train
