"""Import every module of the package (for the tests that walk them: rules table, doctests)."""
import importlib
import pkgutil
import sys

import backprop_lab as bl


def import_all(skip_prefixes=()):
    """{name: module} for every importable module of backprop_lab, except those under ``skip_prefixes``.

    ``backprop_lab.doctor`` is left alone unless something imported it already: the package exposes the
    *function* ``doctor`` lazily under the same name, and importing the module here would rebind
    ``bl.doctor`` for every later test in this process (it holds no Function and no docstring example).
    """
    names = ["backprop_lab"] + [m.name for m in pkgutil.walk_packages(bl.__path__, "backprop_lab.")]
    modules = {}
    for name in names:
        if name.startswith(tuple(skip_prefixes)) or name == "backprop_lab.__main__":
            continue
        if name == "backprop_lab.doctor" and name not in sys.modules:
            continue
        try:
            modules[name] = importlib.import_module(name)
        except ImportError:  # an optional dependency (CuPy, ...) is missing
            continue
    return modules
