"""``escrowlab demo --escrow MODE``: the narrated demo (issue 3, "The demo").

The mode's story comes from the module :data:`escrowlab.demo.DEMO_MODES` names;
see :mod:`escrowlab.demo` for the contract a mode module implements.
"""

from __future__ import annotations

import argparse
import json

from escrowlab.arguments import int_in_range
from escrowlab.cli import CommandError
from escrowlab.demo import DEFAULT_MESSAGES, DEMO_MODES, Narrator, installed_modes, load_mode

MAX_MESSAGES = 10_000


def register(subparsers: argparse._SubParsersAction) -> None:
    installed = installed_modes()
    lines = []
    for name in DEMO_MODES:
        if name in installed:
            module = load_mode(name)
            lines.append(f"  {name:<10} {getattr(module, 'DESCRIPTION', '')}")
        else:
            lines.append(f"  {name:<10} (not installed in this build)")
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
    mode_options: dict[str, tuple[set[str], dict]] = {}
    for name in installed:
        module = load_mode(name)
        if hasattr(module, "add_arguments"):
            before = {action.dest for action in parser._actions}
            module.add_arguments(parser)
            added = {action.dest: action.default for action in parser._actions
                     if action.dest not in before}
            modes = {name, *getattr(module, "OPTIONS_ALSO_FOR", ())}
            mode_options.update({dest: (modes, default) for dest, default in added.items()})
    parser.set_defaults(func=run, mode_options=mode_options)


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
