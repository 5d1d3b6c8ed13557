"""blas pass (being written)."""

from symcomp.optimize.engine import Pass

blas = Pass("blas", strategy="fixed_point")
