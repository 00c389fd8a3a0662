"""The name of the mistake a hint diagnoses: a stable key for the class report (``class_report``).

Every hint a check gives is a named template of the check's module: a constant such as
``hints.TRANSPOSE`` or an entry of a table such as ``nb00.MSE_HINTS["rmse"]``, sometimes filled in
with the case's shapes or ratios. ``key_of(hint, modules)`` finds the template the hint was made from
and returns its name (``hints.TRANSPOSE``, ``nb00.MSE_HINTS[rmse]``), the same for every student
whatever the template was filled in with, and a label: the template with its blanks shown as ``…``. A hint written inline (no name in its module) gets ``unnamed:`` and a digest of its text: stable
too, as long as the text is.

The grader records both beside the hint (``detail["mistake"]`` and ``detail["mistake_label"]`` of an
exercise's result), in its own process, where the checks' modules are loaded.
"""
from __future__ import annotations

import hashlib
import string
import sys
from types import ModuleType

MIN_LITERAL = 20        # a template with less fixed text than this names nothing (an id, a format string)


def _templates(module: ModuleType) -> list[tuple[str, str]]:
    """``(name, template)`` of every upper-case str constant, and every entry of an upper-case table of
    str, in ``module`` and in its classes (``Train.HINTS``)."""
    short = module.__name__.rsplit(".", 1)[-1]
    found: list[tuple[str, str]] = []

    def scan(prefix: str, names: dict) -> None:
        for name, value in names.items():
            if not name.isupper():
                continue
            if isinstance(value, str):
                found.append((f"{prefix}{name}", value))
            elif isinstance(value, dict):
                found.extend((f"{prefix}{name}[{k}]", v) for k, v in value.items() if isinstance(v, str))

    scan(f"{short}.", vars(module))
    for cls in vars(module).values():
        if isinstance(cls, type) and cls.__module__ == module.__name__:
            scan(f"{short}.{cls.__name__}.", vars(cls))
    return found


class _Pattern:
    """A template as the fixed texts between its blanks (``segments``: one more than there are blanks).

    A hint was made from the template when it starts with the first text and holds the others in order
    (``fullmatch``: ending with the last). Found by looking for each text's first occurrence after the
    previous one: linear in the hint's length, whatever text a submission put in the blanks (a regular
    expression with a lazy group per blank backtracks in polynomial time of degree the number of blanks, and
    a blank can hold megabytes of a forged answer), and it finds a match exactly when there is one: the
    earliest occurrence of each text leaves the most room for the next."""

    def __init__(self, key: str, template: str):
        self.key, self.template = key, template
        try:
            parts = list(string.Formatter().parse(template))
        except ValueError:      # not a format string: the text itself
            parts = [(template, None, None, None)]
        self.literal = sum(len(text) for text, *_ in parts)
        self.segments, text_so_far = [], ""
        for text, field, *_ in parts:
            text_so_far += text
            if field is not None:
                self.segments.append(text_so_far)
                text_so_far = ""
        self.segments.append(text_so_far)
        self.label = "".join(text + ("…" if field is not None else "") for text, field, *_ in parts)

    def _after_middle(self, hint: str, middle: list[str]) -> int:
        """Where the hint goes on after the first text and ``middle`` found in order (-1 if they are not there)."""
        if not hint.startswith(self.segments[0]):
            return -1
        pos = len(self.segments[0])
        for text in middle:
            at = hint.find(text, pos)
            if at < 0:
                return -1
            pos = at + len(text)
        return pos

    def fullmatch(self, hint: str) -> bool:
        if len(self.segments) == 1:
            return hint == self.segments[0]
        pos = self._after_middle(hint, self.segments[1:-1])
        return pos >= 0 and hint.endswith(self.segments[-1]) and len(hint) - len(self.segments[-1]) >= pos

    def match(self, hint: str) -> bool:
        """The hint starts with the template (and may say more after it)."""
        return self._after_middle(hint, self.segments[1:]) >= 0


_CACHE: dict[tuple[str, int], list[_Pattern]] = {}


def _patterns(module: ModuleType) -> list[_Pattern]:
    key = (module.__name__, id(module))
    if key not in _CACHE:
        _CACHE[key] = [_Pattern(k, t) for k, t in _templates(module)]
    return _CACHE[key]


def _modules(extra) -> list[ModuleType]:
    from backprop_lab.exercises import hints

    mods = [hints]
    for m in extra:
        m = sys.modules.get(m) if isinstance(m, str) else m
        if isinstance(m, ModuleType) and m not in mods:
            mods.append(m)
    return mods


def identify(hint: str, modules=()) -> tuple[str, str]:
    """``(key, label)`` of the template ``hint`` was made from, looked up in ``backprop_lab.exercises.hints``
    and in ``modules`` (the check's own: module objects or names); ``("", "")`` for no hint."""
    if not hint:
        return "", ""
    best: _Pattern | None = None
    for mod in _modules(modules):
        for p in _patterns(mod):
            if p.literal < MIN_LITERAL or (best is not None and p.literal <= best.literal):
                continue
            if p.template == hint or p.fullmatch(hint):
                best = p
    if best is None:        # a template with more said after it
        for mod in _modules(modules):
            for p in _patterns(mod):
                if p.literal >= MIN_LITERAL and (best is None or p.literal > best.literal) and p.match(hint):
                    best = p
    if best is not None:
        return best.key, best.label
    return "unnamed:" + hashlib.sha256(hint.encode()).hexdigest()[:10], hint
