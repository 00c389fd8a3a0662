"""Build ``solutions/04_dimensional_analysis.ipynb`` (the instructor notebook) from this script.

    python solutions/_build/build_04.py            # write the notebook without outputs
    python solutions/_build/build_04.py --execute  # ... then run it (cwd solutions/) and save the outputs

Edit the notebook's text and code here, not in the .ipynb, so that it can be regenerated.
Cell ids are fixed ("c04-007"), so a rebuild changes only what was edited.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))   # find nbbuild also when loaded by file path (tests)
from nbbuild import CHECKED, Notebook  # noqa: E402

notebook = Notebook("04", "04_dimensional_analysis.ipynb")
md, code, exercise = notebook.md, notebook.code, notebook.exercise
TARGET = notebook.target
build = notebook.build

CHECKED = ["nbval-check-output"]

# ============================================================================ title and goals
md(r"""
# 04 · Dimensional analysis: gradients of vectors and matrices

Notebooks 02 and 03 backpropagated through scalars, one number at a time. Real networks multiply matrices,
and a matrix has thousands of entries. Writing the chain rule entry by entry would be hopeless; what we need
is a rule for whole arrays at once. This notebook finds it, and the tool is surprisingly humble: **the
shapes of the arrays**. Once you know that a gradient always has the shape of the thing it is the gradient
of, there is usually only one way to multiply the available arrays together so the shapes fit, and that
way is the right answer.

**Learning goals.** After this notebook you can

1. name the four scenarios (scalar→scalar, vector→scalar, vector→vector, matrix→matrix) and the shape of
   the derivative in each, up to the 4-D Jacobian of a matrix product;
2. explain why an autograd engine never builds a Jacobian: for a scalar loss it only needs
   vector-Jacobian products, which have the shape of the input, and the Jacobian would cost gigabytes;
3. derive $dW = dD\,x^\top$ and $dx = W^\top dD$ for $D = Wx$ from the shapes alone, and the three gradients
   of a linear layer $y = xW + b$;
4. apply the patterns: element-wise stays element-wise; broadcasting becomes a sum (also when the rank
   changes); `sum` and `mean` re-insert the reduced axis; `max` routes the gradient;
5. backpropagate through softmax with a vector-Jacobian product, $s \odot (g - \langle g, s\rangle)$, without
   ever forming its Jacobian.

You write six functions: `matmul_backward`, `linear_backward`, `unbroadcast`, `sum_backward`,
`mean_backward` and `softmax_backward`. Each is checked as soon as you write it, and the notebook then
carries on with the course's reference version, so every later cell runs whether or not you have solved it.

Notation: $L$ is always a **scalar** loss, and for any array $A$ in the computation, $dA$ is short for
$\partial L / \partial A$, an array of the same shape as $A$.
""")

code(r"""
import inspect

import matplotlib.pyplot as plt
import numpy as np

import backprop_lab as bl
from backprop_lab import rules
from backprop_lab.exercises import check
from backprop_lab.exercises.nb01 import reference as ref01   # numerical_gradient, relative_error from notebook 01
from backprop_lab.exercises.nb04 import reference            # the course's versions of this notebook's exercises
from backprop_lab.widgets import shapes

rng = np.random.default_rng(0)
np.set_printoptions(precision=4, suppress=True)


def max_rel_error(a, b):
    # the largest relative error over all entries, with notebook 01's definition
    return float(np.max(ref01.relative_error(np.asarray(a, dtype=float), np.asarray(b, dtype=float))))
""")

# ============================================================================ 1. four scenarios
md(r"""
## 1. Four scenarios: what shape is a derivative?

The lecture notes of seed 002 list four cases. Let us meet each one with a concrete function and check it
numerically with notebook 01's central differences.

**1. Scalar → scalar.** $f(x) = x^3$ at $x = 2$: the derivative $f'(x) = 3x^2 = 12$ is one number.

**2. Vector → scalar.** $f(x) = \sum_i x_i^2$ for $x \in \mathbb{R}^n$: there is one partial derivative per
input, $\partial f / \partial x_i = 2 x_i$. Together they form the **gradient**, a vector with the shape
of $x$.

**3. Vector → vector.** $y = Ax$ with $A$ of shape $(m, n)$: every output $y_i$ has a derivative with
respect to every input $x_j$, so there are $m \times n$ of them. They form the **Jacobian**
$J_{ij} = \partial y_i / \partial x_j$, a matrix of shape $(m, n)$. Here $y_i = \sum_j A_{ij} x_j$, so
$J = A$.

**4. Matrix → matrix.** $D = Wx$ with $W$ of shape $(5, 10)$ and $x$ of shape $(10, 3)$ (seed 002's
example): $D$ has $5 \times 3$ entries, $W$ has $5 \times 10$, and $\partial D / \partial W$ has one number
for every pair: a **4-D** array of shape $(5, 3, 5, 10)$.
""")

code(r"""
# 1. scalar -> scalar
f = lambda x: x ** 3
print("1. d(x^3)/dx at 2:       numeric", round(ref01.central_difference(f, 2.0), 6), "  exact", 3 * 2.0 ** 2)

