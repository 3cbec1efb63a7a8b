"""Escrow modes that plug into the ratchet's hook, custodians, key ceremony, recovery.

May import ``messaging`` (its hook protocol and wire types only).

- :mod:`escrow.modes`: the registry of modes (``none``, ``threshold``, ``leaf16``,
  ``crumple``), their parameters, hook factories and recovery entry points;
- :mod:`escrow.workflow`: the lawful-access workflow over any of them (attempts, nonces,
  progress, cancel, the final report);
- :mod:`escrow.threshold`, :mod:`escrow.leaf16`, :mod:`escrow.crumple`, :mod:`escrow.none`:
  one package (or module) per mode: hook, recovery, deployment;
- :mod:`escrow.custodian`, :mod:`escrow.custodian_set`: custodians, pinned sets, fingerprints;
- :mod:`escrow.keystore`, :mod:`escrow.ceremony`: keys at rest, the ceremony, SLIP-39 backups;
- :mod:`escrow.shares`, :mod:`escrow.sealing`, :mod:`escrow.record`, :mod:`escrow.context`:
  the pieces of a threshold record;
- :mod:`escrow.authorisation`, :mod:`escrow.release`: what a custodian needs to release;
- :mod:`escrow.scope`: the one walk of the archive (which chains a window touches);
  :mod:`escrow.recovery`: the shared recovery of threshold records and every mode's reports.
"""
