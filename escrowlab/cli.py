"""The ``escrowlab`` console script.

Each sub-command lives in its own module under ``escrowlab.commands`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to the handler;
every module of that package is a command, so a new command is one new file.
A handler returns the process exit code. Benchmarks live under
``escrowlab.benchmarks`` and register themselves under ``escrowlab bench``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from escrowlab import __version__


def command_modules() -> list[str]:
    """Every module of ``escrowlab.commands``, by name (each registers one sub-command)."""
    package = importlib.import_module("escrowlab.commands")
    names = (info.name for info in pkgutil.iter_modules(package.__path__))
    return sorted(f"{package.__name__}.{name}" for name in names if not name.startswith("_"))


class CommandError(Exception):
    """A user-facing failure: printed as ``escrowlab: <message>`` with exit code 2."""


MAX_INPUT_FILE = 8 << 20
"""The most a command reads of a file it is given (a warrant, a registry, a request)."""


def read_input(path: str | os.PathLike[str], what: str, limit: int = MAX_INPUT_FILE) -> bytes:
    """The bytes of the file at ``path``, ``what`` it is meant to be; a file that cannot be
    read or is longer than ``limit`` bytes is a :class:`CommandError` naming it."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise CommandError(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(data) > limit:
        raise CommandError(f"{path} is too long to be {what}")
    return data


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="escrowlab",
        description=(
            "A laboratory for lawful-access (key-escrow) proposals on a real "
            "Signal-style end-to-end-encrypted messenger."
        ),
    )
    parser.add_argument("--version", action="version", version=f"escrowlab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_modules():
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        print(f"escrowlab: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("escrowlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``escrowlab demo | head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
