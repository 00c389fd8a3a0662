"""Build ``solutions/09_debugging_gradients.ipynb`` (the instructor notebook) from this script.

    python solutions/_build/build_09.py            # write the notebook without outputs
    python solutions/_build/build_09.py --execute  # ... then run it (cwd solutions/) and save the outputs

Edit the notebook's text and code here, not in the .ipynb, so that it can be regenerated.
Cell ids are fixed ("c09-007"), so a rebuild changes only what was edited.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))   # find nbbuild also when loaded by file path (tests)
from nbbuild import CHECKED, Notebook  # noqa: E402

notebook = Notebook("09", "09_debugging_gradients.ipynb")
md, code, exercise = notebook.md, notebook.code, notebook.exercise
TARGET = notebook.target
build = notebook.build

# ============================================================================ title and goals
md(r"""
# 09 · Debugging gradients: the bugs every learner hits

A wrong gradient rarely crashes. The loss goes down a little slower, or plateaus, or turns into `nan` after an
hour, and nothing says why. This notebook is a field guide: each section plants one of the bugs that everyone
who writes backpropagation meets sooner or later, shows what it looks like from the outside, explains it, and
fixes it. Most of them you can now recognise from their fingerprints alone.

**Learning goals.** After this notebook you can

1. explain why a recursive topological sort fails on deep graphs, and write the iterative one;
2. recognise gradients that pile up (no zeroing), that are overwritten at a fork (`=` instead of `+=`), that have
   the wrong shape (a forgotten unbroadcast), or that were computed from an array changed in place;
3. derive how the size of signals and gradients changes from layer to layer, and from it the Glorot and He
   initialisations; diagnose vanishing and exploding gradients with per-layer gradient norms;
4. spot dead ReLUs, NaNs from an unstable softmax, and a learning rate that diverges (and derive the limit);
5. use `bl.check_graph` to find *which* operation of a graph has a wrong backward.

Each of the six exercises starts from a broken function, shown and run just above it; you write the fixed
version in the exercise cell, and `check` verifies it (the check rejects the broken original, so you cannot pass by
accident). After each one, the notebook carries on with the course's fixed version, so every later cell runs
whether or not you have solved it.
""")

code(r"""
import inspect
import sys
import time

import matplotlib.pyplot as plt
import numpy as np

import backprop_lab as bl
from backprop_lab.exercises import check
from backprop_lab.exercises.nb09 import reference     # the course's fixed versions of this notebook's functions

rng = np.random.default_rng(9)
np.set_printoptions(precision=4, suppress=True)
notebook_start = time.perf_counter()
""")

# ============================================================================ 1. topological sort
md(r"""
## 1. A recursive topological sort, and a deep graph

