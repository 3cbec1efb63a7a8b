"""Entries: canonical RFC 8785 JSON, strict parsing, no secrets, salted identifiers."""

from __future__ import annotations

import pytest

from audit.entries import Entry, salted_hash
from audit.errors import EntryError


def test_encoding_is_canonical_and_round_trips():
    entry = Entry("warrant.filed", "officer:7", 1_700_000_000_000, {"b": [1, 2], "a": "x"})
    data = entry.encode()
    assert data == (b'{"actor":"officer:7","payload":{"a":"x","b":[1,2]},'
                    b'"time":1700000000000,"type":"warrant.filed","v":1}')
    assert Entry.decode(data) == entry


@pytest.mark.parametrize("data", [
    b'{"v":1,"type":"a","actor":"b","time":1,"payload":{}}',  # not canonical order
    b'{"actor":"b","payload":{},"time":1,"type":"a","v":2}',  # unknown version
    b'{"actor":"b","extra":0,"payload":{},"time":1,"type":"a","v":1}',
    b'{"actor":"b","payload":{},"time":1.5,"type":"a","v":1}',
    b'{"actor":"b","payload":[],"time":1,"type":"a","v":1}',
    b"\xff", b"[]", b"",
])
def test_strict_decoding_rejects(data):
    with pytest.raises(EntryError):
        Entry.decode(data)


@pytest.mark.parametrize("payload", [
    {"chain_key": "00"}, {"nested": {"Secret": 1}}, {"user_password": "x"},
    {"list": [{"private_key": 1}]}, {"x": 1.5}, {"x": b"bytes"},
])
def test_payloads_that_would_carry_secrets_or_non_json_are_refused(payload):
    with pytest.raises(EntryError):
        Entry("a.b", "actor", 1, payload)


@pytest.mark.parametrize("kwargs", [
    {"type": "Bad Type"}, {"type": ""}, {"actor": ""}, {"actor": "a\nb"}, {"time": -1},
    {"time": True},
])
def test_bad_fields_are_refused(kwargs):
    fields = {"type": "a.b", "actor": "x", "time": 1, "payload": {}, **kwargs}
    with pytest.raises(EntryError):
        Entry(**fields)


def test_salted_hash_hides_identifiers_but_is_checkable():
    salt = bytes(range(16))
    value = salted_hash(salt, "+441234567890")
    assert value.startswith("hmac-sha256:") and "441234567890" not in value
    assert value == salted_hash(salt, "+441234567890")
    assert value != salted_hash(bytes(16), "+441234567890")
    with pytest.raises(EntryError):
        salted_hash(b"short", "+441234567890")


def test_deeply_nested_bytes_are_an_entry_error_not_a_recursion_error():
    with pytest.raises(EntryError):
        Entry.decode(b"[" * 30000 + b"]" * 30000)  # under the 64 KiB bound
