// The tensor table (tensors.hpp): the rows every model and every layer has,
// with the mixer's own rows (mixers/) spliced in after ln1.
#include "causalgen/tensors.hpp"

#include "mixers/mixer.hpp"

namespace causalgen {

namespace {

using K = TensorKind;
using R = TensorRole;

const TensorRow kHead[] = {
    {R::wte, "wte", Dim::V, Dim::C, K::matrix, false},
    {R::wpe, "wpe", Dim::T, Dim::C, K::matrix, false},
};
const TensorRow kLayerBeforeMixer[] = {
    {R::ln1_w, "ln1.w", Dim::one, Dim::C, K::norm_weight, false},
    {R::ln1_b, "ln1.b", Dim::one, Dim::C, K::bias, false},
};
const TensorRow kLayerAfterMixer[] = {
    {R::wo, "wo", Dim::C, Dim::C, K::matrix, true},
    {R::bo, "wo.b", Dim::one, Dim::C, K::bias, false},
    {R::ln2_w, "ln2.w", Dim::one, Dim::C, K::norm_weight, false},
    {R::ln2_b, "ln2.b", Dim::one, Dim::C, K::bias, false},
    {R::fc1_w, "fc1.w", Dim::C4, Dim::C, K::matrix, false},
    {R::fc1_b, "fc1.b", Dim::one, Dim::C4, K::bias, false},
    {R::fc2_w, "fc2.w", Dim::C, Dim::C4, K::matrix, true},
    {R::fc2_b, "fc2.b", Dim::one, Dim::C, K::bias, false},
};
const TensorRow kTail[] = {
    {R::lnf_w, "lnf.w", Dim::one, Dim::C, K::norm_weight, false},
    {R::lnf_b, "lnf.b", Dim::one, Dim::C, K::bias, false},
};

uint32_t size_of(const Config& c, Dim d) {
  switch (d) {
    case Dim::one: return 1;
    case Dim::C: return c.n_embd;
    case Dim::C2: return 2 * c.n_embd;
    case Dim::C3: return 3 * c.n_embd;
    case Dim::C4: return 4 * c.n_embd;
    case Dim::V: return c.vocab_size;
    case Dim::T: return c.block_size;
  }
  return 0;
}

bool present(const Config& c, const TensorRow& r) {
  if (r.kind == K::bias && !c.bias) return false;
  if (r.role == R::wpe && !c.pos_emb) return false;
  return true;
}

// Walks the canonical order, calling f(spec) for each tensor; stops when f
// returns true.
template <class F>
void walk(const Config& c, F&& f) {
  uint64_t offset = 0;
  // false when f asked to stop
  auto visit = [&](const TensorRow& r, uint32_t layer) {
    if (!present(c, r)) return true;
    TensorSpec s{};
    uint32_t i = 0;
    if (layer != kGlobalTensor) {  // "l<layer>." by hand: no stdio in the core
      char digits[10];
      uint32_t nd = 0;
      for (uint32_t v = layer; nd == 0 || v != 0; v /= 10) digits[nd++] = char('0' + v % 10);
      s.name[i++] = 'l';
      while (nd) s.name[i++] = digits[--nd];
      s.name[i++] = '.';
    }
    for (const char* p = r.name; *p && i + 1 < kTensorNameMax; ++p) s.name[i++] = *p;
    s.rows = size_of(c, r.rows), s.cols = size_of(c, r.cols);
    s.role = r.role, s.kind = r.kind, s.residual_proj = r.residual_proj;
    s.layer = layer, s.offset = offset;
    offset += s.size();
    return !f(s);
  };
  for (const TensorRow& r : kHead)
    if (!visit(r, kGlobalTensor)) return;
  for (uint32_t l = 0; l < c.n_layer && l < kMaxLayers; ++l) {
    for (const TensorRow& r : kLayerBeforeMixer)
      if (!visit(r, l)) return;
    if (const mixers::MixerDesc* d = mixers::find(c.mixers[l]))
      for (uint32_t k = 0; k < d->n_tensors; ++k)
        if (!visit(d->tensors[k], l)) return;
    for (const TensorRow& r : kLayerAfterMixer)
      if (!visit(r, l)) return;
  }
  for (const TensorRow& r : kTail)
    if (!visit(r, kGlobalTensor)) return;
}

}  // namespace

uint32_t tensor_count(const Config& c) {
  uint32_t n = 0;
  walk(c, [&](const TensorSpec&) { ++n; return false; });
  return n;
}

TensorSpec tensor_spec(const Config& c, uint32_t index) {
  TensorSpec out{};
  uint32_t i = 0;
  walk(c, [&](const TensorSpec& t) {
    if (i++ == index) { out = t; return true; }
    return false;
  });
  return out;
}

void tensor_offsets(const Config& c, RoleOffsets* global, RoleOffsets* layers) {
  auto clear = [](RoleOffsets* r) {
    for (uint64_t& o : r->at) o = kNoTensor;
  };
  clear(global);
  for (uint32_t l = 0; l < c.n_layer && l < kMaxLayers; ++l) clear(&layers[l]);
  walk(c, [&](const TensorSpec& t) {
    RoleOffsets* r = t.layer == kGlobalTensor ? global : &layers[t.layer];
    r->at[static_cast<uint32_t>(t.role)] = t.offset;
    return false;
  });
}

}  // namespace causalgen
