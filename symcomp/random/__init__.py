"""Random streams (``sc.random.RandomStream``): counter-based (Philox4x32-10) draws whose
states live in shared variables, identical in py and native modes."""

from symcomp.random.op import Binomial, Choice, Integers, Normal, RandomVariable, Uniform
from symcomp.random.stream import RandomStream

__all__ = ["Binomial", "Choice", "Integers", "Normal", "RandomStream", "RandomVariable", "Uniform"]
