"""The ``--neuralhash-model`` and ``--neuralhash-seed`` options of the commands that can add
Apple's NeuralHash to their hashers (docs/css_hashing.md, "NeuralHash").

NeuralHash is never a default: the lab ships neither file, so a command adds it only when the
user names both; one without the other, or files :func:`escrow.css.neuralhash.load` refuses,
is a :class:`~escrowlab.cli.CommandError` that says what is needed.
"""

from __future__ import annotations

import argparse

from escrow.css.neuralhash import INSTALL_HINT, NeuralHasher, NeuralHashError, load
from escrowlab.cli import CommandError


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add the two options to ``parser`` (both default to None)."""
    group = parser.add_argument_group(
        "NeuralHash (optional; the lab ships neither file)",
        f"Add Apple's NeuralHash from files you obtain yourself; needs {INSTALL_HINT}.")
    group.add_argument("--neuralhash-model", metavar="FILE", default=None,
                       help="NeuralHash's network converted to ONNX (model.onnx)")
    group.add_argument("--neuralhash-seed", metavar="FILE", default=None,
                       help="NeuralHash's projection matrix (neuralhash_128x96_seed1.dat)")


def hasher_from(args: argparse.Namespace) -> NeuralHasher | None:
    """The NeuralHash hasher the options name, None if neither is given;
    :class:`CommandError` if only one is, or if the files are refused."""
    model, seed = args.neuralhash_model, args.neuralhash_seed
    if model is None and seed is None:
        return None
    if model is None or seed is None:
        missing = "--neuralhash-model" if model is None else "--neuralhash-seed"
        raise CommandError(f"NeuralHash needs both --neuralhash-model FILE and "
                           f"--neuralhash-seed FILE; {missing} is missing")
    try:
        return load(model, seed)
    except NeuralHashError as exc:
        raise CommandError(str(exc)) from None
