"""Trust on first use of peers' identities, identity-change events, verification.

The policy of Signal's clients (and libsignal's ``IdentityKeyStore``:
``save_identity`` / ``is_trusted_identity``), per device of this device's peers:

* the first identity seen for a peer address is recorded (trust on first use);
* a different identity later yields an :class:`IdentityChanged` event (the
  client shows "safety number changed") and replaces the record, which becomes
  *unverified*; but if the user had *verified* the old identity, nothing is
  replaced: :class:`messaging.errors.IdentityChangedError` is raised (its
  ``change`` attribute carries the event) until the user calls :meth:`TrustStore.accept`;
* a peer is marked verified only when the safety number the user compared
  (read aloud or scanned) equals the one computed from the recorded identity.

An event's fingerprints are the peer's 30-digit half of the safety number
(:mod:`messaging.safety`, key ``IdentityPublic.encode()``, stable id the peer
address): the digits the user sees change. Records are stored as small JSON
documents in a :class:`messaging.store.IdentityStore` and parsed strictly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import strictjson
from messaging.clock import Clock
from messaging.codec import epoch_seconds, hex_bytes
from messaging.errors import HandshakeError, IdentityChangedError, StateError
from messaging.identity import IDENTITY_PUBLIC_LENGTH, IdentityPublic
from messaging.safety import SafetyNumber, displayable_digits, fingerprint, safety_number_for
from messaging.store import IdentityStore, check_id

RECORD_VERSION = 1
_WHAT = "a stored peer identity record is corrupt"


@dataclass(frozen=True)
class IdentityChanged:
    """A peer device's identity differs from the recorded one."""

    address: str
    old_fingerprint: str
    new_fingerprint: str
    time: float


@dataclass(frozen=True)
class TrustRecord:
    """What this device knows about one peer device's identity."""

    identity: IdentityPublic
    verified: bool
    first_seen: float

    def encode(self) -> bytes:
        return json.dumps({
            "version": RECORD_VERSION, "identity": self.identity.encode().hex(),
            "verified": self.verified, "first_seen": float(self.first_seen),
        }, sort_keys=True, allow_nan=False).encode("ascii")

    @classmethod
    def decode(cls, data: bytes) -> TrustRecord:
        """Parse a stored record strictly; anything else raises ``StateError``.

        Strict means: :func:`strictjson.loads` (bounded depth and digits, no lone
        surrogates), exactly the four fields with their exact types (``version`` the
        integer 1, never ``true`` or ``1.0``), a time in range
        (:func:`messaging.codec.epoch_seconds`), a lowercase-hex identity whose binding
        verifies, and the canonical bytes :meth:`encode` writes: what parses is exactly
        the record it encodes.
        """
        if not isinstance(data, bytes):
            raise StateError(f"{_WHAT}: expected bytes, got {type(data).__name__}")
        doc = strictjson.fields(
            strictjson.loads(data, what=_WHAT, error=StateError),
            {"version": int, "identity": str, "verified": bool, "first_seen": (int, float)},
            what=_WHAT, error=StateError)
        if doc["version"] != RECORD_VERSION:
            raise StateError(f"{_WHAT}: unknown version {doc['version']}")
        first_seen = epoch_seconds(doc["first_seen"], what=f"{_WHAT}: first_seen",
                                   error=StateError)
        raw = hex_bytes(doc["identity"], what=f"{_WHAT}: identity", error=StateError,
                        length=IDENTITY_PUBLIC_LENGTH)
        try:
            identity = IdentityPublic.decode(raw)
        except HandshakeError:
            raise StateError(f"{_WHAT}: the identity's key binding does not verify") from None
        record = cls(identity, doc["verified"], first_seen)
        if record.encode() != data:
            raise StateError(f"{_WHAT}: not in the canonical encoding")
        return record


def peer_fingerprint(identity: IdentityPublic, address: str) -> str:
    """The peer's 30-digit half of the safety number (module docstring)."""
    return displayable_digits(fingerprint(identity.encode(), address))


class TrustStore:
    """Trust decisions of one local device about its peers' identities."""

    def __init__(
        self, store: IdentityStore, local_identity: IdentityPublic, local_address: str,
        clock: Clock,
    ) -> None:
        self._store = store
        self._local_identity = local_identity
        self._local_address = check_id(local_address, "local address")
        self._clock = clock

    def __repr__(self) -> str:
        return f"TrustStore(local_address={self._local_address!r})"

    def record(self, address: str) -> TrustRecord | None:
        """The record of ``address``, or ``None`` when no identity was seen for it."""
        data = self._store.load_peer_identity(check_id(address, "address"))
        return None if data is None else TrustRecord.decode(data)

    def observe(self, address: str, identity: IdentityPublic) -> IdentityChanged | None:
        """Check ``identity`` for ``address`` under the policy of the module docstring.

        Returns ``None`` for a first or an unchanged identity and the event for a
        changed one of an unverified peer (now recorded, unverified). Raises
        ``IdentityChangedError`` (with ``.change``), changing nothing, when the
        peer was verified.
        """
        previous = self.record(address)
        if previous is None:
            self._save(address, TrustRecord(identity, False, self._clock.now()))
            return None
        if previous.identity.encode() == identity.encode():
            return None
        change = self._change(address, previous.identity, identity)
        if previous.verified:
            error = IdentityChangedError(
                f"the identity of {address} changed after you verified it; compare the new "
                "safety number and accept the new identity before exchanging messages"
            )
            error.change = change
            raise error
        self._save(address, TrustRecord(identity, False, change.time))
        return change

    def accept(self, address: str, identity: IdentityPublic) -> IdentityChanged | None:
        """Record ``identity`` for ``address`` as the user's decision (unverified).

        Returns the change event when it replaces a different identity.
        """
        previous = self.record(address)
        if previous is not None and previous.identity.encode() == identity.encode():
            return None
        change = None if previous is None else self._change(address, previous.identity, identity)
        now = change.time if change else self._clock.now()
        self._save(address, TrustRecord(identity, False, now))
        return change

    def safety_number(self, address: str) -> SafetyNumber:
        """The safety number of this device and the recorded identity of ``address``."""
        previous = self._require(address)
        return safety_number_for(
            self._local_identity, self._local_address, previous.identity, address
        )

    def mark_verified(self, address: str, compared: str) -> bool:
        """Mark ``address`` verified if ``compared`` equals its safety number; else change
        nothing and return ``False``."""
        previous = self._require(address)
        if not self.safety_number(address).matches(compared):
            return False
        if not previous.verified:
            self._save(address, TrustRecord(previous.identity, True, previous.first_seen))
        return True

    def mark_unverified(self, address: str) -> None:
        previous = self._require(address)
        if previous.verified:
            self._save(address, TrustRecord(previous.identity, False, previous.first_seen))

    def is_verified(self, address: str) -> bool:
        previous = self.record(address)
        return previous is not None and previous.verified

    def _require(self, address: str) -> TrustRecord:
        previous = self.record(address)
        if previous is None:
            raise StateError(f"no identity has been recorded for {address}")
        return previous

    def _change(
        self, address: str, old: IdentityPublic, new: IdentityPublic
    ) -> IdentityChanged:
        return IdentityChanged(
            address, peer_fingerprint(old, address), peer_fingerprint(new, address),
            self._clock.now(),
        )

    def _save(self, address: str, record: TrustRecord) -> None:
        self._store.store_peer_identity(address, record.encode())
