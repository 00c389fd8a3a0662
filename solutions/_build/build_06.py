"""Build ``solutions/06_tensor_engine.ipynb`` (the instructor notebook) from this script.

    python solutions/_build/build_06.py            # write the notebook without outputs
    python solutions/_build/build_06.py --execute  # ... then run it (cwd solutions/) and save the outputs

Edit the notebook's text and code here, not in the .ipynb, so that it can be regenerated.
Cell ids are fixed ("c06-007"), so a rebuild changes only what was edited.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))   # find nbbuild also when loaded by file path (tests)
from nbbuild import CHECKED, Notebook  # noqa: E402

notebook = Notebook("06", "06_tensor_engine.ipynb")
md, code, exercise = notebook.md, notebook.code, notebook.exercise
TARGET = notebook.target
build = notebook.build

CHECKED = ["nbval-check-output"]

# ============================================================================ title and goals
md(r"""
# 06 · The Tensor engine: Functions, rules and the backward driver

Notebooks 04 and 05 derived the backward rules of whole arrays: by the shapes, and by Einstein notation.
This notebook opens the engine that uses them, `bl.Tensor`, and takes it apart. It is small on purpose: one
class for arrays that remember how they were made, one base class for operations, one file of rules, and one
loop that runs the rules in the right order. By the end you will have rebuilt that loop yourself.

**Learning goals.** After this notebook you can

1. read a `Tensor`: its `data`, `grad`, `requires_grad`, and the *recipe* that made it (seed 001's word):
   the operation, what it saved for later, and its inputs;
2. write a new operation as a `Function`, with `forward`, `backward` and a context `ctx` (seed 004's
   operation base class);
3. read the rules module as seed 001's "Math in one page" table, and check every row numerically;
4. route a gradient through `maximum` and `max`, and say what happens at a tie;
5. write the backward driver: topological order, one rule per node, undo broadcasting, accumulate;
6. explain seed 000's transpose bug, and what `no_grad`, `detach` and a second `backward()` do (the same as
   in PyTorch);
7. find a wrong backward rule with `bl.gradcheck` and name it with `bl.check_graph`.

You write five things: a `Sqrt` Function, `maximum_backward`, `max_backward`, the driver `backward(root)`,
and the name of a buggy op. Each is checked at once; after each, the notebook carries on with the engine's
own version, so every later cell runs whether or not you have solved it.
""")

code(r"""
import inspect

import matplotlib.pyplot as plt
import numpy as np

import backprop_lab as bl
from backprop_lab import rules
from backprop_lab.exercises import check
from backprop_lab.exercises.nb06 import reference, mystery_graph   # the course's versions of this notebook's exercises
from backprop_lab import viz

rng = np.random.default_rng(0)
np.set_printoptions(precision=4, suppress=True)
""")

# ============================================================================ 1. anatomy
md(r"""
## 1. Anatomy of a Tensor

A `bl.Tensor` wraps a NumPy array. Four attributes matter for backpropagation:

| attribute | what it holds |
| --- | --- |
| `data` | the array itself (float64 unless you ask for float32) |
| `grad` | after `backward()`: $\partial L / \partial(\text{this tensor})$, an array of the same shape as `data` |
| `requires_grad` | whether gradients should flow into this tensor: `True` for parameters and for anything computed from them |
| the **recipe** | for a tensor made by an operation: `_fn` (the operation), `_ctx` (what its forward saved for the backward) and `_prev` (its inputs). A *leaf* (made by you, not by an operation) has no recipe. |

Seed 001 stores the recipe in one attribute, `.recipe`; here it is three, with the vocabulary of micrograd
(`_prev`, `_op`) and of PyTorch (`ctx`). Let us build a small graph and read it.
""")

code(r"""
x = bl.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, label="x")
w = bl.Tensor([0.5, -1.0], requires_grad=True, label="w")
y = x * w            # w (shape (2,)) is broadcast over the rows of x
y.label = "y"
loss = y.sum()
loss.label = "loss"


def saved_item(a):
    return f"array {a.shape}" if isinstance(a, np.ndarray) else f"the shape {a}"


def recipe(t):
    if t.is_leaf:
        return "leaf (made by you)"
    inputs = ", ".join(p.label or p._op for p in t._prev)
    saved = ", ".join(saved_item(a) for a in t._ctx.saved)
    return f"made by {t._op}({inputs}); ctx saved: {saved}; kwargs {t._ctx.kwargs}"


for t in (x, w, y, loss):
    print(f"{t.label:>4}: shape {str(t.shape):7} requires_grad={t.requires_grad!s:5}  {recipe(t)}")
