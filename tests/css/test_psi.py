"""The blinded cuckoo table and the PSI keys: a client's key agrees with the server's exactly
for database hashes, the matched set is the intersection openmined-psi computes, and the
table's encoding is strict."""

import hashlib
import os
import random

import private_set_intersection.python as openmined
import pytest
import rbcl

from escrow.css import database, psi
from escrow.css.errors import PointError, TableError
from tests.css.helpers import small_world


def test_every_entry_sits_blinded_in_one_of_its_two_slots_and_fillers_are_valid():
    db, secret, table = small_world(common=60)
    assert table.size == 128  # 60 * 1.5 rounded up to a multiple of 64
    slots_used = set()
    for entry in db.hashes:
        w1, w2 = table.slots(entry)
        blinded = secret.blind(entry)
        assert blinded in (table.points[w1], table.points[w2])
        slots_used.add(w1 if table.points[w1] == blinded else w2)
    assert len(slots_used) == len(db)
    assert len(set(table.points)) == table.size
    assert psi.build_table(db, secret) == table  # an auditor with the secret rebuilds it


def test_the_two_candidate_slots_always_differ_and_cover_the_table():
    _, _, table = small_world(common=10)
    pairs = [table.slots(i.to_bytes(4, "big")) for i in range(3000)]
    assert all(w1 != w2 for w1, w2 in pairs)
    assert {w for pair in pairs for w in pair} == set(range(table.size))


def test_hash_to_group_is_from_hash_of_the_domain_separated_sha512():
    y = b"\x01" * 8
    expected = rbcl.crypto_core_ristretto255_from_hash(
        hashlib.sha512(b"escrowlab/css/psi/hash-to-group/v1\x00" + b"\x00\x08" + y).digest())
    assert psi.hash_to_point(y) == expected
    assert expected != rbcl.crypto_scalarmult_ristretto255_base(y + bytes(24))


def test_sizes_below_a_quantum_give_the_same_table_size():
    assert psi.table_size(1) == psi.table_size(42) == 64
    assert psi.table_size(43) == 128


def test_the_client_key_matches_the_server_key_iff_the_hash_is_in_the_database():
    db, secret, table = small_world()
    context = b"voucher header"
    for y in db.hashes[:10]:
        agree = [psi.server_key(secret, q.query, context) == q.key
                 for q in psi.client_queries(table, y, context)]
        assert agree.count(True) == 1
    for _ in range(10):
        queries = psi.client_queries(table, os.urandom(8), context)
        assert all(psi.server_key(secret, q.query, context) != q.key for q in queries)
    other = psi.ServerSecret.generate()
    assert all(psi.server_key(other, q.query, context) != q.key
               for q in psi.client_queries(table, db.hashes[0], context))
    synthetic = psi.synthetic_queries(table, context)
    assert [psi.server_key(secret, q.query, context) == q.key for q in synthetic] \
        == [True, False]


def test_the_matched_set_is_the_intersection_openmined_psi_computes():
    rnd = random.Random(7)
    server_hashes = [rnd.randbytes(8) for _ in range(80)]
    db = database.build(1, {"a": server_hashes, "b": server_hashes})
    secret = psi.ServerSecret.generate()
    table = psi.build_table(db, secret)
    client_hashes = rnd.sample(server_hashes, 25) + [rnd.randbytes(8) for _ in range(25)]
    ours = {y for y in client_hashes
            if any(psi.server_key(secret, q.query, b"") == q.key
                   for q in psi.client_queries(table, y, b""))}

    client = openmined.client.CreateWithNewKey(True)
    server = openmined.server.CreateWithNewKey(True)
    server_items = [h.hex() for h in db.hashes]
    client_items = [h.hex() for h in client_hashes]
    setup = server.CreateSetupMessage(0.0, len(client_items), server_items,
                                      openmined.DataStructure.RAW)
    response = server.ProcessRequest(client.CreateRequest(client_items))
    theirs = {client_hashes[i] for i in client.GetIntersection(setup, response)}
    assert ours == theirs and len(ours) == 25


def test_table_encoding_is_strict():
    _, _, table = small_world(common=10)
    data = table.encode()
    assert psi.decode_table(data) == table
    for bad in (data[:-1], data + b"\x00", b"X" + data[1:], data[:80]):
        with pytest.raises(TableError):
            psi.decode_table(bad)
    broken = bytearray(data)
    broken[-32:] = bytes(32)  # the identity is not a table point
    with pytest.raises(TableError):
        psi.decode_table(bytes(broken))
    broken[-32:] = b"\xff" * 32  # not a canonical encoding
    with pytest.raises(TableError):
        psi.decode_table(bytes(broken))


def test_leaves_are_the_header_and_each_indexed_slot():
    _, _, table = small_world(common=10)
    leaves = table.leaves()
    assert len(leaves) == table.size + 1
    assert leaves[1] == (0).to_bytes(4, "big") + table.points[0]
    assert leaves[0] == table.encode()[:len(leaves[0])]


def test_invalid_queries_and_secrets_are_refused():
    secret = psi.ServerSecret.generate()
    with pytest.raises(PointError):
        secret.shared_point(bytes(32))
    with pytest.raises(TableError):
        psi.ServerSecret(bytes(32), bytes(32))
    assert psi.ServerSecret.decode(secret.encode()) == secret
    with pytest.raises(TableError):
        psi.ServerSecret.decode(secret.encode()[:-1])
