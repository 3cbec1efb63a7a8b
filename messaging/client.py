"""Devices: the client side of the messenger, one :class:`Device` per device of a user.

A :class:`Device` holds its identity, its prekeys and its sessions in a
:class:`~messaging.store.DeviceStore` (in memory by default; the encrypted
SQLite store for real use) and talks to the relay through a
:class:`~messaging.transport.RelayClient`. It is the facade over the device's
parts, each in its own module:

- life cycle (here): create and register, attach, restore, link and remove
  devices, and publish and replenish prekeys (PQXDH revision 3, section 3.2:
  a ``PrekeyUpload`` at registration, one-time prekeys topped up when fewer than
  ``prekey_low_water`` remain);
- device lists and identities (here): every peer device's identity goes through
  the device's :class:`~messaging.trust.TrustStore` (trust on first use); a
  different identity later emits :class:`~messaging.trust.IdentityChanged`, or
  raises :class:`~messaging.errors.IdentityChangedError` for a peer the user had
  verified (compare safety numbers with :meth:`Device.safety_number`);
- sessions: :mod:`messaging.sessions`, one per (conversation, local device, peer
  device);
- sending: Sesame fan-out and the outbox, :mod:`messaging.outbox`;
- receiving: :mod:`messaging.receive`;
- events: :mod:`messaging.events`;
- the plaintext format: :mod:`messaging.content`; groups: :mod:`messaging.groups`.
"""

from __future__ import annotations

from collections.abc import Callable

