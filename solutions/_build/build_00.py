"""Build ``solutions/00_start_here.ipynb`` (the instructor notebook) from this script.

    python solutions/_build/build_00.py            # write the notebook without outputs
    python solutions/_build/build_00.py --execute  # ... then run it (cwd solutions/) and save the outputs

Edit the notebook's text and code here, not in the .ipynb, so that it can be regenerated.
Cell ids are fixed ("c00-007"), so a rebuild changes only what was edited.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))   # find nbbuild also when loaded by file path (tests)
from nbbuild import Notebook  # noqa: E402

notebook = Notebook("00", "00_start_here.ipynb")
md, code, exercise = notebook.md, notebook.code, notebook.exercise
TARGET = notebook.target
build = notebook.build

# ============================================================================ welcome
md(r"""
# 00 · Start here

Welcome to **backprop-lab**, a hands-on course on backpropagation from first principles. You will derive
how gradients flow through a computation, write the code that computes them, check every step against
numbers, and finish by training a neural network on handwritten digits with an autograd engine you
understand line by line.

The course is for you if you know Python and NumPy and a little calculus (what a derivative is, the chain
rule in one variable). Everything else is built up from there.

**In this notebook** (about 15 minutes) you learn how the course works:

1. what the ten notebooks cover, and what you will have built at the end;
2. how to run cells, do an exercise and read its `check`, with its hints;
3. where your progress is recorded, and how to see it;
4. how to switch a notebook between *your* implementation and the course's *reference*;
5. how not to lose your work on Binder;

and, as a one-minute teaser, you watch the course's engine train a tiny network and draw its graph.
""")

# ============================================================================ map
md(r"""
## The map

| | notebook | what you do there |
| --- | --- | --- |
| 00 | [Start here](00_start_here.ipynb) | how the course works; three NumPy warm-ups; a first look at the engine |
| 01 | [Finite differences](01_finite_differences.ipynb) | derivatives by nudging the input; truncation against round-off; the numerical gradient that checks everything later |
| 02 | [The scalar chain rule](02_scalar_chain_rule.ipynb) | computational graphs and the chain rule; build `Value`, an engine for scalars, node by node |
| 03 | [A scalar neural net](03_scalar_neural_net.ipynb) | neurons, layers and an MLP made of `Value`s, trained on a 2-D toy data set |
| 04 | [Dimensional analysis](04_dimensional_analysis.ipynb) | gradients of matrix expressions from their shapes alone: `dW = dD @ x.T` |
| 05 | [Einstein notation](05_einstein_notation.ipynb) | index notation; the backward pass of any `einsum` by swapping subscripts |
| 06 | [The Tensor engine](06_tensor_engine.ipynb) | the array engine: operations with forward and backward, broadcasting undone, `gradcheck` |
| 07 | [Layers, losses and optimizers](07_layers_losses_optimizers.ipynb) | `Linear`, a numerically stable cross-entropy, SGD with momentum, Adam |
| 08 | [An MLP on MNIST](08_mnist_mlp.ipynb) | the finale: train a network on handwritten digits with your engine |
| 09 | [Debugging gradients](09_debugging_gradients.ipynb) | the bugs everybody hits, and how to find them in minutes |

**At the end** you will have built `backprop_lab` yourself, one exercise at a time: a scalar autograd
engine (`Value`), an array engine (`Tensor`) whose derivative rules you derived by dimensional analysis and
Einstein notation, layers, losses and optimizers on top of it, a gradient checker that says *which*
operation is wrong, and a multi-layer perceptron that reads handwritten digits.

Take the notebooks in order: each one uses what the previous ones built.

**Where the course comes from.** It grew out of five short documents, which the notebooks cite as
"seed 000" to "seed 004" when they use an idea, a table or an example from one of them:

| | what it is | what the course takes from it |
| --- | --- | --- |
| seed 000 | notes from building a small backprop engine (`Element`) | its "a-ha"s: no stored Jacobians, Einstein notation, gradients add for repeated terms, sort the graph first; and a transpose bug |
| seed 001 | a NumPy `Tensor` engine trained on MNIST | the "Math in one page" table of derivative rules, stable cross-entropy, the 784-64-64-10 network and its ≈95% |
| seed 002 | lecture notes on backpropagation | finite differences, gate patterns (add, mul, max), dimensional analysis of `D = W @ x`, the Jacobian scenarios |
| seed 003 | a micrograd-style scalar `Value` class | the example f = (a·b)·(a+b) with a = −2, b = 3 |
| seed 004 | the plan of an autograd engine | the operation base class, `Linear` and MSE with their gradients, and a worked usage example |
""")

# ============================================================================ running cells
md(r"""
## Running cells

