"""``escrowlab warrant``: write, hash, sign and verify warrants from the command line
(docs/warrants.md, "On the command line").

- ``warrant judge --name J1 --jurisdiction JA --key-file F --registry R`` creates a judge's
  Ed25519 key file (mode 0600, :mod:`audit.keyfile`) and adds the judge to registry ``R``
  (created if missing);
- ``warrant new --out FILE --id ... --target C1 ...`` writes a warrant in its canonical
  encoding;
- ``warrant hash FILE`` prints its SHA-256 (what judges sign);
- ``warrant sign FILE --key-file F --signatures S`` adds the judge's signature to the
  signature file ``S`` (a JSON list, created if missing), for k of m;
- ``warrant verify FILE --signatures S --registry R [--required K] [--policy P]`` checks
  the signatures against the registry (and the particularity policy): exit 0 if approved,
  1 with the reason if not;
- ``warrant file|status|recover --portal URL --account FILE`` and ``warrant sign --portal``
  script the same lifecycle against a served portal (:mod:`escrowlab.commands._warrant_portal`).

``--json`` prints one JSON object. Bad input is exit 2 with a message, and nothing is
written: files are written whole (a temporary file renamed into place) and a key file is
never replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from escrowlab.arguments import int_in_range
from escrowlab.cli import CommandError, read_input
from escrowlab.commands import _warrant_portal as warrant_portal

MAX_TIME = 2**53 - 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "warrant", help="write, hash, sign and verify warrants",
        description="Warrants: the canonical warrant file, its SHA-256, judges' Ed25519 "
                    "signatures and their check against a judge registry.")
    sub = parser.add_subparsers(dest="warrant_command", metavar="ACTION", required=True)

    judge = sub.add_parser("judge", help="create a judge key file and register the judge")
    judge.add_argument("--name", required=True, help="judge id, e.g. J1")
    judge.add_argument("--jurisdiction", required=True, help="e.g. JA")
    judge.add_argument("--key-file", required=True, help="private key file to create (0600)")
    judge.add_argument("--registry", required=True, help="registry file (created if missing)")
    judge.add_argument("--json", action="store_true", help="print one JSON object")
    judge.set_defaults(func=judge_command)

    new = sub.add_parser("new", help="write a warrant file")
    new.add_argument("--out", required=True, help="warrant file to create")
    new.add_argument("--id", required=True, help="warrant id, e.g. W-1")
    new.add_argument("--agency", required=True)
    new.add_argument("--jurisdiction", required=True)
    new.add_argument("--officer", required=True)
    new.add_argument("--target", action="append", required=True, metavar="CONVERSATION",
                     help="a conversation id, repeatable")
    new.add_argument("--window-start", required=True, type=int_in_range(0, MAX_TIME),
                     metavar="SECONDS", help="relay receipt time, seconds since the epoch")
    new.add_argument("--window-end", required=True, type=int_in_range(0, MAX_TIME),
                     metavar="SECONDS", help="end of the window (exclusive)")
    new.add_argument("--legal-basis", required=True, help="the legal basis in words")
    new.add_argument("--issued-at", type=int_in_range(0, MAX_TIME), metavar="SECONDS",
                     help="default: now")
    new.add_argument("--valid-days", type=int_in_range(1, 3650), default=10,
                     help="days from issue to expiry (default 10)")
    new.add_argument("--replaces", help="id of the warrant this one amends")
    new.add_argument("--json", action="store_true", help="print one JSON object")
    new.set_defaults(func=new_command)

    hash_ = sub.add_parser("hash", help="print a warrant's SHA-256")
    hash_.add_argument("warrant", help="warrant file")
    hash_.add_argument("--json", action="store_true", help="print one JSON object")
    hash_.set_defaults(func=hash_command)

    sign = sub.add_parser("sign", help="sign a warrant with a judge's key file (a file, or "
                                       "a warrant in the portal with --portal)")
    sign.add_argument("warrant", nargs="?", help="warrant file (without --portal)")
    sign.add_argument("--key-file", required=True,
                      help="the judge's private key file (with --portal: the PKCS#8 file)")
    sign.add_argument("--signatures",
                      help="signature file to add to (a JSON list; created if missing)")
    warrant_portal.add_portal_options(sign, required=False)
    sign.add_argument("--reference", help="with --portal: the warrant to sign")
    sign.add_argument("--json", action="store_true", help="print one JSON object")
    sign.set_defaults(func=sign_command)

    warrant_portal.register(sub)

    verify = sub.add_parser("verify", help="check a warrant's signatures against a registry",
                            description="Exit 0 if the signatures approve the warrant, 1 "
                                        "with the reason if not, 2 for unusable input.")
    verify.add_argument("warrant", help="warrant file")
    verify.add_argument("--signatures", required=True, help="signature file")
    verify.add_argument("--registry", required=True, help="judge registry file")
    verify.add_argument("--required", type=int_in_range(1, 3), default=None,
                        help="judges required (default: the policy's, else 1)")
    verify.add_argument("--policy", help="particularity policy file (JSON) to check too")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    verify.set_defaults(func=verify_command)


# -- files ---------------------------------------------------------------------


def _write(path: str, data: bytes, replace: bool = False) -> None:
    """Write ``data`` to ``path`` whole: a temporary file beside it, renamed into place."""
    target = Path(path)
    if not replace and target.exists():
        raise CommandError(f"{path} exists; refusing to overwrite it")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}") from None


def _warrant(path: str):  # type: ignore[no-untyped-def]
    from authority_portal.warrants.errors import WarrantError
    from authority_portal.warrants.model import Warrant

    try:
        return Warrant.decode(read_input(path, "a warrant").rstrip(b"\n"))
    except WarrantError as exc:
        raise CommandError(f"{path}: {exc}") from None


def _registry(path: str, missing_ok: bool = False):  # type: ignore[no-untyped-def]
    from authority_portal.warrants.errors import WarrantError
    from authority_portal.warrants.judges import JudgeRegistry

    if missing_ok and not Path(path).exists():
        return JudgeRegistry(())
    try:
        return JudgeRegistry.loads(read_input(path, "a judge registry"))
    except WarrantError as exc:
        raise CommandError(f"{path}: {exc}") from None


def _signatures(path: str, missing_ok: bool = False) -> tuple:
    import strictjson
    from authority_portal.warrants.errors import WarrantError
    from authority_portal.warrants.signatures import signatures_from_json

    if missing_ok and not Path(path).exists():
        return ()
    try:
        return signatures_from_json(strictjson.loads(read_input(path, "a signature file"),
                                                     what="signature file",
                                                     error=WarrantError))
    except WarrantError as exc:
        raise CommandError(f"{path}: {exc}") from None


def _print(args: argparse.Namespace, data: dict, text: str) -> None:
    print(json.dumps(data, sort_keys=True) if args.json else text)


# -- actions -------------------------------------------------------------------


def judge_command(args: argparse.Namespace) -> int:
    from audit.errors import AuditError
    from audit.keyfile import write_signer
    from audit.note import Signer
    from authority_portal.warrants.errors import WarrantError
    from authority_portal.warrants.judges import Judge, JudgeRegistry

    registry = _registry(args.registry, missing_ok=True)
    if Path(args.key_file).exists():
        raise CommandError(f"{args.key_file} exists; refusing to overwrite a key")
    try:
        signer = Signer.generate(args.name)
        updated = JudgeRegistry([*registry.judges,
                                 Judge(args.name, args.jurisdiction, signer.verifier)])
    except (WarrantError, AuditError) as exc:
        raise CommandError(str(exc)) from None
    try:
        write_signer(args.key_file, signer)
    except AuditError as exc:
        raise CommandError(str(exc)) from None
    try:
        _write(args.registry, updated.encode() + b"\n", replace=True)
    except CommandError:
        Path(args.key_file).unlink(missing_ok=True)
        raise
    _print(args, {"judge": args.name, "jurisdiction": args.jurisdiction,
                  "vkey": signer.vkey, "registry": args.registry, "judges": len(updated)},
           f"judge {args.name} ({args.jurisdiction}) registered in {args.registry}; "
           f"key {signer.vkey}")
    return 0


def new_command(args: argparse.Namespace) -> int:
    from authority_portal.warrants.errors import WarrantError
    from authority_portal.warrants.model import Warrant

    issued = int(time.time()) if args.issued_at is None else args.issued_at
    try:
        warrant = Warrant(args.id, args.agency, args.jurisdiction, args.officer,
                          tuple(args.target), args.window_start, args.window_end,
                          args.legal_basis, issued, issued + args.valid_days * 86_400,
                          args.replaces)
    except WarrantError as exc:
        raise CommandError(str(exc)) from None
    _write(args.out, warrant.encode() + b"\n")
    _print(args, {"warrant": warrant.to_json(), "sha256": warrant.sha256.hex(),
                  "file": args.out},
           f"warrant {warrant.warrant_id} written to {args.out}\nsha256 {warrant.sha256.hex()}")
    return 0


def hash_command(args: argparse.Namespace) -> int:
    warrant = _warrant(args.warrant)
    _print(args, {"id": warrant.warrant_id, "sha256": warrant.sha256.hex()},
           warrant.sha256.hex())
    return 0


def sign_command(args: argparse.Namespace) -> int:
    if args.portal or args.account:
        if args.warrant or args.signatures or not (args.portal and args.account):
            raise CommandError("sign: either a warrant FILE with --signatures, or --portal, "
                               "--account and --reference")
        return warrant_portal.portal_sign(args)
    if not args.warrant or not args.signatures:
        raise CommandError("sign: give the warrant FILE and --signatures")
    from audit.clock import SystemClock
    from audit.errors import AuditError
    from audit.keyfile import read_signer
    from audit.note import SIG_TYPE_ED25519
    from authority_portal.warrants.signatures import sign_warrant

    warrant = _warrant(args.warrant)
    existing = _signatures(args.signatures, missing_ok=True)
    try:
        signer = read_signer(args.key_file, SIG_TYPE_ED25519, SystemClock().now)
    except AuditError as exc:
        raise CommandError(str(exc)) from None
    signature = sign_warrant(signer, warrant)
    kept = [s for s in existing if s.judge_id != signature.judge_id]
    _write(args.signatures, json.dumps([s.to_json() for s in [*kept, signature]],
                                       indent=1).encode() + b"\n", replace=True)
    _print(args, {"warrant": warrant.warrant_id, "sha256": warrant.sha256.hex(),
                  "signature": signature.to_json(), "signatures": len(kept) + 1},
           f"judge {signature.judge_id} signed warrant {warrant.warrant_id} "
           f"({warrant.sha256.hex()[:16]}); {len(kept) + 1} signature(s) in {args.signatures}")
    return 0


def verify_command(args: argparse.Namespace) -> int:
    import strictjson
    from authority_portal.warrants.errors import WarrantError
    from authority_portal.warrants.policy import ParticularityPolicy
    from authority_portal.warrants.signatures import verify_approval

    warrant = _warrant(args.warrant)
    signatures = _signatures(args.signatures)
    registry = _registry(args.registry)
    policy = None
    if args.policy is not None:
        try:
            policy = ParticularityPolicy.from_json(strictjson.loads(
                read_input(args.policy, "a policy"), what="policy", error=WarrantError))
        except WarrantError as exc:
            raise CommandError(f"{args.policy}: {exc}") from None
    required = args.required or (policy.judges_required if policy else 1)
    try:
        judges = verify_approval(warrant, signatures, registry, required)
        if policy is not None:
            policy.check(warrant)
    except WarrantError as exc:
        _print(args, {"id": warrant.warrant_id, "sha256": warrant.sha256.hex(),
                      "approved": False, "reason": str(exc)}, f"refused: {exc}")
        return 1
    _print(args, {"id": warrant.warrant_id, "sha256": warrant.sha256.hex(), "approved": True,
                  "judges": list(judges), "required": required},
           f"warrant {warrant.warrant_id} approved by {', '.join(judges)} "
           f"({len(judges)} of {required} required)")
    return 0
