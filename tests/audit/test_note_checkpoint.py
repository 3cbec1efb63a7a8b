"""C2SP signed notes, cosignature/v1 and tlog-checkpoint bodies."""

from __future__ import annotations

import pytest

from audit.checkpoint import Checkpoint
from audit.errors import NoteError
from audit.note import SIG_TYPE_COSIGNATURE_V1, SignedNote, Signer, Verifier, parse_note

# golang.org/x/mod/sumdb/note's documented example (public test data).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n")
GO_NOTE = GO_TEXT + ("\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1"
                     "FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")


def test_signs_byte_for_byte_like_go_sumdb_note():
    signer = Signer.from_skey(GO_SKEY)
    assert signer.vkey == GO_VKEY
    assert SignedNote(GO_TEXT, (signer.sign(GO_TEXT),)).encode() == GO_NOTE


def test_verifies_the_go_example_and_rejects_a_changed_text():
    verifier = Verifier.from_vkey(GO_VKEY)
    assert GO_VKEY in parse_note(GO_NOTE).verify([verifier])
    with pytest.raises(NoteError):
        parse_note(GO_NOTE.replace("answer", "Answer")).verify([verifier])


def test_vkey_whose_base64_contains_plus_parses():
    assert Verifier.from_vkey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")


@pytest.mark.parametrize("bad", [GO_VKEY.replace("c74f20a3", "c74f20a4"), "PeterNeumann",
                                 GO_VKEY + "AA", "a b+c74f20a3+AAAA"])
def test_malformed_or_mismatched_vkeys_are_rejected(bad):
    with pytest.raises(NoteError):
        Verifier.from_vkey(bad)


def test_signer_repr_hides_the_key():
    signer = Signer.from_skey(GO_SKEY)
    assert "AYEK" not in repr(signer) and "PRIVATE" not in repr(signer)


def test_unknown_keys_are_ignored_and_known_bad_signatures_rejected():
    a, b = Signer.generate("a.test"), Signer.generate("b.test")
    note = SignedNote(GO_TEXT, (a.sign(GO_TEXT),))
    assert note.verify([b.verifier]) == {}
    forged = SignedNote(GO_TEXT, (type(a.sign(GO_TEXT))("a.test", a.verifier.key_id,
                                                        b.sign(GO_TEXT).data),))
    with pytest.raises(NoteError):
        forged.verify([a.verifier])


@pytest.mark.parametrize("text", [
    "no newline at end", "blank\n\nline\n", "", "ctl\x01char\n",
])
def test_malformed_notes_are_rejected(text):
    with pytest.raises(NoteError):
        parse_note(text + "\n\u2014 a x08go/ZJkuBS9UG/\n")


def test_cosignature_v1_binds_the_time(clock):
    cosigner = Signer.generate("w.test", SIG_TYPE_COSIGNATURE_V1, clock.now)
    body = Checkpoint("o.test/log", 5, b"\x01" * 32).body()
    sig = cosigner.sign(body)
    assert cosigner.verifier.verify(body, sig) == int(clock.now())
    tampered = type(sig)(sig.name, sig.key_id, (int(clock.now()) + 1).to_bytes(8, "big")
                         + sig.data[8:])
    with pytest.raises(NoteError):
        cosigner.verifier.verify(body, tampered)
    assert Verifier.from_vkey(cosigner.vkey).sig_type == SIG_TYPE_COSIGNATURE_V1


def test_checkpoint_round_trip_and_format():
    cp = Checkpoint("example.com/log", 12, bytes(range(32)), ("ext line",))
    assert cp.body() == ("example.com/log\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
                         "ext line\n")
    assert Checkpoint.parse(cp.body()) == cp


@pytest.mark.parametrize("body", [
    "o\n012\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
    "o\n-1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
    "o\n1\nAAEC\n",
    "o\n1\n",
    "o\n99999999999999999999\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
    "o p\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
])
def test_malformed_checkpoints_are_rejected(body):
    with pytest.raises(NoteError):
        Checkpoint.parse(body)


@pytest.mark.parametrize("sigs", ["", "\u2014 a\n", "- a x08go/ZJkuBS9UG/\n",
                                  "\u2014 a !!!!\n", "\u2014 a AAAA\n",
                                  "\u2014 a x08go/ZJkuBS9UG/"])
def test_malformed_signature_lines_are_rejected(sigs):
    with pytest.raises(NoteError):
        parse_note(GO_TEXT + "\n" + sigs)


@pytest.mark.parametrize("encoded", ["o\ud800\n1\n\n\u2014 a AAAAAAA=\n",
                                     "o\n\n\u2014 a\ud800 AAAAAAA=\n"])
def test_text_that_is_not_valid_utf8_is_a_note_error(encoded):
    with pytest.raises(NoteError):
        parse_note(encoded)


def test_cosignature_timestamps_beyond_2_63_are_refused():
    """C2SP tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1."""
    far = Signer.generate("w.test", SIG_TYPE_COSIGNATURE_V1, lambda: float(1 << 63))
    with pytest.raises(NoteError, match="timestamp"):
        far.sign("o\n1\n" + "A" * 43 + "=\n")
    import struct

    from audit.note import COSIGNATURE_V1_HEADER, Signature

    text = "o\n1\n" + "A" * 43 + "=\n"
    message = COSIGNATURE_V1_HEADER.format(1 << 63).encode() + text.encode()
    forged = Signature("w.test", far.verifier.key_id,
                       struct.pack(">Q", 1 << 63) + far._key.sign(message))
    with pytest.raises(NoteError, match="timestamp"):
        far.verifier.verify(text, forged)


def test_a_duplicated_signature_counts_once_and_a_bad_duplicate_rejects(clock):
    signer = Signer.generate("dup.test/log")
    note = SignedNote("hello\n", (signer.sign("hello\n"),))
    twice = parse_note(note.encode() + note.signatures[0].line())
    assert len(twice.signatures) == 2
    assert list(twice.verify([signer.verifier])) == [signer.verifier.vkey]
    bad = note.signatures[0].__class__(signer.name, signer.verifier.key_id, bytes(64))
    with pytest.raises(NoteError):
        SignedNote("hello\n", (note.signatures[0], bad)).verify([signer.verifier])
