"""``escrowlab custodian``: run a custodian node, and its operator's own tools
(docs/custodian_node.md, "Running a node" and "The operator signs, not the portal").

``custodian serve`` runs one custodian node as its own HTTP service on loopback.

The node opens its own keystore (a ceremony's ``<out>/Ki`` folder, with ``set.json`` beside
it, from ``escrowlab escrow ceremony``), its own database (``--db``, default
``<keystore>/node.db``), the judge registry and particularity policy it enforces, the
relay archive it reads scope from (``--archive``, a relay database URL, opened read-only),
the audit log it appends its decisions to (``--log`` with the log's key file; or a log
served by ``escrowlab audit serve``, ``--log-url`` with the node's own appender key and
the log's verifier key, so that the node never holds the log's key; and the witnesses
whose quorum cosigns its checkpoints) and the Ed25519 public key of its operator,
the only party whose requests it accepts. It listens on 127.0.0.1 only.

Refused input (a missing file, a wrong passphrase, a foreign database, a port in use) is
exit 2 with a message, before anything is served.

``custodian operator-key --key-file FILE`` creates an operator's Ed25519 key file (PKCS#8
PEM, mode 0600, never replacing one) and prints the public key to register at the node
(``serve --operator-key``). ``custodian sign-request --key FILE --request FILE`` is the
operator's signer for scripts, doing what the release page does in the browser: it reads
the request body the portal serves (its raw RFC 8785 bytes, or the portal's JSON answer
that carries them in base64), checks it strictly, shows what it asks for, and prints the
signature to post back to the portal (``--out`` also writes the signed request a node
takes). The key file must be readable by its owner only.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from pathlib import Path

from escrowlab.arguments import int_in_range
from escrowlab.cli import MAX_INPUT_FILE, CommandError, read_input

LOOPBACK = "127.0.0.1"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("custodian", help="run a custodian node",
                                   description="Custodian node commands.")
    sub = parser.add_subparsers(dest="custodian_command", metavar="ACTION", required=True)
    serve = sub.add_parser("serve", help="serve one custodian node over HTTP on loopback",
                           description=__doc__.split("\n\n")[1])
    serve.add_argument("--keystore", required=True, metavar="DIR",
                       help="the custodian's ceremony folder (keystore.json; set.json beside)")
    serve.add_argument("--passphrase-file", metavar="FILE",
                       help="the keystore passphrase (default DIR/passphrase.txt, labs only)")
    serve.add_argument("--registry", required=True, metavar="FILE", help="judge registry")
    serve.add_argument("--policy", metavar="FILE",
                       help="particularity policy (JSON; default: the lab's)")
    serve.add_argument("--operator-key", required=True, metavar="HEX",
                       help="the operator's Ed25519 public key (64 hex digits)")
    serve.add_argument("--archive", required=True, metavar="URL",
                       help="relay database URL the node reads scope from")
    serve.add_argument("--log", metavar="PATH",
                       help="audit log database, opened in this process (with --log-key-file)")
    serve.add_argument("--log-key-file", metavar="FILE", help="the log's signer key file")
    serve.add_argument("--log-url", metavar="URL",
                       help="a served audit log (escrowlab audit serve) to append to instead, "
                            "with --appender-key-file and --log-vkey: the node never holds "
                            "the log's key")
    serve.add_argument("--appender-key-file", metavar="FILE",
                       help="the node's appender key (escrowlab audit appender), named "
                            "custodian:<id>")
    serve.add_argument("--log-vkey", metavar="VKEY", help="the served log's verifier key")
    serve.add_argument("--witness-url", action="append", default=[], metavar="URL",
                       help="an HTTP witness, repeatable")
    serve.add_argument("--witness-key", action="append", default=[], metavar="VKEY",
                       help="that witness's cosignature key, one per --witness-url, in order")
    serve.add_argument("--quorum", type=int_in_range(1, 64), default=2,
                       help="witness cosignatures required (default 2)")
    serve.add_argument("--db", metavar="PATH", help="the node's database (default DIR/node.db)")
    serve.add_argument("--port", type=int_in_range(0, 65535), default=0,
                       help="TCP port, 0 for any free port (default 0)")
    serve.add_argument("--host", default=LOOPBACK, help="a loopback address (default "
                                                        f"{LOOPBACK})")
    serve.add_argument("--json", action="store_true",
                       help="print the listening address as one JSON line")
    serve.set_defaults(func=serve_command)

    key = sub.add_parser("operator-key", help="create an operator's request-signing key file",
                         description="Create an operator's Ed25519 key file (PKCS#8 PEM, "
                                     "mode 0600) and print its public key for the node.")
    key.add_argument("--key-file", required=True, metavar="FILE",
                     help="the key file to create (never replaced)")
    key.add_argument("--json", action="store_true", help="print one JSON object")
    key.set_defaults(func=operator_key_command)

    sign = sub.add_parser("sign-request", help="sign a release request as the node's operator",
                          description="Sign the release request body the portal serves for "
                                      "your node with your own key file, outside the portal.")
    sign.add_argument("--key", required=True, metavar="FILE",
                      help="your key file (PKCS#8 PEM or DER, or a JWK; mode 0600)")
    sign.add_argument("--request", required=True, metavar="FILE",
                      help="the request body, or the portal's JSON answer carrying it")
    sign.add_argument("--node", metavar="ID",
                      help="refuse a request addressed to any other node (e.g. K1)")
    sign.add_argument("--out", metavar="FILE",
                      help="also write the signed request (what the node's /v1/release takes)")
    sign.add_argument("--json", action="store_true", help="print one JSON object")
    sign.set_defaults(func=sign_request_command)


def _log(args: argparse.Namespace, custodian_id: str):  # type: ignore[no-untyped-def]
    """The node's log (in this process, or served and appended to as the node's own
    appender) and the trust it checks checkpoints under."""
    from audit.clock import SystemClock
    from audit.errors import AuditError
    from audit.http.log_client import HttpLog
    from audit.http.witness_client import HttpWitness
    from audit.keyfile import read_signer
    from audit.log import AuditLog
    from audit.note import SIG_TYPE_ED25519, Verifier
    from audit.quorum import WitnessQuorum
    from authority_portal.custodian_node.errors import NodeError
    from authority_portal.custodian_node.log_check import LocalLog, LogTrust

    if len(args.witness_url) != len(args.witness_key):
        raise CommandError("give one --witness-key per --witness-url")
    local, served = (args.log, args.log_key_file), (args.log_url, args.appender_key_file,
                                                    args.log_vkey)
    if any(local) == any(served) or not all(local if any(local) else served):
        raise CommandError("give either --log and --log-key-file (the log in this process) "
                           "or --log-url, --appender-key-file and --log-vkey (a served log)")
    if args.log and not Path(args.log).exists():
        raise CommandError(f"no audit log at {args.log}")
    try:
        witnesses = [HttpWitness(url, Verifier.from_vkey(key))
                     for url, key in zip(args.witness_url, args.witness_key, strict=True)]
        keys = tuple(w.verifier for w in witnesses)
        if args.log_url:
            appender = read_signer(args.appender_key_file, SIG_TYPE_ED25519, SystemClock().now)
            if appender.name != f"custodian:{custodian_id}":
                raise CommandError(f"--appender-key-file: the key is {appender.name!r}'s; "
                                   f"this node appends as 'custodian:{custodian_id}'")
            return HttpLog(args.log_url, appender), LogTrust(
                Verifier.from_vkey(args.log_vkey), keys, args.quorum)
        signer = read_signer(args.log_key_file, SIG_TYPE_ED25519, SystemClock().now)
        trust = LogTrust(signer.verifier, keys, args.quorum)
        log = AuditLog.open(args.log, signer, create=False,
                            quorum=WitnessQuorum(witnesses, args.quorum))
    except (AuditError, NodeError) as exc:
        raise CommandError(str(exc)) from None
    return LocalLog(log), trust


def serve_command(args: argparse.Namespace) -> int:
    import strictjson
    from authority_portal.custodian_node.app import make_node_server, serve, server_port
    from authority_portal.custodian_node.errors import NodeError
    from authority_portal.custodian_node.node import CustodianNode
    from authority_portal.custodian_node.store import NodeStore
    from authority_portal.warrants.errors import WarrantError
    from authority_portal.warrants.judges import JudgeRegistry
    from authority_portal.warrants.policy import ParticularityPolicy
    from messaging.clock import SystemClock
    from messaging.relay.archive import RelayArchive
    from messaging.relay.errors import RelayDatabaseError

    try:
        if not ipaddress.ip_address(args.host).is_loopback:
            raise ValueError
    except ValueError:
        raise CommandError(f"--host {args.host}: a node serves on a loopback address only "
                           "(put a TLS proxy in front of it for anything else)") from None
    folder = Path(args.keystore)
    passphrase_file = Path(args.passphrase_file or folder / "passphrase.txt")
    passphrase = read_input(passphrase_file, "the passphrase file").decode("utf-8",
                                                                       "replace").strip()
    try:
        operator_key = bytes.fromhex(args.operator_key)
        registry = JudgeRegistry.loads(read_input(Path(args.registry), "the judge registry"))
        policy = ParticularityPolicy() if args.policy is None else \
            ParticularityPolicy.from_json(strictjson.loads(
                read_input(Path(args.policy), "the policy"), what="policy", error=WarrantError))
    except ValueError as exc:
        raise CommandError(str(exc) if isinstance(exc, WarrantError)
                           else "--operator-key is hex") from None
    try:
        archive = RelayArchive.open(args.archive)
    except RelayDatabaseError as exc:
        raise CommandError(f"--archive: {exc}") from None
    custodian_id = folder.name
    log, trust = _log(args, custodian_id)
    try:
        store = NodeStore(args.db or folder / "node.db", custodian_id)
        node = CustodianNode.from_keystore(
            folder, passphrase, registry=registry, policy=policy, archive=archive, log=log,
            trust=trust, operator_key=operator_key, clock=SystemClock(), store=store)
        if node.node_id != custodian_id:
            raise NodeError(f"{folder} holds custodian {node.node_id}'s keys")
        server = make_node_server(node, args.host, args.port)
    except NodeError as exc:
        raise CommandError(str(exc)) from None
    url = f"http://{args.host}:{server_port(server)}"
    if args.json:
        print(json.dumps({"url": url, "node": node.node_id}), flush=True)
    else:
        print(f"custodian node {node.node_id} listening on {url}", flush=True)
    try:
        serve(server)
    except KeyboardInterrupt:
        print("custodian node stopped", file=sys.stderr)
    finally:
        store.close()
    return 0


# -- the operator's tools -----------------------------------------------------------------

MAX_REQUEST_FILE = MAX_INPUT_FILE


def operator_key_command(args: argparse.Namespace) -> int:
    import os

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from authority_portal.custodian_node.operator import key_file

    key = Ed25519PrivateKey.generate()
    try:
        fd = os.open(args.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CommandError(f"{args.key_file} exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise CommandError(f"cannot write {args.key_file}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_file(key))
    public = key.public_key().public_bytes_raw().hex()
    if args.json:
        print(json.dumps({"key_file": args.key_file, "operator_key": public}))
    else:
        print(f"operator key written to {args.key_file} (mode 0600)\n"
              f"register it at the node: --operator-key {public}")
    return 0


def _request_body(data: bytes) -> bytes:
    """The body to sign: the file's bytes (one trailing newline dropped), or the ``request``
    of the portal's JSON answer (``GET /api/v1/custodian/warrants/<ref>/request``)."""
    import base64
    import binascii

    import strictjson
    from strictjson import StrictJSONError

    body = data[:-1] if data.endswith(b"\n") else data
    try:
        obj = strictjson.loads(body, what="request file", max_bytes=MAX_REQUEST_FILE)
    except StrictJSONError as exc:
        raise CommandError(f"--request: {exc}") from None
    if isinstance(obj, dict) and "format" not in obj:
        try:
            strictjson.fields(obj, {"reference": str, "custodian": str, "request": str,
                                    "sha256": str}, what="portal answer")
            return base64.b64decode(obj["request"], validate=True)
        except (StrictJSONError, binascii.Error, ValueError) as exc:
            raise CommandError(f"--request: not a request body nor the portal's answer: "
                               f"{exc}") from None
    return body


