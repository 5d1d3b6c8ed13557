"""The CPU backend: a whole compiled function as one C++ CPython extension module."""
