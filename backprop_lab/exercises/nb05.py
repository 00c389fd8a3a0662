"""Checks for notebook 05, Einstein notation: einsum strings and gradients derived in index notation.

Spec answers are checked by *evaluating* them with ``np.einsum`` on random arrays whose
index sizes all differ, so a transposed output or a misplaced subscript changes the shape
and the hint can say which subscripts to fix. The gradients of exercises 05.4 and 05.5 are
compared with a brute-force oracle: einsum is linear in each operand, so the gradient entry
at ``idx`` is sum(G * einsum(spec, ..., E_idx, ...)) for the one-hot array E_idx.
"""
from __future__ import annotations

import re

import numpy as np

from . import hints
from .framework import Exercise, Mismatch, run_watching
from .nb04 import MUTATED

ENGINE = ("Your function called the engine's {names}, which computes this gradient for you: the exercise is to "
          "derive it in index notation and compute it yourself with np.einsum or NumPy. (The engine is what "
          "the notebook checks your answer against afterwards.)")

EXPLORER = ("Your function called the einsum explorer's {names}, which works out the backward spec for you: the "
            "exercise is to build that spec yourself from the rule of section 4 (the explorer is there to compare "
            "with, by hand).")

NOT_AN_ARRAY = ("A gradient is returned as a NumPy array of its operand's shape (np.einsum and NumPy's operators "
                "give one); yours is a {kind}. A list has no shape or dtype, and arithmetic on it means something else "
                "(`+` joins two lists, `*` repeats one).")

# ----------------------------------------------------------------------------- evaluating specs


def evaluate(spec, arrays):
    """``np.einsum(spec, *arrays)`` as plain data: the array, or {"error": message} when NumPy refuses."""
    try:
        return np.asarray(np.einsum(spec, *arrays), dtype=np.float64)
    except Exception as exc:  # a malformed spec is a wrong answer with a hint, not a crash
        return {"error": f"{type(exc).__name__}: {exc}"}


# What is wrong with a spec (``spec_problems``, ``spec_mismatch``): each hint is followed by the index formula
SPEC_HINTS = {
    "not_a_string": "A spec is a string such as 'ij,j->i'; received {kind}.",
    "empty": ("The spec is empty. Write one group of subscripts per operand, separated by commas, then '->' and the "
              "output's subscripts."),
    "groups": ("The spec has {n} operand group(s) before '->' but there are {operands} operands ({listed}): one "
               "comma-separated group per operand, in that order."),
    "subscripts": ("Operand {name} has shape {shape}, so it needs {ndim} subscript(s) (e.g. '{subs}'); the spec gives "
                   "it '{group}'."),
    "sizes": ("Index '{c}' is used for an axis of size {other_n} in {other} and of size {n} in {name}: one letter "
              "names one index, so it must have one size. The same letter in two operands means 'multiply these "
              "entries together'."),
    "no_arrow": ("The spec has no '->', so NumPy chose the output itself: the letters used once, in alphabetical "
                 "order. Write the output explicitly; the result must have shape {want_shape}."),
    "output_axes": ("The result must have shape {want_shape} ({ndim} axes), so it needs {ndim} subscript(s) after "
                    "'->'; the spec has '{out}'. Letters left out of the output are summed over."),
    "repeated_output": ("The output subscripts '{out}' repeat '{c}': each output letter names one axis of the result, "
                        "so it may appear there only once (NumPy refuses the spec). A letter repeated on the INPUT "
                        "side is what multiplies or sums."),
    "refused": "NumPy could not apply this spec to the operands.",
    "output_order": ("The output subscripts '{out}' are in the wrong order: their order is the order of the result's "
                     "axes. {formula}"),
    "output_letters": "The output subscripts decide the result's axes; letters left out are summed. {formula}",
}


def spec_problems(spec, operands, want_shape):
    """What is structurally wrong with ``spec`` for ``operands`` = [(name, subscripts, shape)]; "" if nothing."""
    if not isinstance(spec, str):
        return SPEC_HINTS["not_a_string"].format(kind=type(spec).__name__)
    if not spec.strip():
        return SPEC_HINTS["empty"]
    lhs, arrow, out = spec.replace(" ", "").partition("->")
    groups = lhs.split(",")
    listed = ", ".join(f"{n} {s}" for n, _, s in operands)
    if len(groups) != len(operands):
        return SPEC_HINTS["groups"].format(n=len(groups), operands=len(operands), listed=listed)
    for (name, subs, shape), group in zip(operands, groups):
        if len(group) != len(shape):
            return SPEC_HINTS["subscripts"].format(name=name, shape=shape, ndim=len(shape), subs=subs, group=group)
    sizes = {}
    for (name, subs, shape), group in zip(operands, groups):
        for c, n in zip(group, shape):
            if sizes.setdefault(c, (n, name))[0] != n:
                other_n, other = sizes[c]
                return SPEC_HINTS["sizes"].format(c=c, other_n=other_n, other=other, n=n, name=name)
    if not arrow:
        return SPEC_HINTS["no_arrow"].format(want_shape=want_shape)
    repeated = [c for c in dict.fromkeys(out) if out.count(c) > 1]
    if repeated:
        return SPEC_HINTS["repeated_output"].format(out=out, c=repeated[0])
    if len(out) != len(want_shape):
        return SPEC_HINTS["output_axes"].format(want_shape=want_shape, ndim=len(want_shape), out=out)
    return ""