A notebook is a list of cells. Click into a code cell and press **Shift + Enter** to run it and move to
the next one. The number that appears to its left, `[1]`, `[2]`, ..., says in which order cells ran;
`[*]` means the cell is still running.

Cells share one Python session (the *kernel*), so a cell can use what earlier cells defined. Run them
**from top to bottom**. If things get confusing (you edited a cell further up, or ran cells out of order),
use **Kernel → Restart Kernel and Run All Cells...** for a clean start: every notebook in this course
runs top to bottom in well under a minute.

Run the next cell. It imports NumPy and the course's package, `backprop_lab`, which we always call `bl`.
""")

code(r"""
import numpy as np

import backprop_lab as bl
from backprop_lab.exercises import check

rng = np.random.default_rng(0)     # every random number in the course comes from a seeded generator
print("backprop_lab", bl.__version__, "with NumPy", np.__version__)
""")

md(r"""
If that printed a version, you are set. If something is missing, run `backprop-lab doctor` in a terminal
(or `bl.doctor()` in a cell): it checks everything the course needs and says how to fix what is not there.
""")

# ============================================================================ exercises and check
md(r"""
## Exercises, `check` and hints

Exercises are code cells with a function (sometimes a value) for you to complete. In your copy of a
notebook the part to write is replaced by

```python
raise NotImplementedError("Exercise 00.1: ...what to implement...")
```

Replace that line with your code (read the exercise's text and the function's docstring first: they say
what to return, with its shape and an example) and run the cell. The cell right after it runs `check("00.1", mse)`,
which calls your function on a few small, fixed inputs and then on random ones, and compares the results
with the right answers:

* **green**: it passed, and the check lists what it verified;
* **red**: the first input where your answer differs, what was expected and what you returned, and a
  **hint** naming the likely mistake (a sign, a missing square, a sum where a mean was meant...);
* **not done yet**: you have not replaced the `raise` yet. That is fine: the notebook goes on without you.

If your own code raises an error, `check` shows it with the lines of *your* code where it happened. Run a
check as often as you like; it never changes your code.

Your first three exercises are NumPy warm-ups, using exactly the NumPy the course relies on.

### Exercise 00.1 — mean squared error

The mean squared error of predictions $\hat y$ against targets $y$, two arrays of the same shape with $N$
entries in total, is

$$
\mathrm{MSE}(\hat y, y) = \frac{1}{N} \sum_{i=1}^{N} (\hat y_i - y_i)^2 .
$$

It is the loss of the teaser at the end of this notebook. Write `mse(pred, target)` returning it as one
number, for arrays of any shape (NumPy's arithmetic works entry by entry, and `np.mean` averages over all
entries). For example, `mse(np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.0, 5.0]))` is
$(0.25 + 4 + 4) / 3 = 2.75$.
""")

exercise(r'''
def mse(pred, target):
    """Mean of (pred - target)**2 over all entries of two arrays of the same shape: one number."""
    ### BEGIN SOLUTION
    return np.mean((pred - target) ** 2)
    ### END SOLUTION
''', "00.1", 1, "return np.mean((pred - target) ** 2), the mean squared error (one number)")

code(r"""
check("00.1", mse)
""")

md(r"""
This is what a red result looks like. Here is an `mse` with a classic slip, a sum where the mean was meant.
(`record=False` keeps this demonstration out of your progress file.)
""")

code(r"""
def mse_with_a_slip(pred, target):
    return np.sum((pred - target) ** 2)      # sum, not mean

check("00.1", mse_with_a_slip, record=False)
""", tags=["raises-exception"])

md(r"""
The check stopped at the first input that went wrong, showed the expected and the received number, and
named the mistake. (When the course's own tests run this notebook, a wrong answer raises an error instead
of a red box; that is why this cell is tagged `raises-exception`.)

### Exercise 00.2 — standardise the columns (broadcasting)

A data set is usually an array `X` of shape `(N, D)`: one **row** per example, one **column** per feature.
Standardising rescales each feature to mean 0 and standard deviation 1:

$$
Z_{nd} = \frac{X_{nd} - \mu_d}{\sigma_d},
\qquad \mu_d = \frac{1}{N}\sum_n X_{nd},
\qquad \sigma_d = \sqrt{\frac{1}{N}\sum_n (X_{nd} - \mu_d)^2}.
$$

In NumPy, `X.mean(axis=0)` reduces over axis 0 (the rows) and leaves one mean per column: shape `(D,)`.
`X - mu` then **broadcasts**: NumPy lines the shapes up from the right, `(N, D)` against `(D,)`, and
repeats `mu` for every row. Broadcasting comes back in notebooks 04 and 06, where we have to *undo* it in
the backward pass.

