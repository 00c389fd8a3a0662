"""Build ``solutions/01_finite_differences.ipynb`` (the instructor notebook) from this script.

    python solutions/_build/build_01.py            # write the notebook without outputs
    python solutions/_build/build_01.py --execute  # ... then run it (cwd solutions/) and save the outputs

Edit the notebook's text and code here, not in the .ipynb, so that it can be regenerated.
Cell ids are fixed ("c01-007"), so a rebuild changes only what was edited.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))   # find nbbuild also when loaded by file path (tests)
from nbbuild import Notebook  # noqa: E402

notebook = Notebook("01", "01_finite_differences.ipynb")
md, code, exercise = notebook.md, notebook.code, notebook.exercise
TARGET = notebook.target
build = notebook.build

# ============================================================================ title and goals
md(r"""
# 01 · Finite differences: derivatives by nudging

Backpropagation computes derivatives. Before we compute them *fast*, we compute them the slow, obvious
way: nudge the input a little and watch the output. That idea gives us a derivative for any function we
can evaluate, with no calculus at all, and it will be our referee for the rest of the course: every
gradient that backpropagation produces gets checked against it.

**Learning goals.** After this notebook you can

1. explain the derivative as the limit of a difference quotient, and use $f(x+h) \approx f(x) + h\,f'(x)$;
2. derive from Taylor series why the forward difference has error $O(h)$ and the central difference $O(h^2)$,
   and confirm it numerically;
3. explain the V-shaped error curve (truncation against round-off) and predict the best step,
   near $\sqrt{\varepsilon}$ for the forward and $\sqrt[3]{\varepsilon}$ for the central difference;
4. compute the numerical gradient of $f:\mathbb{R}^n \to \mathbb{R}$ and say why its cost, $2n$ evaluations of
   $f$, rules it out for training but not for checking;
5. compare two gradients with the relative error, and read its usual thresholds.

You write four functions: `forward_difference`, `central_difference`, `numerical_gradient` and
`relative_error`. Each is checked as soon as you write it, and the notebook carries on with the course's
reference version, so every later cell runs whether or not you have solved it yet.
""")

code(r"""
import time

import matplotlib.pyplot as plt
import numpy as np

import backprop_lab as bl
from backprop_lab.exercises import check
from backprop_lab.exercises.nb01 import reference   # the course's versions of this notebook's exercises

rng = np.random.default_rng(0)
np.set_printoptions(precision=6)
""")

# ============================================================================ 1. derivative as a limit
md(r"""
## 1. The derivative as a limit

The derivative of $f$ at $x$ is the slope of $f$ there:

$$
f'(x) \;=\; \lim_{h \to 0} \frac{f(x+h) - f(x)}{h}.
$$

The fraction is the slope of the **secant**, the straight line through the two points $(x, f(x))$ and
$(x+h, f(x+h))$. As $h$ shrinks, the secant turns into the **tangent**, and its slope into $f'(x)$.

Read the definition backwards and it says something useful about $f$ itself. For a small $h$ the fraction
is close to $f'(x)$, so multiplying by $h$ and moving $f(x)$ across:

$$
f(x+h) \;\approx\; f(x) + h\, f'(x).
$$

**Nudging $x$ by $h$ changes $f$ by about $h$ times the derivative.** Zoom in far enough on a smooth
function and it looks like a straight line with slope $f'(x)$. This is the whole reason gradients are
useful for training: the sign of $f'(x)$ says which way to nudge $x$ to make $f$ smaller, and its size
says how strongly $f$ reacts.

How good is the straight-line prediction? Let us measure it for $f = \sin$ at $x = 1$, where we know
$f'(x) = \cos x$. (We will see in a moment why the gap shrinks like $h^2$.)
""")

code(r"""
f, df = np.sin, np.cos
x = 1.0
print("     h      f(x+h)        f(x) + h f'(x)     gap        gap / h^2")
for h in [1e-1, 1e-2, 1e-3]:
    exact = f(x + h)
    linear = f(x) + h * df(x)
    gap = exact - linear
    print(f"{h:8.0e}  {exact:.10f}  {linear:.10f}  {gap:10.3e}  {gap / h**2:9.5f}")