def spec_mismatch(what, spec, got, want, operands, formula):
    """A Mismatch for one spec answer (``got`` from ``evaluate``), or None when it is right."""
    want = np.asarray(want, dtype=np.float64)
    structural = spec_problems(spec, operands, want.shape)
    if isinstance(got, dict):  # NumPy refused the spec
        return Mismatch(f"{what}: np.einsum({spec!r}, ...) raised {got['error']}",
                        (structural or SPEC_HINTS["refused"]) + f" {formula}")
    if got.shape != want.shape:
        lhs, _, out = spec.replace(" ", "").partition("->")
        msg = f"{what}: np.einsum({spec!r}, ...) has shape {got.shape}, expected {want.shape}"
        if structural:
            return Mismatch(msg, f"{structural} {formula}")
        if sorted(got.shape) == sorted(want.shape):
            return Mismatch(msg, SPEC_HINTS["output_order"].format(out=out, formula=formula))
        return Mismatch(msg, SPEC_HINTS["output_letters"].format(formula=formula))
    if np.allclose(got, want, rtol=1e-6, atol=1e-8):
        return None
    hint = hints.diagnose(got, want)
    return Mismatch(f"{what}: np.einsum({spec!r}, ...) gives {hints.short_repr(got)}, expected {hints.short_repr(want)}",
                    (hint + " " if hint not in ("", hints.CLOSE) else "") + (structural or formula))


# ----------------------------------------------------------------------------- 05.1 einsum strings

IMPLICIT = ("The values are right, but the exercise asks for an explicit output, after '->'. Without it NumPy "
            "picks the output itself (the letters used once, in alphabetical order), which happens to fit here "
            "but says nothing of the order you mean: rename a letter and '{spec}' may silently transpose its "
            "result. The backward rule of section 4 also needs the output's letters written out.")

# name: (operands as (name, subscripts, size letters), the result as index formula, reference)
OPERATIONS = {
    "matmul": ([("A", "ij", "IJ"), ("B", "jk", "JK")], "C_ik = Σ_j A_ij B_jk", lambda A, B: A @ B),
    "batched_matmul": ([("A", "nij", "NIJ"), ("B", "njk", "NJK")], "C_nik = Σ_j A_nij B_njk", lambda A, B: A @ B),
    "transpose": ([("A", "ij", "IJ")], "C_ji = A_ij", lambda A: A.T),
    "trace": ([("A", "ii", "II")], "t = Σ_i A_ii (a number)", np.trace),
    "outer": ([("u", "i", "I"), ("v", "j", "J")], "C_ij = u_i v_j", np.outer),
    "bilinear": ([("x", "i", "I"), ("A", "ij", "IJ"), ("y", "j", "J")], "f = Σ_ij x_i A_ij y_j (a number)",
                 lambda x, A, y: x @ A @ y),
    "attention_scores": ([("Q", "ntd", "NTD"), ("K", "nsd", "NSD")],
                         "S_nts = Σ_d Q_ntd K_nsd (every query against every key, per batch element)",
                         lambda Q, K: Q @ np.swapaxes(K, -1, -2)),
}


# the index formula of each operation, as the hints of 05.1 quote it
INDEX_FORMS = {name: f"Index form: {formula}." for name, (_, formula, _) in OPERATIONS.items()}

SPECS_HINTS = {
    "not_a_dict": "Write a dict with the keys {keys}.",
    "trace_diagonal": ("'{spec}' keeps i in the output, so it returns the diagonal A_ii. The trace sums the diagonal "
                       "into one number."),
    "transpose_implicit": ("Without '->', NumPy orders the output letters alphabetically, so '{spec}' gives A itself. "
                           "Write the output explicitly, its letters in the order the result's axes must have."),
    "transpose_identity": ("The output subscripts equal the input's, which is the identity. A transpose exchanges "
                           "the order of the two axes."),
    "missing": "Fill in a spec for every operation.",
}


def _operand_shapes(letters, sizes):
    return tuple(sizes[c] for c in letters)


