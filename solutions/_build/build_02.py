"""Build ``solutions/02_scalar_chain_rule.ipynb`` (the instructor notebook) from this script.

    python solutions/_build/build_02.py            # write the notebook without outputs
    python solutions/_build/build_02.py --execute  # ... then run it (cwd solutions/) and save the outputs

Edit the notebook's text and code here, not in the .ipynb, so that it can be regenerated.
Cell ids are fixed ("c02-007"), so a rebuild changes only what was edited.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))   # find nbbuild also when loaded by file path (tests)
from nbbuild import CHECKED, Notebook  # noqa: E402

notebook = Notebook("02", "02_scalar_chain_rule.ipynb")
md, code, exercise = notebook.md, notebook.code, notebook.exercise
TARGET = notebook.target
build = notebook.build

CHECKED = ["nbval-check-output"]

# ============================================================================ title and goals
md(r"""
# 02 · The scalar chain rule: backpropagation, one number at a time

In notebook 01 we got derivatives by nudging the input and watching the output: simple, general, and
$2n$ evaluations of $f$ for $n$ inputs. Backpropagation gets **all** $n$ partial derivatives for about the
price of one evaluation. Its only ingredient is the chain rule of calculus, applied node by node to the
*computational graph* of the function.

In this notebook you build a tiny automatic-differentiation engine for single numbers, your own class
`MyValue`, one operation at a time, and you check every gradient it produces against finite differences.
The course's engine has the same thing, finished, as `bl.Value`: we use it whenever a cell should run
whether or not you have solved the exercises yet.

**Learning goals.** After this notebook you can

1. apply the chain rule to a composition, and the *multivariate* chain rule to a graph: along each path
   multiply the derivatives, over the paths add them;
2. compute every gradient of a small graph by hand, each node multiplying its **local gradient** by the
   **upstream gradient**, and confirm it with central differences;
3. recognise the gate patterns: *add* distributes the gradient, *mul* swaps its inputs, *max* routes it;
4. implement a node's `_backward` (mul, tanh, power, div), and explain why it must use `+=`;
5. explain why the backward pass needs a topological order, write the recursive sort, and measure the
   depth at which Python's recursion gives up;
6. read a computational graph drawn by `bl.viz.draw_graph`, and walk its backward pass step by step.

**Exercises:** 02.1 a derivative by hand · 02.2 `mul` · 02.3 `tanh` · 02.4 `power` · 02.5 the fan-out bug in
`div` · 02.6 `topo_sort` · 02.7 `backward`, and your whole class checked end to end. At the end you save your
class to `my_value.py`, so that notebook 03 can train a neural network with it.
""")

code(r"""
import inspect
import math

import numpy as np

import backprop_lab as bl
from backprop_lab.exercises import check
from backprop_lab.exercises.nb01 import reference as nb01   # notebook 01's finite differences
from backprop_lab.viz import draw_graph, step_through

central_difference = nb01.central_difference        # (f(x+h) - f(x-h)) / 2h, from notebook 01
numerical_gradient = nb01.numerical_gradient
rng = np.random.default_rng(0)
""")

# ============================================================================ 1. chain rule
md(r"""
## 1. The chain rule

Take a function made of two steps, $h(x) = f(g(x))$: first $u = g(x)$, then $h = f(u)$. Nudge $x$ by a
little $\Delta x$. From notebook 01, $u$ moves by about $g'(x)\,\Delta x$, and a change $\Delta u$ of $u$ moves
$h$ by about $f'(u)\,\Delta u$. Put the two together:

$$
\Delta h \;\approx\; f'(u)\,\Delta u \;\approx\; f'(u)\, g'(x)\, \Delta x
\qquad\Longrightarrow\qquad
\frac{dh}{dx} \;=\; \frac{dh}{du}\cdot\frac{du}{dx} \;=\; f'(g(x))\; g'(x).
$$

**Rates of change multiply.** If $u$ moves three times as fast as $x$, and $h$ twice as fast as $u$, then $h$
moves six times as fast as $x$. A longer chain $x \to u_1 \to u_2 \to \dots \to h$ multiplies one factor per link.

Example: $h(x) = \sin(x^2)$ is $u = x^2$ followed by $h = \sin u$, so $h'(x) = \cos(u)\cdot 2x = 2x\cos(x^2)$.
Check it against a central difference at $x = 1.3$:
""")

code(r"""
x = 1.3
by_chain_rule = math.cos(x ** 2) * 2 * x                       # dh/du * du/dx
by_nudging = central_difference(lambda x: math.sin(x ** 2), x, 1e-5)
print(f"chain rule:         {by_chain_rule:.10f}")
print(f"central difference: {by_nudging:.10f}")
""", tags=CHECKED)

md(r"""
They agree to about ten digits, the accuracy of a central difference with $h = 10^{-5}$ (notebook 01).
""")

# ============================================================================ 2. graph
md(r"""
## 2. The computational graph

A program computes a big function as many small steps. Write each intermediate result down as a **node**,
and draw an arrow from every input of a step to its output: that is the **computational graph**. Our running
example:

$$
f(a, b) = (a\,b)\,(a + b), \qquad a = -2,\; b = 3,
$$

