"""Hostile X25519 public keys for the escrow tests."""

_P = 2**255 - 19
# RFC 7748 section 6.1: the u-coordinates of small order, reduced mod p, and the
# top bit (ignored by X25519) clear or set: every encoding of a small-order point.
SMALL_ORDER = [
    (u | top).to_bytes(32, "little")
    for u in (0, 1, _P - 1, _P, _P + 1,
              325606250916557431795983626356110631294008115727848805560023387167927233504,
              39382357235489614581723060781553021112529911719440698176882885853963445705823)
    for top in (0, 1 << 255)
]