class EinsumSpecs(Exercise):

    def cases(self, rng):
        cases = []
        for sizes in ({"N": 2, "I": 3, "J": 4, "K": 5, "T": 3, "S": 4, "D": 5},
                      dict(zip("NIJKTSD", (int(n) for n in rng.permutation(np.arange(2, 9))[:7])))):
            case = {"sizes": sizes}
            for name, (operands, _, _) in OPERATIONS.items():
                case[name] = [rng.normal(size=_operand_shapes(letters, sizes)) for _, _, letters in operands]
            cases.append(case)
        return cases

    def run(self, obj, case):
        if not isinstance(obj, dict):
            return {"__not_a_dict__": type(obj).__name__}
        if all(obj.get(name) is None for name in OPERATIONS):
            raise NotImplementedError("Exercise 05.1: fill in one einsum spec per operation")
        return {name: None if obj.get(name) is None else {"spec": obj[name], "value": evaluate(obj[name], case[name])}
                for name in OPERATIONS}

    def expected(self, case):
        return {name: ref(*case[name]) for name, (_, _, ref) in OPERATIONS.items()}

    def describe(self, case):
        sizes = case["sizes"]
        return "operand shapes: " + "; ".join(
            f"{name}: " + ", ".join(f"{n} {_operand_shapes(letters, sizes)}" for n, _, letters in ops)
            for name, (ops, _, _) in OPERATIONS.items())

    def compare(self, got, want, case):
        if not isinstance(got, dict) or "__not_a_dict__" in got:
            return Mismatch(f"einsum_specs should be a dict from operation name to spec string, received "
                            f"{got.get('__not_a_dict__') if isinstance(got, dict) else type(got).__name__}",
                            SPECS_HINTS["not_a_dict"].format(keys=list(OPERATIONS)))
        todo = []
        for name, (ops, _, _) in OPERATIONS.items():
            answer = got.get(name)
            if answer is None:
                todo.append(name)
                continue
            operands = [(n, subs, _operand_shapes(letters, case["sizes"])) for n, subs, letters in ops]
            value = answer["value"]
            if not isinstance(answer["spec"], str):
                return Mismatch(f"{name}: the spec must be a string, received {hints.short_repr(answer['spec'])}",
                                hints.TYPE_HINT)
            m = spec_mismatch(name, answer["spec"], value, want[name], operands, INDEX_FORMS[name])
            if m is None and "->" not in answer["spec"]:
                return Mismatch(f"{name}: '{answer['spec']}' has no '->', so its output is implicit",
                                IMPLICIT.format(spec=answer["spec"]))
            if m is None:
                continue
            out = answer["spec"].replace(" ", "").partition("->")[2]
            if name == "trace" and isinstance(value, np.ndarray) and value.ndim == 1:
                m.hint = SPECS_HINTS["trace_diagonal"].format(spec=answer["spec"])
            if name == "transpose" and "->" not in answer["spec"]:
                m.hint = SPECS_HINTS["transpose_implicit"].format(spec=answer["spec"])
            elif name == "transpose" and out and out == answer["spec"].split("->")[0]:
                m.hint = SPECS_HINTS["transpose_identity"]
            return m
        if todo:
            return Mismatch(f"the specs for {todo} are missing or still None (the others are right)",
                            SPECS_HINTS["missing"])
        return None


# ----------------------------------------------------------------------------- 05.2 the backward spec of matmul

MATMUL_SPEC_HINTS = {
    "not_a_pair": ("Write a tuple of two strings: the spec for dA = einsum(spec_dA, G, B) and the spec for "
                   "dB = einsum(spec_dB, A, G)."),
    "missing": "Fill in both specs.",
    # how each gradient's spec is found (followed by "." in a hint)
    "dA": ("∂L/∂A_ij = Σ_k G_ik B_jk (section 2): the operands are G ('ik') and B ('jk'), the output is A's "
           "subscripts 'ij'"),
    "dB": ("Derive ∂C_ik/∂B_pq as section 2 did for A, and let the Kronecker deltas rename the indices; the operands "
           "are passed as (A, G), so the spec's first group is A's subscripts, its second G's, and its output B's"),
    "other_order": ("Your spec for {name} is right for the operands in the other order, but the check computes "
                    "{order}. The input groups of a spec name the operands in the order they are passed."),
    "transposed": ("{name} comes out transposed: the output subscripts of a gradient are its variable's, in its order "
                   "— {var} is '{subs}'. {formula}."),
}


