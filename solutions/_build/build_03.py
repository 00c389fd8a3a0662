"""Build ``solutions/03_scalar_neural_net.ipynb`` (the instructor notebook) from this script.

    python solutions/_build/build_03.py            # write the notebook without outputs
    python solutions/_build/build_03.py --execute  # ... then run it (cwd solutions/) and save the outputs

Edit the notebook's text and code here, not in the .ipynb, so that it can be regenerated.
Cell ids are fixed ("c03-007"), so a rebuild changes only what was edited.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))   # find nbbuild also when loaded by file path (tests)
from nbbuild import CHECKED, Notebook  # noqa: E402

notebook = Notebook("03", "03_scalar_neural_net.ipynb")
md, code, exercise = notebook.md, notebook.code, notebook.exercise
TARGET = notebook.target
build = notebook.build

CHECKED = ["nbval-check-output"]

# ============================================================================ title and goals
md(r"""
# 03 · A neural network made of scalars

Notebook 02 built `Value`, a number that remembers how it was computed and can backpropagate. That is
all a neural network needs. In this notebook we assemble `Value`s into neurons, layers and a small
multi-layer perceptron (MLP), give it a loss, and train it with gradient descent to separate two
interleaved half-moons in the plane. Then we time it, and find out why nobody trains networks one
number at a time.

**Learning goals.** After this notebook you can

1. write a neuron, a layer and an MLP out of `Value`s, and count and collect their parameters;
2. define the mean squared error loss, derive its gradient, and check the engine's gradient against a
   central difference;
3. write the training loop, *zero the gradients → forward → backward → update*, and say what breaks when
   a step is missing or out of order;
4. predict, for a quadratic loss, the learning rate that converges in one step and the one above which
   gradient descent diverges; and see the same behaviour on the network;
5. read a training curve and a decision boundary;
6. measure how much slower scalar `Value`s are than the same network written with NumPy arrays.

**Exercises:** 03.1 a neuron's forward pass · 03.2 collecting the parameters · 03.3 one training step ·
03.4 the learning rate.
""")

code(r'''
import math
import time

import matplotlib.pyplot as plt
import numpy as np

import backprop_lab as bl
from backprop_lab.datasets import two_moons
from backprop_lab.exercises import check
from backprop_lab.exercises.nb03 import reference   # the course's versions of this notebook's exercises
from backprop_lab.widgets.training import accuracy, plot_decision_boundary, training_playground

rng = np.random.default_rng(0)
''')

md(r"""
### Your `Value` or the engine's?

If you finished notebook 02, its last section saved your class to `my_value.py`, next to the notebooks. The
next cell loads it, and `bl.exercises.use(MyValue, bl.Value, "02.7")` decides which class this notebook
trains with: the engine's `bl.Value` by default, **yours** if you switch the notebook to "mine" (notebook 00:
`import os; os.environ["BACKPROP_LAB_USE"] = "mine"` in a cell above this one, or
`bl.exercises.use(..., mode="mine")` here) *and* it passes check 02.7. If it does not pass yet, or the file is
missing, `use` says so and falls back to `bl.Value`, so every cell below runs either way. Your class does
everything the network needs: `+`, `-`, `*`, `/`, `**` and `tanh`.
""")

code(r'''
import importlib

try:
    import my_value                                   # written by the last section of notebook 02
    MyValue = importlib.reload(my_value).MyValue      # reload: the latest version, if you re-ran notebook 02
except ModuleNotFoundError:
    print("(no my_value.py next to this notebook yet: the last section of notebook 02 writes it)")
    MyValue = None
except Exception as exc:                              # a mistake in the file
    print(f"(my_value.py could not be loaded: {type(exc).__name__}: {exc}; run the last section of notebook 02 "
          "again to rewrite it)")
    MyValue = None

Value = bl.exercises.use(MyValue, bl.Value, "02.7")
''')

# ============================================================================ 1. neuron
md(r"""
## 1. A neuron

