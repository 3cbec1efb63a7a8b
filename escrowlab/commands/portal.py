"""``escrowlab portal``: the warrant portal with a demo world, served by waitress on
loopback (docs/portal.md, "Running it").

``escrowlab portal [--host 127.0.0.1] [--port N] [--db URL] [--dir DIR] [--messages N]
[--json]`` runs the demo's chats under ``threshold`` escrow into an in-process relay,
starts five in-process custodians (t = 3), an audit log with three witnesses (quorum 2),
writes each judge's and each custodian operator's private key to a file in
``DIR/holders`` for their browser (the portal itself never holds them), seeds the demo
accounts and prints them once, with their passwords and TOTP keys, then serves the portal
until interrupted. ``--port 0`` picks a free port; the first line (one JSON object
with ``--json``) says where it listens.

``escrowlab portal --deployment DIR --custodians URL[,URL...] [--log-url URL]`` serves the
portal over a deployment's own services instead (``escrowlab deployment init``, each
service started as ``escrowlab deployment commands`` prints): the custodian nodes at those
URLs, each checked first to be a node of the deployment's custodian set with the operator
key the deployment registered (at least the threshold of them), the log served at
``--log-url`` (default the manifest's), which it appends to as its appender ``portal``, and
the relay database of the deployment, read-only. ``--dir`` then holds only the portal's
database. A node or log that is not the deployment's, or cannot be reached, is refused
(exit 2) before anything is served.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from waitress.server import create_server

from escrowlab.arguments import int_in_range
from escrowlab.cli import CommandError

if TYPE_CHECKING:
    from escrowlab.portal.world import PortalWorld

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8480
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "portal", help="serve the warrant portal (officers, judges, custodian operators, "
                       "auditors, admins) over a demo world",
        description=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int_in_range(0, 65535), default=DEFAULT_PORT,
                        help=f"port, 0 for a free one (default {DEFAULT_PORT})")
    parser.add_argument("--db", metavar="URL", default=None,
                        help="the portal's SQLAlchemy database URL (default a SQLite file "
                             "in --dir); postgresql+psycopg://... for PostgreSQL")
    parser.add_argument("--dir", type=Path, default=None,
                        help="folder for the log, witnesses, judges' key files and the "
                             "database (default a new temporary folder)")
    parser.add_argument("--messages", type=int_in_range(3, 200), default=None,
                        help="messages per demo chat, 3..200 (default 6; the built-in world "
                             "only)")
    parser.add_argument("--deployment", type=Path, metavar="DIR", default=None,
                        help="a deployment's folder (escrowlab deployment init), with "
                             "--custodians")
    parser.add_argument("--custodians", metavar="URL[,URL...]", default=None,
                        help="the deployment's running custodian nodes, comma-separated")
    parser.add_argument("--log-url", metavar="URL", default=None,
                        help="the deployment's served log (default: the manifest's)")
    parser.add_argument("--threads", type=int_in_range(1, 64), default=16,
                        help="waitress worker threads, 1..64 (default 16)")
    parser.add_argument("--json", action="store_true",
                        help="print the address and the accounts as one JSON line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.host not in LOOPBACK:
        raise CommandError("the demo portal listens on loopback only (127.0.0.1)")
    directory = args.dir or Path(tempfile.mkdtemp(prefix="escrowlab-portal-"))
    world = _world(args, directory)
    try:
        server = create_server(world.app, host=args.host, port=args.port,
                               threads=args.threads)
    except OSError as exc:
        world.close()
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc}") from None
    url = f"http://{args.host}:{server.effective_port}"
    accounts = [{"name": name, "email": a.email, "roles": list(a.roles),
                 "password": a.password, "totp": a.totp, "custodian": a.custodian_id}
                for name, a in world.accounts.items()]
    if args.json:
        print(json.dumps({"url": url, "dir": str(directory), "conversation_id":
                          world.conversation_id, "window": list(world.archive_times),
                          "judge_key_files": {k: str(v) for k, v in
                                              world.judge_key_files.items()},
                          "operator_key_files": {k: str(v) for k, v in
                                                 world.operator_key_files.items()},
                          "accounts": accounts}), flush=True)
    else:
        _show(url, directory, world, accounts)
    try:
        server.run()
    except KeyboardInterrupt:
        print("portal stopped", file=sys.stderr)
    finally:
        server.close()
        world.close()
    return 0


def _world(args: argparse.Namespace, directory: Path) -> PortalWorld:
    """The built-in world, or the portal over a deployment's running services."""
    external = (args.deployment, args.custodians, args.log_url)
    if not any(external):
        from escrowlab.portal.world import build

        return build(directory, messages=args.messages or 6, database_url=args.db)
    if args.deployment is None or args.custodians is None:
        raise CommandError("--deployment DIR and --custodians URL[,URL...] go together "
                           "(--log-url with them)")
    if args.messages is not None:
        raise CommandError("--messages applies to the built-in world; a deployment's chats "
                           "were written by escrowlab deployment init")
    from escrowlab.portal.deployment import DeploymentError
    from escrowlab.portal.external import build_external

    urls = [u.strip() for u in args.custodians.split(",") if u.strip()]
    try:
        return build_external(args.deployment, urls, directory, log_url=args.log_url,
                              database_url=args.db)
    except DeploymentError as exc:
        raise CommandError(str(exc)) from None


def _show(url, directory, world, accounts) -> None:
    print(f"portal listening on {url} (files in {directory})", flush=True)
    start, end = world.archive_times
    print(f"archived conversation {world.conversation_id}, receipt times {start:.0f} .. "
          f"{end:.0f} (UTC seconds)")
    print("demo accounts (shown once; the TOTP key goes into an authenticator app):")
    for a in accounts:
        extra = f" custodian {a['custodian']}" if a["custodian"] else ""
        totp = f" totp {a['totp']}" if a["totp"] else ""
        print(f"  {a['email']:<36} {','.join(a['roles']):<10} password {a['password']}"
              f"{totp}{extra}")
    for name, path in world.judge_key_files.items():
        print(f"  {name}'s signing key file (import it on the judge page): {path}")
    for name, path in world.operator_key_files.items():
        print(f"  {name}'s request-signing key file (import it on the release page): {path}")
    sys.stdout.flush()
