"""The ``leaf16`` escrow mode: the Escrowed Encryption Standard's LEAF (FIPS 185, 1994).

Every device is an EES *unit* (:mod:`.unit`) with a 32-bit unit id and a unit
key split into two XOR components held by two escrow agents. A tamper-resistant
chip stand-in (:mod:`.module`) holds the family key common to all units and
offers only "make a LEAF for this chain" and "validate this LEAF for this
chain". The LEAF layout is in :mod:`.leaf`, the hook in :mod:`.hook`, lawful
recovery in :mod:`.recovery` and Blaze's 1994 checksum search in
:mod:`.forgery`.
"""
