"""Notebook 05's checks accept the reference and reject a catalogue of known-wrong implementations,
each with the hint that names its mistake; the einsum explorer's bookkeeping is right."""
import numpy as np

import backprop_lab as bl

from backprop_lab.references import nb05 as ref05
import pytest

from backprop_lab.exercises import check, nb05
from backprop_lab.widgets import einsum_explorer


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.setenv("BACKPROP_LAB_STRICT", "0")


def verdict(exercise_id, obj):
    result = check(exercise_id, obj, record=False)
    problem = result.first_problem
    if problem is None:
        return result.status, "", ""
    if problem.mismatch is None:
        return result.status, problem.error, problem.error
    return result.status, problem.mismatch.hint, problem.mismatch.message


# ----------------------------------------------------------------------------- reference solutions

SPECS = ref05.einsum_specs
einsum_backward, einsum_backward_repeated = ref05.einsum_backward, ref05.einsum_backward_repeated


def test_references_pass():
    assert verdict("05.1", SPECS)[0] == "pass"
    assert verdict("05.2", ref05.matmul_backward_specs)[0] == "pass"
    assert verdict("05.3", ref05.quadratic_form_grad)[0] == "pass"
    assert verdict("05.4", einsum_backward)[0] == "pass"
    assert verdict("05.5", einsum_backward_repeated)[0] == "pass"


def test_the_engines_own_rule_is_refused_with_a_hint():
    """05.4/05.5 ask for the rule the engine implements: handing the work to the engine's operand_grad (imported by
    the notebook's first cell, by any name) or to bl.einsum's backward fails, saying so. 05.3 likewise."""
    from backprop_lab.einsum import operand_grad, parse

    def engine(spec, operands, grad, i):
        inputs, output = parse(spec, [a.shape for a in operands])
        return operand_grad(grad, operands, inputs, output, i)

    def through_backward(spec, operands, grad, i):
        tensors = [bl.Tensor(a, requires_grad=True) for a in operands]
        bl.einsum(spec, *tensors).backward(grad)
        return tensors[i].grad

    def quadratic_by_engine(A, x):
        At, xt = bl.Tensor(A, requires_grad=True), bl.Tensor(x, requires_grad=True)
        bl.einsum("i,ij,j->", xt, At, xt).backward()
        return At.grad, xt.grad

    for exercise_id, fn, name in [("05.4", engine, "operand_grad"), ("05.5", engine, "operand_grad"),
                                  ("05.4", through_backward, "operand_grad"),
                                  ("05.3", quadratic_by_engine, "Tensor.backward")]:
        status, hint, message = verdict(exercise_id, fn)
        assert status == "fail" and f"called the engine's {name}" in message, (exercise_id, message)
        assert "compute it yourself" in hint


def test_not_done_is_todo():
    assert verdict("05.1", None)[0] == "todo"
    assert verdict("05.1", dict.fromkeys(SPECS))[0] == "todo"
    assert verdict("05.2", None)[0] == "todo"


# ----------------------------------------------------------------------------- 05.1 einsum strings

SPECS_WRONG = {
    "blank (the zeros of a spec)": ({k: "" for k in SPECS}, "The spec is empty"),
    "matmul output transposed": ({**SPECS, "matmul": "ij,jk->ki"}, "wrong order"),
    "trace as diagonal": ({**SPECS, "trace": "ii->i"}, "returns the diagonal"),
    "transpose implicit": ({**SPECS, "transpose": "ij"}, "alphabetically"),
    "transpose identity": ({**SPECS, "transpose": "ij->ij"}, "identity"),
    "attention keys first": ({**SPECS, "attention_scores": "ntd,nsd->nst"}, "wrong order"),
    "bilinear with A transposed": ({**SPECS, "bilinear": "i,ji,j->"}, "one size"),
    "outer missing an operand": ({**SPECS, "outer": "i->i"}, "2 operands"),
    "partly done": ({**SPECS, "outer": None}, "Fill in a spec"),
    # walkthrough walk3-b: was told to count the output's subscripts
    "repeated output letter": ({**SPECS, "matmul": "ij,jk->iik"}, "may appear there only once"),
    "trace with the diagonal letter twice": ({**SPECS, "trace": "ii->ii"}, "may appear there only once"),
}


