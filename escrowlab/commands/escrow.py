"""``escrowlab escrow``: the custodians' key ceremony and key restore (docs/formats.md).

- ``escrowlab escrow ceremony --custodians N --threshold T --out DIR`` generates
  N custodians' keys, the set descriptor ``DIR/set.json`` (what clients pin),
  each custodian's keystore (Argon2id + AES-GCM) and SLIP-39 backup shares of
  each custodian's private keys (2 of 3 by default).
- ``escrowlab escrow restore --set DIR/set.json --custodian K1 --mnemonics F...
  --out PATH`` rebuilds a custodian's keys from its backup shares, checks them
  against the set, and writes a new keystore.

Passphrases come from ``--passphrase-file`` (one per line), from prompts when
stdin is a terminal, or, for the ceremony in labs only, ``--generate-passphrases``
(exclusive with ``--passphrase-file``).

Every file these commands read (set descriptor, mnemonics, passphrases) is read
with a size bound and refused with a clear error when it is not what it should be
(a foreign, binary or corrupt file); every file or directory they write must not
exist yet, and is checked before anything is asked or written, so a refused command
changes nothing.
"""

from __future__ import annotations

import argparse
import getpass
import json
import secrets
import sys
from pathlib import Path

from escrow import ceremony, custodian_set, keystore
from escrow.custodian_set import MAX_CUSTODIANS, MIN_THRESHOLD, CustodianSet
from escrow.errors import EscrowError
from escrow.shares import MAX_SHARES
from escrowlab.arguments import int_in_range
from escrowlab.cli import CommandError

MAX_TEXT_FILE = 64 * 1024  # mnemonics and passphrase files: a few KiB at most
MAX_EPOCH = 2**32 - 1


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
    run.add_argument("--custodians", type=int_in_range(MIN_THRESHOLD, MAX_CUSTODIANS),
                     required=True, metavar="N",
                     help=f"number of custodians n ({MIN_THRESHOLD}..{MAX_CUSTODIANS})")
    run.add_argument("--threshold", type=int_in_range(1, MAX_CUSTODIANS), required=True,
                     metavar="T",
                     help="custodians needed to recover, t (2..n; t=1 is refused)")
    run.add_argument("--out", type=Path, required=True, metavar="DIR",
                     help="new or empty directory to write into")
    run.add_argument("--epoch", type=int_in_range(0, MAX_EPOCH), default=1,
                     help=f"set epoch, 0..{MAX_EPOCH} (default 1; rotation is a new ceremony "
                          "with the next epoch)")
    run.add_argument("--jurisdiction", action="append", metavar="TAG",
                     help="jurisdiction of each custodian in order (repeat; default JA)")
    run.add_argument("--backup", type=_backup, default=(2, 3), metavar="K/M",
                     help="SLIP-39 backup shares per custodian: K of M needed, "
                          f"2 <= K <= M <= {MAX_SHARES} (default 2/3)")
    source = run.add_mutually_exclusive_group()
    _passphrase_options(run, source)
    source.add_argument("--generate-passphrases", action="store_true",
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
    _passphrase_options(restore, restore)
    restore.add_argument("--json", action="store_true", help="print one JSON object")
    restore.set_defaults(func=restore_command)


def _backup(text: str) -> tuple[int, int]:
    """``K/M`` with 2 <= K <= M <= :data:`~escrow.shares.MAX_SHARES` (SLIP-39's share
    counts)."""
    try:
        threshold, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/M such as 2/3, got {text!r}") from None
    if not 2 <= threshold <= count <= MAX_SHARES:
        raise argparse.ArgumentTypeError(
            f"expected K/M with 2 <= K <= M <= {MAX_SHARES}, got {text}")
    return threshold, count


def _passphrase_options(parser: argparse.ArgumentParser, source) -> None:
    source.add_argument("--passphrase-file", type=Path, metavar="FILE",
                        help="keystore passphrases, one per line (one per custodian)")
    parser.add_argument("--lab-kdf", action="store_true",
                        help="cheap Argon2id parameters (t=1, 8 MiB) for labs and tests; "
                             "default is RFC 9106's t=3, 64 MiB")


def _passphrases(args: argparse.Namespace, ids: list[str]) -> list[str]:
    if getattr(args, "generate_passphrases", False):
        return [secrets.token_urlsafe(18) for _ in ids]
    if args.passphrase_file is not None:
        lines = _read_text(args.passphrase_file, "a passphrase file").splitlines()
        lines = [line for line in lines if line]
        if len(lines) < len(ids):
            raise CommandError(f"{args.passphrase_file} has {len(lines)} passphrase(s), "
                               f"{len(ids)} needed")
        return lines[:len(ids)]
    if not sys.stdin.isatty():
        lab = (", or --generate-passphrases (labs only)"
               if hasattr(args, "generate_passphrases") else "")
        raise CommandError(f"no passphrases: use --passphrase-file or run in a terminal to be "
                           f"prompted{lab}")
    out = []
    for custodian_id in ids:
        first = getpass.getpass(f"passphrase for {custodian_id}: ")
        if getpass.getpass(f"again for {custodian_id}: ") != first:
            raise CommandError(f"the passphrases for {custodian_id} differ")
        out.append(first)
    return out


def _kdf(args: argparse.Namespace) -> keystore.KdfParams:
    return keystore.FAST_KDF if args.lab_kdf else keystore.DEFAULT_KDF


def _read_text(path: Path, what: str, limit: int = MAX_TEXT_FILE) -> str:
    """The UTF-8 text of ``path`` (at most ``limit`` bytes), or a clear :class:`CommandError`."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > limit:
        raise CommandError(f"{path} is not {what}: over {limit:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not {what}: not UTF-8 text") from None
    if "\0" in text:
        raise CommandError(f"{path} is not {what}: it holds NUL bytes")
    return text


def _must_not_exist(path: Path, what: str) -> None:
    if path.exists() or path.is_symlink():
        raise CommandError(f"{path} already exists; {what} is written only to a new path "
                           "(nothing was changed)")


def ceremony_command(args: argparse.Namespace) -> int:
    if args.out.is_symlink() or (args.out.exists() and (not args.out.is_dir()
                                                         or any(args.out.iterdir()))):
        raise CommandError(f"{args.out} exists and is not an empty directory; the ceremony "
                           "writes only into a new or empty one (nothing was changed)")
    ids = [f"K{i + 1}" for i in range(args.custodians)]
    passphrases = _passphrases(args, ids)
    try:
        result = ceremony.run_ceremony(args.out, args.custodians, args.threshold, passphrases,
                                       epoch=args.epoch, jurisdictions=args.jurisdiction,
                                       backup=args.backup, kdf=_kdf(args),
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


def restore_command(args: argparse.Namespace) -> int:
    _must_not_exist(args.out, "a restored keystore")
    text = _read_text(args.set_file, "a custodian set descriptor",
                      custodian_set.MAX_SET_FILE_LENGTH)
    try:
        cset = CustodianSet.loads(text)
    except EscrowError as exc:
        raise CommandError(f"{args.set_file} is not a custodian set descriptor: {exc}") \
            from None
    mnemonics = []
    for path in args.mnemonics:
        mnemonics += _read_text(path, "a text file of SLIP-39 mnemonics").splitlines()
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