""", tags=CHECKED)

md(r"""
`Mul` saved both of its inputs, because $\partial(xw)/\partial x = w$ and $\partial(xw)/\partial w = x$: its
backward will need them. `Sum` saved no array at all, only the shape of its input, $(2, 2)$, to which it
broadcasts the gradient back; its `kwargs` record how it was called. Nothing has a gradient yet:
""")

code(r"""
print("before backward: x.grad =", x.grad, " w.grad =", w.grad)
loss.backward()
print("x.grad =\n", x.grad)
print("w.grad =", w.grad)
""", tags=CHECKED)

md(r"""
Check by hand. $L = \sum_{ij} x_{ij} w_j$, so $\partial L / \partial x_{ij} = w_j$ (every row of `x.grad` is
$w$) and $\partial L / \partial w_j = \sum_i x_{ij}$, the column sums of $x$: $(1 + 3, 2 + 4) = (4, 6)$. The
sum over rows is the broadcasting of $w$ being undone (notebook 04). And a numerical check, as after every
derivation:
""")

code(r"""
print("x.grad is w in every row:", np.allclose(x.grad, np.broadcast_to(w.data, (2, 2))))
print("w.grad is the column sums of x:", np.allclose(w.grad, x.data.sum(axis=0)))
print("gradcheck (central differences):", bl.gradcheck(lambda a, b: (a * b).sum(), x.data, w.data))
print("after backward, Mul's saved arrays are freed:", y._ctx.saved)
""", tags=CHECKED)

md(r"""
The last line matters later (section 7): once `backward()` has used the saved arrays, it frees them, as
PyTorch does, so a big network does not hold every intermediate array in memory longer than needed.
""")

# ============================================================================ 2. Function
md(r"""
## 2. An operation is a `Function`: forward, backward and a context

Seed 004 plans an *operation base class* that "defines forward and backward methods, tracks input tensors and
manages the computational graph". In this engine that class is `bl.Function`. A new operation subclasses it
and writes two static methods on **plain arrays**:

* `forward(ctx, *arrays)` computes the output, and may keep what the backward will need with
  `ctx.save_for_backward(...)`;
* `backward(ctx, g)` receives $g = \partial L / \partial(\text{output})$, the *upstream* gradient, and returns
  $\partial L / \partial(\text{input})$ for each input: the vector-Jacobian product of notebook 04, never the
  Jacobian.

Everything about the graph happens in `apply`, which you never override:
""")

code(r"""
print(inspect.getsource(bl.Function.apply))
""")

md(r"""
`apply` unwraps the Tensors, runs `forward` with a fresh context, and, unless grad mode is off or no input
requires a gradient, wraps the result in a Tensor that remembers `(cls, ctx, inputs)`: the recipe. Here is a
complete new operation, $y = \sin x$ with $\partial y / \partial x = \cos x$:
""")

code(r'''
class Sin(bl.Function):
    """y = sin(x), with dL/dx = g cos(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)        # backward needs x to compute cos(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * np.cos(x)            # upstream gradient times the local derivative


a = bl.Tensor(rng.normal(size=(2, 3)), requires_grad=True)
print("recipe of Sin.apply(a):", Sin.apply(a)._op)
print("gradcheck:", bl.gradcheck(lambda t: Sin.apply(t), a))
''', tags=CHECKED)

md(r"""
### Exercise 06.1: a `Sqrt` Function

Derive first. $y = \sqrt{x} = x^{1/2}$, so by the power rule

$$
\frac{\partial y}{\partial x} = \tfrac12 x^{-1/2} = \frac{1}{2\sqrt{x}} = \frac{1}{2y},
\qquad\text{hence}\qquad
\frac{\partial L}{\partial x} = g \cdot \frac{1}{2y}.
$$

Saving the *output* $y$ is enough, and spares the backward a second square root. A numerical check of the
derivative at $x = 4$, where it should be $1/(2 \cdot 2) = 0.25$:
""")

code(r"""
h = 1e-6
print("central difference of sqrt at 4:", round((np.sqrt(4 + h) - np.sqrt(4 - h)) / (2 * h), 8), "  formula:", 1 / (2 * np.sqrt(4)))
""", tags=CHECKED)

md(r"""
Now write `Sqrt` as a `bl.Function`. Keep what backward needs on `ctx`, not on the class or in a global
variable: the same `Sqrt` may be applied several times in one graph before any backward runs, and each use
needs its own saved $y$. The check applies your `Sqrt` twice before calling backward, to make sure.
""")

exercise(r'''
class Sqrt(bl.Function):
    """y = sqrt(x), with dL/dx = g / (2 y)."""

    @staticmethod
    def forward(ctx, x):
        ### BEGIN SOLUTION
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y
        ### END SOLUTION

    @staticmethod
    def backward(ctx, g):
        ### BEGIN SOLUTION
        (y,) = ctx.saved
        return g / (2 * y)
        ### END SOLUTION