A neuron with $n$ inputs $x_1, \dots, x_n$ has one **weight** $w_i$ per input and a **bias** $b$. It computes a
weighted sum and squashes it with an activation function, here $\tanh$:

$$
\text{neuron}(x) = \tanh\Big(\sum_{i=1}^{n} w_i x_i + b\Big).
$$

The weights and the bias are the neuron's **parameters**: the numbers training will adjust, so they are
`Value`s. The inputs are data, plain numbers (a `Value` times a number is a `Value`). From notebook 02 we
know the gradients it will produce: with $t$ the output, the `tanh` node hands on $1 - t^2$, the `+` nodes
distribute it, and each `*` node swaps, so

$$
\frac{\partial t}{\partial w_i} = (1 - t^2)\,x_i, \qquad \frac{\partial t}{\partial b} = 1 - t^2.
$$

### Exercise 03.1 — a neuron's forward pass

Write `neuron_forward(w, b, x)`: `w` is a list of `Value`s, `b` a `Value`, `x` a list of numbers of the same
length; return the neuron's output **as a `Value`** (use the `Value`'s `.tanh()`, not `math.tanh`, or the
result loses its graph).
""")

exercise(r'''
def neuron_forward(w, b, x):
    """tanh(w[0]*x[0] + w[1]*x[1] + ... + b), as a Value."""
    ### BEGIN SOLUTION
    z = b
    for wi, xi in zip(w, x):
        z = z + wi * xi
    return z.tanh()
    ### END SOLUTION
''', "03.1", 1, "return tanh(sum of w[i] * x[i], plus b) as a Value")

code(r'''
check("03.1", neuron_forward)
''')

md(r"""
From here on the network calls `neuron_fn`: yours once it passes (in "mine" mode), the course's reference
otherwise. A numerical check of the formula above, on a neuron with three inputs:
""")

code(r'''
neuron_fn = bl.exercises.use(neuron_forward, reference.neuron_forward, "03.1")

w = [Value(0.3), Value(-0.8), Value(0.5)]
b = Value(0.1)
x = [1.0, 0.5, -2.0]
t = neuron_fn(w, b, x)
t.backward()
print(f"output t = {t.data:.6f}")
print("backprop:           dt/dw =", [round(wi.grad, 6) for wi in w], " dt/db =", round(b.grad, 6))
print("formula (1-t^2) x:  dt/dw =", [round((1 - t.data ** 2) * xi, 6) for xi in x], " dt/db =",
      round(1 - t.data ** 2, 6))
''', tags=CHECKED)

# ============================================================================ 2. layers and MLP
md(r"""
## 2. Layers and a multi-layer perceptron

A **layer** is several neurons reading the same inputs; its output is the list of their outputs. An **MLP**
chains layers: the outputs of one are the inputs of the next. Ours has 2 inputs (a point in the plane), one
hidden layer and one output neuron, whose $\tanh$ output, between $-1$ and $1$, is the **score**: its sign is
the predicted class.

Weights start random and small: uniform in $[-1, 1]$ divided by $\sqrt{n_\text{in}}$, so the weighted sums
start near the steep middle of $\tanh$ whatever the number of inputs. Biases start at 0. The generator is
seeded, so every run starts from the same network.
""")

code(r'''
class Neuron:
    def __init__(self, n_in, rng):
        self.w = [Value(rng.uniform(-1, 1) / math.sqrt(n_in)) for _ in range(n_in)]
        self.b = Value(0.0)

    def __call__(self, x):
        return neuron_fn(self.w, self.b, x)


class Layer:
    def __init__(self, n_in, n_out, rng):
        self.neurons = [Neuron(n_in, rng) for _ in range(n_out)]

    def __call__(self, x):
        return [neuron(x) for neuron in self.neurons]


class MLP:
    def __init__(self, sizes, rng):
        """sizes = [inputs, hidden..., outputs], e.g. [2, 16, 1]."""
        self.sizes = list(sizes)
        self.layers = [Layer(n_in, n_out, rng) for n_in, n_out in zip(sizes[:-1], sizes[1:])]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return params_fn(self)          # defined after exercise 03.2


model = MLP([2, 4, 1], np.random.default_rng(0))
print("score of the point (0.5, -0.2):", model([0.5, -0.2]))
''')

md(r"""
### Exercise 03.2 — collecting the parameters

