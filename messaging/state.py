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

from messaging.errors import HandshakeError, StateError, WireFormatError
from messaging.identity import IdentityPublic
from messaging.pqxdh import PrekeyBlock

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
        try:
            obj = json.loads(data)
            if not isinstance(obj, dict) or obj.get("v") != STATE_VERSION:
                raise StateError("unknown session state version")

            def opt(key: str) -> bytes | None:
                return None if obj[key] is None else bytes.fromhex(obj[key])

            block = obj["prekey"]
            state = cls(
                conversation_id=str(obj["conversation"]),
                local_address=str(obj["local"]),
                peer_address=str(obj["peer"]),
                mode=str(obj["mode"]),
                local_identity=IdentityPublic.decode(bytes.fromhex(obj["local_identity"])),
                peer_identity=IdentityPublic.decode(bytes.fromhex(obj["peer_identity"])),
                root_key=bytes.fromhex(obj["rk"]),
                dh_private=X25519PrivateKey.from_private_bytes(bytes.fromhex(obj["dhs"])),
                remote_ratchet_key=opt("dhr"),
                sending_chain_key=opt("cks"),
                receiving_chain_key=opt("ckr"),
                send_count=int(obj["ns"]),
                receive_count=int(obj["nr"]),
                previous_send_count=int(obj["pn"]),
                send_chain_number=int(obj["send_chain"]),
                send_chain_time=int(obj["send_time"]),
                send_record=opt("send_record"),
                receive_chain_count=int(obj["recv_chains"]),
                receive_chain_digest=bytes.fromhex(obj["recv_chain_digest"]),
                skipped=OrderedDict(
                    ((bytes.fromhex(k), int(n)), (bytes.fromhex(mk), bytes.fromhex(rh)))
                    for k, n, mk, rh in obj["skipped"]
                ),
                pending_prekey=None if block is None else PrekeyBlock(
                    IdentityPublic.decode(bytes.fromhex(block["identity"])),
                    bytes.fromhex(block["ek"]),
                    int(block["spk"]),
                    None if block["otk"] is None else int(block["otk"]),
                    int(block["kem"]),
                    bytes.fromhex(block["ct"]),
                ),
            )
        except StateError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, HandshakeError,
                WireFormatError) as exc:
            raise StateError("serialised session state is corrupt") from exc
        return state
