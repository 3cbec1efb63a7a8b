"""The record's strict parser: every malformed variant is a RecordFormatError."""

import os

import pytest

from escrow.errors import RecordFormatError
from escrow.record import RECORD_VERSION, parse_record
from escrow.threshold.hook import ThresholdEscrow
from messaging.hooks import ChainContext
from tests.escrow.helpers import make_custodians, make_set


@pytest.fixture(scope="module")
def record():
    hook = ThresholdEscrow(make_set(make_custodians(5), 3))
    context = ChainContext(1, "threshold", "C1", "alice:1", "bob:1", 0, os.urandom(32),
                           os.urandom(32), 1_700_000_000)
    return hook.record_for_chain(context)


def test_a_record_round_trips(record):
    parsed = parse_record(record)
    assert parsed.encode() == record
    assert (parsed.mode, parsed.threshold, len(parsed.shares), parsed.secret_length) == \
        ("threshold", 3, 5, 32)
    assert parsed.parameters == b""


def test_a_version_3_record_carries_one_ephemeral_key_then_the_sealed_shares(record):
    parsed = parse_record(record)
    header = 2 + len("threshold") + 32 + 4 + 1 + 1 + 2 + 1 + 1  # no mode parameters
    assert record[0] == RECORD_VERSION == 3
    assert record[header:header + 32] == parsed.ephemeral_public
    assert len(record) == header + 32 + 5 * (32 + 16)
    assert parsed.shares == tuple(record[header + 32 + 48 * i:header + 80 + 48 * i]
                                  for i in range(5))


@pytest.mark.parametrize("mutate,message", [
    (lambda r: b"", "missing"),
    (lambda r: b"\x01" + r[1:], "unknown escrow record version 1 .this build reads version 3"),
    (lambda r: b"\x04" + r[1:], "unknown escrow record version 4"),
    (lambda r: b"\x02" + r[1:], r"version 2 \(one ephemeral key per share\) is no longer read; "
                                r"this build reads version 3"),
    (lambda r: r[:1] + b"\x00" + r[2:], "mode"),
    (lambda r: r[:20], "truncated"),
    (lambda r: r[:-1], "need"),
    (lambda r: r + b"\x00", "need"),
    (lambda r: r[:47] + b"\x01" + r[48:], "t=1"),
    (lambda r: r[:48] + b"\x11" + r[49:], "n=17"),
    (lambda r: r[:49] + b"\xff" + r[50:], "15 bits"),
    (lambda r: r[:51] + b"\x11" + r[52:], "secret length"),
    (lambda r: r[:52] + b"\x11" + r[53:], "parameters exceed"),
    (lambda r: r[:52] + b"\x01" + r[53:], "need"),
    (lambda r: r[:52], "truncated"),
])
def test_malformed_records_are_refused(record, mutate, message):
    with pytest.raises(RecordFormatError, match=message):
        parse_record(mutate(record))


def test_only_bytes_are_records():
    with pytest.raises(RecordFormatError, match="bytes"):
        parse_record("threshold")
