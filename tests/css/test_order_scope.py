"""What a detection order authorises (escrow/css/orders.py, authority_portal/warrants/
detection.py; docs/detection_orders.md, "Scope"): images, text or both. An images-only order
keeps the first format byte for byte; any other scope is a version-2 document the judges
sign like any other, read as strictly."""

from __future__ import annotations

import json

import pytest
import rfc8785

from audit.note import Signer
from authority_portal.warrants.detection import (
    ORDER_FORMAT,
    ORDER_FORMAT_V2,
    DetectionOrderVerifier,
    OrderTerms,
    decode_signed,
    encode_signed,
)
from authority_portal.warrants.errors import WarrantError
from authority_portal.warrants.judges import Judge, JudgeRegistry
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import sign_warrant
from escrow.css.orders import IMAGES, TEXT, DetectionOrder, OrderError

T0 = 1_700_000_000
DAY = 86_400
HEADER = "escrowlab detection order approval v1"


def terms(**changes) -> OrderTerms:
    fields = dict(order_id="D-1", agency="Agency A", jurisdiction="JA", officer="O1",
                  users=("alice",), window_start=T0, window_end=T0 + DAY,
                  database_version=1, legal_basis="Article 7 (stand-in).", issued_at=T0,
                  expires_at=T0 + 2 * DAY)
    fields.update(changes)
    return OrderTerms(**fields)


def test_an_order_covers_only_what_its_scope_names():
    images = DetectionOrder("D-1", ("alice",), 0.0, 10.0, 1)
    text = DetectionOrder("D-2", ("alice",), 0.0, 10.0, 1, (TEXT,))
    both = DetectionOrder("D-3", ("alice",), 0.0, 10.0, 1, [TEXT, IMAGES])
    assert images.scope == (IMAGES,) and both.scope == (IMAGES, TEXT)
    assert images.covers("alice", 5.0, 1) and not images.covers("alice", 5.0, 1, TEXT)
    assert text.covers("alice", 5.0, 1, TEXT) and not text.covers("alice", 5.0, 1)
    assert both.covers("alice", 5.0, 1) and both.covers("alice", 5.0, 1, TEXT)
    assert not both.covers("alice", 5.0, 1, "video")
    assert not text.covers("alice", 10.0, 1, TEXT) and not text.covers("bob", 5.0, 1, TEXT)


@pytest.mark.parametrize("scope", [(), ("video",), (TEXT, TEXT), "text", (1,), None])
def test_a_malformed_scope_is_refused(scope):
    with pytest.raises(OrderError, match="scope"):
        DetectionOrder("D-1", ("alice",), 0.0, 10.0, 1, scope)
    with pytest.raises(WarrantError, match="scope"):
        terms(scope=scope)


def test_an_images_only_order_keeps_the_first_format_byte_for_byte():
    document = json.loads(terms().encode())
    assert document["format"] == ORDER_FORMAT and "scope" not in document
    assert terms().encode() == terms(scope=(IMAGES,)).encode()
    text = json.loads(terms(scope=(TEXT, IMAGES)).encode())
    assert text["format"] == ORDER_FORMAT_V2 and text["scope"] == [IMAGES, TEXT]
    assert terms(scope=(TEXT,)).sha256 != terms().sha256
    assert OrderTerms.from_json(text).order.scope == (IMAGES, TEXT)
    assert OrderTerms.from_json(document).order.scope == (IMAGES,)


@pytest.mark.parametrize("change", ["v2 images only", "v1 with a scope", "v2 without one",
                                    "scope not a list", "unknown scope"])
def test_a_scope_in_the_wrong_format_is_refused(change):
    document = terms(scope=(TEXT,)).to_json()
    if change == "v2 images only":
        document["scope"] = [IMAGES]
    elif change == "v1 with a scope":
        document["format"] = ORDER_FORMAT
    elif change == "v2 without one":
        del document["scope"]
    elif change == "scope not a list":
        document["scope"] = TEXT
    else:
        document["scope"] = ["audio"]
    with pytest.raises(WarrantError):
        OrderTerms.from_json(document)


def test_the_scope_is_signed_and_a_widened_scope_is_refused_by_the_device():
    judge = Signer.generate("J1")
    registry = JudgeRegistry([Judge("J1", "JA", judge.verifier)])
    policy = ParticularityPolicy()
    images = terms()
    signed = encode_signed(images, [sign_warrant(judge, images, HEADER)])
    document = json.loads(signed)
    document["order"] = terms(scope=(IMAGES, TEXT)).to_json()
    widened = rfc8785.dumps(document)
    assert decode_signed(widened)[0].scope == (IMAGES, TEXT)  # well formed, badly signed
    verifier = DetectionOrderVerifier(registry, policy)
    with pytest.raises(OrderError):
        verifier.verify(widened, T0 + 1)
    text = terms(order_id="D-2", scope=(TEXT,))
    accepted = verifier.verify(encode_signed(text, [sign_warrant(judge, text, HEADER)]), T0 + 1)
    assert accepted.scope == (TEXT,) and accepted.covers("alice", T0 + 1, 1, TEXT)
    assert verifier.verify(signed, T0 + 1).scope == (IMAGES,), "the refusal changed nothing"