class MatmulBackwardSpecs(Exercise):

    def cases(self, rng):
        cases = []
        for I, J, K in [(2, 3, 4), (5, 3, 2), tuple(int(n) for n in rng.permutation(np.arange(2, 8))[:3])]:
            cases.append({"A": rng.normal(size=(I, J)), "B": rng.normal(size=(J, K)), "G": rng.normal(size=(I, K))})
        return cases

    def run(self, obj, case):
        if not isinstance(obj, (tuple, list)) or len(obj) != 2:
            return {"__bad__": hints.short_repr(obj)}
        spec_a, spec_b = obj
        return ({"spec": spec_a, "value": evaluate(spec_a, [case["G"], case["B"]])},
                {"spec": spec_b, "value": evaluate(spec_b, [case["A"], case["G"]])})

    def expected(self, case):
        return case["G"] @ case["B"].T, case["A"].T @ case["G"]

    def describe(self, case):
        return f"A {case['A'].shape}, B {case['B'].shape}, G = dL/dC {case['G'].shape}"

    def compare(self, got, want, case):
        if isinstance(got, dict):
            return Mismatch(f"expected a pair of spec strings (spec_dA, spec_dB), received {got['__bad__']}",
                            MATMUL_SPEC_HINTS["not_a_pair"])
        A, B, G = case["A"].shape, case["B"].shape, case["G"].shape
        parts = [("dA", [("G", "ik", G), ("B", "jk", B)], "ij", "A", MATMUL_SPEC_HINTS["dA"]),
                 ("dB", [("A", "ij", A), ("G", "ik", G)], "jk", "B", MATMUL_SPEC_HINTS["dB"])]
        swapped = {"dA": (case["B"], case["G"], "dA = einsum(spec_dA, G, B): G first, then B"),
                   "dB": (case["G"], case["A"], "dB = einsum(spec_dB, A, G): A first, then G")}
        for (name, operands, subs, var, formula), answer, w in zip(parts, got, want):
            if answer["spec"] is None:
                return Mismatch(f"{name}: the spec is still None", MATMUL_SPEC_HINTS["missing"])
            if not isinstance(answer["spec"], str):
                return Mismatch(f"{name}: the spec must be a string, received {hints.short_repr(answer['spec'])}",
                                hints.TYPE_HINT)
            m = spec_mismatch(name, answer["spec"], answer["value"], w, operands, formula + ".")
            if m is None and "->" not in answer["spec"]:
                return Mismatch(f"{name}: '{answer['spec']}' has no '->', so its output is implicit",
                                IMPLICIT.format(spec=answer["spec"]))
            if m is None:
                continue
            value = answer["value"]
            first, second, order = swapped[name]
            # e.g. 'ik,ij->jk' for dB, section 4's G-first form: the output letters are right, the order is not
            other_order = (evaluate(answer["spec"], [first, second])
                           if answer["spec"].split("->")[-1] == subs else None)
            if isinstance(other_order, np.ndarray) and other_order.shape == w.shape and np.allclose(other_order, w):
                m.hint = MATMUL_SPEC_HINTS["other_order"].format(name=name, order=order)
                return m
            if isinstance(value, np.ndarray) and value.shape == w.shape[::-1]:
                m.hint = MATMUL_SPEC_HINTS["transposed"].format(name=name, var=var, subs=subs, formula=formula)
            return m
        return None


# ----------------------------------------------------------------------------- 05.3 gradient of the quadratic form

QUADRATIC_HINTS = {
    "not_a_pair": "Return both gradients: `return dA, dx`.",
    "twice": ("x appears twice in x_i A_ij x_j, so its gradient has one term per appearance, added (section 3's "
              "x_i x_i): rename the appearances a_i A_ij b_j and differentiate with respect to each"),
    "dx_first": "{twice}. Your dx is only the term of the first appearance, a.",
    "dx_second": "{twice}. Your dx is only the term of the second appearance, b.",
    "dx_2Ax": ("Your dx is 2 A x: the terms of the two appearances are equal only when A is symmetric, and this A is "
               "not. {twice}."),
    "dx_2ATx": ("Your dx is 2 Aᵀx: the terms of the two appearances are equal only when A is symmetric, and this A is "
                "not. {twice}."),
    "dA_twice": ("Your dA is twice the right one. Each A_ij appears once in x_i A_ij x_j, so its gradient has one term "
                 "and no factor 2 (the 2 of x_i x_i came from x appearing twice)."),
    "dA_half": ("Your dA is half the right one. Each A_ij appears once in x_i A_ij x_j, multiplied by x_i x_j: its "
                "gradient is that product, with no factor 1/2."),
    "dA_is_A": ("Your dA is A itself: the gradient of f with respect to A_ij is the factor that multiplies A_ij in "
                "x_i A_ij x_j, which does not involve A."),
    "order": "You returned (dx, dA): the order is (dA, dx).",
    "inner": ("For a 1-D array, x.T is x itself, so x @ x.T is the inner product Σ_i x_i x_i, one number. dA has one "
              "entry per pair (i, j), like an OUTER product of two vectors."),
    "dx_shape": ("dx must have x's shape. `*` multiplies entry by entry (x is broadcast along the rows) and keeps both "
                 "axes; a term summed over j, like Σ_j A_kj x_j, is a matrix-vector product, or an einsum that leaves "
                 "j out of the output."),
    "other": ("Differentiate f = x_i A_ij x_j entry by entry: with respect to A_kl, then with respect to x_k, one "
              "term for each appearance of x, as section 3 did for x_i x_i."),
}


