// Matrix products for the trainer (row-major, BLAS sgemm/dgemm) and the
// trainer's thread setting. OpenBLAS itself runs single-threaded; a product
// is split into contiguous row blocks of C, one per OpenMP thread (static),
// so each element of C is computed by one BLAS call whose blocking depends
// only on the shapes and the thread count: results are reproducible for a
// given thread count.
#pragma once
#include <cstdint>

namespace causalgen::train {

// Threads for OpenMP loops and the split products (>= 1). Also pins OpenBLAS
// to one thread per call.
void set_threads(int n);
int threads();
// All cores (OpenMP's count of processors).
int default_threads();

// C[M,N] = A[M,K] . B[N,K]^T  + beta C
template <class T>
void gemm_nt(T* C, const T* A, const T* B, int M, int N, int K, T beta);
// C[M,N] = A[M,K] . B[K,N]    + beta C
template <class T>
void gemm_nn(T* C, const T* A, const T* B, int M, int N, int K, T beta);
// C[M,N] = A[K,M]^T . B[K,N]  + beta C
template <class T>
void gemm_tn(T* C, const T* A, const T* B, int M, int N, int K, T beta);

// One BLAS call in the calling thread, general strides (row-major):
// C[M,N] = alpha op(A) op(B) + beta C, op = transpose when ta / tb.
template <class T>
void gemm_one(bool ta, bool tb, int M, int N, int K, T alpha, const T* A, int lda, const T* B,
              int ldb, T beta, T* C, int ldc);

}  // namespace causalgen::train