Training updates every weight and bias, so it needs them all in one flat list. Write
`collect_parameters(model)`: go through `model.layers`, each layer's `neurons`, and each neuron's weights
`neuron.w` (a list) and bias `neuron.b`. Return the `Value` objects themselves, each once (the update
changes them in place).

How many are there? A layer from $n_\text{in}$ to $n_\text{out}$ has $n_\text{in} n_\text{out}$ weights and
$n_\text{out}$ biases: for `[2, 4, 1]`, $2\cdot4 + 4 + 4\cdot 1 + 1 = 17$.
""")

exercise(r'''
def collect_parameters(model):
    """Every weight and bias of the model (the Value objects), each once, in one flat list."""
    ### BEGIN SOLUTION
    params = []
    for layer in model.layers:
        for neuron in layer.neurons:
            params.extend(neuron.w)
            params.append(neuron.b)
    return params
    ### END SOLUTION
''', "03.2", 1, "return a flat list of every neuron's w (all of them) and b, for every layer")

code(r'''
check("03.2", collect_parameters)
''')

code(r'''
params_fn = bl.exercises.use(collect_parameters, reference.collect_parameters, "03.2")
print("parameters of a [2, 4, 1] MLP:", len(model.parameters()), "(2*4 + 4 + 4*1 + 1 = 17)")
''', tags=CHECKED)

# ============================================================================ 3. data
md(r"""
## 3. The data: two moons

Two interleaving half circles, one per class, with a little noise: no straight line separates them, so the
network needs its hidden layer. `bl.datasets.two_moons` makes them locally, seeded. We keep 40 points (a
scalar network is slow, as section 8 measures) and relabel the classes $0, 1$ as targets $-1, +1$, the range
of the output $\tanh$.

We also **standardise** the inputs: subtract each coordinate's mean and divide by its standard deviation, so
both coordinates are centred on 0 with spread 1. The weighted sums then start in the steep middle of $\tanh$
for every point, and gradient descent needs far fewer steps. It is the usual first step before training any
network; the picture is the same moons, shifted and rescaled.
""")

code(r'''
X, labels = two_moons(40, noise=0.1, rng=0)
X = (X - X.mean(axis=0)) / X.std(axis=0)    # standardise: each coordinate mean 0, standard deviation 1
Y = 2.0 * labels - 1.0                      # classes 0, 1 -> targets -1, +1
xs, ys = X.tolist(), Y.tolist()             # plain Python numbers for the scalar network
print(f"{len(xs)} points, {int(labels.sum())} of class +1; first point {np.round(X[0], 3)} -> {ys[0]:+.0f}")

fig, ax = plt.subplots(figsize=(4.5, 3.5))
ax.scatter(X[Y < 0, 0], X[Y < 0, 1], c="#d62728", edgecolors="k", s=28, label="class -1")
ax.scatter(X[Y > 0, 0], X[Y > 0, 1], c="#1f77b4", edgecolors="k", s=28, label="class +1")
ax.set_aspect("equal")
ax.legend(loc="upper right", fontsize=8)
ax.set_title("two moons")
plt.show()
''')

# ============================================================================ 4. loss
md(r"""
## 4. A loss

The **loss** is one number that says how wrong the network is on the whole data set; training makes it
small. With targets $y_k = \pm 1$ and scores $s_k$, the **mean squared error** is

$$
L = \frac{1}{N}\sum_{k=1}^{N} (s_k - y_k)^2, \qquad
\frac{\partial L}{\partial s_k} = \frac{2}{N}(s_k - y_k).
$$

