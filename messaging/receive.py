"""The receive pipeline of a device: fetch, open, store, acknowledge, then act.

- Opening (PQXDH revision 3 section 3.4, Double Ratchet section 3.5): an envelope
  must be addressed to this device and come from a device the relay lists under an
  identity that matches the one in its prekey block; it is decrypted over the
  session for (conversation, sender device), or starts one with this device's
  prekeys. The plaintext is parsed strictly
  (:func:`messaging.content.decode_content`) inside the session's decryption: a
  message whose content does not parse is refused like one whose tag fails (a
  :class:`~messaging.events.ReceiveFailed` event, acknowledged and dropped) and
  changes neither the session nor the prekeys, while the other messages of the
  same fetch are delivered. The device's content hook then judges the parsed
  content's kind and the envelope's (authenticated) safety voucher, still inside
  the decryption (:meth:`messaging.content_hook.ContentHook.check_incoming`): a
  message it refuses, a required voucher missing for instance, is refused the same way.
- Delivery (docs/relay.md, "Retries"): envelopes are acknowledged only after
  their session state was stored, so a crash re-delivers instead of losing; a
  re-delivered envelope fails as a replay (its message key is gone) and is counted
  as a duplicate. A decrypted message is always returned: if the relay becomes
  unreachable mid-batch, the rest stays queued and the acknowledgement rides on
  the next receive.
- Prekeys: after a batch that started sessions the device tops its one-time
  prekeys up on the relay (PQXDH section 3.2), retried on a later batch if that
  failed. Group messages then go to :meth:`messaging.groups.GroupManager.apply`.
"""

from __future__ import annotations

from typing import Protocol

from messaging.addresses import parse_address
from messaging.clock import Clock
from messaging.content import Message, decode_content
from messaging.content_hook import ContentHook, IncomingContent
from messaging.errors import (
    ContentError,
    HandshakeError,
    MessagingError,
    ReplayError,
    VoucherRefusedError,
    WireFormatError,
)
from messaging.events import Event, ReceiveFailed
from messaging.groups import GroupManager
from messaging.hooks import EscrowHook
from messaging.identity import IdentityKeyPair, IdentityPublic
from messaging.prekey_state import DevicePrekeys
from messaging.session import Session
from messaging.sessions import SessionCache
from messaging.store import DeviceStore
from messaging.transport import RelayClient, RelayUnavailableError
from messaging.wire import parse_envelope


class ReceivingDevice(Protocol):
    """What a :class:`Receiver` needs of its device (:class:`messaging.client.Device`)."""

    address: str
    user: str
    identity: IdentityKeyPair
    relay: RelayClient
    store: DeviceStore
    hook: EscrowHook
    content_hook: ContentHook
    clock: Clock
    groups: GroupManager

    def emit(self, event: Event) -> None: ...

    def registered_identity(self, user: str, address: str) -> IdentityPublic | None: ...

    def replenish_prekeys(self) -> int: ...


