"""Build ``solutions/05_einstein_notation.ipynb`` (the instructor notebook) from this script.

    python solutions/_build/build_05.py            # write the notebook without outputs
    python solutions/_build/build_05.py --execute  # ... then run it (cwd solutions/) and save the outputs

Edit the notebook's text and code here, not in the .ipynb, so that it can be regenerated.
Cell ids are fixed ("c05-007"), so a rebuild changes only what was edited.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))   # find nbbuild also when loaded by file path (tests)
from nbbuild import CHECKED, Notebook  # noqa: E402

notebook = Notebook("05", "05_einstein_notation.ipynb")
md, code, exercise = notebook.md, notebook.code, notebook.exercise
TARGET = notebook.target
build = notebook.build

CHECKED = ["nbval-check-output"]

# ============================================================================ title and goals
md(r"""
# 05 · Einstein notation: gradients by swapping subscripts

Notebook 04 found gradients of matrix expressions by making shapes fit. That works beautifully for a matrix
product, and then gets awkward: a batched matrix product, a trace, attention scores, an expression where the
same vector appears twice. Seed 000's advice for all of them is one line long: *"Einstein notation will save
your life when determining the backwards pass."* This notebook shows why. Written with indices, every one of
these operations is a single `np.einsum` string, and the gradient of any operand is another einsum string that
you read off by **swapping subscripts**.

**Learning goals.** After this notebook you can

1. read and write index notation with the summation convention, and write matmul, batched matmul, transpose,
   trace, outer product, bilinear form and attention scores as `np.einsum` strings;
2. derive a gradient in index notation: $C_{ik} = A_{ij}B_{jk} \Rightarrow \partial L/\partial A_{ij} = G_{ik}B_{jk}$,
   i.e. `einsum('ik,jk->ij', G, B)`;
3. state the general rule (the upstream gradient with the *other* operands, output subscripts = *this*
   operand's) and its two refinements: broadcast an index that was summed away, and put the gradient of a
   repeated index on the diagonal with a Kronecker delta;
4. handle a tensor that appears twice ($x_i x_i$, $x^\top A x$): its gradient is added once per appearance;
5. read the engine's `bl.einsum` backward, which is exactly this rule, and check it numerically.

You write five answers: `einsum_specs`, `matmul_backward_specs`, `quadratic_form_grad`, `einsum_backward` and,
as a challenge, `einsum_backward_repeated`.
""")

code(r"""
import inspect

import matplotlib.pyplot as plt
import numpy as np

import backprop_lab as bl
from backprop_lab.einsum import operand_grad                 # the engine's einsum backward (section 6)
from backprop_lab.exercises import check
from backprop_lab.exercises.nb01 import reference as ref01   # numerical_gradient, relative_error from notebook 01
from backprop_lab.exercises.nb05 import reference            # the course's versions of this notebook's exercises
from backprop_lab.widgets import einsum_explorer

rng = np.random.default_rng(0)
np.set_printoptions(precision=4, suppress=True)


def max_rel_error(a, b):
    return float(np.max(ref01.relative_error(np.asarray(a, dtype=float), np.asarray(b, dtype=float))))
""")

# ============================================================================ 1. index notation
md(r"""
## 1. Index notation and the summation convention

Write arrays by their entries: $A_{ij}$ is the entry of $A$ in row $i$, column $j$. A matrix product is then

$$
C_{ik} = \sum_j A_{ij} B_{jk}.
$$

Einstein's **summation convention** drops the $\sum$: an index that is repeated on the right-hand side but
does not appear on the left is summed over. So $C_{ik} = A_{ij} B_{jk}$ means the line above. Indices that
survive ($i, k$) are *free*; summed ones ($j$) are *dummy* indices, and their names do not matter.

`np.einsum` takes exactly this as a string: the operands' subscripts separated by commas, an arrow, and the
output's subscripts. Three rules say what it computes:

1. a letter shared by several operands means "multiply the entries with equal index";
2. a letter missing from the output is summed over;
3. the order of the output letters is the order of the result's axes.

| operation | index form | einsum |
|---|---|---|
| matrix product | $C_{ik} = A_{ij}B_{jk}$ | `'ij,jk->ik'` |
| batched matmul | $C_{nik} = A_{nij}B_{njk}$ | `'nij,njk->nik'` |
| transpose | $C_{ji} = A_{ij}$ | `'ij->ji'` |
| trace | $t = A_{ii}$ | `'ii->'` |
| outer product | $C_{ij} = u_i v_j$ | `'i,j->ij'` |
| bilinear form $x^\top A y$ | $f = x_i A_{ij} y_j$ | `'i,ij,j->'` |
| attention scores $QK^\top$ | $S_{nts} = Q_{ntd}K_{nsd}$ | `'ntd,nsd->nts'` |

The last line is the heart of a transformer's attention: for each batch element $n$, the score of query $t$
against key $s$ is the dot product of their $d$-dimensional vectors (divided by $\sqrt d$ afterwards, which is
a plain scaling). Each row of the table, checked against the NumPy you already know:
""")

code(r"""
A, B = rng.normal(size=(3, 4)), rng.normal(size=(4, 5))
Ab, Bb = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 5))
S = rng.normal(size=(4, 4))
u, v, y = rng.normal(size=3), rng.normal(size=4), rng.normal(size=4)
Q, K = rng.normal(size=(2, 3, 8)), rng.normal(size=(2, 5, 8))

