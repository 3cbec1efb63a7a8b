"""The hash database: the intersection of at least two suppliers, strictly encoded."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escrow.css import database
from escrow.css.errors import DatabaseError
from tests.css.helpers import supplier_lists


def test_the_database_is_the_intersection_of_the_suppliers():
    lists = supplier_lists(common=10, extra=4)
    db = database.build(3, lists)
    assert set(db.hashes) == set(lists["ncmec-standin"]) & set(lists["iwf-standin"])
    assert len(db) == 10 and db.version == 3 and db.suppliers == ("iwf-standin",
                                                                   "ncmec-standin")
    third = dict(lists, **{"third": lists["iwf-standin"][:3]})
    assert set(database.build(3, third).hashes) == set(lists["iwf-standin"][:3])
    assert all(h in db for h in db.hashes) and "text" not in db
    assert lists["iwf-standin"][-1] not in db


def test_one_supplier_or_mixed_lengths_are_refused():
    with pytest.raises(DatabaseError):
        database.build(1, {"only": [b"12345678"]})
    with pytest.raises(DatabaseError):
        database.build(1, {"a": [b"12345678"], "b": [b"1234567"]})
    with pytest.raises(DatabaseError):
        database.build(0, {"a": [b"12345678"], "b": [b"12345678"]})
    with pytest.raises(DatabaseError):
        database.HashDatabase(1, 8, ("a", "b"), (b"22222222", b"11111111"))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 2**32 - 1), st.integers(4, 16).flatmap(
    lambda n: st.lists(st.binary(min_size=n, max_size=n), max_size=20)))
def test_encoding_round_trips_and_every_truncation_is_refused(version, hashes):
    if not hashes:
        hashes = [b"abcd"]
    db = database.build(version, {"a": hashes, "b": hashes})
    data = db.encode()
    assert database.decode(data) == db
    for cut in range(0, len(data), max(1, len(data) // 7)):
        with pytest.raises(DatabaseError):
            database.decode(data[:cut])
    with pytest.raises(DatabaseError):
        database.decode(data + b"\x00")


def test_decode_refuses_unsorted_or_unknown_format():
    db = database.build(1, {"a": [b"aaaa", b"bbbb"], "b": [b"aaaa", b"bbbb"]})
    data = bytearray(db.encode())
    data[-8:] = b"bbbbaaaa"
    with pytest.raises(DatabaseError):
        database.decode(bytes(data))
    other = bytearray(db.encode())
    other[6] = 2
    with pytest.raises(DatabaseError):
        database.decode(bytes(other))