Backpropagation must visit a node only after every node that *uses* it has handed it its share of the gradient:
reverse topological order. The textbook way to get that order is a recursive depth-first search (micrograd's
`build_topo`, and notebook 02's exercise): visit the parents, then append the node. The engine keeps that version,
for this section only:
""")

code(r"""
recursive_topo_sort = bl.autograd.recursive_topo_sort
print(inspect.getsource(recursive_topo_sort))
print("this kernel's recursion limit: sys.getrecursionlimit() =", sys.getrecursionlimit())
""")

md(r"""
It is correct, short and readable, and it breaks on a long chain. Each nested `visit` is a Python stack frame, and
Python refuses to go deeper than `sys.getrecursionlimit()` frames to protect the C stack: 1000 by default, 3000
in a Jupyter kernel. A recurrent network unrolled over a few thousand time steps, or any long loop of scalar
operations, is such a chain. Here are 5000 `tanh`s in a row:
""")

code(r"""
x = bl.Value(0.5, label="x")
y = x
for _ in range(5000):
    y = y.tanh()
try:
    recursive_topo_sort(y)
    print("the recursive sort worked")
except RecursionError:
    print("the recursive sort raised RecursionError")
print("the engine's iterative topo_sort:", len(bl.autograd.topo_sort(y)), "nodes")
""", tags=CHECKED)

md(r"""
The engine's `bl.autograd.topo_sort` has no such limit, so `backward()` works on this chain. A numeric check: by
the chain rule the derivative is the product of the 5000 local derivatives $1 - \tanh^2(v_k)$, which we can compare
with a central difference of the whole chain.
""")

code(r"""
y.backward()


def chain(v, n=5000):
    for _ in range(n):
        v = np.tanh(v)
    return v


h = 1e-6
print(f"backprop dy/dx = {x.grad:.4e}")
print(f"central diff   = {(chain(0.5 + h) - chain(0.5 - h)) / (2 * h):.4e}")
""", tags=CHECKED)

md(r"""
(Both are tiny: after 5000 tanhs the output barely depends on the input. Section 6 comes back to that.)

### Exercise 09.1 — make it iterative

Rewrite the sort without recursion. Keep your own stack, a Python list, of the nodes still to process. One way:
push `(node, False)`; when you pop `(node, False)` the first time, push `(node, True)` back, then its unseen parents;
when you pop `(node, True)`, all its parents are done, so append it. Requirements: every ancestor of the root once,
each node after all of its parents, the root last, any depth.
""")

exercise(r'''
def topo_sort(root):
    """All nodes root depends on (via ._prev), parents before children, root last; no recursion."""
    ### BEGIN SOLUTION
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((p, False) for p in node._prev if p not in seen)
    return order
    ### END SOLUTION
''', "09.1", 2, "return the nodes parents-first and the root last, using your own stack instead of recursion")

code(r"""
check("09.1", topo_sort)
""")

code(r"""
sort = bl.exercises.use(topo_sort, reference.topo_sort, "09.1")
order = sort(y)
print(len(order), "nodes; the input first:", order[0] is x, "; the output last:", order[-1] is y)
""", tags=CHECKED)

# ============================================================================ 2. piling up
md(r"""
## 2. `backward()` twice: gradients pile up

`backward()` **adds** into `.grad`. It must: a value used twice receives a share from each use (section 3), and
the engine cannot know whether a share in `.grad` came from this pass or from an earlier one. So if nothing resets
`.grad` between two passes, the second adds on top of the first. For $L = \sum_i w_i^2$, $\partial L/\partial w = 2w$:
""")

code(r"""
w = bl.Tensor([1.0, -2.0], requires_grad=True)
for attempt in range(1, 4):
    (w * w).sum().backward()
    print(f"after backward #{attempt}: w.grad = {w.grad}   (2w = {2 * w.data})")
w.grad = None                     # what zero_grad() does
(w * w).sum().backward()
print("after zeroing, once more:", w.grad)
""", tags=CHECKED)

md(r"""
In a training loop the same mistake (no `zero_grad()`) turns gradient descent into something else. After $k$
steps the "gradient" used is $G_k = \sum_{j \le k} g_j$: every past gradient, never forgotten. On $L = \tfrac12 w^2$
(gradient $w$) with learning rate 0.1, proper descent shrinks $w$ by 0.9 each step; with piled-up gradients the
step keeps growing as long as $w$ is positive, so $w$ overshoots 0, and then it swings back and forth without
ever settling:
""")

code(r"""
def descend(zero_grad, steps=60, lr=0.1):
    w = bl.Tensor([1.0], requires_grad=True)
    path = []
    for _ in range(steps):
        if zero_grad:
            w.grad = None
        (0.5 * w * w).sum().backward()
        w.data -= lr * w.grad
        path.append(w.data[0])
    return np.array(path)


good, piled = descend(True), descend(False)
print("with zero_grad   : w after 10, 30, 60 steps =", good[[9, 29, 59]])
print("without zero_grad: w after 10, 30, 60 steps =", piled[[9, 29, 59]])
""", tags=CHECKED)

md(r"""
The first line is $0.9^{k}$, as derived. The second is a heavy ball with no friction: the accumulated gradient acts
like an undamped momentum. In formulas, $w_{k+1} = w_k - \eta\,G_k$ and $G_{k+1} = G_k + w_{k+1}$: the step from
$(w_k, G_k)$ to $(w_{k+1}, G_{k+1})$ is a linear map with matrix $\begin{pmatrix}1 & -\eta\\ 1 & 1-\eta\end{pmatrix}$,
whose determinant is exactly 1, so it shrinks nothing: $|w|$ keeps returning to about 1, as printed, forever. The
fix is one line at the top of every step, `optimizer.zero_grad()`, which is exactly why seed 001's loop starts
with it.

## 3. Fan-out: `=` where `+=` was needed

A value used in two places receives a gradient from each: by the multivariate chain rule, if $L$ depends on $x$
through $u = f(x)$ and $v = g(x)$, then $\frac{\partial L}{\partial x} = \frac{\partial L}{\partial u}\frac{\partial u}{\partial x} + \frac{\partial L}{\partial v}\frac{\partial v}{\partial x}$.
Seed 000 called it the gotcha of `x_i x_i`. The smallest case is $x \cdot x$: both inputs of the multiplication are
$x$, and $\frac{d(x\cdot x)}{dx} = x + x = 2x$. Here is a multiplication's backward that overwrites:
""")

code(r"""
class Scalar:
    # Just data and grad: all that a multiplication's backward touches.
    def __init__(self, data, grad=0.0):
        self.data, self.grad = data, grad


def broken_mul_backward(a, b, out):
    a.grad = b.data * out.grad          # `=`: the share from the other use of a is lost
    b.grad = a.data * out.grad


x = Scalar(3.0)
out = Scalar(x.data * x.data, grad=1.0)
broken_mul_backward(x, x, out)
print("broken: d(x*x)/dx at x = 3 is", x.grad, "; it should be 2x =", 2 * x.data)
v = bl.Value(3.0)
(v * v).backward()
print("engine's Value:", v.grad)
""", tags=CHECKED)

md(r"""
The fingerprint: a gradient that is exactly *half* (or another fraction) of the right one, and only for values
used more than once. The check's hint says "`=` instead of `+=`" when it sees it.

### Exercise 09.2 — accumulate

Write the fixed `mul_backward(a, b, out)` for `out = a * b`: add each input's share to its `.grad` (return
nothing). The check calls it with `a` and `b` the same object, as in `x * x`, and with inputs whose `.grad` already
holds a share from another use, which must survive.
""")

exercise(r'''
def mul_backward(a, b, out):
    """out = a * b: add d(out)/da * out.grad to a.grad and d(out)/db * out.grad to b.grad."""
    ### BEGIN SOLUTION
    a.grad += b.data * out.grad
    b.grad += a.data * out.grad
    ### END SOLUTION
''', "09.2", 1, "add each input's share to its .grad with +=, instead of overwriting it with =")

code(r"""
check("09.2", mul_backward)
""")

code(r"""
mul_bw = bl.exercises.use(mul_backward, reference.mul_backward, "09.2")
x = Scalar(3.0)
mul_bw(x, x, Scalar(9.0, grad=1.0))
print("d(x*x)/dx at x = 3:", x.grad)
""", tags=CHECKED)

# ============================================================================ 4. unbroadcast
md(r"""
## 4. A forgotten unbroadcast

