"""Build ``solutions/07_layers_losses_optimizers.ipynb`` (the instructor notebook) from this script.

    python solutions/_build/build_07.py            # write the notebook without outputs
    python solutions/_build/build_07.py --execute  # ... then run it (cwd solutions/) and save the outputs

Edit the notebook's text and code here, not in the .ipynb, so that it can be regenerated.
Cell ids are fixed ("c07-007"), so a rebuild changes only what was edited.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))   # find nbbuild also when loaded by file path (tests)
from nbbuild import CHECKED, Notebook  # noqa: E402

notebook = Notebook("07", "07_layers_losses_optimizers.ipynb")
md, code, exercise = notebook.md, notebook.code, notebook.exercise
TARGET = notebook.target
build = notebook.build

CHECKED = ["nbval-check-output"]

# ============================================================================ title and goals
md(r"""
# 07 · Layers, losses and optimizers

Notebook 06 took the engine apart: tensors, Functions, rules and the driver. Now we build with it what every
neural network is made of: **layers** that hold parameters, **losses** that say how wrong the network is, and
**optimizers** that turn gradients into better parameters. Each piece is derived by hand first, then checked
against the engine.

**Learning goals.** After this notebook you can

1. say what a `Module` is and how it finds its parameters; compute a `Linear` layer $y = xW + b$ and its
   three gradients by hand, on seed 004's own example, to the last digit;
2. differentiate the activations ReLU, tanh and sigmoid, and fit a curve by minimising the mean squared
   error;
3. explain why the textbook softmax overflows, compute cross-entropy stably with seed 001's recipe (shift by
   the max, log-sum-exp), and derive its famous gradient $p - y$;
4. write one step of SGD with momentum and one step of Adam (with its bias correction), and see on a 2-D loss
   surface why they beat plain SGD in a narrow valley.

You write five things: a `Linear` Function, the MSE loss with its gradient, a stable cross-entropy, a momentum
step and an Adam step. Each is checked at once, and the notebook then carries on with the engine's version.
""")

code(r"""
import inspect

import matplotlib.pyplot as plt
import numpy as np

import backprop_lab as bl
from backprop_lab.exercises import check
from backprop_lab.exercises.nb07 import reference   # the course's versions of this notebook's exercises
from backprop_lab.widgets import optimizer_paths

rng = np.random.default_rng(0)
np.set_printoptions(precision=4, suppress=True)


def central_gradient(f, x, h=1e-6):
    # central differences of a scalar function f at every entry of the array x (notebook 01)
    grad = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        old = x[i]
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad
""")

# ============================================================================ 1. Module
md(r"""
## 1. Modules and parameters

A **parameter** is a tensor the optimizer may change: a `Tensor` with `requires_grad=True` that belongs to a
layer. A **`Module`** is anything that holds parameters (directly, or inside other modules) and maps inputs
to outputs with `forward`. The base class does the bookkeeping: `parameters()` walks the module's attributes
and collects every tensor that requires a gradient, once; `zero_grad()` forgets their gradients; calling the
module calls `forward`.
""")

code(r"""
print(inspect.getsource(bl.nn.Module.parameters))
""")

md(r"""
The simplest module with parameters is `Linear`, $y = xW + b$: a batch $x$ of shape $(N, \text{in})$ (one row
per example), weights $W$ of shape $(\text{in}, \text{out})$ and a bias $b$ of shape $(\text{out},)$, which
broadcasting adds to every row.
""")

code(r"""
print(inspect.getsource(bl.nn.Linear.forward))
""")

code(r"""
class TwoLayer(bl.nn.Module):
    # a module made of modules: parameters() finds the four tensors inside
    def __init__(self):
        self.hidden = bl.nn.Linear(3, 4, rng=0)
        self.out = bl.nn.Linear(4, 2, rng=1)

    def forward(self, x):
        return self.out(self.hidden(x).relu())


net = TwoLayer()
print([(p.label, p.shape) for p in net.parameters()])
print("number of parameters:", sum(p.size for p in net.parameters()), "= 3*4 + 4 + 4*2 + 2")
""", tags=CHECKED)

# ============================================================================ 2. seed 004's example
md(r"""
## 2. Seed 004's example, by hand and by the engine

Seed 004 ends its plan with a usage example: a `Linear` layer with fixed weights, a mean squared error
against a target of ones, and a backward pass. Here it is, in this engine. Two small differences: tensors
that should get a gradient say so (`requires_grad=True`, as in PyTorch), and the loss is the function
`bl.nn.mse_loss` rather than a class.
""")

code(r"""
# Create tensors
x = bl.Tensor([[1.0, 2.0], [3.0, 4.0]])
W = bl.Tensor([[0.1, 0.2], [0.3, 0.4]], requires_grad=True)
b = bl.Tensor([0.5, 0.6], requires_grad=True)

