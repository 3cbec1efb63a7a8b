"""Sessions: PQXDH to start, the Double Ratchet to run (libsignal ``session_cipher.rs``).

Implements Signal's Double Ratchet (revision 4) section 3.3 (initialisation:
``RatchetInitAlice`` / ``RatchetInitBob``, the responder's first ratchet key
pair being its signed prekey, section 7.1), 3.4 (``RatchetEncrypt``) and 3.5
(``RatchetDecrypt`` with skipped message keys), plus the escrow hook of
docs/architecture.md "Data flow" 2-3:

- a *sending* chain asks the hook for its record lazily, when its first
  message is encrypted (the context carries CK_0, the chain number and the
  sender's time);
- a *receiving* chain is accepted only after the hook checked the record
  against the context recomputed from the header and the derived CK_0;
  later messages of that chain must carry the same record, chain number and
  chain time (:func:`_chain_digest`), skipped ones included. The hook is asked
  *after* the message's AEAD tag verified, so it only ever sees a record the
  sender really sent (the record's hash is in the associated data): a record
  altered in transit fails as a bad tag, and the hook cannot serve as an
  oracle for unauthenticated records (a LEAF checksum oracle, for instance)
  nor be made to recompute records for forged messages.

Decryption is transactional: every new value is computed in locals and
committed only after the AEAD tag verified and the caller's ``read`` accepted
the plaintext, so any failure (malformed header, wrong conversation or
addresses, mode mismatch, replay, too many skipped keys, hook refusal, bad tag,
altered or stripped PQXDH block, content the caller refuses) raises a
:class:`~messaging.errors.MessagingError` and leaves the state byte-for-byte
unchanged.

Prekey messages: every message that carries the PQXDH block (the initiator
sends it until the first reply) binds the block's bytes into its associated
data (:func:`messaging.ratchet.message_associated_data`, which explains why with
PQXDH revision 3 sections 3.3-3.4), so a block altered or stripped in transit,
in the first message or any later one, fails as a bad tag.

Safety vouchers: a message may carry the content hook's voucher
(:meth:`Session.encrypt`, a version-2 envelope); its SHA-256 is in that
message's associated data, so a voucher stripped, swapped or added in transit
fails as a bad tag. Whether a message must carry one is the recipient device's
policy (:meth:`messaging.content_hook.ContentHook.check_incoming`), which the
client applies in ``read``.

One session exists per (conversation, local device, peer device).
"""

from __future__ import annotations

import hashlib
import struct
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from messaging.clock import Clock
from messaging.errors import (
    DecryptionError,
    HandshakeError,
    HookRefusedError,
    ModeMismatchError,
    ReplayError,
    StateError,
    TooManySkippedError,
    WireFormatError,
)
from messaging.hooks import ChainContext, EscrowHook
from messaging.identity import IdentityKeyPair, IdentityPublic
from messaging.limits import (
    MAX_EPOCH_SECONDS,
    MAX_MESSAGE_NUMBER,
    MAX_PLAINTEXT_LENGTH,
    MAX_RECORD_LENGTH,
    MAX_SKIP,
    MAX_SKIPPED_KEYS_TOTAL,
    PROTOCOL_VERSION,
)
from messaging.pqxdh import initiate, respond
from messaging.prekey_records import PrekeyBundle
from messaging.prekey_state import DevicePrekeys
from messaging.ratchet import (
    associated_data_prefix,
    kdf_ck,
    kdf_rk,
    message_associated_data,
    open_sealed,
    seal,
)
from messaging.state import SessionState, SkippedKey
from messaging.wire import Envelope, Header, envelope_version, parse_envelope, validate_id

_CHAIN_FIELDS = struct.Struct(">IQ")
T = TypeVar("T")


def _plaintext(plaintext: bytes) -> bytes:
    return plaintext


