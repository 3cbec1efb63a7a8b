"""Sesame multi-device fan-out and the outbox of messages the relay has not accepted.

Sesame (Signal, "The Sesame Algorithm", sections 2-3): a message to a user is
encrypted once per device of the recipient *and* once per other device of the
sender, each over its own pairwise session, and sent in one request. The relay
refuses a request that misses a device (409 ``device-list-mismatch`` with the
current lists, docs/relay.md); the device then updates its lists, encrypts for the
new devices and resends. Envelopes the relay did not accept stay in the outbox and
are resent by :meth:`Outbox.flush`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from messaging.addresses import AddressError, check_user
from messaging.errors import MessagingError
from messaging.identity import IdentityPublic
from messaging.limits import MAX_BYTES_PER_SEND, MAX_ENVELOPES_PER_SEND, MAX_SEND_ATTEMPTS
from messaging.relay_protocol import RelayError
from messaging.transport import RelayClient


@dataclass
class _Pending:
    """A message encrypted for some devices, not yet accepted by the relay."""

    conversation_id: str
    users: tuple[str, ...]
    plaintext: bytes = field(repr=False)
    voucher: bytes | None = field(default=None, repr=False)
    envelopes: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return sum(map(len, self.envelopes.values()))


class Outbox:
    """The messages one device has encrypted and not yet seen accepted, oldest first.

    ``known_devices(user)`` and ``refresh_devices(user)`` are the device's view of
    the device lists, ``encrypt(conversation_id, address, plaintext, voucher)`` its
    pairwise session with one device (``voucher``: the message's safety voucher, which
    every envelope of the message carries, or ``None``).
    """

    def __init__(
        self,
        relay: RelayClient,
        user: str,
        address: str,
        known_devices: Callable[[str], dict[str, IdentityPublic]],
        refresh_devices: Callable[[str], object],
        encrypt: Callable[[str, str, bytes, bytes | None], bytes],
    ) -> None:
        self._relay = relay
        self._user = user
        self._address = address
        self._known_devices = known_devices
        self._refresh_devices = refresh_devices
        self._encrypt = encrypt
        self._pending: list[_Pending] = []

    def __len__(self) -> int:
        return len(self._pending)

    def queue(self, conversation_id: str, users: tuple[str, ...], plaintext: bytes,
              voucher: bytes | None = None) -> None:
        """Encrypt ``plaintext`` (with ``voucher``) for every current target device and put
        it in the outbox."""
        pending = _Pending(conversation_id, tuple(sorted(set(users))), plaintext, voucher)
        self._prepare(pending)
        self._pending.append(pending)

    def flush(self) -> list[list[int]]:
        """Send every message in the outbox, oldest first; return each one's archive ids.

        Queued messages go out together, up to :data:`MAX_ENVELOPES_PER_SEND`
        envelopes and :data:`MAX_BYTES_PER_SEND` envelope bytes per request (a client
        that falls behind catches up in fewer round trips, and a few images still fit
        one request); a device-list change falls back to one message at a time.
        """
        results: list[list[int]] = []
        while self._pending:
            batch = self._next_batch()
            if len(batch) > 1:
                try:
                    ids = self._relay.send([e for p in batch for e in p.envelopes.values()])
                except RelayError as exc:
                    if exc.code != "device-list-mismatch":
                        raise
                    for user in _mismatched_users(exc):
                        self._refresh_devices(user)
                else:
                    for pending in batch:
                        results.append(ids[:len(pending.envelopes)])
                        ids = ids[len(pending.envelopes):]
                    del self._pending[:len(batch)]
                    continue
            results.append(self._deliver(self._pending[0]))
            self._pending.pop(0)
        return results

    def _next_batch(self) -> list[_Pending]:
        batch: list[_Pending] = []
        envelopes = size = 0
        for pending in self._pending:
            if batch and (envelopes + len(pending.envelopes) > MAX_ENVELOPES_PER_SEND
                          or size + pending.size > MAX_BYTES_PER_SEND):
                break
            batch.append(pending)
            envelopes += len(pending.envelopes)
            size += pending.size
        return batch

    def _targets(self, users: tuple[str, ...]) -> set[str]:
        targets: set[str] = set()
        for user in set(users) | {self._user}:
            targets |= set(self._known_devices(user))
        return targets - {self._address}

    def _prepare(self, pending: _Pending) -> None:
        """Bring ``pending``'s envelopes in line with the known device lists."""
        targets = self._targets(pending.users)
        for address in list(pending.envelopes):
            if address not in targets:
                del pending.envelopes[address]
        for address in sorted(targets - set(pending.envelopes)):
            pending.envelopes[address] = self._encrypt(pending.conversation_id, address,
                                                       pending.plaintext, pending.voucher)

    def _deliver(self, pending: _Pending) -> list[int]:
        for _ in range(MAX_SEND_ATTEMPTS):
            self._prepare(pending)
            if not pending.envelopes:
                return []
            try:
                return self._relay.send(list(pending.envelopes.values()))
            except RelayError as exc:
                if exc.code != "device-list-mismatch":
                    raise
                for user in _mismatched_users(exc):
                    self._refresh_devices(user)
        raise MessagingError("the device lists kept changing; message not sent")


def _mismatched_users(refusal: RelayError) -> list[str]:
    """The users whose device lists a ``device-list-mismatch`` refusal names (its
    ``devices`` object, keyed by user), checked before any of them is fetched."""
    devices = refusal.extra.get("devices")
    if not isinstance(devices, dict) or not devices:
        raise RelayError(502, "bad-response", "the relay's device-list mismatch names no users")
    try:
        return [check_user(user) for user in devices]
    except AddressError as exc:
        raise RelayError(502, "bad-response",
                         f"the relay's device-list mismatch names a bad user: {exc}") from None