An affine layer scales and shifts every feature: $y = x \odot \gamma + \beta$ with $x$ of shape $(N, D)$ and $\gamma, \beta$ of
shape $(D,)$ (layer normalisation ends with one). NumPy broadcasts $\gamma$ and $\beta$ along the rows: the same $\gamma_d$ is
used by all $N$ rows. A value used $N$ times gets $N$ shares (section 3 again), so in index notation

$$
y_{nd} = x_{nd}\gamma_d + \beta_d \quad\Longrightarrow\quad
\frac{\partial L}{\partial \gamma_d} = \sum_n g_{nd}\,x_{nd},\qquad
\frac{\partial L}{\partial \beta_d} = \sum_n g_{nd},\qquad
\frac{\partial L}{\partial x_{nd}} = g_{nd}\,\gamma_d ,
$$

with $g = \partial L/\partial y$. The sum over $n$ is the "unbroadcast". Forget it and the gradient of $\beta$ has shape
$(N, D)$ instead of $(D,)$. Numeric check against the engine, which unbroadcasts in one place for every rule:
""")

code(r"""
x = rng.normal(size=(4, 3)); gamma = rng.normal(size=3); beta = rng.normal(size=3); g = rng.normal(size=(4, 3))
xt, gt, bt = (bl.Tensor(a, requires_grad=True) for a in (x, gamma, beta))
(xt * gt + bt).backward(g)
print("dgamma: formula", (g * x).sum(axis=0), " engine", gt.grad)
print("dbeta : formula", g.sum(axis=0), " engine", bt.grad)
print("dx matches:", np.allclose(g * gamma, xt.grad))
""", tags=CHECKED)

code(r"""
def broken_affine_backward(x, gamma, beta, grad_out):
    dx = grad_out * gamma
    dgamma = grad_out * x               # shape (N, D): one share per row, never added up
    dbeta = grad_out
    return dx, dgamma, dbeta


print("shapes of the broken gradients:", [a.shape for a in broken_affine_backward(x, gamma, beta, g)])
""", tags=CHECKED)

md(r"""
Shapes are the tell: a gradient always has exactly the shape of the thing it is the gradient of. If a later
`gamma -= lr * dgamma` does not fail outright, it broadcasts the wrong way and silently turns $\gamma$ into a matrix.

### Exercise 09.3 — sum the copies back

Write the fixed `affine_backward(x, gamma, beta, grad_out)`: return `(dx, dgamma, dbeta)`, with the shapes of `x`,
`gamma` and `beta`. `x` may have more than two axes, e.g. $(B, T, D)$ for a batch of sequences: then $\gamma$ was
copied along every axis but the last, and the sum runs over all of them.
""")

exercise(r'''
def affine_backward(x, gamma, beta, grad_out):
    """Gradients (dx, dgamma, dbeta) of y = x * gamma + beta; gamma and beta have shape (D,)."""
    ### BEGIN SOLUTION
    lead = tuple(range(x.ndim - 1))
    dx = grad_out * gamma
    dgamma = (grad_out * x).sum(axis=lead)
    dbeta = grad_out.sum(axis=lead)
    return dx, dgamma, dbeta
    ### END SOLUTION
''', "09.3", 2, "return (dx, dgamma, dbeta), summing dgamma and dbeta over every axis but the last")

code(r"""
check("09.3", affine_backward)
""")

code(r"""
affine_bw = bl.exercises.use(affine_backward, reference.affine_backward, "09.3")
x3 = rng.normal(size=(2, 5, 3))
print("shapes for x of shape (2, 5, 3):", [a.shape for a in affine_bw(x3, gamma, beta, np.ones_like(x3))])
""", tags=CHECKED)

# ============================================================================ 5. in place
md(r"""
## 5. Changing a saved array in place

