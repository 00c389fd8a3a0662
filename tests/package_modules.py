"""Import every module of the package (for the tests that walk them: rules table, doctests)."""
import importlib
import pkgutil

import backprop_lab as bl


def import_all(skip_prefixes=()):
    """{name: module} for every importable module of backprop_lab, except those under ``skip_prefixes``."""
    names = ["backprop_lab"] + [m.name for m in pkgutil.walk_packages(bl.__path__, "backprop_lab.")]
    modules = {}
    for name in names:
        if name.startswith(tuple(skip_prefixes)) or name == "backprop_lab.__main__":
            continue
        try:
            modules[name] = importlib.import_module(name)
        except ImportError:  # an optional dependency (CuPy, ...) is missing
            continue
    return modules
