"""Small databases, tables and clients shared by the css matcher tests."""

import os
import random

from escrow.css import database, psi


def supplier_lists(common: int, extra: int, hash_bytes: int = 8, seed: int = 0):
    """Two suppliers sharing ``common`` hashes, each with ``extra`` of its own."""
    rnd = random.Random(seed)
    shared = [rnd.randbytes(hash_bytes) for _ in range(common)]
    return {"ncmec-standin": shared + [rnd.randbytes(hash_bytes) for _ in range(extra)],
            "iwf-standin": shared + [rnd.randbytes(hash_bytes) for _ in range(extra)]}


def small_world(common: int = 40, extra: int = 5, version: int = 1):
    """(database, server secret, blinded table) for a small intersection."""
    db = database.build(version, supplier_lists(common, extra))
    secret = psi.ServerSecret.generate()
    return db, secret, psi.build_table(db, secret)


def outside_hash(hash_bytes: int = 8) -> bytes:
    return os.urandom(hash_bytes)
