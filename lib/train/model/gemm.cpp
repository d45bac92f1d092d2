#include "train/model/gemm.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <type_traits>

namespace causalgen::train {

namespace {
int g_threads = 1;

// Rows of C per block: small products stay in one call.
constexpr int kMinRowsPerThread = 32;

template <class F>
void split_rows(int M, F&& f) {
  const int nt = std::min(g_threads, std::max(1, M / kMinRowsPerThread));
  if (nt <= 1 || omp_in_parallel()) {
    f(0, M);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int i = 0; i < nt; ++i) {
    const int r0 = static_cast<int>(int64_t(M) * i / nt);
    const int r1 = static_cast<int>(int64_t(M) * (i + 1) / nt);
    if (r1 > r0) f(r0, r1);
  }
}

inline void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, const float* A,
                 int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}
inline void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, const double* A,
                 int lda, const double* B, int ldb, double beta, double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, 1.0, A, lda, B, ldb, beta, C, ldc);
}
}  // namespace

void set_threads(int n) {
  g_threads = std::max(1, n);
  omp_set_num_threads(g_threads);
  openblas_set_num_threads(1);
}

int threads() { return g_threads; }

int default_threads() { return std::max(1, omp_get_num_procs()); }

template <class T>
void gemm_nt(T* C, const T* A, const T* B, int M, int N, int K, T beta) {
  split_rows(M, [&](int r0, int r1) {
    gemm(CblasNoTrans, CblasTrans, r1 - r0, N, K, A + size_t(r0) * K, K, B, K, beta,
         C + size_t(r0) * N, N);
  });
}

template <class T>
void gemm_nn(T* C, const T* A, const T* B, int M, int N, int K, T beta) {
  split_rows(M, [&](int r0, int r1) {
    gemm(CblasNoTrans, CblasNoTrans, r1 - r0, N, K, A + size_t(r0) * K, K, B, N, beta,
         C + size_t(r0) * N, N);
  });
}

template <class T>
void gemm_tn(T* C, const T* A, const T* B, int M, int N, int K, T beta) {
  split_rows(M, [&](int r0, int r1) {
    gemm(CblasTrans, CblasNoTrans, r1 - r0, N, K, A + r0, M, B, N, beta, C + size_t(r0) * N, N);
  });
}

template <class T>
void gemm_one(bool ta, bool tb, int M, int N, int K, T alpha, const T* A, int lda, const T* B,
              int ldb, T beta, T* C, int ldc) {
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
template void gemm_one<float>(bool, bool, int, int, int, float, const float*, int, const float*,
                              int, float, float*, int);
template void gemm_one<double>(bool, bool, int, int, int, double, const double*, int,
                               const double*, int, double, double*, int);

template void gemm_nt<float>(float*, const float*, const float*, int, int, int, float);
template void gemm_nn<float>(float*, const float*, const float*, int, int, int, float);
template void gemm_tn<float>(float*, const float*, const float*, int, int, int, float);
template void gemm_nt<double>(double*, const double*, const double*, int, int, int, double);
template void gemm_nn<double>(double*, const double*, const double*, int, int, int, double);
template void gemm_tn<double>(double*, const double*, const double*, int, int, int, double);

}  // namespace causalgen::train
