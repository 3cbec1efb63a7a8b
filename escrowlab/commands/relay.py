"""``escrowlab relay``: run the relay (the provider) and read its archive.

- ``escrowlab relay serve [--db URL] [--init] [--host 127.0.0.1] [--port N]``
  serves the relay's HTTP API with waitress, a production WSGI server.
  ``--port 0`` picks a free port; the first line on stdout says where it
  listens (JSON with ``--json``), so scripts and tests can start it as a
  subprocess. It creates the relay's schema only in a new database (a SQLite
  file that does not exist yet) or, with ``--init``, in an existing empty one;
  any other database without the schema is refused and left unchanged.
- ``escrowlab relay archive --db URL [--conversation ID] [--json]`` prints what
  the provider holds: every archived envelope's metadata (what a lawful-access
  order would be served on). It opens the database read-only and refuses one
  that is missing or not a relay database (it never creates or writes one).

See docs/relay.md for the API, its errors and the storage rules.
"""

from __future__ import annotations

import argparse
import json
import sys

from escrowlab.cli import CommandError

DEFAULT_DB = "sqlite:///relay.sqlite"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8470
DEFAULT_THREADS = 16


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "relay", help="run the relay (the untrusted provider) or read its archive",
        description="Run the relay over HTTP, or print the metadata of its archive.")
    sub = parser.add_subparsers(dest="relay_command", metavar="ACTION", required=True)

    serve = sub.add_parser(
        "serve", help="serve the relay's HTTP API with waitress",
        description="Serve the relay's HTTP API (signed requests, see messaging.relay.api).")
    serve.add_argument("--db", default=DEFAULT_DB, metavar="URL",
                       help=f"SQLAlchemy database URL (default {DEFAULT_DB}). A SQLite file "
                            "that does not exist is created with the relay's schema; an "
                            "existing database must hold that schema (see --init)")
    serve.add_argument("--init", action="store_true",
                       help="create the relay's schema in an existing EMPTY database (a "
                            "0-byte SQLite file, a server database without tables). A "
                            "database holding anything else (an audit log, another "
                            "program's tables, a file that is not SQLite) is always refused "
                            "and left unchanged")
    serve.add_argument("--host", default=DEFAULT_HOST,
                       help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT,
                       help=f"TCP port, 0 for any free port (default {DEFAULT_PORT})")
    serve.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                       help=f"waitress worker threads (default {DEFAULT_THREADS}); a "
                            "long-polling client holds one while it waits")
    serve.add_argument("--sqlite-synchronous", default="FULL", choices=("FULL", "NORMAL"),
                       help="SQLite durability of an acknowledged request. FULL (default): "
                            "fsync before every answer, survives a killed relay, an OS crash "
                            "and power loss. NORMAL (opt-in, one fsync less per request): "
                            "survives a killed relay, but an OS crash or power loss may roll "
                            "back the last acknowledged requests. Ignored for other databases")
    serve.add_argument("--json", action="store_true",
                       help="print the listening address as one JSON line")
    serve.set_defaults(func=serve_command)

    archive = sub.add_parser(
        "archive", help="print the metadata of every archived envelope",
        description="Print what the provider's archive holds (no plaintext: it has none).")
    archive.add_argument("--db", default=DEFAULT_DB, metavar="URL",
                         help=f"SQLAlchemy database URL (default {DEFAULT_DB}), opened "
                              "read-only; it must be an existing relay database")
    archive.add_argument("--conversation", metavar="ID", help="only this conversation")
    archive.add_argument("--json", action="store_true", help="print one JSON object")
    archive.set_defaults(func=archive_command)


def serve_command(args: argparse.Namespace) -> int:
    from messaging.relay import RelayService
    from messaging.relay.errors import RelayDatabaseError
    from messaging.relay.server import make_server

    if not 0 <= args.port <= 65535:
        raise CommandError("--port is 0..65535")
    if args.threads < 1:
        raise CommandError("--threads is at least 1")
    try:
        service = RelayService(args.db, sqlite_synchronous=args.sqlite_synchronous,
                               init=args.init)
    except RelayDatabaseError as exc:
        raise CommandError(f"refusing the relay database: {exc}") from exc
    try:
        server = make_server(service, host=args.host, port=args.port, threads=args.threads)
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc}") from exc
    url = f"http://{args.host}:{server.effective_port}"
    if args.json:
        print(json.dumps({"url": url, "db": args.db, "threads": args.threads}), flush=True)
    else:
        print(f"relay listening on {url} (database {args.db}, {args.threads} threads)",
              flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        print("relay stopped", file=sys.stderr)
    finally:
        server.close()
        service.close()
    return 0


def archive_command(args: argparse.Namespace) -> int:
    from messaging.relay import RelayArchive
    from messaging.relay.errors import RelayDatabaseError

    try:
        archive = RelayArchive.open(args.db)
    except RelayDatabaseError as exc:
        raise CommandError(f"refusing the relay database: {exc}") from exc
    entries = archive.entries(conversation_id=args.conversation)
    rows = [{"id": e.id, "received_at": e.received_at, "sender": e.sender,
             "recipient": e.recipient, "conversation_id": e.conversation_id,
             "envelope_bytes": len(e.envelope), "record_bytes": len(e.record)}
            for e in entries]
    if args.json:
        print(json.dumps({"entries": rows}, indent=2))
        return 0
    print(f"{len(rows)} archived envelopes")
    for r in rows:
        print(f"  #{r['id']:<5} t={r['received_at']:.3f} {r['conversation_id']:<28} "
              f"{r['sender']} -> {r['recipient']}  {r['envelope_bytes']} B, "
              f"record {r['record_bytes']} B")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``escrowlab relay ...`` without loading the other commands (used to start the relay
    as a subprocess: ``python -m escrowlab.commands.relay serve ...``)."""
    parser = argparse.ArgumentParser(prog="escrowlab")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["relay", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        print(f"escrowlab: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