# Create linear layer
linear = bl.nn.Linear(2, 2, rng=0)
linear.W = W
linear.b = b

# Forward pass
y = linear(x)

# Compute loss
y_true = bl.Tensor([[1.0, 1.0], [1.0, 1.0]])
loss = bl.nn.mse_loss(y, y_true)

# Backward pass
loss.backward()

# Print gradients
print(linear.W.grad)
print(linear.b.grad)
""", tags=CHECKED)

md(r"""
Now by hand, every number. **Forward.**

$$
xW = \begin{pmatrix}1 & 2\\ 3 & 4\end{pmatrix}\begin{pmatrix}0.1 & 0.2\\ 0.3 & 0.4\end{pmatrix}
= \begin{pmatrix}0.7 & 1.0\\ 1.5 & 2.2\end{pmatrix},
\qquad
y = xW + b = \begin{pmatrix}1.2 & 1.6\\ 2.0 & 2.8\end{pmatrix}.
$$

The residual $r = y - y_\text{true} = \begin{pmatrix}0.2 & 0.6\\ 1.0 & 1.8\end{pmatrix}$, and the loss averages
its squares over all $n = 4$ entries: $L = \frac14(0.04 + 0.36 + 1 + 3.24) = 1.16$.

**Backward.** Seed 004's MSE rule, $\partial L / \partial y = \frac{2}{n}(y - y_\text{true})$, gives
$dy = \frac{2}{4} r = \begin{pmatrix}0.1 & 0.3\\ 0.5 & 0.9\end{pmatrix}$. Then the three rules of the linear
layer (notebook 04 derived them from the shapes):

$$
dW = x^\top dy = \begin{pmatrix}1 & 3\\ 2 & 4\end{pmatrix}\begin{pmatrix}0.1 & 0.3\\ 0.5 & 0.9\end{pmatrix}
= \begin{pmatrix}1.6 & 3.0\\ 2.2 & 4.2\end{pmatrix},
\qquad
db = \textstyle\sum_\text{rows} dy = (0.6,\ 1.2),
$$

$$
dx = dy\, W^\top = \begin{pmatrix}0.1 & 0.3\\ 0.5 & 0.9\end{pmatrix}\begin{pmatrix}0.1 & 0.3\\ 0.2 & 0.4\end{pmatrix}
= \begin{pmatrix}0.07 & 0.15\\ 0.23 & 0.51\end{pmatrix}.
$$

($db$ sums over the rows because $b$ was copied to both rows: seed 004 writes $\partial L/\partial b = \partial
L/\partial y$, which is true per row; the copies then add up.) Compare with the engine, and with central
differences:
""")

code(r"""
by_hand = {"loss": 1.16, "W": np.array([[1.6, 3.0], [2.2, 4.2]]), "b": np.array([0.6, 1.2]),
           "x": np.array([[0.07, 0.15], [0.23, 0.51]])}
xg = bl.Tensor(x.data, requires_grad=True)                 # the same example with a gradient for x too
Wg, bg = bl.Tensor(W.data, requires_grad=True), bl.Tensor(b.data, requires_grad=True)
lg = bl.nn.mse_loss(xg @ Wg + bg, y_true)
lg.backward()
print("loss:", round(lg.item(), 10), " by hand:", by_hand["loss"])
for name, t in (("W", Wg), ("b", bg), ("x", xg)):
    print(f"d{name}: engine equals the hand derivation: {np.allclose(t.grad, by_hand[name])}")

mse_of_W = lambda w: float(np.mean((x.data @ w + b.data - 1.0) ** 2))
print("dW by central differences:\n", central_gradient(mse_of_W, W.data.copy()).round(6))
""", tags=CHECKED)

md(r"""
### Exercise 07.1: `Linear` as a single Function

