"""einsum: forward equals NumPy's, backward equals central differences, over a table of specs."""
import numpy as np
import pytest

import backprop_lab as bl
from backprop_lab.einsum import parse

SPECS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),      # matmul
    ("ij,jk", [(2, 3), (3, 4)]),          # implicit output
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),  # batched matmul
    ("ij->ji", [(2, 3)]),                 # transpose
    ("ii->", [(3, 3)]),                   # trace (repeated index)
    ("ii->i", [(3, 3)]),                  # diagonal
    ("ii", [(3, 3)]),                     # implicit trace
    ("i,j->ij", [(3,), (4,)]),            # outer product
    ("i,i->", [(4,), (4,)]),              # dot
    ("i,ij,j->", [(3,), (3, 4), (4,)]),   # bilinear form
    ("qd,kd->qk", [(2, 4), (3, 4)]),      # attention scores
    ("ij->", [(2, 3)]),                   # sum of all
    ("ij->i", [(2, 3)]),                  # index summed away in one operand only
    ("ij,k->ik", [(2, 3), (4,)]),         # j summed in A only
    ("...ij,jk->...ik", [(2, 2, 3), (3, 2)]),  # ellipsis
    ("...i,...i->...", [(2, 3), (3,)]),   # ellipsis with broadcasting
    ("iij->ij", [(2, 2, 3)]),             # repeated index with a free one
    ("ij,ij->ij", [(2, 3), (2, 3)]),      # Hadamard
    ("i,i->i", [(3,), (3,)]),
    ("ijk->kji", [(2, 3, 4)]),
]


@pytest.mark.parametrize("spec,shapes", SPECS, ids=[s for s, _ in SPECS])
def test_einsum_forward_and_backward(spec, shapes):
    rng = np.random.default_rng(0)
    ts = [bl.Tensor(rng.normal(size=s), requires_grad=True) for s in shapes]
    np.testing.assert_allclose(bl.einsum(spec, *ts).data, np.einsum(spec, *[t.data for t in ts]))
    assert bl.gradcheck(lambda *xs: bl.einsum(spec, *xs), *ts)


def test_repeated_operand_gets_both_shares():
    """x_i x_i: the same tensor twice, the gradient 2x (seed 000's gotcha)."""
    x = bl.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    bl.einsum("i,i->", x, x).backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)


def test_quadratic_form_gradient_is_A_plus_AT_x():
    rng = np.random.default_rng(1)
    A = bl.Tensor(rng.normal(size=(3, 3)))
    x = bl.Tensor(rng.normal(size=3), requires_grad=True)
    bl.einsum("i,ij,j->", x, A, x).backward()
    np.testing.assert_allclose(x.grad, (A.data + A.data.T) @ x.data)


def test_diagonal_gradient_lands_on_the_diagonal():
    A = bl.Tensor(np.ones((3, 3)), requires_grad=True)
    (bl.einsum("ii->i", A) * bl.Tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(A.grad, np.diag([1.0, 2.0, 3.0]))


def test_parse_expands_implicit_and_ellipsis():
    assert parse("ij,jk", [(2, 3), (3, 4)]) == (["ij", "jk"], "ik")
    inputs, out = parse("...ij->...ji", [(5, 2, 3)])
    assert len(inputs[0]) == 3 and out == inputs[0][0] + "ji"


@pytest.mark.parametrize("spec,shapes,message", [
    ("ij,jk->ik", [(2, 3)], "has 2 operand"),
    ("ij->ik", [(2, 3)], r"output subscripts \['k'\] appear in no operand"),
    ("ijk->i", [(2, 3)], "has 3 subscript"),
    ("ij,jk->ik", [(2, 3), (4, 5)], "index 'j' has size 3 in one place and 4"),
    ("i1->i", [(2, 3)], "subscripts must be letters"),
])
def test_einsum_errors_name_the_problem(spec, shapes, message):
    with pytest.raises(ValueError, match=message):
        bl.einsum(spec, *[bl.Tensor(np.ones(s)) for s in shapes])