Write `standardize(X)` returning `Z`, an array of `X`'s shape `(N, D)`. Use `np.std`'s default (it divides
by $N$, as above). For example, the first column of `[[1, 10], [2, 20], [3, 60]]` has mean 2 and standard
deviation $\sqrt{2/3} \approx 0.8165$, so it becomes `[-1.2247, 0, 1.2247]`.
""")

exercise(r'''
def standardize(X):
    """Shift and scale every column of X (shape (N, D)) to mean 0 and standard deviation 1."""
    ### BEGIN SOLUTION
    return (X - X.mean(axis=0)) / X.std(axis=0)
    ### END SOLUTION
''', "00.2", 1, "return (X - column means) / column standard deviations, an array of X's shape")

code(r"""
check("00.2", standardize)
""")

md(r"""
A numerical check of what we asked for, on data whose columns live on very different scales: after
standardising, every column should have mean 0 and standard deviation 1. The first line picks the course's
reference `standardize`, so this cell runs whether or not yours is done (the section "Use my implementation,
or the reference" below explains the switch).
""")

code(r"""
from backprop_lab.exercises.nb00 import reference

standardize_ = bl.exercises.use(standardize, reference.standardize, "00.2")
X = rng.normal(loc=[0.0, 50.0, -3.0], scale=[1.0, 20.0, 0.01], size=(100, 3))
Z = standardize_(X)

def show(v):
    return "  ".join(f"{x:8.3g}" for x in v)

print("before: column means", show(X.mean(axis=0)), "   column stds", show(X.std(axis=0)))
print("after:  column means", show(np.abs(Z.mean(axis=0)).round(12)), "   column stds", show(Z.std(axis=0)))
""", tags=["nbval-check-output"])

md(r"""
### Exercise 00.3 — counting parameters

A **layer** from $n_\text{in}$ inputs to $n_\text{out}$ outputs computes $y = xW + b$. Its weight matrix $W$ has
shape $(n_\text{in}, n_\text{out})$, one number per connection, and its bias $b$ has one number per output. A
multi-layer perceptron (MLP) with layer sizes `[2, 16, 16, 1]` is three such layers, 2 → 16 → 16 → 1, so it
learns

$$
(2 \cdot 16 + 16) + (16 \cdot 16 + 16) + (16 \cdot 1 + 1) = 48 + 272 + 17 = 337
$$

numbers. Write `count_parameters(sizes)` for any list of at least two layer sizes, returning an `int`: for
`[2, 16, 16, 1]` it returns 337, for `[2, 3, 1]` it returns $(2 \cdot 3 + 3) + (3 \cdot 1 + 1) = 13$. (Notebook 01
uses this count to work out what computing a gradient *without* backpropagation would cost.)
""")

exercise(r'''
def count_parameters(sizes):
    """Number of weights and biases in an MLP whose layer sizes are `sizes`, e.g. [784, 64, 64, 10]."""
    ### BEGIN SOLUTION
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    ### END SOLUTION
''', "00.3", 1, "return the sum over layers of n_in * n_out + n_out (an int)")

code(r"""
check("00.3", count_parameters)
""")

# ============================================================================ progress
md(r"""
## Your progress

Every `check` records its result in a small file, `.backprop_lab_progress.json`, in the folder of the
notebook (a hidden file: its name starts with a dot). To see a table of the exercises you have done in
every notebook, run in a terminal (**File → New → Terminal** in JupyterLab), from the notebooks' folder:

```
backprop-lab progress
```

or, from a notebook, the next cell. An exercise counts as done once it has passed, even if a later attempt
fails; the table also shows your latest result.
""")

code(r"""
from backprop_lab.exercises.progress import format_table, table

print(format_table(*table()))
""")

# ============================================================================ switch
md(r"""
## Use my implementation, or the reference

Later notebooks build on earlier exercises: notebook 03 trains a network made of the `Value` class you
write in notebook 02. So that you are never stuck behind an exercise, each notebook goes on with the
course's **reference** implementation, and says so:

```python
Value = bl.exercises.use(MyValue, bl.Value, "02.7")
```

`bl.exercises.use(mine, reference, exercise_id)` returns the reference by default. To run a notebook on
**your own** code instead, switch it to "mine" in one of three ways:

* for one call: `bl.exercises.use(mine, reference, "02.7", mode="mine")`;
* for a whole notebook: run `import os; os.environ["BACKPROP_LAB_USE"] = "mine"` at its top;
* for every notebook: start JupyterLab with the variable set, `BACKPROP_LAB_USE=mine jupyter lab`.

"mine" is a request, not an order: `use` runs your implementation's check first and falls back to the
reference (saying why) if it does not pass yet, so the notebook keeps working. Here is the switch on
exercise 00.1, with the engine's own `bl.nn.mse_loss` as the reference:
""")

code(r"""
def engine_mse(pred, target):
    return bl.nn.mse_loss(bl.Tensor(pred), bl.Tensor(target)).item()

loss_fn = bl.exercises.use(mse, engine_mse, "00.1", mode="mine")
print("MSE of [1, 2, 3] against [0.5, 0, 5]:", loss_fn(np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.0, 5.0])))
""")

# ============================================================================ saving work
md(r"""
## Saving your work (read this on Binder!)

