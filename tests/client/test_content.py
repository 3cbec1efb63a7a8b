"""Message content: a contact's malformed content is a refused message, never a crash.

The contact below runs the real protocol (its envelopes decrypt under the
session), but the plaintext inside is not valid content. ``receive_all`` must
deliver every other message of the same fetch, report the bad one as a
:class:`ReceiveFailed` event, and leave the session and the prekeys exactly as
they were before it.
"""

from __future__ import annotations

import base64
import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messaging.addresses import direct_conversation_id
from messaging.content import decode_content, encode_content
from messaging.errors import ContentError
from messaging.events import ReceiveFailed
from messaging.limits import MAX_IMAGE_BYTES
from tests.messaging.mutations import JSON_VALUES, mutated_bytes, mutated_document

DM = direct_conversation_id("alice", "bob")


def _content(**raw: bytes) -> bytes:
    """Valid text content from Alice to Bob, with some members' JSON text replaced."""
    members = {"body": b'"hi"', "group": b"null", "kind": b'"text"', "sent_at": b"1700000000.0",
               "to": b'"bob"', "v": b"1", **raw}
    return b"{" + b",".join(b'"%s":%s' % (k.encode(), v) for k, v in members.items()) + b"}"


BAD_CONTENTS = {
    "deeply nested JSON": _content(group=b"[" * 100_000 + b"]" * 100_000),
    "nested past the depth bound": _content(group=b'{"a":' * 40 + b"1" + b"}" * 40),
    "5000-digit integer": _content(sent_at=b"9" * 5000),
    "sent_at=10**400": _content(sent_at=str(10**400).encode()),
    "sent_at=true": _content(sent_at=b"true"),
    "sent_at=NaN": _content(sent_at=b"NaN"),
    "sent_at=-1": _content(sent_at=b"-1"),
    "lone surrogate in the body": _content(body=b'"\\ud800"'),
    "lone surrogate in the recipient": _content(to=b'"bo\\udfffb"'),
    "lone surrogate in a name": b'{"\\ud800":1}',
    "surrogate bytes (not UTF-8)": _content(body=b'"\xed\xa0\x80"'),
    "non-UTF-8 bytes": b"\xff\xfe\x00{",
    "non-object JSON (array)": b"[1,2,3]",
    "non-object JSON (string)": b'"hi"',
    "non-object JSON (null)": b"null",
    "version true": _content(v=b"true"),
    "version 1.0": _content(v=b"1.0"),
    "duplicate name": _content(body=b'"a","body":"b"'),
    "unknown field": _content(extra=b"1"),
    "a text without its recipient": _content(to=b"null"),
    "a recipient that is no user": _content(to=b'"Not A User"'),
    "a text with a group": _content(group=b'{"id":"0000000000000000","revision":1}'),
    "body longer than the limit": _content(body=b'"' + b"x" * (64 * 1024 + 1) + b'"'),
    "an image that is not base64": _content(kind=b'"image"', body=b'"not base64!"'),
    "an image in non-canonical base64": _content(kind=b'"image"', body=b'"QR=="'),
    "an image in unpadded base64": _content(kind=b'"image"', body=b'"QUI"'),
    "an image with a line break": _content(kind=b'"image"', body=b'"QUJD\\n"'),
    "an empty image": _content(kind=b'"image"', body=b'""'),
    "an image over the limit": _content(kind=b'"image"', body=b'"'
                                        + base64.b64encode(bytes(MAX_IMAGE_BYTES + 1)) + b'"'),
    "an image without its recipient": _content(kind=b'"image"', body=b'"QUJD"', to=b"null"),
    "an image with a group": _content(kind=b'"image"', body=b'"QUJD"',
                                      group=b'{"id":"0000000000000000","revision":1}'),
    "empty plaintext": b"",
}


def test_valid_content_round_trips():
    assert decode_content(_content()) == {"v": 1, "kind": "text", "body": "hi", "to": "bob",
                                          "group": None, "sent_at": 1_700_000_000.0}
    assert decode_content(encode_content("text", "x", 5, to="bob"))["sent_at"] == 5.0


@pytest.mark.parametrize("plaintext", BAD_CONTENTS.values(), ids=BAD_CONTENTS)
def test_malformed_content_is_a_content_error(plaintext):
    with pytest.raises(ContentError):
        decode_content(plaintext)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_mutated_content_is_content_or_a_content_error(data):
    """Mutated bytes, or any value of the document replaced by any JSON value: a
    ContentError, or exactly the document's fields (only ``sent_at`` made a float)."""
    if data.draw(st.booleans()):
        plaintext = data.draw(mutated_bytes(_content()))
    else:
        doc = data.draw(mutated_document(json.loads(_content())))
        plaintext = json.dumps(doc).encode()
    try:
        content = decode_content(plaintext)
    except ContentError:
        return
    doc = json.loads(plaintext)
    assert content == dict(doc, sent_at=float(doc["sent_at"]))


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES)
def test_any_json_value_is_content_or_a_content_error(value):
    with contextlib.suppress(ContentError):
        decode_content(json.dumps(value).encode())


