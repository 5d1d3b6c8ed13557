// symcomp/reduce.hpp: reductions over any set of axes of an N-d strided array.
//
// Pure C++ (no Python.h): the generated module passes data pointers, shapes and byte strides.
// NumPy semantics: float sums are pairwise (blocks of 128 with 8 partial sums, as NumPy),
// max/min propagate NaN, integer sums/products wrap, argmax/argmin return the first extremum
// (the first NaN if there is one). Results do not depend on the number of threads: work is
// split into chunks whose boundaries depend only on the shape.
//
// The element to reduce comes from a "map": a small struct computing it from the input
// pointers, so `sum(f(x, y))` reads x and y once (a fused reduction) with the same driver:
//
//   struct SquareMap {
//     static constexpr int nin = 1;
//     using type = double;                                  // the accumulation type
//     bool unit(const std::int64_t* s) const { return symcomp::unit<double>(s); }
//     template <bool C>
//     double get(const char* const* p, const std::int64_t* s, std::int64_t i) const {
//       const double a = symcomp::rd<double, C>(p[0], s[0], i);
//       return a * a;
//     }
//   };
//
// `get<C>` returns element i along the innermost reduced or kept dim whose byte strides are
// s[k]; with C true every input is known to be contiguous there (s[k] == itemsize), which
// lets the compiler vectorize.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace symcomp {

using i64 = std::int64_t;

// Below this many elements a reduction runs on one thread (thread start-up costs ~us).
constexpr i64 kReduceMinParallel = 1 << 16;
constexpr int kMaxReduceDims = 64;

// Element i of a strided (C = false) or contiguous (C = true) array starting at p.
template <class T, bool C>
inline T rd(const char* p, i64 s, i64 i) {
  if constexpr (C) {
    return reinterpret_cast<const T*>(p)[i];
  } else {
    return *reinterpret_cast<const T*>(p + i * s);
  }
}

// Whether the byte strides s[0..] are the item sizes of Ts... (contiguous along that dim).
template <class... Ts>
inline bool unit(const i64* s) {
  i64 sizes[] = {static_cast<i64>(sizeof(Ts))...};
  for (std::size_t k = 0; k < sizeof...(Ts); ++k) {
    if (s[k] != sizes[k]) return false;
  }
  return true;
}

// The plain map: input 0 converted to Acc (bool conversion is `!= 0`, NaN counting as true).
template <class In, class Acc>
struct CastMap {
  static constexpr int nin = 1;
  using type = Acc;
  bool unit(const i64* s) const { return symcomp::unit<In>(s); }
  template <bool C>
  Acc get(const char* const* p, const i64* s, i64 i) const {
    return static_cast<Acc>(rd<In, C>(p[0], s[0], i));
  }
};

namespace detail {
// Integer arithmetic that wraps like NumPy's instead of overflowing (undefined in C++).
template <class T>
inline T wrap_add(T a, T b) {
  return static_cast<T>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
template <class T>
inline T wrap_mul(T a, T b) {
  return static_cast<T>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}
template <class T>
constexpr bool is_int = std::is_integral_v<T> && !std::is_same_v<T, bool>;
}  // namespace detail

// Combiners: the identity, how two partial results combine, and whether the combination is
// rounded (then the driver sums pairwise for accuracy).
template <class T>
struct SumOp {
  using type = T;
  static constexpr bool pairwise = std::is_floating_point_v<T>;
  static T identity() { return T(0); }
  static T combine(T a, T b) {
    if constexpr (detail::is_int<T>) {
      return detail::wrap_add(a, b);
    } else if constexpr (std::is_same_v<T, bool>) {
      return a | b;
    } else {
      return a + b;
    }
  }
};

template <class T>
struct ProdOp {
  using type = T;
  static constexpr bool pairwise = std::is_floating_point_v<T>;
  static T identity() { return T(1); }
  static T combine(T a, T b) {
    if constexpr (detail::is_int<T>) {
      return detail::wrap_mul(a, b);
    } else if constexpr (std::is_same_v<T, bool>) {
      return a & b;
    } else {
      return a * b;
    }
  }
};

template <class T>
struct MaxOp {
  using type = T;
  static constexpr bool pairwise = false;
  static T identity() {
    if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
    return std::numeric_limits<T>::lowest();
  }
  // A NaN in either operand wins (NumPy's maximum): b != b is true only for NaN.
  static T combine(T a, T b) { return (b > a || b != b) ? b : a; }
};

template <class T>
struct MinOp {
  using type = T;
  static constexpr bool pairwise = false;
  static T identity() {
    if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
    return std::numeric_limits<T>::max();
  }
  static T combine(T a, T b) { return (b < a || b != b) ? b : a; }
};

struct AllOp {
  using type = bool;
  static constexpr bool pairwise = false;
  static bool identity() { return true; }
  static bool combine(bool a, bool b) { return a & b; }
};

struct AnyOp {
  using type = bool;
  static constexpr bool pairwise = false;
  static bool identity() { return false; }
  static bool combine(bool a, bool b) { return a | b; }
};

@@DRIVER@@