class Session:
    """One end of a pairwise session. Not thread-safe: serialise access per session."""

    def __init__(self, state: SessionState, hook: EscrowHook, clock: Clock) -> None:
        if hook.mode != state.mode:
            raise ModeMismatchError(
                f"session runs escrow mode {state.mode!r} but the hook is {hook.mode!r}"
            )
        self._state = state
        self._hook = hook
        self._clock = clock
        self._ad_send = associated_data_prefix(
            state.mode, state.conversation_id, state.local_address, state.peer_address,
            state.local_identity, state.peer_identity)
        self._ad_receive = associated_data_prefix(
            state.mode, state.conversation_id, state.peer_address, state.local_address,
            state.peer_identity, state.local_identity)
        self._send_record_hash = (
            hashlib.sha256(state.send_record).digest() if state.send_record is not None else None
        )

    def __repr__(self) -> str:
        return f"Session({self._state!r})"

    # -- public facts -------------------------------------------------------------------

    @property
    def conversation_id(self) -> str:
        return self._state.conversation_id

    @property
    def local_address(self) -> str:
        return self._state.local_address

    @property
    def peer_address(self) -> str:
        return self._state.peer_address

    @property
    def peer_identity(self) -> IdentityPublic:
        return self._state.peer_identity

    @property
    def mode(self) -> str:
        return self._state.mode

    @property
    def sending_chain_number(self) -> int:
        return self._state.send_chain_number

    def serialize(self) -> bytes:
        return self._state.serialize()

    @classmethod
    def deserialize(cls, data: bytes, hook: EscrowHook, clock: Clock) -> Session:
        return cls(SessionState.deserialize(data), hook, clock)

    # -- starting ---------------------------------------------------------------------------

    @classmethod
    def initiate(
        cls,
        identity: IdentityKeyPair,
        local_address: str,
        bundle: PrekeyBundle,
        peer_address: str,
        conversation_id: str,
        hook: EscrowHook,
        clock: Clock,
    ) -> Session:
        """PQXDH section 3.3 then ``RatchetInitAlice`` (Double Ratchet section 3.3)."""
        for text in (local_address, peer_address, conversation_id):
            validate_id(text)
        if bundle.mode != hook.mode:
            raise ModeMismatchError(
                f"{peer_address} runs escrow mode {bundle.mode!r}, this device {hook.mode!r}"
            )
        agreement, block = initiate(identity, bundle)
        remote = bundle.signed_prekey.public_key
        dh_private = X25519PrivateKey.generate()
        root_key, sending_chain_key = kdf_rk(
            agreement.shared_secret, dh_private.exchange(X25519PublicKey.from_public_bytes(remote))
        )
        state = SessionState(
            conversation_id=conversation_id,
            local_address=local_address,
            peer_address=peer_address,
            mode=hook.mode,
            local_identity=identity.public,
            peer_identity=bundle.identity,
            root_key=root_key,
            dh_private=dh_private,
            remote_ratchet_key=remote,
            sending_chain_key=sending_chain_key,
            receiving_chain_key=None,
            pending_prekey=block,
        )
        return cls(state, hook, clock)

    @classmethod
    def respond(
        cls,
        identity: IdentityKeyPair,
        prekeys: DevicePrekeys,
        local_address: str,
        envelope: bytes,
        hook: EscrowHook,
        clock: Clock,
        read: Callable[[bytes], T] = _plaintext,
    ) -> tuple[Session, T]:
        """PQXDH section 3.4 then ``RatchetInitBob`` and the first ``RatchetDecrypt``.

        Returns the session and ``read(plaintext)`` (see :meth:`decrypt`). On success the
        one-time prekeys the message used are deleted from ``prekeys`` (persist it
        afterwards); on any failure, a plaintext ``read`` refuses included, nothing changes.
        """
        parsed = parse_envelope(envelope)
        if parsed.prekey is None:
            raise HandshakeError("no session with this sender and the message is not a prekey "
                                 "message")
        if parsed.recipient != local_address:
            raise WireFormatError(
                f"message is addressed to {parsed.recipient!r}, not {local_address!r}")
        if parsed.header.mode != hook.mode or prekeys.mode != hook.mode:
            raise ModeMismatchError(
                f"message uses escrow mode {parsed.header.mode!r}, this device {hook.mode!r}")
        if parsed.prekey.identity.encode() == identity.public.encode() and \
                parsed.sender == local_address:
            raise HandshakeError("a device cannot start a session with itself")
        agreement, signed_prekey = respond(prekeys, parsed.prekey)
        state = SessionState(
            conversation_id=parsed.conversation_id,
            local_address=local_address,
            peer_address=parsed.sender,
            mode=hook.mode,
            local_identity=identity.public,
            peer_identity=parsed.prekey.identity,
            root_key=agreement.shared_secret,
            dh_private=signed_prekey,
            remote_ratchet_key=None,
            sending_chain_key=None,
            receiving_chain_key=None,
        )
        session = cls(state, hook, clock)
        result = session._decrypt_parsed(parsed, read)
        prekeys.consume(parsed.prekey.one_time_prekey_id, parsed.prekey.kem_prekey_id)
        return session, result

    # -- sending ----------------------------------------------------------------------------

    def encrypt(self, plaintext: bytes, voucher: bytes | None = None) -> bytes:
        """``RatchetEncrypt`` (section 3.4); returns the envelope bytes.

        ``voucher`` (the content hook's safety voucher for this message, 1..16384 bytes)
        rides in a version-2 envelope with its digest in the associated data
        (:func:`messaging.ratchet.message_associated_data`)."""
        state = self._state
        if state.sending_chain_key is None:
            raise StateError("this session has no sending chain yet (wait for a message)")
        if len(plaintext) > MAX_PLAINTEXT_LENGTH:
            raise WireFormatError(f"a message holds at most {MAX_PLAINTEXT_LENGTH} bytes")
        if state.send_count > MAX_MESSAGE_NUMBER:
            raise StateError("this sending chain is exhausted (2^32 messages)")
        version = envelope_version(voucher)
        if state.send_record is None:
            self._start_sending_chain()
        next_chain_key, message_key = kdf_ck(state.sending_chain_key)
        header = Header(state.mode, state.send_chain_number, state.send_chain_time,
                        state.dh_public, state.previous_send_count, state.send_count,
                        state.send_record)
        block = state.pending_prekey
        ciphertext = seal(message_key, plaintext, message_associated_data(
            self._ad_send, header.authenticated_bytes(self._send_record_hash),
            None if block is None else block.encode(), voucher))
        state.sending_chain_key = next_chain_key
        state.send_count += 1
        return Envelope(version, state.conversation_id, state.local_address,
                        state.peer_address, state.pending_prekey, header, ciphertext,
                        voucher).encode()

    def _start_sending_chain(self) -> None:
        state = self._state
        now = self._clock.now()
        if not 0 <= now <= MAX_EPOCH_SECONDS:  # also refuses NaN
            raise StateError("the clock reads a time the wire format cannot carry "
                             "(0..2^64-1 seconds since the epoch)")
        chain_time = int(now)
        record = self._hook.record_for_chain(ChainContext(
            protocol_version=PROTOCOL_VERSION,
            mode=state.mode,
            conversation_id=state.conversation_id,
            sender=state.local_address,
            recipient=state.peer_address,
            chain_number=state.send_chain_number,
            chain_key=state.sending_chain_key,
            ratchet_public_key=state.dh_public,
            time=chain_time,
        ))
        if not isinstance(record, bytes) or len(record) > MAX_RECORD_LENGTH:
            raise StateError(f"the escrow hook returned a record that is not bytes of at most "
                             f"{MAX_RECORD_LENGTH} bytes")
        state.send_chain_time = chain_time
        state.send_record = record
        self._send_record_hash = hashlib.sha256(record).digest()

    # -- receiving --------------------------------------------------------------------------

    def decrypt(self, envelope: bytes, read: Callable[[bytes], T] = _plaintext) -> T:
        """``RatchetDecrypt`` (section 3.5), transactional (module docstring).

        Returns ``read(plaintext)``. ``read`` (by default the plaintext itself) runs after
        the tag verified and before anything is committed: a plaintext it refuses, by
        raising, is a refused message and leaves the state unchanged (the client parses
        message content this way, :func:`messaging.content.decode_content`).
        """
        return self._decrypt_parsed(parse_envelope(envelope), read)

    def _decrypt_parsed(self, env: Envelope, read: Callable[[bytes], T]) -> T:
        state = self._state
        _check_envelope_ids(state, env.conversation_id, env.recipient, env.sender)
        header = env.header
        if header.mode != state.mode:
            raise ModeMismatchError(
                f"message uses escrow mode {header.mode!r}, this session {state.mode!r}")
        if env.prekey is not None and state.pending_prekey is None and \
                env.prekey.identity != state.peer_identity:
            raise HandshakeError("prekey message from a different identity than the session's")
        record_hash = hashlib.sha256(header.record).digest()
        ad = message_associated_data(self._ad_receive, header.authenticated_bytes(record_hash),
                                     None if env.prekey is None else env.prekey.encode(),
                                     env.voucher)
        digest = _chain_digest(header, record_hash)
        key: SkippedKey = (header.ratchet_key, header.message_number)

        stored = state.skipped.get(key)
        if stored is not None:
            message_key, accepted_digest = stored
            _require_same_chain(digest, accepted_digest)
            result = read(open_sealed(message_key, env.ciphertext, ad))
            del state.skipped[key]
            state.pending_prekey = None
            return result

        if header.ratchet_key == state.remote_ratchet_key:
            if state.receiving_chain_key is None:  # DHr is still the peer's signed prekey
                raise DecryptionError("no receiving chain for this ratchet key")
            if header.message_number < state.receive_count:
                raise ReplayError("message key already used (replayed or duplicated message)")
            _require_same_chain(digest, state.receive_chain_digest)
            chain_key, new_skipped = _skip(state.receiving_chain_key, state.receive_count,
                                           header.message_number, header.ratchet_key,
                                           state.receive_chain_digest)
            next_chain_key, message_key = kdf_ck(chain_key)
            result = read(open_sealed(message_key, env.ciphertext, ad))
            state.receiving_chain_key = next_chain_key
            state.receive_count = header.message_number + 1
            _store_skipped(state.skipped, new_skipped)
            state.pending_prekey = None
            return result

        return self._decrypt_new_chain(env, digest, ad, read)

    def _decrypt_new_chain(self, env: Envelope, digest: bytes, ad: bytes,
                           read: Callable[[bytes], T]) -> T:
        """A new ratchet key: ``DHRatchet`` (section 3.5) and the hook check, all in locals."""
        state = self._state
        header = env.header
        if header.chain_number < state.receive_chain_count:
            raise ReplayError("message from an earlier chain whose keys are gone")
        if header.chain_number > state.receive_chain_count:
            raise DecryptionError(
                f"chain number {header.chain_number} skips ahead of the expected "
                f"{state.receive_chain_count}")
        old_skipped: list = []
        if state.receiving_chain_key is not None:
            _, old_skipped = _skip(state.receiving_chain_key, state.receive_count,
                                   header.previous_chain_length, state.remote_ratchet_key,
                                   state.receive_chain_digest)
        try:
            remote = X25519PublicKey.from_public_bytes(header.ratchet_key)
            root_key, receiving_chain_key = kdf_rk(state.root_key,
                                                   state.dh_private.exchange(remote))
        except ValueError as exc:
            raise DecryptionError("ratchet public key is not a valid X25519 key") from exc
        chain_key, new_skipped = _skip(receiving_chain_key, 0, header.message_number,
                                       header.ratchet_key, digest)
        next_chain_key, message_key = kdf_ck(chain_key)
        plaintext = open_sealed(message_key, env.ciphertext, ad)
        self._check_chain(ChainContext(
            protocol_version=PROTOCOL_VERSION,
            mode=state.mode,
            conversation_id=state.conversation_id,
            sender=state.peer_address,
            recipient=state.local_address,
            chain_number=header.chain_number,
            chain_key=receiving_chain_key,
            ratchet_public_key=header.ratchet_key,
            time=header.chain_time,
        ), header.record)
        result = read(plaintext)

        new_private = X25519PrivateKey.generate()
        root_key, sending_chain_key = kdf_rk(root_key, new_private.exchange(remote))
        first_sending_chain = state.sending_chain_key is None
        state.previous_send_count = state.send_count
        state.send_count = 0
        state.remote_ratchet_key = header.ratchet_key
        state.root_key = root_key
        state.dh_private = new_private
        state.dh_public = new_private.public_key().public_bytes_raw()
        state.sending_chain_key = sending_chain_key
        if not first_sending_chain:
            state.send_chain_number += 1
        state.send_record = None
        self._send_record_hash = None
        state.receiving_chain_key = next_chain_key
        state.receive_count = header.message_number + 1
        state.receive_chain_count += 1
        state.receive_chain_digest = digest
        _store_skipped(state.skipped, old_skipped + new_skipped)
        state.pending_prekey = None
        return result

    def _check_chain(self, context: ChainContext, record: bytes) -> None:
        """Ask the hook; any exception it raises is a refusal (the state is not touched yet)."""
        try:
            self._hook.check_chain(context, record)
        except HookRefusedError:
            raise
        except Exception as exc:
            raise HookRefusedError(
                f"the escrow hook failed ({type(exc).__name__}); the chain is refused") from exc


