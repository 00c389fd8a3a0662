"""The README's Binder badge, derived from the one place that names the repository: pyproject.toml.

pyproject.toml's ``[project.urls] Repository`` (a GitHub URL) is the only place the project names its
repository; the badge's link is made from it. A fork changes that one line, then runs

    python scripts/binder_badge.py --write      # rewrite the badge in README.md

``python scripts/binder_badge.py`` (no option) prints the badge and exits 1 if README.md's differs;
tests/test_binder.py runs the same comparison.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BRANCH = "main"
FIRST_NOTEBOOK = "course/00_start_here.ipynb"
BADGE_LINE = re.compile(r"^\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]\([^)]*\)$", re.MULTILINE)


def repository_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    urls = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"].get("urls", {})
    if "Repository" not in urls:
        raise SystemExit(f"{pyproject}: [project.urls] has no Repository = \"https://github.com/OWNER/NAME\"")
    return urls["Repository"]


def badge(repository: str, branch: str = BRANCH) -> str:
    """The Markdown badge that opens the course's first notebook on mybinder.org."""
    m = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", repository)
    if not m:
        raise ValueError(f"Repository URL {repository!r} is not https://github.com/OWNER/NAME: "
                         "mybinder.org's gh/ links need a GitHub repository")
    owner, name = m.groups()
    return (f"[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/{owner}/{name}/{branch}"
            f"?urlpath=lab/tree/{FIRST_NOTEBOOK})")


def readme_badge(readme: Path = ROOT / "README.md") -> str | None:
    m = BADGE_LINE.search(readme.read_text(encoding="utf-8"))
    return m.group(0) if m else None


def write(readme: Path, new: str) -> bool:
    """Put ``new`` in place of README's badge line; True if the file changed."""
    text = readme.read_text(encoding="utf-8")
    if not BADGE_LINE.search(text):
        raise SystemExit(f"{readme}: no Binder badge line ([![Binder](https://mybinder.org/badge_logo.svg)](...)) "
                         "to rewrite")
    updated = BADGE_LINE.sub(lambda _: new, text, count=1)
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
    return updated != text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md's badge from pyproject.toml")
    args = parser.parse_args(argv)
    expected = badge(repository_url())
    if args.write:
        print(("rewrote" if write(ROOT / "README.md", expected) else "already up to date:"), expected)
        return 0
    current = readme_badge()
    print(expected)
    if current != expected:
        print(f"README.md has {current!r}; run: python scripts/binder_badge.py --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