print(f"-sin(1) / 2 = {-np.sin(1.0) / 2:.5f}")
""", tags=["nbval-check-output"])

md(r"""
Each time $h$ shrinks tenfold the gap shrinks a hundredfold, and $\text{gap}/h^2$ settles at
$-\sin(1)/2 = f''(1)/2$. The straight line is off by about $\tfrac{1}{2} h^2 f''(x)$: that is the next term of
the Taylor series, which is where we go next, after the first exercise.
""")

# ============================================================================ 2. forward difference
md(r"""
## 2. The forward difference

Stop the limit at a small but finite $h$ and you have an *estimate* of the derivative, the
**forward difference**:

$$
D_+ f(x) \;=\; \frac{f(x+h) - f(x)}{h}.
$$

It needs only two evaluations of $f$ and nothing else about $f$: $f$ can be any Python function that
returns a number.

### Exercise 01.1 — forward difference

Write `forward_difference(f, x, h)` that returns the forward-difference estimate of $f'(x)$, one number,
for a function `f` of one number, a point `x` and a step `h` (all three given; do not change `h`).
For example, `forward_difference(np.sin, 1.0, 0.1)` is $(\sin 1.1 - \sin 1)/0.1 \approx 0.497364$.
""")

exercise(r'''
def forward_difference(f, x, h):
    """Estimate f'(x) by the slope of the secant from x to x + h."""
    ### BEGIN SOLUTION
    return (f(x + h) - f(x)) / h
    ### END SOLUTION
''', "01.1", 1, "return (f(x + h) - f(x)) / h, the forward-difference estimate of f'(x)")

code(r"""
check("01.1", forward_difference)
""")

md(r"""
From here on the notebook uses `forward`, which is your function or the course's reference.
`bl.exercises.use(mine, reference, "01.1")` picks the reference unless you have switched the notebook to
"use my implementation" (notebook 00 shows how); it only accepts yours once it passes its check, so the
cells below run either way.
""")

code(r"""
forward = bl.exercises.use(forward_difference, reference.forward_difference, "01.1")
print(f"forward difference, h = 1e-3: {forward(np.sin, 1.0, 1e-3):.10f}")
print(f"exact derivative cos(1):      {np.cos(1.0):.10f}")
""", tags=["nbval-check-output"])

# ============================================================================ 3. Taylor
md(r"""
## 3. How wrong is it? Ask Taylor

Three digits right with $h = 10^{-3}$. To know how the error depends on $h$, expand $f$ around $x$
(Taylor's theorem, for an $f$ with enough smooth derivatives):

$$
f(x+h) = f(x) + h\,f'(x) + \frac{h^2}{2} f''(x) + \frac{h^3}{6} f'''(x) + O(h^4).
$$

Subtract $f(x)$ and divide by $h$:

$$
D_+ f(x) = \frac{f(x+h) - f(x)}{h} = f'(x) + \underbrace{\frac{h}{2} f''(x) + O(h^2)}_{\text{truncation error}}.
$$

The forward difference is off by about $\tfrac{h}{2} f''(x)$: the error is **first order**, $O(h)$.
Halve $h$ and the error halves. This error comes from cutting the Taylor series short (truncating it), so
it is called the **truncation error**.

Now a better idea. Expand at $x - h$ as well; the odd powers of $h$ change sign:

$$
f(x-h) = f(x) - h\,f'(x) + \frac{h^2}{2} f''(x) - \frac{h^3}{6} f'''(x) + O(h^4).
$$

Subtract this from the expansion of $f(x+h)$: $f(x)$ and the $h^2$ terms cancel, the odd terms double,

$$
f(x+h) - f(x-h) = 2h\,f'(x) + \frac{h^3}{3} f'''(x) + O(h^5),
$$

and dividing by $2h$ gives the **central difference**:

$$
D_0 f(x) = \frac{f(x+h) - f(x-h)}{2h} = f'(x) + \frac{h^2}{6} f'''(x) + O(h^4).
$$

Its error is **second order**, $O(h^2)$: halve $h$ and the error drops fourfold. Same cost, two
evaluations, much better accuracy: the symmetric secant cancels the curvature term.

Two predictions to check numerically for $\sin$ at $x = 1$:

* forward: error $\approx \tfrac{h}{2} f''(1) = -\tfrac{h}{2}\sin 1$, so (error / $h$) $\to -0.4207$,
  and halving $h$ divides the error by **2**;