# 2. vector -> scalar: the gradient has the shape of x
x = np.array([1.0, -2.0, 0.5])
grad = ref01.numerical_gradient(lambda v: np.sum(v ** 2), x)
print("2. gradient of sum(x^2): numeric", grad.round(6), " exact", 2 * x, " shape", grad.shape)

# 3. vector -> vector: the Jacobian, row i = the gradient of output y_i, by central differences
A = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]])
J = np.stack([ref01.numerical_gradient(lambda v: (A @ v)[i], x) for i in range(2)])
print("3. Jacobian of A @ x, shape", J.shape, "equals A:", np.allclose(J, A))
""", tags=CHECKED)

md(r"""
For scenario 4 we build the 4-D array with the engine. One backward pass with upstream gradient $g$
computes $\sum_{ij} g_{ij}\, \partial D_{ij} / \partial W$. Choosing $g$ to be $1$ at entry $(i, j)$ and $0$
elsewhere (a *one-hot* array) picks out a single slice $\partial D_{ij} / \partial W$, so $5 \times 3 = 15$
backward passes give the whole Jacobian.
""")

code(r"""
W = rng.normal(size=(5, 10))
x = rng.normal(size=(10, 3))


def jacobian_by_backward(W, x):
    # dD/dW as a 4-D array (D.shape + W.shape): one backward pass per entry of D
    D_shape = (W.shape[0], x.shape[1])
    J = np.zeros(D_shape + W.shape)
    for idx in np.ndindex(*D_shape):
        Wt = bl.Tensor(W, requires_grad=True)
        one_hot = np.zeros(D_shape)
        one_hot[idx] = 1.0
        (Wt @ bl.Tensor(x)).backward(one_hot)
        J[idx] = Wt.grad
    return J


J4 = jacobian_by_backward(W, x)
print("dD/dW has shape", J4.shape, "and", J4.size, "entries, of which", np.count_nonzero(J4), "are not zero")
""", tags=CHECKED)

md(r"""
Only one entry in five is non-zero. The formula says why. $D_{ij} = \sum_m W_{im} x_{mj}$, so $D_{ij}$
depends only on row $i$ of $W$:

$$
\frac{\partial D_{ij}}{\partial W_{kl}} = \delta_{ik}\, x_{lj},
\qquad \delta_{ik} = \begin{cases} 1 & i = k \\ 0 & i \ne k \end{cases}
$$

($\delta$ is the *Kronecker delta*; notebook 05 uses it a lot). Let us check the formula against the engine's
Jacobian, and look at the block structure: flatten the $(i, j)$ pairs into rows and the $(k, l)$ pairs into
columns.
""")

code(r"""
J4_formula = np.einsum("ik,lj->ijkl", np.eye(5), x)    # delta_ik * x_lj, for every (i, j, k, l)
print("dD_ij/dW_kl = delta_ik x_lj for all 750 entries:", np.allclose(J4, J4_formula))
""", tags=CHECKED)

code(r"""
fig, ax = plt.subplots(figsize=(9, 3.2))
im = ax.imshow(J4.reshape(15, 50), cmap="RdBu_r", vmin=-3, vmax=3, aspect="auto")
ax.set_xlabel("entry (k, l) of W, row by row: 5 blocks of 10")
ax.set_ylabel("entry (i, j) of D: 5 blocks of 3")
ax.set_title("The 4-D Jacobian dD/dW, flattened to 15 x 50: row i of D sees only row i of W")
for b in range(1, 5):
    ax.axvline(10 * b - 0.5, color="k", lw=0.5)
    ax.axhline(3 * b - 0.5, color="k", lw=0.5)
fig.colorbar(im, ax=ax)
plt.show()
""")

md(r"""
Each non-zero block is $x^\top$ (3 rows, 10 columns): the same numbers, copied five times along a diagonal
of blocks, with zeros everywhere else. The Jacobian is mostly wasted space. Hold on to that thought.
""")

# ============================================================================ 2. never build a Jacobian
md(r"""
## 2. Why the engine never builds a Jacobian

Backpropagation needs $dW = \partial L / \partial W$, and the loss $L$ is a **scalar**. The chain rule through
$D$ sums over every entry of $D$:

$$
dW_{kl} = \frac{\partial L}{\partial W_{kl}} = \sum_{i,j} \frac{\partial L}{\partial D_{ij}}\,
\frac{\partial D_{ij}}{\partial W_{kl}} = \sum_{i,j} dD_{ij}\, \frac{\partial D_{ij}}{\partial W_{kl}}.
$$

The indices $i, j$ of $D$ are summed away; what is left, $k, l$, are the indices of $W$. So **$dW$ has the
shape of $W$**, whatever the shape of $D$. Seed 000 puts it as its first "a-ha": each node stores the
gradient of the loss with respect to itself, never the Jacobian with respect to its neighbour, so nothing
bigger than the arrays themselves is ever stored.