print("matmul        ", np.allclose(np.einsum("ij,jk->ik", A, B), A @ B))
print("batched matmul", np.allclose(np.einsum("nij,njk->nik", Ab, Bb), Ab @ Bb))
print("transpose     ", np.allclose(np.einsum("ij->ji", A), A.T))
print("trace         ", np.allclose(np.einsum("ii->", S), np.trace(S)))
print("outer         ", np.allclose(np.einsum("i,j->ij", u, v), np.outer(u, v)))
print("bilinear      ", np.allclose(np.einsum("i,ij,j->", u, A, y), u @ A @ y))
print("attention     ", np.allclose(np.einsum("ntd,nsd->nts", Q, K), Q @ K.transpose(0, 2, 1)),
      np.einsum("ntd,nsd->nts", Q, K).shape)
""", tags=CHECKED)

md(r"""
### Exercise 05.1 — einsum strings

Fill in the dictionary with one spec per operation, using the operand names and shapes below. The check
evaluates your strings with `np.einsum` on random arrays whose index sizes all differ, so a transposed output
cannot pass by accident. Each value is a string with an explicit output, like `'ij,jk->ik'`; replace every
`None`, then delete the `raise` line below the dictionary. (Try to write them without looking at the table
above; look again if you are stuck.)

| key | operands, in order | result |
|---|---|---|
| `"matmul"` | `A` $(I, J)$, `B` $(J, K)$ | $AB$ |
| `"batched_matmul"` | `A` $(N, I, J)$, `B` $(N, J, K)$ | `A @ B` |
| `"transpose"` | `A` $(I, J)$ | $A^\top$ |
| `"trace"` | `A` $(I, I)$ | $\operatorname{tr} A$ |
| `"outer"` | `u` $(I,)$, `v` $(J,)$ | $u v^\top$ |
| `"bilinear"` | `x` $(I,)$, `A` $(I, J)$, `y` $(J,)$ | $x^\top A y$ |
| `"attention_scores"` | `Q` $(N, T, D)$, `K` $(N, S, D)$ | $S_{nts} = \sum_d Q_{ntd}K_{nsd}$ |
""")

exercise(r'''
einsum_specs = {"matmul": None, "batched_matmul": None, "transpose": None, "trace": None,
                "outer": None, "bilinear": None, "attention_scores": None}
### BEGIN SOLUTION
einsum_specs = {"matmul": "ij,jk->ik", "batched_matmul": "nij,njk->nik", "transpose": "ij->ji",
                "trace": "ii->", "outer": "i,j->ij", "bilinear": "i,ij,j->", "attention_scores": "ntd,nsd->nts"}
### END SOLUTION
''', "05.1", 2, "replace each None above by that operation's einsum spec (a string such as 'ij,jk->ik'), then delete this line")

code(r"""
check("05.1", einsum_specs)
""")

# ============================================================================ 2. deriving a gradient
md(r"""
## 2. Deriving a gradient in index notation

Take $C_{ik} = A_{ij}B_{jk}$ inside a computation whose scalar loss is $L$, and let
$G_{ik} = \partial L / \partial C_{ik}$ be the upstream gradient. The chain rule sums over every entry of $C$:

