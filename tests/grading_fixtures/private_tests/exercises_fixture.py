"""Test-only exercises for the grader's tests (notebook 90): loaded with ``--tests``.

Three small exercises of the three kinds the course has: a function on arrays, a backward rule
returning a tuple, and a value.
"""
import numpy as np

from backprop_lab.exercises import Exercise


class Square(Exercise):
    id, points, target = "90.1", 2, "square"
    title = "x squared, elementwise"

    def cases(self, rng):
        fixed = [{"x": np.array([1.0, 2.0, 3.0])}]
        return fixed + [{"x": rng.normal(size=int(rng.integers(2, 6)))} for _ in range(3)]

    def run(self, obj, case):
        return np.asarray(obj(case["x"].copy()), dtype=float)

    def expected(self, case):
        return case["x"] ** 2


class MulBackward(Exercise):
    id, points, target = "90.2", 3, "mul_backward"
    title = "gradients of out = a * b"

    def cases(self, rng):
        shape = (int(rng.integers(2, 4)), int(rng.integers(2, 4)))
        return [{"a": rng.normal(size=shape), "b": rng.normal(size=shape), "g": rng.normal(size=shape)}
                for _ in range(3)]

    def run(self, obj, case):
        ga, gb = obj(case["a"], case["b"], case["g"])
        return (np.asarray(ga, dtype=float), np.asarray(gb, dtype=float))

    def expected(self, case):
        return (case["g"] * case["b"], case["g"] * case["a"])


class StepSize(Exercise):
    id, points, target = "90.3", 1, "step_size"
    title = "a step size between 0.01 and 0.5"

    def cases(self, rng):
        return [{}]

    def run(self, obj, case):
        return float(obj)

    def expected(self, case):
        return 0.1

    def compare(self, got, want, case):
        from backprop_lab.exercises import Mismatch

        return None if 0.01 <= got <= 0.5 else Mismatch(f"step_size = {got}: outside [0.01, 0.5]",
                                                        "Too large a step diverges; too small never arrives.")
