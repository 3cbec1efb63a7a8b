"""S27 metadata-leak (docs/scenarios.md): what escrow records reveal per message, and what they
link (``escrowlab.scenarios.metadata``).

Three sessions (S1 Alice-Bob, S2 Alice-Carol, S3 Carol-Dave) run under each
mode; the envelopes' own addressing is set aside, so what is counted is what
the *records* add (under sealed sender that is all an observer would have).

- ``leaf16``, family-key holder: every LEAF decrypts to (version, width, unit
  id). The unit id is a permanent device identifier: it links every session a
  device ever sent in, across conversations.
- ``leaf16``, archive reader without the family key: only version and width;
  the rest is fresh ciphertext per chain.
- ``threshold`` / ``crumple``, archive reader: version, mode, set fingerprint,
  epoch, t, n, SLIP-39 identifier, secret length and n sealed shares. The
  deployment-wide fields are identical in every record and the identifier and
  shares are fresh per chain, so records link no session to any device.
"""

import pytest

from escrow.leaf16.leaf import IV_LENGTH, LEAF_VERSION
from tests.attacks.records import outcome


def test_a_family_key_holder_reads_a_device_id_per_message_and_links_sessions_to_devices():
    record = outcome("S27", "leaf16", "family-key holder")
    d = record.details
    assert d["fields"] == ["version", "width", "unit_id"] and record.metrics["metadata_fields"] == 3
    # The unit id names the sending device in every message.
    assert d["unit_ids_per_device"] == 1 and d["devices"] == 4
    assert d["sessions_by_device"]["alice"] == ["S1", "S2"]
    assert d["sessions_by_device"]["carol"] == ["S2", "S3"]
    assert d["session_device_links"] == 6  # every session linked to both its devices


def test_without_the_family_key_a_leaf_shows_version_and_width_and_links_nothing():
    d = outcome("S27", "leaf16", "archive reader").details
    assert d["headers"] == [bytes((LEAF_VERSION, 16)).hex()]
    # Every other byte is fresh per chain: no 4-byte window repeats across LEAFs.
    assert d["repeated_windows"] == 0
    assert d["record_lengths"] == [2 + IV_LENGTH + 48]


@pytest.mark.parametrize("mode", ["threshold", "crumple"])
def test_an_archive_reader_of_threshold_or_crumple_records_links_no_session_to_a_device(mode):
    d = outcome("S27", mode, "archive reader").details
    # none for threshold; k for crumple, per deployment: one value set in every record
    assert d["deployment_values"] == 1 and d["deployment_as_pinned"] is True
    # The fields that differ per chain are fresh: no value repeats across chains.
    assert d["distinct_ephemerals"] == d["ephemerals"] == d["chains"]  # one per record
    assert d["distinct_sealed_shares"] == d["sealed_shares"] == 5 * d["chains"]
    assert d["identifiers_fresh"] is True  # 15-bit ids: at most one collision, by chance
    # Linkability by record content: the deployment fields put every session in one group.
    assert d["fingerprint_groups"] == [["S1", "S2", "S3"]]


def test_without_escrow_records_add_nothing():
    record = outcome("S27", "none", "archive reader")
    assert record.metrics["metadata_fields"] == 0 and record.details["record_bytes"] == 0
