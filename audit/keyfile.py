"""Signer key files: the log's and each witness's private key on disk.

A key file holds one note signer key (``PRIVATE+KEY+<name>+<id>+<key>``,
:meth:`audit.note.Signer.skey`) and a newline. It is created readable by its
owner only (mode 0600) and never replaces an existing file; a key file that
others can read is refused, as OpenSSH refuses such a private key. A log key
(Ed25519, type 0x01) and a witness key (cosignature/v1, type 0x04) are not
interchangeable (C2SP tlog-cosignature): reading one where the other is
expected is refused too.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from audit.errors import AuditError
from audit.note import SIG_TYPE_COSIGNATURE_V1, Signer

__all__ = ["KeyFileError", "MAX_KEY_FILE_BYTES", "read_signer", "write_signer"]

MAX_KEY_FILE_BYTES = 4096
"""A signer key line is under 200 bytes; anything much longer is not a key file."""


class KeyFileError(AuditError):
    """A key file that cannot be written, read, or is not a key of the kind asked for."""


def write_signer(path: str, signer: Signer) -> None:
    """Write ``signer``'s key to a new file at ``path`` with mode 0600; never replace one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise KeyFileError(f"cannot write key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(signer.skey + "\n")


def read_signer(path: str, sig_type: int, now: Callable[[], float]) -> Signer:
    """The signer key in ``path``, which must be of ``sig_type`` (log 0x01, witness 0x04)
    and readable by its owner only."""
    try:
        mode = os.stat(path).st_mode
        if mode & 0o077:
            raise KeyFileError(f"key file {path} is readable by others (mode {mode & 0o777:o}); "
                               f"run chmod 600 {path}")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    if len(raw) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{path} is longer than any key file ({MAX_KEY_FILE_BYTES} bytes)")
    try:
        signer = Signer.from_skey(raw.decode("utf-8"), now)
    except UnicodeDecodeError:
        raise KeyFileError(f"{path}: key file is not UTF-8 text") from None
    except AuditError as exc:
        raise KeyFileError(f"{path}: {exc}") from None
    if signer.sig_type != sig_type:
        found, wanted = (("a witness (cosignature/v1)", "log")
                         if signer.sig_type == SIG_TYPE_COSIGNATURE_V1
                         else ("a log", "witness (cosignature/v1)"))
        raise KeyFileError(f"{path} is {found} key, not a {wanted} key")
    return signer