''', "06.1", 2, "forward saves y = sqrt(x) on ctx; backward returns g / (2 y)")

code(r"""
check("06.1", Sqrt)
""")

md(r"""
The engine has no `Sqrt` rule: `Tensor.sqrt()` is the composite `x ** 0.5`, differentiated by the `Pow` rule.
Both must agree. As in every notebook, the cell goes on with the course's reference `Sqrt`, so it runs
whether or not you have solved the exercise; `bl.exercises.use` hands it **your** `Sqrt` instead if you have
switched the notebook to "mine" (notebook 00 shows how) and your class passes check 06.1:
""")

code(r"""
SqrtFn = bl.exercises.use(Sqrt, reference.Sqrt, "06.1")
s = bl.Tensor(rng.uniform(0.5, 3.0, size=(3, 2)), requires_grad=True)
SqrtFn.apply(s).sum().backward()
via_function = s.grad
s2 = bl.Tensor(s.data, requires_grad=True)
s2.sqrt().sum().backward()
print("Sqrt Function and the composite x ** 0.5 give the same gradient:", np.allclose(via_function, s2.grad))
print("gradcheck of Sqrt:", bl.gradcheck(lambda t: SqrtFn.apply(t), s.data))
""", tags=CHECKED)

# ============================================================================ 3. rules
md(r"""
## 3. The rules module is seed 001's "Math in one page"

Seed 001 writes its whole engine as one table of local derivative rules, and says "this table is the entire
backprop engine in compact form". `backprop_lab/rules.py` is that table in code: one `Function` per
primitive, forward and backward side by side. Its docstring opens with the table:
""")

code(r"""
print(rules.__doc__[rules.__doc__.index("| forward"):])
""")

md(r"""
Put seed 001's rows beside it and tick them off ($g$ is the upstream gradient):

| seed 001 | rule in `rules.py` |
| --- | --- |
| $y = \log x$: $\partial L/\partial x = g \cdot 1/x$ | `Log` |
| $z = xy$: $g\,y$ and $g\,x$ | `Mul` |
| $y = -x$: $-g$ | `Neg` |
| $y = e^x$: $g\,e^x$ | `Exp` (reuses the saved output) |
| $s = \mathrm{sum}(x, \mathrm{dim})$: re-insert the reduced dim, broadcast back | `Sum` |
| $y = \mathrm{reshape}(x)$: reshape back | `Reshape` |
| $y = \mathrm{permute}(x, \mathrm{axes})$: inverse permutation | `Transpose` |
| $m = \mathrm{maximum}(x, y)$: to the max argument, tie $x \ge y \to x$ | `Maximum` |
| $Z = XY$: $G\,Y^\top$ and $X^\top G$ | `MatMul` |

The engine adds a few primitives seed 001 builds differently or does not need (`Add`, `Reciprocal`, `Pow`,
`Tanh`, `ReLU`, `Max`, `BroadcastTo`, `GetItem`) and one *fused* rule for speed, `SoftmaxCrossEntropy`
(notebook 07). Everything else is a **composite**: `a - b` is `a + (-b)`, `a / b` is `a * (1/b)`, `mean` is a
sum times $1/n$, `sigmoid`, `softmax` and `log_softmax` are built from `exp`, `sum`, `max` and `log`. A
composite needs no rule of its own; the chain rule through its pieces does the work. Here is one rule in full, `Mul`; note `ctx.needs_input_grad`, which lets a rule skip the gradient of an input
that does not need one (a constant, or data):
""")

code(r"""
print(inspect.getsource(rules.Mul))
""")

md(r"""
A table of rules is only as good as each row, so check every row numerically. `bl.check_graph(out)` checks
each operation of a graph *on its own* against central differences (section 8 explains how); here each
graph is a single primitive on random inputs.
""")

code(r"""
pos = lambda *shape: rng.uniform(0.5, 2.0, size=shape)
row_tests = {
    "Add":         (lambda a, b: a + b,            [rng.normal(size=(3, 4)), rng.normal(size=(4,))]),
    "Mul":         (lambda a, b: a * b,            [rng.normal(size=(3, 4)), rng.normal(size=(3, 1))]),
    "Neg":         (lambda a: -a,                  [rng.normal(size=(3,))]),
    "Reciprocal":  (lambda a: rules.Reciprocal.apply(a), [pos(3)]),
    "Pow":         (lambda a, b: a ** b,           [pos(3), pos(3)]),
    "Exp":         (lambda a: a.exp(),             [rng.normal(size=(2, 3))]),
    "Log":         (lambda a: a.log(),             [pos(2, 3)]),
    "Tanh":        (lambda a: a.tanh(),            [rng.normal(size=(4,))]),
    "ReLU":        (lambda a: a.relu(),            [rng.normal(size=(4,))]),
    "Maximum":     (lambda a, b: bl.maximum(a, b), [rng.normal(size=(4,)), rng.normal(size=(4,))]),
    "Sum":         (lambda a: a.sum(axis=1),       [rng.normal(size=(3, 4))]),
    "Max":         (lambda a: a.max(axis=0),       [rng.normal(size=(3, 4))]),
    "Reshape":     (lambda a: a.reshape(6, 2),     [rng.normal(size=(3, 4))]),
    "Transpose":   (lambda a: a.transpose(2, 0, 1), [rng.normal(size=(2, 3, 4))]),
    "BroadcastTo": (lambda a: a.broadcast_to((3, 4)), [rng.normal(size=(1, 4))]),
    "MatMul":      (lambda a, b: a @ b,            [rng.normal(size=(3, 4)), rng.normal(size=(4, 2))]),
    "GetItem":     (lambda a: a[[0, 2, 0]],        [rng.normal(size=(3, 2))]),
}
for name, (f, arrays) in row_tests.items():
    out = f(*[bl.Tensor(a, requires_grad=True) for a in arrays])
    report = bl.check_graph(out)
    print(f"{name:12} recorded as {out._op:12} backward agrees with finite differences: {report.ok}")
""", tags=CHECKED)

# ============================================================================ 4. routing
md(r"""
## 4. Routing rules: `maximum`, `max`, and ties

Most rules *scale* the upstream gradient. `maximum` and `max` *route* it: all of $g$ goes to one input and
none to the others.

**Element-wise maximum.** $z = \max(x, y)$. Where $x > y$, $z = x$ near that point, so
$\partial z/\partial x = 1$ and $\partial z / \partial y = 0$; where $x < y$ the other way round. Hence

$$
\frac{\partial L}{\partial x} = g \cdot [x > y], \qquad \frac{\partial L}{\partial y} = g \cdot [x < y].
$$

At a **tie**, $x = y$, the function has a kink and no derivative. An engine must still return something.
Any choice between "all to $x$" and "all to $y$" is a valid *subgradient*; seed 001 picks **$x \ge y \to x$**:
the whole of $g$ goes to the first argument. The engine's `Maximum` does the same. Central differences,
which know nothing of this choice, see the average of the two one-sided slopes at a tie:
""")

code(r"""
def central(f, v, h=1e-6):
    return (f(v + h) - f(v - h)) / (2 * h)


print("away from a tie (x=3, y=1): d/dx =", round(central(lambda v: max(v, 1.0), 3.0), 6),
      " d/dy =", round(central(lambda v: max(3.0, v), 1.0), 6))
print("at a tie        (x=2, y=2): d/dx =", round(central(lambda v: max(v, 2.0), 2.0), 6),
      " d/dy =", round(central(lambda v: max(2.0, v), 2.0), 6))
xt, yt = bl.Tensor([2.0], requires_grad=True), bl.Tensor([2.0], requires_grad=True)
bl.maximum(xt, yt).sum().backward()
print("the engine at the tie:         x.grad =", xt.grad, " y.grad =", yt.grad)
""", tags=CHECKED)

md(r"""
Both are defensible; the engine's choice is simply a rule you must know (and the reason `gradcheck` is
always run away from ties). PyTorch's `torch.maximum` splits the gradient in half at a tie (its
`derivatives.yaml` says so); this engine does not.

### Exercise 06.2: `maximum_backward`

Return `(dx, dy)` for $z = \max(x, y)$ (same shapes; the driver deals with broadcasting, never the rule),
with the tie rule $x \ge y \to x$.
""")

exercise(r'''
def maximum_backward(x, y, g):
    """Gradients (dx, dy) of z = maximum(x, y) given g = dL/dz; a tie x == y sends g to x."""
    ### BEGIN SOLUTION
    x_wins = x >= y
    return g * x_wins, g * ~x_wins
    ### END SOLUTION
