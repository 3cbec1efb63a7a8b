"""C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the body of a signed tree head.

The body is three lines, then optional extension lines, each ending in a newline::

    <origin>
    <tree size, decimal, no leading zeros>
    <base64 root hash>

It is the text of a C2SP signed note (:mod:`audit.note`): signed by the log's key, whose
name is the origin, and cosigned by witnesses (cosignature/v1).

The note text is "a sequence of at least three non-empty lines" (C2SP tlog-checkpoint,
"Note text"): an empty line anywhere in a body is refused, although a signed note's text
may contain one. The origin is any non-empty line: the spec only RECOMMENDS a schema-less
URL without spaces or ``+``, and clients "MUST NOT assume" it, so Go's sumdb origin
``go.sum database tree`` parses. (This log's own origin is also its key name, which has
no spaces; a log whose key name differs from its origin, like sum.golang.org, is
verified with an explicit origin, see :func:`audit.quorum.verify_checkpoint`.)

Decisions on what the spec leaves open: extension lines are parsed and
kept byte for byte but this log never writes any, and no check here gives them meaning
(the spec calls them opaque and NOT RECOMMENDED; a cosignature/v1 covers them, yet
witnesses make no statement about them). Parsing is canonical: a body that does not
re-encode to the same bytes is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from audit.errors import NoteError
from audit.note import b64, check_text, unb64
from audit.rfc9162 import HASH_SIZE

MAX_TREE_SIZE = (1 << 63) - 1


class SignedCheckpoint(NamedTuple):
    """A checkpoint the log signed, as it keeps it: tree size, root hash and the whole
    signed note (``note`` parses to a :class:`Checkpoint` of that size and root)."""

    size: int
    root: bytes
    note: str


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size and RFC 9162 root hash (plus opaque extension lines)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin or "\n" in self.origin:
            raise NoteError("checkpoint origin must be one non-empty line")
        if type(self.size) is not int or not 0 <= self.size <= MAX_TREE_SIZE:
            raise NoteError("checkpoint tree size out of range")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise NoteError("checkpoint root hash must be 32 bytes")
        for ext in self.extensions:
            if not isinstance(ext, str) or not ext or "\n" in ext:
                raise NoteError("checkpoint extension lines must be non-empty single lines")

    def body(self) -> str:
        lines = [self.origin, str(self.size), b64(self.root), *self.extensions]
        text = "\n".join(lines) + "\n"
        check_text(text)
        return text

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body strictly; raises :class:`NoteError`."""
        check_text(text)
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("checkpoint needs origin, size and root lines")
        if "" in lines:
            raise NoteError("checkpoint lines must be non-empty")
        origin, size_text, root_text, *extensions = lines
        if not size_text.isascii() or not size_text.isdigit() or (
            len(size_text) > 1 and size_text[0] == "0"
        ):
            raise NoteError("checkpoint tree size must be a decimal without leading zeros")
        if len(size_text) > 19:
            raise NoteError("checkpoint tree size out of range")
        root = unb64(root_text, "checkpoint root hash")
        checkpoint = cls(origin, int(size_text), root, tuple(extensions))
        if checkpoint.body() != text:
            raise NoteError("checkpoint is not in canonical form")
        return checkpoint
