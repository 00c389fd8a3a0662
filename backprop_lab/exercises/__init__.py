"""Exercise checks with hints: ``check("NN.K", obj)``.

The framework is in ``_core`` (registry, ``check``, the mine/reference switch),
the diagnosis of wrong answers in ``hints``, the HTML/text display in ``render``
and the progress file in ``progress``. Each notebook's checks are in ``nbNN``.
"""
from ._core import CheckFailed, CheckResult, Exercise, Mismatch, all_exercises, check, get, register, use

__all__ = ["check", "use", "get", "register", "all_exercises", "Exercise", "Mismatch", "CheckResult", "CheckFailed"]