$$
\frac{\partial L}{\partial A_{pq}} = G_{ik}\, \frac{\partial C_{ik}}{\partial A_{pq}}
\quad\text{(summed over } i, k\text{)}.
$$

Differentiating $C_{ik} = A_{ij}B_{jk}$ with respect to one entry $A_{pq}$: only the term with $i = p$ and
$j = q$ contains it, which the Kronecker delta says in one symbol, $\partial A_{ij}/\partial A_{pq} =
\delta_{ip}\delta_{jq}$. So

$$
\frac{\partial C_{ik}}{\partial A_{pq}} = \delta_{ip}\,\delta_{jq}\,B_{jk} = \delta_{ip}\, B_{qk},
\qquad
\frac{\partial L}{\partial A_{pq}} = G_{ik}\,\delta_{ip}\,B_{qk} = G_{pk}\,B_{qk}.
$$

A delta *renames*: summing over $i$ against $\delta_{ip}$ replaces $i$ by $p$. Renaming $p, q$ back to $i, j$:

$$
\boxed{\frac{\partial L}{\partial A_{ij}} = G_{ik}\,B_{jk}} \quad\Longrightarrow\quad
\texttt{np.einsum('ik,jk->ij', G, B)} = G B^\top .
$$

The same as notebook 04's $dW = dD\,x^\top$, now without guessing: the indices did the bookkeeping. Numerical
check with central differences:
""")

code(r"""
G = rng.normal(size=(3, 5))                          # dL/dC for C = A @ B of shape (3, 5)
loss_of_A = lambda A_: np.sum(np.einsum("ij,jk->ik", A_, B) * G)
dA = np.einsum("ik,jk->ij", G, B)
print("einsum('ik,jk->ij', G, B) agrees with central differences:",
      max_rel_error(dA, ref01.numerical_gradient(loss_of_A, A)) < 1e-7, " shape", dA.shape)
""", tags=CHECKED)

md(r"""
### Exercise 05.2 — the backward specs of matmul

Give the two specs as a tuple of two strings `(spec_dA, spec_dB)` for $C = $ `einsum('ij,jk->ik', A, B)`:
with $G = \partial L/\partial C$, the check computes `dA = np.einsum(spec_dA, G, B)` and
`dB = np.einsum(spec_dB, A, G)`. Mind the operand order: the first group of subscripts in a spec names the first
array passed, so `spec_dB` starts with `A`'s subscripts. The first spec is derived above; derive the second the
same way, from $\partial C_{ik}/\partial B_{pq}$. Then delete the `raise` line.
""")

exercise(r'''
matmul_backward_specs = None
### BEGIN SOLUTION
matmul_backward_specs = ("ik,jk->ij", "ij,ik->jk")
### END SOLUTION
''', "05.2", 2, "set matmul_backward_specs = (spec_dA, spec_dB), two einsum strings, then delete this line")

code(r"""
check("05.2", matmul_backward_specs)
""")

# ============================================================================ 3. a tensor used twice
md(r"""
## 3. The same tensor twice: $x_i x_i$ and $x^\top A x$

Seed 000's gotcha: *"if the same term occurs twice in the same figure (e.g. $x_i x_i$ as in $x^\top x$), don't
forget to add the gradient twice as dictated by the multivariate chain rule."* In index notation it is
mechanical. Give the two appearances different names, $f = a_i b_i$ with $a = b = x$. Then
$\partial f/\partial a_k = b_k$ and $\partial f/\partial b_k = a_k$, and since $x$ feeds both,

$$
\frac{\partial f}{\partial x_k} = b_k + a_k = 2x_k .
$$

The engine does exactly this: `bl.einsum('i,i->', x, x)` has $x$ as two operands, each gets its own gradient,
and the backward driver **adds** them into `x.grad` (gradients add at forks).
""")

code(r"""
x = bl.Tensor([1.0, -2.0, 3.0], requires_grad=True)
bl.einsum("i,i->", x, x).backward()
print("gradient of x_i x_i:", x.grad, "= 2x")
""", tags=CHECKED)

md(r"""
The quadratic form $f = x^\top A x = x_i A_{ij} x_j$ has $x$ twice and $A$ once. Renaming the appearances
$f = a_i A_{ij} b_j$:

$$
\frac{\partial f}{\partial a_k} = A_{kj}\, b_j, \qquad \frac{\partial f}{\partial b_k} = a_i\, A_{ik},
\qquad\Longrightarrow\qquad
\frac{\partial f}{\partial x_k} = A_{kj}x_j + x_i A_{ik} = \big((A + A^\top)x\big)_k,
$$

