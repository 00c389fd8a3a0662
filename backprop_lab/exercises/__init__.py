"""Exercise checks with hints: ``check("NN.K", obj)``, and ``use("NN.K", mine)``.

What each exercise is (id, points, task, the learner's name for it) is read from the exercise cells'
metadata (``catalog``). The framework is ``framework``: ``check``, ``use``, the ``Exercise`` base class,
and the one judging path (``run_case``, then ``judge``) that ``check`` and the grader share. The diagnosis
of wrong answers is in ``hints``, the HTML/text display in ``render`` and the progress file in
``progress``. Each notebook's check classes are in ``nbNN``; checks a course author wrote inside a
notebook are generated into ``hidden``; the reference solutions into ``backprop_lab.references``.
"""
from .framework import (CheckFailed, CheckResult, Exercise, Mismatch, all_exercises, carried, check, get,
                        register, show_source_after, use)

__all__ = ["check", "use", "carried", "show_source_after", "get", "register", "all_exercises", "Exercise", "Mismatch", "CheckResult", "CheckFailed"]
