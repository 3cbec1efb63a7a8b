"""The ``threshold`` escrow mode: every sending chain key split t-of-n among custodians
(docs/architecture.md, "Escrow modes").

For each new sending chain, :meth:`ThresholdEscrow.record_for_chain` takes the
escrowed secret (the chain key CK_0), splits it into SLIP-39 shares
(:mod:`escrow.shares`) and encrypts share i to custodian i, all under one
ephemeral X25519 key per record (:func:`escrow.sealing.seal_to_each`: custodian
i's index and public key are in its key derivation), with associated data
binding the whole context: record version, mode, mode parameters, set
fingerprint and epoch, t, SLIP-39 identifier, secret length, the ephemeral
public key, protocol version, conversation, sender, recipient, chain number,
time, ratchet key and the custodian index (n is fixed by the set fingerprint).
Layout in :mod:`escrow.record`.

Determinism. Every random choice -- the SLIP-39 identifier, the record's
ephemeral X25519 key (and so every AEAD key and nonce), the polynomial's random
coefficients and digest salt -- is one HKDF-SHA256 output keyed by the chain key,
with the mode, the set fingerprint, the mode parameters and the canonical
context as ``info``. The
recipient, who derives the same CK_0, recomputes the record byte for byte in
:meth:`ThresholdEscrow.check_chain` and refuses the chain if anything differs;
so a sender cannot hand custodians garbage while the recipient accepts.

Why this does not weaken the shares: (1) every derived value is a PRF output
under the chain key, so it is exactly as hard to predict as the chain key
itself; whoever can compute it already holds the secret the shares protect.
(2) Nothing derived is ever published unencrypted except the ephemeral public key,
which is as good as random to anyone without CK_0. (3) The shares travel
encrypted to their custodians, so a reader of the archive sees none of them, and
t-1 custodians see t-1 points of a polynomial whose other coefficients are
unpredictable PRF outputs: the information-theoretic secrecy of Shamir sharing
becomes computational secrecy under HKDF keyed by a 256-bit key, the same
assumption the Double Ratchet already makes for every message key. (4) Chain
keys never repeat, so deterministic encryption reveals no equalities.

SLIP-39 compatibility (docs/formats.md, "SLIP-39 shares"). A custodian's opened
share is a SLIP-39 share (one group, group threshold 1, member threshold t,
iteration exponent 0, extendable; :func:`escrow.shares.mnemonic` renders it as
words) whose *encrypted master secret* is the escrowed secret itself: there is no
passphrase and no SLIP-39 encryption step. So the escrowed secret (here CK_0) is
``shamir_mnemonic.recover_ems(decode_mnemonics(words)).ciphertext`` from any t of
them, which is what :func:`escrow.shares.combine` does. The standard
``shamir_mnemonic.combine_mnemonics`` -- what wallets and the ``shamir recover``
tool run -- goes one step further and *decrypts* that value with SLIP-39's Feistel
cipher under the empty passphrase, so it prints other bytes ``M``; the escrowed
secret is then ``EncryptedMasterSecret.from_master_secret(M, b"", identifier, True,
0).ciphertext``. (The ceremony's backups of custodian keys, :mod:`escrow.ceremony`,
are standard: ``combine_mnemonics`` returns the keys.)
``tests/escrow/test_slip39_standard.py`` pins all three facts.

Extension point (for modes that escrow something other than the bare chain
key, such as a puzzle-locked chain key): subclass, set ``mode``, and override

- :meth:`ThresholdEscrow.escrowed_secret` ``(context) -> bytes``: the secret to
  share for this chain (16..32 bytes, even); it must be a deterministic
  function of the context, chain key included, or the recipient's check fails;
- :meth:`ThresholdEscrow.chain_key_from_secret` ``(secret, record_context) ->
  bytes``: undo it at recovery time;
- :meth:`ThresholdEscrow.mode_parameters` ``() -> bytes`` and
  :meth:`ThresholdEscrow.check_parameters`: the parameters this hook writes
  into every record (none here), and the recipient's check of a record's.

The record carries the mode id and parameters, so a record of one mode (or
made with other parameters) never verifies in another; everything else
(record layout, release, recovery) is shared.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from escrow import sealing, shares
from escrow.context import RecordContext
from escrow.custodian_set import CustodianSet
from escrow.errors import EscrowError, ModeError, RecordFormatError, RecordRefusedError
from escrow.record import (
    EPHEMERAL_LENGTH,
    RECORD_VERSION,
    EscrowRecord,
    encode_header,
    parse_record,
)
from messaging.errors import ModeIdError
from messaging.hooks import ChainContext, validate_mode_id

SHARE_LABEL = b"escrowlab threshold share v2\x00"
_RANDOMNESS_SALT = b"escrowlab threshold record randomness v2"
_IDENTIFIER_LENGTH = 2
_SHA256 = hashes.SHA256()


@dataclass(frozen=True)
class BuiltRecord:
    """A record and the share values in it (secret: no ``repr``)."""

    record: bytes
    share_values: tuple[bytes, ...] = field(repr=False)


def share_associated_data(record: EscrowRecord, context: RecordContext, index: int) -> bytes:
    """What share ``index`` of ``record`` is bound to: the record's header (every byte before
    the first share), the context and the index."""
    return _associated_prefix(record.header(), context.encode()) + bytes((index,))


def _associated_prefix(header: bytes, encoded_context: bytes) -> bytes:
    return header + struct.pack(">I", len(header)) + encoded_context


class ThresholdEscrow:
    """The escrow hook of mode ``threshold`` for the pinned ``custodian_set``."""

    mode = "threshold"

    def __init__(self, custodian_set: CustodianSet) -> None:
        if not isinstance(custodian_set, CustodianSet):
            raise TypeError("ThresholdEscrow needs a CustodianSet")
        try:
            validate_mode_id(self.mode)
        except ModeIdError as exc:
            raise ModeError(f"{type(self).__name__}: {exc}") from None
        self.custodian_set = custodian_set
        self._recipients = [
            (X25519PublicKey.from_public_bytes(m.share_key), m.share_key)
            for m in custodian_set.members
        ]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.custodian_set.describe()})"

    # -- extension points -----------------------------------------------------------------

    def escrowed_secret(self, context: ChainContext) -> bytes:
        """The secret shared among the custodians for this chain: here, CK_0 itself."""
        return context.chain_key

    def chain_key_from_secret(self, secret: bytes, record_context: RecordContext) -> bytes:
        """The chain key a recovered ``secret`` stands for: here, the secret itself."""
        return secret

    def mode_parameters(self) -> bytes:
        """The mode parameters written into every record (none for ``threshold``)."""
        return b""

    def check_parameters(self, parameters: bytes) -> None:
        """Refuse a record whose mode parameters are not this hook's."""
        if parameters != self.mode_parameters():
            raise RecordRefusedError(
                f"escrow record has mode parameters {parameters.hex() or 'none'}, "
                f"this hook writes {self.mode_parameters().hex() or 'none'}"
            )

    # -- the hook ---------------------------------------------------------------------------

    def record_for_chain(self, context: ChainContext) -> bytes:
        return self.build(context).record

    def check_record(self, record: bytes) -> EscrowRecord:
        """The parsed ``record`` if this deployment's recipients could accept it for some
        chain key: well formed, of this mode, for the pinned set (fingerprint, epoch, t, n)
        and with this hook's mode parameters; :class:`RecordRefusedError` otherwise.

        Recovery screens archived records with it before touching any key
        (:mod:`escrow.scope`), so a record no honest recipient accepts is reported, never
        worked on.
        """
        try:
            parsed = parse_record(record)
        except RecordFormatError as exc:
            raise RecordRefusedError(f"escrow record refused: {exc}") from None
        cset = self.custodian_set
        if parsed.mode != self.mode:
            raise RecordRefusedError(f"escrow record is of mode {parsed.mode!r}, "
                                     f"expected {self.mode!r}")
        if parsed.set_fingerprint != cset.fingerprint or parsed.set_epoch != cset.epoch:
            raise RecordRefusedError(
                f"escrow record was made for custodian set "
                f"{parsed.set_fingerprint.hex()[:16]} (epoch {parsed.set_epoch}); this client "
                f"pins {cset.describe()}"
            )
        if (parsed.threshold, len(parsed.shares)) != (cset.threshold, cset.n):
            raise RecordRefusedError(
                f"escrow record is {parsed.threshold}-of-{len(parsed.shares)}, the pinned set "
                f"is {cset.threshold}-of-{cset.n}"
            )
        self.check_parameters(parsed.parameters)
        return parsed

    def check_chain(self, context: ChainContext, record: bytes) -> None:
        """Recompute the record from the chain key and context; refuse any difference."""

        def refused(reason: str) -> RecordRefusedError:
            return RecordRefusedError(f"{RecordContext.of_chain(context).describe()}: {reason}")

        if context.mode != self.mode:
            raise refused(f"chain uses mode {context.mode!r}, this hook enforces {self.mode!r}")
        try:
            expected = self.build(context).record
        except EscrowError as exc:  # ShareError here; a subclass's own (crumple: PuzzleError)
            raise refused(f"cannot recompute the escrow record: {exc}") from None
        if isinstance(record, bytes) and hmac.compare_digest(expected, record):
            return  # what this hook makes is well formed, of its set and mode: nothing to parse
        try:  # name the first thing wrong with it
            self.check_record(record)
        except RecordRefusedError as exc:
            raise refused(str(exc)) from None
        raise refused("escrow record does not match the chain key and context "
                      "(altered, forged or non-conforming)")

    # -- construction -----------------------------------------------------------------------

    def build(self, context: ChainContext) -> BuiltRecord:
        """The record for ``context`` and its share values, all randomness from CK_0."""
        cset = self.custodian_set
        secret = self.escrowed_secret(context)
        encoded_context = RecordContext.of_chain(context).encode()
        parameters = self.mode_parameters()
        t, n = cset.threshold, cset.n
        random_length = shares.random_length(t, len(secret))
        shares_at = _IDENTIFIER_LENGTH + EPHEMERAL_LENGTH
        stream = HKDF(
            _SHA256, shares_at + random_length, _RANDOMNESS_SALT,
            self.mode.encode("ascii") + cset.fingerprint + bytes((len(parameters),))
            + parameters + encoded_context,
        ).derive(context.chain_key)
        identifier = int.from_bytes(stream[:_IDENTIFIER_LENGTH], "big") >> 1
        ephemeral = X25519PrivateKey.from_private_bytes(stream[_IDENTIFIER_LENGTH:shares_at])
        values = shares.split(secret, t, n, stream[shares_at:])
        header = encode_header(RECORD_VERSION, self.mode, cset.fingerprint, cset.epoch, t, n,
                               identifier, len(secret), parameters,
                               ephemeral.public_key().public_bytes_raw())
        prefix = _associated_prefix(header, encoded_context)
        _, sealed = sealing.seal_to_each(ephemeral, self._recipients, values,
                                         [prefix + bytes((i,)) for i in range(n)], SHARE_LABEL)
        return BuiltRecord(header + b"".join(sealed), tuple(values))
