"""The ``backprop-lab`` command line: one subcommand per module.

Each subcommand lives in the module named in ``COMMANDS``; that module defines
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only
when their subcommand runs, so ``backprop-lab --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "start": ("backprop_lab.launch", "copy the student notebooks into a folder and open JupyterLab there"),
    "doctor": ("backprop_lab.diagnosis", "check that everything the course needs is installed and working"),
    "progress": ("backprop_lab.exercises.progress", "print a table of the exercises you have done"),
    "build": ("backprop_lab.build", "rebuild everything made from the instructor notebooks: sync, generate, release, execute"),
    "grade": ("backprop_lab.grading", "grade a folder of student submissions"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (to add its arguments)."""
    parser = argparse.ArgumentParser(prog="backprop-lab", description="The backprop-lab course tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(importlib.import_module(COMMANDS[args.command][0]).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
