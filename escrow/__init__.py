"""Escrow modes that plug into the ratchet's hook, custodians, key ceremony, recovery.

May import ``messaging`` (its hook protocol and wire types only).

The ``threshold`` mode and what it is made of (issue 5):

- :mod:`escrow.custodian`, :mod:`escrow.custodian_set`: custodians, pinned sets, fingerprints;
- :mod:`escrow.keystore`, :mod:`escrow.ceremony`: keys at rest, the ceremony, SLIP-39 backups;
- :mod:`escrow.shares`, :mod:`escrow.sealing`, :mod:`escrow.record`, :mod:`escrow.context`:
  the pieces of a record;
- :mod:`escrow.threshold.hook`: the hook (and its extension point for derived modes);
- :mod:`escrow.authorisation`, :mod:`escrow.release`: what a custodian needs to release;
- :mod:`escrow.scope`, :mod:`escrow.recovery`: which records a window touches, and recovery.
"""