def _state(device, peer="alice:1"):
    return (device.store.load_session(DM, peer), device.store.load_prekeys())


@pytest.fixture
def pair(make):
    alice, bob = make("alice"), make("bob")
    alice.send_text("bob", "hello")
    assert [m.body for m in bob.receive_all()] == ["hello"]
    return alice, bob


def test_bad_contents_in_one_fetch_are_refused_and_the_rest_delivered(pair):
    alice, bob = pair
    alice.send_text("bob", "before")
    for plaintext in BAD_CONTENTS.values():
        alice.send_content(DM, ("bob",), plaintext)
    alice.send_text("bob", "after")
    assert [m.body for m in bob.receive_all()] == ["before", "after"]
    failures = [e for e in bob.drain_events() if isinstance(e, ReceiveFailed)]
    assert len(failures) == len(BAD_CONTENTS)
    assert all(f.sender == "alice:1" and "content" in f.reason for f in failures)
    assert bob.relay.fetch()[0] == []  # acknowledged: the relay does not redeliver them


@pytest.mark.parametrize("plaintext", BAD_CONTENTS.values(), ids=BAD_CONTENTS)
def test_a_refused_content_changes_no_state(pair, plaintext):
    alice, bob = pair
    before = _state(bob)
    memory = bob.session_with(DM, "alice:1").serialize()
    alice.send_content(DM, ("bob",), plaintext)
    assert bob.receive_all() == []
    [failure] = [e for e in bob.drain_events() if isinstance(e, ReceiveFailed)]
    assert "content" in failure.reason
    assert _state(bob) == before
    assert bob.session_with(DM, "alice:1").serialize() == memory
    alice.send_text("bob", "still talking")
    assert [m.body for m in bob.receive_all()] == ["still talking"]


@pytest.mark.parametrize("plaintext", [BAD_CONTENTS["deeply nested JSON"],
                                       BAD_CONTENTS["sent_at=10**400"]],
                         ids=["deep", "10**400"])
def test_a_bad_first_message_starts_no_session_and_keeps_the_prekeys(make, plaintext):
    """The first (prekey) message refused: no session, no prekey consumed, so Alice's next
    prekey message (same PQXDH block) still starts the session."""
    alice, bob = make("alice"), make("bob")
    prekeys = bob.store.load_prekeys()
    alice.send_content(DM, ("bob",), plaintext)
    assert bob.receive_all() == []
    assert [e for e in bob.drain_events() if isinstance(e, ReceiveFailed)]
    assert bob.session_with(DM, "alice:1") is None
    assert bob.store.load_prekeys() == prekeys
    alice.send_text("bob", "second try")
    assert [m.body for m in bob.receive_all()] == ["second try"]


@pytest.fixture(scope="module")
def live_pair():
    from messaging.client import Device
    from messaging.clock import ManualClock
    from messaging.relay import RelayService
    from messaging.relay.inprocess import InProcessTransport

    clock = ManualClock()
    transport = InProcessTransport(RelayService(clock=clock))
    alice = Device.create("alice", 1, transport, clock=clock)
    bob = Device.create("bob", 1, transport, clock=clock)
    alice.send_text("bob", "hello")
    assert [m.body for m in bob.receive_all()] == ["hello"]
    return alice, bob


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_receive_all_never_raises_on_a_contacts_content(live_pair, data):
    """Any (mutated) content inside a valid-ratchet message: ``receive_all`` delivers it
    or reports it, and content refused as malformed leaves Bob's stored session as it was
    (a well-formed group message the group rules refuse was read: its key is used up)."""
    alice, bob = live_pair
    if data.draw(st.booleans()):
        plaintext = data.draw(mutated_bytes(_content()))
    else:
        plaintext = json.dumps(data.draw(mutated_document(json.loads(_content())))).encode()
    alice.send_content(DM, ("bob",), plaintext)
    before = bob.store.load_session(DM, "alice:1")
    bob.drain_events()
    messages = bob.receive_all()
    failures = [e for e in bob.drain_events() if isinstance(e, ReceiveFailed)]
    assert len(messages) + len(failures) == 1
    if failures and failures[0].reason.startswith("decrypted content"):
        assert bob.store.load_session(DM, "alice:1") == before
