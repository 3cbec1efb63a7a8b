"""Every limit of messaging is named once, in messaging/limits.py, and an address has one bound."""

from __future__ import annotations

import ast

import pytest

from messaging import limits, safety
from messaging.addresses import AddressError, make_address, parse_address
from messaging.relay import schema
from messaging.relay.auth import parse_auth_headers
from messaging.relay.errors import RelayError
from messaging.relay_protocol import (
    HEADER_ADDRESS,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
)
from tests.paths import PROJECT_ROOT

LONGEST_ADDRESS = "u" * limits.MAX_USER_LENGTH + ":" + str(limits.MAX_DEVICE_ID)


def test_no_other_module_of_messaging_defines_a_limit():
    defined = {}
    for path in sorted((PROJECT_ROOT / "messaging").rglob("*.py")):
        if path.name == "limits.py":
            continue
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) else []
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            for name in names:
                if name.lstrip("_").startswith("MAX_"):
                    defined.setdefault(str(path.relative_to(PROJECT_ROOT)), []).append(name)
    assert defined == {}


def test_the_longest_well_formed_address_is_the_address_bound():
    assert len(LONGEST_ADDRESS) == limits.MAX_ADDRESS_LENGTH == 75
    assert make_address("u" * limits.MAX_USER_LENGTH, limits.MAX_DEVICE_ID) == LONGEST_ADDRESS
    assert parse_address(LONGEST_ADDRESS) == ("u" * 64, 2**31 - 1)
    for longer in ("u" * 65 + ":1", "u:" + str(limits.MAX_DEVICE_ID + 1), "u:0" + "1" * 10):
        with pytest.raises(AddressError):
            parse_address(longer)


def test_every_container_of_an_address_holds_the_longest():
    assert limits.MAX_ADDRESS_LENGTH <= limits.MAX_ID_LENGTH  # the wire's id fields
    assert limits.MAX_ADDRESS_LENGTH <= schema.ADDRESS_WIDTH  # the relay's columns
    widths = {column.type.length for table in schema.metadata.tables.values()
              for column in table.columns if column.name in
              ("address", "linked_by", "sender", "recipient", "requester")}
    assert widths == {schema.ADDRESS_WIDTH}


def _headers(address: str) -> dict[str, str]:
    return {HEADER_ADDRESS: address, HEADER_TIMESTAMP: "1", HEADER_NONCE: "0" * 32,
            HEADER_SIGNATURE: "0" * 128}


def test_the_relay_reads_an_address_header_up_to_the_bound():
    assert parse_auth_headers(_headers(LONGEST_ADDRESS)).address == LONGEST_ADDRESS
    with pytest.raises(RelayError) as refused:
        parse_auth_headers(_headers(LONGEST_ADDRESS + "0"))
    assert refused.value.status == 401
    assert f"at most {limits.MAX_ADDRESS_LENGTH} characters" in refused.value.message


def test_a_safety_number_takes_a_stable_id_up_to_the_bound():
    assert len(safety.fingerprint(b"k", LONGEST_ADDRESS, 1)) == 64
    with pytest.raises(ValueError, match=f"1..{limits.MAX_ADDRESS_LENGTH} bytes"):
        safety.fingerprint(b"k", LONGEST_ADDRESS + "0", 1)
