"""What an attacker with write access to the log's database does (tests only).

``rewrite_tree`` replaces the stored leaves and interior nodes by a fully consistent
tree over other leaf bytes, which is the strongest database-level tamper: every stored
hash matches, only signed checkpoints (and witnesses, and auditors' copies) can tell.
Such an attacker controls the operator's files, so with ``drop_checkpoints_above`` it
also deletes the signed head beside the database (``<log>.head``, audit.storage), which
would otherwise stop the log from signing the rewritten tree.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from audit.rfc9162 import hash_children, hash_leaf


def read_leaves(path: str | Path) -> list[bytes]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT data FROM leaves ORDER BY idx")]


def rewrite_tree(path: str | Path, leaves: list[bytes], *, drop_checkpoints_above=None) -> None:
    level = [hash_leaf(x) for x in leaves]
    rows = []
    lv = 1
    while len(level) > 1:
        level = [hash_children(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        rows += [(lv, i, h) for i, h in enumerate(level)]
        lv += 1
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM leaves")
        db.execute("DELETE FROM nodes")
        db.executemany("INSERT INTO leaves VALUES(?, ?, ?)",
                       [(i, x, hash_leaf(x)) for i, x in enumerate(leaves)])
        db.executemany("INSERT INTO nodes VALUES(?, ?, ?)", rows)
        if drop_checkpoints_above is not None:
            db.execute("DELETE FROM checkpoints WHERE size > ?", (drop_checkpoints_above,))
    if drop_checkpoints_above is not None:
        Path(str(path) + ".head").unlink(missing_ok=True)
