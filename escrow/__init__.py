"""Escrow modes that plug into the ratchet's hook, custodians, key ceremony, recovery.

May import ``messaging`` (its hook protocol and wire types only).
"""
