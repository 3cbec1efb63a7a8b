"""Warrants: the judge-signed authorisation every lawful access starts from (docs/warrants.md).

One module per job: :mod:`~authority_portal.warrants.model` (the warrant and its RFC 8785
hash), :mod:`~authority_portal.warrants.judges` (the judge registry),
:mod:`~authority_portal.warrants.signatures` (judges' Ed25519 approvals, k of m),
:mod:`~authority_portal.warrants.policy` (particularity limits),
:mod:`~authority_portal.warrants.states` (the case's state machine, every transition logged)
and :mod:`~authority_portal.warrants.authorisation` (the warrant as the escrow workflow's
release authorisation and its verifier).
"""