class QuadraticFormGrad(Exercise):

    def cases(self, rng):
        fixed = [{"A": np.array([[1.0, 2.0], [0.0, 3.0]]), "x": np.array([1.0, -1.0])}]
        return fixed + [{"A": rng.normal(size=(n, n)), "x": rng.normal(size=n)} for n in (3, 4, 5)]

    def run(self, obj, case):
        from ..tensor import Tensor

        A, x = case["A"].copy(), case["x"].copy()
        out, engine = run_watching([Tensor.backward], lambda: obj(A, x))
        if engine:
            return {"__engine__": engine, "at": hints.short_repr(case)}
        changed = [n for n, a in (("A", A), ("x", x)) if not np.array_equal(a, case[n])]
        if changed:
            return {"__mutated__": changed, "at": hints.short_repr(case)}    # "at": one answer per case
        return tuple(out) if isinstance(out, (tuple, list)) else out

    def compare(self, got, want, case):
        A, x = case["A"], case["x"]
        if isinstance(got, dict) and "__engine__" in got:
            return engine_mismatch(got)
        if isinstance(got, dict) and "__mutated__" in got:
            names = " and ".join(got["__mutated__"])
            return Mismatch(f"after the call, {names} no longer held the values it was given",
                            MUTATED.format(names=names))
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return Mismatch(f"expected a pair (dA, dx), received {hints.short_repr(got)}",
                            QUADRATIC_HINTS["not_a_pair"])
        twice = QUADRATIC_HINTS["twice"]
        dx_suspects = [(QUADRATIC_HINTS[key].format(twice=twice), wrong)
                       for key, wrong in (("dx_first", A @ x), ("dx_second", A.T @ x), ("dx_2Ax", 2 * A @ x),
                                          ("dx_2ATx", 2 * A.T @ x))]
        dA_suspects = [(QUADRATIC_HINTS["dA_twice"], 2 * np.outer(x, x)),
                       (QUADRATIC_HINTS["dA_half"], np.outer(x, x) / 2),
                       (QUADRATIC_HINTS["dA_is_A"], A)]
        n = x.shape[0]
        for name, v in zip(("dA", "dx"), got):
            if isinstance(v, (list, tuple)):
                return Mismatch(f"{name}: expected a NumPy array, received a {type(v).__name__}",
                                NOT_AN_ARRAY.format(kind=type(v).__name__))
        dA, dx = (np.asarray(v) if isinstance(v, (np.ndarray, float, int, np.number)) else None for v in got)
        if dA is not None and dx is not None and dA.shape == (n,) and dx.shape == (n, n):
            return Mismatch(f"the first answer has x's shape {(n,)} and the second A's shape {(n, n)}",
                            QUADRATIC_HINTS["order"])
        if dA is not None and dA.shape == () and np.isclose(float(dA), x @ x):
            return Mismatch(f"dA: expected shape {(n, n)}, received the number {float(dA):.6g} = x @ x",
                            QUADRATIC_HINTS["inner"])
        if dx is not None and dx.shape == (n, n):
            return Mismatch(f"dx: expected shape {(n,)} (x's shape), received shape {dx.shape}",
                            QUADRATIC_HINTS["dx_shape"])
        m = (hints.compare_values(got[0], want[0], where="dA", suspects=dA_suspects)
             or hints.compare_values(got[1], want[1], where="dx", suspects=dx_suspects))
        if m is not None:   # a formula of arrays, not a graph: no "`+=` at a fork" hints
            m.hint = hints.plain_value_hint(m.hint, QUADRATIC_HINTS["other"])
        return m


def engine_mismatch(got):
    names = " and ".join(got["__engine__"])
    if all(name in EXPLORER_FUNCTIONS for name in got["__engine__"]):
        return Mismatch(f"your function called the einsum explorer's {names}", EXPLORER.format(names=names))
    return Mismatch(f"your function called the engine's {names}", ENGINE.format(names=names))


EXPLORER_FUNCTIONS = ("backward_spec", "explain")      # the explorer's functions that give a backward spec away


# ----------------------------------------------------------------------------- 05.4 / 05.5 einsum backward

def oracle_grad(spec, operands, grad, i):
    """dL/d(operand i) by brute force: einsum is linear in operand i, so probe it with one-hot arrays."""
    x = operands[i]
    out = np.zeros_like(x, dtype=np.float64)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x, dtype=np.float64)
        e[idx] = 1.0
        probe = list(operands)
        probe[i] = e
        out[idx] = np.sum(grad * np.einsum(spec, *probe))
    return out