@pytest.mark.parametrize("name", SPECS_WRONG)
def test_specs_wrong_rejected(name):
    answer, expected_hint = SPECS_WRONG[name]
    status, hint, _ = verdict("05.1", answer)
    assert status == "fail"
    assert expected_hint in hint


# ----------------------------------------------------------------------------- 05.2 backward specs of matmul

BACKSPEC_WRONG = {
    "blank": (("", ""), "The spec is empty"),
    "dA transposed": (("ik,jk->ji", "ij,ik->jk"), "comes out transposed"),
    "B indexed as kj": (("ik,kj->ij", "ij,ik->jk"), "Index 'k'"),
    "specs swapped": (("ij,ik->jk", "ik,jk->ij"), "Index"),
    "forward spec reused": (("ij,jk->ik", "ij,jk->ik"), "Index"),
    "dB transposed": (("ik,jk->ij", "ij,ik->kj"), "comes out transposed"),
    "implicit outputs": (("ik,jk", "ij,ik"), "explicit output"),     # right values by NumPy's alphabetical rule
}


@pytest.mark.parametrize("name", BACKSPEC_WRONG)
def test_backward_specs_wrong_rejected(name):
    answer, expected_hint = BACKSPEC_WRONG[name]
    status, hint, _ = verdict("05.2", answer)
    assert status == "fail"
    assert expected_hint in hint


# ----------------------------------------------------------------------------- 05.3 quadratic form

QUAD_WRONG = {
    "zeros": (lambda A, x: (np.zeros_like(A), np.zeros_like(x)), "all zeros"),
    "first term only": (lambda A, x: (np.outer(x, x), A @ x), "only the term of the first appearance"),
    "second term only": (lambda A, x: (np.outer(x, x), A.T @ x), "only the term of the second appearance"),
    "assumes symmetric": (lambda A, x: (np.outer(x, x), 2 * A @ x), "only when A is symmetric"),
    "dA doubled": (lambda A, x: (2 * np.outer(x, x), (A + A.T) @ x), "no factor 2"),
    "sign": (lambda A, x: (np.outer(x, x), -(A + A.T) @ x), "wrong sign"),
    # found by a learner's walkthrough: half was told "use += instead of =", the others got no hint
    "dA halved": (lambda A, x: (np.outer(x, x) / 2, (A + A.T) @ x), "no factor 1/2"),
    "dA = A": (lambda A, x: (A.copy(), (A + A.T) @ x), "does not involve A"),
    "assumes symmetric, transposed": (lambda A, x: (np.outer(x, x), 2 * A.T @ x), "only when A is symmetric"),
    "changes A in place": (lambda A, x: (np.outer(x, x), A.__iadd__(A.T.copy()) @ x), "changed its input A in place"),
}


@pytest.mark.parametrize("name", QUAD_WRONG)
def test_quadratic_wrong_rejected(name):
    impl, expected_hint = QUAD_WRONG[name]
    status, hint, _ = verdict("05.3", impl)
    assert status == "fail"
    assert expected_hint in hint


# ----------------------------------------------------------------------------- 05.4 einsum_backward

def naive_backward(spec, operands, grad, i):
    """The rule without the broadcast refinement: NumPy refuses 'ij->i' (j is in no input)."""
    lhs, output = spec.split("->")
    inputs = lhs.split(",")
    others = [s for j, s in enumerate(inputs) if j != i]
    return np.einsum(",".join([output] + others) + "->" + inputs[i], grad,
                     *[a for j, a in enumerate(operands) if j != i])


