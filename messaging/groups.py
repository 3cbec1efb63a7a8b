"""Groups: named member sets over pairwise sessions (Signal's pre-2020 "client-side fan-out").

A group is an id, a name, a set of member users and a revision number. Every
group message (text or membership change) is encrypted pairwise for every
device of every member and of the sender's own user (Sesame fan-out, see
:mod:`messaging.outbox`) in the group's own conversation ``group:<id>``, so
the relay sees one envelope per device pair and never a group key.

Membership changes are messages too: a change is sent to the union of the
old and the new members, so a removed member sees their removal and every
remaining member sees who changed what. A device accepts a change only from
a current member and only with a higher revision; it accepts group text only
from a current member. Group state lives in memory on each device.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from messaging.clock import Clock
from messaging.content import (
    GROUP_ID_BYTES,
    Message,
    check_group_members,
    check_group_name,
    encode_content,
    parse_group,
)
from messaging.errors import GroupError

GROUP_CONVERSATION_PREFIX = "group:"


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


class GroupDevice(Protocol):
    """What a :class:`GroupManager` needs of its device (:class:`messaging.client.Device`)."""

    user: str
    clock: Clock
    emit: Callable[[GroupChanged], None]

    def send_content(self, conversation_id: str, users: tuple[str, ...],
                     plaintext: bytes) -> list[int]: ...


class GroupManager:
    """The groups one device knows, and the operations on them."""

    def __init__(self, device: GroupDevice) -> None:
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
        group = Group(os.urandom(GROUP_ID_BYTES).hex(), check_group_name(name),
                      check_group_members(set(members) | {self._device.user}), 1)
        self._change(None, group)
        return group

    def add_members(self, group_id: str, users: list[str] | set[str]) -> Group:
        old = self._member_group(group_id)
        return self._change(old, Group(old.group_id, old.name,
                                       check_group_members(old.members | set(users)),
                                       old.revision + 1))

    def remove_members(self, group_id: str, users: list[str] | set[str]) -> Group:
        old = self._member_group(group_id)
        return self._change(old, Group(old.group_id, old.name,
                                       check_group_members(old.members - set(users)),
                                       old.revision + 1))

    def send(self, group_id: str, text: str) -> list[int]:
        """Send ``text`` to every member's devices (pairwise)."""
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

        The client has parsed its ``group`` object already
        (:func:`~messaging.content.parse_group`, inside
        :func:`~messaging.content.decode_content`); it is checked again here, so that
        ``apply`` never acts on an object it did not check.
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


def _changed(old: Group | None, new: Group, by: str) -> GroupChanged:
    before = old.members if old else frozenset()
    return GroupChanged(new.group_id, new.name, new.revision, by,
                        tuple(sorted(new.members - before)), tuple(sorted(before - new.members)))