This contraction, upstream gradient times Jacobian, is called a **vector-Jacobian product** (VJP). Every
`backward` rule in the engine computes a VJP directly from the inputs, without the Jacobian. For
$D = Wx$ the formula of section 1 makes it short:

$$
dW_{kl} = \sum_{i,j} dD_{ij}\, \delta_{ik}\, x_{lj} = \sum_j dD_{kj}\, x_{lj} = (dD\, x^\top)_{kl}.
$$

Check: contracting the 4-D Jacobian with a random $dD$ gives the same as $dD\,x^\top$.
""")

code(r"""
dD = rng.normal(size=(5, 3))
vjp_via_jacobian = np.einsum("ij,ijkl->kl", dD, J4)     # sum over i, j of dD_ij * dD_ij/dW_kl
print("VJP through the 4-D Jacobian equals dD @ x.T:", np.allclose(vjp_via_jacobian, dD @ x.T))
print("shape of dW:", (dD @ x.T).shape, "= shape of W:", W.shape)
""", tags=CHECKED)

md(r"""
How much would the Jacobian cost for a real network? Seed 001 trains an MLP with layers 784→64→64→10 on
batches of 128 MNIST images, in float32 (4 bytes a number). For one layer $y = xW + b$ with $x$ of shape
$(N, \text{in})$, the Jacobian $\partial y / \partial W$ has $N \cdot \text{out} \cdot \text{in} \cdot
\text{out}$ entries, and building it with one backward pass per output entry takes $N \cdot \text{out}$
passes. The VJP $dW$ is one array of $\text{in} \cdot \text{out}$ numbers from one pass.
""")

code(r"""
N = 128
print(f"{'layer':>10} | {'entries of dW':>13} | {'entries of dy/dW':>16} | {'dy/dW in float32':>16} | {'passes to build it':>18}")
for n_in, n_out in [(784, 64), (64, 64), (64, 10)]:
    jac = N * n_out * n_in * n_out
    print(f"{f'{n_in}->{n_out}':>10} | {n_in * n_out:>13,} | {jac:>16,} | {jac * 4 / 1e6:>13,.1f} MB | {N * n_out:>18,}")
""", tags=CHECKED)

md(r"""
1.6 GB (1,644 MB) for the first layer's Jacobian, to be multiplied by an upstream gradient and thrown away, against 50,176
numbers for $dW$. That is why `rules.py` says "the vector-Jacobian product, never the Jacobian": here is the
engine's matrix-product rule. Its `backward` receives the upstream gradient `g` and returns one VJP per input.
""")

code(r"""
print(inspect.getsource(rules.MatMul))
""")

# ============================================================================ 3. dimensional analysis
md(r"""
## 3. Dimensional analysis: only one way to fit

Deriving $dW = dD\,x^\top$ took a Kronecker delta and two sums. Seed 002 shows a shortcut that needs
none of it. For $D = Wx$:

| array | shape | why |
|---|---|---|
| $W$ | $(5, 10)$ | given |
| $x$ | $(10, 3)$ | given |
| $D = Wx$ | $(5, 3)$ | rows of $W$, columns of $x$ |
| $dD$ | $(5, 3)$ | a gradient has its variable's shape |
| $dW$ | $(5, 10)$ | a gradient has its variable's shape |
| $dx$ | $(10, 3)$ | a gradient has its variable's shape |

The scalar chain rule says $dW$ is "$dD$ times $x$" (the derivative of $Wx$ with respect to $W$ is $x$), but
not in which order or with which transposes. Try them all: $dD$ is $(5, 3)$, $x$ is $(10, 3)$; the only
product of the two (transposed or not, in either order) with shape $(5, 10)$ is
$(5, 3) \cdot (3, 10)$:

$$
dW = dD\, x^\top, \qquad \text{and likewise} \qquad dx = W^\top dD \;:\; (10, 5) \cdot (5, 3) = (10, 3).
$$

The table below tries all eight products for each gradient.
""")

code(r"""
print(shapes.as_text(shapes.matmul_shapes(W.shape, x.shape)))
""", tags=CHECKED)

md(r"""
Shapes are cheap evidence, so always confirm numerically. Take the scalar $L = \sum_{ij} D_{ij} G_{ij}$ for
a fixed random $G$: then $dD = G$ exactly, and central differences of $L$ give $dW$ and $dx$ to compare with
the formulas.
""")

code(r"""
G = rng.normal(size=(5, 3))
loss_of_W = lambda W_: np.sum((W_ @ x) * G)
loss_of_x = lambda x_: np.sum((W @ x_) * G)
dW_numeric = ref01.numerical_gradient(loss_of_W, W)
dx_numeric = ref01.numerical_gradient(loss_of_x, x)
print("dW = dD @ x.T  agrees with central differences:", max_rel_error(G @ x.T, dW_numeric) < 1e-7)
print("dx = W.T @ dD  agrees with central differences:", max_rel_error(W.T @ G, dx_numeric) < 1e-7)
""", tags=CHECKED)

md(r"""
**Try it.** Move the sliders to pick the shapes of $W$ and $x$. The table shows $D$, $dD$, $dW$, $dx$ and,
for each gradient, which of the eight candidate products can even be computed and which has the right shape.
Make two sizes equal (say $W$ of shape $(4, 4)$) and see dimensional analysis lose its power: several products
then fit, and only the values can tell them apart. Checks in this course use distinct sizes for that reason.
""")

code(r"""
shapes.shapes_widget(W_shape=(5, 10), x_shape=(10, 3))
""")

md(r"""
### Exercise 04.1 — matmul backward