def reversed_output(spec, operands, grad, i):
    return np.ascontiguousarray(np.transpose(einsum_backward(spec, operands, grad, i)))


def with_itself(spec, operands, grad, i):
    """Includes operand i among the 'other' operands: the gradient of a linear map does not contain its input."""
    return einsum_backward(spec, operands, grad, i) * operands[i]


def without_grad(spec, operands, grad, i):
    """The rule with grad left out of the einsum (as if the upstream gradient were all ones)."""
    return einsum_backward(spec, operands, np.ones_like(grad), i)


def without_others(spec, operands, grad, i):
    """The rule with the other operands left out (as if each were all ones)."""
    return einsum_backward(spec, [a if j == i else np.ones_like(a) for j, a in enumerate(operands)], grad, i)


EINSUM_BACKWARD_WRONG = {
    "zeros": (lambda spec, operands, grad, i: np.zeros_like(operands[i]), "all zeros", "fail"),
    "no broadcast for summed-away index": (naive_backward, "appears only in operand", "fail"),
    "axes reversed": (reversed_output, "wrong axis order", "fail"),
    "multiplies by itself": (with_itself, "not operand i itself", "fail"),
    "sign": (lambda *a: -einsum_backward(*a), "wrong sign", "fail"),
    # walkthrough walk3-b: both were told to "leave operand i out", which they had done
    "grad left out": (without_grad, "does not use grad", "fail"),
    "other operands left out": (without_others, "leaves out the other operands", "fail"),
}


@pytest.mark.parametrize("name", EINSUM_BACKWARD_WRONG)
def test_einsum_backward_wrong_rejected(name):
    impl, expected_hint, expected_status = EINSUM_BACKWARD_WRONG[name]
    status, hint, _ = verdict("05.4", impl)
    assert status == expected_status
    assert expected_hint in hint


def changing_its_inputs(reference, what):
    """The reference's right answer, from a function that then changes the caller's list or grad (pop(i) to get
    "the other operands", `grad *= ...` to scale it)."""
    def einsum_backward(spec, operands, grad, i):
        out = np.array(reference(spec, list(operands), grad.copy(), i))
        if what == "list":
            operands.pop(i)
        else:
            grad *= 1.5
        return out
    return einsum_backward


MUTATING = {"05.4": einsum_backward, "05.5": einsum_backward_repeated}


@pytest.mark.parametrize("exercise_id", ["05.4", "05.5"])
@pytest.mark.parametrize("what, fragment", [("list", "changed the list operands"),
                                            ("grad", "changed its input grad in place")])
def test_einsum_backward_must_leave_its_inputs_alone(exercise_id, what, fragment):
    """Both passed before a learner's walkthrough: the list and grad are the caller's, reused for every operand."""
    status, hint, _ = verdict(exercise_id, changing_its_inputs(MUTATING[exercise_id], what))
    assert status == "fail" and fragment in hint, hint


def explorer_shortcut(spec, operands, grad, i):
    """Walkthrough walk3-b: passed by letting the notebook's einsum explorer work out the backward spec."""
    back = einsum_explorer.explain(spec)["backward"][i]
    out = np.einsum(back["spec"], grad, *[a for j, a in enumerate(operands) if j != i])
    subs = spec.split("->")[0].split(",")[i]
    return np.broadcast_to(out[tuple(None if c in back["broadcast"] else slice(None) for c in subs)],
                           operands[i].shape)


def test_einsum_backward_may_not_ask_the_explorer():
    status, hint, _ = verdict("05.4", explorer_shortcut)
    assert status == "fail" and "einsum explorer's backward_spec" in hint, hint

    def asks_then_guesses(spec, operands, grad, i):     # 05.5: any use of the explorer is named, whatever follows
        einsum_explorer.explain(spec)
        return np.zeros_like(operands[i])
    status, hint, _ = verdict("05.5", asks_then_guesses)
    assert status == "fail" and "einsum explorer's backward_spec" in hint, hint


