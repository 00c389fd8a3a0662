"""``--tests DIR``: the instructor's own private tests, as extra ``Exercise`` classes.

Every ``*.py`` file in DIR is loaded (in the grader and, from its source, in the worker). Each
``Exercise`` subclass defined there with an ``id``:

* adds its ``cases(rng)`` to the exercise with that id when the course already has one (subclass the
  course's class to reuse its ``run``/``expected``/``compare``, or override them); the cases join the
  exercise's own, so the exercise's points are shared over all of them;
* or defines a new exercise when no course exercise has that id (a notebook's cell then needs
  ``backprop_lab: {id: ...}`` metadata; ``points`` and ``target`` come from the class).

As with every check, ``run`` is executed in the worker, ``expected`` and ``compare`` only in the grader,
so a private test's expected answers never reach a submission. Its source is shown to nobody.

Example, ``DIR/tests_01.py``::

    from backprop_lab.exercises.nb01 import CentralDifference

    class CentralDifferenceLargeX(CentralDifference):
        def cases(self, rng):
            return [{"f": "cube", "x": float(x), "h": 1e-4} for x in rng.uniform(50, 100, size=3)]
"""
from __future__ import annotations

import os
import sys
import types


def read_dir(path: str | None) -> list[dict]:
    """The sources of DIR's ``*.py`` files, sorted by name: ``[{"name", "source"}]``."""
    if not path:
        return []
    if not os.path.isdir(path):
        raise FileNotFoundError(f"--tests {path}: no such folder")
    out = []
    for name in sorted(os.listdir(path)):
        if name.endswith(".py") and not name.startswith("_"):
            with open(os.path.join(path, name), encoding="utf-8") as f:
                out.append({"name": name[:-3], "source": f.read()})
    return out


def load_sources(sources: list[dict]) -> dict:
    """Execute the sources as modules; return ``{key: exercise instance}`` for every Exercise class.

    Classes whose id the course does not have are registered as new exercises.
    """
    from backprop_lab.exercises import _core

    found = {}
    for src in sources:
        modname = f"backprop_lab_private_tests.{src['name']}"
        module = types.ModuleType(modname)
        module.__file__ = f"<private tests {src['name']}.py>"
        sys.modules[modname] = module
        exec(compile(src["source"], module.__file__, "exec"), module.__dict__)
        for attr, value in list(module.__dict__.items()):
            if (isinstance(value, type) and issubclass(value, _core.Exercise) and value.__module__ == modname
                    and getattr(value, "id", "")):
                found[f"{src['name']}:{attr}"] = value
    instances = {}
    for key, cls in found.items():
        try:
            known = _core.get(cls.id)
        except KeyError:
            known = None
        if known is not None and type(known).__module__.startswith("backprop_lab_private_tests."):
            _core.REGISTRY[cls.id] = cls()      # loaded again (a second grading run): replace it
            continue
        if known is None:
            _core.register(cls)
        elif type(known) is cls:
            continue                    # the file registered it itself with @register
        instances[key] = cls() if known is not None else None
    return {k: v for k, v in instances.items() if v is not None}


def extra_cases_for(instances: dict, exercise_id: str) -> list[tuple[str, object]]:
    """The private classes that add cases to ``exercise_id``: ``[(key, instance)]``."""
    return [(k, ex) for k, ex in sorted(instances.items()) if ex.id == exercise_id]
