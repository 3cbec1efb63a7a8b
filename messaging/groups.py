"""Groups: named member sets over pairwise sessions (Signal's pre-2020 "client-side fan-out").

A group is an id, a name, a set of member users and a revision number. Every
group message (text or membership change) is encrypted pairwise for every
device of every member and of the sender's own user (Sesame fan-out, see
:mod:`messaging.client`) in the group's own conversation ``group:<id>``, so
the relay sees one envelope per device pair and never a group key.

Membership changes are messages too: a change is sent to the union of the
old and the new members, so a removed member sees their removal and every
remaining member sees who changed what. A device accepts a change only from
a current member and only with a higher revision; it accepts group text only
from a current member. Group state lives in memory on each device.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import strictjson
from messaging.errors import MessagingError
from messaging.relay.addresses import AddressError, check_user

if TYPE_CHECKING:
    from messaging.client import Device, Message

GROUP_CONVERSATION_PREFIX = "group:"
MAX_GROUP_MEMBERS = 256
MAX_GROUP_NAME = 100
_GROUP_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class Group:
    group_id: str
    name: str
    members: frozenset[str]
    revision: int

    @property
    def conversation_id(self) -> str:
        return GROUP_CONVERSATION_PREFIX + self.group_id

    def to_json(self) -> dict:
        return {"id": self.group_id, "name": self.name, "members": sorted(self.members),
                "revision": self.revision}


@dataclass(frozen=True)
class GroupChanged:
    """An event: a group was created or its membership changed (seen by every member)."""

    group_id: str
    name: str
    revision: int
    by: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


class GroupError(MessagingError, ValueError):
    """A group operation that is not allowed (not a member, too many members, ...), or a
    malformed group message."""


class GroupManager:
    """The groups one device knows, and the operations on them."""

    def __init__(self, device: Device) -> None:
        self._device = device
        self._groups: dict[str, Group] = {}

    def get(self, group_id: str) -> Group:
        try:
            return self._groups[group_id]
        except KeyError:
            raise GroupError(f"unknown group {group_id}") from None

    def all(self) -> list[Group]:
        return sorted(self._groups.values(), key=lambda g: g.group_id)

    # -- operations ------------------------------------------------------------------------

    def create(self, name: str, members: list[str] | set[str]) -> Group:
        """Create a group of ``members`` (the creator is added) and tell every member."""
        group = Group(os.urandom(8).hex(), _check_name(name),
                      _check_members(set(members) | {self._device.user}), 1)
        self._change(None, group)
        return group

    def add_members(self, group_id: str, users: list[str] | set[str]) -> Group:
        old = self._member_group(group_id)
        return self._change(old, Group(old.group_id, old.name,
                                       _check_members(old.members | set(users)),
                                       old.revision + 1))

    def remove_members(self, group_id: str, users: list[str] | set[str]) -> Group:
        old = self._member_group(group_id)
        return self._change(old, Group(old.group_id, old.name,
                                       _check_members(old.members - set(users)),
                                       old.revision + 1))

    def send(self, group_id: str, text: str) -> list[int]:
        """Send ``text`` to every member's devices (pairwise)."""
        from messaging.client import encode_content

        group = self._member_group(group_id)
        content = encode_content("group-text", text, self._device.clock.now(),
                                 group={"id": group.group_id, "revision": group.revision})
        return self._device.send_content(group.conversation_id, tuple(group.members), content)

    def _member_group(self, group_id: str) -> Group:
        group = self.get(group_id)
        if self._device.user not in group.members:
            raise GroupError(f"{self._device.user} is not a member of group {group.name!r}")
        return group

    def _change(self, old: Group | None, new: Group) -> Group:
        from messaging.client import encode_content

        audience = new.members | (old.members if old else frozenset())
        content = encode_content("group-update", "", self._device.clock.now(),
                                 group=new.to_json())
        self._device.send_content(new.conversation_id, tuple(audience), content)
        self._groups[new.group_id] = new
        self._device.emit(_changed(old, new, self._device.user))
        return new

    # -- receiving -------------------------------------------------------------------------

    def apply(self, message: Message) -> str | None:
        """Apply a received group message; return why it is refused, or ``None`` if accepted.

        The client has parsed its ``group`` object already (:func:`parse_group`, inside
        :func:`messaging.client.decode_content`); it is checked again here, so that ``apply``
        never acts on an object it did not check.
        """
        try:
            data = parse_group(message.kind, message.group)
        except GroupError as exc:
            return f"malformed group message: {exc}"
        group_id = data["id"]
        if message.conversation_id != GROUP_CONVERSATION_PREFIX + group_id:
            return "group message outside its group's conversation"
        known = self._groups.get(group_id)
        if message.kind == "group-text":
            if known is None or message.sender_user not in known.members:
                return f"group text from {message.sender_user}, not a member"
            return None
        new = Group(group_id, data["name"], frozenset(data["members"]), data["revision"])
        if known is None:
            if message.sender_user not in new.members or self._device.user not in new.members:
                return "group announcement from or to a non-member"
        else:
            if message.sender_user not in known.members:
                return f"membership change by {message.sender_user}, not a member"
            if new.revision <= known.revision:
                return f"stale membership change (revision {new.revision})"
        self._groups[group_id] = new
        self._device.emit(_changed(known, new, message.sender_user))
        return None


def parse_group(kind: str, data: object) -> dict:
    """The ``group`` object of a group message of ``kind``, or ``GroupError``.

    Exact fields and types (:func:`strictjson.fields`): a group text carries exactly
    ``{id, revision}``, an update exactly ``{id, name, members, revision}``; the id is 16
    lowercase hex digits, the revision in 1..2^31-1, the name 1..100 printable
    characters and the members a list of 1..256 distinct user names.
    """
    if kind == "group-text":
        strictjson.fields(data, {"id": str, "revision": int}, what="group text",
                          error=GroupError)
    elif kind == "group-update":
        strictjson.fields(data, {"id": str, "name": str, "members": list, "revision": int},
                          what="group update", error=GroupError)
        members = data["members"]
        if not all(isinstance(m, str) for m in members) or len(set(members)) != len(members):
            raise GroupError("group update: members are distinct user names")
        _check_name(data["name"])
        _check_members(members)
    else:
        raise GroupError(f"{kind!r} is not a group message kind")
    if not _GROUP_ID.fullmatch(data["id"]):
        raise GroupError("a group id is 16 lowercase hex digits")
    _check_revision(data["revision"])
    return data


def _changed(old: Group | None, new: Group, by: str) -> GroupChanged:
    before = old.members if old else frozenset()
    return GroupChanged(new.group_id, new.name, new.revision, by,
                        tuple(sorted(new.members - before)), tuple(sorted(before - new.members)))


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_GROUP_NAME \
            or not name.isprintable():
        raise GroupError(f"a group name is 1..{MAX_GROUP_NAME} printable characters")
    return name


def _check_members(members: set | list) -> frozenset[str]:
    if not members or len(members) > MAX_GROUP_MEMBERS:
        raise GroupError(f"a group has 1..{MAX_GROUP_MEMBERS} members")
    try:
        return frozenset(check_user(m) for m in members)
    except AddressError as exc:
        raise GroupError(f"bad member: {exc}") from exc


def _check_revision(revision: object) -> int:
    if type(revision) is not int or not 1 <= revision < 2**31:
        raise GroupError("a group revision is a positive integer")
    return revision
