"""``escrowlab deployment``: write a multi-process deployment of the warrant portal and list
the commands that start it (docs/portal.md, "Running it: one process per party").

``deployment init --dir DIR [--custodians N] [--threshold T] [--messages M] [--base-port P]
[--lab-kdf] [--json]`` writes, into a new (or empty) folder, everything the services need:
the custodians' ceremony keystores (``escrowlab escrow ceremony``; generated passphrases
written beside each keystore, as for a lab), the relay's database holding the demo's chats
escrowed under that ceremony's set, the audit log and its key, the witnesses' states and
keys, an appender key for each node (``custodian:Ki``) and for the portal, the judge
registry, the particularity policy, each judge's and each operator's key file in
``DIR/holders`` (0600), and ``DIR/manifest.json``, which names them all with the
conversation, its window and each service's loopback port (from P: the witnesses, the log,
the nodes, the portal). It then prints the commands to start each service, in order.
``--lab-kdf`` uses cheap Argon2id parameters (labs and tests only). An existing, non-empty
DIR is refused and left as it was; a failed run leaves nothing.

``deployment commands --dir DIR [--json]`` prints those commands again (``--json``: one
object with each service's name, argv and URL).
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from escrow.custodian_set import MAX_CUSTODIANS, MIN_THRESHOLD
from escrowlab.arguments import int_in_range
from escrowlab.cli import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "deployment", help="write a multi-process portal deployment and list its commands",
        description="A deployment of the warrant portal where every party (custodian nodes, "
                    "log, witnesses) runs as its own process.")
    sub = parser.add_subparsers(dest="deployment_command", metavar="ACTION", required=True)
    paragraphs = __doc__.split("\n\n")
    init = sub.add_parser("init", help="write a new deployment's files into a folder",
                          description=paragraphs[1])
    init.add_argument("--dir", type=Path, required=True, metavar="DIR",
                      help="new or empty folder to write the deployment into")
    init.add_argument("--custodians", type=int_in_range(MIN_THRESHOLD, MAX_CUSTODIANS),
                      default=5, metavar="N", help="custodian nodes (default 5)")
    init.add_argument("--threshold", type=int_in_range(MIN_THRESHOLD, MAX_CUSTODIANS),
                      default=3, metavar="T", help="nodes a recovery needs (default 3)")
    init.add_argument("--messages", type=int_in_range(3, 200), default=6, metavar="M",
                      help="messages per demo chat, 3..200 (default 6)")
    init.add_argument("--base-port", type=int_in_range(1024, 65535), default=8490,
                      metavar="P", help="first loopback port of the services (default 8490)")
    init.add_argument("--lab-kdf", action="store_true",
                      help="cheap Argon2id parameters for the keystores (t=1, 8 MiB; labs "
                           "and tests); default RFC 9106's t=3, 64 MiB")
    init.add_argument("--json", action="store_true",
                      help="print the manifest's path and the services as one JSON object")
    init.set_defaults(func=init_command)

    commands = sub.add_parser("commands", help="print the commands that start each service",
                              description=paragraphs[2])
    commands.add_argument("--dir", type=Path, required=True, metavar="DIR",
                          help="the deployment's folder")
    commands.add_argument("--json", action="store_true", help="print one JSON object")
    commands.set_defaults(func=commands_command)


def _emit(args: argparse.Namespace, manifest, head: list[str]) -> None:  # type: ignore[no-untyped-def]
    from escrowlab.portal.services import services

    listed = services(manifest)
    if args.json:
        print(json.dumps({"dir": str(manifest.directory),
                          "manifest": str(manifest.directory / "manifest.json"),
                          "conversation_id": manifest.conversation_id,
                          "window": list(manifest.window),
                          "services": [s.to_json() for s in listed]}))
        return
    print("\n".join(head))
    print("start each service in its own terminal, in this order "
          "(each prints where it listens):")
    for service in listed:
        print(f"  # {service.name} on {service.url}")
        print(f"  {shlex.join(service.argv)}")


def init_command(args: argparse.Namespace) -> int:
    from escrowlab.portal.deployment import DeploymentError, write_deployment

    if args.threshold > args.custodians:
        raise CommandError(f"--threshold {args.threshold} is above --custodians "
                           f"{args.custodians}")
    try:
        manifest = write_deployment(args.dir, custodians=args.custodians,
                                    threshold=args.threshold, messages=args.messages,
                                    base_port=args.base_port, lab_kdf=args.lab_kdf)
    except DeploymentError as exc:
        raise CommandError(str(exc)) from None
    start, end = manifest.window
    _emit(args, manifest, [
        f"deployment written to {manifest.directory} (manifest.json names every file)",
        f"  custodians {', '.join(n.id for n in manifest.nodes)}, any {manifest.threshold} "
        f"recover; keystore passphrases generated beside each keystore (a lab's)",
        f"  archived conversation {manifest.conversation_id}, receipt times {start:.0f} .. "
        f"{end:.0f}",
        f"  judges' and operators' key files in {manifest.directory / 'holders'}"])
    return 0


def commands_command(args: argparse.Namespace) -> int:
    from escrowlab.portal.deployment import DeploymentError, load

    try:
        manifest = load(args.dir)
    except DeploymentError as exc:
        raise CommandError(str(exc)) from None
    _emit(args, manifest, [f"deployment {manifest.directory}"])
    return 0