and $\partial f/\partial A_{ij} = x_i x_j$, the outer product $x x^\top$. For a symmetric $A$ the first result
becomes the familiar $2Ax$, but only then.
""")

code(r"""
A4 = rng.normal(size=(4, 4))                       # not symmetric
x4 = rng.normal(size=4)
f = lambda x_: x_ @ A4 @ x_
print("(A + A^T) x agrees with central differences:", max_rel_error((A4 + A4.T) @ x4, ref01.numerical_gradient(f, x4)) < 1e-7)
print("2 A x (the symmetric-A shortcut) agrees too:", max_rel_error(2 * A4 @ x4, ref01.numerical_gradient(f, x4)) < 1e-7)
""", tags=CHECKED)

md(r"""
### Exercise 05.3 — the gradient of $x^\top A x$

Write `quadratic_form_grad(A, x)` that returns the tuple `(dA, dx)`, the gradient of $f = x^\top A x$ with
respect to $A$ (shape $(n, n)$, not symmetric) and $x$ (shape $(n,)$): `dA` has shape $(n, n)$, `dx` shape
$(n,)$. Use `np.einsum` or NumPy, as you like. For example, for `A = [[1, 2], [0, 3]]` and `x = [1, -1]`:
`dA = [[1, -1], [-1, 1]]` and `dx = [0, -4]`.
""")

exercise(r'''
def quadratic_form_grad(A, x):
    """Return (df/dA, df/dx) for f = x_i A_ij x_j."""
    ### BEGIN SOLUTION
    dA = np.einsum("i,j->ij", x, x)
    dx = np.einsum("kj,j->k", A, x) + np.einsum("i,ik->k", x, A)
    return dA, dx
    ### END SOLUTION
''', "05.3", 2, "dA = x_i x_j; dx = A_kj x_j + x_i A_ik")

code(r"""
check("05.3", quadratic_form_grad)
""")

code(r"""
quad_grad = bl.exercises.use(quadratic_form_grad, reference.quadratic_form_grad, "05.3")
At, xt = bl.Tensor(A4, requires_grad=True), bl.Tensor(x4, requires_grad=True)
bl.einsum("i,ij,j->", xt, At, xt).backward()
dA4, dx4 = quad_grad(A4, x4)
print("the engine's einsum gives the same dA and dx:", np.allclose(At.grad, dA4), np.allclose(xt.grad, dx4))
""", tags=CHECKED)

# ============================================================================ 4. the general rule
md(r"""
## 4. The general rule: swap the output's subscripts with the operand's

Look at the loss through any einsum, $\text{out} = $ `einsum('in_1,...,in_n->out', X_1, ..., X_n)`, with
upstream gradient $G = \partial L/\partial\,\text{out}$. The part of $L$ that depends on the operands is a
single full contraction,

$$
\ell = G_{\text{out}}\;X^{(1)}_{\text{in}_1} \cdots X^{(n)}_{\text{in}_n}
\quad\text{(every index summed)}, \qquad \frac{\partial L}{\partial X^{(m)}} = \frac{\partial \ell}{\partial X^{(m)}},
$$

and it is **linear in each operand**. Differentiating a product of factors with respect to one factor removes
that factor and keeps its indices free. So:

> **The gradient of operand $m$ is the einsum of $G$ with all the other operands, whose output subscripts are
> operand $m$'s subscripts:**  `einsum('out,in_1,..(without in_m)..,in_n->in_m', G, X_1, ..., X_n)`.

(Here $G$ is held fixed: it is a given number per entry of the output, so $\partial L/\partial X^{(m)} =
G_{\text{out}}\, \partial\, \text{out} / \partial X^{(m)}$, which is exactly the derivative of $\ell$.)
The upstream gradient takes the operand's place, and the output's subscripts and the operand's swap sides.
For matmul `'ij,jk->ik'` this gives `'ik,jk->ij'` for $A$ and `'ik,ij->jk'` for $B$ (the operands in the
order $G$, then the rest) — your answers to 05.2 up to the order of the operands.