* central: error $\approx \tfrac{h^2}{6} f'''(1) = -\tfrac{h^2}{6}\cos 1$, so (error / $h^2$) $\to -0.0901$,
  and halving $h$ divides the error by **4**.

We test the forward one now and the central one right after you have written it.
""")

code(r"""
exact = np.cos(1.0)
previous = None
print("    h       error        error/h    ratio to previous")
for h in 0.1 / 2.0 ** np.arange(6):
    err = forward(np.sin, 1.0, h) - exact
    ratio = "" if previous is None else f"{previous / err:8.4f}"
    print(f"{h:9.6f}  {err:11.4e}  {err / h:9.5f}  {ratio}")
    previous = err
print(f"predicted: error/h -> f''(1)/2 = {-np.sin(1.0) / 2:.5f}, ratio -> 2")
""", tags=["nbval-check-output"])

md(r"""
The ratio approaches 2 and error/$h$ approaches $f''(1)/2$, as derived. (For larger $h$ the next Taylor
term, $O(h^2)$, still shows, which is why the first ratios are not exactly 2.)

### Exercise 01.2 — central difference

Write `central_difference(f, x, h)` that returns $\dfrac{f(x+h) - f(x-h)}{2h}$, one number.
Mind the brackets: `/ 2 * h` is not `/ (2 * h)` in Python. For example, `central_difference(np.sin, 1.0, 0.1)`
is $\approx 0.539402$ (against $\cos 1 \approx 0.540302$: already three digits right).
""")

exercise(r'''
def central_difference(f, x, h):
    """Estimate f'(x) by the slope of the secant from x - h to x + h."""
    ### BEGIN SOLUTION
    return (f(x + h) - f(x - h)) / (2 * h)
    ### END SOLUTION