`bl.nn.Linear` is a composite (a `MatMul` and an `Add`), so the engine differentiates it with two rules.
Write the layer as **one** `bl.Function` instead, with the backward derived above: forward takes `x`
$(N, \text{in})$, `W` $(\text{in}, \text{out})$ and `b` $(\text{out},)$; backward returns `(dx, dW, db)`. For
`db` you may return `g` itself: the driver un-broadcasts it to `b`'s shape (notebook 06), or sum it yourself.
""")

exercise(r'''
class LinearFn(bl.Function):
    """y = x @ W + b as one operation."""

    @staticmethod
    def forward(ctx, x, W, b):
        ### BEGIN SOLUTION
        ctx.save_for_backward(x, W)
        return x @ W + b
        ### END SOLUTION

    @staticmethod
    def backward(ctx, g):
        ### BEGIN SOLUTION
        x, W = ctx.saved
        return g @ W.T, x.T @ g, g.sum(axis=0)
        ### END SOLUTION
''', "07.1", 2, "forward x @ W + b (save x and W on ctx); backward (g @ W.T, x.T @ g, g summed over rows)")

code(r"""
check("07.1", LinearFn)
""")

md(r"""
The notebook goes on with `Linear_fn`: the course's `LinearFn`, or yours if you have switched the notebook to
"mine" (notebook 00 shows how) and it passes check 07.1. A single Function and the composite `bl.nn.Linear`
(a `MatMul` and an `Add`, two rules) must give the same gradients:
""")

code(r"""
Linear_fn = bl.exercises.use(LinearFn, reference.LinearFn, "07.1")
layer = bl.nn.Linear(5, 3, rng=2)
xb = bl.Tensor(rng.normal(size=(8, 5)))
bl.nn.mse_loss(layer(xb), np.zeros((8, 3))).backward()
W1, b1 = bl.Tensor(layer.W.data, requires_grad=True), bl.Tensor(layer.b.data, requires_grad=True)
bl.nn.mse_loss(Linear_fn.apply(xb, W1, b1), np.zeros((8, 3))).backward()
print("one fused Function and the composite Linear give the same dW and db:",
      np.allclose(W1.grad, layer.W.grad) and np.allclose(b1.grad, layer.b.grad))
""", tags=CHECKED)

# ============================================================================ 3. activations
md(r"""
## 3. Activations and their gradients

A stack of linear layers is still linear ($xW_1W_2 = x(W_1W_2)$), so networks put a non-linear **activation**
between them. The three classics and their derivatives:

* **ReLU** $= \max(x, 0)$: derivative $[x > 0]$ (1 for positive inputs, 0 otherwise; at exactly 0 the engine
  takes 0).
* **tanh**: $\frac{d}{dx}\tanh x = 1 - \tanh^2 x$. The derivative is a function of the *output*, so the rule
  saves $y = \tanh x$ and computes $1 - y^2$.
* **sigmoid** $\sigma(x) = \frac{1}{1 + e^{-x}}$: by the chain rule
  $\sigma'(x) = \frac{e^{-x}}{(1 + e^{-x})^2} = \frac{1}{1 + e^{-x}} \cdot \frac{e^{-x}}{1 + e^{-x}} =
  \sigma(x)\,(1 - \sigma(x))$, again a function of the output. In the engine sigmoid is a composite of `Neg`,
  `Exp`, `Add` and `Reciprocal`, and the chain rule through them must give the same.

