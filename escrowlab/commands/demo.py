"""``escrowlab demo --escrow MODE``: the narrated demo (docs/architecture.md, "The mode
registry and the lawful-access workflow").

The ``--escrow`` choices (:data:`escrowlab.demo.DEMO_MODES`, one per registered mode), their
descriptions and every mode's options (name, default, range, help) come from the mode
registry, :data:`escrow.modes.MODES`; the mode's story from its module, which may add
options of its own (see :mod:`escrowlab.demo` for the contract a mode module implements).
"""

from __future__ import annotations

import argparse
import json

from escrow.modes import MODES, parameters
from escrowlab.arguments import int_in_range
from escrowlab.cli import CommandError
from escrowlab.demo import DEFAULT_MESSAGES, DEMO_MODES, Narrator, installed_modes, load_mode

MAX_MESSAGES = 10_000


def register(subparsers: argparse._SubParsersAction) -> None:
    installed = installed_modes()
    missing = "(not installed in this build)"
    lines = [f"  {name:<10} {MODES[name].description if name in MODES else ''}"
             if name in installed else f"  {name:<10} {missing}" for name in DEMO_MODES]
    parser = subparsers.add_parser(
        "demo", help="narrated demo: Alice, Bob (two devices) and Carol through the relay",
        description=("Create Alice, Bob (two devices) and Carol, run a 1:1 chat and a group "
                     "chat through the relay, and narrate what each device sends, what the "
                     "relay archives and what the archive reveals.\n\nescrow modes:\n"
                     + "\n".join(lines)),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--escrow", default="none", choices=sorted(DEMO_MODES), metavar="MODE",
                        help=f"escrow mode: {', '.join(DEMO_MODES)} (default none)")
    parser.add_argument("--messages", type=int_in_range(1, MAX_MESSAGES),
                        default=DEFAULT_MESSAGES, metavar="N",
                        help=f"messages per chat, 1..{MAX_MESSAGES} (default {DEFAULT_MESSAGES})")
    parser.add_argument("--http", action="store_true",
                        help="run a real HTTP relay on 127.0.0.1 instead of the in-process one")
    parser.add_argument("--json", action="store_true", help="print one JSON summary")
    mode_options = add_mode_options(parser)
    for name in installed:
        module = load_mode(name)
        if hasattr(module, "add_arguments"):
            before = {action.dest for action in parser._actions}
            module.add_arguments(parser)
            added = {action.dest: action.default for action in parser._actions
                     if action.dest not in before}
            mode_options.update({dest: ({name}, default) for dest, default in added.items()})
    parser.set_defaults(func=run, mode_options=mode_options)


def add_mode_options(parser: argparse.ArgumentParser) -> dict[str, tuple[set[str], object]]:
    """One option per registry parameter, range-checked as the registry states; the modes
    each applies to, and its default."""
    group = parser.add_argument_group("escrow mode options")
    mode_options: dict[str, tuple[set[str], object]] = {}
    for name, (parameter, modes) in parameters().items():
        if parameter.choices:
            kind = {"type": int, "choices": parameter.choices}
        else:
            kind = {"type": int_in_range(parameter.low, parameter.high)}
        group.add_argument(parameter.option, dest=name, default=parameter.default,
                           metavar=name.upper(), **kind,
                           help=f"{' and '.join(modes)}: {parameter.help}, "
                                f"{parameter.allowed()} (default {parameter.default})")
        mode_options[name] = (set(modes), parameter.default)
    return mode_options


def run(args: argparse.Namespace) -> int:
    for dest, (modes, default) in getattr(args, "mode_options", {}).items():
        if args.escrow not in modes and getattr(args, dest) != default:
            option = "--" + dest.replace("_", "-")
            raise CommandError(f"{option} applies to --escrow {' or '.join(sorted(modes))}, "
                               f"not {args.escrow}")
    try:
        module = load_mode(args.escrow)
    except KeyError:
        raise CommandError(f"the demo of escrow mode {args.escrow!r} is not installed "
                           f"(installed: {', '.join(installed_modes())})") from None
    summary = module.run(args, Narrator(enabled=not args.json))
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    return 0
