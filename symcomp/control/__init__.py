"""Control flow: loops over an inner graph (map, scan) and lazy conditionals (ifelse)."""

from symcomp.control.ifelse import ifelse
from symcomp.control.scan import scan

__all__ = ["ifelse", "scan"]
