"""strictjson: every way Python's json accepts too much is refused with the caller's error."""

from __future__ import annotations

import ast
import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import strictjson
from tests.paths import PROJECT_ROOT


class CallerError(Exception):
    pass


REFUSED = {
    "integer over 40 digits": "1" * 41,
    "integer over python's 4300-digit limit": "9" * 5000,
    "negative huge integer": "-" + "9" * 41,
    "nested past the stack": "[" * 100_000 + "]" * 100_000,
    "nested past the bound": "[" * 33 + "]" * 33,
    "duplicate name": '{"a": 1, "a": 2}',
    "lone surrogate value": '"\\ud800"',
    "lone surrogate name": '{"\\udfff": 1}',
    "NaN": "NaN",
    "Infinity": "[Infinity]",
    "float overflow": "1e400",
    "trailing garbage": "{} x",
    "empty": "",
}


@pytest.mark.parametrize("document", REFUSED.values(), ids=REFUSED.keys())
def test_refused_with_the_callers_error(document):
    with pytest.raises(CallerError) as caught:
        strictjson.loads(document, what="test document", error=CallerError)
    assert str(caught.value).startswith("test document: ")
    assert len(str(caught.value)) < 120  # never echoes the input


def test_bytes_must_be_utf8_and_within_bound():
    with pytest.raises(CallerError, match="not UTF-8"):
        strictjson.loads(b'"\xff"', error=CallerError)
    with pytest.raises(CallerError, match="longer than 4 bytes"):
        strictjson.loads(b"12345", error=CallerError, max_bytes=4)
    assert strictjson.loads(b'{"a": "\xc3\xa9"}') == {"a": "\u00e9"}


def test_floats_refused_when_not_allowed():
    with pytest.raises(CallerError, match="fractional"):
        strictjson.loads("1.5", error=CallerError, allow_floats=False)
    assert strictjson.loads("1.5") == 1.5


def test_depth_bound_is_exact():
    assert strictjson.loads("[" * 32 + "]" * 32) is not None
    with pytest.raises(CallerError):
        strictjson.loads("[" * 33 + "]" * 33, error=CallerError)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**39), 10**39)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(), kids, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_every_valid_document_round_trips(value):
    assert strictjson.loads(json.dumps(value)) == value


@given(st.text(max_size=200))
def test_any_text_parses_or_raises_only_the_callers_error(document):
    with contextlib.suppress(CallerError):
        strictjson.loads(document, error=CallerError)


def test_fields_checks_names_and_exact_types():
    spec = {"n": int, "s": str}
    assert strictjson.fields({"n": 1, "s": "x"}, spec) == {"n": 1, "s": "x"}
    for bad, reason in [({"n": True, "s": "x"}, "must be int, got bool"),
                        ({"n": 1.0, "s": "x"}, "must be int, got float"),
                        ({"n": 1}, "missing field"),
                        ({"n": 1, "s": "x", "z": 0}, "unknown field"),
                        ({"n": 1, "s": "\ud800"}, "lone surrogate"),
                        ([1], "expected an object")]:
        with pytest.raises(CallerError, match=reason):
            strictjson.fields(bad, spec, error=CallerError)
    assert strictjson.fields({"n": 1, "s": "x", "o": None}, spec, {"o": (int, type(None))})


def test_text_refuses_non_text_and_lone_surrogates():
    assert strictjson.text("abc") == "abc"
    for bad in ["\ud800", b"abc", 3]:
        with pytest.raises(CallerError):
            strictjson.text(bad, error=CallerError)
    with pytest.raises(CallerError, match="longer than 2"):
        strictjson.text("abc", error=CallerError, max_length=2)


def test_strictjson_imports_nothing_of_ours():
    ours = {"messaging", "audit", "escrow", "escrowlab", "authority_portal"}
    tree = ast.parse((PROJECT_ROOT / "strictjson" / "__init__.py").read_text())
    nodes = list(ast.walk(tree))
    names = {a.name.split(".")[0] for n in nodes if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in nodes if isinstance(n, ast.ImportFrom) and n.module}
    assert not names & ours
