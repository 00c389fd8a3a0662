"""rules.py is seed 001's "Math in one page" table made executable: every Function of the engine has a row
in that table and a gradient check here, and nothing else has a row."""
import numpy as np
import pytest

import backprop_lab as bl
from backprop_lab import rules
from backprop_lab.tensor import Function

from tests.package_modules import import_all

COURSE_SIDE = ("backprop_lab.exercises", "backprop_lab.grading", "backprop_lab.widgets", "backprop_lab.render",
               "backprop_lab.references")   # the notebooks' own Functions (Sqrt, LinearFn, ...): exercises, not rules


def engine_functions():
    """Every Function subclass defined in the package, except on the course side (exercises build
    deliberately wrong Functions)."""
    engine = import_all(skip_prefixes=COURSE_SIDE)
    found, stack = set(), list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__ in engine:
            found.add(cls)
    return sorted(found, key=lambda c: c.__name__)


def table_rows():
    """{rule name: (forward, backward)} from the table in rules.py's docstring."""
    rows = {}
    for line in rules.__doc__.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and not set(cells[0]) <= set("-") and cells[0] != "forward":
            rows[cells[2].split()[0]] = (cells[0], cells[1])
    return rows


RNG = np.random.default_rng(17)


def normal(*shape):
    return RNG.normal(size=shape)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, size=shape)


def away_from_zero(*shape):  # for kinks at 0 (relu): no entry within finite-difference reach of one
    return RNG.uniform(0.2, 2.0, size=shape) * RNG.choice([-1.0, 1.0], size=shape)


MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])
LABELS = np.array([0, 2, 1, 2])

# rule name -> (function of Tensors that applies that rule, input arrays, tolerances for the checks)
CASES = {
    "Add": (lambda a, b: a + b, [normal(3, 4), normal(4)], {}),
    "Mul": (lambda a, b: a * b, [normal(3, 4), normal(3, 1)], {}),
    "Neg": (lambda a: -a, [normal(3)], {}),
    "Reciprocal": (lambda a: rules.Reciprocal.apply(a), [positive(3)], {}),
    "Pow": (lambda a, b: a ** b, [positive(3), normal(3)], {}),
    "Exp": (lambda a: a.exp(), [normal(2, 3)], {}),
    "Log": (lambda a: a.log(), [positive(2, 3)], {}),
    "Tanh": (lambda a: a.tanh(), [normal(4)], {}),
    "ReLU": (lambda a: a.relu(), [away_from_zero(4)], {}),
    "Maximum": (lambda a, b: bl.maximum(a, b), [normal(4), normal(4)], {}),
    "Sum": (lambda a: a.sum(axis=1), [normal(3, 4)], {}),
    "Max": (lambda a: a.max(axis=0), [normal(3, 4)], {}),
    "Reshape": (lambda a: a.reshape(6, 2), [normal(3, 4)], {}),
    "Transpose": (lambda a: a.permute(2, 0, 1), [normal(2, 3, 4)], {}),
    "BroadcastTo": (lambda a: a.broadcast_to((3, 4)), [normal(1, 4)], {}),
    "MatMul": (lambda a, b: a @ b, [normal(3, 4), normal(4, 2)], {}),
    "GetItem": (lambda a: a[[0, 2, 0]], [normal(3, 2)], {}),
    "Minimum": (lambda a, b: bl.minimum(a, b), [normal(4), normal(4)], {}),
    "Min": (lambda a: a.min(axis=1), [normal(3, 4)], {}),
    "Prod": (lambda a: a.prod(axis=0), [np.array([[1.5, 0.0, -2.0], [0.5, 3.0, 0.0], [2.0, -1.0, 0.0]])], {}),
    "Cumsum": (lambda a: a.cumsum(axis=1), [normal(3, 4)], {}),
    "Sigmoid": (lambda a: a.sigmoid(), [normal(3, 4) * 3], {}),
    "Sin": (lambda a: a.sin(), [normal(5)], {}),
    "Cos": (lambda a: a.cos(), [normal(5)], {}),
    "Log1p": (lambda a: a.log1p(), [positive(5) - 0.4], {}),
    "Expm1": (lambda a: a.expm1(), [normal(5)], {}),
    "Erf": (lambda a: a.erf(), [normal(5)], {}),
    "Where": (lambda a, b: bl.where(MASK, a, b), [normal(3, 4), normal(4)], {}),
    "Concatenate": (lambda a, b, c: bl.cat([a, b, c], axis=1), [normal(2, 1), normal(2, 3), normal(2, 2)], {}),
    "Pad": (lambda a: a.pad(((1, 0), (2, 3)), value=7.0), [normal(2, 3)], {}),
    # float32 round-off (about 6e-8) swamps a central difference with eps = 1e-6: use a bigger step
    "Cast": (lambda a: a.float(), [normal(2, 3)], {"eps": 1e-3, "atol": 1e-4, "rtol": 1e-3}),
    "SoftmaxCrossEntropy": (lambda a: bl.nn.cross_entropy(a, LABELS), [normal(4, 3)], {}),
    "Einsum": (lambda a, b: bl.einsum("bij,jk->bki", a, b), [normal(2, 3, 4), normal(4, 5)], {}),
}


def test_every_engine_function_has_a_row_in_the_rules_table_and_a_gradcheck_case():
    names = {cls.__name__ for cls in engine_functions()}
    rows = table_rows()
    assert names, "no Function subclasses found"
    assert not names - rows.keys(), f"rules without a row in rules.py's table: {sorted(names - rows.keys())}"
    assert not rows.keys() - names, f"rows naming no rule: {sorted(rows.keys() - names)}"
    assert not names - CASES.keys(), f"rules without a gradient check here: {sorted(names - CASES.keys())}"
    assert not CASES.keys() - names, f"cases for rules that do not exist: {sorted(CASES.keys() - names)}"


def test_every_rule_has_a_one_line_formula_docstring():
    for cls in engine_functions():
        doc = (cls.__doc__ or "").strip()
        assert doc and "$" in doc.splitlines()[0], f"{cls.__name__}: the docstring should open with its formula"


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_matches_central_differences_and_records_itself(name):
    fn, arrays, tol = CASES[name]
    inputs = [bl.Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*inputs)
    assert out._op == name, f"the case for {name} records {out._op}"
    assert bl.gradcheck(fn, *[a.copy() for a in arrays], **tol)
    if name != "Cast":  # check_graph perturbs by eps=1e-6 inside the float32 Cast itself; gradcheck covers it
        report = bl.check_graph(out)
        assert report.ok, report


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_keeps_float32_gradients_float32(name):
    fn, arrays, _ = CASES[name]
    inputs = [bl.Tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    out = fn(*inputs)
    assert out.dtype == np.float32, f"{name} turned float32 inputs into {out.dtype}"
    out.backward(np.ones(out.shape, np.float32))
    for i, t in enumerate(inputs):
        assert t.grad is not None and t.grad.dtype == np.float32 and t.grad.shape == t.shape, (name, i)
