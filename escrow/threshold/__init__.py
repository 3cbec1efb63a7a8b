"""The ``threshold`` escrow mode: every sending chain key split t-of-n among custodians
(docs/architecture.md, "Escrow modes").

The hook, the record's construction and its extension point for derived modes are in
:mod:`.hook`; recovery from t custodians' releases in :mod:`.recovery`; the in-memory
deployment the mode registry builds (:mod:`escrow.modes`) in :mod:`.deployment`.
"""