To run backward later, an operation *saves* arrays during the forward pass: `tanh` saves its output $y$ (its
derivative is $1 - y^2$), a multiplication saves both inputs. It saves the arrays themselves, not copies, because
copying every intermediate result would double the memory of training. The price: change one of those arrays in
place between the forward and the backward pass and the backward computes with the new numbers, silently.

$L = \sum_i \tanh(x_i)^2$ has $\partial L/\partial x_i = 2\tanh(x_i)\,(1 - \tanh^2 x_i)$. Below, an innocent-looking line
"clears" the hidden values after the forward pass, say to reuse the buffer:
""")

code(r"""
x0 = np.array([-1.0, 0.5, 2.0])
right = 2 * np.tanh(x0) * (1 - np.tanh(x0) ** 2)

xt = bl.Tensor(x0.copy(), requires_grad=True)
hidden = xt.tanh()
loss = (hidden * hidden).sum()
hidden.data[...] = 0.0                   # in place: the very array tanh and * saved for backward
loss.backward()
print("derivative        :", right)
print("after the in-place:", xt.grad)
""", tags=CHECKED)

md(r"""
All zeros, and no error. (PyTorch catches this case with a version counter on every tensor; our engine, like
NumPy, trusts you.) The same bug hides inside an operation's own forward when it writes its result into its input
to save memory, `np.tanh(x, out=x)`: the input it saved is now $\tanh x$, the caller's tensor is overwritten too,
and the backward computes $1 - \tanh^2(\tanh x)$.
""")

code(r"""
class InPlaceTanh(bl.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.tanh(x, out=x)           # saves memory... and overwrites x, which was just saved

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * (1 - np.tanh(x) ** 2)


xt = bl.Tensor(x0.copy(), requires_grad=True)
InPlaceTanh.apply(xt).backward(np.ones(3))
print("x after the forward pass:", xt.data, " (was", x0, ")")
print("gradient:", xt.grad, " expected", 1 - np.tanh(x0) ** 2)
""", tags=CHECKED)

md(r"""
### Exercise 09.4 — a Tanh that leaves its input alone

Write both methods of a `Tanh` Function that leaves its input alone: `forward(ctx, x)` returns $\tanh x$ in a
**new** array, without changing `x`, and saves what the backward needs with `ctx.save_for_backward(...)`;
`backward(ctx, g)` reads it back from `ctx.saved` and returns `g` times the derivative. (Saving the output $y$ is
the natural choice, since $\frac{d\tanh x}{dx} = 1 - y^2$.)
""")

exercise(r'''
class Tanh(bl.Function):
    """y = tanh(x), without modifying x; backward returns g * dy/dx."""

    @staticmethod
    def forward(ctx, x):
        ### BEGIN SOLUTION
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y
        ### END SOLUTION

    @staticmethod
    def backward(ctx, g):
        ### BEGIN SOLUTION
        (y,) = ctx.saved
        return g * (1 - y * y)
        ### END SOLUTION
''', "09.4", 2, "forward: tanh into a new array (x untouched), save what backward needs; backward: g times the derivative")

code(r"""
check("09.4", Tanh)
""")

code(r"""
TanhFn = bl.exercises.use(Tanh, reference.Tanh, "09.4")
xt = bl.Tensor(x0.copy(), requires_grad=True)
TanhFn.apply(xt).backward(np.ones(3))
print("x unchanged:", np.array_equal(xt.data, x0), "; gradient right:", np.allclose(xt.grad, 1 - np.tanh(x0) ** 2))
""", tags=CHECKED)

# ============================================================================ 6. softmax NaN
md(r"""
## 6. NaNs from an unstable softmax

The textbook log-softmax, $\log\big(e^{z_i} / \sum_j e^{z_j}\big)$, is fine on paper. In float64, $e^{z}$ overflows to `inf`
for $z > 709$, and `inf / inf` is `nan`. Logits of a few hundred happen as soon as training goes a little wrong, and one
`nan` in the loss spreads to every weight in the next step.

The cure is an identity. For any constant $c$, multiplying numerator and denominator by $e^{-c}$ changes nothing:

$$
\log\frac{e^{z_i}}{\sum_j e^{z_j}} = \log\frac{e^{z_i - c}}{\sum_j e^{z_j - c}} = (z_i - c) - \log\sum_j e^{z_j - c}.
$$

With $c = \max_j z_j$, the largest exponent is $e^0 = 1$: nothing overflows, the sum is at least 1 so its log is finite,
and whatever underflows to 0 was negligible anyway. This is seed 001's stable cross-entropy. Check, on logits where
both formulas can be computed, that the shift changes nothing; then on large ones:
""")

code(r"""
def broken_log_softmax(z):
    e = np.exp(z)
    return np.log(e / e.sum(axis=1, keepdims=True))


small = np.array([[1.0, 2.0, 3.0]])
big = np.array([[1000.0, 1001.0, 1002.0]])
shifted = small - small.max(axis=1, keepdims=True)
print("small, textbook:", broken_log_softmax(small))
print("small, shifted :", shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))
with np.errstate(over="ignore", invalid="ignore"):
    print("big, textbook  :", broken_log_softmax(big))
