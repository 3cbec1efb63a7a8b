"""The ``leaf16`` escrow hook (docs/architecture.md, "Escrow modes": Clipper / EES LEAF).

The sender's module makes one LEAF per sending chain; it rides as the chain's
escrow record. The recipient's own module validates only the LEAF's checksum,
as an EES chip did, so a LEAF whose escrowed key is garbage is accepted
whenever its checksum happens to match (Blaze 1994; scenario S15).
"""

from __future__ import annotations

from escrow.leaf16.errors import Leaf16Error
from escrow.leaf16.module import LeafModule
from messaging.errors import HookRefusedError
from messaging.hooks import ChainContext

MODE = "leaf16"


class Leaf16Escrow:
    """Hook of mode ``leaf16`` around one device's :class:`LeafModule`."""

    mode = MODE

    def __init__(self, module: LeafModule) -> None:
        if not isinstance(module, LeafModule):
            raise Leaf16Error("the leaf16 hook needs a LeafModule")
        self._module = module

    def __repr__(self) -> str:
        return f"Leaf16Escrow({self._module!r})"

    @property
    def width(self) -> int:
        return self._module.width

    def record_for_chain(self, context: ChainContext) -> bytes:
        return self._module.make_leaf(context)

    def check_chain(self, context: ChainContext, record: bytes) -> None:
        if not record:
            raise HookRefusedError("leaf16: the chain carries no LEAF")
        try:
            valid = self._module.validate_leaf(record, context)
        except Leaf16Error as exc:
            raise HookRefusedError(f"leaf16: {exc}") from None
        if not valid:
            raise HookRefusedError("leaf16: the LEAF's checksum does not match this chain")
