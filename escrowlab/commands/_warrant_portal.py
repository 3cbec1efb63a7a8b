"""``escrowlab warrant file|sign|status|recover --portal URL --account FILE``: the warrant
lifecycle scripted against a served portal's JSON API (docs/portal.md, "The command line").

- ``file``: the officer files a warrant (agency, jurisdiction, one conversation, the window
  of relay receipt times, days of validity, legal basis); prints its reference.
- ``sign --reference R --key-file PEM``: the judge fetches the portal's signing statement
  for R, signs it with the judge's Ed25519 key (the PKCS#8 file the judge holds, as the
  browser imports it) and posts the signature. The key never reaches the portal.
- ``status R``: the warrant as the filing officer sees it (its state, its digest).
- ``recover R``: the recovered view (the per-chain report and the in-scope messages), which
  the portal logs as opened.

``--account FILE`` is one account as ``escrowlab portal --json`` prints it (an object
with ``email``, ``password`` and ``totp``); the client signs in with the password and the
TOTP code as a browser does (:mod:`escrowlab.portal.session`). A refusal is exit 2 with
the portal's message, and nothing else is changed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import urllib.parse
from pathlib import Path

from escrowlab.arguments import int_in_range
from escrowlab.cli import CommandError

MAX_TIME = 2**53 - 1


def add_portal_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--portal", required=required, metavar="URL",
                        help="the portal, e.g. http://127.0.0.1:8480")
    parser.add_argument("--account", required=required, metavar="FILE",
                        help='the account to sign in as: {"email", "password", "totp"}')


def register(sub: argparse._SubParsersAction) -> None:
    file = sub.add_parser("file", help="file a warrant through the portal (officer)",
                          description="File a warrant as an officer through the portal's "
                                      "JSON API; prints its reference.")
    add_portal_options(file)
    file.add_argument("--agency", required=True)
    file.add_argument("--jurisdiction", required=True)
    file.add_argument("--conversation", required=True, metavar="ID",
                      help="the target conversation id")
    file.add_argument("--window-start", required=True, type=int_in_range(0, MAX_TIME),
                      metavar="SECONDS", help="relay receipt time, seconds since the epoch")
    file.add_argument("--window-end", required=True, type=int_in_range(0, MAX_TIME),
                      metavar="SECONDS", help="end of the window (exclusive)")
    file.add_argument("--valid-days", type=int_in_range(1, 3650), default=10,
                      help="days of validity (default 10; the portal's policy caps it)")
    file.add_argument("--legal-basis", required=True, help="the legal basis in words")
    file.add_argument("--json", action="store_true", help="print one JSON object")
    file.set_defaults(func=file_command)

    for name, helptext, func in (
            ("status", "a warrant's state, as its filing officer sees it", status_command),
            ("recover", "the recovered view of an approved warrant (logged when opened)",
             recover_command)):
        action = sub.add_parser(name, help=helptext + " (portal client)",
                                description=helptext[0].upper() + helptext[1:] + ".")
        add_portal_options(action)
        action.add_argument("reference", help="the warrant's reference, as file printed it")
        action.add_argument("--json", action="store_true", help="print one JSON object")
        action.set_defaults(func=func)


def _session(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from escrowlab.portal.session import Credentials, PortalSession, PortalSessionError

    try:
        account = Credentials.loads(Path(args.account).read_bytes())
        return PortalSession(args.portal, account)
    except OSError as exc:
        raise CommandError(f"cannot read {args.account}: {exc.strerror}") from None
    except PortalSessionError as exc:
        raise CommandError(f"sign-in: {exc}") from None


def _call(session, method: str, path: str, body: dict | None = None) -> dict:  # type: ignore[no-untyped-def]
    from escrowlab.portal.session import PortalSessionError

    try:
        return session.call(method, path, body)
    except PortalSessionError as exc:
        raise CommandError(str(exc)) from None


def _path(reference: str) -> str:
    return urllib.parse.quote(reference, safe="")


def _print(args: argparse.Namespace, data: dict, text: str) -> None:
    print(json.dumps(data, sort_keys=True) if args.json else text)


def file_command(args: argparse.Namespace) -> int:
    if args.window_end <= args.window_start:
        raise CommandError("--window-end must be after --window-start")
    session = _session(args)
    warrant = _call(session, "POST", "/api/v1/officer/warrants", {
        "agency": args.agency, "jurisdiction": args.jurisdiction,
        "conversation_id": args.conversation, "window_start": args.window_start,
        "window_end": args.window_end, "validity_days": args.valid_days,
        "legal_basis": args.legal_basis})
    _print(args, warrant, f"warrant {warrant['reference']} filed ({warrant['status']}); "
                          f"sha256 {warrant['warrant_sha256']}")
    return 0


def status_command(args: argparse.Namespace) -> int:
    warrant = _call(_session(args), "GET", f"/api/v1/officer/warrants/{_path(args.reference)}")
    _print(args, warrant, f"warrant {warrant['reference']}: {warrant['status']} "
                          f"(sha256 {warrant['warrant_sha256']})")
    return 0


def recover_command(args: argparse.Namespace) -> int:
    view = _call(_session(args), "GET",
                 f"/api/v1/officer/warrants/{_path(args.reference)}/recovered")
    lines = [f"warrant {args.reference}: {len(view.get('messages', []))} message(s) in scope"]
    lines += [f"  {m['received_at']}  {m['sender']} -> {m['recipient']}: {m['text']}"
              for m in view.get("messages", [])]
    _print(args, view, "\n".join(lines))
    return 0


def portal_sign(args: argparse.Namespace) -> int:
    """``warrant sign --portal``: the judge's signature of the portal's statement."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not args.reference:
        raise CommandError("sign --portal needs --reference (the warrant to sign)")
    try:
        key = serialization.load_pem_private_key(Path(args.key_file).read_bytes(), None)
    except OSError as exc:
        raise CommandError(f"cannot read {args.key_file}: {exc.strerror}") from None
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise CommandError(f"{args.key_file} is not an unencrypted PKCS#8 Ed25519 key "
                           "(the judge's key file for the portal)")
    session = _session(args)
    path = f"/api/v1/judge/warrants/{_path(args.reference)}"
    statement = _call(session, "GET", path + "/statement")
    try:
        message = base64.b64decode(statement["statement"], validate=True)
    except (KeyError, TypeError, binascii.Error):
        raise CommandError("the portal's statement is not base64") from None
    warrant = _call(session, "POST", path + "/signature",
                    {"signature": base64.b64encode(key.sign(message)).decode()})
    _print(args, warrant, f"warrant {warrant['reference']} signed: {warrant['status']}")
    return 0
