"""The key ceremony: custodian keys, the set descriptor, and SLIP-39 backups (docs/formats.md,
"Ceremony backups: standard"; SLIP-0039 for the backups).

:func:`run_ceremony` generates n custodians' keys and writes, under ``out``::

    set.json                     the custodian set (public; clients pin it)
    K1/keystore.json             K1's private keys, Argon2id + AES-GCM (escrow.keystore)
    K1/backup-1-of-3.txt ...     K1's private keys as SLIP-39 mnemonic shares

Each backup share is meant for a different holder; any ``backup_threshold``
of them rebuild the key (:func:`restore`), which is checked against the set
before it is accepted. The SLIP-39 passphrase is empty: the shares' holders
are the protection, and the keystore passphrase stays the custodian's own.

Fail closed, change nothing (docs/architecture.md, "Principles"): everything is written
into a private staging directory beside ``out`` (mode 0700) that is renamed to
``out`` only once complete; on any failure the staging directory, and any
parent directory the ceremony created, is removed and a :class:`CeremonyError`
names the cause.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from shamir_mnemonic import MnemonicError, combine_mnemonics, generate_mnemonics

from escrow import keystore
from escrow.custodian import Custodian, CustodianKeys
from escrow.custodian_set import CustodianSet
from escrow.errors import CeremonyError, CustodianSetError, KeystoreError
from escrow.shares import MAX_SHARES

SET_FILE = "set.json"
KEYSTORE_FILE = "keystore.json"
LAB_PASSPHRASE_FILE = "passphrase.txt"  # noqa: S105 (a file name, not a password)


@dataclass(frozen=True)
class CeremonyResult:
    custodian_set: CustodianSet
    directory: Path
    backup_threshold: int
    backup_count: int

    def keystore_path(self, custodian_id: str) -> Path:
        return self.directory / custodian_id / KEYSTORE_FILE

    def backup_paths(self, custodian_id: str) -> list[Path]:
        return [self.directory / custodian_id / f"backup-{i}-of-{self.backup_count}.txt"
                for i in range(1, self.backup_count + 1)]


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def run_ceremony(out: Path, custodians: int, threshold: int, passphrases: Sequence[str], *,
                 epoch: int = 1, jurisdictions: Sequence[str] | None = None,
                 backup: tuple[int, int] = (2, 3),
                 kdf: keystore.KdfParams = keystore.DEFAULT_KDF,
                 lab_passphrase_files: bool = False) -> CeremonyResult:
    """Generate a t-of-n custodian set in the new (or empty) directory ``out``.

    ``lab_passphrase_files`` also writes each keystore's passphrase beside it
    (:data:`LAB_PASSPHRASE_FILE`): for labs and tests only.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CeremonyError(f"{out} exists and is not an empty directory")
    if len(passphrases) != custodians:
        raise CeremonyError(f"need one passphrase per custodian ({custodians}), "
                            f"got {len(passphrases)}")
    backup_threshold, backup_count = backup
    if not 2 <= backup_threshold <= backup_count <= MAX_SHARES:
        raise CeremonyError(f"backups need 2 <= threshold <= shares <= {MAX_SHARES}")
    jurisdictions = list(jurisdictions or ["JA"] * custodians)
    if len(jurisdictions) != custodians:
        raise CeremonyError("need one jurisdiction per custodian")
    try:
        members = [Custodian.generate(f"K{i + 1}", f"Custodian {i + 1}", jurisdictions[i])
                   for i in range(custodians)]
        cset = CustodianSet(epoch, threshold, tuple(m.public for m in members))
    except CustodianSetError as exc:
        raise CeremonyError(str(exc)) from None
    for passphrase in passphrases:
        try:
            keystore.check_passphrase(passphrase)
        except KeystoreError as exc:
            raise CeremonyError(str(exc)) from None
    result = CeremonyResult(cset, out, backup_threshold, backup_count)
    with _staging(out) as staging:
        staged = CeremonyResult(cset, staging, backup_threshold, backup_count)
        for custodian, passphrase in zip(members, passphrases, strict=True):
            _write_custodian(staged, custodian, passphrase, kdf, lab_passphrase_files)
        (staging / SET_FILE).write_text(cset.canonical_bytes().decode() + "\n")
    return result


def _write_custodian(result: CeremonyResult, custodian: Custodian, passphrase: str,
                     kdf: keystore.KdfParams, lab_passphrase_file: bool) -> None:
    folder = result.directory / custodian.custodian_id
    folder.mkdir(mode=0o700)
    keystore.save(result.keystore_path(custodian.custodian_id), custodian, passphrase, kdf)
    groups = generate_mnemonics(1, [(result.backup_threshold, result.backup_count)],
                                custodian.keys.private_bytes())
    for path, words in zip(result.backup_paths(custodian.custodian_id), groups[0], strict=True):
        _write_private(path, words + "\n")
    if lab_passphrase_file:
        _write_private(folder / LAB_PASSPHRASE_FILE, passphrase + "\n")


@contextlib.contextmanager
def _staging(out: Path) -> Iterator[Path]:
    """A private directory beside ``out``, renamed to ``out`` when the block succeeds;
    on any failure, nothing the ceremony created is left behind."""
    created: list[Path] = []
    staging: Path | None = None
    try:
        for parent in reversed([out.parent, *out.parent.parents]):
            if not parent.exists():
                parent.mkdir()
                created.append(parent)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        yield staging
        os.rename(staging, out)
    except BaseException as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        for parent in reversed(created):
            with contextlib.suppress(OSError):
                parent.rmdir()
        if isinstance(exc, OSError | KeystoreError):
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CeremonyError(f"cannot write the ceremony to {out}: {reason}") from None
        raise


def restore(mnemonics: Sequence[str], custodian_set: CustodianSet, custodian_id: str
            ) -> Custodian:
    """Rebuild custodian ``custodian_id`` of ``custodian_set`` from its backup mnemonics."""
    try:
        member = custodian_set.members[custodian_set.index_of(custodian_id)]
    except CustodianSetError as exc:
        raise CeremonyError(str(exc)) from None
    try:
        private = combine_mnemonics([m.strip() for m in mnemonics if m.strip()])
    except (MnemonicError, ValueError) as exc:
        raise CeremonyError(f"the mnemonics do not combine: {exc}") from None
    try:
        keys = CustodianKeys.from_private_bytes(private)
    except KeystoreError as exc:
        raise CeremonyError(f"the mnemonics hold no custodian key: {exc}") from None
    if not keys.matches(member):
        raise CeremonyError(f"the mnemonics rebuild a key that is not {custodian_id}'s in "
                            f"{custodian_set.describe()}")
    return Custodian(member, keys)