''', "01.2", 2, "return (f(x + h) - f(x - h)) / (2 * h), the central-difference estimate of f'(x)")

code(r"""
check("01.2", central_difference)
""")

code(r"""
central = bl.exercises.use(central_difference, reference.central_difference, "01.2")

print("    h      forward err  ratio   central err   ratio   central err/h^2")
prev_f = prev_c = None
for h in 0.1 / 2.0 ** np.arange(6):
    ef = forward(np.sin, 1.0, h) - exact
    ec = central(np.sin, 1.0, h) - exact
    rf = "" if prev_f is None else f"{prev_f / ef:5.2f}"
    rc = "" if prev_c is None else f"{prev_c / ec:5.2f}"
    print(f"{h:9.6f}  {ef:11.3e}  {rf:>5}  {ec:11.3e}  {rc:>6}  {ec / h**2:10.5f}")
    prev_f, prev_c = ef, ec
print(f"predicted: central err/h^2 -> f'''(1)/6 = {-np.cos(1.0) / 6:.5f}, ratios -> 2 (forward) and 4 (central)")
""", tags=["nbval-check-output"])

md(r"""
Halving $h$ halves the forward error and quarters the central one, and the central error over $h^2$
sits at $f'''(1)/6$: both derivations confirmed. The central difference with $h = 0.1$ is already more
accurate than the forward difference with a step 32 times smaller. Both keep improving as $h$ shrinks...
so why not take $h = 10^{-300}$ and be done?
""")

# ============================================================================ 4. round-off
md(r"""
## 4. Truncation against round-off: the V

Because the computer does not compute $f(x+h)$ exactly. A float64 number carries about 16 significant
digits: the gap between 1 and the next float is the **machine epsilon**
$\varepsilon = 2^{-52} \approx 2.2 \times 10^{-16}$ (for float32, $2^{-23} \approx 1.2 \times 10^{-7}$).
Every computed value of $f$ is off by a relative amount of order $\varepsilon$, so $f(x+h) - f(x)$ carries an
absolute error of order $\varepsilon\,|f(x)|$, *whatever* $h$ is. When $h$ is tiny the two values agree in
almost all their digits, and what their difference keeps is mostly noise. Dividing by $h$ magnifies it:

$$
\text{round-off error} \;\approx\; \frac{\varepsilon\,|f(x)|}{h}.
$$

(Constants of order one, like the 2 from two rounded values, do not change the picture and are left out.)

So the total error is one term that falls with $h$ and one that grows as $h$ falls. For the forward
difference

$$
E_+(h) \approx \frac{h}{2}|f''(x)| + \frac{\varepsilon |f(x)|}{h},
\qquad
E_+'(h) = 0 \;\Rightarrow\; h_+^* = \sqrt{\frac{2\varepsilon |f(x)|}{|f''(x)|}} \sim \sqrt{\varepsilon},
\qquad E_+(h_+^*) \sim \sqrt{\varepsilon},
$$

and for the central difference

$$
E_0(h) \approx \frac{h^2}{6}|f'''(x)| + \frac{\varepsilon |f(x)|}{h},
\qquad
E_0'(h) = \frac{h}{3}|f'''| - \frac{\varepsilon|f|}{h^2} = 0 \;\Rightarrow\;
h_0^* = \sqrt[3]{\frac{3\varepsilon |f(x)|}{|f'''(x)|}} \sim \sqrt[3]{\varepsilon},
\qquad E_0(h_0^*) \sim \varepsilon^{2/3}.
$$

In float64 that predicts a best step of about $10^{-8}$ with 8 correct digits for the forward difference,
and about $10^{-5}$ with 10 to 11 correct digits for the central one. In float32 the same formulas give
steps of a few times $10^{-4}$ and about $10^{-2}$, and only 3 to 5 correct digits. The numbers for $\sin$ at $x=1$:
""")

code(r"""
x = 1.0
f0, f2, f3 = abs(np.sin(x)), abs(-np.sin(x)), abs(-np.cos(x))   # |f|, |f''|, |f'''| at x = 1
predicted = {}
for dtype in (np.float64, np.float32):
    eps = float(np.finfo(dtype).eps)
    predicted[dtype, "forward"] = np.sqrt(2 * eps * f0 / f2)
    predicted[dtype, "central"] = np.cbrt(3 * eps * f0 / f3)
    print(f"{np.dtype(dtype).name}: eps = {eps:.2e}   best h: forward {predicted[dtype, 'forward']:.1e} "
          f"(sqrt(eps) = {np.sqrt(eps):.1e}),  central {predicted[dtype, 'central']:.1e} (cbrt(eps) = {np.cbrt(eps):.1e})")
""", tags=["nbval-check-output"])

md(r"""
Now the experiment. We compute both differences over 16 decades of $h$, with every operation in float64
and then again in float32 (`x`, `h` and `f`'s values all of that type), and plot the error on log-log axes.
On such axes a power law $C h^p$ is a straight line of slope $p$: we expect slope $+1$ (forward) and $+2$
(central) on the right, slope $-1$ on the left, and the bottom of the V at the predicted $h^*$ (dotted lines).
""")

code(r"""
def difference_error(method, dtype, hs, x=1.0, f=np.sin, df=np.cos):
    # |estimate - f'(x)| for each h, with x, h and the values of f all in `dtype`
    x_t, hs_t = dtype(x), hs.astype(dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "forward":
            est = (f(x_t + hs_t) - f(x_t)) / hs_t
        else:
            est = (f(x_t + hs_t) - f(x_t - hs_t)) / (dtype(2) * hs_t)
    return np.abs(est.astype(np.float64) - df(np.float64(x)))

hs = np.logspace(-16, 0, 161)
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
for ax, dtype in zip(axes, (np.float64, np.float32)):
    for method, color in (("forward", "tab:blue"), ("central", "tab:orange")):
        err = difference_error(method, dtype, hs)
        ax.loglog(hs, np.maximum(err, 1e-14), color=color, label=f"{method} difference")
        ax.axvline(predicted[dtype, method], color=color, ls=":", lw=1.5)
    # guide lines with slopes +1, +2 (truncation) and -1 (round-off)
    eps = float(np.finfo(dtype).eps)
    right = np.logspace(-3, 0, 10)
    ax.loglog(right, 0.42 * right, "k--", lw=0.8, label="slopes +1, +2: Taylor's h |f''| / 2, h² |f'''| / 6")
    ax.loglog(right, 0.09 * right**2, "k--", lw=0.8)
    left = np.logspace(-16, -9 if dtype is np.float64 else -5, 10)
    ax.loglog(left, 0.84 * eps / left, "k-.", lw=0.8, label="slope -1: eps |f| / h")
    ax.set_title(f"{np.dtype(dtype).name}: error of d/dx sin(x) at x = 1")
    ax.set_xlabel("step h")
    ax.set_ylim(1e-14, 10)
    ax.legend(loc="lower left")
axes[0].set_ylabel("|estimate - cos(1)|")
plt.tight_layout()
plt.show()
""")

md(r"""
Read the picture from right to left.

* **Right arm (truncation).** Straight lines of slope 1 (forward, blue) and 2 (central, orange), right on
  the dashed guides $0.42\,h$ and $0.09\,h^2$ that the Taylor series predicted.
* **Left arm (round-off).** Slope $-1$ and noisy: the error is now rounding, and it depends on exactly which
  digits happened to be lost. For the smallest $h$, `x + h == x` in floating point and the estimate
  collapses to 0 (error $\cos 1 \approx 0.54$).
* **The bottom of the V** sits near the dotted predictions, and it is higher and further right in float32.
  The central difference's V is both deeper and to the right of the forward one's.

A single point $x$ gives a jagged curve, so to *measure* the best step we average the error over 200
points near $x=1$, which smooths the round-off noise, and take the $h$ with the smallest average:
""")

code(r"""
xs = rng.uniform(0.5, 1.5, size=200)                        # 200 points near x = 1 (seeded)
hs_fine = np.logspace(-14, -0.5, 109)                        # 8 steps per decade
print("dtype    method    measured best h   predicted best h")
for dtype in (np.float64, np.float32):
    for method in ("forward", "central"):
        mean_err = np.mean([difference_error(method, dtype, hs_fine, x=x0) for x0 in xs], axis=0)
        best = hs_fine[np.argmin(mean_err)]
        print(f"{np.dtype(dtype).name:8} {method:8}  {best:12.1e}   {predicted[dtype, method]:14.1e}")
""")

md(r"""
Measured and predicted agree to within a factor of a few, which is all an order-of-magnitude model can
promise. The practical rules that follow:

* **Always check gradients in float64.** In float32 even the best step leaves only a few correct digits.
* **Prefer the central difference**, with $h$ around $10^{-5}$ to $10^{-6}$ for inputs of size about 1.
  (PyTorch's `gradcheck` and this course's `bl.gradcheck` use $h = 10^{-6}$.)
* **Smaller is not better.** Past the bottom of the V, a smaller step only adds noise.

### Explore: secant, tangent and the V

Slide $h$ (the slider is logarithmic), pick a function, switch method and float type. On the left the
secant (dashed red) pivots towards the tangent (green) as $h$ shrinks; on the right the red dot is the
error for the current $h$ riding along the V. Things to try:

1. $h = 10^{-1}$: you can see the secant and the tangent disagree. Switch to central: the symmetric secant
   is almost parallel to the tangent.
2. Walk $h$ down to $10^{-8}$ (forward): the dot reaches the bottom of the V. Keep going to $10^{-13}$: the
   picture on the left looks perfect, yet the error grows: the damage is in digits too small to draw.
3. Switch to float32 and repeat: the V is shallower and its bottom moves right, to a few times $10^{-4}$ (forward)
   and about $10^{-2}$ (central).
4. Pick $x^3$ and central: on the right arm the error is exactly $h^2$ (why? $f''' = 6$, so $\tfrac{h^2}{6}\cdot 6$).
""")

code(r"""
from backprop_lab.widgets.finite_differences import secant_explorer

secant_explorer()
""")

# ============================================================================ 5. numerical gradient
md(r"""
## 5. The numerical gradient of $f:\mathbb{R}^n \to \mathbb{R}$

A loss is a function of many numbers (all the weights of a network) that returns one number. Its
**gradient** $\nabla f(x)$ collects the $n$ partial derivatives; $\partial f / \partial x_i$ is the ordinary
derivative along the $i$-th coordinate with all other coordinates held fixed. So a central difference
along each coordinate estimates it. With $e_i$ the vector that is 1 in entry $i$ and 0 elsewhere,

$$
\frac{\partial f}{\partial x_i}(x) \;\approx\; \frac{f(x + h e_i) - f(x - h e_i)}{2h},
\qquad i = 1, \dots, n.
$$

Each coordinate costs two evaluations of $f$, so the whole gradient costs $2n$. The error analysis of
section 3 holds coordinate by coordinate: $O(h^2)$.

### Exercise 01.3 — numerical gradient

Write `numerical_gradient(f, x, h=1e-5)` for a function `f` that takes a float array and returns a number.
Return an array **of `x`'s shape** whose entry at each index is the central difference along that entry.

* Nudge **one entry at a time** (add $h$ to `x[idx]` only), never the whole array.
* Do not change the caller's `x`: work on a copy, or put each entry back after nudging it.
* `x` may have any number of dimensions. `np.zeros_like(x)` has the right shape, and
  `for idx in np.ndindex(x.shape):` visits every index as a tuple, whatever the number of dimensions.
  (`for i in range(len(x))` does not: for a 2-D `x`, `x[i]` is a whole row.)

For example, for `f = lambda v: np.sum(v ** 2)` and `x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])` the
answer is (up to about $10^{-10}$) `2 * x`, an array of shape `(2, 3)`, and `x` is unchanged afterwards.
""")

exercise(r'''
def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of a scalar function f at the float array x (same shape as x)."""
    ### BEGIN SOLUTION
    x = np.array(x, dtype=np.float64)       # our own copy: the caller's array stays as it was
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad
    ### END SOLUTION
''', "01.3", 3, "return an array of x's shape whose entry idx is (f(x + h e_idx) - f(x - h e_idx)) / (2h), without changing x")

code(r"""
check("01.3", numerical_gradient)
""")

md(r"""
Let us test it against a gradient derived by hand. Take the quadratic $f(x) = \tfrac12 x^\top A x + b^\top x$
with a (not necessarily symmetric) matrix $A$. In index notation $f = \tfrac12 \sum_{i,j} x_i A_{ij} x_j + \sum_i b_i x_i$.
Differentiating with respect to $x_k$ hits $x_i$ when $i = k$ and $x_j$ when $j = k$:

$$
\frac{\partial f}{\partial x_k} = \tfrac12 \sum_j A_{kj} x_j + \tfrac12 \sum_i x_i A_{ik} + b_k
\quad\Longrightarrow\quad
\nabla f(x) = \tfrac12 (A + A^\top)\, x + b .
$$

(For a symmetric $A$ this is the familiar $Ax + b$. Notebook 05 derives exactly this kind of result with
Einstein notation.) A quadratic has $f''' = 0$, so the central difference has no truncation error here and
only round-off is left:
""")

code(r"""
gradient = bl.exercises.use(numerical_gradient, reference.numerical_gradient, "01.3")

A = rng.normal(size=(4, 4))
b = rng.normal(size=4)
x0 = rng.normal(size=4)

def quadratic(x):
    return 0.5 * x @ A @ x + b @ x

by_hand = 0.5 * (A + A.T) @ x0 + b
numeric = gradient(quadratic, x0)
print("by hand:  ", by_hand)
print("numerical:", numeric)
print("largest difference:", f"{np.max(np.abs(numeric - by_hand)):.1e}")
""")

# ============================================================================ 6. relative error
md(r"""
## 6. How close is close enough? The relative error

"The largest difference is $10^{-10}$" sounds reassuring, but it means nothing without a scale:
$10^{-10}$ is a tiny error on a gradient entry of size 1, and a huge one on an entry of size $10^{-12}$.
Gradients of real losses span many orders of magnitude, so we compare them with the **relative error**

$$
\mathrm{rel}(a, b) = \frac{|a - b|}{\max\!\big(|a|,\ |b|,\ \text{tiny}\big)} .
$$

* It is scale-free: $1001$ vs $1000$ and $0.001001$ vs $0.001$ both give $\approx 10^{-3}$.
* It is symmetric: dividing by the larger of the two means neither argument has to be "the true one".
* The tiny floor (say $10^{-12}$) keeps two exact zeros at relative error 0 instead of $0/0$.

How small should it be, for an analytic gradient against a float64 central difference with
$h \approx 10^{-5}$ to $10^{-6}$? The usual rules of thumb:

| relative error | verdict |
| --- | --- |
| $< 10^{-7}$ | **great**: the two agree to as many digits as the central difference can deliver |
| $10^{-7}$ to $10^{-4}$ | **suspicious**: fine near a kink (ReLU at 0, a `max` with a near tie) or in float32; otherwise look for a bug |
| $10^{-4}$ to $10^{-2}$ | **probably wrong**: a genuine bug is likely |
| $> 10^{-2}$ | **wrong** |

### Exercise 01.4 — relative error

Write `relative_error(a, b)` computing the formula above **elementwise**: for two arrays of the same
shape it returns an array of that shape, for two numbers a number. Python's `max` and `abs` work on single
numbers only, and `np.max` reduces one array to its largest entry; `np.abs` and `np.maximum` (two arguments at
a time) work elementwise. Use `tiny = 1e-12`. For example,
`relative_error(np.array([1.0, -4.0]), np.array([1.5, -3.0]))` is `[0.5/1.5, 1/4] = [0.3333, 0.25]`.
""")

exercise(r'''
def relative_error(a, b):
    """Elementwise |a - b| / max(|a|, |b|, 1e-12)."""
    ### BEGIN SOLUTION
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)
    ### END SOLUTION
''', "01.4", 1, "return np.abs(a - b) / max(|a|, |b|, 1e-12), elementwise (np.maximum)")

code(r"""
check("01.4", relative_error)
""")

md(r"""
Now the verdict on our quadratic, and on a gradient "derived" with a classic slip: $Ax + b$, forgetting
that $A$ is not symmetric. A gradient check reports the largest relative error over all entries.
""")

code(r"""
rel_error = bl.exercises.use(relative_error, reference.relative_error, "01.4")

def verdict(r):
    return "great" if r < 1e-7 else "suspicious" if r < 1e-4 else "probably wrong" if r < 1e-2 else "wrong"

right = rel_error(numeric, by_hand).max()
slip = rel_error(numeric, A @ x0 + b).max()
print(f"1/2 (A + A^T) x + b : max relative error {right:.0e} -> {verdict(right)}")
print(f"A x + b (the slip)  : max relative error {slip:.0e} -> {verdict(slip)}")
""")

code(r"""
print("right gradient is great:", verdict(right) == "great")
print("slip is caught as wrong:", verdict(slip) == "wrong")
""", tags=["nbval-check-output"])

# ============================================================================ 7. cost
md(r"""
## 7. The price of nudging: $2n$ evaluations

The numerical gradient needs nothing but the ability to evaluate $f$: no derivative rules, no
bookkeeping. Why not train networks with it? Count. A network with $n$ parameters needs $2n$ evaluations
of the loss for **one** gradient, and one evaluation itself costs time roughly proportional to $n$ (every
weight takes part in a multiply-add). So one numerical gradient costs on the order of $n^2$.

Backpropagation, which the rest of this course builds, computes the *same* gradient for the price of a
small constant number of evaluations (one forward pass plus one backward pass of similar cost), whatever
$n$ is. Let us put numbers on it. First, a small MLP's loss as a function of one flat parameter vector,
so that `gradient` can nudge its entries:
""")

code(r"""
def mlp_loss_function(sizes, batch=64, seed=0):
    # the mean squared error of a tanh MLP with layer sizes `sizes` on fixed random data,
    # as a function of ONE flat vector holding all weights and biases; returns (loss, theta0)
    g = np.random.default_rng(seed)
    X, Y = g.normal(size=(batch, sizes[0])), g.normal(size=(batch, sizes[-1]))
    layers = list(zip(sizes[:-1], sizes[1:]))
    n = sum(n_in * n_out + n_out for n_in, n_out in layers)

    def loss(theta):
        a, k = X, 0
        for i, (n_in, n_out) in enumerate(layers):
            W = theta[k:k + n_in * n_out].reshape(n_in, n_out); k += n_in * n_out
            b = theta[k:k + n_out]; k += n_out
            a = a @ W + b
            if i < len(layers) - 1:
                a = np.tanh(a)
        return float(np.mean((a - Y) ** 2))

    return loss, g.normal(size=n) * 0.1

def seconds_per_call(fn, min_time=0.01, repeats=3, budget=0.3):
    # the time of one call of fn(): the average over a batch of calls lasting at least min_time seconds,
    # best of `repeats` batches (the best is the least disturbed by whatever else the computer is doing);
    # stops early once `budget` seconds are spent, so a slow call is not repeated for long
    best, begin = float("inf"), time.perf_counter()
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < min_time or n < 1:
            fn(); n += 1
        best = min(best, elapsed / n)
        if time.perf_counter() - begin > budget:
            break
    return best

loss, theta = mlp_loss_function([10, 8, 1])
t_eval = seconds_per_call(lambda: loss(theta), min_time=0.05, repeats=5, budget=1.0)
t_grad = seconds_per_call(lambda: gradient(loss, theta), min_time=0.05, repeats=5, budget=1.0)
print(f"{theta.size} parameters: one loss evaluation {t_eval * 1e6:.0f} us")
print(f"numerical gradient: measured {t_grad * 1e3:.1f} ms, predicted 2n x one evaluation = "
      f"{2 * theta.size * t_eval * 1e3:.1f} ms")
""")

md(r"""
The prediction $2n \times$ (one evaluation) and the measurement agree to within a small factor: timings of
calls this short are noisy, and the loop itself (copying, indexing, calling `f`) adds a little to each of the
$2n$ evaluations, but the count $2n$ is what matters. Now networks of growing size, up to a million parameters. For each we measure one loss evaluation and one forward-plus-backward pass of
`backprop_lab`'s engine on the same layer sizes, and extrapolate the numerical gradient as $2n$
evaluations (we do not wait for the big ones!):
""")

code(r"""
def human(seconds):
    for unit, size in (("days", 86400), ("hours", 3600), ("min", 60), ("s", 1), ("ms", 1e-3)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds * 1e6:.0f} us"

rows = []
for sizes in ([10, 8, 1], [20, 40, 1], [50, 100, 50, 1], [100, 300, 200, 1], [784, 1000, 200, 10]):
    loss, theta = mlp_loss_function(sizes)
    t_eval = seconds_per_call(lambda: loss(theta))

    model = bl.nn.MLP(sizes, activation=bl.nn.Tanh, rng=0)
    Xt, Yt = bl.Tensor(rng.normal(size=(64, sizes[0]))), bl.Tensor(rng.normal(size=(64, sizes[-1])))
    def step():
        model.zero_grad()
        bl.nn.mse_loss(model(Xt), Yt).backward()
    t_backprop = seconds_per_call(step)
    rows.append((theta.size, t_eval, 2 * theta.size * t_eval, t_backprop))

print(f"{'parameters':>11} | {'one evaluation':>14} | {'numerical gradient (2n evals)':>29} | {'backprop (engine)':>17}")
for n, t_eval, t_num, t_bp in rows:
    print(f"{n:>11,} | {human(t_eval):>14} | {human(t_num):>29} | {human(t_bp):>17}")
""")

md(r"""
(Your timings will differ; the shape of the table will not.) For a million parameters one numerical
gradient takes hours (days on a slow or busy computer), and training needs thousands of gradients. Backpropagation
delivers the same gradient for a few evaluations' worth of time, and its cost grows like one evaluation,
$n$, not like $2n$ evaluations, $n^2$. Modern networks have $10^8$ to $10^{12}$ parameters: without
backpropagation there would be no deep learning.

Finite differences keep one job, and it is an important one: **checking**. A gradient check needs only a
handful of entries, or a small network, and it catches any mistake in an analytic gradient. The engine's
`bl.gradcheck(f, *inputs)` compares the gradients that backpropagation computes with exactly what you
built in this notebook, float64 central differences, and on a mismatch names the input, the entry and the
relative error. It returns `True` when all agree:
""")

code(r"""
w = bl.Tensor(rng.normal(size=(3, 2)), requires_grad=True)
print(bl.gradcheck(lambda w: (w.tanh() * w).sum(), w))
""", tags=["nbval-check-output"])

# ============================================================================ summary
md(r"""
## Summary

* The derivative is the limit of the secant's slope, and $f(x+h) \approx f(x) + h f'(x)$: nudging $x$ by $h$
  moves $f$ by about $h$ times the slope.
* Taylor series give the errors: forward difference $\tfrac{h}{2}f''(x) = O(h)$, central difference
  $\tfrac{h^2}{6}f'''(x) = O(h^2)$. Halving $h$ divides them by 2 and by 4, as we measured.
* Round-off adds about $\varepsilon|f|/h$. The total error is a V with its bottom near $h \sim \sqrt\varepsilon$ (forward)
  and $h \sim \sqrt[3]\varepsilon$ (central): about $10^{-8}$ and $10^{-5}$ in float64. Check gradients in float64,
  with central differences.
* The numerical gradient of $f:\mathbb{R}^n \to \mathbb{R}$ costs $2n$ evaluations: fine for checking, hopeless for
  training a network with a million parameters.
* Compare gradients with the relative error $|a-b| / \max(|a|,|b|,\text{tiny})$: below $10^{-7}$ great,
  $10^{-7}$ to $10^{-4}$ suspicious, $10^{-4}$ to $10^{-2}$ probably wrong, above $10^{-2}$ wrong.

**Next: notebook 02, the scalar chain rule.** We break a function into small operations whose derivatives
we know, and combine them with the chain rule: backpropagation, checked at every step against the
`numerical_gradient` you just wrote.
""")


if __name__ == "__main__":
    notebook.main(sys.argv[1:])