$\partial L/\partial s_k$ is the upstream gradient the output neuron receives for point $k$: large where the
score is far from its target, zero where it is exact. Backpropagation carries it on into every weight, and
since every parameter is used once per point, its gradient **adds up** the contributions of all $N$ points
(the forks of notebook 02). Numerical check on one weight: compare its `.grad` with a central difference of
the loss, nudging that weight's `.data`.
""")

code(r'''
def mse_loss(model, xs, ys):
    """Mean squared error of the model's scores against the targets, as a Value."""
    total = Value(0.0)
    for x, y in zip(xs, ys):
        total = total + (model(x) - y) ** 2
    return total * (1.0 / len(xs))


model = MLP([2, 4, 1], np.random.default_rng(0))
loss = mse_loss(model, xs, ys)
loss.backward()
p = model.layers[0].neurons[1].w[0]         # any parameter will do
h, old = 1e-5, p.data
p.data = old + h
up = mse_loss(model, xs, ys).data
p.data = old - h
down = mse_loss(model, xs, ys).data
p.data = old
print(f"loss = {loss.data:.6f}")
print(f"dL/dw: backprop {p.grad:.8f}, central difference {(up - down) / (2 * h):.8f}")
''', tags=CHECKED)

# ============================================================================ 5. training loop
md(r"""
## 5. The training loop

Gradient descent repeats one **step**:

1. **zero the gradients** of all parameters: `backward` *adds* to `.grad` (the `+=` of notebook 02), so the
   previous step's gradients must go first;
2. **forward**: compute the loss, building a fresh graph;
3. **backward**: `loss.backward()` fills every parameter's `.grad` with $\partial L/\partial p$;
4. **update**: move every parameter a little against its gradient, `p.data -= lr * p.grad`.

Why *against* the gradient: from notebook 01, $L(p + \Delta) \approx L(p) + \Delta\,\partial L/\partial p$, so the
step $\Delta = -\text{lr}\cdot\partial L/\partial p$ changes the loss by about $-\text{lr}\,(\partial L/\partial p)^2 \le 0$:
downhill, for a small enough learning rate `lr`.

### Exercise 03.3 — one training step

Write `train_step(params, loss_fn, lr)`: `params` is the list of parameters, `loss_fn()` runs the forward pass
and returns the loss `Value`. Do the four steps and return the loss of this step's forward pass, as a number
(`loss.data`).
""")

exercise(r'''
def train_step(params, loss_fn, lr):
    """Zero the grads, forward (loss_fn()), backward, update p.data -= lr * p.grad; return the loss (a number)."""
    ### BEGIN SOLUTION
    for p in params:
        p.grad = 0.0
    loss = loss_fn()
    loss.backward()
    for p in params:
        p.data -= lr * p.grad
    return loss.data
    ### END SOLUTION
''', "03.3", 2, "zero every p.grad, loss = loss_fn(), loss.backward(), p.data -= lr * p.grad; return loss.data")

code(r'''
check("03.3", train_step)
''')

md(r"""
Now train: a `[2, 8, 1]` network (33 parameters), learning rate 0.7, 80 full-batch steps (each step uses
all 40 points). This takes a second or two: every step builds and walks a graph of about 3,000 `Value`s.
""")

code(r'''
step_fn = bl.exercises.use(train_step, reference.train_step, "03.3")


def fit(hidden, lr, steps, seed=0):
    """Train a fresh [2, hidden, 1] MLP on the moons; return (losses, model)."""
    model = MLP([2, hidden, 1], np.random.default_rng(seed))
    params = model.parameters()
    losses = [step_fn(params, lambda: mse_loss(model, xs, ys), lr) for _ in range(steps)]
    return losses, model


start = time.perf_counter()
losses, model = fit(hidden=8, lr=0.7, steps=80)
print(f"trained in {time.perf_counter() - start:.1f} s")
''')

code(r'''
def predict_scalar(model, points):
    return np.array([model(list(p)).data for p in points])


