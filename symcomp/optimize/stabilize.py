"""stabilize pass (being written)."""

from symcomp.optimize.engine import Pass

stabilize = Pass("stabilize", strategy="fixed_point")