def sign_request_command(args: argparse.Namespace) -> int:
    import base64
    import hashlib
    import os

    from authority_portal.custodian_node.errors import RequestError
    from authority_portal.custodian_node.operator import Operator, load_key
    from authority_portal.custodian_node.request import attach_signature, parse_body

    path = Path(args.key)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise CommandError(f"cannot read the key file {path}: {exc.strerror}") from None
    if mode & 0o077:
        raise CommandError(f"the key file {path} is readable by others (mode {mode & 0o777:o}); "
                           f"run chmod 600 {path}")
    body = _request_body(read_input(Path(args.request), "a release request", MAX_REQUEST_FILE))
    try:
        key = load_key(read_input(path, "a key file", 16 << 10))
        request = parse_body(body)
        operator = Operator(args.node or request.node, key)
        signature = operator.sign(body)
        signed = attach_signature(body, signature)
    except RequestError as exc:
        raise CommandError(f"refused: {exc}") from None
    if args.out:
        try:
            fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CommandError(f"{args.out} exists; refusing to overwrite it") from None
        except OSError as exc:
            raise CommandError(f"cannot write {args.out}: {exc.strerror}") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(signed)
    auth = request.authorisation
    shown = {"node": request.node, "warrant_id": auth.warrant.warrant_id,
             "warrant_sha256": auth.warrant.sha256.hex(),
             "conversation_id": auth.conversation_id, "records": len(auth.records),
             "window": [auth.warrant.window_start, auth.warrant.window_end],
             "nonce": request.nonce, "request_sha256": hashlib.sha256(body).hexdigest(),
             "operator_key": operator.public_key.hex(),
             "signature": base64.b64encode(signature).decode()}
    if args.json:
        print(json.dumps(shown, sort_keys=True))
    else:
        print(f"release request for node {request.node}: warrant {shown['warrant_id']} "
              f"({shown['warrant_sha256'][:16]}...), {auth.conversation_id}, "
              f"{shown['records']} record(s), receipt times {auth.warrant.window_start} .. "
              f"{auth.warrant.window_end}, attempt {request.nonce}")
        print(f"signature (post it as the approval): {shown['signature']}")
        if args.out:
            print(f"signed request written to {args.out}")
    return 0