def make_case(rng, spec, i):
    """Random operands for ``spec`` (every letter its own size) and a random upstream gradient."""
    from ..widgets.einsum_explorer import explain

    info = explain(spec)
    order = rng.permutation(len(info["sizes"]))
    sizes = {c: int(2 + k) for c, k in zip(info["sizes"], order)}
    operands = [rng.normal(size=tuple(sizes[c] for c in subs)) for subs in info["inputs"]]
    grad = rng.normal(size=tuple(sizes[c] for c in info["output"]))
    return {"spec": spec, "operands": operands, "grad": grad, "i": i}


AXES_MISMATCH = re.compile(r"more dimensions than subscripts|too many subscripts|fewer dimensions|"
                           r"cannot reshape|not enough dimensions|input operand has more dimensions")
SIZE_MISMATCH = re.compile(r"remapped shapes")              # np.einsum: one letter, axes of different sizes
BROADCAST_MISMATCH = re.compile(r"requested shape")     # np.broadcast_to (its message says "remapped" too)
SIZE_HINT = ("In the einsum your code built, one letter names axes of different sizes: check that each group of "
             "letters belongs to the array passed in its place (grad's group first, if grad is passed first).")
BROADCAST_HINT = ("np.broadcast_to aligns shapes from the right, like every broadcast: to spread a result along a "
                  "letter that is not the last one, the result first needs a size-1 axis in that letter's place.")


EINSUM_BACKWARD_HINTS = {
    # the backward rule of this case, after every hint: "rule" with "broadcast" and "diagonal" where they apply
    "rule": "For operand {i} of {spec!r} the rule gives einsum('{back}', {args}){broadcast}{diagonal}.",
    "broadcast": ", then broadcast along '{letters}'",
    "diagonal": ", then placed on the diagonal of '{letters}'",
    "mutated_list": ("Your function changed the list operands (pop, del, remove, insert or an assignment into it): the "
                     "list belongs to the caller, so leave it as it is and collect what you need into a list of your "
                     "own.{again}"),
    "again": (" A backward pass calls such a function once per operand, with the same list and the same grad each "
              "time (bl.einsum calls its operand_grad so)."),
    "axis_order": ("Right numbers in the wrong axis order: the output subscripts of the backward einsum must be "
                   "operand {i}'s own, '{subs}', in that order. {rule}"),
    "shape": "A gradient has the shape of its operand: the backward einsum's output subscripts are '{subs}'. {rule}",
    "other_operands": ("The gradient of operand i is an einsum of grad with every OTHER operand: all of them, each "
                       "with its own subscripts, and not operand i itself. {rule}"),
    "no_others": ("Your gradient leaves out the other operands: it is what the rule gives when every other operand is "
                  "all ones. The gradient of operand {i} is grad combined with EVERY other operand, each with its "
                  "own subscripts (only operand {i} itself is left out)."),
    "no_grad": ("Your gradient does not use grad as it should: it is what the rule gives for an upstream gradient of "
                "all ones. grad is one of the backward einsum's inputs (the chain rule multiplies by it), with the "
                "output's subscripts."),
    "print_spec": ("Print the spec your code builds and the shapes of the arrays you pass it, for the failing case "
                   "shown above."),
    "axes": ("An array passed to np.einsum (or reshaped) has a different number of axes than the spec gives it "
             "letters. Print the spec your code builds and the .shape of each array it passes: grad has one axis per "
             "output letter, each operand one per letter of its group."),
    "lonely": ("Index '{lonely}' appears only in operand {i} ('{target}'): it was summed away in the forward pass, so "
               "it is in none of the backward einsum's inputs. Every entry along it got the same gradient, so the "
               "result can be computed without it and spread back along it."),
    "groups": ("Check the backward spec's input groups: grad's subscripts first, then the other operands', in the "
               "order the arrays are passed, each group with one letter per axis of its array."),
    "off_diagonal": ("Off-diagonal entries got a gradient, but '{target}' reads only entries with equal '{letter}' "
                     "indices: the rest never touched the loss and get 0. A Kronecker delta (section 5) writes a "
                     "gradient onto the diagonal only."),
    "diagonal_twice": ("The diagonal got twice its gradient. Each diagonal entry A_ii is one number, read once; the "
                       "'add it twice' rule of x_i x_i is for one tensor used as two operands."),
    "distinct_shape": (" A common cause here: the gradient for the distinct letters came back with the shape of the "
                       "ORIGINAL operand. einsum_backward reads operand i's shape from operands[i], so when you call it "
                       "with the spec rewritten to the distinct letters ('ii' -> 'i'), the operand i you pass must "
                       "have one axis per distinct letter too (its values do not matter: the gradient of a linear map "
                       "does not depend on the operand itself)."),
    "repeated_output": ("An output subscript may not repeat: einsum cannot write onto a diagonal directly. Compute the "
                        "gradient for the distinct indices first, then place it on the diagonal with a Kronecker "
                        "delta, as section 5 did for 'ii->i'."),
}


