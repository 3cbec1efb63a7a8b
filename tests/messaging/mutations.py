"""Hypothesis strategies that mutate stored objects, for the "parses exactly or refuses" properties.

Two kinds of mutation of a real object's encoding:

- :func:`mutated_bytes`: a few bytes replaced, inserted or deleted, or a hostile
  snippet spliced in (a 5,000-digit integer, nesting past the stack limit, a lone
  surrogate escape, invalid UTF-8, ``NaN``, ``true``, upper-case hex, a space);
- :func:`mutated_document`: one value anywhere in the JSON document replaced by
  any JSON value (hostile ones included: ``true`` and ``1.0`` for integers,
  ``10**400``, lone surrogates, upper-case hex), a field deleted, or a field added.

The property each parser must keep: the mutated input raises the package's
error, or it parses to an object whose encoding is exactly that input (nothing
dropped, coerced or normalised on the way).
"""

from __future__ import annotations

import copy

from hypothesis import strategies as st

HOSTILE_VALUES = st.sampled_from([
    True, False, 0, 1, -1, 1.0, 0.5, -0.0, 1e308, 2**32, 2**63, 2**64, 10**39, 10**400,
    "", "\ud800", "a\udfff", "00", "AB" * 32, "ab cd", "0" * 65, "none", "dm:a:b", [], {},
    None,
])

JSON_VALUES = HOSTILE_VALUES | st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | HOSTILE_VALUES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                 max_size=3),
    max_leaves=6)
"""Any JSON value, a hostile one about half of the time."""

HOSTILE_SNIPPETS = st.sampled_from([
    b"9" * 5000, b"-" + b"1" * 4301, b"1" * 41, b"[" * 2000, b"{\"a\":" * 2000,
    b"\\ud800", b"\\udfff", b"\xed\xa0\x80", b"\xff", b"\xc3", b"NaN", b"Infinity", b"1e999",
    b"true", b"1.0", b"null", b" ", b"\t", b"\n", b"A", b"F", b",", b"\"", b"\\",
])


@st.composite
def mutated_bytes(draw, data: bytes) -> bytes:
    """``data`` with one to three byte-level mutations (module docstring)."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(out)))
        kind = draw(st.sampled_from(["replace", "insert", "delete", "splice"]))
        if kind == "replace" and position < len(out):
            out[position] = draw(st.integers(0, 255))
        elif kind == "insert":
            out[position:position] = bytes([draw(st.integers(0, 255))])
        elif kind == "delete" and position < len(out):
            del out[position]
        else:
            end = min(len(out), position + draw(st.integers(0, 3)))
            out[position:end] = draw(HOSTILE_SNIPPETS)
    return bytes(out)


def paths(obj, prefix=()):
    """Every path into a JSON document, the root's ``()`` first."""
    yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from paths(value, (*prefix, index))


def at(doc, path):
    for step in path:
        doc = doc[step]
    return doc


@st.composite
def mutated_document(draw, sample):
    """A deep copy of the JSON document ``sample`` with one value replaced, or one field
    deleted or added (module docstring)."""
    doc = copy.deepcopy(sample)
    path = draw(st.sampled_from([p for p in paths(doc) if p]))
    parent = at(doc, path[:-1])
    value = draw(JSON_VALUES)
    kind = draw(st.sampled_from(["replace", "delete", "add"]))
    if kind == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif kind == "add" and isinstance(at(doc, path), dict):
        at(doc, path)[draw(st.sampled_from(["extra", "v", "\ud800", ""]))] = value
    else:
        parent[path[-1]] = value
    return doc