Write `matmul_backward(W, x, dD)` that returns the tuple `(dW, dx)` for $D = W x$, given the upstream
gradient `dD` $= \partial L / \partial D$. All arrays are 2-D: `W` has shape $(m, n)$, `x` $(n, p)$ and `dD`
$(m, p)$; return `dW` of shape $(m, n)$ and `dx` of shape $(n, p)$. For example, with seed 002's `W` $(5, 10)$
and `x` $(10, 3)$, `dD` is $(5, 3)$, `dW` must come out $(5, 10)$ and `dx` $(10, 3)$. The sizes differ in
most test cases, so a wrong product raises a shape error; one case is square, where only the values can tell.
""")

exercise(r'''
def matmul_backward(W, x, dD):
    """Return (dW, dx) for D = W @ x, given dD = dL/dD."""
    ### BEGIN SOLUTION
    dW = dD @ x.T
    dx = W.T @ dD
    return dW, dx
    ### END SOLUTION
''', "04.1", 2, "return dW = dD @ x.T and dx = W.T @ dD")

code(r"""
check("04.1", matmul_backward)
""")

md(r"""
From here on the notebook uses `matmul_bw`: yours once it passes its check and you have switched the notebook
to "use my implementation" (notebook 00 shows how), the course's reference otherwise.
""")

code(r"""
matmul_bw = bl.exercises.use(matmul_backward, reference.matmul_backward, "04.1")
dW, dx = matmul_bw(W, x, G)
Wt, xt = bl.Tensor(W, requires_grad=True), bl.Tensor(x, requires_grad=True)
(Wt @ xt).backward(G)                                   # the engine's MatMul rule, through backward()
print("dW", dW.shape, "equals the engine's W.grad:", np.allclose(dW, Wt.grad))
print("dx", dx.shape, "equals the engine's x.grad:", np.allclose(dx, xt.grad))
""", tags=CHECKED)

# ============================================================================ 4. linear layer
md(r"""
## 4. The linear layer $y = xW + b$

Seed 004's linear layer (and `bl.nn.Linear`) stores a batch of inputs as rows: $x$ has shape $(N, \text{in})$,
$W$ has shape $(\text{in}, \text{out})$, the bias $b$ has shape $(\text{out},)$, and
$y = xW + b$ has shape $(N, \text{out})$. Dimensional analysis once more, with $dy$ of shape $(N, \text{out})$:

* $dW$ must be $(\text{in}, \text{out})$ from $x$ $(N, \text{in})$ and $dy$ $(N, \text{out})$: the batch size
  $N$ has to be summed away, so $dW = x^\top dy$, $(\text{in}, N) \cdot (N, \text{out})$;
* $dx$ must be $(N, \text{in})$ from $dy$ $(N, \text{out})$ and $W$ $(\text{in}, \text{out})$:
  $dx = dy\, W^\top$, $(N, \text{out}) \cdot (\text{out}, \text{in})$;
* $db$ must be $(\text{out},)$, but $dy$ is $(N, \text{out})$. What happened to $b$? Adding a vector of shape
  $(\text{out},)$ to a matrix of shape $(N, \text{out})$ **broadcasts** it: NumPy copies $b$ into every one of
  the $N$ rows. So each $b_j$ was used $N$ times, and by the rule "gradients add at forks" its gradient is the
  sum of the $N$ contributions:

$$
db_j = \sum_{n} dy_{nj}, \qquad db = \textstyle\sum_{\text{batch}} dy = \texttt{dy.sum(axis=0)}.
$$

Check all three against the engine, which knows none of these formulas: it composes a `MatMul` and an `Add`.
""")

code(r"""
x_b = rng.normal(size=(4, 3))      # N = 4, in = 3
W_l = rng.normal(size=(3, 2))      # out = 2
b_l = rng.normal(size=2)
dy = rng.normal(size=(4, 2))

xt, Wt, bt = (bl.Tensor(a, requires_grad=True) for a in (x_b, W_l, b_l))
(xt @ Wt + bt).backward(dy)
print("dx = dy @ W.T        :", np.allclose(xt.grad, dy @ W_l.T))
print("dW = x.T @ dy        :", np.allclose(Wt.grad, x_b.T @ dy))
print("db = dy.sum(axis=0)  :", np.allclose(bt.grad, dy.sum(axis=0)), " shape", bt.grad.shape)
print("and the engine against central differences:",
      bl.gradcheck(lambda a, w, c: a @ w + c, x_b, W_l, b_l))
