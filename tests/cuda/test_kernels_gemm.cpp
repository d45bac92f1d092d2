// The matrix products (cuda/src/gemm.cu, cuBLASLt) in the forms the CUDA
// trainer uses, against the CPU trainer's matmul in double (linear layers)
// or the sum written out (batched attention products). f32 mode is exact
// f32 (no TF32); bf16 mode takes bf16 inputs (rounded on the host, so both
// sides see the same values) and accumulates in f32. Needs a GPU; each case
// exits 77 (skipped) without one.
#include <catch2/catch.hpp>

#include <cmath>
#include <type_traits>
#include <vector>

#include "cuda_test_util.hpp"
#include "gemm.cuh"
#include "kernel_test_util.hpp"
#include "train/model/layers.hpp"

using namespace causalgen;
using namespace kernel_test;

TEMPLATE_TEST_CASE("cuda kernel: linear-layer GEMMs equal the CPU trainer's matmul",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  cuda::Gemm gemm(!std::is_same_v<A, float>);
  const int N = 70, IC = 48, OC = 40;
  const auto in = rounded<A>(uniform(size_t(N) * IC, 301));
  const auto W = rounded<A>(uniform(size_t(OC) * IC, 302));
  const auto dout = rounded<A>(uniform(size_t(N) * OC, 303));
  Device<typename Act<A>::Host> d_in(to_act<A>(in)), d_W(to_act<A>(W)), d_dout(to_act<A>(dout));
  Device<typename Act<A>::Host> d_out(size_t(N) * OC), d_din(size_t(N) * IC);
  Device<float> d_dW(size_t(OC) * IC);
  // As the trainer's linear layers: out (N,OC) = in . W^T and din (N,IC) =
  // dout . W stored as the activation type (out_act); dW (OC,IC) = dout^T . in
  // in f32.
  cuda::GemmShape fwd{N, OC, IC, false, true}, dinput{N, IC, OC, false, false};
  fwd.out_act = dinput.out_act = true;
  gemm.run(d_out.ptr, d_in.ptr, d_W.ptr, fwd, 1.0f, 0.0f, nullptr);
  gemm.run(d_din.ptr, d_dout.ptr, d_W.ptr, dinput, 1.0f, 0.0f, nullptr);
  gemm.run(d_dW.ptr, d_dout.ptr, d_in.ptr, cuda::GemmShape{OC, IC, N, true, false}, 1.0f, 0.0f,
           nullptr);
  wait_for_kernels();

  const auto in_d = to_double(in), W_d = to_double(W), dout_d = to_double(dout);
  std::vector<double> out(size_t(N) * OC), din(size_t(N) * IC), dW(size_t(OC) * IC, 0.0);
  train::matmul_forward<double>(out.data(), in_d.data(), W_d.data(), nullptr, N, IC, OC);
  train::matmul_backward<double>(din.data(), dW.data(), nullptr, dout_d.data(), in_d.data(),
                                 W_d.data(), N, IC, OC, false);
  const Tolerance f32{1e-5, 1e-5};  // sums of 40 to 70 products of size <= 1
  require_close("out", from_act<A>(d_out.get()), out, f32 + Act<A>::rounding);
  require_close("din", from_act<A>(d_din.get()), din, f32 + Act<A>::rounding);
  require_close("dW", d_dW.get(), dW, f32);

  SECTION("beta 1 adds to what D holds") {
    gemm.run(d_dW.ptr, d_dout.ptr, d_in.ptr, cuda::GemmShape{OC, IC, N, true, false}, 1.0f, 1.0f,
             nullptr);
    wait_for_kernels();
    for (auto& v : dW) v *= 2;
    require_close("dW twice", d_dW.get(), dW, f32);
  }
}

TEMPLATE_TEST_CASE("cuda kernel: batched attention GEMMs equal the sums written out",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  cuda::Gemm gemm(!std::is_same_v<A, float>);
  const int BH = 6, T = 40, hs = 12;
  const auto q = rounded<A>(uniform(size_t(BH) * T * hs, 311));
  const auto k = rounded<A>(uniform(size_t(BH) * T * hs, 312));
  const float scale = 0.25f;
  Device<typename Act<A>::Host> d_q(to_act<A>(q)), d_k(to_act<A>(k));
  Device<float> d_att(size_t(BH) * T * T);
  // As the trainer's attention scores: att[i] (T,T) = scale * q[i] (T,hs) .
  // k[i]^T for each of BH heads, strided apart, in f32.
  const cuda::GemmShape s{T, T, hs, false, true, BH, T * hs, T * hs, T * T};
  gemm.run(d_att.ptr, d_q.ptr, d_k.ptr, s, scale, 0.0f, nullptr);
  wait_for_kernels();

  std::vector<double> att(size_t(BH) * T * T);
  for (int i = 0; i < BH; ++i)
    for (int t = 0; t < T; ++t)
      for (int u = 0; u < T; ++u) {
        double dot = 0;
        for (int d = 0; d < hs; ++d)
          dot += double(q[(size_t(i) * T + t) * hs + d]) * k[(size_t(i) * T + u) * hs + d];
        att[(size_t(i) * T + t) * T + u] = scale * dot;
      }
  require_close("att", d_att.get(), att, {1e-5, 1e-5});
}
