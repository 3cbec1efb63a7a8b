"""A device's sessions: one per (conversation, peer device), cached over its store.

A direct chat's conversation id is :func:`messaging.addresses.direct_conversation_id`,
a group's is its own (:mod:`messaging.groups`). Sessions are read from the
:class:`~messaging.store.DeviceStore` on first use and written back after every
encryption and decryption, the Double Ratchet's state variables (section 3.2) kept per
peer device as Sesame keeps them (section 2; docs/architecture.md, "Data flow").
"""

from __future__ import annotations

from messaging.clock import Clock
from messaging.hooks import EscrowHook
from messaging.session import Session
from messaging.store import DeviceStore


class SessionCache:
    """The live sessions of one device, loaded from and saved to ``store``."""

    def __init__(self, store: DeviceStore, hook: EscrowHook, clock: Clock) -> None:
        self._store = store
        self._hook = hook
        self._clock = clock
        self._sessions: dict[tuple[str, str], Session] = {}

    def get(self, conversation_id: str, address: str) -> Session | None:
        """The session with ``address`` in ``conversation_id``, if any."""
        key = (conversation_id, address)
        session = self._sessions.get(key)
        if session is None:
            data = self._store.load_session(conversation_id, address)
            if data is not None:
                session = Session.deserialize(data, self._hook, self._clock)
                self._sessions[key] = session
        return session

    def save(self, session: Session) -> None:
        """Store ``session``'s current state and keep it live."""
        key = (session.conversation_id, session.peer_address)
        self._store.store_session(*key, session.serialize())
        self._sessions[key] = session
