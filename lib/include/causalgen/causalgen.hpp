// The C++ API of the core, in the order data flows through it.
#pragma once
#include "causalgen/status.hpp"
#include "causalgen/config.hpp"
#include "causalgen/tokens.hpp"
#include "causalgen/model_file.hpp"
#include "causalgen/model_tensors.hpp"
#include "causalgen/forward.hpp"
#include "causalgen/state.hpp"
#include "causalgen/sampler.hpp"
