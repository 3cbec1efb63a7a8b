"""The serialisable state of one Double Ratchet session (libsignal ``state/session.rs``).

Only data lives here; :mod:`messaging.session` performs the operations.
Section numbers refer to Signal's Double Ratchet specification (revision 4),
section 3.2 "State variables". The escrow fields record, per sending chain, the
chain number, its start time and its record, and per receiving chain (and per
skipped key) a digest of the chain number, chain time and record the hook
accepted (every later message of that chain must carry the same).

``serialize`` is canonical (sorted-key JSON), so two equal states serialise to
the same bytes and "state unchanged" can be checked byte for byte. It contains
private keys: store it only in an encrypted store.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import strictjson
from messaging.codec import hex_bytes
from messaging.errors import HandshakeError, StateError
from messaging.identity import IDENTITY_PUBLIC_LENGTH, KEY_LENGTH, IdentityPublic
from messaging.limits import (
    MAX_EPOCH_SECONDS,
    MAX_ID_LENGTH,
    MAX_RECORD_LENGTH,
    MAX_SKIPPED_KEYS_TOTAL,
)
from messaging.mode_id import validate_mode_id
from messaging.pqxdh import MLKEM768_CIPHERTEXT_LENGTH, PrekeyBlock

STATE_VERSION = 1

SkippedKey = tuple[bytes, int]  # (ratchet public key, message number)


@dataclass(eq=False, repr=False)
class SessionState:
    conversation_id: str
    local_address: str
    peer_address: str
    mode: str
    local_identity: IdentityPublic
    peer_identity: IdentityPublic
    root_key: bytes  # RK
    dh_private: X25519PrivateKey  # DHs
    remote_ratchet_key: bytes | None  # DHr
    sending_chain_key: bytes | None  # CKs
    receiving_chain_key: bytes | None  # CKr
    send_count: int = 0  # Ns
    receive_count: int = 0  # Nr
    previous_send_count: int = 0  # PN
    send_chain_number: int = 0
    send_chain_time: int = 0
    send_record: bytes | None = None  # None until the first message of the chain
    receive_chain_count: int = 0
    receive_chain_digest: bytes = b""  # see session._chain_digest
    skipped: OrderedDict[SkippedKey, tuple[bytes, bytes]] = field(default_factory=OrderedDict)
    pending_prekey: PrekeyBlock | None = None  # sent with every message until a reply
    dh_public: bytes = field(init=False)

    def __post_init__(self) -> None:
        self.dh_public = self.dh_private.public_key().public_bytes_raw()

    def __repr__(self) -> str:
        return (f"SessionState(conversation={self.conversation_id!r}, "
                f"local={self.local_address!r}, peer={self.peer_address!r}, mode={self.mode!r})")

    def serialize(self) -> bytes:
        def opt(value: bytes | None) -> str | None:
            return None if value is None else value.hex()

        block = self.pending_prekey
        return json.dumps({
            "v": STATE_VERSION,
            "conversation": self.conversation_id,
            "local": self.local_address,
            "peer": self.peer_address,
            "mode": self.mode,
            "local_identity": self.local_identity.encode().hex(),
            "peer_identity": self.peer_identity.encode().hex(),
            "rk": self.root_key.hex(),
            "dhs": self.dh_private.private_bytes_raw().hex(),
            "dhr": opt(self.remote_ratchet_key),
            "cks": opt(self.sending_chain_key),
            "ckr": opt(self.receiving_chain_key),
            "ns": self.send_count,
            "nr": self.receive_count,
            "pn": self.previous_send_count,
            "send_chain": self.send_chain_number,
            "send_time": self.send_chain_time,
            "send_record": opt(self.send_record),
            "recv_chains": self.receive_chain_count,
            "recv_chain_digest": self.receive_chain_digest.hex(),
            "skipped": [[k.hex(), n, mk.hex(), rh.hex()]
                        for (k, n), (mk, rh) in self.skipped.items()],
            "prekey": None if block is None else {
                "identity": block.identity.encode().hex(),
                "ek": block.ephemeral_key.hex(),
                "spk": block.signed_prekey_id,
                "otk": block.one_time_prekey_id,
                "kem": block.kem_prekey_id,
                "ct": block.kem_ciphertext.hex(),
            },
        }, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def deserialize(cls, data: bytes) -> SessionState:
        """Parse strictly: :func:`strictjson.loads` (bounded depth and digits, no lone
        surrogates), exact fields, types, key lengths and counter ranges, and the canonical
        bytes :meth:`serialize` writes (so what parses is exactly the state it encodes),
        else ``StateError``."""
        if not isinstance(data, bytes):
            raise StateError(f"serialised session state is bytes, not {type(data).__name__}")
        obj = strictjson.loads(data, what="serialised session state", error=StateError)
        f = _Fields(obj, _STATE_FIELDS)
        if type(obj["v"]) is not int or obj["v"] != STATE_VERSION:
            raise StateError("unknown session state version")
        skipped_raw = obj["skipped"]
        if not isinstance(skipped_raw, list) or len(skipped_raw) > MAX_SKIPPED_KEYS_TOTAL:
            raise StateError(f"'skipped' must be a list of at most {MAX_SKIPPED_KEYS_TOTAL} keys")
        skipped: OrderedDict[SkippedKey, tuple[bytes, bytes]] = OrderedDict()
        for entry in skipped_raw:
            if not isinstance(entry, list) or len(entry) != 4:
                raise StateError("a skipped key is [ratchet key, number, key, chain digest]")
            item = _Fields(dict(zip(("k", "n", "mk", "d"), entry, strict=True)),
                           frozenset({"k", "n", "mk", "d"}))
            skipped[(item.key("k"), item.u32("n"))] = (item.key("mk"), item.key("d"))
        block = obj["prekey"]
        pending = None
        if block is not None:
            b = _Fields(block, _PREKEY_FIELDS)
            pending = PrekeyBlock(b.identity("identity"), b.key("ek"), b.u32("spk"),
                                  None if block["otk"] is None else b.u32("otk"),
                                  b.u32("kem"), b.hex("ct", MLKEM768_CIPHERTEXT_LENGTH))
        digest = f.hex("recv_chain_digest")
        if len(digest) not in (0, KEY_LENGTH):
            raise StateError("'recv_chain_digest' must be empty or 32 bytes")
        send_record = None if obj["send_record"] is None else f.hex("send_record")
        if send_record is not None and len(send_record) > MAX_RECORD_LENGTH:
            raise StateError(f"'send_record' exceeds {MAX_RECORD_LENGTH} bytes")
        sending_chain_key = f.optional_key("cks")
        send_count = f.u32("ns")
        if (send_record is None or sending_chain_key is None) and send_count != 0 or \
                sending_chain_key is None and send_record is not None:
            raise StateError("the sending chain's key, record and counter contradict each other "
                             "(a record is made at a chain's first message, from CK_0)")
        try:
            mode = validate_mode_id(obj["mode"])
        except ValueError as exc:
            raise StateError(f"'mode': {exc}") from exc
        state = cls(
            conversation_id=f.text("conversation"),
            local_address=f.text("local"),
            peer_address=f.text("peer"),
            mode=mode,
            local_identity=f.identity("local_identity"),
            peer_identity=f.identity("peer_identity"),
            root_key=f.key("rk"),
            dh_private=X25519PrivateKey.from_private_bytes(f.key("dhs")),
            remote_ratchet_key=f.optional_key("dhr"),
            sending_chain_key=sending_chain_key,
            receiving_chain_key=f.optional_key("ckr"),
            send_count=send_count,
            receive_count=f.u32("nr"),
            previous_send_count=f.u32("pn"),
            send_chain_number=f.u32("send_chain"),
            send_chain_time=f.integer("send_time", MAX_EPOCH_SECONDS),
            send_record=send_record,
            receive_chain_count=f.u32("recv_chains"),
            receive_chain_digest=digest,
            skipped=skipped,
            pending_prekey=pending,
        )
        if state.serialize() != data:
            raise StateError("serialised session state is not in its canonical encoding "
                             "(sorted keys, no spaces, lowercase hex, no repeated skipped key)")
        return state


_STATE_FIELDS = frozenset({
    "v", "conversation", "local", "peer", "mode", "local_identity", "peer_identity", "rk",
    "dhs", "dhr", "cks", "ckr", "ns", "nr", "pn", "send_chain", "send_time", "send_record",
    "recv_chains", "recv_chain_digest", "skipped", "prekey"})
_PREKEY_FIELDS = frozenset({"identity", "ek", "spk", "otk", "kem", "ct"})


class _Fields:
    """Typed reads from one JSON object with exactly ``keys``; anything else is a StateError."""

    def __init__(self, obj: object, keys: frozenset[str]) -> None:
        if not isinstance(obj, dict) or set(obj) != keys:
            raise StateError(f"serialised session state must be an object with exactly the "
                             f"fields {sorted(keys)}")
        self._obj = obj

    def integer(self, key: str, maximum: int) -> int:
        value = self._obj[key]
        if type(value) is not int or not 0 <= value <= maximum:
            raise StateError(f"{key!r} must be an integer in 0..{maximum}")
        return value

    def u32(self, key: str) -> int:
        return self.integer(key, 2**32 - 1)

    def hex(self, key: str, length: int | None = None) -> bytes:
        return hex_bytes(self._obj[key], what=repr(key), error=StateError, length=length)

    def key(self, key: str) -> bytes:
        return self.hex(key, KEY_LENGTH)

    def optional_key(self, key: str) -> bytes | None:
        return None if self._obj[key] is None else self.key(key)

    def identity(self, key: str) -> IdentityPublic:
        try:
            return IdentityPublic.decode(self.hex(key, IDENTITY_PUBLIC_LENGTH))
        except HandshakeError as exc:
            raise StateError(f"{key!r} is not a valid identity") from exc

    def text(self, key: str) -> str:
        value = self._obj[key]
        try:
            length = len(value.encode("utf-8")) if isinstance(value, str) else 0
        except UnicodeEncodeError:
            length = 0
        if not 1 <= length <= MAX_ID_LENGTH or not value.isprintable():
            raise StateError(f"{key!r} must be 1..{MAX_ID_LENGTH} bytes of printable UTF-8")
        return value