''', "06.2", 2, "route g to x where x >= y, to y elsewhere")

code(r"""
check("06.2", maximum_backward)
""")

md(r"""
**Max over an axis.** $m = \max_j x_j$ is a chain of element-wise maxima, read left to right:
$m = \max(\max(\max(x_0, x_1), x_2), \dots)$. Apply the tie rule at every step: the running maximum is the
*first* argument, so at a tie it keeps winning. The gradient therefore goes to the **first** maximal entry
(the lowest index), and to no other:

$$
\frac{\partial L}{\partial x_j} = g \cdot [\, j = \operatorname{argmax}_k x_k \,],
$$

where `np.argmax` returns the first maximal index, exactly this rule. With an axis, the same holds in every
slice, and $g$ (which lacks the reduced axis) gets it re-inserted first, as for `sum` in notebook 04. Let us
confirm numerically that the engine's `Max` rule and the chain of `maximum`s agree on a row full of ties:
""")

code(r"""
row = np.array([1.0, 3.0, 2.0, 3.0, 3.0])
a = bl.Tensor(row, requires_grad=True)
a.max().backward()
b = bl.Tensor(row, requires_grad=True)
running = b[0]
for j in range(1, len(row)):
    running = bl.maximum(running, b[j])   # the running max is the first argument
running.backward()
print("Max rule:           ", a.grad)
print("chain of maximum(): ", b.grad)
print("first maximal index:", np.argmax(row))
""", tags=CHECKED)

md(r"""
(PyTorch chooses differently: a full reduction `torch.max(x)`, and `torch.amax`, split $g$ evenly among the
tied entries, while `torch.max(x, dim)` sends it to the index it returns. Again all are subgradients; know which
one your engine uses.)

### Exercise 06.3: `max_backward`

`g` has the shape of the result, `x.max(axis=axis)` (no `keepdims`); `axis` is one int, possibly negative
(`-1` is the last axis), or `None`, the maximum over all entries, when `g` is a single number. Return `dx`,
of `x`'s shape: $g$ at the first maximal entry of each slice, 0 elsewhere. `np.expand_dims`, `np.argmax` and
`np.put_along_axis` help (all three accept a negative axis).
""")

exercise(r'''
def max_backward(x, g, axis=None):
    """dL/dx for m = x.max(axis=axis), given g = dL/dm: g goes to the first maximal entry of each slice."""
    ### BEGIN SOLUTION
    if axis is None:
        mask = np.zeros(x.size)
        mask[np.argmax(x)] = 1.0
        return g * mask.reshape(x.shape)
    first = np.expand_dims(np.argmax(x, axis=axis), axis)
    mask = np.zeros_like(x)
    np.put_along_axis(mask, first, 1.0, axis=axis)
    return np.expand_dims(g, axis) * mask
    ### END SOLUTION
