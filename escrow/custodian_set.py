"""A custodian set: n custodians, threshold t, an epoch; canonical encoding and fingerprint.

Clients pin the set they were configured with, and every escrow record names
the fingerprint of the set it was made for (docs/architecture.md, "Bind the whole
context"). The canonical encoding is RFC 8785 JSON (JCS) of :meth:`to_json`,
so the same set always yields the same bytes and the same fingerprint::

    fingerprint = SHA-256("escrowlab custodian set v1" || 0x00 || JCS(set))

Policy: 2 <= t <= n <= 16. t = 1 would let any single custodian read
everything (docs/scenarios.md S01) and is refused; t > n could never recover; 16 is
SLIP-39's share limit. Rotation makes a new set with the next epoch; records
stay bound to the set (and so to the keys) they were made for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import rfc8785

import strictjson
from escrow.custodian import CustodianPublic
from escrow.errors import CustodianSetError
from escrow.shares import MAX_SHARES

SET_FORMAT_VERSION = 1
MAX_CUSTODIANS = MAX_SHARES  # one share of each chain key per custodian
MIN_THRESHOLD = 2
MAX_EPOCH = 2**32 - 1
MAX_SET_FILE_LENGTH = 64 * 1024  # 16 members take about 4 KiB
_FINGERPRINT_LABEL = b"escrowlab custodian set v1\x00"


@dataclass(frozen=True)
class CustodianSet:
    """n custodians (``members``, in share-index order), threshold ``t``, ``epoch``."""

    epoch: int
    threshold: int
    members: tuple[CustodianPublic, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.members, tuple) or not all(
            isinstance(m, CustodianPublic) for m in self.members
        ):
            raise CustodianSetError("members must be a tuple of CustodianPublic")
        n = len(self.members)
        if not isinstance(self.epoch, int) or isinstance(self.epoch, bool) \
                or not 0 <= self.epoch <= MAX_EPOCH:
            raise CustodianSetError(f"the epoch must be an integer in 0..{MAX_EPOCH}")
        if not isinstance(self.threshold, int) or isinstance(self.threshold, bool):
            raise CustodianSetError("the threshold must be an integer")
        if not MIN_THRESHOLD <= n <= MAX_CUSTODIANS:
            raise CustodianSetError(
                f"a custodian set has {MIN_THRESHOLD}..{MAX_CUSTODIANS} custodians, not {n}"
            )
        if self.threshold < MIN_THRESHOLD:
            raise CustodianSetError(
                f"threshold t={self.threshold} refused: with t < {MIN_THRESHOLD} a single "
                "custodian could open every escrowed chain"
            )
        if self.threshold > n:
            raise CustodianSetError(
                f"threshold t={self.threshold} exceeds the {n} custodians: nothing could be "
                "recovered"
            )
        for label, values in (
            ("id", [m.custodian_id for m in self.members]),
            ("share key", [m.share_key for m in self.members]),
            ("signing key", [m.signing_key for m in self.members]),
        ):
            if len(set(values)) != n:
                raise CustodianSetError(f"two custodians share the same {label}")

    @property
    def n(self) -> int:
        return len(self.members)

    def to_json(self) -> dict:
        return {
            "version": SET_FORMAT_VERSION,
            "epoch": self.epoch,
            "threshold": self.threshold,
            "members": [m.to_json() for m in self.members],
        }

    def canonical_bytes(self) -> bytes:
        return rfc8785.dumps(self.to_json())

    @property
    def fingerprint(self) -> bytes:
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            cached = hashlib.sha256(_FINGERPRINT_LABEL + self.canonical_bytes()).digest()
            object.__setattr__(self, "_fingerprint", cached)
        return cached

    def index_of(self, custodian_id: str) -> int:
        for index, member in enumerate(self.members):
            if member.custodian_id == custodian_id:
                return index
        raise CustodianSetError(f"custodian {custodian_id!r} is not in set epoch {self.epoch}")

    def rotated(self, members: tuple[CustodianPublic, ...], threshold: int | None = None
                ) -> CustodianSet:
        """The next epoch's set (new keys, same or new custodians)."""
        return CustodianSet(self.epoch + 1,
                            self.threshold if threshold is None else threshold, members)

    @classmethod
    def from_json(cls, data: object) -> CustodianSet:
        strictjson.fields(data, {"version": int, "epoch": int, "threshold": int,
                                 "members": list},
                          what="custodian set", error=CustodianSetError)
        if data["version"] != SET_FORMAT_VERSION:
            raise CustodianSetError(f"unknown custodian set version {data['version']!r}")
        if len(data["members"]) > MAX_CUSTODIANS:
            raise CustodianSetError(f"a custodian set has at most {MAX_CUSTODIANS} custodians")
        members = tuple(CustodianPublic.from_json(m) for m in data["members"])
        return cls(data["epoch"], data["threshold"], members)

    @classmethod
    def loads(cls, text: str | bytes) -> CustodianSet:
        if len(text) > MAX_SET_FILE_LENGTH:
            raise CustodianSetError(f"a custodian set file is too large (over "
                                    f"{MAX_SET_FILE_LENGTH} bytes)")
        return cls.from_json(strictjson.loads(text, what="custodian set JSON file",
                                              error=CustodianSetError))

    def describe(self) -> str:
        return f"epoch {self.epoch}, {self.threshold}-of-{self.n}, {self.fingerprint.hex()[:16]}"