train_accuracy = accuracy(lambda pts: predict_scalar(model, pts), X, Y)
print(f"loss: {losses[0]:.2f} at the start, {losses[-1]:.2f} after {len(losses)} steps")
print(f"training accuracy: {train_accuracy:.0%}")
''', tags=CHECKED)

# ============================================================================ 6. pictures
md(r"""
## 6. Training curve and decision boundary

The loss falls fast in the first steps, where a roughly straight boundary gets most points right, then
levels off for a while, then falls again as the hidden neurons bend the boundary around the tips of the
moons. The decision boundary is the line where the score is 0. To shade the whole plane we evaluate the network on
a grid of 3600 points; with `Value`s that alone would take seconds, so `numpy_forward` computes the same
network with NumPy arrays, from the same weights (section 8 explains the matrix form). First, a check that
both give the same scores:
""")

code(r'''
def to_numpy(model):
    """The model's weights as arrays: for each layer W (n_in, n_out) and b (n_out,)."""
    return [(np.array([[w.data for w in n.w] for n in layer.neurons]).T, np.array([n.b.data for n in layer.neurons]))
            for layer in model.layers]


def numpy_forward(weights, points):
    h = points
    for W, b in weights:
        h = np.tanh(h @ W + b)
    return h[:, 0]


weights = to_numpy(model)
difference = np.abs(numpy_forward(weights, X) - predict_scalar(model, X)).max()
print(f"largest difference between the scalar and the NumPy scores: {difference:.1e}")
''')

code(r'''
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.plot(losses)
ax1.set_yscale("log")
ax1.set_xlabel("step")
ax1.set_ylabel("mean squared error")
ax1.set_title("training curve")
ax1.grid(alpha=0.3)
plot_decision_boundary(ax2, lambda pts: numpy_forward(weights, pts), X, Y,
                       title=f"decision boundary ({train_accuracy:.0%} of the points right)")
fig.tight_layout()
plt.show()
''')

# ============================================================================ 7. learning rate
md(r"""
## 7. The learning rate

The learning rate is the one number you must choose yourself. Too small and training crawls; too large and
it overshoots. A one-parameter loss shows exactly where "too large" begins. Take

$$
L(w) = c\,(w - w^*)^2 \qquad\text{with } c = 2.5,\; w^* = 3,
$$

a parabola with its minimum at $w^* = 3$, and do gradient descent, $w \leftarrow w - \text{lr}\cdot L'(w)$.

### Exercise 03.4 — the learning rate

Work out $L'(w)$, then write one step as $w_\text{new} - w^* = (\dots)\,(w - w^*)$. From the factor in brackets,
find

* `lr_one_step`: the learning rate that lands exactly on $w^*$ in **one** step, from any starting point;
* `lr_diverge`: the learning rate above which the iterates move **away** from $w^*$ (diverge).
""")

exercise(r'''
lr_one_step, lr_diverge = None, None
### BEGIN SOLUTION
c = 2.5
# L'(w) = 2c (w - w*), so w_new - w* = (1 - 2c lr)(w - w*)
lr_one_step = 1 / (2 * c)      # the factor is 0: 0.2
lr_diverge = 1 / c             # |1 - 2c lr| > 1 once lr > 1/c: 0.4
### END SOLUTION
''', "03.4", 1, "set lr_one_step and lr_diverge to the two learning rates (numbers) for c = 2.5")

code(r'''
check("03.4", (lr_one_step, lr_diverge))
''')

md(r"""
**Answer.** $L'(w) = 2c\,(w - w^*)$, so one step gives $w_\text{new} - w^* = (1 - 2c\,\text{lr})\,(w - w^*)$: each step
multiplies the distance to the minimum by $1 - 2c\,\text{lr}$. It is 0 for $\text{lr} = 1/(2c) = 0.2$ (one step
lands on $w^*$); between 0 and 1 the iterates creep towards $w^*$; between $-1$ and 0 they jump across it and
back, closing in; below $-1$, i.e. for $\text{lr} > 1/c = 0.4$, every jump is longer than the last. The
numbers, with the course's reference answers:
""")

code(r'''
c, w_star = 2.5, 3.0
paths = {}
for lr in [0.05, reference.lr_one_step, 0.3, reference.lr_diverge + 0.02]:
    w_, path = 0.0, [0.0]
    for _ in range(12):
        w_ = w_ - lr * 2 * c * (w_ - w_star)
        path.append(w_)
    paths[lr] = path
    print(f"lr = {lr:.2f}: factor 1 - 2c lr = {1 - 2 * c * lr:+.2f}, w after 12 steps = {path[-1]:9.4f}")