''', "06.3", 2, "return dx of x's shape: g (its reduced axis re-inserted) at the first maximal entry of each slice (np.argmax), 0 elsewhere; axis may be None")

code(r"""
check("06.3", max_backward)
""")

md(r"""
The engine's `Max` rule follows the same tie rule. Compare it with `max_bw` (the reference `max_backward`, or
yours when the notebook is switched to "mine") on a matrix of small integers, full of ties:
""")

code(r"""
max_bw = bl.exercises.use(max_backward, reference.max_backward, "06.3")
xm = rng.integers(0, 3, size=(3, 4)).astype(float)    # small integers: ties on purpose
gm = rng.normal(size=4)
t = bl.Tensor(xm, requires_grad=True)
t.max(axis=0).backward(gm)
print("x =\n", xm)
print("engine's Max rule equals max_backward, ties included:", np.allclose(t.grad, max_bw(xm, gm, axis=0)))
""", tags=CHECKED)

# ============================================================================ 5. driver
md(r"""
## 5. The backward driver

The rules are local: each knows its own inputs and nothing else. The **driver** makes them cooperate. Seed
001 summarises it in five lines:

```
loss.grad = 1
for node in reverse_topological_order(loss):
    for each parent:
        parent.grad += parent_grad_contribution_from(node)
```

and four principles: reverse order, accumulate where tensors branch, un-broadcast every gradient, never
overwrite. Why **reverse topological order**? A node may be used by several others (`a` below is used three
times). Its gradient is the *sum* of what every use hands back, so it is complete only after **all** of its
users have run. A topological order lists every node after the nodes it depends on; reversed, it lists every
node after all the nodes that depend on it, which is exactly the condition.

Here is the engine's driver, in `Tensor.backward`, and the step each node takes, `_backward`:
""")

code(r"""
print(inspect.getsource(bl.Tensor.backward))
print(inspect.getsource(bl.Tensor._backward))
""")

md(r"""
Seed 001's five lines are the second loop. The rest is bookkeeping you will meet again in section 7: before
the pass, every intermediate tensor's `.grad` is reset to `None` (a leaf's is not: leaf gradients
accumulate across passes); a node runs only if some gradient reached it; and after a node has run, its
context's saved arrays are freed unless `retain_graph=True`. In `_backward`, an input that does not require
a gradient (a constant) is skipped, and a leaf gets its own writable copy of its first share: you and the
optimizers may change a leaf's `.grad` in place, while a rule may hand the same array to two inputs (`Add`
does) or a read-only broadcast view (`Sum` does).

Undoing broadcasting happens in exactly one place, `unbroadcast`, called on every gradient a rule returns
(notebook 04 derived it). No rule ever thinks about broadcasting:
""")

code(r"""
print(inspect.getsource(bl.unbroadcast))
""")

md(r"""
Watch the driver work on a small graph with a fork: `a = tanh(x)` is used by `a * a` (twice!) and by
`exp(a)`. `bl.viz.backward_steps` replays the pass one node at a time, without touching any `.grad`, and
`bl.viz.describe_step` tells what each step does: the gradient the node received (its *upstream* gradient),
the share its rule hands each input, and that input's running total. Labels make the steps readable:
""")

code(r"""
xd = bl.Tensor([0.5, -1.0], requires_grad=True, label="x")
ad = xd.tanh()
sq = ad * ad
ea = ad.exp()
s = sq + ea
root = s.sum()
for t, name in ((ad, "a"), (sq, "a*a"), (ea, "exp(a)"), (s, "s"), (root, "L")):
    t.label = name
steps = viz.backward_steps(root)
for k in range(len(steps)):
    print(viz.describe_step(steps, k))
""", tags=CHECKED)

md(r"""
The same steps with the graph drawn, in notebook 02's step-through widget: move the slider (or press
*next*); the node whose rule runs is orange, the inputs it hands gradients to are green.
""")

code(r"""
viz.step_through(root)
""")

md(r"""
`a` received its gradient in two steps: `Mul` handed it two shares at once (`a` is both of its inputs, and the
shares add), then `Exp` a third. Only then did `Tanh` run. Had `Tanh` run earlier, it would have passed on an
incomplete gradient. Check the total against calculus:
$\partial/\partial a\,(a^2 + e^a) = 2a + e^a$, then times $1 - a^2$ for the tanh:
""")

code(r"""
a_val = np.tanh(xd.data)
by_hand = (2 * a_val + np.exp(a_val)) * (1 - a_val ** 2)
root.backward()
print("x.grad:", xd.grad, " by hand:", by_hand, " equal:", np.allclose(xd.grad, by_hand))
""", tags=CHECKED)

md(r"""
### Exercise 06.4: write the driver

Write `backward(root)` for a one-element `root`, without the engine's `Tensor.backward` or `node._backward`:

1. **Order.** Collect every node `root` depends on, inputs first (depth-first: visit a node's parents
   `node._prev`, then append the node; keep a `seen` set so a node reached along two paths is listed once).
   A recursive function is fine for these small graphs; notebook 09 shows why the engine's
   `bl.autograd.topo_sort` is iterative.
2. **Seed.** `root.grad = np.ones_like(root.data)`: $\partial L/\partial L = 1$.
3. **Run the rules in reverse order.** For each node made by an operation (`node._fn is not None`) that has
   a gradient: `grads = node._fn.backward(node._ctx, node.grad)`; a rule with one input may return a bare
   array instead of a tuple. For each `(parent, g)` in `zip(node._prev, grads)`: skip `g is None` (an input
   that needs no gradient), undo broadcasting with `bl.unbroadcast(g, parent.shape)`, and **add** it to
   `parent.grad` (which is `None` until the first share arrives).

The check runs your driver on six graphs (a fork, a shared weight, a broadcast bias, a constant input, ...)
and stops it with a message the moment a node is visited too early, twice, or gets a gradient of the wrong
shape.
""")

exercise(r'''
def backward(root):
    """Backpropagate from a one-element Tensor: fill .grad of every tensor root depends on."""
    ### BEGIN SOLUTION
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for parent in node._prev:
                visit(parent)
            order.append(node)

    visit(root)
    root.grad = np.ones_like(root.data)
    for node in reversed(order):
        if node._fn is None or node.grad is None:
            continue
        grads = node._fn.backward(node._ctx, node.grad)
        if not isinstance(grads, tuple):
            grads = (grads,)
        for parent, g in zip(node._prev, grads):
            if g is None:
                continue
            g = bl.unbroadcast(g, parent.shape)
            parent.grad = g if parent.grad is None else parent.grad + g
    ### END SOLUTION