class _EinsumBackward(Exercise):
    SPECS: list[tuple[str, int]] = []
    RANDOM: list[tuple[str, int]] = []

    def cases(self, rng):
        picks = [self.RANDOM[k] for k in rng.choice(len(self.RANDOM), 3, replace=False)]
        return [make_case(rng, spec, i) for spec, i in self.SPECS + picks]

    def run(self, obj, case):
        from ..einsum import operand_grad
        from ..widgets.einsum_explorer import backward_spec

        operands = [a.copy() for a in case["operands"]]
        given, grad = list(operands), case["grad"].copy()
        try:
            out, engine = run_watching([operand_grad, backward_spec],
                                       lambda: obj(case["spec"], operands, grad, case["i"]))
        except ValueError as exc:
            if "einstein sum" in str(exc) or "subscript" in str(exc):  # NumPy refused an einsum the learner built
                return {"error": f"ValueError: {exc}", "at": self.describe(case)}
            raise
        if engine:
            return {"__engine__": engine, "at": self.describe(case)}
        if len(operands) != len(given) or any(a is not b for a, b in zip(operands, given)):
            return {"__mutated__": ["operands"], "list": True, "at": self.describe(case)}
        changed = [f"operands[{j}]" for j, (a, b) in enumerate(zip(operands, case["operands"]))
                   if not np.array_equal(a, b)] + (["grad"] if not np.array_equal(grad, case["grad"]) else [])
        return {"__mutated__": changed, "at": self.describe(case)} if changed else out

    def expected(self, case):
        return oracle_grad(case["spec"], case["operands"], case["grad"], case["i"])

    def describe(self, case):
        shapes = ", ".join(str(a.shape) for a in case["operands"])
        return f"spec {case['spec']!r}, operand shapes {shapes}, grad shape {case['grad'].shape}, i={case['i']}"

    def rule(self, case):
        from ..widgets.einsum_explorer import explain

        back = explain(case["spec"])["backward"][case["i"]]
        args = ", ".join(["grad"] + [f"operands[{j}]" for j in range(len(case["operands"])) if j != case["i"]])
        hint = EINSUM_BACKWARD_HINTS
        return hint["rule"].format(
            i=case["i"], spec=case["spec"], back=back["spec"], args=args,
            broadcast=hint["broadcast"].format(letters=back["broadcast"]) if back["broadcast"] else "",
            diagonal=hint["diagonal"].format(letters=back["diagonal"]) if back["diagonal"] else "")

    def compare(self, got, want, case):
        i, spec = case["i"], case["spec"]
        subs = spec.split("->")[0].split(",")[i]
        shape = case["operands"][i].shape
        if isinstance(got, dict) and "__engine__" in got:
            return engine_mismatch(got)
        if isinstance(got, dict) and "error" in got:
            return Mismatch(f"NumPy refused the einsum your code built: {got['error']}",
                            self.numpy_error_hint(got["error"], case) + " " + self.rule(case))
        if isinstance(got, dict) and "__mutated__" in got:
            names = " and ".join(got["__mutated__"])
            again = EINSUM_BACKWARD_HINTS["again"]
            if got.get("list"):
                return Mismatch("after the call, the list operands no longer held the arrays it was given",
                                EINSUM_BACKWARD_HINTS["mutated_list"].format(again=again))
            return Mismatch(f"after the call, {names} no longer held what it was given",
                            MUTATED.format(names=names) + again)
        if isinstance(got, (list, tuple)):
            return Mismatch(f"expected an array of shape {shape}, received a {type(got).__name__}",
                            NOT_AN_ARRAY.format(kind=type(got).__name__))
        g = hints._to_array(got)
        if g is None or g.dtype == object:
            return Mismatch(f"expected an array of shape {shape}, received {hints.short_repr(got)}",
                            hints.NONE_HINT if got is None else hints.TYPE_HINT)
        if g.shape != shape:
            msg = f"the gradient of operand {i} (subscripts '{subs}') must have its shape {shape}; received {g.shape}"
            if sorted(g.shape) == sorted(shape):
                return Mismatch(msg, EINSUM_BACKWARD_HINTS["axis_order"].format(i=i, subs=subs, rule=self.rule(case)))
            return Mismatch(msg, EINSUM_BACKWARD_HINTS["shape"].format(subs=subs, rule=self.rule(case)))
        if np.allclose(g, want, rtol=1e-6, atol=1e-8):
            return None
        msg = f"expected {hints.short_repr(want)}, received {hints.short_repr(g)}"
        special = self.value_hint(g, want, case) or self.missing_input_hint(g, want, case)
        if special:
            return Mismatch(msg, special + " " + self.rule(case))
        hint = hints.plain_value_hint(hints.diagnose(g, want), "")    # arrays, not a graph of nodes with .grad
        if hint in ("", hints.CLOSE):
            return Mismatch(msg, EINSUM_BACKWARD_HINTS["other_operands"].format(rule=self.rule(case)))
        return Mismatch(msg, hint + " " + self.rule(case))

    @staticmethod
    def missing_input_hint(g, want, case):
        """Name an input the learner's gradient left out: the other operands, or grad (each replaced by ones)."""
        spec, operands, grad, i = case["spec"], case["operands"], case["grad"], case["i"]
        ones = [a if j == i else np.ones_like(a) for j, a in enumerate(operands)]
        if len(operands) > 1 and np.allclose(g, oracle_grad(spec, ones, grad, i), rtol=1e-6, atol=1e-8):
            return EINSUM_BACKWARD_HINTS["no_others"].format(i=i)
        if grad.size > 1 and np.allclose(g, oracle_grad(spec, operands, np.ones_like(grad), i), rtol=1e-6, atol=1e-8):
            return EINSUM_BACKWARD_HINTS["no_grad"]
        return ""

    def error_hint(self, exc):
        """A hint for an exception the learner's code raised (shown under its traceback)."""
        text = str(exc)
        if AXES_MISMATCH.search(text):
            return self.axes_hint()
        if BROADCAST_MISMATCH.search(text):
            return BROADCAST_HINT
        if SIZE_MISMATCH.search(text):
            return SIZE_HINT
        return hints.error_hint(exc) or EINSUM_BACKWARD_HINTS["print_spec"]

    def axes_hint(self):
        return EINSUM_BACKWARD_HINTS["axes"]

    def numpy_error_hint(self, error, case):
        """A hint for an einsum that NumPy refused (the learner's code built it; ``error`` is NumPy's message)."""
        i, spec = case["i"], case["spec"]
        inputs, output = spec.split("->")[0].split(","), spec.split("->")[1]
        target = inputs[i]
        available = set(output).union(*[s for j, s in enumerate(inputs) if j != i])
        lonely = "".join(c for c in dict.fromkeys(target) if c not in available)
        if lonely and "never appeared" in error:
            return EINSUM_BACKWARD_HINTS["lonely"].format(lonely=lonely, i=i, target=target)
        if AXES_MISMATCH.search(error):
            return self.axes_hint()
        if SIZE_MISMATCH.search(error):
            return SIZE_HINT
        return EINSUM_BACKWARD_HINTS["groups"]

    def value_hint(self, g, want, case):
        return ""