""", tags=CHECKED)

md(r"""
### Exercise 09.5 — a log-softmax that never overflows

Write the fixed `log_softmax(z)` for `z` of shape $(N, C)$, one row per example; return an array of the same shape. Shift **each row by its own maximum**: rows can
differ by thousands, and a shift by the maximum of the whole array would underflow the rows far below it.
""")

exercise(r'''
def log_softmax(z):
    """log softmax of each row of z (shape (N, C)), finite for any finite z."""
    ### BEGIN SOLUTION
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    ### END SOLUTION
''', "09.5", 2, "return the log-softmax of each row, shifting each row by its own maximum first")

code(r"""
check("09.5", log_softmax)
""")

code(r"""
log_softmax_ = bl.exercises.use(log_softmax, reference.log_softmax, "09.5")
print(log_softmax_(np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1003.0]])))
""", tags=CHECKED)

# ============================================================================ 7. init, vanishing, exploding
md(r"""
## 7. Vanishing and exploding gradients; Glorot and He

### How big are signals and gradients after many layers? A derivation

Take a layer $z = x W$ with $n_\text{in}$ inputs and $n_\text{out}$ outputs, weights independent with mean 0 and
variance $\sigma^2$, independent of inputs with mean 0. Each $z_k = \sum_i x_i W_{ik}$ is a sum of $n_\text{in}$
independent terms, so

$$
\operatorname{Var}(z_k) = n_\text{in}\,\sigma^2\,\operatorname{Var}(x_i). \qquad\text{(forward)}
$$

Backward, $\partial L/\partial x = (\partial L/\partial z)\,W^\top$: each $\partial L/\partial x_i$ is a sum of $n_\text{out}$ terms,

$$
\operatorname{Var}\!\Big(\frac{\partial L}{\partial x_i}\Big) = n_\text{out}\,\sigma^2\,\operatorname{Var}\!\Big(\frac{\partial L}{\partial z_k}\Big). \qquad\text{(backward)}
$$

Through $L$ layers these factors **multiply**: $(n\sigma^2)^L$. With $n = 256$ and $\sigma = 1$ that is $256^L$, an explosion;
with $\sigma = 0.01$ it is $0.0256^L$, a vanishing. Only $n\sigma^2 \approx 1$ keeps signals and gradients the same size in
every layer. Activations change the factor: tanh is about the identity near 0 (factor 1) and squashes large inputs;
ReLU zeroes half of a symmetric input, halving its second moment.

* **Glorot (Xavier) initialisation**, for tanh and sigmoid: a compromise between the forward and the backward
  conditions, $\sigma^2 = \dfrac{2}{n_\text{in} + n_\text{out}}$, e.g. uniform on $[-a, a]$ with $a = \sqrt{6/(n_\text{in}+n_\text{out})}$
  (a uniform distribution on $[-a, a]$ has variance $a^2/3$).
* **He (Kaiming) initialisation**, for ReLU: $\sigma^2 = \dfrac{2}{n_\text{in}}$, the 2 compensating the half that ReLU zeroes.

Numeric check of the forward formula on one layer:
""")

code(r"""
xs = rng.normal(size=(2000, 256))
for sigma in (1.0, 0.01, np.sqrt(1 / 256)):
    z = xs @ rng.normal(0, sigma, size=(256, 128))
    print(f"sigma = {sigma:.4f}: predicted Var(z) = {256 * sigma**2:8.4f}, measured {z.var():8.4f}")