''', tags=CHECKED)

code(r'''
fig, ax = plt.subplots(figsize=(6.5, 3.5))
for lr, path in paths.items():
    ax.plot(path, marker="o", ms=3, label=f"lr = {lr:.2f}: factor {1 - 2 * c * lr:+.2f}")
ax.axhline(w_star, color="k", lw=0.8)
ax.set_ylim(-3, 9)
ax.set_xlabel("step")
ax.set_ylabel("w")
ax.legend(fontsize=8)
plt.show()
''')

md(r"""
A network's loss is not a parabola, but near a minimum it looks like one in every direction, with a
different $c$ (the curvature) in each. The steepest direction sets the limit: above about $1/c_\text{max}$
the loss goes up instead of down. The playground below lets you find that edge on the moons. It starts
with the network trained above; pick a learning rate and a hidden size and press **train** (a run takes a
second or two). Try 0.1 (too small: after 80 steps the boundary is still nearly straight), 1 (faster, but
the loss starts to jump up now and then) and 3 (too large: the first steps overshoot so far that the $\tanh$
neurons saturate, their gradients vanish, and the loss gets stuck with a straight boundary). Then try 1 hidden neuron: the score is then a function of a single weighted sum $w_1x_1 + w_2x_2 + b$,
so the boundary is a straight line, whatever the learning rate.
""")

code(r'''
def fit_for_widget(hidden, lr, steps):
    losses, model = fit(hidden, lr, steps)
    weights = to_numpy(model)
    return losses, lambda pts: numpy_forward(weights, pts)


# starts from the network trained in section 5 (same settings), so building it costs no extra training
training_playground(fit_for_widget, X, Y, lr=0.7, hidden=8, steps=80,
                    initial=(losses, lambda pts: numpy_forward(weights, pts)))
''')

# ============================================================================ 8. speed
md(r"""
## 8. How slow are scalars?

Every number of our network is a Python object, and every multiplication creates one more, with a closure
for its backward pass. Count the nodes of one step's graph:
""")

code(r'''
model = MLP([2, 8, 1], np.random.default_rng(0))
loss = mse_loss(model, xs, ys)
print(f"one forward pass over {len(xs)} points builds {len(bl.autograd.topo_sort(loss)):,} Values "
      f"for {len(model.parameters())} parameters")
''', tags=CHECKED)

md(r"""
The same network with **arrays**: stack the 40 points as the rows of a matrix $X$ (40×2). A whole layer is one
matrix product, $H = \tanh(X W_1 + b_1)$ with $W_1$ of shape 2×8, and the backward pass is a few matrix
products too. The lines below are the backward pass written by hand; notebook 04 derives each of them, by
dimensional analysis (for $Z = HW$: $\partial L/\partial W = H^\top\,\partial L/\partial Z$). First, a check that they give the same
gradients as the scalar engine:
""")

code(r'''
def numpy_loss_and_grads(weights, X, Y):
    (W1, b1), (W2, b2) = weights
    H = np.tanh(X @ W1 + b1)                 # (40, 8)
    S = np.tanh(H @ W2 + b2)[:, 0]           # (40,) scores
    loss = np.mean((S - Y) ** 2)
    dS = 2 * (S - Y) / len(Y)                # dL/ds_k
    dZ2 = (dS * (1 - S ** 2))[:, None]       # through the output tanh
    dW2, db2 = H.T @ dZ2, dZ2.sum(axis=0)
    dZ1 = (dZ2 @ W2.T) * (1 - H ** 2)        # back through W2, then the hidden tanh
    dW1, db1 = X.T @ dZ1, dZ1.sum(axis=0)
    return loss, [(dW1, db1), (dW2, db2)]


