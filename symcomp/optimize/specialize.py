"""specialize pass (being written)."""

from symcomp.optimize.engine import Pass

specialize = Pass("specialize", strategy="fixed_point")