""")

md(r"""
Now the per-layer **gradient norms** of a 20-layer tanh network (width 128, one batch of 256 random inputs), for
three initialisations. Plotting $\lVert \partial L / \partial W_\ell \rVert$ against the layer $\ell$ is the first
thing to look at when a deep network does not learn: a healthy network has roughly flat norms.
""")

code(r"""
def layer_grad_norms(init, activation="tanh", depth=20, width=128, seed=0):
    # Gradient norm of each layer's W for one backward pass of a deep MLP with the given initialisation.
    r = np.random.default_rng(seed)
    Ws = []
    for _ in range(depth):
        if init == "N(0, 1)":
            W = r.normal(0, 1, size=(width, width))
        elif init == "N(0, 0.01)":
            W = r.normal(0, 0.01, size=(width, width))
        elif init == "Glorot":
            W = r.uniform(-np.sqrt(6 / (2 * width)), np.sqrt(6 / (2 * width)), size=(width, width))
        else:
            W = r.normal(0, np.sqrt(2 / width), size=(width, width))
        Ws.append(bl.Tensor(W, requires_grad=True))
    h = bl.Tensor(r.normal(size=(256, width)))
    for W in Ws:
        h = getattr(h @ W, activation)()
    (h * h).mean().backward()
    return np.array([np.linalg.norm(W.grad) for W in Ws])


fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
for ax, act, inits in [(axes[0], "tanh", ["N(0, 1)", "N(0, 0.01)", "Glorot"]),
                       (axes[1], "relu", ["N(0, 0.01)", "Glorot", "He"])]:
    for init in inits:
        norms = layer_grad_norms(init, act)
        ax.semilogy(range(1, 21), np.maximum(norms, 1e-300), "o-", ms=3, label=init)
        print(f"{act:4s} {init:10s}: |dL/dW| layer 1 = {norms[0]:.1e}, layer 20 = {norms[-1]:.1e}")
    ax.set_title(f"20-layer {act} network")
    ax.set_xlabel("layer")
    ax.legend()
axes[0].set_ylabel("gradient norm of W (log scale)")
fig.tight_layout()
plt.show()
""")

md(r"""
How to read it. With $\sigma = 0.01$ each layer multiplies the backward signal by about $\sqrt{128}\cdot 0.01 \approx 0.11$:
after 20 layers the gradients are tens of orders of magnitude too small and nothing learns (vanishing). With
$N(0, 1)$ the factor is about $\sqrt{128} \approx 11$, only partly tamed by the saturated tanh units (where
$1 - y^2 \approx 0$): the gradients grow layer after layer towards the input (exploding), and the first layers would take
steps millions of times larger than the last. Glorot keeps the tanh network's norms within a small factor across
all 20 layers. In the ReLU network, Glorot's variance is about half of what ReLU needs, so the signal's second moment
halves at every layer and everything ends up about $2^{-20} \approx 10^{-6}$ too small; He's factor 2 fixes exactly that.

A sigmoid network is harder still: $\sigma'(z) \le 1/4$, so every layer multiplies the gradient by at most a quarter
on top of the weights; that, more than anything, is why hidden layers use tanh or ReLU.

### Exercise 09.6 — initialise by the activation

`init_weights(n_in, n_out, activation, rng)` below draws standard normal weights whatever the layer: fix it to use
He for `"relu"` and Glorot for `"tanh"` and `"sigmoid"`. Return an array of shape `(n_in, n_out)` (we compute
`x @ W`), drawn from `rng` (so the same seed gives the same weights). The check measures the standard deviation of
your weights (within 5 %) and their mean, and calls your function twice with generators of the same seed.
""")

code(r"""
def broken_init_weights(n_in, n_out, activation, rng):
    return rng.normal(0.0, 1.0, size=(n_in, n_out))


print("std of the broken weights:", broken_init_weights(784, 256, "relu", np.random.default_rng(0)).std().round(2),
      "; He asks for", round(np.sqrt(2 / 784), 4))
""", tags=CHECKED)

exercise(r'''
def init_weights(n_in, n_out, activation, rng):
    """Weights (n_in, n_out): He (std sqrt(2/n_in)) for "relu", Glorot (var 2/(n_in+n_out)) for "tanh"/"sigmoid"."""
    ### BEGIN SOLUTION
    if activation == "relu":
        return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
    a = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, size=(n_in, n_out))
    ### END SOLUTION
''', "09.6", 2, "return (n_in, n_out) weights drawn from rng: He for relu, Glorot for tanh and sigmoid")

code(r"""
check("09.6", init_weights)
""")

code(r"""
init_ = bl.exercises.use(init_weights, reference.init_weights, "09.6")
for act in ("relu", "tanh"):
    W = init_(784, 256, act, np.random.default_rng(0))
    print(f"{act}: std {W.std():.4f}; He sqrt(2/784) = {np.sqrt(2 / 784):.4f}, Glorot sqrt(2/1040) = "
          f"{np.sqrt(2 / 1040):.4f}")