**On Binder, your work is lost when the session ends.** A Binder session is a temporary computer: it shuts
down after about ten minutes without activity (closing the tab counts), and after a few hours at most, and
everything in it goes with it. To keep your work:

1. **Download each notebook you changed:** **File → Download** saves the open notebook to your computer
   (or right-click it in the file browser on the left → **Download**).
2. **Next time**, open Binder again and drag your downloaded notebook into the file browser (or use the
   **Upload** button, the arrow above the file browser), then open it and run all cells.

Your progress file does not need saving: running a notebook's checks again records them again.

**On your own computer** nothing is lost. Install the course once (the README gives the command) and run
`backprop-lab start` in a terminal: it copies the student notebooks into a folder of your own,
`backprop-lab-course` in the current directory (`backprop-lab start my-course` picks another name), and
opens JupyterLab there. It never overwrites a notebook you have worked on: when a newer release of the
course changes a notebook, the new version is put beside yours as `NN_name.v<version>.ipynb`.
""")

# ============================================================================ teaser
md(r"""
## A one-minute teaser

Here is what the course builds, working. The data is XOR, the classic problem that no single neuron can
solve: the output is 1 when exactly one of the two inputs is 1. The model is a small MLP, 2 inputs → 4
hidden tanh units → 1 output. The training loop is the one you will write in notebook 03 and meet again in
notebook 08:

1. **forward**: compute the predictions and the loss (the mean squared error of exercise 00.1);
2. **backward**: `loss.backward()` computes the derivative of the loss with respect to every parameter,
   by backpropagation;
3. **step**: the optimizer nudges every parameter a little against its gradient (Adam, from notebook 07).
""")

code(r"""
X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
y = np.array([[0.0], [1.0], [1.0], [0.0]])                  # XOR

model = bl.nn.MLP([2, 4, 1], activation=bl.nn.Tanh, rng=0)  # 2 -> 4 (tanh) -> 1
optimizer = bl.optim.Adam(model.parameters(), lr=0.05)

for step in range(201):
    loss = bl.nn.mse_loss(model(bl.Tensor(X, label="x")), y)   # forward
    optimizer.zero_grad()
    loss.backward()                                            # backward: d loss / d every parameter
    optimizer.step()                                           # step: nudge every parameter downhill
    if step % 40 == 0:
        print(f"step {step:3d}   loss {loss.item():.1e}")
""")

code(r"""
count = bl.exercises.use(count_parameters, reference.count_parameters, "00.3")   # yours or the reference

prediction = model(bl.Tensor(X)).data
print("inputs    :", X.tolist())
print("targets   :", y.ravel().astype(int).tolist())
print("predicted :", (prediction.ravel() > 0.5).astype(int).tolist())
print("parameters:", sum(p.data.size for p in model.parameters()), "=", count([2, 4, 1]))
""", tags=["nbval-check-output"])

md(r"""
All four XOR cases right, from 17 learned numbers (the count of exercise 00.3). And here is the
computation the engine recorded for the last loss and walked backwards, its **computational graph**, read
from left to right. Each box is an array with its shape and the gradient the last backward pass gave it;
each oval is an operation (`MatMul` for `@`, `Add`, `Tanh`, ...) with its own derivative rule.
Backpropagation visits the ovals from the loss back to the inputs. (Scroll sideways to see the whole graph.)
Notebook 02 draws these graphs for scalars and walks through them node by node.
""")

code(r"""
from backprop_lab.viz import draw_graph

loss.label = "loss"
draw_graph(loss)
""")

# ============================================================================ summary
md(r"""
## Summary

* Ten notebooks, in order, from the derivative of one variable to an MLP on MNIST, with your own engine.
* Run cells top to bottom with **Shift + Enter**; **Restart Kernel and Run All Cells** for a fresh start.
* After each exercise, `check("NN.K", ...)` says green, red with a hint, or not done yet; the notebook then
  carries on with the reference, so you are never stuck.
* `backprop-lab progress` shows what you have done; `bl.exercises.use(..., mode="mine")` or
  `BACKPROP_LAB_USE=mine` runs a notebook on your own code.
* **On Binder, download your notebooks (File → Download) before you leave.**

**Next: [notebook 01, finite differences](01_finite_differences.ipynb).** Before computing derivatives
cleverly, we compute them the obvious way, by nudging the input, and find out how precise that can be.
""")


if __name__ == "__main__":
    notebook.main(sys.argv[1:], progress="beside")