''', "06.4", 3, "topological order, seed root.grad = 1, then in reverse: rule, unbroadcast, accumulate")

code(r"""
check("06.4", backward)
""")

md(r"""
The notebook goes on with the engine's driver (`reference.backward` calls `Tensor.backward`), or with yours
when the notebook is switched to "mine" and your driver passes its check. Here it runs on a fresh graph, a
linear layer with a broadcast bias, and is compared with central differences:
""")

code(r"""
run_backward = bl.exercises.use(backward, reference.backward, "06.4")
X = bl.Tensor(rng.normal(size=(4, 3)), requires_grad=True)
W = bl.Tensor(rng.normal(size=(3, 2)), requires_grad=True)
b = bl.Tensor(rng.normal(size=2), requires_grad=True)
run_backward(((X @ W + b).tanh() ** 2).mean())
print("b.grad has b's shape:", b.grad.shape)
Xn, Wn, bn = X.data.copy(), W.data.copy(), b.data.copy()
f = lambda bb: float(((np.tanh(Xn @ Wn + bb)) ** 2).mean())
numeric = np.array([central(lambda v: f(bn + v * np.eye(2)[k]), 0.0) for k in range(2)])
print("b.grad equals central differences:", np.allclose(b.grad, numeric, atol=1e-7))
""", tags=CHECKED)

# ============================================================================ 6. transpose bug
md(r"""
## 6. Seed 000's transpose bug

Seed 000 lists a known bug: "The transpose creates a new node, which wipes the gradient. This works in the
computational graph but if you just want to have a look at an Element as a transposed item it leads to
counterintuitive results." Two separate things hide in that sentence.

1. **Inside a computation**, a transposed tensor must pass its gradient back to the original. `W.T` is a new
   node, but its recipe remembers `W`, and the `Transpose` rule sends the gradient back with the inverse
   permutation: $\partial L/\partial W = (\partial L/\partial W^\top)^\top$. Nothing is wiped.
2. **Looking** at `W.T` after the fact creates a *new* node that was not part of the computation, so it has
   no gradient. That is not a bug of the gradient, only of where you look: the gradient of $W$ lives in
   `W.grad`; to see it transposed, use `W.grad.T`.

The genuine bug is a transposed **copy** that forgets where it came from. Here are all three, on
$L = \sum_{n,i} (x W^\top)_{ni} = \sum_{n,i,j} x_{nj} W_{ij}$ with $x$ of shape $(4, 2)$ and $W$ of shape
$(3, 2)$. By hand, $\partial L / \partial W_{ij} = \sum_n x_{nj}$: every row of `W.grad` should hold the
column sums of $x$.
""")

code(r"""
Wt = bl.Tensor(rng.normal(size=(3, 2)), requires_grad=True, label="W")
xs = bl.Tensor(rng.normal(size=(4, 2)))

# 1. W.T inside the computation: the gradient reaches W
(xs @ Wt.T).sum().backward()
print("1. W.grad after using W.T:\n", Wt.grad)
print("   equals the hand derivation (column sums of x in every row):", np.allclose(Wt.grad, np.tile(xs.data.sum(axis=0), (3, 1))))
print("   W.T's data is a view of W's data (no copy):", np.shares_memory(Wt.T.data, Wt.data))

# 2. looking at W.T afterwards: a new node, made after the backward pass
print("2. (W.T).grad =", Wt.T.grad, " -> look at W.grad.T instead, shape", Wt.grad.T.shape)

# 3. the real bug: a transposed copy that forgot its recipe
W_copy_T = bl.Tensor(Wt.data.T.copy(), requires_grad=True)     # a new leaf
Wt.grad = None
(xs @ W_copy_T).sum().backward()
print("3. with a recipe-less copy: the copy got a gradient of shape", W_copy_T.grad.shape, "but W.grad =", Wt.grad)
""", tags=CHECKED)

md(r"""
The engine's `Transpose` rule is two lines, and it is the whole fix:
""")

code(r"""
print(inspect.getsource(rules.Transpose.backward))
""")

# ============================================================================ 7. no_grad etc
md(r"""
## 7. `no_grad`, `detach`, and calling `backward()` twice

Three behaviours every user of an autograd engine meets, each the same as in PyTorch:

* **`with bl.no_grad():`** records nothing. Results have `requires_grad=False` and no recipe. Use it for
  evaluation and for optimizer updates, which must not become part of the next step's graph. The switch is
  checked in one place, `Function.apply`.
* **`t.detach()`** returns a new leaf with the same data and no recipe: gradients stop there. The engine's
  `softmax` uses it for the max shift, whose gradient cancels anyway (notebook 07).
* **`backward()` twice.** The first pass frees the saved arrays, so a second pass through the same graph
  raises, unless the first was called with `retain_graph=True`. Gradients of **leaves accumulate** across
  passes (each pass adds to `.grad`): zero them between training steps, `p.grad = None` or an optimizer's
  `zero_grad()`. Gradients of **intermediate** tensors do not: each pass resets them first, so after it they
  hold that pass's gradient only (the engine keeps them for inspection; PyTorch does not keep them at all
  unless you call `retain_grad()`).
""")

code(r"""
p = bl.Tensor([1.0, 2.0, 3.0], requires_grad=True)

with bl.no_grad():
    q = p * 2
print("inside no_grad:  q.requires_grad =", q.requires_grad, " q._prev =", q._prev, " grad mode now:", bl.is_grad_enabled())

d = (p * 2).detach()
print("detach:          d.requires_grad =", d.requires_grad, " is_leaf =", d.is_leaf, " d._prev =", d._prev)

y2 = (p * p).sum()
y2.backward()
try:
    y2.backward()
except RuntimeError as err:
    print("second backward: RuntimeError:", str(err)[:95] + "...")

p.grad = None
sq = p * p
y3 = sq.sum()
y3.backward(retain_graph=True)
y3.backward()
print("retain_graph=True, backward twice: p.grad =", p.grad, "= 2 x (2p): the leaf's gradients accumulate")
print("                                  sq.grad =", sq.grad, "= 1, not 2: the intermediate's is reset each pass")
""", tags=CHECKED)

md(r"""
If PyTorch is installed, the same four experiments in PyTorch (this cell only prints a note otherwise; torch
is an optional dependency of the course):
""")

code(r"""
try:
    import torch
except ImportError:
    torch = None
    print("PyTorch is not installed: skipping the comparison (pip install torch to run it).")

if torch is not None:
    pt = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        qt = pt * 2
    print("no_grad:  requires_grad =", qt.requires_grad)
    print("detach:   requires_grad =", (pt * 2).detach().requires_grad)
    yt = (pt * pt).sum()
    yt.backward()
    try:
        yt.backward()
    except RuntimeError as err:
        print("second backward: RuntimeError:", str(err)[:70] + "...")
    pt.grad = None
    yt = (pt * pt).sum()
    yt.backward(retain_graph=True)
    yt.backward()
    print("retain_graph, twice: grad =", pt.grad.numpy(), " same as the engine:", np.allclose(pt.grad.numpy(), p.grad))
    ptT = torch.tensor(Wt.data, requires_grad=True)
    (torch.tensor(xs.data) @ ptT.T).sum().backward()
    print("transpose inside a computation reaches W in PyTorch too:", np.allclose(ptT.grad.numpy(), np.tile(xs.data.sum(axis=0), (3, 1))))
""")

# ============================================================================ 8. gradcheck
md(r"""
## 8. Finding a wrong rule: `gradcheck` and `check_graph`

A wrong backward rule does not crash. It silently computes wrong numbers, and training merely gets worse.
Two tools catch it.

**`bl.gradcheck(f, *inputs)`** compares the engine's gradients of `f` with central differences,
$(f(x + \varepsilon) - f(x - \varepsilon)) / 2\varepsilon$, entry by entry, in float64. It answers *whether*
something is wrong, and where in the inputs. **`bl.check_graph(out)`** answers *which operation*: it visits
every node of the graph, re-runs that node's `forward` on its own inputs, pulls a random $g$ back through
its `backward`, and compares with central differences of $\sum g \odot \mathrm{forward}(\cdot)$ for that
node alone. The first disagreement is the culprit.

Plant a bug: a `Cube` whose backward forgot the square, $3x$ instead of $3x^2$.
""")

code(r'''
class Cube(bl.Function):
    """y = x**3, with dL/dx = 3 x**2 g (but see the backward)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return 3 * x * g        # BUG: should be 3 * x**2 * g


xc = bl.Tensor(rng.normal(size=(3,)), requires_grad=True)
try:
    bl.gradcheck(lambda t: (Cube.apply(t.tanh()) * 2).sum(), xc)
except bl.GradcheckError as err:
    print("gradcheck:", err)
''', tags=CHECKED)

md(r"""
`gradcheck` saw that the gradient of `xc` is wrong, but the graph has four operations (`Tanh`, `Cube`, `Mul`,
`Sum`). `check_graph` names the one:
""")

code(r"""
out = (Cube.apply(xc.tanh()) * 2).sum()
report = bl.check_graph(out)
print(report)
print("the culprit:", report.first_bad.op, "| its input", report.first_bad.input_index, "at index", report.first_bad.index)
""", tags=CHECKED)

md(r"""
**Why float64, and which $\varepsilon$?** Central differences have two errors pulling in opposite directions:
truncation, which shrinks like $\varepsilon^2$, and round-off, which grows like $10^{-16}/\varepsilon$
(notebook 01). The plot shows the relative error of the correct derivative $3x^2$ and of the buggy $3x$
against central differences, for a range of $\varepsilon$: the correct rule agrees to $10^{-10}$ or better for
$\varepsilon$ around $10^{-6}$ to $10^{-5}$; the bug stays at order 1 whatever $\varepsilon$ is. That gap is what makes the
check reliable.
""")

code(r"""
x0 = 0.7
eps = np.logspace(-13, -1, 49)
numeric = ((x0 + eps) ** 3 - (x0 - eps) ** 3) / (2 * eps)
rel = lambda a, n: np.abs(a - n) / np.maximum(np.abs(a), np.abs(n))
fig, ax = plt.subplots(figsize=(7, 3.6))
ax.loglog(eps, rel(3 * x0 ** 2, numeric), label="correct backward 3x²")
ax.loglog(eps, rel(3 * x0, numeric), label="planted bug 3x")
ax.axvline(1e-6, color="gray", ls=":", label="gradcheck's ε = 1e-6")
ax.set_xlabel("ε")
ax.set_ylabel("relative error vs central difference")
ax.set_title("A wrong rule stays wrong at every ε; a right one agrees to ~1e-11 near ε = 1e-6")
ax.legend()
plt.show()
""")

md(r"""
### Exercise 06.5: find the bug

