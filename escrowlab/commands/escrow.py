"""``escrowlab escrow``: the custodians' key ceremony and key restore (issue 5).

- ``escrowlab escrow ceremony --custodians N --threshold T --out DIR`` generates
  N custodians' keys, the set descriptor ``DIR/set.json`` (what clients pin),
  each custodian's keystore (Argon2id + AES-GCM) and SLIP-39 backup shares of
  each custodian's private keys (2 of 3 by default).
- ``escrowlab escrow restore --set DIR/set.json --custodian K1 --mnemonics F...
  --out PATH`` rebuilds a custodian's keys from its backup shares, checks them
  against the set, and writes a new keystore.

Passphrases come from ``--passphrase-file`` (one per line), from prompts when
stdin is a terminal, or, for labs only, ``--generate-passphrases``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import secrets
import sys
from pathlib import Path

from escrow import ceremony, keystore
from escrow.custodian_set import CustodianSet
from escrow.errors import EscrowError
from escrowlab.cli import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "escrow", help="custodian key ceremony and key restore",
        description="Generate a custodian set (the key ceremony) or restore a custodian's keys "
                    "from its SLIP-39 backup shares.")
    sub = parser.add_subparsers(dest="escrow_command", metavar="ACTION", required=True)

    run = sub.add_parser(
        "ceremony", help="generate custodians' keys, the set descriptor and SLIP-39 backups",
        description="Generate N custodians (X25519 share keys, Ed25519 signing keys), the "
                    "t-of-n set descriptor clients pin, an encrypted keystore per custodian "
                    "and SLIP-39 mnemonic backups of each custodian's keys.")
    run.add_argument("--custodians", type=int, required=True, metavar="N",
                     help="number of custodians n (2..16)")
    run.add_argument("--threshold", type=int, required=True, metavar="T",
                     help="custodians needed to recover, t (2..n; t=1 is refused)")
    run.add_argument("--out", type=Path, required=True, metavar="DIR",
                     help="new or empty directory to write into")
    run.add_argument("--epoch", type=int, default=1, help="set epoch (default 1; rotation "
                     "is a new ceremony with the next epoch)")
    run.add_argument("--jurisdiction", action="append", metavar="TAG",
                     help="jurisdiction of each custodian in order (repeat; default JA)")
    run.add_argument("--backup", default="2/3", metavar="K/M",
                     help="SLIP-39 backup shares per custodian: K of M needed (default 2/3)")
    _passphrase_options(run)
    run.add_argument("--generate-passphrases", action="store_true",
                     help="lab use only: random passphrases, written to DIR/Ki/"
                          f"{ceremony.LAB_PASSPHRASE_FILE}")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.set_defaults(func=ceremony_command)

    restore = sub.add_parser(
        "restore", help="rebuild a custodian's keys from its SLIP-39 backup shares",
        description="Combine a custodian's SLIP-39 backup mnemonics, check the keys against "
                    "the set descriptor, and write a new encrypted keystore.")
    restore.add_argument("--set", dest="set_file", type=Path, required=True, metavar="FILE",
                         help="the set descriptor (set.json)")
    restore.add_argument("--custodian", required=True, metavar="ID", help="custodian id (K1)")
    restore.add_argument("--mnemonics", type=Path, nargs="+", required=True, metavar="FILE",
                         help="files holding backup mnemonics, one per line")
    restore.add_argument("--out", type=Path, required=True, metavar="PATH",
                         help="the new keystore file (must not exist)")
    _passphrase_options(restore)
    restore.add_argument("--json", action="store_true", help="print one JSON object")
    restore.set_defaults(func=restore_command)


def _passphrase_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--passphrase-file", type=Path, metavar="FILE",
                        help="keystore passphrases, one per line (one per custodian)")
    parser.add_argument("--lab-kdf", action="store_true",
                        help="cheap Argon2id parameters (t=1, 8 MiB) for labs and tests; "
                             "default is RFC 9106's t=3, 64 MiB")


def _passphrases(args: argparse.Namespace, ids: list[str]) -> list[str]:
    if getattr(args, "generate_passphrases", False):
        return [secrets.token_urlsafe(18) for _ in ids]
    if args.passphrase_file is not None:
        try:
            lines = args.passphrase_file.read_text().splitlines()
        except OSError as exc:
            raise CommandError(f"cannot read {args.passphrase_file}: {exc.strerror}") from None
        lines = [line for line in lines if line]
        if len(lines) < len(ids):
            raise CommandError(f"{args.passphrase_file} has {len(lines)} passphrase(s), "
                               f"{len(ids)} needed")
        return lines[:len(ids)]
    if not sys.stdin.isatty():
        raise CommandError("no passphrases: use --passphrase-file, run in a terminal to be "
                           "prompted, or --generate-passphrases (labs only)")
    out = []
    for custodian_id in ids:
        first = getpass.getpass(f"passphrase for {custodian_id}: ")
        if getpass.getpass(f"again for {custodian_id}: ") != first:
            raise CommandError(f"the passphrases for {custodian_id} differ")
        out.append(first)
    return out


def _kdf(args: argparse.Namespace) -> keystore.KdfParams:
    return keystore.FAST_KDF if args.lab_kdf else keystore.DEFAULT_KDF


def ceremony_command(args: argparse.Namespace) -> int:
    try:
        backup = tuple(int(x) for x in args.backup.split("/"))
    except ValueError:
        raise CommandError("--backup is K/M, e.g. 2/3") from None
    if len(backup) != 2:
        raise CommandError("--backup is K/M, e.g. 2/3")
    if not 2 <= args.custodians <= 16:
        raise CommandError("--custodians must be in 2..16")
    ids = [f"K{i + 1}" for i in range(args.custodians)]
    passphrases = _passphrases(args, ids)
    try:
        result = ceremony.run_ceremony(args.out, args.custodians, args.threshold, passphrases,
                                       epoch=args.epoch, jurisdictions=args.jurisdiction,
                                       backup=backup, kdf=_kdf(args),
                                       lab_passphrase_files=args.generate_passphrases)
    except EscrowError as exc:
        raise CommandError(str(exc)) from None
    cset = result.custodian_set
    summary = {
        "set_file": str(args.out / ceremony.SET_FILE),
        "set_fingerprint": cset.fingerprint.hex(),
        "epoch": cset.epoch,
        "threshold": cset.threshold,
        "custodians": [
            {"id": m.custodian_id, "jurisdiction": m.jurisdiction,
             "keystore": str(result.keystore_path(m.custodian_id)),
             "backups": [str(p) for p in result.backup_paths(m.custodian_id)]}
            for m in cset.members
        ],
        "backup": f"{result.backup_threshold}/{result.backup_count}",
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"custodian set {cset.describe()}")
    print(f"  fingerprint {cset.fingerprint.hex()}")
    print(f"  descriptor  {summary['set_file']} (clients pin this)")
    for member in summary["custodians"]:
        print(f"  {member['id']:<4} {member['jurisdiction']:<6} keystore {member['keystore']}")
        print(f"       SLIP-39 backups ({summary['backup']} needed): "
              + ", ".join(Path(p).name for p in member["backups"]))
    print("Hand each backup share to a different holder, then delete it from this machine.")
    if args.generate_passphrases:
        print("Lab passphrases were written next to each keystore "
              f"({ceremony.LAB_PASSPHRASE_FILE}).")
    return 0


def _read_mnemonics(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not a text file of SLIP-39 mnemonics") from None


def restore_command(args: argparse.Namespace) -> int:
    try:
        cset = CustodianSet.loads(args.set_file.read_bytes())
        mnemonics = []
        for path in args.mnemonics:
            mnemonics += _read_mnemonics(path)
    except OSError as exc:
        raise CommandError(f"cannot read {exc.filename}: {exc.strerror}") from None
    except EscrowError as exc:
        raise CommandError(str(exc)) from None
    try:
        custodian = ceremony.restore(mnemonics, cset, args.custodian)
        passphrase = _passphrases(args, [args.custodian])[0]
        keystore.save(args.out, custodian, passphrase, _kdf(args))
    except EscrowError as exc:
        raise CommandError(str(exc)) from None
    summary = {"custodian": args.custodian, "set_fingerprint": cset.fingerprint.hex(),
               "epoch": cset.epoch, "keystore": str(args.out)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"restored {args.custodian} of set {cset.describe()}; keys match the set; "
              f"new keystore {args.out}")
    return 0
