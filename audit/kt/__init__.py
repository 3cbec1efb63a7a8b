"""Key transparency: a directory of every user's devices, committed per epoch and logged.

docs/key_transparency.md describes the design; one module per concept:

- :mod:`audit.kt.errors` the refusals (every one an :class:`audit.errors.AuditError`);
- :mod:`audit.kt.value` what the directory maps a user to: (version, commitment to the
  device set and identity keys), in one canonical encoding;
- :mod:`audit.kt.prefix_tree` the Merkle prefix tree over 256-bit labels (SHA-256) and its
  membership and non-membership proofs, generation and pure verification;
- :mod:`audit.kt.directory` the provider's side: stages device lists, publishes an epoch
  (a new tree root appended to an RFC 9162 :class:`audit.log.AuditLog`), answers lookups;
- :mod:`audit.kt.lookup` the proofs a client is served and their offline verification under
  a witnessed C2SP checkpoint;
- :mod:`audit.kt.monitor` a client's monitor: the append-only history of epochs between
  checkpoints, and its own entry at every epoch.
"""
