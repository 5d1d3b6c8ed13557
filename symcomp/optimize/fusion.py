"""fusion pass (being written)."""

from symcomp.optimize.engine import Pass

fusion = Pass("fusion", strategy="fixed_point")
