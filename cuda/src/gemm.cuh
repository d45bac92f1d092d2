// Matrix products through cuBLASLt, in row-major terms:
//   D (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * D
// with op = transpose when the flag is set, `batch` products strided apart.
// A and B are float (f32 mode: exact f32, no TF32) or bf16 (f32 accumulate);
// D is f32, or bf16 in bf16 mode when out_act is set.
#pragma once
#include <cublasLt.h>
#include <cuda_bf16.h>

#include <cstdint>
#include <map>
#include <tuple>

namespace causalgen::cuda {

struct GemmShape {
  int M, N, K;
  bool transA, transB;
  int batch = 1;
  long long strideA = 0, strideB = 0, strideD = 0;
  bool out_act = false;
};

class Gemm {
 public:
  explicit Gemm(bool bf16);
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;
  void run(void* D, const void* A, const void* B, const GemmShape& s, float alpha, float beta,
           cudaStream_t stream);

 private:
  struct Plan;
  using Key = std::tuple<int, int, int, bool, bool, int, long long, long long, long long, bool, bool>;
  Plan& plan(const GemmShape& s, bool accumulate);
  bool bf16_;
  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 32u << 20;
  std::map<Key, Plan*> plans_;
};

// Products with a weight W (out_f, in_f), rows = positions; A is the
// activation type (the type of the weights' copy used in products).
// out (rows, out_f) A = in (rows, in_f) . W^T
template <class A>
void linear_forward(Gemm& gemm, A* out, const A* in, const A* w, int rows, int out_f, int in_f,
                    cudaStream_t s) {
  GemmShape g{rows, out_f, in_f, false, true};
  g.out_act = true;
  gemm.run(out, in, w, g, 1.0f, 0.0f, s);
}
// din (rows, in_f) A = dout (rows, out_f) . W
template <class A>
void linear_dinput(Gemm& gemm, A* din, const A* dout, const A* w, int rows, int out_f, int in_f,
                   cudaStream_t s) {
  GemmShape g{rows, in_f, out_f, false, false};
  g.out_act = true;
  gemm.run(din, dout, w, g, 1.0f, 0.0f, s);
}
// dw (out_f, in_f) f32 = dout^T . in (written, not added)
template <class A>
void linear_dweight(Gemm& gemm, float* dw, const A* dout, const A* in, int rows, int out_f,
                    int in_f, cudaStream_t s) {
  gemm.run(dw, dout, in, GemmShape{out_f, in_f, rows, true, false}, 1.0f, 0.0f, s);
}

}  // namespace causalgen::cuda
