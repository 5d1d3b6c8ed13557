/* STREAM-style memory bandwidth: copy (c = a) and triad (a = b + s * c) over arrays far
 * larger than the caches, with OpenMP threads (OMP_NUM_THREADS, default: all cores).
 * Bytes counted as STREAM does (copy 16 B/element, triad 24 B/element, no write-allocate
 * traffic). Usage: stream [n] -> one line "copy_gbs=X triad_gbs=Y n=N threads=T" (best of
 * 10 runs). Built and run by benchmarks/run.py:  cc -O3 -march=native -fopenmp stream.c */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 20000000L;
  double* a = malloc(n * sizeof(double));
  double* b = malloc(n * sizeof(double));
  double* c = malloc(n * sizeof(double));
  if (!a || !b || !c) return 1;
  const double s = 3.0;
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) { a[i] = 1.0; b[i] = 2.0; c[i] = 0.5; }
  double best_copy = 1e30, best_triad = 1e30;
  for (int rep = 0; rep < 10; ++rep) {
    double t = now();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; ++i) c[i] = a[i];
    t = now() - t;
    if (t < best_copy) best_copy = t;
    t = now();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
    t = now() - t;
    if (t < best_triad) best_triad = t;
  }
  int threads = 1;
#ifdef _OPENMP
  threads = omp_get_max_threads();
#endif
  printf("copy_gbs=%.3f triad_gbs=%.3f n=%ld threads=%d check=%g\n", 16.0 * n / best_copy / 1e9,
         24.0 * n / best_triad / 1e9, n, threads, a[n / 2]);
  free(a); free(b); free(c);
  return 0;
}