""", tags=CHECKED)

md(r"""
### Exercise 04.2 — linear layer backward, with the bias

Write `linear_backward(x, W, b, dy)` returning the tuple `(dx, dW, db)` for $y = x W + b$, with the shapes
above: `x` $(N, \text{in})$, `W` $(\text{in}, \text{out})$, `b` $(\text{out},)$, `dy` $(N, \text{out})$; the three
gradients have the shapes of `x`, `W` and `b`. For example, with the batch above (`x` $(4, 3)$, `W` $(3, 2)$),
`dx` is $(4, 3)$, `dW` $(3, 2)$ and `db` $(2,)$ (not $(1, 2)$).
""")

exercise(r'''
def linear_backward(x, W, b, dy):
    """Return (dx, dW, db) for y = x @ W + b, given dy = dL/dy of shape (N, out)."""
    ### BEGIN SOLUTION
    dx = dy @ W.T
    dW = x.T @ dy
    db = dy.sum(axis=0)
    return dx, dW, db
    ### END SOLUTION
''', "04.2", 2, "return dx = dy @ W.T, dW = x.T @ dy, db = dy.sum(axis=0)")

code(r"""
check("04.2", linear_backward)
""")

md(r"""
The same formulas are what `bl.nn.Linear` gets from the engine. Train-step sized check: a `Linear(3, 2)` on the
batch above with a mean-squared-error loss.
""")

code(r"""
linear_bw = bl.exercises.use(linear_backward, reference.linear_backward, "04.2")
layer = bl.nn.Linear(3, 2, rng=np.random.default_rng(1))
target = rng.normal(size=(4, 2))
xin = bl.Tensor(x_b)
out = layer(xin)
loss = bl.nn.mse_loss(out, bl.Tensor(target))
loss.backward()
dy_mse = 2 * (out.data - target) / out.data.size       # dL/dy of the mean of squared errors
dx_l, dW_l, db_l = linear_bw(x_b, layer.W.data, layer.b.data, dy_mse)
print("Linear's W.grad equals x.T @ dy:", np.allclose(layer.W.grad, dW_l))
print("Linear's b.grad equals dy.sum(0):", np.allclose(layer.b.grad, db_l))
""", tags=CHECKED)

# ============================================================================ 5. element-wise
md(r"""
## 5. Element-wise in, element-wise out

Seed 000's last "a-ha": *an element-wise operation in the forward pass becomes an element-wise operation in
the backward pass*. For $y = \tanh(x)$ applied entry by entry, $y_i$ depends on $x_i$ only, so the Jacobian is
**diagonal**, $\partial y_i / \partial x_j = \delta_{ij} (1 - y_i^2)$, and the VJP keeps only the diagonal:

$$
dx_j = \sum_i dy_i\, \delta_{ij}\, (1 - y_i^2) = dy_j\, (1 - y_j^2), \qquad dx = dy \odot (1 - y^2).
$$

No matrix, just an element-wise product ($\odot$) of two arrays of the same shape. Here is the Jacobian of
$\tanh$ on 8 numbers, by central differences, and the check of the element-wise rule.
""")

code(r"""
z = rng.normal(size=8)
J_tanh = np.stack([ref01.numerical_gradient(lambda v: np.tanh(v)[i], z) for i in range(8)])
dy8 = rng.normal(size=8)
print("off-diagonal entries are zero:", np.allclose(J_tanh - np.diag(np.diag(J_tanh)), 0, atol=1e-9))
print("dy @ J equals dy * (1 - tanh(z)^2):", max_rel_error(dy8 @ J_tanh, dy8 * (1 - np.tanh(z) ** 2)) < 1e-7)
""", tags=CHECKED)

code(r"""
fig, axes = plt.subplots(1, 2, figsize=(8, 3.4))
for ax, (title, M) in zip(axes, [("Jacobian of tanh (element-wise): diagonal", J_tanh),
                                 ("Jacobian of A @ x: dense", rng.normal(size=(8, 8)))]):
    ax.imshow(M, cmap="RdBu_r", vmin=-1.5, vmax=1.5)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("input j")
    ax.set_ylabel("output i")
plt.tight_layout()
plt.show()
""")

# ============================================================================ 6. broadcasting
md(r"""
## 6. Broadcasting in the forward pass is a sum in the backward pass

The bias of section 4 was one case of a general pattern. NumPy's broadcasting lines shapes up **from the
right**; where one array has fewer axes, it gets new leading axes, and an axis of size 1 is stretched to match
the other array. Either way, entries are *copied*. A value copied $k$ times feeds $k$ places of the output, so
its gradient is the **sum** of the $k$ upstream gradients (gradients add at forks). To undo broadcasting from
the gradient's shape back to the input's shape:

1. sum away the leading axes that broadcasting prepended (**rank change**): from $(2, 3, 4)$ to $(3, 4)$ sum
   over axis 0;
2. sum, *keeping the axis*, wherever the input had size 1 and the output more: from $(3, 4)$ to $(3, 1)$ sum
   over axis 1 with `keepdims=True`.