def test_einsum_backward_zeros_hint_speaks_of_arrays_not_nodes():
    """The generic "all zeros" hint of the scalar engine ("each node adds its share to .grad") does not fit here."""
    for exercise_id in ("05.4", "05.5"):
        status, hint, _ = verdict(exercise_id, lambda spec, operands, grad, i: np.zeros_like(operands[i]))
        assert status == "fail" and "all zeros" in hint and ".grad" not in hint and "node" not in hint


def test_einsum_backward_hint_gives_the_rule_for_the_failing_case():
    status, hint, _ = verdict("05.4", EINSUM_BACKWARD_WRONG["zeros"][0])
    assert "einsum('ik,jk->ij', grad, operands[1])" in hint


# ----------------------------------------------------------------------------- 05.5 repeated indices

def dense(spec, operands, grad, i):
    """Computes the gradient for the distinct indices, then broadcasts it over the repeated axes
    instead of placing it on the diagonal."""
    lhs, output = spec.split("->")
    inputs = lhs.split(",")
    target = inputs[i]
    unique = "".join(dict.fromkeys(target))
    if unique == target:
        return einsum_backward(spec, operands, grad, i)
    sizes = dict(zip(target, operands[i].shape))
    flat = ",".join(inputs[:i] + [unique] + inputs[i + 1:]) + "->" + output
    g = einsum_backward(flat, operands[:i] + [np.zeros([sizes[c] for c in unique])] + operands[i + 1:], grad, i)
    firsts = [k for k, c in enumerate(target) if target.index(c) == k]
    shape = [sizes[c] if k in firsts else 1 for k, c in enumerate(target)]
    return np.broadcast_to(g.reshape(shape), operands[i].shape).copy()


def doubled_diagonal(spec, operands, grad, i):
    g = einsum_backward_repeated(spec, operands, grad, i)
    lhs = spec.split("->")[0].split(",")[i]
    return 2 * g if len(set(lhs)) != len(lhs) else g


REPEATED_WRONG = {
    "zeros": (lambda spec, operands, grad, i: np.zeros_like(operands[i]), "all zeros"),
    "05.4's rule unchanged": (einsum_backward, "output subscript may not repeat"),
    "fills off-diagonal": (dense, "Off-diagonal entries got a gradient"),
    "diagonal counted twice": (doubled_diagonal, "twice its gradient"),
    # walkthrough walk3-b: 'ii,i->i' answered with np.diag(grad) was told to "leave operand i out"
    "other operands left out": (lambda spec, operands, grad, i: einsum_backward_repeated(
        spec, [a if j == i else np.ones_like(a) for j, a in enumerate(operands)], grad, i),
        "leaves out the other operands"),
}


@pytest.mark.parametrize("name", REPEATED_WRONG)
def test_repeated_wrong_rejected(name):
    impl, expected_hint = REPEATED_WRONG[name]
    status, hint, _ = verdict("05.5", impl)
    assert status == "fail"
    assert expected_hint in hint


# ----------------------------------------------------------------------------- oracle and explorer

@pytest.mark.parametrize("spec,i", nb05.EinsumBackward.SPECS + nb05.EinsumBackwardRepeated.SPECS
                         + nb05.EinsumBackwardRepeated.RANDOM)
def test_oracle_agrees_with_engine(spec, i):
    import backprop_lab as bl

    case = nb05.make_case(np.random.default_rng(3), spec, i)
    tensors = [bl.Tensor(a, requires_grad=True) for a in case["operands"]]
    bl.einsum(spec, *tensors).backward(case["grad"])
    np.testing.assert_allclose(tensors[i].grad, nb05.oracle_grad(spec, case["operands"], case["grad"], i),
                               atol=1e-12)


def test_explain_matmul():
    info = einsum_explorer.explain("ij,jk->ik")
    assert info["shapes"] == [(2, 3), (3, 4)] and info["out_shape"] == (2, 4) and info["summed"] == "j"
    assert [b["spec"] for b in info["backward"]] == ["ik,jk->ij", "ik,ij->jk"]