loss.backward()
np_loss, np_grads = numpy_loss_and_grads(to_numpy(model), X, Y)
scalar_grads = np.array([p.grad for p in model.parameters()])
array_grads = np.concatenate([np.concatenate([dW.T, db[:, None]], axis=1).ravel() for dW, db in np_grads])
print(f"loss: scalar {loss.data:.10f}, arrays {np_loss:.10f}")
print(f"largest relative difference of the {len(scalar_grads)} gradients: "
      f"{np.max(np.abs(scalar_grads - array_grads) / np.maximum(np.abs(array_grads), 1e-12)):.1e}")
''')

md(r"""
(The flattening lines up the two orders: the scalar list goes neuron by neuron, weights then bias, which is
column by column of $W$ with $b$ appended.) Now time one training step of each:
""")

code(r'''
def seconds_per_call(fn, min_time=0.3):
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_time:
        fn()
        calls += 1
    return (time.perf_counter() - start) / calls


params = model.parameters()
weights = to_numpy(model)


def numpy_step(lr=0.7):
    loss, grads = numpy_loss_and_grads(weights, X, Y)
    for (W, b), (dW, db) in zip(weights, grads):
        W -= lr * dW
        b -= lr * db


t_scalar = seconds_per_call(lambda: step_fn(params, lambda: mse_loss(model, xs, ys), 0.7))
t_numpy = seconds_per_call(numpy_step)
print(f"one training step, scalar Values: {t_scalar * 1e3:8.2f} ms")
print(f"one training step, NumPy arrays:  {t_numpy * 1e3:8.3f} ms")
print(f"the arrays are about {t_scalar / t_numpy:,.0f} times faster")
''')

md(r"""
Hundreds of times faster, on the same maths, and the gap grows with the network: the 784-64-64-10 MNIST
network of a later notebook has 55,000 parameters and 60,000 training images, about $3\cdot 10^{9}$
multiplications for one forward pass over the images: hours one Python object at a time, about a second as
matrix products. The computation is the same; what changes is that one NumPy call does a whole matrix of
multiply-adds in compiled code, instead of one Python object per number.

So the next notebooks keep everything we learned, local gradient times upstream gradient, `+=` at forks,
reverse topological order, and apply it to whole arrays at once. The new question is how a gradient
*shapes up*: what $\partial L/\partial W$ is for a matrix $W$, and why it is $H^\top\,\partial L/\partial Z$.
""")

# ============================================================================ summary
md(r"""
## Summary

* A **neuron** is $\tanh(w\cdot x + b)$; a **layer** is neurons on the same inputs; an **MLP** chains layers. Made of
  `Value`s, all of it backpropagates with nothing new.
* The **loss** (here mean squared error) turns the network's mistakes into one number; its gradient with respect
  to a parameter adds up the contributions of every data point.
* **Training loop:** zero grads → forward → backward → update `p.data -= lr * p.grad`. Forgetting to zero adds
  up stale gradients; a plus instead of the minus climbs the loss.
* **Learning rate:** on $c(w - w^*)^2$ each step multiplies the error by $1 - 2c\,\text{lr}$: one-step convergence at
  $1/(2c)$, divergence above $1/c$. Networks behave the same way, with the curvature of their steepest direction.
* **Scalars are slow:** one Python object per number. The same step with arrays is hundreds of times faster.

**Next: notebook 04, dimensional analysis.** Backpropagation for matrices: the gradient of $D = W x$ with
respect to $W$ and $x$, derived by matching shapes.
""")


if __name__ == "__main__":
    notebook.main(sys.argv[1:])