def _check_envelope_ids(state: SessionState, conversation_id: str, local: str, peer: str) -> None:
    if conversation_id != state.conversation_id:
        raise WireFormatError(f"message belongs to conversation {conversation_id!r}, "
                              f"not {state.conversation_id!r}")
    if local != state.local_address or peer != state.peer_address:
        raise WireFormatError(f"message from {peer!r} to {local!r} does not belong to the session "
                              f"between {state.peer_address!r} and {state.local_address!r}")


def _chain_digest(header: Header, record_hash: bytes) -> bytes:
    """What must stay the same within a receiving chain: the chain number, chain time and
    record the hook checked at the chain's first message."""
    return hashlib.sha256(_CHAIN_FIELDS.pack(header.chain_number, header.chain_time)
                          + record_hash).digest()


def _require_same_chain(digest: bytes, accepted_digest: bytes) -> None:
    if digest != accepted_digest:
        raise HookRefusedError("escrow record, chain number or chain time differs from the one "
                               "accepted for this chain")


def _skip(
    chain_key: bytes | None, start: int, until: int, ratchet_key: bytes | None, digest: bytes
) -> tuple[bytes | None, list[tuple[SkippedKey, tuple[bytes, bytes]]]]:
    """``SkipMessageKeys`` (section 3.5) without side effects: return the advanced chain
    key and the keys to store; raise ``TooManySkippedError`` beyond MAX_SKIP."""
    if until - start > MAX_SKIP:
        raise TooManySkippedError(
            f"message would skip {until - start} message keys; the limit is {MAX_SKIP}")
    skipped = []
    if chain_key is None:
        return None, skipped
    for number in range(start, until):
        chain_key, message_key = kdf_ck(chain_key)
        skipped.append(((ratchet_key, number), (message_key, digest)))
    return chain_key, skipped


def _store_skipped(store: OrderedDict, new: list) -> None:
    """Add skipped keys, evicting the oldest beyond MAX_SKIPPED_KEYS_TOTAL."""
    for key, value in new:
        store[key] = value
    while len(store) > MAX_SKIPPED_KEYS_TOTAL:
        store.popitem(last=False)
