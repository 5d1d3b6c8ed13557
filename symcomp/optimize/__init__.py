"""Graph rewriting: declared rules in named passes, run in one explicit pipeline."""

from symcomp.optimize.engine import Pass, RewriteError
from symcomp.optimize.mode import Mode
from symcomp.optimize.pattern import const, pat, var
from symcomp.optimize.pipeline import DEFAULT, rewrite

__all__ = ["DEFAULT", "Mode", "Pass", "RewriteError", "const", "pat", "rewrite", "var"]
