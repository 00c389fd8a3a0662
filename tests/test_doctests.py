"""The docstring examples of the package run as doctests: an example that has gone stale fails here."""
import doctest
import importlib

import numpy as np
import pytest

from tests.package_modules import import_all

MODULES = sorted(name for name, module in import_all().items()
                 if any(t.examples for t in doctest.DocTestFinder().find(module)))


def test_the_engine_modules_have_examples():
    assert {"backprop_lab", "backprop_lab.tensor", "backprop_lab.value", "backprop_lab.einsum",
            "backprop_lab.autograd", "backprop_lab.creation"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    with np.printoptions(legacy=False):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (run with -s to see)"
