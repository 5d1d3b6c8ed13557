"""Shared test setup."""

import os
import shutil
import tempfile

# A private compile cache for this test process, set before anything imports symcomp
# (symcomp.config reads SYMCOMP_CACHE_DIR once, at import).
_CACHE_DIR = tempfile.mkdtemp(prefix="symcomp-test-cache-")
os.environ["SYMCOMP_CACHE_DIR"] = _CACHE_DIR


def pytest_unconfigure(config):
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)


def pytest_configure(config):
    # Every pass of every compiled function is followed by a graph-invariant check in tests.
    import symcomp.optimize.pipeline as pipeline

    pipeline.CHECK_AFTER_EACH_PASS = True


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/codegen/golden/*.cpp from the current code generator",
    )
