"""audit.trust: the keys and quorum a verification trusts, pinned or recorded in the log."""

from __future__ import annotations

import pytest

from audit.errors import NoteError, TrustError, VerificationError
from audit.note import SIG_TYPE_COSIGNATURE_V1, Signer
from audit.storage import LogStore
from audit.trust import PINNED_WITNESS_QUORUM, Pins, resolve_trust


def test_what_is_not_pinned_comes_from_the_log_file(log, witnesses, log_signer):
    log.append_event("a.b", "x:1", {})
    trust = resolve_trust(log.store, Pins())
    assert trust.log_key.vkey == log_signer.vkey
    assert [k.vkey for k in trust.witness_keys] == [w.verifier.vkey for w in witnesses]
    assert trust.quorum == 2


def test_pinned_keys_win_and_pinned_witnesses_need_two_cosignatures(log, witnesses):
    log.append_event("a.b", "x:1", {})
    other = Signer.generate("other.test/log")
    pins = Pins.parse(other.vkey, [w.verifier.vkey for w in witnesses[:2]])
    trust = resolve_trust(log.store, pins)
    assert trust.log_key.vkey == other.vkey and len(trust.witness_keys) == 2
    assert trust.quorum == PINNED_WITNESS_QUORUM == 2
    assert resolve_trust(log.store, Pins.parse(quorum=1)).quorum == 1


def test_a_pinned_quorum_that_cannot_be_checked_is_the_callers_mistake(log):
    log.append_event("a.b", "x:1", {})
    with pytest.raises(TrustError, match="must not be negative"):
        Pins.parse(quorum=-1)
    with pytest.raises(TrustError, match="must not be negative"):
        Pins(quorum=-1)
    with pytest.raises(TrustError, match="quorum 4 is more than the 3 witness keys"):
        resolve_trust(log.store, Pins.parse(quorum=4))
    with pytest.raises(NoteError):
        Pins.parse(witness_keys=["junk"])


def test_what_the_file_records_and_cannot_be_used_fails_verification(tmp_path, log_signer):
    store = LogStore(str(tmp_path / "bare.db"), create=True)
    try:
        with pytest.raises(VerificationError, match="no log key is recorded"):
            resolve_trust(store, Pins())
        store.set_meta("log_key", log_signer.vkey)
        store.set_meta("quorum", "x")
        with pytest.raises(VerificationError, match="not a number"):
            resolve_trust(store, Pins())
        store.set_meta("quorum", "1")
        with pytest.raises(VerificationError, match="quorum 1 is more than the 0"):
            resolve_trust(store, Pins())
        witness = Signer.generate("w.test", SIG_TYPE_COSIGNATURE_V1, lambda: 0).verifier
        assert resolve_trust(store, Pins(witness_keys=(witness,), quorum=1)).quorum == 1
    finally:
        store.close()
