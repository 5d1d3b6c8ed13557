"""canonicalize pass (being written)."""

from symcomp.optimize.engine import Pass

canonicalize = Pass("canonicalize", strategy="fixed_point")
