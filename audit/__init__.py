"""The append-only transparency log: RFC 9162 Merkle tree, signed checkpoints, witnesses.

Imports nothing else of escrowlab's (docs/architecture.md, "Layout"). One module per concept, as in
transparency-dev/merkle:

- :mod:`audit.rfc9162` hashing (RFC 9162 section 2.1.1); :mod:`audit.proof` inclusion and
  consistency proofs (sections 2.1.3-2.1.4), generation and pure verification;
- :mod:`audit.compact` the right edge of a tree; :mod:`audit.storage` the SQLite (WAL)
  store of leaves and complete nodes; :mod:`audit.sqlitefile` opens only files of ours;
- :mod:`audit.entries` canonical (RFC 8785) typed events and ``salted_hash``;
- :mod:`audit.note` C2SP signed notes and cosignatures; :mod:`audit.checkpoint` C2SP
  tlog-checkpoint bodies;
- :mod:`audit.log` ``AuditLog`` (``append_event(type, actor, payload) -> Receipt``);
  :mod:`audit.receipt` ``Receipt`` and ``verify_receipt``;
- :mod:`audit.witness` a C2SP witness; :mod:`audit.quorum` ``WitnessQuorum`` and
  ``verify_checkpoint``; :mod:`audit.verifier` the offline verifier; :mod:`audit.trust`
  the keys and quorum it trusts (pinned by the auditor, else recorded in the log);
- :mod:`audit.kt` key transparency: a directory of users' devices committed per epoch by a
  Merkle prefix tree whose roots are the entries of a witnessed log
  (docs/key_transparency.md);
- :mod:`audit.http` Flask blueprints (read API, witness), the witness's waitress server and
  the HTTP witness client, the only modules that import Flask or waitress.

Typical use (a portal appending, a custodian checking)::

    log = AuditLog.open("audit.db", Signer.from_skey(skey), quorum=WitnessQuorum(ws, 2))
    receipt = log.append_event("warrant.approved", "judge:3", {"warrant": warrant_hash})
    verify_receipt(receipt, log_verifier, witness_verifiers, threshold=2)
"""