def test_explain_refinements_and_implicit_output():
    assert einsum_explorer.explain("ij->i")["backward"][0]["broadcast"] == "j"
    assert einsum_explorer.explain("ii->")["backward"][0]["diagonal"] == "i"
    assert einsum_explorer.explain("ij,jk")["output"] == "ik"
    with pytest.raises(ValueError, match="appear in no operand"):
        einsum_explorer.explain("ij->k")
    with pytest.raises(ValueError, match="index 'j' has size 3 in one place and 4"):
        einsum_explorer.explain("ij,jk->ik", shapes=[(2, 3), (4, 5)])


def test_live_check_and_widget_build():
    info = einsum_explorer.explain("bqd,bkd->bqk")
    assert einsum_explorer.live_check(info).startswith("gradient check passed")
    assert "gradient check passed" in einsum_explorer.as_html(info, einsum_explorer.live_check(info))
    w = einsum_explorer.einsum_explorer("ii->")
    assert "ii-&gt;" in w.children[1].value and "diagonal" in w.children[1].value
    w.children[0].children[0].value = "ij,jk->"  # typing a new spec updates the table
    assert "operand" in w.children[1].value
    w.children[0].children[0].value = "ij,jk->q"  # a half-typed spec shows an error, not a traceback
    assert "color" in w.children[1].value


# ----------------------------------------------------------------------------- learner slips found in review

def test_backward_spec_with_g_first_is_told_the_operand_order():
    """Section 4 writes dB's spec G-first ('ik,ij->jk'); the exercise passes (A, G): the hint must say so."""
    status, hint, _ = verdict("05.2", ("ik,jk->ij", "ik,ij->jk"))
    assert status == "fail" and "other order" in hint and "'ij,ik->jk'" not in hint


def test_quadratic_form_inner_instead_of_outer_product():
    status, hint, _ = verdict("05.3", lambda A, x: (x @ x.T, (A + A.T) @ x))
    assert status == "fail" and "OUTER product" in hint


def test_quadratic_form_elementwise_instead_of_matrix_vector():
    status, hint, _ = verdict("05.3", lambda A, x: (np.outer(x, x), (A + A.T) * x))
    assert status == "fail" and "matrix-vector product" in hint


# ----------------------------------------------------------------------------- traps added for issue 15

@pytest.mark.parametrize("name, spec", [("matmul", "ij,jk"), ("outer", "i,j"), ("attention_scores", "ntd,nsd->nts")])
def test_specs_must_have_an_explicit_output(name, spec):
    """Issue 15: 'ij,jk' gives the matmul's values (NumPy's implicit output), but the text asks for '->'."""
    status, hint, _ = verdict("05.1", {**SPECS, name: spec})
    if "->" in spec:
        assert status == "pass"
    else:
        assert status == "fail" and "explicit output" in hint


def test_quadratic_form_swapped_tuple_is_named():
    """Issue 15: (dx, dA) was told about `A * x`."""
    status, hint, _ = verdict("05.3", lambda A, x: ref05.quadratic_form_grad(A, x)[::-1])
    assert status == "fail" and "You returned (dx, dA)" in hint and "A * x" not in hint


def raises_key_error(spec, operands, grad, i):
    sizes = {}
    return sizes[spec]                       # a learner's bug: KeyError


@pytest.mark.parametrize("exercise_id", ["05.4", "05.5"])
def test_einsum_backward_learner_exceptions_get_their_traceback(exercise_id):
    """Issue 15: any exception in learner code crashed the check ("this is a bug in backprop-lab")."""
    result = check(exercise_id, raises_key_error, record=False)
    assert result.status == "error", repr(result)
    text = result.first_problem.error
    assert "Traceback" in text and "raises_key_error" in text and "KeyError" in text and "Hint:" in text
    assert "bug in backprop-lab" not in repr(result)


