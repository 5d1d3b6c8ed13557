"""Loading a compiled extension module from a path, outside ``sys.modules``.

Every generated module has the same init function (``PyInit_symcomp_module``); each file gets its
own spec, so several of them load side by side in one process. They are not inserted into
``sys.modules``: the cache holds them.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["MODULE_NAME", "load_extension"]

MODULE_NAME = "symcomp_module"


def load_extension(path: str | Path, module_name: str = MODULE_NAME) -> ModuleType:
    """Load the extension module file ``path`` whose init function is ``PyInit_<module_name>``.

    Raises ``ImportError`` when the file is missing, is not a loadable shared object
    (truncated, corrupt, wrong architecture) or lacks the init function.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportError(f"extension module {str(path)!r} does not exist", path=str(path))
    loader = importlib.machinery.ExtensionFileLoader(module_name, str(path))
    spec = importlib.util.spec_from_file_location(module_name, str(path), loader=loader)
    if spec is None:  # pragma: no cover - only for paths importlib cannot describe
        raise ImportError(f"cannot make an import spec for {str(path)!r}", path=str(path))
    # Single-phase init stores the module in sys.modules under its (shared) name: undo that,
    # the cache holds the module.
    previous = sys.modules.get(module_name)
    try:
        module = importlib.util.module_from_spec(spec)  # dlopen + PyInit happen here
        spec.loader.exec_module(module)
    finally:
        if previous is None:
            sys.modules.pop(module_name, None)
        else:
            sys.modules[module_name] = previous
    return module
