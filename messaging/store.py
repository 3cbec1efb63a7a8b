"""Per-device storage protocols and the in-memory store.

Modelled on libsignal's ``rust/protocol/src/storage/traits.rs`` (the store
traits) and ``storage/inmem.rs`` (the in-memory default). A device keeps:

* its own identity (``IdentityKeyPair.private_bytes()``) and its peers'
  identity records (opaque bytes owned by :mod:`messaging.trust`): the
  :class:`IdentityStore`;
* its prekeys' private side (``DevicePrekeys.serialize()``): the
  :class:`PrekeyStore`;
* one serialised session (``Session.serialize()``) per
  ``(conversation_id, peer_address)``: the :class:`SessionStore`.

Stores hold opaque bytes: parsing, versioning and validation of what is in
them belong to the classes that produced the bytes. :class:`DeviceStore` is
the three together; :class:`InMemoryDeviceStore` implements it for tests and
the in-process demo, :class:`messaging.sqlite_store.SqliteDeviceStore` on an
encrypted SQLite file.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from messaging.limits import MAX_ID_LENGTH  # the wire's bound: a stored id is one it can carry


@runtime_checkable
class SessionStore(Protocol):
    """Serialised sessions keyed by ``(conversation_id, peer_address)``."""

    def load_session(self, conversation_id: str, peer_address: str) -> bytes | None:
        """The stored session bytes, or ``None`` when there is none."""
        ...

    def store_session(self, conversation_id: str, peer_address: str, data: bytes) -> None:
        """Store (or replace) a session; durable once this returns."""
        ...

    def delete_session(self, conversation_id: str, peer_address: str) -> bool:
        """Delete a session; ``True`` when one existed."""
        ...

    def list_sessions(self) -> list[tuple[str, str]]:
        """Every stored ``(conversation_id, peer_address)``, sorted."""
        ...


@runtime_checkable
class IdentityStore(Protocol):
    """This device's identity private bytes and the records of its peers' identities."""

    def load_local_identity(self) -> bytes | None:
        """``IdentityKeyPair.private_bytes()`` of this device, or ``None`` before it exists."""
        ...

    def store_local_identity(self, private_bytes: bytes) -> None:
        """Store this device's identity private bytes (replacing any earlier ones)."""
        ...

    def load_peer_identity(self, address: str) -> bytes | None:
        """The identity record stored for a peer device, or ``None``."""
        ...

    def store_peer_identity(self, address: str, record: bytes) -> None:
        """Store (or replace) a peer device's identity record."""
        ...

    def list_peer_identities(self) -> list[str]:
        """Every peer address with a stored identity record, sorted."""
        ...


@runtime_checkable
class PrekeyStore(Protocol):
    """The private side of this device's prekeys (``DevicePrekeys.serialize()``)."""

    def load_prekeys(self) -> bytes | None:
        """The stored prekeys, or ``None`` before any were stored."""
        ...

    def store_prekeys(self, data: bytes) -> None:
        """Store (replace) the prekeys, e.g. after a one-time prekey was consumed."""
        ...


@runtime_checkable
class DeviceStore(SessionStore, IdentityStore, PrekeyStore, Protocol):
    """Everything one device persists."""


def check_id(value: str, what: str) -> str:
    """Validate a store key part: a non-empty str of at most ``MAX_ID_LENGTH`` UTF-8 bytes."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode text") from None
    if len(encoded) > MAX_ID_LENGTH:
        raise ValueError(f"{what} is longer than {MAX_ID_LENGTH} bytes")
    return value


def check_value(value: bytes, what: str) -> bytes:
    """Validate a stored value: ``bytes`` (``bytearray``/``memoryview`` are copied to bytes)."""
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if not isinstance(value, bytes):
        raise TypeError(f"{what} must be bytes, not {type(value).__name__}")
    return value


class InMemoryDeviceStore:
    """A :class:`DeviceStore` in process memory (lost when the process ends)."""

    def __init__(self) -> None:
        self._sessions: dict[tuple[str, str], bytes] = {}
        self._local_identity: bytes | None = None
        self._peer_identities: dict[str, bytes] = {}
        self._prekeys: bytes | None = None

    def __repr__(self) -> str:
        return (
            f"InMemoryDeviceStore(sessions={len(self._sessions)}, "
            f"peers={len(self._peer_identities)})"
        )

    # sessions
    def load_session(self, conversation_id: str, peer_address: str) -> bytes | None:
        key = (check_id(conversation_id, "conversation id"), check_id(peer_address, "address"))
        return self._sessions.get(key)

    def store_session(self, conversation_id: str, peer_address: str, data: bytes) -> None:
        key = (check_id(conversation_id, "conversation id"), check_id(peer_address, "address"))
        self._sessions[key] = check_value(data, "session data")

    def delete_session(self, conversation_id: str, peer_address: str) -> bool:
        key = (check_id(conversation_id, "conversation id"), check_id(peer_address, "address"))
        return self._sessions.pop(key, None) is not None

    def list_sessions(self) -> list[tuple[str, str]]:
        return sorted(self._sessions)

    # identities
    def load_local_identity(self) -> bytes | None:
        return self._local_identity

    def store_local_identity(self, private_bytes: bytes) -> None:
        self._local_identity = check_value(private_bytes, "identity private bytes")

    def load_peer_identity(self, address: str) -> bytes | None:
        return self._peer_identities.get(check_id(address, "address"))

    def store_peer_identity(self, address: str, record: bytes) -> None:
        address = check_id(address, "address")
        self._peer_identities[address] = check_value(record, "identity record")

    def list_peer_identities(self) -> list[str]:
        return sorted(self._peer_identities)

    # prekeys
    def load_prekeys(self) -> bytes | None:
        return self._prekeys

    def store_prekeys(self, data: bytes) -> None:
        self._prekeys = check_value(data, "prekey data")
