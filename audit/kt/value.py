"""What the directory maps a user to (docs/key_transparency.md, "The map").

A user's entry is ``(version, commitment)``. The version counts the changes of the
user's device list (1 for the first list, +1 per change). The commitment is SHA-256 over
a domain tag and the canonical encoding (RFC 8785, JCS) of the user, the version and the
device set: every device's address and the bytes of its public identity (signing key, DH
key and binding signature), sorted by address. It binds the whole context (docs/
architecture.md, "Principles"): an entry cannot be moved to another user or version.

The commitment is a plain hash, not a hiding commitment with a nonce as in AKD: the
directory hands out the device list with every lookup anyway, and identity keys are not
guessable, but a version number and "this user exists" are not hidden (docs/
key_transparency.md, "What this does not do").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import rfc8785

from audit.kt.errors import KTError

COMMITMENT_TAG = b"escrowlab-kt/commitment/v1\x00"
MAX_DEVICES = 64
MAX_ADDRESS_BYTES = 128
MAX_IDENTITY_BYTES = 256
MAX_USER_BYTES = 128
MAX_VERSION = (1 << 63) - 1


def check_user(user: object) -> str:
    """``user`` if it is a non-empty printable name of at most 128 UTF-8 bytes; else KTError."""
    if not isinstance(user, str) or not user or len(user.encode("utf-8")) > MAX_USER_BYTES \
            or not user.isprintable():
        raise KTError(f"a directory user is 1..{MAX_USER_BYTES} printable bytes")
    return user


@dataclass(frozen=True)
class DeviceSet:
    """A user's devices: ``(address, identity bytes)`` pairs, sorted by address, each once."""

    devices: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not isinstance(self.devices, tuple) or len(self.devices) > MAX_DEVICES:
            raise KTError(f"a device set is a tuple of at most {MAX_DEVICES} devices")
        addresses = []
        for item in self.devices:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
                    and isinstance(item[1], bytes)):
                raise KTError("a device is an (address, identity bytes) pair")
            address, identity = item
            if not 0 < len(address.encode("utf-8")) <= MAX_ADDRESS_BYTES or \
                    not 0 < len(identity) <= MAX_IDENTITY_BYTES:
                raise KTError("a device address or identity has an impossible length")
            addresses.append(address)
        if addresses != sorted(set(addresses)):
            raise KTError("a device set lists each address once, sorted")

    @classmethod
    def of(cls, devices: Mapping[str, bytes]) -> DeviceSet:
        """The set of a mapping address -> identity bytes."""
        if not isinstance(devices, Mapping):
            raise KTError("devices must be a mapping of address to identity bytes")
        return cls(tuple(sorted(devices.items())))

    def as_dict(self) -> dict[str, bytes]:
        return dict(self.devices)


def commitment(user: str, version: int, devices: DeviceSet) -> bytes:
    """SHA-256(tag || JCS({"user", "version", "devices": [[address, identity hex], ...]}))."""
    check_user(user)
    if isinstance(version, bool) or not isinstance(version, int) or \
            not 0 < version <= MAX_VERSION:
        raise KTError("a directory version is a positive integer")
    document = {"user": user, "version": version,
                "devices": [[a, i.hex()] for a, i in devices.devices]}
    return hashlib.sha256(COMMITMENT_TAG + rfc8785.dumps(document)).digest()