**Refinement: an index summed away inside one operand.** In `'ij->i'` (row sums) the index $j$ appears in
the operand only: it was summed away in the forward pass and is in neither $G$ nor any other operand, so the
rule's spec `'i->ij'` is not a valid einsum. Every $x_{ij}$ of a row contributes to the same sum with
coefficient 1, so each gets the same gradient $G_i$: compute `einsum('i->i', G)`, then **broadcast** along
$j$. (This is notebook 04's "sum re-inserts the reduced axis", found again.)

The explorer prints, for any spec, the shapes and each operand's backward spec, and runs a numerical gradient
check of `bl.einsum` on it. Try `'ij,jk->ik'`, `'bqd,bkd->bqk'`, `'ij->i'`, `'i,ij,j->'`, `'ii->'`.
""")

code(r"""
for spec in ["ij,jk->ik", "nij,njk->nik", "ntd,nsd->nts", "i,ij,j->", "ij->i"]:
    info = einsum_explorer.explain(spec)
    backs = "   ".join(f"d[{subs}]: einsum('{b['spec']}')" + (f" then broadcast '{b['broadcast']}'" if b["broadcast"] else "")
                       for subs, b in zip(info["inputs"], info["backward"]))
    print(f"{spec:>14}  ->  {backs}")
""", tags=CHECKED)

md(r"""
When the output is a scalar (`'i,ij,j->'`), $G$ is a plain number with no subscripts, so each backward spec
starts with an empty group and a comma: `',ij,j->i'` multiplies $A_{ij}y_j$ by the number $G$.
""")

code(r"""
einsum_explorer.einsum_explorer("bqd,bkd->bqk")
""")

md(r"""
### Exercise 05.4 — `einsum_backward` for any spec without repeated indices

Write `einsum_backward(spec, operands, grad, i)`: `spec` is explicit (it has `'->'`), no operand repeats a
letter, `operands` is the list of arrays, `grad` is $\partial L/\partial\,\text{out}$; return
$\partial L/\partial\,\text{operands[i]}$. Handle the refinement: a letter of operand `i` that appears nowhere
else (not in the output, not in another operand) is left out of the einsum, and the result is broadcast back
(`np.broadcast_to`, after a `reshape` that puts a size-1 axis where that letter goes). Return an array of the
shape of `operands[i]`. Examples:

* `einsum_backward('ij,jk->ik', [A, B], G, 0)` is `np.einsum('ik,jk->ij', G, B)`, i.e. `G @ B.T`;
* `einsum_backward('i,ij,j->', [x, A, y], g, 1)` is `np.einsum(',i,j->ij', g, x, y)` ($g$ a 0-d array);
* `einsum_backward('ij->i', [X], g, 0)` for `X` of shape $(3, 4)$ and `g` of shape $(3,)$ is
  `np.broadcast_to(g.reshape(3, 1), (3, 4))`: $j$ appears nowhere else.
""")

exercise(r'''
def einsum_backward(spec, operands, grad, i):
    """dL/d(operands[i]) for out = np.einsum(spec, *operands), given grad = dL/d(out)."""
    ### BEGIN SOLUTION
    lhs, output = spec.split("->")
    inputs = lhs.split(",")
    target = inputs[i]
    others = [s for j, s in enumerate(inputs) if j != i]
    other_arrays = [a for j, a in enumerate(operands) if j != i]
    available = set(output).union(*others)
    kept = "".join(c for c in target if c in available)       # letters the backward einsum can produce
    g = np.einsum(",".join([output] + others) + "->" + kept, grad, *other_arrays)
    shape = [n if c in available else 1 for c, n in zip(target, operands[i].shape)]
    return np.broadcast_to(g.reshape(shape), operands[i].shape)
    ### END SOLUTION
''', "05.4", 3, "einsum of grad with the other operands into operand i's subscripts; broadcast back letters found only in operand i")

code(r"""
check("05.4", einsum_backward)
""")

code(r"""
einsum_bw = bl.exercises.use(einsum_backward, reference.einsum_backward, "05.4")
Qt, Kt = bl.Tensor(Q, requires_grad=True), bl.Tensor(K, requires_grad=True)
Gs = rng.normal(size=(2, 3, 5))
bl.einsum("ntd,nsd->nts", Qt, Kt).backward(Gs)
print("attention scores: dQ and dK from einsum_backward equal the engine's:",
      np.allclose(einsum_bw("ntd,nsd->nts", [Q, K], Gs, 0), Qt.grad),
      np.allclose(einsum_bw("ntd,nsd->nts", [Q, K], Gs, 1), Kt.grad))
""", tags=CHECKED)

# ============================================================================ 5. repeated indices
md(r"""
## 5. A repeated index inside one operand: the Kronecker delta

`'ii->i'` reads the **diagonal**, $d_i = A_{ii}$, and `'ii->'` the trace, $t = A_{ii}$ summed. Here the rule
would ask for the output subscripts `'ii'`, which `np.einsum` refuses (an output letter may not repeat).
Index notation says what to do instead. For the diagonal,

$$
\frac{\partial d_i}{\partial A_{kl}} = \delta_{ik}\,\delta_{il}, \qquad
\frac{\partial L}{\partial A_{kl}} = g_i\,\delta_{ik}\,\delta_{il} = g_k\,\delta_{kl}.
$$

The gradient is $g$ **written onto the diagonal**, zero elsewhere: only diagonal entries were read, so only
they influence the loss. In einsum form: compute with the distinct letter (`'i->i'`), then multiply by a
Kronecker delta $\delta_{kl}$, which is the identity matrix: `np.einsum('i,ij->ij', g, np.eye(n))`.
For the trace, $g$ is a number and $\partial L/\partial A = g\,I$.

Each diagonal entry $A_{ii}$ is one number read once, so it gets its gradient once. That is the difference from
section 3: there one *tensor* was used as two *operands*, and its gradient was added twice.
""")

code(r"""
n = 4
A5 = rng.normal(size=(n, n))
g5 = rng.normal(size=n)
grad_diag = np.einsum("i,ij->ij", g5, np.eye(n))            # g on the diagonal
grad_rows = np.broadcast_to(g5[:, None], (n, n))              # for comparison: 'ij->i' (row sums)
print("'ii->i': g on the diagonal agrees with central differences:",
      max_rel_error(grad_diag, ref01.numerical_gradient(lambda M: np.sum(np.einsum("ii->i", M) * g5), A5)) < 1e-7)
print("'ii->' : the gradient of the trace is the identity:",
      np.allclose(ref01.numerical_gradient(lambda M: np.einsum("ii->", M), A5), np.eye(n)))
""", tags=CHECKED)

code(r"""
fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.4))
for ax, (title, M) in zip(axes, [("'ii->i' (diagonal): g on the diagonal", grad_diag),
                                 ("'ij->i' (row sums): g broadcast along j", grad_rows)]):
    ax.imshow(M, cmap="RdBu_r", vmin=-2, vmax=2)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("j")
    ax.set_ylabel("i")