`mystery_graph()` builds a small network from engine operations and three custom Functions, and returns its
loss and its two weight matrices; the next cell lists the operations. One of them has a wrong backward. Use
the tools of this section on `loss_m` to find out which one, and set `buggy_op` to its name, a string, as
`check_graph` prints it (e.g. `"Mul"`). Run `check_graph` before any `loss_m.backward()`, which frees the
saved arrays it needs; if that happened, rebuild the graph with `loss_m, params_m = mystery_graph()`.
""")

code(r"""
loss_m, params_m = mystery_graph()
print("mystery loss:", round(loss_m.item(), 6))
print("ops in the graph:", sorted({n._op for n in bl.autograd.topo_sort(loss_m) if n._op}))
""", tags=CHECKED)

exercise(r'''
buggy_op = None
### BEGIN SOLUTION
report_m = bl.check_graph(loss_m)
print(report_m)
buggy_op = report_m.first_bad.op
### END SOLUTION
''', "06.5", 1, "set buggy_op to the name (a string) of the op that bl.check_graph(loss_m) reports as wrong")

code(r"""
check("06.5", buggy_op)
""")

md(r"""
Once you have the culprit, read its backward and compare it with the derivative of its forward (its docstring
states the intended rule). The next cell finds the culprit with `check_graph` itself, so it runs whether or
not you have answered. One lost minus sign is enough: a network would still train with such a rule, only
worse, which is why bugs like this survive without a check.
""")

code(r"""
bad = bl.check_graph(loss_m).first_bad
print(bad.node._fn.__doc__)
print(inspect.getsource(bad.node._fn.backward))
""")

md(r"""
## Summary