from messaging.addresses import direct_conversation_id, make_address, parse_address
from messaging.clock import Clock, SystemClock
from messaging.content import Message, encode_content, encode_image
from messaging.content_hook import ContentHook, ContentRefusedError, NoScanning, OutgoingContent
from messaging.directory import DirectoryVerifier, TrustTheRelay
from messaging.errors import HandshakeError, MessagingError, WireFormatError
from messaging.events import DeviceListChanged, Event, EventLog
from messaging.groups import GroupManager
from messaging.hooks import EscrowHook, NoEscrow
from messaging.identity import IdentityKeyPair, IdentityPublic
from messaging.limits import (
    DEFAULT_FETCH_LIMIT,
    DEFAULT_KEM_PREKEYS,
    DEFAULT_ONE_TIME_PREKEYS,
    PREKEY_LOW_WATER,
)
from messaging.outbox import Outbox
from messaging.prekey_state import DevicePrekeys
from messaging.receive import Receiver
from messaging.safety import SafetyNumber
from messaging.session import Session
from messaging.sessions import SessionCache
from messaging.store import DeviceStore, InMemoryDeviceStore
from messaging.transport import RelayClient, RelayUnavailableError, Transport
from messaging.trust import TrustRecord, TrustStore
from messaging.wire import envelope_version


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
        self.directory: DirectoryVerifier = TrustTheRelay()
        """Checks every device list the relay serves (:mod:`messaging.directory`)."""
        self.content_hook: ContentHook = NoScanning()
        """Inspects every outgoing plaintext before encryption and judges every incoming
        message's safety voucher (:mod:`messaging.content_hook`)."""
        self.prekey_low_water = prekey_low_water
        self.prekey_batch = prekey_batch
        self._prekeys = prekeys
        self._sessions = SessionCache(store, hook, clock)
        self._devices: dict[str, dict[str, IdentityPublic]] = {}
        self._events = EventLog()
        self._outbox = Outbox(relay, self.user, address, self.known_devices,
                              self.refresh_devices, self._encrypt)
        self.trust = TrustStore(store, identity.public, address, clock)
        for peer in store.list_peer_identities():
            record = TrustRecord.decode(store.load_peer_identity(peer))
            self._devices.setdefault(parse_address(peer)[0], {})[peer] = record.identity
        self.groups = GroupManager(self)
        self._receiver = Receiver(self, prekeys, self._sessions)

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
        self._events.subscribe(listener)

    def drain_events(self) -> list[Event]:
        """The events since the last drain, oldest first."""
        return self._events.drain()

    def emit(self, event: Event) -> None:
        """Record ``event`` and hand it to every listener."""
        self._events.emit(event)

    # -- device lists ----------------------------------------------------------------------

    def known_devices(self, user: str) -> dict[str, IdentityPublic]:
        """The devices of ``user`` as this device last saw them (fetched on first use)."""
        if user not in self._devices:
            self.refresh_devices(user)
        return dict(self._devices[user])

    def refresh_devices(self, user: str) -> dict[str, IdentityPublic]:
        """Fetch ``user``'s device list from the relay; emit events for what changed.

        Raises :class:`~messaging.errors.IdentityChangedError` (changing nothing)
        when a device the user verified presents a new identity, and
        :class:`~messaging.directory.DirectoryRefusedError` (changing nothing) when
        :attr:`directory` does not accept the list.
        """
        current = self.relay.devices(user)
        self.directory.verify_devices(user, current)
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

    def registered_identity(self, user: str, address: str) -> IdentityPublic | None:
        """The identity the relay lists for ``address`` (a device of ``user``): the known
        list's, else the refreshed list's; ``None`` if the relay lists no such device."""
        identity = self._devices.get(user, {}).get(address)
        if identity is None:
            identity = self.refresh_devices(user).get(address)
        return identity

    def safety_number(self, address: str) -> SafetyNumber:
        """The safety number of this device and the recorded identity of ``address``."""
        return self.trust.safety_number(address)

    # -- sending ---------------------------------------------------------------------------

    def send_text(self, to_user: str, text: str) -> list[int]:
        """Send ``text`` to every device of ``to_user`` and to this user's other devices."""
        content = encode_content("text", text, self.clock.now(), to=to_user)
        return self.send_content(direct_conversation_id(self.user, to_user), (to_user,), content)

    def send_image(self, to_user: str, image: bytes) -> list[int]:
        """Send the image attachment ``image`` (its encoded bytes) like :meth:`send_text`."""
        content = encode_image(image, self.clock.now(), to=to_user)
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
        """Encrypt ``plaintext`` for every current target device and put it in the outbox.

        :attr:`content_hook` sees the plaintext first and the safety voucher it returns
        rides with every envelope of the message; a
        :class:`~messaging.content_hook.ContentRefusedError` (also raised for a voucher that
        is not 1..MAX_VOUCHER_LENGTH bytes) leaves the outbox unchanged.
        """
        voucher = self.content_hook.inspect(OutgoingContent(conversation_id, self.address,
                                                            users, plaintext, self.clock.now()))
        try:
            envelope_version(voucher)
        except WireFormatError as exc:
            raise ContentRefusedError(f"the content hook returned a bad voucher: {exc}") from None
        self._outbox.queue(conversation_id, users, plaintext, voucher)

    def flush(self) -> list[list[int]]:
        """Send every message in the outbox, oldest first; return each one's archive ids
        (:meth:`messaging.outbox.Outbox.flush`)."""
        return self._outbox.flush()

    @property
    def outbox_size(self) -> int:
        return len(self._outbox)

    def _encrypt(self, conversation_id: str, address: str, plaintext: bytes,
                 voucher: bytes | None = None) -> bytes:
        session = self._sessions.get(conversation_id, address)
        if session is None:
            bundle = self.relay.fetch_bundle(address)
            expected = self.known_devices(parse_address(address)[0]).get(address)
            if expected is None or bundle.identity.encode() != expected.encode():
                raise HandshakeError(
                    f"the prekey bundle of {address} is not signed by its registered identity")
            session = Session.initiate(self.identity, self.address, bundle, address,
                                       conversation_id, self.hook, self.clock)
        envelope = session.encrypt(plaintext, voucher)
        self._sessions.save(session)
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
        messages, _ = self._receiver.receive_batch(limit, wait, defer_ack)
        return messages

    def flush_acks(self) -> None:
        """Send acknowledgements deferred by ``receive(defer_ack=True)``."""
        self._receiver.flush_acks()

    def receive_all(self, limit: int = DEFAULT_FETCH_LIMIT) -> list[Message]:
        """Drain this device's queue."""
        messages: list[Message] = []
        more = True
        while more:
            try:
                batch, more = self._receiver.receive_batch(limit)
            except RelayUnavailableError:
                if not messages:
                    raise
                break  # keep what was decrypted; the rest stays queued on the relay
            messages += batch
        return messages

    @property
    def duplicates(self) -> int:
        """How many re-delivered envelopes were recognised as replays and acknowledged."""
        return self._receiver.duplicates

    # -- sessions and prekeys --------------------------------------------------------------

    def session_with(self, conversation_id: str, address: str) -> Session | None:
        """This device's session with ``address`` in ``conversation_id``, if any."""
        return self._sessions.get(conversation_id, address)

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

