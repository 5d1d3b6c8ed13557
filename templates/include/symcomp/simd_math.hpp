// Declares glibc's vector math (libmvec) variants of the libm functions, so that loops
// calling std::exp, std::sin, ... vectorize (calls to _ZGVdN4v_exp etc.).
//
// glibc's <math.h> only declares these variants under -ffast-math, which symcomp never
// uses (it changes NaN and infinity semantics). Redeclaring the functions with GCC's simd
// attribute gives the vectorizer the same knowledge without it. libmvec is documented with a
// maximum error of 4 ulp and handles NaN, infinities and out-of-range arguments like the
// scalar functions. The attribute needs no -fopenmp.
#pragma once

#include <cmath>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) && \
    !defined(SYMCOMP_NO_LIBMVEC)
#define SC_VEC __attribute__((simd("notinbranch")))
// The parameter is not called f: `f##f` would paste it twice (expexp), leaving every float
// function without its vector variants.
#define SC_VEC1(fn) SC_VEC double fn(double) noexcept; SC_VEC float fn##f(float) noexcept;
#define SC_VEC2(fn) \
  SC_VEC double fn(double, double) noexcept; SC_VEC float fn##f(float, float) noexcept;
extern "C" {
// In libmvec since glibc 2.22.
SC_VEC1(exp) SC_VEC1(log) SC_VEC1(sin) SC_VEC1(cos) SC_VEC2(pow)
#if __GLIBC_PREREQ(2, 35)
SC_VEC1(acos) SC_VEC1(acosh) SC_VEC1(asin) SC_VEC1(asinh) SC_VEC1(atan) SC_VEC1(atanh)
SC_VEC1(cbrt) SC_VEC1(cosh) SC_VEC1(erf) SC_VEC1(erfc) SC_VEC1(exp10) SC_VEC1(exp2)
SC_VEC1(expm1) SC_VEC1(log10) SC_VEC1(log1p) SC_VEC1(log2) SC_VEC1(sinh) SC_VEC1(tan)
SC_VEC1(tanh) SC_VEC2(atan2) SC_VEC2(hypot)
#endif
}
#undef SC_VEC2
#undef SC_VEC1
#undef SC_VEC
#endif