| input shape | broadcast to | gradient sums over |
|---|---|---|
| $(4,)$ | $(3, 4)$ | axis 0 (prepended) |
| $(3, 1)$ | $(3, 4)$ | axis 1, keepdims |
| $(1, 4)$ | $(2, 3, 4)$ | axis 0 (prepended), then axis 0 of the rest, keepdims |
| $()$, a scalar | $(2, 3)$ | everything |

The engine does this in exactly **one** place, `unbroadcast`, which the backward driver calls on every gradient
a rule returns, so no rule ever thinks about broadcasting. (Seed 001's engine does the same; a 2020 version of
another small engine summed only the prepended axes and broke when a size-1 axis was stretched.)
""")

code(r"""
print(inspect.getsource(bl.unbroadcast))
""")

md(r"""
### Exercise 04.3 — `unbroadcast`

Write `unbroadcast(grad, shape)`: `grad` has the broadcast shape, `shape` (a tuple) is the shape the input had,
and the result must have exactly `shape`, following the two steps above. For example,
`unbroadcast(np.ones((2, 3, 4)), (3, 1))` sums axis 0 away and then axis 2 with `keepdims=True`: an array of
shape $(3, 1)$ whose entries are all $2 \cdot 4 = 8$. Tests include a scalar target `()`, unchanged shapes (return
`grad` as it is), and rank changes.
""")

exercise(r'''
def unbroadcast(grad, shape):
    """Sum grad (of the broadcast shape) back down to `shape`, the shape of the input before broadcasting."""
    ### BEGIN SOLUTION
    lead = grad.ndim - len(shape)
    if lead:
        grad = grad.sum(axis=tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad
    ### END SOLUTION
''', "04.3", 2, "sum away the leading axes, then sum with keepdims=True where shape has size 1")

code(r"""
check("04.3", unbroadcast)
""")

md(r"""
Numerical check of the pattern through the engine: a $(3, 1)$ column plus a $(4,)$ row broadcast to $(3, 4)$,
then a $(2, 3, 4)$ product with a $(1, 4)$ array (a rank change and a stretch at once).
""")

code(r"""
unbroadcast_ = bl.exercises.use(unbroadcast, reference.unbroadcast, "04.3")
col, row = rng.normal(size=(3, 1)), rng.normal(size=4)
ct, rt = bl.Tensor(col, requires_grad=True), bl.Tensor(row, requires_grad=True)
g34 = rng.normal(size=(3, 4))
(ct + rt).backward(g34)
print("d(col) = unbroadcast(g, (3, 1)):", np.allclose(ct.grad, unbroadcast_(g34, (3, 1))), ct.grad.shape)
print("d(row) = unbroadcast(g, (4,))  :", np.allclose(rt.grad, unbroadcast_(g34, (4,))), rt.grad.shape)
print("gradcheck of (2,3,4) * (1,4):", bl.gradcheck(lambda a, c: a * c, rng.normal(size=(2, 3, 4)), rng.normal(size=(1, 4))))
""", tags=CHECKED)

# ============================================================================ 7. reductions
md(r"""
## 7. Reductions: `sum` and `mean` re-insert the axis, `max` routes

**Sum.** $s = $ `x.sum(axis=1)` for $x$ of shape $(3, 4)$ gives $s_i = \sum_j x_{ij}$, shape $(3,)$. Every
$x_{ij}$ enters $s_i$ with coefficient 1, so

$$
\frac{\partial s_i}{\partial x_{kl}} = \delta_{ik}, \qquad dx_{kl} = \sum_i ds_i\, \delta_{ik} = ds_k .
$$

