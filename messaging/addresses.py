"""Device addresses: ``"user:device"`` strings such as ``"alice:1"``.

A user name is 1..64 characters of lower-case ASCII letters, digits, ``_``,
``.`` and ``-``; a device id is a decimal integer in 1..2**31-1 without leading
zeros, so an address is at most 75 characters (:data:`messaging.limits.MAX_ADDRESS_LENGTH`).
The relay and the clients parse addresses with :func:`parse_address` only, so an
address has exactly one spelling.

A direct conversation's id is ``dm:<user>:<user>`` with the two user names in
sorted order (:func:`direct_conversation_id`); :func:`direct_participants` reads
it back.
"""

from __future__ import annotations

import re

from messaging.errors import MessagingError
from messaging.limits import MAX_DEVICE_ID, MAX_USER_LENGTH

_USER = re.compile(rf"[a-z0-9_.-]{{1,{MAX_USER_LENGTH}}}")
_DEVICE = re.compile(rf"[1-9][0-9]{{0,{len(str(MAX_DEVICE_ID)) - 1}}}")


class AddressError(MessagingError, ValueError):
    """A string that is not a well-formed ``user:device`` address or user name."""


def check_user(user: str) -> str:
    """Return ``user`` if it is a well-formed user name, else raise :class:`AddressError`."""
    if not isinstance(user, str) or not _USER.fullmatch(user):
        raise AddressError(
            f"a user name is 1..{MAX_USER_LENGTH} characters of a-z, 0-9, '_', '.' and '-'"
        )
    return user


def parse_address(address: str) -> tuple[str, int]:
    """Split ``"alice:1"`` into ``("alice", 1)``; raise :class:`AddressError` if malformed."""
    if not isinstance(address, str) or address.count(":") != 1:
        raise AddressError("an address is 'user:device', e.g. 'alice:1'")
    user, device = address.split(":")
    check_user(user)
    if not _DEVICE.fullmatch(device) or int(device) > MAX_DEVICE_ID:
        raise AddressError(f"a device id is an integer in 1..{MAX_DEVICE_ID}")
    return user, int(device)


DIRECT_PREFIX = "dm:"


def direct_conversation_id(user_a: str, user_b: str) -> str:
    """The conversation id of the direct chat between two users (same for both)."""
    first, second = sorted((user_a, user_b))
    return f"{DIRECT_PREFIX}{first}:{second}"


def direct_participants(conversation_id: str) -> frozenset[str] | None:
    """The two users of a direct conversation id, ``None`` for any other conversation.

    An id starting with ``dm:`` must be ``dm:<a>:<b>`` with well-formed user
    names and ``a <= b`` (one spelling per pair), else :class:`AddressError`.
    """
    if not conversation_id.startswith(DIRECT_PREFIX):
        return None
    users = conversation_id[len(DIRECT_PREFIX):].split(":")
    if len(users) != 2:
        raise AddressError("a direct conversation id is 'dm:<user>:<user>'")
    for user in users:
        check_user(user)
    if users[0] > users[1]:
        raise AddressError("a direct conversation id names its two users in sorted order")
    return frozenset(users)


def make_address(user: str, device_id: int) -> str:
    """The canonical address of ``user``'s device ``device_id``."""
    address = f"{check_user(user)}:{device_id}"
    parse_address(address)
    return address


def user_of(address: str) -> str:
    return parse_address(address)[0]
