"""Message content: the plaintext inside every envelope, and a message as a device received it.

The plaintext is a small JSON object, canonical on the way out
(:func:`encode_content`: sorted keys, no spaces) and parsed strictly on the way in
(:func:`decode_content`), inside the session's decryption: content that does not
parse is refused like a message whose tag fails. A group message carries a
``group`` object (:func:`parse_group`), whose state and rules are
:mod:`messaging.groups`. An ``image`` is a direct message whose body is the
attachment's encoded bytes (PNG, JPEG, ...) in canonical base64 (RFC 4648
section 4, padded), 1..:data:`~messaging.limits.MAX_IMAGE_BYTES` bytes: the
content a client-side-scanning hook hashes before encryption (docs/css.md).
The fields::

    {"v": 1, "kind": "text" | "image" | "group-update" | "group-text", "body": str,
     "to": user | null, "group": object | null, "sent_at": seconds}
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

import strictjson
from messaging.addresses import AddressError, check_user
from messaging.codec import epoch_seconds
from messaging.errors import ContentError, GroupError
from messaging.limits import (
    MAX_BODY_CHARS,
    MAX_CONTENT_BYTES,
    MAX_GROUP_MEMBERS,
    MAX_GROUP_NAME,
    MAX_GROUP_REVISION,
    MAX_IMAGE_BODY_CHARS,
    MAX_IMAGE_BYTES,
)

CONTENT_VERSION = 1
CONTENT_KINDS = ("text", "image", "group-update", "group-text")
DIRECT_KINDS = ("text", "image")
GROUP_ID_BYTES = 8
_GROUP_ID = re.compile(rf"[0-9a-f]{{{2 * GROUP_ID_BYTES}}}")


def encode_content(kind: str, body: str, sent_at: float, to: str | None = None,
                   group: dict | None = None) -> bytes:
    """The plaintext of one message: canonical JSON ``{v, kind, body, to, group, sent_at}``."""
    if kind not in CONTENT_KINDS:
        raise ValueError(f"content kind is one of {CONTENT_KINDS}")
    if kind == "image":
        try:
            image_bytes(body)
        except ContentError as exc:
            raise ValueError(str(exc)) from None
    elif not isinstance(body, str) or len(body) > MAX_BODY_CHARS:
        raise ValueError(f"a message body is text of at most {MAX_BODY_CHARS} characters")
    return json.dumps({"v": CONTENT_VERSION, "kind": kind, "body": body, "to": to,
                       "group": group, "sent_at": sent_at},
                      sort_keys=True, separators=(",", ":")).encode()


def encode_image(image: bytes, sent_at: float, to: str) -> bytes:
    """The plaintext of an ``image`` message to ``to``: ``image`` (1..MAX_IMAGE_BYTES encoded
    bytes) in canonical base64."""
    if not isinstance(image, bytes) or not 1 <= len(image) <= MAX_IMAGE_BYTES:
        raise ValueError(f"an image attachment is 1..{MAX_IMAGE_BYTES} bytes")
    return encode_content("image", base64.b64encode(image).decode("ascii"), sent_at, to=to)


def image_bytes(body: object) -> bytes:
    """The attachment of an ``image`` body: canonical padded base64 of 1..MAX_IMAGE_BYTES
    bytes (no whitespace, no other alphabet, no stray bits), else ``ContentError``."""
    if not isinstance(body, str) or not 1 <= len(body) <= MAX_IMAGE_BODY_CHARS \
            or not body.isascii():
        raise ContentError(f"an image body is base64 of 1..{MAX_IMAGE_BYTES} bytes")
    try:
        image = base64.b64decode(body, validate=True)
    except binascii.Error:
        raise ContentError("an image body is not valid base64") from None
    if base64.b64encode(image).decode("ascii") != body:
        raise ContentError("an image body is not canonical base64")
    if not 1 <= len(image) <= MAX_IMAGE_BYTES:
        raise ContentError(f"an image attachment is 1..{MAX_IMAGE_BYTES} bytes")
    return image


def decode_content(plaintext: bytes) -> dict:
    """Parse a decrypted plaintext strictly; raise ``ContentError`` if it is not valid content.

    :func:`strictjson.loads` (UTF-8, bounded depth and digits, no lone surrogates, no
    duplicate names), then exactly the six fields with their exact types: ``v`` the
    integer 1 (never ``true`` or ``1.0``); ``kind`` one of :data:`CONTENT_KINDS`;
    ``body`` text of at most :data:`MAX_BODY_CHARS` characters (an ``image``'s: its
    attachment, :func:`image_bytes`); ``sent_at`` a time
    (:func:`messaging.codec.epoch_seconds`, returned as ``float``); a direct ``text`` or
    ``image`` names its recipient user in ``to`` and has no ``group``, a group message has a
    well-formed ``group`` object (:func:`parse_group`) and no ``to``.
    """
    what = "decrypted content"
    content = strictjson.fields(
        strictjson.loads(plaintext, what=what, error=ContentError, max_bytes=MAX_CONTENT_BYTES),
        {"v": int, "kind": str, "body": str, "to": (str, type(None)),
         "group": (dict, type(None)), "sent_at": (int, float)},
        what=what, error=ContentError)
    if content["v"] != CONTENT_VERSION:
        raise ContentError(f"{what} has unknown version {content['v']}")
    if content["kind"] not in CONTENT_KINDS:
        raise ContentError(f"{what} has an unknown kind (one of {', '.join(CONTENT_KINDS)})")
    if content["kind"] == "image":
        try:
            image_bytes(content["body"])
        except ContentError as exc:
            raise ContentError(f"{what}: {exc}") from None
    elif len(content["body"]) > MAX_BODY_CHARS:
        raise ContentError(f"{what} has a body longer than {MAX_BODY_CHARS} characters")
    content["sent_at"] = epoch_seconds(content["sent_at"], what=f"{what}: sent_at",
                                       error=ContentError)
    if content["kind"] in DIRECT_KINDS:
        if content["group"] is not None or content["to"] is None:
            raise ContentError(f"{what}: a direct message names its recipient and no group")
        try:
            check_user(content["to"])
        except AddressError as exc:
            raise ContentError(f"{what}: recipient: {exc}") from None
    elif content["group"] is None or content["to"] is not None:
        raise ContentError(f"{what}: a group message carries its group and no recipient")
    else:
        try:
            parse_group(content["kind"], content["group"])
        except GroupError as exc:
            raise ContentError(f"{what}: malformed group object: {exc}") from None
    return content


@dataclass(frozen=True)
class Message:
    """A decrypted message as this device received it."""

    envelope_id: int
    conversation_id: str
    sender: str
    sender_user: str
    kind: str
    body: str
    to: str | None
    group: dict | None
    sent_at: float
    received_at: float
    own_copy: bool
    """True when another device of this user sent it (Sesame's copy to own devices)."""

    @property
    def image(self) -> bytes:
        """The attachment of an ``image`` message (``ContentError`` for any other kind)."""
        if self.kind != "image":
            raise ContentError(f"a {self.kind!r} message has no image")
        return image_bytes(self.body)


def parse_group(kind: str, data: object) -> dict:
    """The ``group`` object of a group message of ``kind``, or ``GroupError``.

    Exact fields and types (:func:`strictjson.fields`): a group text carries exactly
    ``{id, revision}``, an update exactly ``{id, name, members, revision}``; the id is 16
    lowercase hex digits, the revision in 1..2^31-1 (:data:`~messaging.limits.MAX_GROUP_REVISION`),
    the name 1..100 printable characters (:data:`~messaging.limits.MAX_GROUP_NAME`) and the
    members a list of 1..256 distinct user names (:data:`~messaging.limits.MAX_GROUP_MEMBERS`).
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
        check_group_name(data["name"])
        check_group_members(members)
    else:
        raise GroupError(f"{kind!r} is not a group message kind")
    if not _GROUP_ID.fullmatch(data["id"]):
        raise GroupError("a group id is 16 lowercase hex digits")
    check_group_revision(data["revision"])
    return data


def check_group_name(name: object) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_GROUP_NAME \
            or not name.isprintable():
        raise GroupError(f"a group name is 1..{MAX_GROUP_NAME} printable characters")
    return name


def check_group_members(members: set | list) -> frozenset[str]:
    if not members or len(members) > MAX_GROUP_MEMBERS:
        raise GroupError(f"a group has 1..{MAX_GROUP_MEMBERS} members")
    try:
        return frozenset(check_user(m) for m in members)
    except AddressError as exc:
        raise GroupError(f"bad member: {exc}") from exc


def check_group_revision(revision: object) -> int:
    if type(revision) is not int or not 1 <= revision <= MAX_GROUP_REVISION:
        raise GroupError("a group revision is a positive integer")
    return revision