Numerically: the engine's gradient of $\sum_i f(x_i)$ is $f'(x_i)$ at every point, to compare with the
formulas and with central differences (the grid avoids $x = 0$, ReLU's kink):
""")

code(r"""
grid = np.linspace(-4, 4, 400) + 0.005
sig = lambda v: 1 / (1 + np.exp(-v))
acts = {
    "ReLU":    (lambda t: t.relu(),    lambda v: np.maximum(v, 0), lambda v: (v > 0) * 1.0),
    "tanh":    (lambda t: t.tanh(),    np.tanh,                    lambda v: 1 - np.tanh(v) ** 2),
    "sigmoid": (lambda t: t.sigmoid(), sig,                        lambda v: sig(v) * (1 - sig(v))),
}
engine_grads = {}
for name, (act, f, df) in acts.items():
    t = bl.Tensor(grid, requires_grad=True)
    act(t).sum().backward()
    engine_grads[name] = t.grad
    numeric = (f(grid + 1e-6) - f(grid - 1e-6)) / 2e-6
    print(f"{name:8} engine = formula: {np.allclose(t.grad, df(grid))}   formula = central differences: "
          f"{np.allclose(df(grid), numeric, atol=1e-6)}")
""", tags=CHECKED)

code(r"""
fig, axes = plt.subplots(1, 3, figsize=(11, 3))
for ax, (name, (act, f, df)) in zip(axes, acts.items()):
    ax.plot(grid, f(grid), label=name)
    ax.plot(grid, engine_grads[name], "--", label="its gradient (engine)")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_title(name)
    ax.legend(fontsize=8)
fig.suptitle("Activations and their derivatives: sigmoid's never exceeds 1/4, tanh's 1, ReLU's is 0 or 1")
fig.tight_layout()
plt.show()
""")

md(r"""
The plot previews notebook 09: a sigmoid multiplies every gradient passing through it by at most $1/4$, so ten
stacked sigmoids shrink it by $4^{-10} \approx 10^{-6}$ (vanishing gradients); ReLU passes it unchanged where
it is active.
""")

# ============================================================================ 4. MSE
md(r"""
## 4. Mean squared error, and a first fit

For predictions $\hat y$ and targets $y$ with $n$ entries in all,

$$
L = \frac{1}{n}\sum_{i=1}^{n} (\hat y_i - y_i)^2,
\qquad
\frac{\partial L}{\partial \hat y_i} = \frac{2}{n}(\hat y_i - y_i).
$$

The $2$ comes from $d(u^2)/du = 2u$; the $1/n$ from the mean, where $n$ counts **every** entry (for a batch of
shape $(N, D)$, $n = ND$, not $N$). A numerical check on a random batch:
""")

code(r"""
pred, target = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
formula = 2 * (pred - target) / pred.size
numeric = central_gradient(lambda p: np.mean((p - target) ** 2), pred.copy())
print("2 (pred - target) / n equals central differences:", np.allclose(formula, numeric, atol=1e-8))
""", tags=CHECKED)

md(r"""
### Exercise 07.2: MSE forward and backward

Return the loss (a float) and its gradient with respect to `pred` (an array of `pred`'s shape), on plain
NumPy arrays.
""")

exercise(r'''
def mse_forward_backward(pred, target):
    """(L, dL/dpred) for L = mean((pred - target)**2) over all entries."""
    ### BEGIN SOLUTION
    diff = pred - target
    return float(np.mean(diff ** 2)), 2 * diff / diff.size
    ### END SOLUTION
''', "07.2", 2, "loss = mean(diff**2) with diff = pred - target; gradient 2 * diff / diff.size")

code(r"""
check("07.2", mse_forward_backward)
""")

md(r"""
**A first fit.** `bl.datasets.regression_1d` gives 100 noisy samples of a smooth curve. A straight line
(`Linear(1, 1)`) cannot follow it; an MLP with two hidden tanh layers can. Both are trained the same way, by
minimising the MSE with Adam (section 6) for 600 steps; the loss uses the engine's `mse_loss`, whose gradient
is the one you just wrote. (First, `mse` below, the course's `mse_forward_backward` or yours when the notebook
is switched to "mine", is compared with the engine's loss on the data.)
""")

code(r"""
mse = bl.exercises.use(mse_forward_backward, reference.mse_forward_backward, "07.2")
xr, yr = bl.datasets.regression_1d(100, noise=0.1, rng=0)
print("mse_forward_backward agrees with the engine's mse_loss on the data:",
      np.isclose(mse(np.zeros_like(yr), yr)[0], bl.nn.mse_loss(bl.Tensor(np.zeros_like(yr)), yr).item()))


def fit(model, steps=600, lr=0.01):
    opt = bl.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = bl.nn.mse_loss(model(xr), yr)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


line = bl.nn.Linear(1, 1, rng=0)
mlp = bl.nn.MLP([1, 32, 32, 1], activation=bl.nn.Tanh, rng=0)
loss_line, loss_mlp = fit(line), fit(mlp)
print(f"final training MSE: straight line {loss_line[-1]:.3f}, MLP {loss_mlp[-1]:.3f} (noise variance 0.010)")
""", tags=CHECKED)

md(r"""
Almost all of the line's error is the curve's bending, which a straight line cannot follow. The MLP's is at the level of the noise
(standard deviation 0.1, variance 0.01): no model can predict the noise, so on new samples from the same curve
no fit could do much better than 0.01. The MLP's training error is a little *below* it because, with over a
thousand parameters for 100 points, it has started to follow the noise of these particular samples.
""")

code(r"""
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.5))
dense = np.linspace(-3, 3, 300)[:, None]
with bl.no_grad():
    ax1.plot(dense, line(dense).data, label="Linear(1, 1)")
    ax1.plot(dense, mlp(dense).data, label="MLP [1, 32, 32, 1], tanh")
ax1.plot(xr, yr, ".", color="k", markersize=4, label="data")
ax1.plot(dense, bl.datasets.toy.regression_curve(dense), ":", color="gray", label="true curve")
ax1.set_title("Fits")
ax1.legend(fontsize=8)
ax2.semilogy(loss_line, label="Linear(1, 1)")
ax2.semilogy(loss_mlp, label="MLP")
ax2.set_xlabel("Adam step")
ax2.set_ylabel("training MSE")
ax2.set_title("Loss curves")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()
""")

# ============================================================================ 5. softmax & CE
md(r"""
## 5. Softmax and cross-entropy, the stable way

A classifier outputs one score (a *logit*) $z_k$ per class. **Softmax** turns them into probabilities,
and **cross-entropy** is minus the log-probability of the correct class $y$:

$$
p_k = \frac{e^{z_k}}{\sum_j e^{z_j}}, \qquad L = -\log p_y = -z_y + \log \sum_j e^{z_j}.
$$

Written that way in code, it breaks. $e^{710}$ is already larger than the largest float64, so logits in the
hundreds overflow to `inf`, and $\infty / \infty$ is `nan`. Very negative logits fail the other way: every
$e^{z_j}$ underflows to 0, and $0 / 0$ is `nan` too. And one large logit is enough to ruin the loss: with
logits $(0, 800)$ and label 0, $p_0 = 1/e^{800}$ becomes $1/\infty = 0$ and $-\log 0 = \infty$, although the
true loss is a perfectly ordinary $800$.
""")

code(r"""
def naive_softmax(z):
    e = np.exp(z)
    return e / e.sum()


with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
    print("naive softmax of [1000, 1001, 1002]:   ", naive_softmax(np.array([1000.0, 1001.0, 1002.0])))
    print("naive softmax of [-1000, -999, -998]:  ", naive_softmax(np.array([-1000.0, -999.0, -998.0])))
    print("naive cross-entropy, label 0, logits [0, 800]:", -np.log(naive_softmax(np.array([0.0, 800.0]))[0]))
""", tags=CHECKED)

md(r"""
**The fix (seed 001's recipe).** Subtracting any constant $c$ from all logits changes nothing, because
$e^{-c}$ cancels:

$$
\frac{e^{z_k - c}}{\sum_j e^{z_j - c}} = \frac{e^{-c} e^{z_k}}{e^{-c} \sum_j e^{z_j}} = p_k.
$$

Choose $c = m = \max_j z_j$. Then the largest exponent is $e^0 = 1$: nothing overflows, and the sum lies
between 1 and the number of classes, so its log is never $\log 0$. For the loss, take the log *before*
exponentiating anything large (the **log-sum-exp** trick):

$$
\log p_y = (z_y - m) - \log \sum_j e^{z_j - m}, \qquad L = -\log p_y .
$$

Check numerically that shifting changes nothing where the naive formula still works, and rescues it where
it does not:
""")

code(r"""
def stable_log_softmax(z):
    s = z - z.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


small = np.array([0.0, 1.0, 2.0])
print("shift-invariance: log softmax of [0, 1, 2] naive vs stable equal:",
      np.allclose(np.log(naive_softmax(small)), stable_log_softmax(small)))
print("stable log softmax of [1000, 1001, 1002]:", stable_log_softmax(small + 1000))
print("stable log softmax of [-1000, -999, -998]:", stable_log_softmax(small - 1000))
print("stable cross-entropy, label 0, logits [0, 800]:", -stable_log_softmax(np.array([0.0, 800.0]))[0])
""", tags=CHECKED)

md(r"""
### Exercise 07.3: a stable cross-entropy

`logits` has shape $(N, C)$, one row per example; `labels` has shape $(N,)$, integer class ids. Return the
**mean** over the batch of $-\log p_{y_n}$, as one float. The check feeds logits as large as $10^4$ in size,
and rows of very different scales in one batch: shift each row by its own maximum.
""")

exercise(r'''
def cross_entropy(logits, labels):
    """Mean over the batch of -log softmax(logits)[label], computed with the max shift (log-sum-exp)."""
    ### BEGIN SOLUTION
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())
    ### END SOLUTION
''', "07.3", 2, "shift each row by its max, log-sum-exp, pick the label's log-probability per row, mean")

code(r"""
check("07.3", cross_entropy)
""")

md(r"""
**The gradient is $p - y$.** Differentiate $L = -z_y + \log\sum_j e^{z_j}$ with respect to one logit $z_k$:
the first term gives $-1$ if $k = y$ and 0 otherwise; the second gives
$\frac{e^{z_k}}{\sum_j e^{z_j}} = p_k$. So

$$
\frac{\partial L}{\partial z_k} = p_k - [k = y], \qquad\text{or, with } y \text{ one-hot:}\qquad
\frac{\partial L}{\partial z} = p - y .
$$

Every wrong class is pushed down by its probability, the right class pushed up by $1 - p_y$. For the mean
over a batch of $N$, each row's gradient is divided by $N$. The shift by $m$ does not change the gradient
either, since it does not change $L$: its contributions cancel, so an engine may treat $m$ as a constant. The
engine's composite `log_softmax` does exactly that, with `detach()` (notebook 06).

The engine computes this loss in two ways. `bl.nn.cross_entropy` uses one **fused** rule,
`SoftmaxCrossEntropy` (in `rules.py`): its forward is the stable recipe above and its whole backward is
$(p - y)/N$. It exists for speed, not for new math: the composite `-x.log_softmax()[range(N), y].mean()`
gives the same gradient through about a dozen recorded operations, and the single rule makes an epoch of
notebook 08's MNIST network about 11% faster. Check the formula three ways: central differences of your
`cross_entropy` (or the course's: `ce` below, chosen as before), the fused rule, and the composite:
""")

code(r"""
ce = bl.exercises.use(cross_entropy, reference.cross_entropy, "07.3")
z = rng.normal(size=(4, 5)) * 2
labels = np.array([3, 0, 4, 1])
p = np.exp(stable_log_softmax(z))
onehot = np.eye(5)[labels]
formula = (p - onehot) / len(labels)

numeric = central_gradient(lambda zz: ce(zz, labels), z.copy())
zf = bl.Tensor(z, requires_grad=True)
bl.nn.cross_entropy(zf, labels).backward()
zc = bl.Tensor(z, requires_grad=True)
(-zc.log_softmax(axis=1)[np.arange(4), labels]).mean().backward()
print("(p - y) / N equals central differences:      ", np.allclose(formula, numeric, atol=1e-8))
print("(p - y) / N equals the fused rule's gradient: ", np.allclose(formula, zf.grad))
print("(p - y) / N equals the composite's gradient:  ", np.allclose(formula, zc.grad))
print("each row of the gradient sums to 0:           ", np.allclose(formula.sum(axis=1), 0))

big = bl.Tensor(np.array([[1e4, -1e4, 5e3], [-1e4, 0.0, 1e4]]), requires_grad=True)
loss_big = bl.nn.cross_entropy(big, np.array([2, 1]))
loss_big.backward()
print("logits of size 1e4: loss", loss_big.item(), " gradient finite:", np.isfinite(big.grad).all())
""", tags=CHECKED)

# ============================================================================ 6. optimizers
md(r"""
## 6. Optimizers: SGD, momentum, Adam

An optimizer turns gradients into parameter updates. With gradient $g_t$ at step $t$ and learning rate
$\eta$:

**SGD** (seed 001): $\theta \leftarrow \theta - \eta\, g_t$. In a narrow valley this is slow: a learning rate
small enough not to bounce between the steep walls crawls along the flat floor.

**Momentum** (heavy ball; PyTorch's and `bl.optim.SGD(momentum=μ)`'s form) keeps a velocity, a running sum of
past gradients:

$$
v \leftarrow \mu v + g_t, \qquad \theta \leftarrow \theta - \eta\, v .
$$

Along the floor the gradients agree from step to step and add up (up to $1/(1-\mu)$, ten times for
$\mu = 0.9$); across the valley they alternate in sign and cancel.

**Adam** (Kingma & Ba, 2015, Algorithm 1) keeps exponential moving averages of the gradient and of its
square, and divides one by the root of the other, so every parameter gets its own step size:

$$
\begin{aligned}
m &\leftarrow \beta_1 m + (1 - \beta_1)\, g_t, &\qquad v &\leftarrow \beta_2 v + (1 - \beta_2)\, g_t^2,\\
\hat m &= m / (1 - \beta_1^t), & \hat v &= v / (1 - \beta_2^t),\\
\theta &\leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \varepsilon),
\end{aligned}
$$

with $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\varepsilon = 10^{-8}$, and $t = 1$ on the first step. **Why the
bias correction?** $m$ and $v$ start at 0, so early on they are biased towards 0: after one step
$m = (1 - \beta_1) g_1 = 0.1\, g_1$. If the gradient were constant, $g_t = g$, then
$m_t = (1 - \beta_1)(1 + \beta_1 + \dots + \beta_1^{t-1})\, g = (1 - \beta_1^t)\, g$, so dividing by
$1 - \beta_1^t$ recovers $g$ exactly, from the very first step. Numerically:
""")

code(r"""
b1, b2, g = 0.9, 0.999, 2.0
m = v = 0.0
for t in range(1, 6):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    print(f"t={t}: m = {m:.4f}, m_hat = {m / (1 - b1 ** t):.4f};  v = {v:.6f}, v_hat = {v / (1 - b2 ** t):.4f}"
          f";  step m_hat/sqrt(v_hat) = {m / (1 - b1 ** t) / np.sqrt(v / (1 - b2 ** t)):.4f}")
""", tags=CHECKED)

md(r"""
With the correction, Adam's first step is $\eta \cdot g/|g| = \eta$ in size, whatever the scale of the
gradient. Without it, the first step would be $\eta \cdot 0.1/\sqrt{0.001} \approx 3.2\,\eta$: too large by a
factor that depends on the betas.

### Exercise 07.4: one momentum step

Return `(p_new, v_new)` for the heavy-ball update above (arrays of `p`'s shape).
""")

exercise(r'''
def momentum_step(p, grad, v, lr, momentum):
    """One step of SGD with momentum: v = momentum * v + grad, then p = p - lr * v."""
    ### BEGIN SOLUTION
    v = momentum * v + grad
    return p - lr * v, v
    ### END SOLUTION
''', "07.4", 2, "update the velocity v = momentum * v + grad first, then p = p - lr * v")

code(r"""
check("07.4", momentum_step)
""")

md(r"""
### Exercise 07.5: one Adam step

Return `(p_new, m_new, v_new)`: the updated parameter and the raw (uncorrected) moments, which are the
optimizer's state for the next step. `t` is the number of this step, 1 on the first.
""")

exercise(r'''
def adam_step(p, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam update (Kingma & Ba, Algorithm 1), with bias correction; t = 1 on the first step."""
    ### BEGIN SOLUTION
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
    ### END SOLUTION
''', "07.5", 3, "moments m and v, bias-corrected m_hat and v_hat with step t, then p - lr * m_hat / (sqrt(v_hat) + eps)")

code(r"""
check("07.5", adam_step)
""")

md(r"""
The engine's optimizers do the same, for every parameter of a model at once. Run `mom` and `adam` (the
course's steps, or yours when the notebook is switched to "mine" and they pass their checks) and the engine's
optimizers side by side for ten steps on the same gradients:
""")

code(r"""
mom = bl.exercises.use(momentum_step, reference.momentum_step, "07.4")
adam = bl.exercises.use(adam_step, reference.adam_step, "07.5")
theta0 = rng.normal(size=3)
grads = rng.normal(size=(10, 3))

pa = bl.Tensor(theta0.copy(), requires_grad=True)
pb = bl.Tensor(theta0.copy(), requires_grad=True)
sgd_m, adam_opt = bl.optim.SGD([pa], lr=0.1, momentum=0.9), bl.optim.Adam([pb], lr=0.1)
mine_a, vel = theta0.copy(), np.zeros(3)
mine_b, m1, m2 = theta0.copy(), np.zeros(3), np.zeros(3)
for t, g in enumerate(grads, start=1):
    pa.grad, pb.grad = g.copy(), g.copy()
    sgd_m.step()
    adam_opt.step()
    mine_a, vel = mom(mine_a, g, vel, 0.1, 0.9)
    mine_b, m1, m2 = adam(mine_b, g, m1, m2, t, lr=0.1)
print("momentum: momentum_step x 10 equals bl.optim.SGD(momentum=0.9):", np.allclose(mine_a, pa.data))
print("Adam:     adam_step x 10 equals bl.optim.Adam:                 ", np.allclose(mine_b, pb.data))
""", tags=CHECKED)

md(r"""
### Watching them move

Two classic test surfaces: a **narrow valley** $0.01x^2 + y^2$, a hundred times more curved across than along,
and **Rosenbrock's banana** $(1 - x)^2 + 100(y - x^2)^2$, a curved valley with its minimum at $(1, 1)$. Each
path below is the engine at work: a two-parameter `Tensor`, the surface built from tensor operations,
`backward()`, and the optimizer's `step()`, 200 times.
""")

code(r"""
fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
for ax, surface in zip(axes, ["valley", "rosenbrock"]):
    paths = {f"{name} (lr={lr})": optimizer_paths.optimizer_path(surface, name, lr, steps=200)
             for name, lr in optimizer_paths.DEFAULT_LR[surface].items()}
    optimizer_paths.plot_paths(surface, paths, ax=ax)
fig.tight_layout()
plt.show()
""")

md(r"""
In the valley, SGD at a learning rate just below where it becomes unstable (0.9) zig-zags across the
valley and crawls along it; momentum, at a tenth of that rate, swings across a few times but builds up speed
along the floor; Adam moves every coordinate at about the same speed whatever its curvature, so it swings
down the valley in one wide arc and gets closest. On Rosenbrock, plain SGD stalls on the curved floor where
momentum keeps going.

Now try it yourself: pick a surface, an optimizer and a learning rate (the other two optimizers stay in grey
at their defaults; the legend gives each path's final loss). Find the learning rate at which SGD starts to
diverge in the valley (hint: the steep direction, $y$, has curvature 2), and see what momentum does with the
same value. Try it before reading on: the answer follows the widget.
""")

code(r"""
optimizer_paths.optimizer_paths_widget()
""")

md(r"""
**The answer, derived.** Along $y$ the gradient of $0.01x^2 + y^2$ is $2y$, so one SGD step maps
$y \to y - 2\eta y = (1 - 2\eta)\,y$. Its size shrinks only while $|1 - 2\eta| < 1$, that is for
$0 < \eta < 1$; at $\eta = 0.9$ the factor is $-0.8$ (the sign flips every step: the zig-zag), and beyond
$\eta = 1$ every step makes $|y|$ larger. In general, SGD is stable along a direction of curvature $\lambda$
only while $\eta\lambda < 2$.

Momentum on the same direction: $v \leftarrow \mu v + \lambda y$, $y \leftarrow y - \eta v$. The pair
$(y, v)$ is multiplied at every step by the matrix
$\begin{pmatrix}1 - \eta\lambda & -\eta\mu\\ \lambda & \mu\end{pmatrix}$, whose eigenvalues solve
$z^2 - (1 + \mu - \eta\lambda)\,z + \mu = 0$. Both lie inside the unit circle exactly when
$0 < \eta\lambda < 2(1 + \mu)$: for $\mu = 0.9$ and $\lambda = 2$, up to $\eta < 1.9$, almost twice SGD's
limit. Check both limits on the eigenvalues and on the optimizers themselves (`optimizer_path` runs the
engine's `SGD` and `SGD(momentum=0.9)` for 200 steps from the same start, and stops a run early once a
coordinate passes $10^6$):
""")

code(r"""
lam, mu = 2.0, 0.9
valley = optimizer_paths.SURFACES["valley"]["numpy"]
print("         SGD                       momentum (mu = 0.9)")
print("  lr     |1 - lr*lam|  final loss  largest |eigenvalue|  final loss")
for lr in [0.9, 0.99, 1.01, 1.5, 1.89, 1.91]:
    radius = np.abs(np.linalg.eigvals([[1 - lr * lam, -lr * mu], [lam, mu]])).max()
    loss_sgd = valley(*optimizer_paths.optimizer_path("valley", "SGD", lr, steps=200)[-1])
    loss_mom = valley(*optimizer_paths.optimizer_path("valley", "Momentum", lr, steps=200)[-1])
    print(f"  {lr:4.2f}   {abs(1 - lr * lam):12.2f}  {loss_sgd:10.3g}  {radius:20.3f}  {loss_mom:10.3g}")
""", tags=CHECKED)

# ============================================================================ summary
md(r"""
## Summary

* A `Module` holds parameters (tensors with `requires_grad=True`) and sub-modules; `parameters()` finds them.
  `Linear` computes $y = xW + b$; on seed 004's example, $L = 1.16$, $dW = x^\top dy =
  \begin{pmatrix}1.6 & 3.0\\ 2.2 & 4.2\end{pmatrix}$ and $db = (0.6, 1.2)$, by hand and by the engine.
* Activations: ReLU' $= [x > 0]$, $\tanh' = 1 - \tanh^2$, $\sigma' = \sigma(1 - \sigma)$; the last two reuse
  the output.
* MSE: $\partial L/\partial \hat y = 2(\hat y - y)/n$, with $n$ every entry.
* Cross-entropy: shift each row by its max and use log-sum-exp, or `exp` overflows; the gradient with
  respect to the logits is $(p - y)/N$.
* Optimizers: SGD $\theta - \eta g$; momentum $v = \mu v + g$, $\theta - \eta v$; Adam with moving averages of
  $g$ and $g^2$ and the bias correction $1/(1 - \beta^t)$, which makes the first step the right size.

**Next: [notebook 08, an MLP on MNIST](08_mnist_mlp.ipynb).** Every piece is ready: `Linear` layers and ReLU, the stable
cross-entropy, SGD and Adam. Notebook 08 trains seed 001's 784-64-64-10 network on handwritten digits,
reaches its ≈ 95%, and then goes past 98% with a better recipe.
""")


if __name__ == "__main__":
    notebook.main(sys.argv[1:])
