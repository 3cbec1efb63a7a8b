"""What an attacker with write access to the log's database does (tests only).

``rewrite_tree`` replaces the stored leaves and interior nodes by a fully consistent
tree over other leaf bytes, which is the strongest database-level tamper: every stored
hash matches, only signed checkpoints (and witnesses, and auditors' copies) can tell.
Such an attacker controls the operator's files, so with ``drop_checkpoints_above`` it
also deletes the signed head beside the database (``<log>.head``, audit.storage), which
would otherwise stop the log from signing the rewritten tree. Both are the scenario
fixture's (:mod:`escrowlab.scenarios.fixture`), which the attack scenarios use too.
"""

from __future__ import annotations

from escrowlab.scenarios.fixture import read_leaves, rewrite_tree

__all__ = ["read_leaves", "rewrite_tree"]