def pass_the_original_operand(spec, operands, grad, i):
    """05.5 as the course solves it, except that the call of einsum_backward with the spec rewritten to the
    distinct letters ('ii' -> 'i') gets the original (n, n) operand instead of one with a single axis."""
    import types

    solution = ref05.einsum_backward_repeated
    original = list(operands)
    namespace = {**solution.__globals__,
                 "einsum_backward": lambda flat, ops, g, j: ref05.einsum_backward(flat, original, g, j)}
    return types.FunctionType(solution.__code__, namespace)(spec, operands, grad, i)


def test_passing_the_original_operand_is_named_not_told_to_reorder():
    """Issue 15: this route was told to reorder the spec's subscripts."""
    status, hint, _ = verdict("05.5", pass_the_original_operand)
    assert status == "fail" and "one axis per distinct letter" in hint and "lists grad's subscripts" not in hint


# ----------------------------------------------------------------------------- no answer before the check

CATALOGUES = {
    "05.1": [answer for answer, _ in SPECS_WRONG.values()] + [{**SPECS, "matmul": "ij,jk"}],
    "05.2": [answer for answer, _ in BACKSPEC_WRONG.values()] + [("ik,jk->ij", "ik,ij->jk")],
    "05.3": [impl for impl, _ in QUAD_WRONG.values()] + [lambda A, x: (x @ x.T, (A + A.T) @ x),
                                                        lambda A, x: (np.outer(x, x), (A + A.T) * x)],
    "05.4": [impl for impl, _, _ in EINSUM_BACKWARD_WRONG.values()] + [
        raises_key_error, changing_its_inputs(einsum_backward, "list"), changing_its_inputs(einsum_backward, "grad")],
    "05.5": [impl for impl, _ in REPEATED_WRONG.values()] + [
        raises_key_error, pass_the_original_operand, changing_its_inputs(einsum_backward_repeated, "list"),
        changing_its_inputs(einsum_backward_repeated, "grad")],
}


def test_no_hint_gives_the_answer():
    """Every known-wrong answer gets a hint, and none of them, built from its case, holds a key expression."""
    from answer_scan import hint_leaks
    from test_answers_hidden_nb05 import KEY_EXPRESSIONS

    assert [f for xid, wrong in CATALOGUES.items() for f in hint_leaks(xid, wrong, KEY_EXPRESSIONS[xid])] == []


def broadcast_without_reshape(spec, operands, grad, i):
    """Leaves a summed-away letter out, then broadcasts without putting a size-1 axis in its place."""
    lhs, output = spec.split("->")
    inputs = lhs.split(",")
    others = [s for j, s in enumerate(inputs) if j != i]
    available = set(output).union(*others)
    kept = "".join(c for c in inputs[i] if c in available)
    g = np.einsum(",".join([output] + others) + "->" + kept, grad, *[a for j, a in enumerate(operands) if j != i])
    return np.broadcast_to(g, operands[i].shape)


def test_broadcast_without_a_size_one_axis_is_named():
    result = check("05.4", broadcast_without_reshape, record=False)
    assert result.status == "error" and "aligns shapes from the right" in result.first_problem.error


CATALOGUES["05.4"].append(broadcast_without_reshape)


@pytest.mark.parametrize("exercise_id", ["05.3", "05.4", "05.5"])
def test_a_gradient_returned_as_a_list_is_named(exercise_id):
    """Walkthrough walk2-b: nested lists of the right numbers passed, where the exercise asks for arrays."""
    right = {"05.3": ref05.quadratic_form_grad, "05.4": einsum_backward, "05.5": einsum_backward_repeated}[exercise_id]

    def as_lists(*args):
        out = right(*args)
        return [np.asarray(a).tolist() for a in out] if exercise_id == "05.3" else np.asarray(out).tolist()

    status, hint, message = verdict(exercise_id, as_lists)
    assert status == "fail" and "received a list" in message and "NumPy array" in hint