* A `Tensor` is an array plus its gradient plus its **recipe**: the `Function` that made it, the context with
  what its forward saved, and its inputs. Leaves have no recipe.
* An operation is a `Function`: `forward(ctx, *arrays)` and `backward(ctx, g)` on plain arrays, state on
  `ctx`, one gradient per input; `apply` records the graph. `rules.py` is seed 001's "Math in one page" in
  code, every row checked numerically; everything else is a composite.
* Routing rules send all of $g$ to one input. Ties need a rule: $x \ge y \to x$ for `maximum`, hence the first
  maximal entry for `max` (PyTorch's `maximum` and full `max` split $g$ among the tied entries instead; all
  are subgradients).
* The driver: topological order; seed the root with 1; in reverse order, each rule's output is un-broadcast
  once and **added** to the parent's `.grad`. A node runs only when all of its users have.
* A transposed tensor passes its gradient back through the `Transpose` rule; only a recipe-less copy loses it.
  `no_grad`, `detach`, freed graphs (`retain_graph=True` to keep them) and accumulating leaf gradients behave
  as in PyTorch; intermediate gradients are reset at every pass.
* `gradcheck` detects a wrong gradient; `check_graph` names the op.

**Next: [notebook 07, layers, losses and optimizers](07_layers_losses_optimizers.ipynb).** With a trustworthy engine, we build what networks are
made of: `Module` and `Linear` (seed 004's example, derived by hand), activations, mean squared error, a
numerically stable cross-entropy whose gradient is simply $p - y$, and the optimizers SGD, momentum and Adam.
""")


if __name__ == "__main__":
    notebook.main(sys.argv[1:])
