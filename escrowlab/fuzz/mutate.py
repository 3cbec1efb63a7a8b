"""Mutators: byte-level havoc (AFL's deterministic and havoc stages, in small) and
structure-aware mutation of JSON documents and line-oriented text.

Every mutator takes a :class:`random.Random` and returns ``bytes``; the fuzz
targets parse those bytes as their package would. JSON mutation works on the
decoded object (a real record, release, upload...): it picks one node and
replaces, removes, duplicates or retypes it, then serialises with
:func:`dump_json`, which can write what :func:`json.dumps` cannot: integer
literals beyond Python's 4,300-digit conversion limit, numbers beyond float
range, ``NaN``/``Infinity``, duplicate names, lone surrogates (as ``\\ud800``
escapes) and nesting deeper than the interpreter's stack.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

MAX_INPUT_BYTES = 256 * 1024


@dataclass(frozen=True)
class Raw:
    """A JSON text fragment written as-is by :func:`dump_json`."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """A JSON object written from a list of (name, value) pairs: names may repeat."""

    items: tuple[tuple[str, Any], ...]


def dump_json(value: Any) -> str:
    """Serialise ``value`` (JSON types plus :class:`Raw` and :class:`Pairs`) to JSON text."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Raw):
            out.append(item.text)
        elif isinstance(item, Pairs | dict):
            pairs = item.items if isinstance(item, Pairs) else tuple(item.items())
            parts: list[Any] = [Raw("{")]
            for i, (name, member) in enumerate(pairs):
                if i:
                    parts.append(Raw(","))
                parts += [Raw(json.dumps(name) + ":"), member]
            parts.append(Raw("}"))
            stack.extend(reversed(parts))
        elif isinstance(item, list | tuple):
            parts = [Raw("[")]
            for i, member in enumerate(item):
                if i:
                    parts.append(Raw(","))
                parts.append(member)
            parts.append(Raw("]"))
            stack.extend(reversed(parts))
        elif isinstance(item, bool) or item is None:
            out.append(json.dumps(item))
        elif isinstance(item, int):
            out.append(int.__repr__(item))
        elif isinstance(item, float):
            out.append(repr(item) if item == item and abs(item) != float("inf")
                       else {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[repr(item)])
        elif isinstance(item, str):
            out.append(json.dumps(item))
        else:
            raise TypeError(f"cannot write {type(item).__name__} as JSON")
    return "".join(out)


# Values that broke, or could break, parsers: type confusion (bool for int, float for
# int), integer and float range, Python's int-to-str digit limit, non-finite
# numbers, lone surrogates, control characters, non-ASCII digits, deep nesting.
INTERESTING_JSON: tuple[Any, ...] = (
    0, -1, 1, 255, 256, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53 + 1, 2**63 - 1, 2**63,
    2**64, -(2**63) - 1, 10**400, -(10**400), Raw("9" * 4400), Raw("-" + "1" * 5000),
    Raw("1e999"), Raw("-1e999"), Raw("1.0"), Raw("0.0"), Raw("-0"), Raw("1e2"), Raw("NaN"),
    Raw("Infinity"), Raw("-Infinity"), 0.5, 1e308, True, False, None,
    "", "\ud800", "a\udfffb", "\x00", "\n", "a" * 300, "é", "\u0663", "\u00b2", " ", "null",
    "0" * 64, "ff" * 33, "zz", "0", [], {}, [None], {"": None},
    Raw("[" * 20_000 + "]" * 20_000), Raw('{"a":' * 5000 + "1" + "}" * 5000),
)


class Mutator:
    """Structure-aware and byte-level mutation driven by one seeded ``random.Random``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    # -- bytes ---------------------------------------------------------------------------

    def havoc(self, data: bytes, others: list[bytes] = (), rounds: int | None = None) -> bytes:
        """1 to 4 stacked byte mutations (flip, set, interesting integer, insert, delete,
        duplicate, truncate, splice with another seed)."""
        rng = self.rng
        buf = bytearray(data)
        for _ in range(rounds or rng.choice((1, 1, 1, 2, 2, 3, 4))):
            op = rng.randrange(11)
            pos = rng.randrange(len(buf) + 1)
            if op == 0 and buf:  # bit flip
                pos = min(pos, len(buf) - 1)
                buf[pos] ^= 1 << rng.randrange(8)
            elif op == 1 and buf:  # random byte
                buf[min(pos, len(buf) - 1)] = rng.randrange(256)
            elif op == 2 and buf:  # interesting integer, 1, 2, 4 or 8 bytes, either order
                width = rng.choice((1, 2, 4, 8))
                value = rng.choice((0, 1, 0x7F, 0x80, 0xFF, 2 ** (8 * width - 1),
                                    2 ** (8 * width) - 1, 2 ** (8 * width - 1) - 1,
                                    rng.randrange(2 ** (8 * width))))
                raw = value.to_bytes(width, rng.choice(("big", "little")))
                buf[pos:pos + width] = raw
            elif op == 3:  # insert random bytes
                buf[pos:pos] = rng.randbytes(rng.choice((1, 1, 2, 4, 16, 64)))
            elif op == 4 and buf:  # delete a run
                del buf[pos:pos + rng.choice((1, 1, 2, 4, 16, 64, len(buf)))]
            elif op == 5 and buf:  # duplicate a run
                start = rng.randrange(len(buf))
                chunk = buf[start:start + rng.choice((1, 4, 16, 128))]
                buf[pos:pos] = chunk * rng.choice((1, 2, 8))
            elif op == 6:  # truncate
                del buf[pos:]
            elif op == 7 and others:  # splice: this prefix, another seed's suffix
                other = rng.choice(others)
                cut = rng.randrange(len(other) + 1)
                buf = buf[:pos] + bytearray(other[cut:])
            elif op == 8 and buf:  # arithmetic on one byte
                pos = min(pos, len(buf) - 1)
                buf[pos] = (buf[pos] + rng.choice((-1, 1, -16, 16))) % 256
            elif op == 9:  # interesting text fragment (UTF-8 edge cases)
                buf[pos:pos] = rng.choice((b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\x00",
                                           b"\xe2\x80\xae", b"\\ud800", b"-1", b"1e999",
                                           b"99999999999999999999", b"\n", b" ", b"=", b"\""))
            elif op == 10 and buf:  # swap two runs
                a, b = sorted((rng.randrange(len(buf)), rng.randrange(len(buf))))
                width = rng.choice((1, 2, 4, 8))
                buf[a:a + width], buf[b:b + width] = buf[b:b + width], buf[a:a + width]
        return bytes(buf[:MAX_INPUT_BYTES])

    # -- JSON ----------------------------------------------------------------------------

    def json_value(self, value: Any, depth: int = 0) -> Any:
        """``value`` with one node (chosen at random, any depth) mutated."""
        rng = self.rng
        containers = isinstance(value, dict | list) and value and depth < 12
        if containers and rng.random() < 0.75:
            if isinstance(value, dict):
                name = rng.choice(list(value))
                return {**value, name: self.json_value(value[name], depth + 1)}
            index = rng.randrange(len(value))
            return value[:index] + [self.json_value(value[index], depth + 1)] + value[index + 1:]
        return self._mutate_node(value)

    def _mutate_node(self, value: Any) -> Any:
        rng = self.rng
        choice = rng.random()
        if isinstance(value, dict) and choice < 0.5:
            names = list(value)
            op = rng.randrange(5)
            if op == 0 and names:  # drop a field
                drop = rng.choice(names)
                return {k: v for k, v in value.items() if k != drop}
            if op == 1:  # unknown field
                return {**value, rng.choice(("extra", "", "\ud800", "v", "Version")):
                        rng.choice(INTERESTING_JSON)}
            if op == 2 and names:  # duplicate name, second value different
                name = rng.choice(names)
                return Pairs(tuple(value.items()) + ((name, rng.choice(INTERESTING_JSON)),))
            if op == 3 and names:  # rename a field
                name = rng.choice(names)
                return {(k + rng.choice(("_", "\ud800", " ")) if k == name else k): v
                        for k, v in value.items()}
            return [value]
        if isinstance(value, list) and choice < 0.5:
            op = rng.randrange(4)
            if op == 0 and value:
                index = rng.randrange(len(value))
                return value[:index] + value[index + 1:]
            if op == 1 and value:
                return value + [rng.choice(value)] * rng.choice((1, 2, 100))
            if op == 2:
                return value + [rng.choice(INTERESTING_JSON)]
            return {"list": value}
        if isinstance(value, str) and choice < 0.6:
            return self._mutate_text(value)
        if isinstance(value, bool) and choice < 0.3:
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool) and choice < 0.5:
            as_float = float(value) if abs(value) < 2**1000 else Raw("1e999")
            return rng.choice((value + 1, value - 1, -value, value * 2**32, as_float,
                               Raw(f"{value}.0"), Raw(f"{value}e0"), str(value), value > 0))
        return rng.choice(INTERESTING_JSON)

    def _mutate_text(self, text: str) -> str:
        rng = self.rng
        op = rng.randrange(7)
        if op == 0 and text:  # change one character (hex stays hex-looking)
            i = rng.randrange(len(text))
            return text[:i] + rng.choice("0f9aAZ \ud800\x00\u0663.:-") + text[i + 1:]
        if op == 1:
            return text[:rng.randrange(len(text) + 1)]
        if op == 2:
            return text + rng.choice(("0", "00", "\ud800", " ", "\n", "x" * 300))
        if op == 3:
            return text.upper() if text != text.upper() else text.lower()
        if op == 4:
            return text * rng.choice((2, 50))
        if op == 5 and text:
            i = rng.randrange(len(text))
            return text[:i] + text[i + 1:]
        return " " + text

    def json_bytes(self, value: Any, others: list[bytes] = ()) -> bytes:
        """A mutated ``value`` as JSON bytes; now and then a byte mutation on top."""
        mutated = self.json_value(value)
        for _ in range(self.rng.choice((0, 0, 0, 1, 2))):
            mutated = self.json_value(mutated) if isinstance(mutated, dict | list) else mutated
        try:
            text = dump_json(mutated)
        except TypeError:
            text = json.dumps(value)
        data = text.encode("utf-8", "surrogatepass")
        if self.rng.random() < 0.15:
            data = self.havoc(data, others, rounds=1)
        return data[:MAX_INPUT_BYTES]

    # -- line-oriented text (signed notes, checkpoints) -------------------------------------

    def text_lines(self, text: str, others: list[bytes] = ()) -> bytes:
        """Mutate whole lines or fields of a line, then maybe bytes."""
        rng = self.rng
        lines = text.split("\n")
        op = rng.randrange(8)
        i = rng.randrange(len(lines))
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op == 2:
            lines.insert(i, "")
        elif op == 3:
            words = lines[i].split(" ")
            j = rng.randrange(len(words))
            words[j] = rng.choice(("", "-1", "0", "18446744073709551616", "9" * 5000, "1.0",
                                   "\u00b2", "\u0663", "\ud800", "=", "AAAA", "\u2014",
                                   words[j] * 2, words[j][:-1], words[j] + "=", words[j].upper()))
            lines[i] = " ".join(words)
        elif op == 4:
            lines[i], lines[-1 - i] = lines[-1 - i], lines[i]
        elif op == 5:
            lines[i] = lines[i] + rng.choice((" ", "\t", "\r", "x", "==", " extra"))
        elif op == 6:
            lines[i] = lines[i][:rng.randrange(len(lines[i]) + 1)]
        else:
            lines.append(rng.choice(("", "\u2014 x", "— name AAAA", "\u2014 " + "A" * 200)))
        data = "\n".join(lines).encode("utf-8", "surrogatepass")
        if rng.random() < 0.3:
            data = self.havoc(data, others)
        return data


# The deterministic stage (AFL's, on JSON nodes): every node of a seed replaced in turn by
# each of these, and every object member dropped in turn.
SWEEP_VALUES: tuple[Any, ...] = (
    10**400, Raw("9" * 4400), Raw("1e999"), Raw("1.0"), True, None, -1, 2**64, "\ud800", "",
    [], {}, Raw("[" * 20_000 + "]" * 20_000),
)
MAX_SWEEP_PATHS = 400


def json_paths(value: Any, limit: int = MAX_SWEEP_PATHS) -> list[tuple]:
    """Paths (tuples of keys and indexes) to every node of ``value``, breadth first."""
    paths: list[tuple] = [()]
    queue: list[tuple[tuple, Any]] = [((), value)]
    while queue and len(paths) < limit:
        path, node = queue.pop(0)
        children = (node.items() if isinstance(node, dict)
                    else enumerate(node) if isinstance(node, list) else ())
        for key, child in children:
            paths.append(path + (key,))
            queue.append((path + (key,), child))
    return paths[:limit]


def replace_at(value: Any, path: tuple, new: Any, drop: bool = False) -> Any:
    """``value`` with the node at ``path`` replaced by ``new`` (or removed, with ``drop``)."""
    if not path:
        return new
    key, rest = path[0], path[1:]
    if isinstance(value, dict):
        copy = dict(value)
        if drop and not rest:
            del copy[key]
        else:
            copy[key] = replace_at(value[key], rest, new, drop)
        return copy
    copy = list(value)
    if drop and not rest:
        del copy[key]
    else:
        copy[key] = replace_at(value[key], rest, new, drop)
    return copy


VERSION_NAMES = ("v", "version", "format_version")


def json_sweep(seeds: list[Any], must_refuse: dict[bytes, str] | None = None):
    """Every single-node substitution and member removal of every seed, as JSON bytes.

    Into ``must_refuse`` go the substitutions no strict parser may accept, with the
    reason: ``true`` where the seed has an integer (bool is never int), ``1.0`` where it
    has a version number."""
    for seed in seeds:
        nodes = _nodes(seed)
        for path in json_paths(seed):
            old = nodes.get(path)
            for new in SWEEP_VALUES:
                data = dump_json(replace_at(seed, path, new)).encode("utf-8", "surrogatepass")
                if must_refuse is not None:
                    reason = _must_refuse(path, old, new)
                    if reason:
                        must_refuse[data] = reason
                yield data
            if path:
                yield dump_json(replace_at(seed, path, None, drop=True)).encode()


def _nodes(value: Any) -> dict[tuple, Any]:
    found: dict[tuple, Any] = {}
    for path in json_paths(value):
        node = value
        for key in path:
            node = node[key]
        found[path] = node
    return found


FREE_FORM_NAMES = ("payload", "group")  # values checked elsewhere, or any JSON by design


def _must_refuse(path: tuple, old: Any, new: Any) -> str:
    if any(key in FREE_FORM_NAMES for key in path):
        return ""
    where = ".".join(str(key) for key in path)
    is_int = isinstance(old, int) and not isinstance(old, bool)
    if is_int and new is True:
        return f"true accepted for the integer {where}"
    if is_int and new == Raw("1.0") and path and path[-1] in VERSION_NAMES:
        return f"1.0 accepted for the version {where}"
    return ""