class EinsumBackward(_EinsumBackward):

    SPECS = [("ij,jk->ik", 0), ("ij,jk->ik", 1), ("i,j->ij", 1), ("ij->ji", 0), ("ij->i", 0), ("i,i->", 0),
             ("bij,bjk->bik", 1), ("ij,j->i", 1), ("i,ij,j->", 1)]
    RANDOM = [("bqd,bkd->bqk", 0), ("bqd,bkd->bqk", 1), ("ijk->kj", 0), ("ij,kj->ik", 1), ("ijk,k->", 0),
              ("i,j,k->ijk", 2), ("abc,cd->abd", 0)]


class EinsumBackwardRepeated(_EinsumBackward):

    SPECS = [("ii->i", 0), ("ii->", 0), ("ii,i->i", 0), ("ij,jj->i", 1), ("bii->bi", 0), ("ij,jk->ik", 0),
             ("ij->i", 0)]
    RANDOM = [("iij->j", 0), ("ii,i->i", 1), ("ii,jj->ij", 1), ("bii->b", 0), ("ij,jj->i", 0)]

    def value_hint(self, g, want, case):
        i, spec = case["i"], case["spec"]
        target = spec.split("->")[0].split(",")[i]
        repeated = sorted(c for c in set(target) if target.count(c) > 1)
        if not repeated:
            return ""
        off = want == 0
        if np.any(g[off] != 0):
            return EINSUM_BACKWARD_HINTS["off_diagonal"].format(target=target, letter=repeated[0])
        on = ~off
        if np.allclose(g[on], 2 * want[on]):
            return EINSUM_BACKWARD_HINTS["diagonal_twice"]
        return ""

    def axes_hint(self):
        return super().axes_hint() + EINSUM_BACKWARD_HINTS["distinct_shape"]

    def numpy_error_hint(self, error, case):
        if "multiple times" in error:
            return EINSUM_BACKWARD_HINTS["repeated_output"]
        return super().numpy_error_hint(error, case)