plt.tight_layout()
plt.show()
""")

md(r"""
### Exercise 05.5 (challenge) — `einsum_backward` with repeated indices

Write `einsum_backward_repeated(spec, operands, grad, i)` like `einsum_backward`, but operand `i` may repeat a
letter (`'ii->i'`, `'ii->'`, `'ii,i->i'`, `'ij,jj->i'`, `'bii->bi'`, `'iij->j'`). Plan:

1. compute the gradient for the operand's **distinct** letters (`'ii'` → `'i'`), as in 05.4 (you may call
   `einsum_bw`, your 05.4 or the reference, with the spec rewritten that way);
2. for every repeated letter, give the repeat a fresh letter and multiply by a Kronecker delta
   (`np.eye(size)`), which writes the result onto that diagonal.

Return an array of the shape of `operands[i]`. For example, `einsum_backward_repeated('ii->i', [A], g, 0)` for
`A` of shape $(3, 3)$ is `np.diag(g)`, and for `'ii->'` (the trace, `g` a 0-d array) it is `g * np.eye(3)`.
""")

exercise(r'''
import string


def einsum_backward_repeated(spec, operands, grad, i):
    """dL/d(operands[i]) for out = np.einsum(spec, *operands); operand i may repeat a letter ('ii')."""
    ### BEGIN SOLUTION
    lhs, output = spec.split("->")
    inputs = lhs.split(",")
    target = inputs[i]
    unique = "".join(dict.fromkeys(target))                     # 'ii' -> 'i', 'iij' -> 'ij'
    sizes = dict(zip(target, operands[i].shape))
    # 1. the gradient for the distinct letters: the same spec with operand i written with them
    flat_spec = ",".join(inputs[:i] + [unique] + inputs[i + 1:]) + "->" + output
    stand_in = np.zeros([sizes[c] for c in unique])
    g = einsum_bw(flat_spec, operands[:i] + [stand_in] + operands[i + 1:], grad, i)
    # 2. each repeat gets a fresh letter and a Kronecker delta: the gradient lands on the diagonal
    fresh = iter(c for c in string.ascii_letters if c not in spec)
    subs, deltas, seen = "", [], set()
    for c in target:
        if c in seen:
            new = next(fresh)
            subs += new
            deltas.append((c + new, np.eye(sizes[c])))
        else:
            seen.add(c)
            subs += c
    return np.einsum(",".join([unique] + [d for d, _ in deltas]) + "->" + subs, g, *[e for _, e in deltas])
    ### END SOLUTION
''', "05.5", 3, "gradient for the distinct letters, then Kronecker deltas (np.eye) onto the diagonal")

code(r"""
check("05.5", einsum_backward_repeated)
""")

# ============================================================================ 6. the engine
md(r"""
## 6. The engine's `bl.einsum` is this rule

