"""Devices: the client side of the messenger, with Sesame multi-device fan-out.

A :class:`Device` holds its identity, its prekeys and its sessions in a
:class:`~messaging.store.DeviceStore` (in memory by default; the encrypted
SQLite store for real use) and talks to the relay through a
:class:`~messaging.transport.RelayClient`.

- Sesame (Signal, "The Sesame Algorithm", sections 2-3): a message to a user
  is encrypted once per device of the recipient *and* once per other device
  of the sender, each over its own pairwise session, and sent in one request.
  The relay refuses a request that misses a device (409 with the current
  lists); the device then updates its lists, emitting
  :class:`DeviceListChanged`, encrypts for the new devices and resends.
- One session per (conversation, local device, peer device): a direct chat's
  conversation id is :func:`messaging.addresses.direct_conversation_id`, a
  group's is its own.
- Prekeys: the device publishes a ``PrekeyUpload`` at registration and
  replenishes its one-time prekeys on the relay when fewer than
  ``prekey_low_water`` remain.
- Identities: every peer device's identity goes through the device's
  :class:`~messaging.trust.TrustStore` (trust on first use); a different
  identity later emits :class:`~messaging.trust.IdentityChanged`, or raises
  :class:`~messaging.errors.IdentityChangedError` for a peer the user had
  verified (compare safety numbers with :meth:`Device.safety_number`).
- Delivery: envelopes are acknowledged only after their session state was
  stored, so a crash re-delivers instead of losing; a re-delivered envelope
  fails as a replay (its message key is gone) and is acknowledged as a
  duplicate. A decrypted message is always returned: if the relay becomes
  unreachable mid-batch, the rest stays queued and the acknowledgement rides
  on the next receive. Envelopes the relay did not accept stay in the outbox
  and are resent by :meth:`Device.flush`.

The plaintext inside every envelope is a small JSON object
(:func:`messaging.content.encode_content`), parsed strictly
(:func:`messaging.content.decode_content`) inside the session's decryption: a message
whose content does not parse is refused like one whose tag fails (a
:class:`ReceiveFailed` event, acknowledged and dropped) and changes neither the
session nor the prekeys, while the other messages of the same fetch are delivered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from messaging.addresses import (
    AddressError,
    check_user,
    direct_conversation_id,
    make_address,
    parse_address,
)
from messaging.clock import Clock, SystemClock
from messaging.content import Message, decode_content, encode_content
from messaging.errors import (
    ContentError,
    HandshakeError,
    MessagingError,
    ReplayError,
    WireFormatError,
)
from messaging.groups import GroupChanged, GroupManager
from messaging.hooks import EscrowHook, NoEscrow
from messaging.identity import IdentityKeyPair, IdentityPublic
from messaging.limits import (
    DEFAULT_FETCH_LIMIT,
    DEFAULT_KEM_PREKEYS,
    DEFAULT_ONE_TIME_PREKEYS,
    MAX_ENVELOPES_PER_SEND,
    MAX_SEND_ATTEMPTS,
    PREKEY_LOW_WATER,
)
from messaging.prekey_state import DevicePrekeys
from messaging.relay_protocol import RelayError
from messaging.safety import SafetyNumber
from messaging.session import Session
from messaging.store import DeviceStore, InMemoryDeviceStore
from messaging.transport import RelayClient, RelayUnavailableError, Transport
from messaging.trust import IdentityChanged, TrustRecord, TrustStore
from messaging.wire import parse_envelope


@dataclass(frozen=True)
class DeviceListChanged:
    """The relay's device list of ``user`` differs from what this device knew."""

    user: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class ReceiveFailed:
    """An envelope that could not be opened (it was acknowledged and dropped)."""

    envelope_id: int
    sender: str
    reason: str


Event = DeviceListChanged | IdentityChanged | ReceiveFailed | GroupChanged


