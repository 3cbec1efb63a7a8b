"""The EES chip stand-in: an opaque module holding the family key (FIPS 185, "LEAF creation").

A :class:`LeafModule` is what a Clipper/Capstone chip was to its host: it
holds the family key, its own unit id and unit key, and offers exactly two
operations: :meth:`LeafModule.make_leaf` for a sending chain and
:meth:`LeafModule.validate_leaf` for a receiving one. Neither key is reachable
through its public API, it has no ``repr`` of them and refuses to be pickled.

Python offers no tamper resistance: anyone with the process's memory reads the
keys (scenario S15's "family key extracted from software" variant,
:func:`escrow.leaf16.forgery.extract_family_key`).
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from escrow.leaf16.errors import Leaf16Error, LeafFormatError
from escrow.leaf16.leaf import (
    DEFAULT_CHECKSUM_WIDTH,
    IV_LENGTH,
    FamilyKey,
    check_chain_key,
    check_width,
    checksum_matches,
    expected_slot,
    open_body,
    parse_leaf,
    seal_leaf,
)
from escrow.leaf16.unit import Unit
from messaging.hooks import ChainContext


class LeafModule:
    """One unit's tamper-resistant module: ``make_leaf`` and ``validate_leaf``, nothing else."""

    __slots__ = ("__family_key", "__unit", "__width")

    def __init__(
        self, family_key: FamilyKey, unit: Unit, width: int = DEFAULT_CHECKSUM_WIDTH
    ) -> None:
        if not isinstance(family_key, FamilyKey):
            raise Leaf16Error("a LEAF module is programmed with a FamilyKey")
        if not isinstance(unit, Unit):
            raise Leaf16Error("a LEAF module is programmed with a Unit")
        self.__family_key = family_key
        self.__unit = unit
        self.__width = check_width(width)

    @property
    def width(self) -> int:
        """The checksum width in bits this module writes and checks (public)."""
        return self.__width

    def __repr__(self) -> str:
        return f"LeafModule(width={self.__width})"

    def __reduce__(self):
        raise TypeError("a LEAF module cannot be serialised: its keys never leave it")

    def make_leaf(self, context: ChainContext) -> bytes:
        """The LEAF for a new sending chain: this unit's id, CK_0 wrapped under KU, checksum."""
        check_chain_key(context)
        iv = os.urandom(IV_LENGTH)
        wrapped = aes_key_wrap(self.__unit.unit_key, context.chain_key)
        return seal_leaf(
            self.__family_key, context, self.__width, iv, self.__unit.unit_id, wrapped
        )

    def validate_leaf(self, leaf: bytes, context: ChainContext) -> bool:
        """Whether ``leaf``'s checksum matches this chain, as a receiving chip checked it.

        Only the checksum is checked: the module cannot tell whether the wrapped
        key field really holds the chain key. Raises :class:`LeafFormatError`
        for records that are not LEAFs of this module's width.
        """
        parsed = parse_leaf(leaf)
        if parsed.width != self.__width:
            raise LeafFormatError(
                f"the LEAF was made for a {parsed.width}-bit checksum, "
                f"this module checks {self.__width} bits"
            )
        check_chain_key(context)
        fields = open_body(self.__family_key, parsed)
        expected = expected_slot(
            self.__family_key,
            context,
            self.__width,
            parsed.iv,
            fields.unit_id,
            fields.wrapped_chain_key,
        )
        return checksum_matches(self.__width, expected, fields.checksum_slot)