""")

md(r"""
`bl.nn.Linear(n_in, n_out, init="he")` (the default) and `init="glorot"` do the same; `bl.nn.MLP` picks He for ReLU
and Glorot otherwise.

## 8. Dead ReLUs

A ReLU unit whose pre-activation is negative for *every* input outputs 0 everywhere, and its gradient,
$g \cdot [z > 0]$, is 0 everywhere too: nothing will ever move its weights again. It is dead. A single step that is
far too large can kill many units at once, typically by pushing their biases very negative. Here is a small network
on the two-moons data before and after one step with a learning rate of 50:
""")

code(r"""
xm, ym = bl.datasets.two_moons(400, noise=0.15, rng=0)


def dead_units(model, x):
    # One boolean per hidden ReLU unit: True if it outputs 0 for every input in x.
    h, dead = bl.Tensor(x), []
    with bl.no_grad():
        for layer in model.layers:
            h = layer(h)
            if isinstance(layer, bl.nn.ReLU):
                dead.append(h.data.max(axis=0) <= 0)
    return np.concatenate(dead)


def step(model, lr):
    opt = bl.optim.SGD(model.parameters(), lr=lr)
    opt.zero_grad()
    loss = bl.nn.cross_entropy(model(bl.Tensor(xm)), ym)
    loss.backward()
    opt.step()
    return loss.item()


net = bl.nn.MLP([2, 64, 64, 2], rng=np.random.default_rng(0))
twin = bl.nn.MLP([2, 64, 64, 2], rng=np.random.default_rng(0))     # the same network, trained sensibly
print(f"fresh network: {dead_units(net, xm).mean():.0%} of the 128 hidden units dead")
step(net, lr=50.0)
killed = dead_units(net, xm)
print(f"after one step with lr = 50: {killed.mean():.0%} dead")
for _ in range(300):
    step(net, lr=0.1)
    step(twin, lr=0.1)
dead = dead_units(net, xm)
print(f"after 300 more steps with lr = 0.1: {dead.mean():.0%} dead; of the units the big step killed, "
      f"{int((killed & ~dead).sum())} came back")
print(f"the twin, trained with lr = 0.1 only: {dead_units(twin, xm).mean():.0%} dead")
""")

md(r"""
Few of the units the big step killed come back (the count is printed above): a dead unit gets no gradient, so a
sensible learning rate cannot revive it (a unit of the second layer can come back only if the first layer's outputs happen to change
enough; a dead unit of the first layer never can). Worse, the step blew some weights up, and in the steps that
follow more units die. The twin that never took the big step
keeps almost all of its units. Symptoms: a network that learns as if it were much smaller, and hidden activations that are exactly 0 for every example of a batch.
Remedies: a smaller learning rate, He initialisation, and if need be an activation with a non-zero slope for
negative inputs (leaky ReLU).

## 9. A learning rate that diverges

Near a minimum, a loss looks like a quadratic. Take $L(w) = \tfrac{\lambda}{2} w^2$, with curvature $\lambda > 0$. Its
gradient is $\lambda w$, and one step of gradient descent is

$$
w_{t+1} = w_t - \eta\lambda w_t = (1 - \eta\lambda)\,w_t \quad\Longrightarrow\quad w_t = (1 - \eta\lambda)^t w_0 .
$$

This converges if and only if $|1 - \eta\lambda| < 1$, that is $0 < \eta < 2/\lambda$; for $\eta > 2/\lambda$ every step
overshoots further than the last and $|w|$ grows geometrically. With many parameters the steepest direction
(the largest eigenvalue of the Hessian) sets the limit: $\eta < 2/\lambda_\text{max}$. Numeric check with $\lambda = 4$, so the
limit is $\eta = 0.5$:
""")

code(r"""
lam = 4.0
for eta in (0.1, 0.45, 0.55):
    w = 1.0
    for _ in range(50):
        w -= eta * lam * w
    print(f"eta = {eta:4}: 1 - eta*lambda = {1 - eta * lam:+.2f}, w after 50 steps = {w:.3e}")
""", tags=CHECKED)

md(r"""
On a real network the limit is not known in advance, but divergence looks the same: within a few steps the loss
shoots up and stays high, or overflows to `inf` and then `nan`. Three learning rates on the two-moons network:
""")

code(r"""
fig, ax = plt.subplots(figsize=(6, 3.4))
for lr in (0.1, 1.0, 100.0):
    net = bl.nn.MLP([2, 32, 32, 2], rng=np.random.default_rng(1))
    with np.errstate(all="ignore"):
        losses = [step(net, lr) for _ in range(100)]
    ax.semilogy(np.nan_to_num(losses, nan=1e30, posinf=1e30), label=f"lr = {lr}")
    print(f"lr = {lr:5}: loss after 1, 10, 100 steps = {losses[0]:.3g}, {losses[9]:.3g}, {losses[-1]:.3g}")
