"""Engine source and docstrings in a notebook, shown as Markdown so their formulas render.

``print(inspect.getsource(rules.Mul))`` shows the docstring's ``$z = x y$`` as raw LaTeX. ``show_source(obj)``
shows the same source as Markdown: a heading naming the object and its file, the docstring as text (JupyterLab
renders its ``$...$``), then the code without the docstring, highlighted. ``show_doc(obj)`` shows a docstring
alone (a module's rule table, a Function's formula). Outside a notebook, or printed, both are the plain text
that ``print`` used to show.
"""
from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path


def _qualname(obj) -> str:
    module = getattr(obj, "__module__", None) or getattr(obj, "__name__", "")
    name = getattr(obj, "__qualname__", None)
    return f"{module}.{name}" if name and module else module or repr(obj)


def _strip_docstring(source: str) -> str:
    """``source`` (one def or class) without the docstring of that def or class."""
    try:
        tree = ast.parse(source)
    except SyntaxError:   # not a whole statement (e.g. a lambda's line): show it as it is
        return source
    if not tree.body or not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return source
    body = tree.body[0].body
    if not (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        return source
    lines = source.splitlines(keepends=True)
    first, last = body[0].lineno - 1, body[0].end_lineno
    if len(body) == 1:   # nothing but a docstring: keep the def valid
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        return "".join(lines[:first] + [f"{indent}...\n"] + lines[last:])
    rest = lines[last:]
    while rest and not rest[0].strip():   # the blank line that followed the docstring
        rest = rest[1:]
    return "".join(lines[:first] + rest)


class Source:
    """What ``show_source`` returns: Markdown in Jupyter, the plain source when printed."""

    def __init__(self, obj):
        self.obj = obj
        self.code = textwrap.dedent(inspect.getsource(obj))
        self.doc = inspect.getdoc(obj) or ""
        try:
            path = Path(inspect.getsourcefile(obj) or "")
            line = inspect.getsourcelines(obj)[1]
            package = Path(__file__).resolve().parent
            where = (f"backprop_lab/{path.resolve().relative_to(package).as_posix()}"
                     if path.resolve().is_relative_to(package) else path.name)
            self.where = f"`{where}`, line {line}"
        except (OSError, TypeError, ValueError):
            self.where = ""

    def __str__(self):
        return self.code.rstrip("\n")

    __repr__ = __str__

    def _repr_markdown_(self):
        head = f"**`{_qualname(self.obj)}`**" + (f" — {self.where}" if self.where else "")
        doc = f"\n\n{self.doc}" if self.doc else ""
        code = _strip_docstring(self.code) if self.doc else self.code
        return f"{head}{doc}\n\n```python\n{code.rstrip()}\n```\n"


class Doc:
    """What ``show_doc`` returns: a docstring as Markdown in Jupyter, plain text when printed."""

    def __init__(self, obj, start: str | None = None):
        doc = inspect.getdoc(obj) or ""
        if start is not None:
            if start not in doc:
                raise ValueError(f"show_doc: {start!r} does not occur in the docstring of {_qualname(obj)}")
            doc = doc[doc.index(start):]
        self.obj, self.doc = obj, doc

    def __str__(self):
        return self.doc

    __repr__ = __str__

    def _repr_markdown_(self):
        return self.doc + "\n"


def show_source(obj) -> Source:
    """The source of ``obj`` (a function, class or method) as Markdown: its docstring rendered, its code highlighted."""
    return Source(obj)


def show_doc(obj, start: str | None = None) -> Doc:
    """The docstring of ``obj`` as Markdown (formulas and tables rendered); ``start``: begin at this text."""
    return Doc(obj, start)
