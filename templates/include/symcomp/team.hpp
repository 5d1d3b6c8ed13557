// symcomp/team.hpp: the thread team of a kernel over independent items (images, planes),
// chosen from the work size, as the elementwise loops choose by openmp_elemwise_minsize.
//
// team_size gives 1, and run_team then calls the body directly without entering any OpenMP
// region (even an `if (false)` region costs about a microsecond), unless the call is
// outside other parallel code, there are at least two items, and each thread gets at least
// `min_work_per_thread` units of work: the team never has more threads than items or than
// work / min_work_per_thread, so a call just above the threshold wakes two threads, not all.
#pragma once

#include <cstdint>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace symcomp {

inline int team_size(std::int64_t work, std::int64_t items, std::int64_t min_work_per_thread) {
#ifdef _OPENMP
  if (omp_in_parallel() || min_work_per_thread <= 0) return 1;
  std::int64_t t = omp_get_max_threads();
  if (items < t) t = items;
  if (work / min_work_per_thread < t) t = work / min_work_per_thread;
  return t < 2 ? 1 : static_cast<int>(t);
#else
  (void)work;
  (void)items;
  (void)min_work_per_thread;
  return 1;
#endif
}

// body(k, lo, hi) over items [0, items), split into `threads` (or fewer, if OpenMP gives
// fewer) contiguous ranges, range k in thread k; returns whether every call returned true
// (false: out of memory).
template <class F>
bool run_team(int threads, std::int64_t items, F&& body) {
#ifdef _OPENMP
  if (threads > 1) {
    bool ok = true;
#pragma omp parallel num_threads(threads)
    {
      const std::int64_t k = omp_get_thread_num(), nt = omp_get_num_threads();
      if (!body(static_cast<int>(k), items * k / nt, items * (k + 1) / nt)) {
#pragma omp atomic write
        ok = false;
      }
    }
    return ok;
  }
#endif
  (void)threads;
  return body(0, std::int64_t(0), items);
}

}  // namespace symcomp
