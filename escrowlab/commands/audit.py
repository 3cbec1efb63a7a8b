"""``escrowlab audit``: create, append to, inspect, prove and verify an audit log; serve a witness.

- ``init --log PATH --origin ORIGIN --key-file FILE``: a new log and its Ed25519 key
  (C2SP signer key, written 0600); prints the verifier key auditors should pin.
- ``append --log PATH --key-file FILE --type T --actor A [--payload JSON]
  [--witness-url URL --witness-key VKEY ...] [--quorum T]``: append one event, sign a
  checkpoint (cosigned by HTTP witnesses, if given), print the receipt. The witnesses
  cosign the current tree first, so a quorum that cannot be had changes nothing; a log
  that records a quorum refuses an append without witnesses, and a damaged or
  rolled-back log refuses any append, before anything is written.
- ``show --log PATH [--start S] [--count C]``: origin, size, root, latest checkpoint and
  entries.
- ``prove --log PATH --index I`` (inclusion) or ``--old M`` (consistency), against the
  latest signed checkpoint.
- ``verify --log PATH [--checkpoint FILE] [--log-key VKEY] [--witness-key VKEY ...]
  [--quorum T]``: recompute and check everything (see ``audit.verifier``); exit 0 if
  all holds, 1 with a precise message if verification failed (a corrupt, tampered,
  rolled-back or foreign file included), writing a proof of misbehaviour on
  inconsistency, and 2 for a usage error.
- ``appender --name ACTOR --key-file FILE --registry FILE``: a new appender key (a C2SP
  Ed25519 signer key named after the actor it appends as, written 0600), its verifier key
  added to the appender registry file (created if missing).
- ``serve --log PATH --key-file FILE --appenders FILE [--witness-url URL --witness-key VKEY
  ...] [--quorum T]``: serve the log over HTTP with waitress: the read API and ``POST
  /append`` for the registered appenders (``audit.http.append_api``), each answer a receipt
  under a checkpoint the witnesses cosigned.
- ``witness serve --state PATH [--init] --key-file FILE --log-key VKEY``: a C2SP
  tlog-witness over HTTP with waitress; the first stdout line says where it listens.
  ``--init`` creates a new state file (and refuses a path where anything exists);
  without it the state file must exist and be a witness state, so a lost or emptied
  state is never silently replaced by a fresh one that trusts the next checkpoint.

Every command that opens an existing log or witness state first reads it without
writing (``audit.sqlitefile``): an empty or foreign file (a relay database, say) is
refused and left as it was. Key files are written 0600 and refused when group or others
can read them. Bad input exits 2 with ``escrowlab: <message>`` and leaves every file as
it was (a failed ``init`` or ``witness serve`` removes what it had created); ``verify``
exits 1 on a failed check.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from escrowlab.cli import CommandError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_WITNESS_PORT = 8480
DEFAULT_LOG_PORT = 8470


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit", help="the tamper-evident audit log: inspect, prove, verify, witness",
        description="Work with an RFC 9162 audit log with C2SP signed checkpoints.")
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    init = sub.add_parser("init", help="create a log and its signing key",
                          description="Create an empty log and an Ed25519 checkpoint key.")
    init.add_argument("--log", required=True, metavar="PATH", help="log database to create")
    init.add_argument("--origin", required=True, help="log origin, e.g. example.org/audit")
    init.add_argument("--key-file", required=True, metavar="FILE",
                      help="where to write the private signer key (mode 0600)")
    init.add_argument("--json", action="store_true", help="print one JSON object")
    init.set_defaults(func=init_command)

    append = sub.add_parser("append", help="append one event and print its receipt",
                            description="Append an event, sign a checkpoint, print the "
                                        "receipt (index, inclusion proof, checkpoint). With "
                                        "witnesses, they must first cosign the current tree, "
                                        "so one that is down or refuses leaves the log "
                                        "unchanged. A log that records a witness quorum "
                                        "refuses an append without witnesses, and a log whose "
                                        "stored tree no longer extends the checkpoint it last "
                                        "signed (damaged, rolled back) refuses any append; "
                                        "nothing is written then. The append is fsynced "
                                        "before the receipt is printed. Exit 2 with a message "
                                        "on bad input.")
    append.add_argument("--log", required=True, metavar="PATH", help="the log database file")
    append.add_argument("--key-file", required=True, metavar="FILE", help="log signer key")
    append.add_argument("--type", required=True, help="event type, e.g. warrant.filed")
    append.add_argument("--actor", required=True, help="who acted, e.g. officer:7")
    append.add_argument("--payload", default="{}", metavar="JSON", help="a JSON object")
    append.add_argument("--witness-url", action="append", default=[], metavar="URL",
                        help="an HTTP witness to cosign the checkpoint, repeatable")
    append.add_argument("--witness-key", action="append", default=[], metavar="VKEY",
                        help="that witness's cosignature key, one per --witness-url, in order")
    append.add_argument("--quorum", type=int, default=2,
                        help="cosignatures required when witnesses are given (default 2)")
    append.add_argument("--json", action="store_true", help="print the receipt as JSON")
    append.set_defaults(func=append_command)

    show = sub.add_parser("show", help="print the log's head and entries",
                          description="Print origin, size, root, latest checkpoint, entries.")
    show.add_argument("--log", required=True, metavar="PATH", help="the log database file")
    show.add_argument("--start", type=int, default=None, help="first entry (default: last 10)")
    show.add_argument("--count", type=int, default=10, help="entries to print (default 10)")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(func=show_command)

    prove = sub.add_parser("prove", help="print an inclusion or consistency proof",
                           description="Prove entry --index is in the log, or that the "
                                       "tree of size --old is a prefix of the latest "
                                       "checkpoint's tree.")
    prove.add_argument("--log", required=True, metavar="PATH", help="the log database file")
    what = prove.add_mutually_exclusive_group(required=True)
    what.add_argument("--index", type=int, help="entry index (inclusion proof)")
    what.add_argument("--old", type=int, help="older tree size (consistency proof)")
    prove.add_argument("--json", action="store_true", help="print one JSON object")
    prove.set_defaults(func=prove_command)

    verify = sub.add_parser(
        "verify", help="verify the whole log offline",
        description="Recompute every leaf hash and interior node, check every signed "
                    "checkpoint (and the signed head beside the database), the witness "
                    "quorum and consistency with a trusted checkpoint. Exit status: 0 if "
                    "all holds; 1 if verification failed, with a precise message: the log "
                    "is corrupt, tampered, rolled back, inconsistent or short of its quorum, "
                    "or the file is not an audit log; 2 for a usage error: bad arguments, "
                    "no file at --log, an unreadable or malformed --checkpoint, --log-key "
                    "or --witness-key, a --quorum that is negative or above the number of "
                    "witness keys given or recorded.")
    verify.add_argument("--log", required=True, metavar="PATH", help="the log database file")
    verify.add_argument("--checkpoint", metavar="FILE",
                        help="a signed checkpoint you trusted earlier")
    verify.add_argument("--log-key", metavar="VKEY",
                        help="the log's verifier key (default: the one recorded in the log)")
    verify.add_argument("--witness-key", action="append", metavar="VKEY",
                        help="a witness's cosignature key, repeatable (default: recorded)")
    verify.add_argument("--quorum", type=int, help="cosignatures required (default: recorded)")
    verify.add_argument("--evidence", metavar="FILE",
                        help="where to write a proof of misbehaviour (default "
                             "<log>.misbehaviour.json)")
    verify.add_argument("--entries", action="store_true",
                        help="also parse every entry strictly (slower)")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    verify.set_defaults(func=verify_command)

    appender = sub.add_parser(
        "appender", help="create an appender key and register it",
        description="Create the Ed25519 key of a party that appends to a served log under "
                    "its own name (a custodian node, the portal), and add its verifier key to "
                    "the appender registry the log serves with (created if missing).")
    appender.add_argument("--name", required=True,
                          help="the actor it appends as, e.g. custodian:c1")
    appender.add_argument("--key-file", required=True, metavar="FILE",
                          help="private key file to create (0600)")
    appender.add_argument("--registry", required=True, metavar="FILE",
                          help="appender registry file (created if missing)")
    appender.add_argument("--json", action="store_true", help="print one JSON object")
    appender.set_defaults(func=appender_command)

    serve_log = sub.add_parser(
        "serve", help="serve the log over HTTP: read API and appends by registered appenders",
        description="Serve GET /checkpoint, /entries, /proof/inclusion, /proof/consistency "
                    "and POST /append (signed by a registered appender; answered with the "
                    "entry's receipt once the witnesses cosigned) with waitress. The first "
                    "stdout line says where it listens.")
    serve_log.add_argument("--log", required=True, metavar="PATH", help="the log database file")
    serve_log.add_argument("--key-file", required=True, metavar="FILE", help="log signer key")
    serve_log.add_argument("--appenders", required=True, metavar="FILE",
                           help="appender registry (escrowlab audit appender)")
    serve_log.add_argument("--witness-url", action="append", default=[], metavar="URL",
                           help="an HTTP witness, repeatable")
    serve_log.add_argument("--witness-key", action="append", default=[], metavar="VKEY",
                           help="that witness's cosignature key, one per --witness-url")
    serve_log.add_argument("--quorum", type=int, default=2,
                           help="witness cosignatures required (default 2)")
    serve_log.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    serve_log.add_argument("--port", type=int, default=DEFAULT_LOG_PORT,
                           help=f"TCP port, 0 for any free port (default {DEFAULT_LOG_PORT})")
    serve_log.add_argument("--json", action="store_true",
                           help="print the listening address and log key as one JSON line")
    serve_log.set_defaults(func=serve_command)

    witness = sub.add_parser("witness", help="run a witness",
                             description="Witness commands.")
    wsub = witness.add_subparsers(dest="witness_command", metavar="ACTION", required=True)
    serve = wsub.add_parser(
        "serve", help="serve a C2SP tlog-witness over HTTP",
        description="Serve POST /add-checkpoint with waitress. The key file is created if "
                    "missing. The state file (the last checkpoint cosigned for each log) is "
                    "created only with --init, which refuses a path where a file exists; "
                    "without --init it must be an existing witness state. A missing, empty "
                    "or foreign state file is refused and left unchanged: a witness that "
                    "started afresh would trust the next checkpoint it sees, even a fork.")
    serve.add_argument("--state", required=True, metavar="PATH", help="witness state database")
    serve.add_argument("--init", action="store_true",
                       help="create a new state file at --state (nothing may exist there)")
    serve.add_argument("--key-file", required=True, metavar="FILE",
                       help="the witness's cosigning key (created if missing)")
    serve.add_argument("--name", default="witness.local",
                       help="key name when creating the key (default witness.local)")
    serve.add_argument("--log-key", required=True, action="append", metavar="VKEY",
                       help="verifier key of a log to witness, repeatable")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    serve.add_argument("--port", type=int, default=DEFAULT_WITNESS_PORT,
                       help=f"TCP port, 0 for any free port (default {DEFAULT_WITNESS_PORT})")
    serve.add_argument("--json", action="store_true",
                       help="print the listening address and key as one JSON line")
    serve.set_defaults(func=witness_serve_command)


# -- helpers -----------------------------------------------------------------


@contextlib.contextmanager
def _undo_created(*paths: str) -> Iterator[None]:
    """If the block fails, remove those of ``paths`` (and SQLite's -wal, -shm) it created."""
    new = [p for p in paths if not Path(p).exists()]
    try:
        yield
    except BaseException:
        for path in new:
            for suffix in ("", "-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)
        raise


def _read_text(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path}: {what} is not UTF-8 text") from None


def _read_signer(path: str, sig_type: int):  # type: ignore[no-untyped-def]
    """:func:`audit.keyfile.read_signer` on the system clock; its error is a CommandError."""
    from audit.clock import SystemClock
    from audit.keyfile import KeyFileError, read_signer

    try:
        return read_signer(path, sig_type, SystemClock().now)
    except KeyFileError as exc:
        raise CommandError(str(exc)) from None


def _write_signer(path: str, signer) -> None:  # type: ignore[no-untyped-def]
    """:func:`audit.keyfile.write_signer`; its error is a CommandError."""
    from audit.keyfile import KeyFileError, write_signer

    try:
        write_signer(path, signer)
    except KeyFileError as exc:
        raise CommandError(str(exc)) from None


@contextlib.contextmanager
def _store(path: str, create: bool = False):  # type: ignore[no-untyped-def]
    """The log's store, closed after the block; any audit error becomes a CommandError."""
    from audit.errors import AuditError
    from audit.storage import LogStore

    try:
        store = LogStore(path, create=create)
    except AuditError as exc:
        raise CommandError(str(exc)) from None
    try:
        yield store
    except AuditError as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.close()


def _keys_source(pins) -> str:  # type: ignore[no-untyped-def]
    """Where ``verify`` takes its keys from (``audit.trust.Pins``), in words."""
    if pins.log_key is None:
        return "recorded in the log file (pass --log-key to pin your own)"
    if pins.witness_keys is None:
        return "log key from the command line, witness keys recorded in the log"
    return "command line"


def _serve(args: argparse.Namespace, server, what: str, key_field: str,  # type: ignore[no-untyped-def]
           vkey: str) -> None:
    """Say where ``server`` listens (one JSON line with ``--json``), then serve until
    interrupted; the server is closed either way."""
    url = f"http://{args.host}:{server.effective_port}"
    if args.json:
        print(json.dumps({"url": url, key_field: vkey}), flush=True)
    else:
        print(f"{what} listening on {url}, key {vkey}", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        print(f"{what} stopped", file=sys.stderr)
    finally:
        server.close()


def _emit(args: argparse.Namespace, obj: dict, human: list[str]) -> None:
    if args.json:
        print(json.dumps(obj, indent=2))
    else:
        print("\n".join(human))


# -- commands ----------------------------------------------------------------


def init_command(args: argparse.Namespace) -> int:
    from audit.errors import AuditError
    from audit.log import AuditLog
    from audit.note import Signer

    if os.path.lexists(args.log):
        raise CommandError(f"{args.log} exists")
    if os.path.lexists(args.log + ".head"):
        raise CommandError(f"{args.log}.head (the signed head of an earlier log there) exists; "
                           "remove it if that log is gone")
    try:
        signer = Signer.generate(args.origin)
    except AuditError as exc:
        raise CommandError(f"origin: {exc}") from None
    with _undo_created(args.log, args.key_file, args.log + ".head"):
        _write_signer(args.key_file, signer)
        with _store(args.log, create=True) as store:
            AuditLog(store, signer).sign_checkpoint()
    _emit(args, {"log": args.log, "origin": args.origin, "log_key": signer.vkey},
          [f"created log {args.log} for origin {args.origin}",
           f"log verifier key (pin this): {signer.vkey}"])
    return 0


def _quorum(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The HTTP witnesses of ``--witness-url``/``--witness-key`` as a quorum (or None)."""
    from audit.errors import AuditError

    if len(args.witness_url) != len(args.witness_key):
        raise CommandError("give one --witness-key per --witness-url")
    if not args.witness_url:
        return None
    from audit.http.witness_client import HttpWitness
    from audit.note import Verifier
    from audit.quorum import WitnessQuorum

    try:
        return WitnessQuorum([HttpWitness(url, Verifier.from_vkey(key)) for url, key in
                              zip(args.witness_url, args.witness_key, strict=True)],
                             args.quorum)
    except AuditError as exc:
        raise CommandError(str(exc)) from None


def append_command(args: argparse.Namespace) -> int:
    import strictjson
    from audit.errors import AuditError, QuorumError
    from audit.log import AuditLog
    from audit.note import SIG_TYPE_ED25519

    payload = strictjson.loads(args.payload, what="--payload", error=CommandError,
                               allow_floats=False)
    quorum = _quorum(args)
    signer = _read_signer(args.key_file, SIG_TYPE_ED25519)
    with _store(args.log) as store:
        log = AuditLog(store, signer, quorum=quorum)
        log.event(args.type, args.actor, payload).encode()  # a bad event: refused here
        try:  # a recorded quorum needs witnesses; a damaged or rolled-back log is refused
            log.check_appendable()
        except AuditError as exc:
            hint = ("; pass its witnesses with --witness-url and --witness-key"
                    if isinstance(exc, QuorumError) else "")
            raise CommandError(f"{exc}{hint}; nothing was appended") from None
        if quorum is not None:
            try:  # the witnesses must cosign the current tree before anything is appended
                log.checkpoint()
            except AuditError as exc:
                raise CommandError(f"{exc}; nothing was appended") from None
        try:
            receipt = log.append_event(args.type, args.actor, payload)
        except QuorumError as exc:
            raise CommandError(f"entry {store.size - 1} was appended (it is durable) but its "
                               f"checkpoint was not cosigned: {exc}") from None
    _emit(args, receipt.to_json(),
          [f"appended entry {receipt.index}", receipt.entry.decode(),
           "checkpoint:", receipt.checkpoint.rstrip()])
    return 0


def show_command(args: argparse.Namespace) -> int:
    from audit.entries import Entry
    from audit.errors import AuditError
    from audit.note import b64

    with _store(args.log) as store:
        size = store.size
        if args.count < 0:
            raise CommandError("--count must not be negative")
        start = max(0, size - args.count) if args.start is None else args.start
        end = min(size, start + args.count)
        if not 0 <= start <= size:
            raise CommandError(f"--start must be in 0..{size}")
        latest = store.latest_checkpoint()
        rows = []
        for i, data in enumerate(store.leaves(start, end), start):
            try:
                rows.append({"index": i, **Entry.decode(data).to_json()})
            except AuditError as exc:
                rows.append({"index": i, "error": str(exc), "raw": b64(data)})
        obj = {"origin": store.get_meta("origin"), "size": size, "root": b64(store.root()),
               "latest_checkpoint": latest.note if latest else None, "entries": rows}
    human = [f"log {args.log}: origin {obj['origin']}, {size} entries, root {obj['root']}"]
    human.append("latest checkpoint:" if latest else "no signed checkpoint")
    if latest:
        human += ["  " + line for line in latest.note.rstrip("\n").split("\n")]
    for row in rows:
        if "error" in row:
            human.append(f"  #{row['index']}: unreadable entry ({row['error']})")
        else:
            human.append(f"  #{row['index']} t={row['time']} {row['type']} by {row['actor']} "
                         f"{json.dumps(row['payload'], sort_keys=True)}")
    _emit(args, obj, human)
    return 0


def prove_command(args: argparse.Namespace) -> int:
    from audit.checkpoint import Checkpoint
    from audit.errors import ProofError
    from audit.note import b64, parse_note
    from audit.proof import verify_consistency, verify_inclusion
    from audit.rfc9162 import hash_leaf

    with _store(args.log) as store:
        latest = store.latest_checkpoint()
        if latest is None:
            raise CommandError("the log has no signed checkpoint to prove against")
        size, note = latest.size, latest.note
        root = Checkpoint.parse(parse_note(note).text).root
        if size == 0:
            raise CommandError("the log is empty (its latest checkpoint has size 0): "
                               "there is nothing to prove")
        if args.index is not None:
            if not 0 <= args.index < size:
                raise CommandError(f"--index must be in 0..{size - 1} (the checkpoint's size)")
            proof = store.inclusion_proof(args.index, size)
            entry = store.leaf(args.index)
            obj = {"index": args.index, "size": size, "leaf_hash": b64(hash_leaf(entry)),
                   "entry": b64(entry), "proof": [b64(p) for p in proof], "checkpoint": note}
            checked = (verify_inclusion, (args.index, size, hash_leaf(entry), proof, root))
        else:
            if not 0 < args.old <= size:
                raise CommandError(f"--old must be in 1..{size} (the checkpoint's size)")
            proof = store.consistency_proof(args.old, size)
            old_root = store.root(args.old)
            obj = {"old": args.old, "old_root": b64(old_root), "size": size,
                   "proof": [b64(p) for p in proof], "checkpoint": note}
            checked = (verify_consistency, (args.old, size, proof, old_root, root))
        try:  # never print a proof that does not verify against the signed checkpoint
            checked[0](*checked[1])
        except ProofError as exc:
            raise CommandError(f"the log's database does not match its signed checkpoint of "
                               f"size {size} ({exc}); run escrowlab audit verify") from None
    kind = f"inclusion of entry {args.index}" if args.index is not None else (
        f"consistency from size {args.old}")
    _emit(args, obj, [f"{kind} in the tree of size {size}:",
                      *(f"  {b64(p)}" for p in proof), "checkpoint:", note.rstrip()])
    return 0


def verify_command(args: argparse.Namespace) -> int:
    """Exit 0 verified, 1 verification failed (the log is corrupt, tampered, rolled back,
    inconsistent, short of its quorum, or not an audit log at all), 2 usage error."""
    from audit.checkpoint import Checkpoint
    from audit.errors import AuditError, TrustError
    from audit.note import parse_note
    from audit.storage import LogStore
    from audit.trust import Pins, resolve_trust
    from audit.verifier import verify_log

    if not Path(args.log).is_file():
        raise CommandError(f"no audit log file at {args.log}")
    try:
        pins = Pins.parse(args.log_key, args.witness_key, args.quorum)
    except TrustError as exc:  # every TrustError is about the pinned quorum
        raise CommandError(f"--{exc}") from None
    except AuditError as exc:
        raise CommandError(str(exc)) from None
    trusted = None
    if args.checkpoint:
        trusted = _read_text(args.checkpoint, "checkpoint")
        try:
            Checkpoint.parse(parse_note(trusted).text)
        except AuditError as exc:
            raise CommandError(f"{args.checkpoint}: {exc}") from None
    keys_source = _keys_source(pins)

    def failed(message: str) -> int:
        if args.json:
            print(json.dumps({"ok": False, "error": message, "keys": keys_source}))
        else:
            print(f"escrowlab: audit log {args.log} FAILED verification: {message}",
                  file=sys.stderr)
        return 1

    try:
        store = LogStore(args.log)
    except AuditError as exc:
        return failed(str(exc))
    try:
        trust = resolve_trust(store, pins)
        evidence = args.evidence or f"{args.log}.misbehaviour.json"
        progress = (lambda msg: print(f"  {msg}", file=sys.stderr)) \
            if sys.stderr.isatty() and not args.json else None
        report = verify_log(store, trust.log_key, trust.witness_keys, trust.quorum, trusted,
                            evidence, check_entries=args.entries, progress=progress)
    except TrustError as exc:  # a pinned quorum above the witness keys: a usage error
        raise CommandError(f"--{exc}") from None
    except AuditError as exc:
        return failed(str(exc))
    finally:
        store.close()
    quorum = trust.quorum
    obj = {"ok": True, "keys": keys_source, "quorum": quorum, **report.to_json()}
    human = [f"audit log {args.log}: OK",
             f"  {report.size} entries, {report.nodes_checked} interior nodes recomputed and "
             f"matched, root {report.root}",
             f"  {report.checkpoints_checked} signed checkpoints match the entries; latest "
             f"size {report.latest_checkpoint_size}, cosigned by "
             f"{', '.join(report.cosigners) or 'no witness'} (quorum {quorum})",
             f"  keys: {keys_source}"]
    if report.unwitnessed_entries:
        human.append(f"  {report.unwitnessed_entries} entries are not yet under a checkpoint")
    if report.trusted_checkpoint_size is not None:
        human.append(f"  consistent with your checkpoint of size "
                     f"{report.trusted_checkpoint_size}")
    _emit(args, obj, human)
    return 0


def witness_serve_command(args: argparse.Namespace) -> int:
    from audit.clock import SystemClock
    from audit.errors import AuditError
    from audit.http.witness_server import make_witness_server
    from audit.note import SIG_TYPE_COSIGNATURE_V1, Signer, Verifier
    from audit.witness import Witness

    if not 0 <= args.port <= 65535:
        raise CommandError("--port is 0..65535")
    clock = SystemClock()
    if args.init and os.path.lexists(args.state):
        raise CommandError(f"--init: {args.state} exists; a new witness state is created only "
                           "where no file is (remove it yourself if it really is unused)")
    if not args.init and not os.path.lexists(args.state):
        raise CommandError(f"no witness state at {args.state}; pass --init to create a new "
                           "one (only for a new witness: it trusts the next checkpoint)")
    with _undo_created(args.key_file, args.state):
        try:
            logs = [Verifier.from_vkey(k) for k in args.log_key]
        except AuditError as exc:
            raise CommandError(f"--log-key: {exc}") from None
        if not Path(args.key_file).exists():
            try:
                created = Signer.generate(args.name, SIG_TYPE_COSIGNATURE_V1, clock.now)
            except AuditError as exc:
                raise CommandError(f"--name: {exc}") from None
            _write_signer(args.key_file, created)
        signer = _read_signer(args.key_file, SIG_TYPE_COSIGNATURE_V1)
        try:
            witness = Witness(signer, logs, args.state, clock, create=args.init)
        except AuditError as exc:
            raise CommandError(str(exc)) from None
        try:
            server = make_witness_server(witness, args.host, args.port)
        except AuditError as exc:
            witness.close()
            raise CommandError(str(exc)) from None
    _serve(args, server, "witness", "witness_key", signer.vkey)
    witness.close()
    return 0


def appender_command(args: argparse.Namespace) -> int:
    from audit.append_request import AppenderRegistry
    from audit.errors import AuditError
    from audit.note import Signer

    registry = Path(args.registry)
    try:
        known = list(AppenderRegistry.loads(registry.read_bytes()).verifiers) \
            if registry.exists() else []
        if Path(args.key_file).exists():
            raise CommandError(f"{args.key_file} exists; refusing to overwrite a key")
        signer = Signer.generate(args.name)
        updated = AppenderRegistry.dumps([*known, signer.verifier])
        AppenderRegistry.loads(updated)  # a second key of the same name is refused here
    except (OSError, AuditError) as exc:
        raise CommandError(f"--registry {args.registry}: {exc}") from None
    _write_signer(args.key_file, signer)
    try:
        replacement = registry.with_name(registry.name + ".tmp")
        replacement.write_bytes(updated + b"\n")
        os.replace(replacement, registry)
    except OSError as exc:
        Path(args.key_file).unlink(missing_ok=True)
        raise CommandError(f"cannot write {args.registry}: {exc.strerror}") from None
    _emit(args, {"appender": args.name, "vkey": signer.vkey, "registry": args.registry,
                 "appenders": len(known) + 1},
          [f"appender {args.name} registered in {args.registry}", f"key {signer.vkey}"])
    return 0


def serve_command(args: argparse.Namespace) -> int:
    from audit.append_request import AppenderRegistry
    from audit.errors import AuditError
    from audit.http.log_server import make_log_server
    from audit.log import AuditLog
    from audit.note import SIG_TYPE_ED25519

    if not 0 <= args.port <= 65535:
        raise CommandError("--port is 0..65535")
    quorum = _quorum(args)
    signer = _read_signer(args.key_file, SIG_TYPE_ED25519)
    try:
        appenders = AppenderRegistry.loads(Path(args.appenders).read_bytes())
    except OSError as exc:
        raise CommandError(f"cannot read {args.appenders}: {exc.strerror}") from None
    except AuditError as exc:
        raise CommandError(f"--appenders: {exc}") from None
    with _store(args.log) as store:
        log = AuditLog(store, signer, quorum=quorum)
        try:
            log.check_appendable()
            server = make_log_server(log, appenders, args.host, args.port)
        except AuditError as exc:
            raise CommandError(str(exc)) from None
        _serve(args, server, "audit log", "log_key", signer.vkey)
    return 0
