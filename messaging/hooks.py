"""The escrow hook: the only place escrow touches the Double Ratchet (docs/architecture.md, "Data
flow" 2-3).

When a session starts a new *sending* chain (its first, and after every DH
ratchet step) it calls :meth:`EscrowHook.record_for_chain` with the chain's
:class:`ChainContext`; the returned record rides, in clear, with every message
of that chain, and ``SHA-256(record)`` is part of each message's AEAD
associated data. When a session is about to accept a new *receiving* chain it
recomputes the same context from the header and calls
:meth:`EscrowHook.check_chain`; a refusal raises
:class:`messaging.errors.HookRefusedError` and leaves the session unchanged.

Lawful access reads archived messages through :func:`open_chain` (and
:func:`open_message` for one message): given a chain's CK_0 (recovered from
escrow) it opens the messages of that chain, and nothing else; this is the only
read path escrow code needs. It steps the chain as far as an honest recipient
would (MAX_SKIP past the last message that opened), so one injected envelope
with a huge message number cannot make recovery step a chain 2^32 times.

The hook's ``mode`` id is bound into the session's associated data, so a
message made under one mode never decrypts in a session of another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from messaging.errors import DecryptionError, HookRefusedError, MessagingError
from messaging.identity import IdentityPublic
from messaging.limits import MAX_RECORD_LENGTH, MAX_SKIP, PROTOCOL_VERSION
from messaging.mode_id import validate_mode_id
from messaging.ratchet import (
    associated_data_prefix,
    kdf_ck,
    message_associated_data,
    message_key_for,
    open_sealed,
)
from messaging.wire import Envelope

__all__ = [
    "MAX_RECORD_LENGTH",
    "PROTOCOL_VERSION",
    "ChainContext",
    "EscrowHook",
    "NoEscrow",
    "message_key_for",
    "open_chain",
    "open_message",
    "validate_mode_id",
]


@dataclass(frozen=True)
class ChainContext:
    """Everything one sending chain is bound to.

    ``chain_key`` is the chain's first chain key (CK_0, before any message key
    was derived from it). It is a secret: it has no ``repr``.
    ``time`` is the sender's clock when the chain began (seconds since the
    epoch); it is a *claim* of the sender, never a basis for warrant windows.
    """

    protocol_version: int
    mode: str
    conversation_id: str
    sender: str
    recipient: str
    chain_number: int
    chain_key: bytes = field(repr=False)
    ratchet_public_key: bytes
    time: int


@runtime_checkable
class EscrowHook(Protocol):
    """What an escrow mode implements. ``mode`` is a short ASCII id such as ``"threshold"``."""

    mode: str

    def record_for_chain(self, context: ChainContext) -> bytes:
        """Return the record for a new sending chain (``b""`` when nothing is escrowed)."""
        ...

    def check_chain(self, context: ChainContext, record: bytes) -> None:
        """Accept ``record`` for a new receiving chain, or raise ``HookRefusedError``."""
        ...


class NoEscrow:
    """The default hook (mode ``none``): escrows nothing and accepts only an empty record."""

    mode = "none"

    def record_for_chain(self, context: ChainContext) -> bytes:
        return b""

    def check_chain(self, context: ChainContext, record: bytes) -> None:
        if record:
            raise HookRefusedError(
                "mode 'none' expects no escrow record, but the chain carries one"
            )


def open_chain(
    chain_key: bytes,
    envelopes: Sequence[Envelope],
    identity_of: Callable[[str], IdentityPublic],
) -> list[bytes | None]:
    """Decrypt the archived messages of the chain whose first chain key is ``chain_key``.

    Item ``i`` of the result is the plaintext of ``envelopes[i]``, or ``None`` if it
    does not open (wrong key, any bound field altered, a device ``identity_of``
    does not know). Envelopes are tried in increasing message number, stepping
    KDF_CK once per number (Double Ratchet section 5.2), and a number more than
    MAX_SKIP past the last message that opened (or past 0) is not tried at all:
    an honest recipient refuses such a message (section 3.5), so nothing a
    recipient accepted is missed, while an injected envelope numbered 2^31 costs
    nothing. Work: at most ``(opened + 1) * (MAX_SKIP + 1)`` KDF_CK steps.
    """
    results: list[bytes | None] = [None] * len(envelopes)
    order = sorted(range(len(envelopes)), key=lambda i: envelopes[i].header.message_number)
    key, position, limit = chain_key, 0, MAX_SKIP  # key is CK_position
    for i in order:
        envelope = envelopes[i]
        number = envelope.header.message_number
        if number > limit:
            break  # sorted: every later number is beyond the limit too
        while position < number:
            key, _ = kdf_ck(key)
            position += 1
        try:
            associated_data = _associated_data(envelope, identity_of(envelope.sender),
                                               identity_of(envelope.recipient))
            results[i] = open_sealed(kdf_ck(key)[1], envelope.ciphertext, associated_data)
        except MessagingError:
            continue
        limit = max(limit, number + 1 + MAX_SKIP)
    return results


def _associated_data(envelope: Envelope, sender_identity: IdentityPublic,
                     recipient_identity: IdentityPublic) -> bytes:
    """A message's full associated data (:func:`messaging.ratchet.message_associated_data`,
    the PQXDH block included for a prekey message, the voucher's digest for one with a
    voucher)."""
    header = envelope.header
    return message_associated_data(
        associated_data_prefix(header.mode, envelope.conversation_id, envelope.sender,
                               envelope.recipient, sender_identity, recipient_identity),
        header.authenticated_bytes(),
        None if envelope.prekey is None else envelope.prekey.encode(),
        envelope.voucher,
    )


def open_message(
    chain_key: bytes,
    envelope: Envelope,
    sender_identity: IdentityPublic,
    recipient_identity: IdentityPublic,
) -> bytes:
    """Decrypt one archived message of the chain whose first chain key is ``chain_key``.

    :func:`open_chain` for a single envelope: a message numbered beyond MAX_SKIP
    needs its chain's earlier messages and opens only through :func:`open_chain`.
    Raises :class:`messaging.errors.DecryptionError` if it does not open.
    """
    identities = {envelope.sender: sender_identity, envelope.recipient: recipient_identity}
    (plaintext,) = open_chain(chain_key, [envelope], identities.__getitem__)
    if plaintext is None:
        raise DecryptionError("the message does not open under this chain key")
    return plaintext