Every entry of row $k$ receives $ds_k$: the gradient is $ds$ **copied back along the reduced axis**. Sum is
broadcasting run backwards, and its backward is a broadcast. One subtlety (seed 001's table: "re-insert the
reduced dim"): $ds$ has shape $(3,)$, and broadcasting it straight to $(3, 4)$ aligns from the right, which
would spread it along the wrong axis (or fail). First put the reduced axis back as size 1,
`np.expand_dims(ds, 1)` of shape $(3, 1)$, then broadcast. With `keepdims=True` the axis is already there.

**Mean** is the sum divided by the number $n$ of averaged entries, so its gradient is the sum's divided by $n$.
""")

code(r"""
print(inspect.getsource(rules.Sum))
""")

code(r"""
x34 = rng.normal(size=(3, 4))
ds = np.array([1.0, 2.0, 3.0])
print("wrong: broadcast (3,) straight to (3, 4)? ", end="")
try:
    np.broadcast_to(ds, (3, 4))
except ValueError as exc:
    print(type(exc).__name__, "- NumPy aligns (3,) with the last axis of (3, 4), whose size is 4")
print("right: expand_dims then broadcast:\n", np.broadcast_to(np.expand_dims(ds, 1), (3, 4)))
xt = bl.Tensor(x34, requires_grad=True)
xt.sum(axis=1).backward(ds)
print("the engine agrees:", np.array_equal(xt.grad, np.broadcast_to(ds[:, None], (3, 4))))
""", tags=CHECKED)

md(r"""
### Exercise 04.4 — sum backward

Write `sum_backward(g, x_shape, axis=None, keepdims=False)`: the gradient with respect to `x` of
`x.sum(axis=axis, keepdims=keepdims)`, given its upstream gradient `g` (which has the shape of that sum). Return
an array of shape `x_shape`. `axis` may be `None` (all axes), an int (possibly negative) or a tuple of ints;
`np.expand_dims` accepts a tuple of axes, and with `keepdims=True` the reduced axes are already in `g` with
size 1. For example, `sum_backward(np.array([1.0, 2.0]), (2, 3), axis=1)` is `[[1, 1, 1], [2, 2, 2]]`, and so is
`sum_backward(np.array([[1.0], [2.0]]), (2, 3), axis=1, keepdims=True)`.
""")

exercise(r'''
def sum_backward(g, x_shape, axis=None, keepdims=False):
    """Gradient of x.sum(axis, keepdims) with respect to x (shape x_shape), given the upstream gradient g."""
    ### BEGIN SOLUTION
    if axis is None:
        axis = tuple(range(len(x_shape)))
    if not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, x_shape).copy()
    ### END SOLUTION
''', "04.4", 2, "re-insert the reduced axes with np.expand_dims (unless keepdims), then np.broadcast_to x_shape")

code(r"""
check("04.4", sum_backward)
""")

md(r"""
### Exercise 04.5 — mean backward

Write `mean_backward(g, x_shape, axis=None, keepdims=False)` for `x.mean(axis=axis, keepdims=keepdims)`, with
the same arguments as `sum_backward`. Reuse it: the next cell sets `sum_bw` to your `sum_backward` or the
reference, so call `sum_bw(g, x_shape, axis=axis, keepdims=keepdims)` and divide by $n$, the number of entries
averaged (the product of the reduced axes' sizes; all of `x` for `axis=None`). For example,
`mean_backward(np.array([3.0, 6.0]), (2, 3), axis=1)` is `[[1, 1, 1], [2, 2, 2]]`.
""")

code(r"""
sum_bw = bl.exercises.use(sum_backward, reference.sum_backward, "04.4")
""")

exercise(r'''
def mean_backward(g, x_shape, axis=None, keepdims=False):
    """Gradient of x.mean(axis, keepdims) with respect to x (shape x_shape), given the upstream gradient g."""
    ### BEGIN SOLUTION
    axes = range(len(x_shape)) if axis is None else np.atleast_1d(axis)
    n = int(np.prod([x_shape[a] for a in axes]))
    return sum_bw(g, x_shape, axis=axis, keepdims=keepdims) / n
    ### END SOLUTION
''', "04.5", 1, "sum_backward divided by n, the number of entries averaged")

code(r"""
check("04.5", mean_backward)
""")

code(r"""
mean_bw = bl.exercises.use(mean_backward, reference.mean_backward, "04.5")
x234 = rng.normal(size=(2, 3, 4))
g24 = rng.normal(size=(2, 4))
numeric = ref01.numerical_gradient(lambda v: np.sum(v.mean(axis=1) * g24), x234)
print("mean over axis 1 of a (2, 3, 4) array: every entry gets g / 3:",
      max_rel_error(mean_bw(g24, x234.shape, axis=1), numeric) < 1e-7)
""", tags=CHECKED)

md(r"""
**Max routes.** $m = \max_j x_j$ depends on one entry only, the largest (away from ties): moving any other
entry a little does not change $m$. So the whole upstream gradient goes to the position of the maximum and
every other entry gets $0$, the "max gate" of seed 002 that distributes the gradient to one input only. At a
tie the engine follows seed 001's rule: the first maximal entry wins.
""")

code(r"""
v = bl.Tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]], requires_grad=True)
v.max(axis=1).backward(np.array([10.0, 20.0]))
print(v.grad)
print("gradcheck of max over axis 1 (no ties):", bl.gradcheck(lambda a: a.max(axis=1), rng.normal(size=(3, 5))))
""", tags=CHECKED)

# ============================================================================ 8. softmax
md(r"""
## 8. Softmax: a vector-Jacobian product without the Jacobian

Softmax is not element-wise: every output depends on every input through the normaliser.

$$
s_i = \frac{e^{z_i}}{\sum_k e^{z_k}}, \qquad
\frac{\partial s_i}{\partial z_j} = \frac{e^{z_i}\delta_{ij}}{\sum_k e^{z_k}} - \frac{e^{z_i} e^{z_j}}{(\sum_k e^{z_k})^2}
= s_i(\delta_{ij} - s_j).
$$

The Jacobian $J = \operatorname{diag}(s) - s s^\top$ is a dense $n \times n$ matrix. But backpropagation needs
only the VJP:

$$
dz_j = \sum_i g_i \frac{\partial s_i}{\partial z_j} = \sum_i g_i s_i \delta_{ij} - \sum_i g_i s_i s_j
= s_j g_j - s_j \langle g, s\rangle = s_j\,(g_j - \langle g, s\rangle),
$$