class Receiver:
    """One device's receive state: deferred acknowledgements, a prekey top-up due,
    the count of re-delivered envelopes."""

    def __init__(self, device: ReceivingDevice, prekeys: DevicePrekeys,
                 sessions: SessionCache) -> None:
        self._device = device
        self._prekeys = prekeys
        self._sessions = sessions
        self._pending_acks: list[int] = []
        self._replenish_due = False
        self.duplicates = 0

    def flush_acks(self) -> None:
        """Send acknowledgements deferred by ``receive(defer_ack=True)``."""
        if self._pending_acks:
            self._device.relay.ack(self._pending_acks)
            self._pending_acks = []

    def receive_batch(self, limit: int, wait: int = 0, defer_ack: bool = False
                      ) -> tuple[list[Message], bool]:
        """Fetch and open one batch; return its accepted messages and whether more wait."""
        device = self._device
        relay = device.relay
        if self._pending_acks:
            items, more = relay.sync(self._pending_acks, limit, wait)
            self._pending_acks = []
        else:
            items, more = relay.fetch(limit, wait)
        messages: list[Message] = []
        handshakes = 0
        done: list[int] = []
        for item in items:
            try:
                message, handshake = self.open(item.id, item.envelope, item.received_at)
            except ReplayError:
                self.duplicates += 1
            except RelayUnavailableError:
                more = True  # transient: this envelope and the rest stay queued
                break
            except MessagingError as exc:
                device.emit(ReceiveFailed(item.id, _sender_of(item.envelope), str(exc)))
            else:
                handshakes += handshake
                messages.append(message)
            done.append(item.id)
        if defer_ack:
            self._pending_acks = done
        else:
            try:
                relay.ack(done)
            except RelayUnavailableError:
                self._pending_acks = done  # acknowledged by the next receive instead
        if handshakes or self._replenish_due:
            try:
                device.replenish_prekeys()
                self._replenish_due = False
            except MessagingError:  # unreachable, or a retried upload the relay had stored
                self._replenish_due = True
        accepted = []
        for message in messages:
            if message.group is not None:
                reason = device.groups.apply(message)
                if reason is not None:
                    device.emit(ReceiveFailed(message.envelope_id, message.sender, reason))
                    continue
            accepted.append(message)
        return accepted, more

    def open(self, envelope_id: int, data: bytes, received_at: float) -> tuple[Message, bool]:
        """Open one envelope and store its session; return the message and whether it
        started a session."""
        device = self._device
        envelope = parse_envelope(data)
        if envelope.recipient != device.address:
            raise WireFormatError(f"envelope is addressed to {envelope.recipient}")
        sender_user = parse_address(envelope.sender)[0]
        registered = device.registered_identity(sender_user, envelope.sender)
        if registered is None:
            raise HandshakeError(f"{envelope.sender} is not a registered device")
        session = self._sessions.get(envelope.conversation_id, envelope.sender)
        content = None
        handshake = False

        def read(plaintext: bytes) -> dict:
            parsed = decode_content(plaintext)
            _check_incoming(device.content_hook, IncomingContent(
                envelope.conversation_id, envelope.sender, envelope.recipient, parsed["kind"],
                envelope.voucher))
            return parsed

        if session is not None:
            try:
                content = session.decrypt(data, read=read)
            except (ReplayError, ContentError, VoucherRefusedError):
                raise  # a replay, or a message the session opened and refused: no new session
            except MessagingError:
                if envelope.prekey is None:
                    raise
        if content is None:
            if envelope.prekey is None:
                raise HandshakeError(f"no session with {envelope.sender} in this conversation")
            if envelope.prekey.identity.encode() != registered.encode():
                raise HandshakeError(
                    f"{envelope.sender} used an identity other than the one it registered")
            session, content = Session.respond(device.identity, self._prekeys, device.address,
                                               data, device.hook, device.clock, read=read)
            device.store.store_prekeys(self._prekeys.serialize())
            handshake = True
        self._sessions.save(session)
        message = Message(
            envelope_id=envelope_id, conversation_id=envelope.conversation_id,
            sender=envelope.sender, sender_user=sender_user, kind=content["kind"],
            body=content["body"], to=content["to"], group=content["group"],
            sent_at=content["sent_at"], received_at=received_at,
            own_copy=sender_user == device.user)
        return message, handshake


def _check_incoming(hook: ContentHook, incoming: IncomingContent) -> None:
    """Ask the content hook; any exception it raises is a refusal (nothing is stored yet)."""
    try:
        hook.check_incoming(incoming)
    except VoucherRefusedError:
        raise
    except Exception as exc:
        raise VoucherRefusedError(f"the content hook failed ({type(exc).__name__}); the "
                                  "message is refused") from exc


def _sender_of(data: bytes) -> str:
    try:
        return parse_envelope(data).sender
    except WireFormatError:
        return "?"