@dataclass
class _Pending:
    """A message encrypted for some devices, not yet accepted by the relay."""

    conversation_id: str
    users: tuple[str, ...]
    plaintext: bytes = field(repr=False)
    envelopes: dict[str, bytes] = field(default_factory=dict, repr=False)


class Device:
    """One device of a user. Not thread-safe: use one thread per device."""

    def __init__(
        self,
        address: str,
        identity: IdentityKeyPair,
        prekeys: DevicePrekeys,
        relay: RelayClient,
        store: DeviceStore,
        hook: EscrowHook,
        clock: Clock,
        *,
        prekey_low_water: int = PREKEY_LOW_WATER,
        prekey_batch: int = DEFAULT_ONE_TIME_PREKEYS,
    ) -> None:
        self.address = address
        self.user = parse_address(address)[0]
        self.identity = identity
        self.relay = relay
        self.store = store
        self.hook = hook
        self.clock = clock
        self.prekey_low_water = prekey_low_water
        self.prekey_batch = prekey_batch
        self._prekeys = prekeys
        self._sessions: dict[tuple[str, str], Session] = {}
        self._devices: dict[str, dict[str, IdentityPublic]] = {}
        self._outbox: list[_Pending] = []
        self._pending_acks: list[int] = []
        self._replenish_due = False
        self._listeners: list[Callable[[Event], None]] = []
        self.events: list[Event] = []
        self.duplicates = 0
        self.trust = TrustStore(store, identity.public, address, clock)
        for peer in store.list_peer_identities():
            record = TrustRecord.decode(store.load_peer_identity(peer))
            self._devices.setdefault(parse_address(peer)[0], {})[peer] = record.identity
        self.groups = GroupManager(self)

    def __repr__(self) -> str:
        return f"Device({self.address!r}, mode={self.hook.mode!r})"

    # -- life cycle ------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        user: str,
        device_id: int,
        transport: Transport,
        *,
        hook: EscrowHook | None = None,
        clock: Clock | None = None,
        store: DeviceStore | None = None,
        linked_by: Device | None = None,
        one_time_prekeys: int = DEFAULT_ONE_TIME_PREKEYS,
        kem_prekeys: int = DEFAULT_KEM_PREKEYS,
        retry_for: float = 0.0,
    ) -> Device:
        """Make a new device, register it (linked by ``linked_by`` if the user exists), publish
        its prekeys and learn its own user's device list.

        Safe to call again after it failed (the relay or the network went away,
        perhaps after the relay committed): the new identity is put in ``store``
        before the relay hears of it, and a ``store`` that already holds an
        identity is resumed instead of starting over. The same identity registers
        again and the stored prekeys are published again, which the relay answers
        as the first time when it had committed them (docs/relay.md, "Retries").
        A store that holds sessions is a device in use: reopen it with :meth:`restore`.
        """
        address = make_address(user, device_id)
        if linked_by is not None and linked_by.user != user:
            raise ValueError("a device can only be linked by a device of the same user")
        clock = clock or SystemClock()
        store = store if store is not None else InMemoryDeviceStore()
        private = store.load_local_identity()
        if private is None:
            identity = IdentityKeyPair.generate()
            store.store_local_identity(identity.private_bytes())
        elif store.list_sessions():
            raise MessagingError(f"the store already holds a device in use, not a new {address}:"
                                 " reopen it with Device.restore")
        else:
            identity = IdentityKeyPair.from_private_bytes(private)
        relay = RelayClient(transport, address, identity, clock, retry_for=retry_for)
        relay.register((linked_by.address, linked_by.identity) if linked_by else None)
        if private is None or store.load_prekeys() is None:
            return cls.attach(address, identity, transport, hook=hook, clock=clock, store=store,
                              one_time_prekeys=one_time_prekeys, kem_prekeys=kem_prekeys,
                              retry_for=retry_for)
        device = cls.restore(address, transport, store, hook=hook, clock=clock,
                             retry_for=retry_for)
        device.prekey_low_water = min(PREKEY_LOW_WATER, one_time_prekeys)
        device.prekey_batch = one_time_prekeys
        device.relay.upload_prekeys(device._prekeys.upload())
        device.refresh_devices(user)
        return device

    @classmethod
    def attach(
        cls,
        address: str,
        identity: IdentityKeyPair,
        transport: Transport,
        *,
        hook: EscrowHook | None = None,
        clock: Clock | None = None,
        store: DeviceStore | None = None,
        one_time_prekeys: int = DEFAULT_ONE_TIME_PREKEYS,
        kem_prekeys: int = DEFAULT_KEM_PREKEYS,
        retry_for: float = 0.0,
    ) -> Device:
        """Set up a device the relay already registered under ``identity``: store the
        identity, publish fresh prekeys and learn the user's device list. :meth:`create`
        ends here; a provider that registered a device itself (scenario S20) starts here."""
        hook = hook or NoEscrow()
        clock = clock or SystemClock()
        store = store if store is not None else InMemoryDeviceStore()
        user = parse_address(address)[0]
        prekeys = DevicePrekeys.generate(identity, hook.mode, one_time_prekeys, kem_prekeys)
        relay = RelayClient(transport, address, identity, clock, retry_for=retry_for)
        store.store_local_identity(identity.private_bytes())
        store.store_prekeys(prekeys.serialize())
        relay.upload_prekeys(prekeys.upload())
        device = cls(address, identity, prekeys, relay, store, hook, clock,
                     prekey_low_water=min(PREKEY_LOW_WATER, one_time_prekeys),
                     prekey_batch=one_time_prekeys)
        device.refresh_devices(user)
        return device

    @classmethod
    def restore(
        cls,
        address: str,
        transport: Transport,
        store: DeviceStore,
        *,
        hook: EscrowHook | None = None,
        clock: Clock | None = None,
        retry_for: float = 0.0,
    ) -> Device:
        """Reopen a device from its store (after a restart)."""
        hook = hook or NoEscrow()
        clock = clock or SystemClock()
        private = store.load_local_identity()
        stored_prekeys = store.load_prekeys()
        if private is None or stored_prekeys is None:
            raise MessagingError(f"the store holds no device {address}")
        identity = IdentityKeyPair.from_private_bytes(private)
        prekeys = DevicePrekeys.deserialize(stored_prekeys)
        relay = RelayClient(transport, address, identity, clock, retry_for=retry_for)
        return cls(address, identity, prekeys, relay, store, hook, clock)

    def link_device(self, device_id: int, transport: Transport | None = None, **kwargs) -> Device:
        """Create and register another device of this user, linked by this one."""
        device = Device.create(self.user, device_id, transport or self.relay.transport,
                               hook=kwargs.pop("hook", self.hook),
                               clock=kwargs.pop("clock", self.clock), linked_by=self, **kwargs)
        self.refresh_devices(self.user)
        return device

    def remove_device(self, address: str) -> None:
        """Remove a device of this user from the relay (e.g. a lost phone)."""
        self.relay.remove_device(address)
        self.refresh_devices(self.user)

    # -- events ----------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` for every future event (device-list and identity changes, ...)."""
        self._listeners.append(listener)

    def drain_events(self) -> list[Event]:
        """The events since the last drain, oldest first."""
        events, self.events = self.events, []
        return events

    def emit(self, event: Event) -> None:
        """Record ``event`` and hand it to every listener."""
        self.events.append(event)
        for listener in self._listeners:
            listener(event)

    # -- device lists ----------------------------------------------------------------------

    def known_devices(self, user: str) -> dict[str, IdentityPublic]:
        """The devices of ``user`` as this device last saw them (fetched on first use)."""
        if user not in self._devices:
            self.refresh_devices(user)
        return dict(self._devices[user])

    def refresh_devices(self, user: str) -> dict[str, IdentityPublic]:
        """Fetch ``user``'s device list from the relay; emit events for what changed.

        Raises :class:`~messaging.errors.IdentityChangedError` (changing nothing)
        when a device the user verified presents a new identity.
        """
        current = self.relay.devices(user)
        known = self._devices.get(user)
        if known is not None and set(known) != set(current):
            self.emit(DeviceListChanged(user, tuple(sorted(set(current) - set(known))),
                                         tuple(sorted(set(known) - set(current)))))
        for address, identity in current.items():
            if address == self.address:
                continue
            change = self.trust.observe(address, identity)
            if change is not None:
                self.emit(change)
        self._devices[user] = dict(current)
        return dict(current)

    def safety_number(self, address: str) -> SafetyNumber:
        """The safety number of this device and the recorded identity of ``address``."""
        return self.trust.safety_number(address)

    # -- sending ---------------------------------------------------------------------------

    def send_text(self, to_user: str, text: str) -> list[int]:
        """Send ``text`` to every device of ``to_user`` and to this user's other devices."""
        content = encode_content("text", text, self.clock.now(), to=to_user)
        return self.send_content(direct_conversation_id(self.user, to_user), (to_user,), content)

    def send_content(
        self, conversation_id: str, users: tuple[str, ...], plaintext: bytes
    ) -> list[int]:
        """Fan ``plaintext`` out to every device of ``users`` and of this user (Sesame).

        Returns the relay's archive ids. If the relay cannot be reached the
        encrypted envelopes stay in the outbox (:meth:`flush` resends them)
        and :class:`~messaging.transport.RelayUnavailableError` propagates.
        """
        self.queue_content(conversation_id, users, plaintext)
        return self.flush()[-1]

    def queue_text(self, to_user: str, text: str) -> None:
        """Like :meth:`send_text`, but only encrypt and queue; :meth:`flush` sends."""
        content = encode_content("text", text, self.clock.now(), to=to_user)
        self.queue_content(direct_conversation_id(self.user, to_user), (to_user,), content)

    def queue_content(self, conversation_id: str, users: tuple[str, ...],
                      plaintext: bytes) -> None:
        """Encrypt ``plaintext`` for every current target device and put it in the outbox."""
        pending = _Pending(conversation_id, tuple(sorted(set(users))), plaintext)
        self._prepare(pending)
        self._outbox.append(pending)

    def flush(self) -> list[list[int]]:
        """Send every message in the outbox, oldest first; return each one's archive ids.

        Queued messages go out together, up to :data:`MAX_ENVELOPES_PER_SEND`
        envelopes per request (a client that falls behind catches up in fewer
        round trips); a device-list change falls back to one message at a time.
        """
        results: list[list[int]] = []
        while self._outbox:
            batch = self._next_batch()
            if len(batch) > 1:
                try:
                    ids = self.relay.send([e for p in batch for e in p.envelopes.values()])
                except RelayError as exc:
                    if exc.code != "device-list-mismatch":
                        raise
                    for user in _mismatched_users(exc):
                        self.refresh_devices(user)
                else:
                    for pending in batch:
                        results.append(ids[:len(pending.envelopes)])
                        ids = ids[len(pending.envelopes):]
                    del self._outbox[:len(batch)]
                    continue
            results.append(self._deliver(self._outbox[0]))
            self._outbox.pop(0)
        return results

    def _next_batch(self) -> list[_Pending]:
        batch: list[_Pending] = []
        envelopes = 0
        for pending in self._outbox:
            if batch and envelopes + len(pending.envelopes) > MAX_ENVELOPES_PER_SEND:
                break
            batch.append(pending)
            envelopes += len(pending.envelopes)
        return batch

    @property
    def outbox_size(self) -> int:
        return len(self._outbox)

    def _targets(self, users: tuple[str, ...]) -> set[str]:
        targets: set[str] = set()
        for user in set(users) | {self.user}:
            targets |= set(self.known_devices(user))
        return targets - {self.address}

    def _prepare(self, pending: _Pending) -> None:
        """Bring ``pending``'s envelopes in line with the known device lists."""
        targets = self._targets(pending.users)
        for address in list(pending.envelopes):
            if address not in targets:
                del pending.envelopes[address]
        for address in sorted(targets - set(pending.envelopes)):
            pending.envelopes[address] = self._encrypt(pending.conversation_id, address,
                                                       pending.plaintext)

    def _deliver(self, pending: _Pending) -> list[int]:
        for _ in range(MAX_SEND_ATTEMPTS):
            self._prepare(pending)
            if not pending.envelopes:
                return []
            try:
                return self.relay.send(list(pending.envelopes.values()))
            except RelayError as exc:
                if exc.code != "device-list-mismatch":
                    raise
                for user in _mismatched_users(exc):
                    self.refresh_devices(user)
        raise MessagingError("the device lists kept changing; message not sent")

    def _encrypt(self, conversation_id: str, address: str, plaintext: bytes) -> bytes:
        session = self._session(conversation_id, address)
        if session is None:
            bundle = self.relay.fetch_bundle(address)
            expected = self.known_devices(parse_address(address)[0]).get(address)
            if expected is None or bundle.identity.encode() != expected.encode():
                raise HandshakeError(
                    f"the prekey bundle of {address} is not signed by its registered identity")
            session = Session.initiate(self.identity, self.address, bundle, address,
                                       conversation_id, self.hook, self.clock)
        envelope = session.encrypt(plaintext)
        self._save_session(session)
        return envelope

    # -- receiving -------------------------------------------------------------------------

    def receive(self, limit: int = DEFAULT_FETCH_LIMIT, wait: int = 0,
                defer_ack: bool = False) -> list[Message]:
        """Fetch, open and acknowledge one batch of this device's queue.

        With ``wait`` > 0 the relay holds an empty fetch open up to that many
        seconds (long polling). With ``defer_ack`` the batch is acknowledged by
        the next receive's request instead of a request of its own (a receive
        loop then costs one round trip per batch); :meth:`flush_acks` sends
        deferred acknowledgements explicitly.
        """
        messages, _ = self._receive_batch(limit, wait, defer_ack)
        return messages

    def flush_acks(self) -> None:
        """Send acknowledgements deferred by ``receive(defer_ack=True)``."""
        if self._pending_acks:
            self.relay.ack(self._pending_acks)
            self._pending_acks = []

    def receive_all(self, limit: int = DEFAULT_FETCH_LIMIT) -> list[Message]:
        """Drain this device's queue."""
        messages: list[Message] = []
        more = True
        while more:
            try:
                batch, more = self._receive_batch(limit)
            except RelayUnavailableError:
                if not messages:
                    raise
                break  # keep what was decrypted; the rest stays queued on the relay
            messages += batch
        return messages

    def _receive_batch(self, limit: int, wait: int = 0, defer_ack: bool = False
                       ) -> tuple[list[Message], bool]:
        if self._pending_acks:
            items, more = self.relay.sync(self._pending_acks, limit, wait)
            self._pending_acks = []
        else:
            items, more = self.relay.fetch(limit, wait)
        messages: list[Message] = []
        handshakes = 0
        done: list[int] = []
        for item in items:
            try:
                message, handshake = self._open(item.id, item.envelope, item.received_at)
            except ReplayError:
                self.duplicates += 1
            except RelayUnavailableError:
                more = True  # transient: this envelope and the rest stay queued
                break
            except MessagingError as exc:
                self.emit(ReceiveFailed(item.id, _sender_of(item.envelope), str(exc)))
            else:
                handshakes += handshake
                messages.append(message)
            done.append(item.id)
        if defer_ack:
            self._pending_acks = done
        else:
            try:
                self.relay.ack(done)
            except RelayUnavailableError:
                self._pending_acks = done  # acknowledged by the next receive instead
        if handshakes or self._replenish_due:
            try:
                self.replenish_prekeys()
                self._replenish_due = False
            except MessagingError:  # unreachable, or a retried upload the relay had stored
                self._replenish_due = True
        accepted = []
        for message in messages:
            if message.group is not None:
                reason = self.groups.apply(message)
                if reason is not None:
                    self.emit(ReceiveFailed(message.envelope_id, message.sender, reason))
                    continue
            accepted.append(message)
        return accepted, more

    def _open(self, envelope_id: int, data: bytes, received_at: float) -> tuple[Message, bool]:
        envelope = parse_envelope(data)
        if envelope.recipient != self.address:
            raise WireFormatError(f"envelope is addressed to {envelope.recipient}")
        sender_user = parse_address(envelope.sender)[0]
        registered = self._devices.get(sender_user, {}).get(envelope.sender)
        if registered is None:
            registered = self.refresh_devices(sender_user).get(envelope.sender)
            if registered is None:
                raise HandshakeError(f"{envelope.sender} is not a registered device")
        key = (envelope.conversation_id, envelope.sender)
        session = self._session(*key)
        content = None
        handshake = False
        if session is not None:
            try:
                content = session.decrypt(data, read=decode_content)
            except (ReplayError, ContentError):
                raise  # a replay, or content the session opened and refused: no new session
            except MessagingError:
                if envelope.prekey is None:
                    raise
        if content is None:
            if envelope.prekey is None:
                raise HandshakeError(f"no session with {envelope.sender} in this conversation")
            if envelope.prekey.identity.encode() != registered.encode():
                raise HandshakeError(
                    f"{envelope.sender} used an identity other than the one it registered")
            session, content = Session.respond(self.identity, self._prekeys, self.address,
                                               data, self.hook, self.clock, read=decode_content)
            self.store.store_prekeys(self._prekeys.serialize())
            handshake = True
        self._save_session(session)
        message = Message(
            envelope_id=envelope_id, conversation_id=envelope.conversation_id,
            sender=envelope.sender, sender_user=sender_user, kind=content["kind"],
            body=content["body"], to=content["to"], group=content["group"],
            sent_at=content["sent_at"], received_at=received_at,
            own_copy=sender_user == self.user)
        return message, handshake

    # -- sessions and prekeys --------------------------------------------------------------

    def _session(self, conversation_id: str, address: str) -> Session | None:
        key = (conversation_id, address)
        session = self._sessions.get(key)
        if session is None:
            data = self.store.load_session(conversation_id, address)
            if data is not None:
                session = Session.deserialize(data, self.hook, self.clock)
                self._sessions[key] = session
        return session

    def _save_session(self, session: Session) -> None:
        key = (session.conversation_id, session.peer_address)
        self.store.store_session(*key, session.serialize())
        self._sessions[key] = session

    def session_with(self, conversation_id: str, address: str) -> Session | None:
        """This device's session with ``address`` in ``conversation_id``, if any."""
        return self._session(conversation_id, address)

    def replenish_prekeys(self) -> int:
        """Top up the relay's one-time prekeys when fewer than ``prekey_low_water`` remain;
        return how many X25519 one-time prekeys were uploaded."""
        counts = self.relay.prekey_counts()
        kem_batch = max(1, self.prekey_batch // 2)
        kem_low_water = max(1, self.prekey_low_water // 2)
        if counts["one_time"] >= self.prekey_low_water and \
                counts["kem_one_time"] >= kem_low_water:
            return 0
        upload = self._prekeys.replenish(max(self.prekey_batch - counts["one_time"], 0),
                                         max(kem_batch - counts["kem_one_time"], 0))
        self.store.store_prekeys(self._prekeys.serialize())
        self.relay.upload_prekeys(upload)
        return len(upload.one_time_prekeys)


def _sender_of(data: bytes) -> str:
    try:
        return parse_envelope(data).sender
    except WireFormatError:
        return "?"


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