`backprop_lab/einsum.py` differentiates any spec NumPy accepts with exactly the rule of this notebook. Its
`operand_grad` is the whole backward: the einsum of `g` with the other operands into this operand's distinct
letters, a broadcast for letters summed away only here, and Kronecker deltas for repeated letters. Read it
beside your 05.4 and 05.5:
""")

code(r"""
print(inspect.getsource(operand_grad))
""")

md(r"""
Finally, every example of this notebook through `bl.einsum`, each checked against central differences by
`bl.gradcheck` (which raises, naming the input and index, if any entry disagrees). The last two use one tensor
twice.
""")

code(r"""
T = lambda *shape: bl.Tensor(rng.normal(size=shape), requires_grad=True)
examples = {
    "ij,jk->ik": (T(3, 4), T(4, 5)),
    "nij,njk->nik": (T(2, 3, 4), T(2, 4, 5)),
    "ij->ji": (T(3, 4),),
    "ii->": (T(4, 4),),
    "ii->i": (T(4, 4),),
    "ij->i": (T(3, 4),),
    "i,j->ij": (T(3), T(4)),
    "i,ij,j->": (T(3), T(3, 4), T(4)),
    "ntd,nsd->nts": (T(2, 3, 4), T(2, 5, 4)),
}
for spec, operands in examples.items():
    print(f"{spec:>14}: gradcheck", bl.gradcheck(lambda *ops, s=spec: bl.einsum(s, *ops), *operands))
xx, AA = T(4), T(4, 4)
print(f"{'i,i-> (x, x)':>14}: gradcheck", bl.gradcheck(lambda x_: bl.einsum("i,i->", x_, x_), xx))
print(f"{'i,ij,j-> (x,A,x)':>14}: gradcheck", bl.gradcheck(lambda x_, A_: bl.einsum("i,ij,j->", x_, A_, x_), xx, AA))
""", tags=CHECKED)

# ============================================================================ summary
md(r"""
## Summary

* Index notation with the summation convention: a letter repeated on the right and absent on the left is
  summed. `np.einsum` reads the same thing from a string: shared letters multiply, letters missing from the
  output are summed, the output letters give the axis order.
* A gradient in index notation: differentiate, let the Kronecker deltas rename indices.
  $C_{ik} = A_{ij}B_{jk} \Rightarrow \partial L/\partial A_{ij} = G_{ik}B_{jk}$ = `einsum('ik,jk->ij', G, B)`.
* **The rule:** the gradient of an operand is the einsum of the upstream gradient with the *other* operands,
  with that operand's subscripts as output. Refinements: an index summed away only inside the operand is
  broadcast back; a repeated index (`'ii'`) puts the gradient on the diagonal through a Kronecker delta
  (`np.eye`).
* A tensor used as several operands ($x_i x_i$, $x_i A_{ij} x_j$) gets one gradient per use, added:
  $\nabla_x\, x^\top A x = (A + A^\top)x$, not $2Ax$ unless $A$ is symmetric.
* `bl.einsum` implements exactly this, and `bl.gradcheck` confirms it on every example.

**Next: notebook 06, the Tensor engine.** We open up `bl.Tensor` itself: how it records each operation, the
`Function` with its forward and backward, the one table of derivative rules, and the backward driver that
walks the graph, accumulates at forks and undoes broadcasting in one place.
""")


if __name__ == "__main__":
    notebook.main(sys.argv[1:])