in three steps:

| node | computed as | value |
|---|---|---|
| $d$ | $a \cdot b$ | $-6$ |
| $e$ | $a + b$ | $1$ |
| $f$ | $d \cdot e$ | $-6$ |

The **forward pass** computes the values, from the inputs to the output. The **backward pass** computes
$\partial f/\partial(\text{node})$ for every node, from the output back to the inputs, and the chain rule is all
it needs. Here is the graph as the engine draws it (each box: name, value, gradient; each ellipse: an
operation). The gradients are still 0: nothing has been differentiated yet.
""")

code(r"""
a = bl.Value(-2.0, label="a")
b = bl.Value(3.0, label="b")
d = a * b;  d.label = "d"
e = a + b;  e.label = "e"
f = d * e;  f.label = "f"
print(f"d = {d.data}, e = {e.data}, f = {f.data}")
draw_graph(f)
""")

md(r"""
### Backward, by hand

Start at the end. $\partial f/\partial f = 1$. The last step is $f = d\,e$, a product, so

$$
\frac{\partial f}{\partial d} = e = 1, \qquad \frac{\partial f}{\partial e} = d = -6.
$$

One step back, $d = a\,b$ and $e = a + b$. The chain rule multiplies the gradient that has arrived at $d$
(the **upstream** gradient, $\partial f/\partial d$) by the step's own, **local** derivative:

$$
\frac{\partial f}{\partial a}\Big|_{\text{via } d} = \frac{\partial f}{\partial d}\cdot\frac{\partial d}{\partial a} = 1\cdot b = 3,
\qquad
\frac{\partial f}{\partial a}\Big|_{\text{via } e} = \frac{\partial f}{\partial e}\cdot\frac{\partial e}{\partial a} = -6\cdot 1 = -6.
$$

But $a$ feeds **both** $d$ and $e$: nudging $a$ moves $f$ along two paths at once, and the two effects add
up. This is the **multivariate chain rule**: multiply along each path, add over the paths.

$$
\frac{\partial f}{\partial a} = 3 + (-6) = -3,
\qquad
\frac{\partial f}{\partial b} = \underbrace{1\cdot a}_{\text{via } d} + \underbrace{(-6)\cdot 1}_{\text{via } e} = -2 - 6 = -8.
$$

Two independent checks. Expanding, $f = a^2 b + a b^2$, so $\partial f/\partial a = 2ab + b^2 = -12 + 9 = -3$ and
$\partial f/\partial b = a^2 + 2ab = 4 - 12 = -8$. And numerically, with central differences:
""")

code(r"""
def f_of(ab):
    a, b = ab
    return (a * b) * (a + b)

print("by hand:             [-3. -8.]")
print("central differences:", numerical_gradient(f_of, np.array([-2.0, 3.0])).round(8))
""", tags=CHECKED)

md(r"""
The engine does exactly this when we call `f.backward()`:
""")

code(r"""
f.backward()
print(f"a.grad = {a.grad}, b.grad = {b.grad}, d.grad = {d.grad}, e.grad = {e.grad}")
""", tags=CHECKED)

code(r"""
draw_graph(f)
""")

# ============================================================================ 3. local x upstream
md(r"""
## 3. The one rule: local gradient times upstream gradient

Look at what each node needed in the backward pass: only

* its **upstream gradient** $\dfrac{\partial f}{\partial\,\text{out}}$, handed to it by the node after it, and
* its **local gradient** $\dfrac{\partial\,\text{out}}{\partial\,\text{in}}$ for each of its inputs, which depends
  only on the operation and the values of the forward pass (for $d = ab$: $\partial d/\partial a = b$).

It then hands each input the product, and each input **adds up** what it receives from all its uses:

$$
\frac{\partial f}{\partial\,\text{in}} \;\mathrel{+}=\; \frac{\partial\,\text{out}}{\partial\,\text{in}}\cdot\frac{\partial f}{\partial\,\text{out}}.
$$

No node needs to know anything about the rest of the graph. That locality is why backpropagation scales:
every operation brings its own small derivative, and the graph takes care of the rest. It is also why the
forward pass must **cache** its values: the backward pass needs $a$ and $b$ to compute the gradients of $ab$.

### Watching the rule at work

The **step-through widget** `bl.viz.step_through` replays the backward pass of our example one node at a
time, latest node first (section 9 explains the order). At each step the node handing on its gradient is
orange and its inputs green; the text below the picture shows, for each input, local gradient × upstream
gradient = share, and how the input's `.grad` grows. Use the buttons or the slider. Watch step 3: $a$
already holds $3$ (its share via $d$) and **adds** $-6$ (its share via $e$), as in the hand calculation.
""")

code(r"""
step_through(f)
""")

md(r"""
The same steps as text (handy in a terminal, or to compare with the hand calculation above):
""")

code(r"""
steps = bl.viz.backward_steps(f)
for k in range(len(steps)):
    print(bl.viz.describe_step(steps, k))
""", tags=CHECKED)

md(r"""
### Exercise 02.1 — a chain-rule derivative by hand

A one-input "neuron" without activation, and a squared error:

$$
z = w\,x + b, \qquad L = z^2, \qquad \text{with } w = -3,\; x = 2,\; b = 1.
$$

Compute $\partial L/\partial w$ and $\partial L/\partial x$ by hand: forward values first, then the upstream gradient
$\partial L/\partial z$, then multiply by the local gradients. In the cell below, replace the
`raise NotImplementedError` line by two assignments, `dL_dw = ...` and `dL_dx = ...`, with the numbers
(plain Python numbers; arithmetic such as `2 * 3` is fine, and so are intermediate variables).
""")

exercise(r'''
dL_dw, dL_dx = None, None
### BEGIN SOLUTION
z = -3 * 2 + 1              # forward: z = w x + b = -5
dL_dz = 2 * z               # d(z^2)/dz = 2z = -10: the upstream gradient at z
dL_dw = dL_dz * 2           # local dz/dw = x = 2      ->  -20
dL_dx = dL_dz * (-3)        # local dz/dx = w = -3     ->   30
### END SOLUTION
''', "02.1", 1, "set dL_dw and dL_dx to the numbers dL/dw and dL/dx at w = -3, x = 2, b = 1")

code(r"""
check("02.1", (dL_dw, dL_dx))
""")

md(r"""
And the numerical check of the answer, with `bl.Value` and with central differences:
""")

code(r"""
w, x_, b_ = bl.Value(-3.0), bl.Value(2.0), bl.Value(1.0)
L = (w * x_ + b_) ** 2
L.backward()
print(f"engine:              dL/dw = {w.grad:g}, dL/dx = {x_.grad:g}")
num = numerical_gradient(lambda p: (p[0] * p[1] + 1.0) ** 2, np.array([-3.0, 2.0]))
print(f"central differences: dL/dw = {num[0]:.6f}, dL/dx = {num[1]:.6f}")
""", tags=CHECKED)

# ============================================================================ 4. gate patterns
md(r"""
## 4. Gate patterns

Three operations cover most of a neural network, and each has a shape you can recognise at a glance
(call the upstream gradient $g$):

| gate | forward | local gradients | backward: what the inputs get | pattern |
|---|---|---|---|---|
| add | $x + y$ | $1,\ 1$ | $g,\ g$ | **distributes** $g$ unchanged to every input |
| mul | $x\,y$ | $y,\ x$ | $g\,y,\ g\,x$ | **swaps**: each input gets $g$ times the *other* input |
| max | $\max(x, y)$ | $1,\ 0$ if $x > y$ | $g,\ 0$ | **routes** $g$ to the larger input only |

The add gate's local gradient is 1, so it just relays $g$. The mul gate scales by the other input: a large
input makes the *other* input's gradient large. The max gate's local gradient is 1 for the input that won
and 0 for the others: the loser did not affect the output, so it gets nothing (ReLU, $\max(0, x)$, is the
same gate). Check all three with the engine, using $x = 2$, $y = 5$ and an upstream gradient $g = 3$
(we multiply the output by $3$ to make the upstream gradient 3):
""")

code(r"""
for name, op in [("add", lambda x, y: x + y), ("mul", lambda x, y: x * y),
                 ("max", lambda x, y: bl.maximum(x, y))]:
    x = bl.Tensor(2.0, requires_grad=True)        # a 0-d Tensor: bl.maximum is a Tensor operation
    y = bl.Tensor(5.0, requires_grad=True)
    (op(x, y) * 3.0).backward()
    print(f"{name}: x.grad = {float(x.grad):4g}, y.grad = {float(y.grad):4g}")
""", tags=CHECKED)

md(r"""
Add: both get 3. Mul: $x$ gets $3 \cdot 5 = 15$ and $y$ gets $3 \cdot 2 = 6$, swapped. Max: all of it goes to $y = 5$.
""")

# ============================================================================ 5. MyValue
md(r"""
## 5. Your own `Value`, step by step

Time to build the engine. A `MyValue` holds one number and everything the backward pass needs:

* `data`: the number (computed in the forward pass and cached);
* `grad`: $\partial(\text{output})/\partial(\text{this value})$, filled in by the backward pass, 0 until then;
* `_prev`: the values it was computed from (its parents in the graph, its *children* in micrograd's words);
* `_op`: the operation that made it (`'+'`, `'*'`, ...; `''` for an input), for pictures and debugging;
* `_backward`: a function that hands `self.grad` on to the values in `_prev` (local times upstream);
  for an input it does nothing;
* `label`: an optional name, for pictures.

The class below is a shell: every operation calls a **function** of the same name (`add`, `mul`, `power`,
`tanh`, `div`) that you write in the next sections, one at a time, and `backward` calls your `backward`
function of section 10. Python looks these functions up when the operation *runs*, so the class works as
soon as they exist. Numbers are wrapped into `MyValue`s first (`as_value`), so `mul(a, b)` always receives
two `MyValue`s. Subtraction, negation and the reversed operators (`2 * x`) are built from the others.

`MyValue` is **yours**; the course's engine is `bl.Value`, with the same interface. This cell holds only
the class (the last section saves it to a file together with your functions, for notebook 03).
""")

code(r'''
import math


class MyValue:
    """My own scalar autograd value (notebook 02). The course's finished engine is bl.Value."""

    def __init__(self, data, _children=(), _op="", label=""):
        self.data = float(data)
        self.grad = 0.0                    # d(output)/d(self), filled in by the backward pass
        self._prev = tuple(_children)      # the values this one was computed from
        self._op = _op                     # the operation that made it ('' for an input)
        self.label = label
        self._backward = lambda: None      # hands self.grad on to self._prev; an input has nothing to do

    def __repr__(self):
        name = f"{self.label}=" if self.label else ""
        return f"MyValue({name}{self.data:.6g}, grad={self.grad:.6g})"

    # each operation calls the function of the same name, written in this notebook
    def __add__(self, other):
        return add(self, as_value(other))

    def __mul__(self, other):
        return mul(self, as_value(other))

    def __pow__(self, k):
        return power(self, k)

    def __truediv__(self, other):
        return div(self, as_value(other))

    def tanh(self):
        return tanh(self)

    def backward(self):
        backward(self)

    # built from the operations above
    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return as_value(other) + (-self)

    def __rtruediv__(self, other):
        return as_value(other) / self


def as_value(x):
    """x itself if it is a MyValue, else a new MyValue holding the number x."""
    return x if isinstance(x, MyValue) else MyValue(x)
''')

md(r"""
The first operation, `add`, as a worked example. The forward pass computes `out` and records its parents
and its operation. The backward rule is a small function, defined *inside* `add` so that it remembers `a`,
`b` and `out` (a closure), and attached to `out`: when the backward pass reaches `out`, it calls
`out._backward()`, which adds local gradient (1 for addition) times upstream gradient (`out.grad`) to each
input. Note the `+=`: section 8 shows what goes wrong with `=`.
""")

code(r'''
def add(a, b):
    """out = a + b. Local gradients: d out/d a = 1, d out/d b = 1."""
    out = MyValue(a.data + b.data, (a, b), "+")

    def _backward():
        a.grad += 1.0 * out.grad
        b.grad += 1.0 * out.grad
    out._backward = _backward
    return out
''')

md(r"""
Try it, and run the backward step by hand: set the output's gradient to 1 and call its `_backward`.
""")

code(r"""
p, q = MyValue(2.0, label="p"), MyValue(3.0, label="q")
s = p + q
print(s, "made by", repr(s._op), "from", s._prev)
s.grad = 1.0
s._backward()
print(p, q)
""", tags=CHECKED)

md(r"""
### Exercise 02.2 — `mul`

Write `mul(a, b)` for `out = a * b`, following `add`. Derive the local gradients first (they are in the gate
table of section 4): $\partial\,\text{out}/\partial a = b$ and $\partial\,\text{out}/\partial b = a$, using the values of
the forward pass, `a.data` and `b.data`. Then each input gets local times upstream, added with `+=`.

`a` and `b` are always `MyValue`s, or objects with the same attributes: the check hands you probe nodes
that have `data`, `grad`, `_prev` and `_backward`, and no arithmetic, so compute with the numbers `a.data`,
`b.data` and `out.grad`. (A check that reports `TypeError: ... 'Node'` means your code did arithmetic on a
node, or passed one to `math`, where its `.data` belongs. The same holds for the exercises that follow.)
""")

exercise(r'''
def mul(a, b):
    """out = a * b, with its _backward: a gets b * out.grad, b gets a * out.grad (added with +=)."""
    ### BEGIN SOLUTION
    out = MyValue(a.data * b.data, (a, b), "*")

    def _backward():
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad
    out._backward = _backward
    return out
    ### END SOLUTION
''', "02.2", 2, "build and return out = a * b, with its _backward (a gets b.data * out.grad, b gets a.data * out.grad)")

code(r"""
check("02.2", mul)
""")

md(r"""
The check ran your `mul` on inputs that already had a gradient (from another use) and with upstream
gradients other than 1, and on `a * a`, where one node is both inputs: the three places where a
`_backward` usually goes wrong.

From here on the notebook uses the engine's `bl.Value` for demonstrations, so that every cell runs whether
or not your functions are done. Its `__mul__` does the same as your `mul`, written a little differently:
it stores the local gradients with the node (`_local_grads`), and one shared `_backward` multiplies them by
the upstream gradient. Compare:
""")

code(r"""
print(inspect.getsource(bl.Value.__mul__))
print(inspect.getsource(bl.Value._backward))
""")

md(r"""
With `add` and `mul` we can run the backward pass of our example **by hand**, node by node, from the
output back: first $f$ hands its gradient to $d$ and $e$, then $e$ and $d$ hand theirs to $a$ and $b$.
""")

code(r"""
a, b = bl.Value(-2.0, label="a"), bl.Value(3.0, label="b")
d = a * b
e = a + b
f = d * e
f.grad = 1.0          # d f / d f
f._backward()         # d and e receive their gradients
e._backward()         # a and b receive the share via e ...
d._backward()         # ... and the share via d, added to it
print(f"a.grad = {a.grad}, b.grad = {b.grad}   (by hand: -3, -8)")
""", tags=CHECKED)

# ============================================================================ 6. tanh
md(r"""
## 6. `tanh`, a non-linearity

Neurons squash their input with a non-linear function; $\tanh$ is a classic:

$$
t = \tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}.
$$

Its derivative, by the quotient rule (the numerator's derivative is the denominator and vice versa):

$$
\frac{dt}{dx} = \frac{(e^x + e^{-x})^2 - (e^x - e^{-x})^2}{(e^x + e^{-x})^2} = 1 - \tanh(x)^2 = 1 - t^2.
$$

The derivative is written with the **output** $t$: the backward pass does not even need $x$, only the value
the forward pass cached. Numerical check at a few points:
""")

code(r"""
for x in [-1.5, 0.0, 0.5, 2.0]:
    t = math.tanh(x)
    print(f"x = {x:5.2f}:  1 - t^2 = {1 - t * t:.8f},  central difference = {central_difference(math.tanh, x, 1e-5):.8f}")
""", tags=CHECKED)

md(r"""
### Exercise 02.3 — `tanh`

Write `tanh(a)`: `out.data` is $\tanh$ of `a.data` (`math.tanh`), and `_backward` adds
$(1 - t^2)\cdot$ `out.grad` to `a.grad`, where $t$ is the **output** (not the input: $1 - x^2$ is a common slip).
""")

exercise(r'''
def tanh(a):
    """out = tanh(a), with its _backward: a gets (1 - t**2) * out.grad, where t = out.data."""
    ### BEGIN SOLUTION
    t = math.tanh(a.data)
    out = MyValue(t, (a,), "tanh")

    def _backward():
        a.grad += (1 - t ** 2) * out.grad
    out._backward = _backward
    return out
    ### END SOLUTION
''', "02.3", 2, "build and return out = tanh(a), with its _backward (local gradient 1 - t**2, t the output)")

code(r"""
check("02.3", tanh)
""")

md(r"""
The engine's `tanh`, which the rest of the course uses, stores the same local gradient $1 - t^2$ with its node:
""")

code(r"""
print(inspect.getsource(bl.Value.tanh))
""")

# ============================================================================ 7. power
md(r"""
## 7. Powers: `a ** k`

For a constant number $k$ the power rule gives the local gradient:

$$
\frac{d}{da}\,a^k = k\,a^{k-1}.
$$

It covers squares ($k = 2$: $2a$), reciprocals ($k = -1$: $-1/a^2$) and square roots ($k = \tfrac12$:
$\tfrac{1}{2\sqrt a}$). The engine builds division from it, $a / b = a \cdot b^{-1}$, as micrograd does. Check:
""")

code(r"""
for x, k in [(3.0, 2), (2.0, -1), (4.0, 0.5), (1.5, 3)]:
    print(f"a = {x}, k = {k:4}:  k a^(k-1) = {k * x ** (k - 1):9.6f},  "
          f"central difference = {central_difference(lambda a: a ** k, x, 1e-5):9.6f}")
""", tags=CHECKED)

md(r"""
### Exercise 02.4 — `power`

Write `power(a, k)` for a **number** `k` (not a `MyValue`): `out.data = a.data ** k`, and `a` gets
$k\,a^{k-1}\cdot$ `out.grad`. Put the exponent in the operation's name (`f"**{k}"`), so pictures show it.
""")

exercise(r'''
def power(a, k):
    """out = a ** k for a number k, with its _backward: a gets k * a.data**(k-1) * out.grad."""
    ### BEGIN SOLUTION
    out = MyValue(a.data ** k, (a,), f"**{k}")

    def _backward():
        a.grad += k * a.data ** (k - 1) * out.grad
    out._backward = _backward
    return out
    ### END SOLUTION
''', "02.4", 2, "build and return out = a ** k (k a number), with its _backward (local gradient k * a**(k-1))")

code(r"""
check("02.4", power)
""")

# ============================================================================ 8. forks
md(r"""
## 8. Gradients add at forks: why `+=`

When a value is used more than once, it **forks**: in $f = (ab)(a+b)$ both $a$ and $b$ fork, and in
$y = a \cdot a$ the same node is both inputs of one operation. Nudging a forked value moves the output along
every path, and the multivariate chain rule adds the contributions:

$$
y = a\cdot a: \qquad \frac{dy}{da} = \underbrace{a}_{\text{as first input}} + \underbrace{a}_{\text{as second input}} = 2a,
$$

as $\frac{d}{da}a^2 = 2a$ says. In code, each use hands its share to the same `.grad`, one after the other. With
`+=` the shares add up. With `=` each share **overwrites** the previous one, and only the last survives.
The engine gets $a \cdot a$ right:
""")

code(r"""
a = bl.Value(3.0, label="a")
y = a * a
y.backward()
print(f"d(a*a)/da at a = 3: {a.grad}   (2a = 6)")
""", tags=CHECKED)

md(r"""
Division shows what goes wrong. For $q = a/b = a\,b^{-1}$ the local gradients are
$\partial q/\partial a = 1/b$ and, by the power rule, $\partial q/\partial b = a\cdot(-1)\,b^{-2} = -a/b^2$.
Numerically, at $a = 1.5$, $b = -0.8$:
""")

code(r"""
a_, b_ = 1.5, -0.8
print(f"dq/da: 1/b     = {1 / b_:.8f},  central difference = {central_difference(lambda a: a / b_, a_, 1e-5):.8f}")
print(f"dq/db: -a/b^2  = {-a_ / b_ ** 2:.8f},  central difference = {central_difference(lambda b: a_ / b, b_, 1e-5):.8f}")
""", tags=CHECKED)

md(r"""
Here is a `div` with the **fan-out bug**. Its local gradients are the ones just checked, and it gives the right
answer whenever `a` and `b` are used nowhere else. But try $x / x$, which is the constant 1, so its derivative
must be 0:
""")

code(r'''
def div_buggy(a, b):
    """out = a / b. (This version has a bug.)"""
    out = MyValue(a.data / b.data, (a, b), "/")

    def _backward():
        a.grad += (1 / b.data) * out.grad
        b.grad = (-a.data / b.data ** 2) * out.grad
    out._backward = _backward
    return out


x = MyValue(2.0, label="x")
q = div_buggy(x, x)
q.grad = 1.0
q._backward()
print(f"x / x = {q.data};  d(x/x)/dx: div_buggy says {x.grad}, the truth is 0")
''', tags=CHECKED)

md(r"""
The numerator's share ($+1/x = 0.5$) arrived first, and then the denominator's line *replaced* it with its
own share ($-x/x^2 = -0.5$) instead of adding to it. The same happens, less visibly, whenever `b` is used
anywhere else in the graph and its other share arrived first: a value that occurs twice must receive its
gradient twice.

### Exercise 02.5 — find and fix the fan-out bug

Write the two lines of `_backward` in `div(a, b)` below: the lines of `div_buggy`, with the bug fixed. The
rest of `div` is given.
""")

exercise(r'''
def div(a, b):
    """out = a / b, with its _backward: a gets out.grad / b, b gets -a / b**2 * out.grad (both with +=)."""
    out = MyValue(a.data / b.data, (a, b), "/")

    def _backward():
        ### BEGIN SOLUTION
        a.grad += (1 / b.data) * out.grad
        b.grad += (-a.data / b.data ** 2) * out.grad     # += : b may already hold a share (x / x)
        ### END SOLUTION
    out._backward = _backward
    return out
''', "02.5", 2, "write _backward's two lines: div_buggy's, with its bug fixed (every share added with +=)")

code(r"""
check("02.5", div)
""")

md(r"""
The engine divides as $a \cdot b^{-1}$, with `+=` everywhere, so it gets $x / x$ right, and the rest of the
notebook goes on with it:
""")

code(r"""
x = bl.Value(2.0)
(x / x).backward()
print(f"d(x/x)/dx with bl.Value: {x.grad}")
""", tags=CHECKED)

# ============================================================================ 9. topo sort
md(r"""
## 9. The order of the backward pass: topological sort

In section 5 we called `_backward` by hand, in the order $f, e, d$. Order matters: a node may hand its
gradient on only after it has received **all** of it, from every use. In $f = (ab)(a+b)$, had we called
`d._backward()` *before* `f._backward()`, $d$ would have handed on its gradient while it was still 0. Watch:
""")

code(r"""
a, b = bl.Value(-2.0, label="a"), bl.Value(3.0, label="b")
d, e = a * b, a + b
f = d * e
f.grad = 1.0
for node in [d, e, f]:        # the order they were computed in: wrong for the backward pass
    node._backward()
print(f"forward order:  a.grad = {a.grad}, b.grad = {b.grad}   (should be -3, -8)")
""", tags=CHECKED)

md(r"""
A **topological order** of a graph lists every node after all of its inputs. Walked **backwards**, it visits
each node after every node that uses it: exactly what the backward pass needs. Hence the rule:
*topological sort first*, then the gradients accumulate properly.

The classic way to build one is a depth-first search: to place a node, first place all its inputs
(recursively), then append the node itself. A set of visited nodes makes sure a node reached along two
paths, or used twice as in `a * a`, is listed once:

```
visit(node):
    if node not yet visited:
        mark it visited
        for each parent in node._prev: visit(parent)
        append node to the order
```

### Exercise 02.6 — `topo_sort`

Write `topo_sort(root)`, returning a list of every node that `root` depends on (itself included), each node
after all of its `_prev`, the root last. Use recursion (a function `visit` inside `topo_sort`).
""")

exercise(r'''
def topo_sort(root):
    """Every node that root depends on, each after all of its inputs (root last). Recursive."""
    ### BEGIN SOLUTION
    order, visited = [], set()

    def visit(node):
        if node not in visited:
            visited.add(node)
            for parent in node._prev:
                visit(parent)
            order.append(node)

    visit(root)
    return order
    ### END SOLUTION
''', "02.6", 2, "return every node once, each after all of its _prev (recursive depth-first search)")

code(r"""
check("02.6", topo_sort)
""")

md(r"""
### Where recursion gives up

Each call of `visit` waits for the calls on its parents, so the deepest chain of calls is as long as the
longest path in the graph. Python caps the depth of nested calls (`sys.getrecursionlimit()`: 1000 in plain
Python, 3000 in Jupyter's kernel) and raises `RecursionError` beyond it. Let us measure where the engine's copy of the recursive sort,
`bl.autograd.recursive_topo_sort`, fails on a chain $x \to x+1 \to (x+1)+1 \to \dots$ (micrograd's
`build_topo` has the same limit, its issue #90):
""")

code(r"""
import sys

chain = [bl.Value(0.0)]
for _ in range(sys.getrecursionlimit() + 200):
    chain.append(chain[-1] + 1.0)        # node k depends on node k-1: a path of length k


def recursion_ok(depth):
    try:
        bl.autograd.recursive_topo_sort(chain[depth])
        return True
    except RecursionError:
        return False


lo, hi = 1, len(chain) - 1               # bisection: lo works, hi fails
assert recursion_ok(lo) and not recursion_ok(hi)
while hi - lo > 1:
    mid = (lo + hi) // 2
    lo, hi = (mid, hi) if recursion_ok(mid) else (lo, mid)
print(f"recursion limit {sys.getrecursionlimit()}: the recursive sort fails from a chain of {hi} operations on")
n_sorted = len(bl.autograd.topo_sort(chain[-1]))
print(f"the iterative bl.autograd.topo_sort sorts the whole chain of {len(chain) - 1} operations: {n_sorted} nodes")
print(f"(the {len(chain)} values of the chain, and the {n_sorted - len(chain)} constants 1.0 added along it)")
""")

md(r"""
A little under the recursion limit, because the notebook's own calls already use some of the stack. A loss
summed over a thousand examples, or a recurrent network unrolled over a long sequence, easily builds chains
of thousands of operations, so the engine sorts
**iteratively**, with an explicit stack instead of Python's call stack. Each node is pushed once to be
expanded, and once more, marked "parents done", to be appended after its parents:
""")

code(r"""
print(inspect.getsource(bl.autograd.topo_sort))
""")

# ============================================================================ 10. backward
md(r"""
## 10. `backward`: the whole pass

Everything is in place. The backward pass of a scalar output:

1. sort the graph topologically;
2. set the output's gradient to 1 ($\partial\,\text{out}/\partial\,\text{out} = 1$);
3. call `_backward` on every node, in **reversed** topological order.

### Exercise 02.7 — `backward`, and your whole class

Write `backward(root)` (`MyValue.backward` calls it). Use your `topo_sort`. The check then builds
expressions with **your class**, `MyValue`: the example of section 2, a neuron
$\tanh(w_1x_1 + w_2x_2 + b)$, forks ($a\cdot a + a\cdot b + a$), numbers mixed in ($2a + 1 - a/4 + b^2$), a
quotient, and a chain of 40 `tanh`s, and compares every gradient with the engine's. It passes once all of
02.2 to 02.7 are right; when it fails, it also runs each operation of your class on its own and names any
that is wrong.
""")

exercise(r'''
def backward(root):
    """Fill .grad of every node that root depends on: root.grad = 1, then _backward in reversed topological order."""
    ### BEGIN SOLUTION
    order = topo_sort(root)
    root.grad = 1.0
    for node in reversed(order):
        node._backward()
    ### END SOLUTION
''', "02.7", 3, "set root.grad = 1.0, then call _backward on every node in reversed(topo_sort(root))")

code(r"""
check("02.7", MyValue)
""")

md(r"""
One call now computes every gradient. `bl.exercises.use(MyValue, bl.Value, "02.7")` returns your class if it
passes the check and you have switched the notebook to "mine" (notebook 00 shows how), else the engine's; the
next cell runs our example with whichever it gets. Whichever it is, the numbers must match the hand
calculation of section 2:
""")

code(r"""
V = bl.exercises.use(MyValue, bl.Value, "02.7")
a, b = V(-2.0, label="a"), V(3.0, label="b")
f = (a * b) * (a + b)
f.backward()
print(f"f = {f.data}: a.grad = {a.grad}, b.grad = {b.grad}")
""", tags=CHECKED)

md(r"""
### A bigger check: a neuron against finite differences

A neuron with three inputs, $\tanh(w_1x_1 + w_2x_2 + w_3x_3 + b)$, at random values. Backpropagation gives the
gradient with respect to all seven numbers in one pass; central differences need 14 evaluations. The
relative error (notebook 01) should be around $10^{-10}$ or below:
""")

code(r"""
params = rng.normal(size=7)            # w1, w2, w3, x1, x2, x3, b


def neuron(p):
    w, x, b = p[:3], p[3:6], p[6]
    return math.tanh(sum(wi * xi for wi, xi in zip(w, x)) + b)


nodes = [V(float(p)) for p in params]
w, x, b = nodes[:3], nodes[3:6], nodes[6]
out = (w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b).tanh()
out.backward()
by_backprop = np.array([n.grad for n in nodes])
by_nudging = numerical_gradient(neuron, params)
print("backprop:           ", by_backprop.round(6))
print("central differences:", by_nudging.round(6))
print(f"largest relative error: {nb01.relative_error(by_backprop, by_nudging).max():.1e}")
""")

# ============================================================================ 11. pictures
md(r"""
## 11. Watching a neuron's backward pass

`bl.viz.draw_graph(root)` draws any graph of `Value`s (yours too: it only reads `data`, `grad`, `_prev`,
`_op` and `label`). Here is a two-input neuron $t = \tanh(w_1x_1 + w_2x_2 + b)$, after the backward pass.
Read it from right to left: the output's gradient is 1; the `tanh` node hands on $1 - t^2$; the `+` nodes
distribute that unchanged; each `*` node swaps its inputs, so $w_1$ gets $x_1$ times the gradient of
$w_1x_1$, and $x_1$ gets $w_1$ times it.
""")

code(r"""
w1, x1, w2, x2, bias = (bl.Value(v, label=n) for v, n in
                        [(-0.5, "w1"), (2.0, "x1"), (1.5, "w2"), (-1.0, "x2"), (0.8, "b")])
w1x1 = w1 * x1;      w1x1.label = "w1*x1"
w2x2 = w2 * x2;      w2x2.label = "w2*x2"
s = w1x1 + w2x2;     s.label = "s"
z = s + bias;        z.label = "z"
t = z.tanh();        t.label = "t"
t.backward()
print(f"t = {t.data:.4f}, 1 - t^2 = {1 - t.data ** 2:.4f};  w1.grad = {w1.grad:.4f} = (1 - t^2) * x1")
""", tags=CHECKED)

code(r"""
draw_graph(t)
""")

md(r"""
Step through it: step 1 is the `tanh` node (local gradient $1 - t^2$), steps 2 and 3 the two `+` nodes
(local gradient 1: the same number goes on to every input), steps 4 and 5 the `*` nodes (the swap).
""")

code(r"""
step_through(t)
""")

# ============================================================================ 12. save for 03
md(r"""
## 12. Take your `MyValue` to notebook 03

Notebook 03 trains a small neural network made of `Value`s, and can run on **your** class. Every
notebook runs in its own Python process, so the class has to travel as a file. The next cell writes
`my_value.py` next to this notebook: the cell that defines `MyValue` and `as_value`, followed by the source
of your functions (`inspect.getsource` finds functions defined in a notebook; for the class it cannot, so
we take the whole cell it was defined in, which is why that cell holds nothing else).

Run it again whenever you change one of your functions. The file holds only that cell and your seven
functions: if a function uses anything else (say `numpy`), import it in the class's cell. Notebook 03
loads the file, and `bl.exercises.use(MyValue, bl.Value, "02.7")` runs check 02.7 on your class before
using it. If you prefer, write `my_value.py` yourself: it needs `import math`, the class, `as_value` and
the seven functions.
""")

code(r'''
import linecache
from pathlib import Path


def cell_source(cls):
    """The source of the notebook cell that defined ``cls`` (inspect.getsource cannot find notebook classes)."""
    return "".join(linecache.getlines(cls.__init__.__code__.co_filename))


parts = [cell_source(MyValue)] + [inspect.getsource(fn) for fn in
                                  (add, mul, tanh, power, div, topo_sort, backward)]
header = '"""My scalar autograd engine, written in notebook 02 (this file was saved by its last section)."""\n'
tmp = Path("my_value.py.tmp")            # write a temporary file, then rename it: a notebook reading
tmp.write_text(header + "\n\n".join(p.strip("\n") + "\n" for p in parts))
tmp.replace("my_value.py")               # my_value.py at the same moment never sees half a file
print(f"wrote my_value.py: the class cell and {len(parts) - 1} functions")
''', tags=CHECKED)

md(r"""
A quick test that the file works on its own:
""")

code(r"""
import importlib

import my_value

importlib.reload(my_value)                  # pick up the file just written, even if imported before
check("02.7", my_value.MyValue, record=False)
""")

# ============================================================================ summary
md(r"""
## Summary

* **Chain rule:** along a path, derivatives multiply; over several paths (a value used more than once), the
  contributions add. That is the multivariate chain rule, and all of backpropagation.
* **Each node** multiplies its **local gradient** (which needs only the cached forward values) by the
  **upstream gradient** and **adds** the product to each input's `.grad`. Gates have patterns: add
  distributes, mul swaps, max routes.
* **`+=`, never `=`:** a forked value receives one share per use; `=` keeps only the last one.
* **Order:** the backward pass visits nodes in *reversed topological order*, so that every node has received
  all of its gradient before handing it on. A recursive depth-first sort is short but fails near Python's
  recursion limit (1000 nested calls in plain Python, 3000 in Jupyter); the engine's sort is iterative.
* You checked every gradient three ways: by hand, by the engine, and by central differences; and you
  watched the backward pass node by node with `draw_graph` and `step_through`.

**Next: notebook 03, a scalar neural network.** We assemble `Value`s into neurons, layers and a small
network, train it on a 2-D data set with the loop *zero grads → forward → backward → update*, and find out
how slow one `Value` per number is, which is the reason for notebook 04's arrays.
""")


if __name__ == "__main__":
    notebook.main(sys.argv[1:])
