#include "gemm.cuh"

#include <stdexcept>
#include <string>

#include "common.cuh"

namespace causalgen::cuda {

#define CG_CUBLAS_CHECK(expr)                                                             \
  do {                                                                                    \
    cublasStatus_t s_ = (expr);                                                           \
    if (s_ != CUBLAS_STATUS_SUCCESS)                                                      \
      throw std::runtime_error(std::string("cuBLASLt error ") + std::to_string(int(s_)) + \
                               " at " __FILE__ ":" + std::to_string(__LINE__));           \
  } while (0)

// One plan per distinct product: descriptors plus the algorithm chosen the
// first time, reused ever after so that every step runs the same kernels.
struct Gemm::Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    if (op) cublasLtMatmulDescDestroy(op);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (d) cublasLtMatrixLayoutDestroy(d);
  }
};

Gemm::Gemm(bool bf16) : bf16_(bf16) {
  CG_CUBLAS_CHECK(cublasLtCreate(&handle_));
  CG_CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
}

Gemm::~Gemm() {
  for (auto& kv : plans_) delete kv.second;
  if (workspace_) cudaFree(workspace_);
  if (handle_) cublasLtDestroy(handle_);
}

namespace {
void set_batch(cublasLtMatrixLayout_t l, int batch, long long stride) {
  if (batch <= 1) return;
  CG_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch,
                                                   sizeof batch));
  CG_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(
      l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
}
}  // namespace

// Row-major D = op(A) op(B) is column-major D^T = op(B)^T op(A)^T: cuBLASLt's
// first operand is our B, its second our A, and m = N, n = M.
Gemm::Plan& Gemm::plan(const GemmShape& s, bool accumulate) {
  const Key key{s.M, s.N, s.K, s.transA, s.transB, s.batch, s.strideA, s.strideB, s.strideD,
                accumulate, s.out_act};
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;
  auto* p = new Plan;
  const cudaDataType_t in_type = bf16_ ? CUDA_R_16BF : CUDA_R_32F;
  const cublasComputeType_t compute = bf16_ ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_PEDANTIC;
  CG_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->op, compute, CUDA_R_32F));
  const cublasOperation_t opFirst = s.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t opSecond = s.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
  CG_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &opFirst,
                                                 sizeof opFirst));
  CG_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &opSecond,
                                                 sizeof opSecond));
  // First operand: our B. Stored row-major (K,N) when not transposed, which
  // column-major reads as (N,K) with ld N; transposed it is stored (N,K) -> (K,N), ld K.
  if (!s.transB) CG_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->a, in_type, s.N, s.K, s.N));
  else CG_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->a, in_type, s.K, s.N, s.K));
  // Second operand: our A. Stored (M,K) -> column-major (K,M), ld K; transposed (K,M) -> (M,K), ld M.
  if (!s.transA) CG_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->b, in_type, s.K, s.M, s.K));
  else CG_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->b, in_type, s.M, s.K, s.M));
  const cudaDataType_t out_type = bf16_ && s.out_act ? CUDA_R_16BF : CUDA_R_32F;
  CG_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->d, out_type, s.N, s.M, s.N));
  set_batch(p->a, s.batch, s.strideB);
  set_batch(p->b, s.batch, s.strideA);
  set_batch(p->d, s.batch, s.strideD);

  cublasLtMatmulPreference_t pref;
  CG_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  CG_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes_, sizeof workspace_bytes_));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  CG_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle_, p->op, p->a, p->b, p->d, p->d, pref, 1,
                                                 &result, &found));
  cublasLtMatmulPreferenceDestroy(pref);
  if (found == 0) {
    delete p;
    throw std::runtime_error("cuBLASLt: no algorithm for a " + std::to_string(s.M) + "x" +
                             std::to_string(s.N) + "x" + std::to_string(s.K) + " product");
  }
  p->algo = result.algo;
  plans_[key] = p;
  return *p;
}

void Gemm::run(void* D, const void* A, const void* B, const GemmShape& s, float alpha, float beta,
               cudaStream_t stream) {
  Plan& p = plan(s, beta != 0.0f);
  CG_CUBLAS_CHECK(cublasLtMatmul(handle_, p.op, &alpha, B, p.a, A, p.b, &beta, D, p.d, D, p.d,
                                 &p.algo, workspace_, workspace_bytes_, stream));
}

}  // namespace causalgen::cuda