ax.set_xlabel("step")
ax.set_ylabel("loss (log scale)")
ax.legend()
fig.tight_layout()
plt.show()
""")

md(r"""
A rule of thumb that follows from the derivation: if the loss explodes, divide the learning rate by 10; if it
decreases smoothly but slowly, try multiplying it by 3. Adam's per-parameter step sizes make it far less sensitive,
which is one reason notebook 08's recipe uses it.

## 10. Finding the wrong op: `bl.check_graph`

`bl.gradcheck(f, x)` tells you *that* a gradient is wrong. In a graph of fifty operations you also want to know
*where*. `bl.check_graph(output)` checks every operation on its own: it re-runs that one operation's forward on
its inputs, pulls a random upstream gradient through its backward, and compares with central differences of that
operation alone. The first operation that disagrees is named. Let us plant a bug: a sigmoid whose backward forgets
the factor $(1 - y)$ of $\sigma'(x) = y(1 - y)$, in the middle of a small network.
""")

code(r"""
class SloppySigmoid(bl.Function):
    @staticmethod
    def forward(ctx, x):
        y = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return g * y                         # planted bug: should be g * y * (1 - y)


r = np.random.default_rng(0)
x = bl.Tensor(r.normal(size=(5, 3)))
layer1, layer2 = bl.nn.Linear(3, 4, rng=r), bl.nn.Linear(4, 2, rng=r)
target = r.normal(size=(5, 2))
out = layer2(SloppySigmoid.apply(layer1(x)).tanh())
loss = bl.nn.mse_loss(out, target)

report = bl.check_graph(loss)
print("all backward rules right:", report.ok)
print("first wrong op:", report.first_bad.op, "(input", report.first_bad.input_index, ")")
""", tags=CHECKED)

code(r"""
report
""")

md(r"""
The report points at the one rule to fix and shows the analytic and numeric values at the first entry that
disagrees. `check_graph` visits the operations in forward order and stops at the first wrong one: layer 1's
`MatMul` and `Add`, which come before it, passed; the operations after it (`Tanh`, layer 2, the loss) have not
been checked yet. So fix the rule and run it again, until the report is clean. The fix is the missing factor:
""")

code(r"""
class Sigmoid(bl.Function):
    @staticmethod
    def forward(ctx, x):
        y = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return g * y * (1 - y)              # sigma'(x) = y (1 - y)


fixed_loss = bl.nn.mse_loss(layer2(Sigmoid.apply(layer1(x)).tanh()), target)
print(bl.check_graph(fixed_loss))
""", tags=CHECKED)

md(r"""
Every operation of the graph, the mean squared error's own pieces included, now agrees with finite differences of
itself. Use `check_graph` whenever you write a new `Function`, before the first training run.

## Summary: a debugging checklist

| symptom | likely bug | check |
|---|---|---|
| `RecursionError` in `backward()` on a long graph | recursive topological sort | an explicit stack (09.1) |
| gradients grow from step to step, loss oscillates | `.grad` not zeroed | `zero_grad()` at the top of each step |
| gradient a fraction of the right one, for values used twice | `=` instead of `+=` at a fork | accumulate (09.2) |
| gradient has the wrong shape, or a parameter turns into a matrix | forgotten unbroadcast | sum over the broadcast axes (09.3) |
| gradient wrong only sometimes; inputs changed after forward | in-place change of a saved array | never write into a saved array (09.4) |
| `nan` loss with large logits | unstable softmax | shift by the row max (09.5) |
| first layers don't learn; gradient norms shrink (or grow) layer by layer | initialisation | He for ReLU, Glorot for tanh (09.6) |
| many hidden units output 0 for every input | dead ReLUs | smaller lr, He init, leaky ReLU |
| loss explodes to `inf`/`nan` within a few steps | learning rate above $2/\lambda_\text{max}$ | divide lr by 10 |
| "some gradient is wrong" in a big graph | a wrong backward rule | `bl.check_graph(loss)` names it |

And always: **check every new gradient against finite differences**, in float64, with a relative error. That one
habit, from notebook 01, catches every bug in this notebook's first half before it costs you a training run.

This is the end of the course. Notebook 08's closing sections list what you built along the way and where to go
from here: a real framework's source, new operations for your engine (each checked with `bl.gradcheck` and
`bl.check_graph` first), and the GPU.
""")

code(r"""
print(f"notebook ran in {time.perf_counter() - notebook_start:.0f} s")
""")


if __name__ == "__main__":
    notebook.main(sys.argv[1:], env={"BACKPROP_LAB_OFFLINE": "1"})
