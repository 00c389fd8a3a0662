"""``einsum`` with its backward read straight off Einstein notation.

For ``out = einsum("ij,jk->ik", A, B)``, i.e. out_ik = sum_j A_ij B_jk, the
gradient of a loss L with respect to one operand is the einsum of the upstream
gradient G = dL/dout with the *other* operands, whose output subscripts are
*that operand's* subscripts:

    dL/dA_ij = sum_k G_ik B_jk   ->   einsum("ik,jk->ij", G, B)

That is the whole rule: swap the output's subscripts with the operand's. Two
refinements handle the rest of what NumPy accepts:

- an index that appears only in this operand was summed away in the forward
  pass, so each of its entries gets the same gradient: compute without it, then
  broadcast along it;
- a repeated index in the operand ("ii->i", "ii->") reads the diagonal: its
  gradient lands on the diagonal. Write the second "i" as a new letter "I" and
  multiply by the Kronecker delta δ_iI (an identity matrix) to put it there.
"""
from __future__ import annotations

import string

import numpy as np

from .backend import array_module
from .tensor import Function, Tensor


def einsum(*args, optimize=None):
    """Differentiable ``np.einsum`` for every spec NumPy accepts.

    Explicit and implicit output, ellipses, repeated letters (diagonals, traces), letters
    of size 1 broadcast against a larger size, and NumPy's sublist form
    ``einsum(A, [0, 1], B, [1, 2], [0, 2])``. ``optimize`` is passed on to NumPy for the
    forward pass; NumPy's ``out=`` has no equivalent (an autograd result is a new tensor).

    >>> from backprop_lab import Tensor
    >>> A = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> einsum("ii->", A)                 # the trace
    Tensor(5., requires_grad=True, op=Einsum)
    >>> einsum("ij,jk->ik", A, A).data    # A @ A
    array([[ 7., 10.],
           [15., 22.]])
    """
    spec, operands = _spec_and_operands(args)
    tensors = [x if isinstance(x, Tensor) else Tensor(x) for x in operands]
    inputs, output = parse(spec, [t.shape for t in tensors])
    return Einsum.apply(*tensors, inputs=tuple(inputs), output=output, optimize=optimize)


def _spec_and_operands(args):
    """("ij,jk->ik", [A, B]) from either form: einsum(spec, *operands) or NumPy's sublists
    einsum(A, [0, 1], B, [1, 2], [0, 2]), whose integers 0..51 stand for letters a..z, A..Z."""
    if not args:
        raise TypeError("einsum() needs a spec and operands, e.g. einsum('ij,jk->ik', A, B)")
    if isinstance(args[0], str):
        return args[0], args[1:]
    pairs, output = (args[:-1], args[-1]) if len(args) % 2 else (args, None)  # odd: the output's sublist last
    operands, subscripts = pairs[0::2], pairs[1::2]

    def letters(sub):
        try:
            return "".join("..." if i is Ellipsis else string.ascii_letters[i] for i in sub)
        except (TypeError, IndexError):
            raise ValueError(f"einsum: a sublist holds integers 0..51 (or Ellipsis), got {sub!r}") from None

    spec = ",".join(letters(s) for s in subscripts)
    return (spec if output is None else spec + "->" + letters(output)), operands


class Einsum(Function):
    """$out = \\mathrm{einsum}(inputs \\to output)$; backward swaps each operand's subscripts with the output's."""

    @staticmethod
    def forward(ctx, *arrays, inputs, output, optimize=None):
        ctx.save_for_backward(*arrays)
        spec = ",".join(inputs) + "->" + output
        optimize = len(arrays) > 2 if optimize is None else optimize
        return array_module(*arrays).einsum(spec, *arrays, optimize=optimize)

    @staticmethod
    def backward(ctx, g):
        arrays, inputs, output = ctx.saved, ctx.kwargs["inputs"], ctx.kwargs["output"]
        return tuple(
            operand_grad(g, arrays, inputs, output, i) if needed else None
            for i, needed in enumerate(ctx.needs_input_grad))


