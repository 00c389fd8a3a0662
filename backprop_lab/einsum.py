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


def einsum(spec, *operands):
    """Differentiable ``np.einsum`` for any explicit or implicit spec NumPy accepts (ellipsis included).

    >>> C = einsum("ij,jk->ik", A, B)     # matrix product
    >>> t = einsum("ii->", A)             # trace
    """
    tensors = [x if isinstance(x, Tensor) else Tensor(x) for x in operands]
    inputs, output = parse(spec, [t.shape for t in tensors])
    return Einsum.apply(*tensors, inputs=tuple(inputs), output=output)


class Einsum(Function):
    """$out = \\mathrm{einsum}(inputs \\to output)$; backward swaps each operand's subscripts with the output's."""

    @staticmethod
    def forward(ctx, *arrays, inputs, output):
        ctx.save_for_backward(*arrays)
        spec = ",".join(inputs) + "->" + output
        return array_module(*arrays).einsum(spec, *arrays, optimize=len(arrays) > 2)

    @staticmethod
    def backward(ctx, g):
        arrays, inputs, output = ctx.saved, ctx.kwargs["inputs"], ctx.kwargs["output"]
        return tuple(
            operand_grad(g, arrays, inputs, output, i) if needed else None
            for i, needed in enumerate(ctx.needs_input_grad))


def operand_grad(g, arrays, inputs, output, i):
    """dL/d(operand i): einsum of g with the other operands, output subscripts = operand i's."""
    xp = array_module(g, *arrays)
    target = inputs[i]
    others = [s for j, s in enumerate(inputs) if j != i]
    other_arrays = [a for j, a in enumerate(arrays) if j != i]
    sizes = letter_sizes(inputs, [a.shape for a in arrays])

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