with $g = ds$ and $\langle g, s\rangle = \sum_i g_i s_i$ one number (per row, for a batch). That is
$O(n)$ work and memory instead of $O(n^2)$. Check the Jacobian by central differences, and the VJP against it.
""")

code(r"""
def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


z6 = rng.normal(size=6)
s6 = softmax(z6)
J_soft = np.stack([ref01.numerical_gradient(lambda v: softmax(v)[i], z6) for i in range(6)])
g6 = rng.normal(size=6)
print("Jacobian = diag(s) - s s^T            :", max_rel_error(J_soft, np.diag(s6) - np.outer(s6, s6)) < 1e-6)
print("g @ J = s * (g - <g, s>), no Jacobian :", np.allclose(g6 @ J_soft, s6 * (g6 - g6 @ s6), atol=1e-9))
""", tags=CHECKED)

code(r"""
fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.4))
axes[0].imshow(J_soft, cmap="RdBu_r", vmin=-0.25, vmax=0.25)
axes[0].set_title("softmax Jacobian s_i(δ_ij - s_j): dense", fontsize=10)
axes[0].set_xlabel("input j")
axes[0].set_ylabel("output i")
axes[1].bar(range(6), s6)
axes[1].set_title("s = softmax(z): the diagonal is s(1 - s)", fontsize=10)
axes[1].set_xlabel("i")
plt.tight_layout()
plt.show()
""")

md(r"""
### Exercise 04.6 — softmax backward as a vector-Jacobian product

Write `softmax_backward(s, g)`: `s` is `softmax(z)` along the **last** axis (any number of leading batch
axes), `g` the upstream gradient of the same shape; return $dz = s \odot (g - \langle g, s\rangle)$, an array of
that shape, without building a Jacobian. $\langle g, s\rangle$ is one number per row (per position of the batch
axes). For example, for `s = [0.5, 0.5]` and `g = [1, 0]`: $\langle g, s\rangle = 0.5$ and
$dz = [0.5 \cdot 0.5,\ 0.5 \cdot (-0.5)] = [0.25, -0.25]$.
""")

exercise(r'''
def softmax_backward(s, g):
    """dL/dz for s = softmax(z, axis=-1), given s and g = dL/ds (same shape)."""
    ### BEGIN SOLUTION
    return s * (g - (g * s).sum(axis=-1, keepdims=True))
    ### END SOLUTION
''', "04.6", 2, "return s * (g - (g * s).sum(axis=-1, keepdims=True))")

code(r"""
check("04.6", softmax_backward)
""")

md(r"""
The engine has no softmax rule at all: `Tensor.softmax` is a composite of `max`, `exp`, `sum` and a division,
and the chain rule through those pieces must give the same VJP. One more check, on a batch:
""")

code(r"""
softmax_bw = bl.exercises.use(softmax_backward, reference.softmax_backward, "04.6")
zb = rng.normal(size=(4, 5))
gb = rng.normal(size=(4, 5))
zt = bl.Tensor(zb, requires_grad=True)
zt.softmax(axis=-1).backward(gb)
print("engine's composite softmax backward equals s * (g - <g, s>):", np.allclose(zt.grad, softmax_bw(softmax(zb), gb)))
print("gradcheck:", bl.gradcheck(lambda a: a.softmax(axis=-1), zb))
""", tags=CHECKED)

# ============================================================================ summary
md(r"""
## Summary

* A derivative's shape depends on the scenario: a number, a gradient vector, a Jacobian matrix, a 4-D array for
  matrix → matrix. For a **scalar loss**, though, $dA = \partial L / \partial A$ always has the shape of $A$.
* The engine never builds a Jacobian. Each backward rule computes a **vector-Jacobian product** from the
  inputs: for the first layer of seed 001's MLP the Jacobian would take 1.6 GB, the VJP 50,176 numbers.
* **Dimensional analysis**: write down the shapes; there is usually one way to make them fit.
  $D = Wx$: $dW = dD\,x^\top$, $dx = W^\top dD$. $y = xW + b$: $dW = x^\top dy$, $dx = dy\,W^\top$,
  $db = \sum_\text{batch} dy$. Confirm with central differences, and use distinct sizes so the shapes can
  decide.
* Patterns: element-wise forward ⇒ element-wise backward; broadcasting ⇒ sum (leading axes away, size-1 axes
  with keepdims), done in one place, `unbroadcast`; `sum`/`mean` ⇒ re-insert the reduced axis and broadcast
  (divide by $n$ for the mean); `max` ⇒ route to the maximum; softmax ⇒ $s \odot (g - \langle g, s\rangle)$.

**Next: notebook 05, Einstein notation.** The derivations here used indices, sums and a Kronecker delta. Seed
000 says "Einstein notation will save your life": write every operation as an `einsum`, and the gradient of any
operand is read off by swapping subscripts, a rule that covers matmul, batched matmul, traces and attention
scores at once.
""")


if __name__ == "__main__":
    notebook.main(sys.argv[1:])