def operand_grad(g, arrays, inputs, output, i):
    """dL/d(operand i): einsum of g with the other operands, output subscripts = operand i's.

    A letter of size 1 in an operand but larger elsewhere was broadcast: the other operands are
    broadcast to the full sizes first, and the gradient comes back at full size; the driver's
    ``unbroadcast`` then sums it over that operand's size-1 letters, as for any broadcast.
    """
    xp = array_module(g, *arrays)
    target = inputs[i]
    sizes = letter_sizes(inputs, [a.shape for a in arrays])
    others = [s for j, s in enumerate(inputs) if j != i]
    other_arrays = [xp.broadcast_to(a, [sizes[c] for c in s]) for j, (a, s) in enumerate(zip(arrays, inputs)) if j != i]

    available = set(output).union(*others) if others else set(output)
    unique = "".join(dict.fromkeys(target))              # "ii" -> "i"
    reachable = "".join(c for c in unique if c in available)
    grad = xp.einsum(",".join([output] + others) + "->" + reachable, g, *other_arrays,
                     optimize=len(other_arrays) > 1)

    # indices summed away in the forward pass only inside this operand: broadcast along them
    if reachable != unique:
        grad = xp.broadcast_to(grad.reshape([sizes[c] if c in reachable else 1 for c in unique]),
                               [sizes[c] for c in unique])
    # repeated indices: place the gradient on the diagonal with Kronecker deltas
    if unique != target:
        subs, deltas, fresh = [], [], iter(c for c in string.ascii_letters if c not in target)
        seen = set()
        for c in target:
            if c in seen:
                new = next(fresh)
                subs.append(new)
                deltas.append((c + new, xp.eye(sizes[c], dtype=g.dtype)))
            else:
                seen.add(c)
                subs.append(c)
        grad = xp.einsum(",".join([unique] + [d for d, _ in deltas]) + "->" + "".join(subs),
                         grad, *[e for _, e in deltas])
    return grad


def letter_sizes(inputs, shapes):
    """The size of every index letter, from the operands' shapes."""
    sizes = {}
    for subs, shape in zip(inputs, shapes):
        for c, n in zip(subs, shape):
            if sizes.get(c, 1) == 1:
                sizes[c] = n
    return sizes


def parse(spec, shapes):
    """Split ``spec`` into one subscript string per operand and the output's, all explicit.

    Ellipses become fresh capital letters (right-aligned, as broadcasting does) and an
    implicit output (no "->") becomes the indices used once, in alphabetical order.
    Errors name the spec and what is wrong with it.
    """
    spec = spec.replace(" ", "")
    if spec.count("->") > 1 or spec.replace("...", "").count(".") or any(
            term.count("...") > 1 for term in spec.replace("->", ",").split(",")):
        raise ValueError(f"einsum('{spec}'): use at most one '->' and at most one '...' per operand")
    if "->" in spec:
        lhs, output = spec.split("->")
        explicit = True
    else:
        lhs, output, explicit = spec, "", False
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum('{spec}'): the spec has {len(inputs)} operand(s) but {len(shapes)} were given")
    used = set(spec) - set(".,->")
    bad = sorted(c for c in used if c not in string.ascii_letters)
    if bad:
        raise ValueError(f"einsum('{spec}'): subscripts must be letters, found {bad}")
    spare = [c for c in string.ascii_uppercase[::-1] + string.ascii_lowercase[::-1] if c not in used]
    ell_ndim = 0
    for subs, shape in zip(inputs, shapes):
        n_letters = len(subs.replace("...", ""))
        if "..." in subs:
            ell_ndim = max(ell_ndim, len(shape) - n_letters)
        elif n_letters != len(shape):
            raise ValueError(f"einsum('{spec}'): operand '{subs}' has {n_letters} subscript(s) but its shape "
                             f"{shape} has {len(shape)} dimension(s)")
    ell = "".join(spare[:ell_ndim])
    expanded = []
    for subs, shape in zip(inputs, shapes):
        if "..." in subs:
            k = len(shape) - len(subs.replace("...", ""))
            subs = subs.replace("...", ell[ell_ndim - k:] if k else "")
        expanded.append(subs)
    if explicit:
        output = output.replace("...", ell)
    else:
        counts = {}
        for c in "".join(s.replace("...", "") for s in lhs.split(",")):
            counts[c] = counts.get(c, 0) + 1
        output = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    missing = sorted(set(output) - set("".join(expanded)))
    if missing:
        raise ValueError(f"einsum('{spec}'): output subscripts {missing} appear in no operand")
    sizes = {}
    for subs, shape in zip(expanded, shapes):
        for c, n in zip(subs, shape):
            if c in sizes and n != sizes[c] and 1 not in (n, sizes[c]):
                raise ValueError(f"einsum('{spec}'): index '{c}' has size {sizes[c]} in one place and {n} in "
                                 "another; the same index must have the same size everywhere")
            sizes[c] = n if sizes.get(c, 1) == 1 else sizes[c]
    return expanded, output
