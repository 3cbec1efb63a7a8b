"""What colluding endpoints put in their messages, what a benign chat looks like, and the
heuristic detector a reader of recovered plaintext might run (docs/scenarios.md, S17).

- :class:`PrivateKey`: the pair's own key, agreed out of band; payloads are sealed with
  ChaCha20-Poly1305 (RFC 8439) under a random nonce (``cryptography``'s AEAD), the message
  being ``nonce || ciphertext``.
- Three carriers for those bytes: :func:`to_base64` (RFC 4648 text, as any app would paste
  it); :func:`words_encode` (one word of a 16-word list per 4 bits: innocuous words, no
  sentences); :func:`mimic_encode` (4 bits per slot of short sentence templates, a
  "spam mimic" grammar: every message reads as small talk). Each has its decoder.
- :func:`benign_corpus`: chat lines drawn, from the seed, from a phrasebook of everyday
  messages, some of which carry links, tracking numbers or codes (the text a detector
  must not flag).
- :func:`detect`: three heuristics, each cheap and each standard: a base64/token run,
  the text's character entropy, and how few English function words it holds.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import random
import re
import string
from collections import Counter
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

NONCE_LENGTH = 12


class CovertError(ValueError):
    """A carrier that does not decode, or a payload that does not open."""


@dataclass(frozen=True)
class PrivateKey:
    """The colluders' key (secret: no ``repr``)."""

    key: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(ChaCha20Poly1305.generate_key())

    def seal(self, text: str) -> bytes:
        nonce = os.urandom(NONCE_LENGTH)
        return nonce + ChaCha20Poly1305(self.key).encrypt(nonce, text.encode(), None)

    def open(self, data: bytes) -> str:
        try:
            return ChaCha20Poly1305(self.key).decrypt(data[:NONCE_LENGTH], data[NONCE_LENGTH:],
                                                      None).decode()
        except (InvalidTag, ValueError, UnicodeDecodeError):
            raise CovertError("the payload does not open under the pair's key") from None


# -- carriers -------------------------------------------------------------------------------

def to_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def from_base64(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise CovertError("not base64") from None


def _nibbles(data: bytes) -> list[int]:
    """``data`` with a one-byte length prefix, as 4-bit values, high nibble first."""
    if len(data) > 255:
        raise CovertError("a covert payload is at most 255 bytes")
    framed = bytes((len(data),)) + data
    return [n for byte in framed for n in (byte >> 4, byte & 15)]


def _bytes(nibbles: list[int]) -> bytes:
    if len(nibbles) < 2:
        raise CovertError("no length prefix")
    length = nibbles[0] << 4 | nibbles[1]
    body = nibbles[2:2 + 2 * length]
    if len(body) != 2 * length:
        raise CovertError("the carrier is shorter than its length prefix")
    return bytes(body[i] << 4 | body[i + 1] for i in range(0, len(body), 2))


WORDS = ("cafe", "park", "library", "office", "station", "market", "gym", "beach", "museum",
         "cinema", "bakery", "school", "garden", "harbour", "square", "bridge")


def words_encode(data: bytes) -> str:
    return " ".join(WORDS[n] for n in _nibbles(data))


def words_decode(text: str) -> bytes:
    try:
        return _bytes([WORDS.index(word) for word in text.split()])
    except ValueError:
        raise CovertError("a word outside the list") from None


SLOTS = {
    "day": ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
            "tonight", "tomorrow", "later", "soon", "today", "noon", "early", "again",
            "anyway"),
    "place": WORDS,
    "food": ("pizza", "pasta", "soup", "salad", "tacos", "curry", "sushi", "noodles",
             "burgers", "cake", "pancakes", "dumplings", "bagels", "waffles", "kebabs",
             "omelettes"),
    "adj": ("great", "lovely", "nice", "fun", "busy", "quiet", "cozy", "sunny", "rainy",
            "crowded", "perfect", "tiring", "relaxing", "awesome", "fine", "amazing"),
    "person": ("mum", "dad", "grandma", "sam", "alex", "jo", "chris", "kim", "pat", "max",
               "lee", "robin", "dana", "casey", "jamie", "taylor"),
    "verb": ("call", "text", "visit", "meet", "help", "join", "see", "ask", "email",
             "phone", "invite", "remind", "thank", "tell", "find", "message"),
}
TEMPLATES = (
    "shall we meet at the {place} {day} ?",
    "the {food} at the {place} was {adj} .",
    "i will {verb} {person} about it {day} .",
    "{person} says the {place} is {adj} {day} .",
    "do you want {food} or {food} for dinner ?",
    "it was {adj} to {verb} {person} at the {place} .",
)
_TOKEN = re.compile(r"\{(\w+)\}")


def _render(tokens: list[str]) -> str:
    text = " ".join(tokens)
    for mark in ".?,":
        text = text.replace(f" {mark}", mark)
    return text[0].upper() + text[1:]


def mimic_encode(data: bytes) -> str:
    """Sentences from :data:`TEMPLATES` in turn, each slot carrying 4 bits."""
    nibbles = _nibbles(data)
    sentences, position, turn = [], 0, 0
    while position < len(nibbles):
        tokens = []
        for token in TEMPLATES[turn % len(TEMPLATES)].split():
            slot = _TOKEN.fullmatch(token)
            if slot:
                value = nibbles[position] if position < len(nibbles) else 0
                tokens.append(SLOTS[slot.group(1)][value])
                position += 1
            else:
                tokens.append(token)
        sentences.append(_render(tokens))
        turn += 1
    return " ".join(sentences)


def mimic_decode(text: str) -> bytes:
    words = re.findall(r"[a-z]+|[.?,]", text.lower())
    nibbles, position, turn = [], 0, 0
    while position < len(words):
        for token in TEMPLATES[turn % len(TEMPLATES)].split():
            if position >= len(words):
                raise CovertError("the text stops inside a template")
            word = words[position]
            slot = _TOKEN.fullmatch(token)
            if slot:
                options = SLOTS[slot.group(1)]
                if word not in options:
                    raise CovertError(f"{word!r} is not a {slot.group(1)} of the grammar")
                nibbles.append(options.index(word))
            elif word != token:
                raise CovertError(f"expected {token!r}, found {word!r}")
            position += 1
        turn += 1
    return _bytes(nibbles)


CARRIERS = {
    "pre-encrypt": (to_base64, from_base64),
    "stego-words": (words_encode, words_decode),
    "stego-mimic": (mimic_encode, mimic_decode),
}


# -- the benign corpus ----------------------------------------------------------------------

PHRASEBOOK = (
    "ok", "thanks!", "see you soon", "running 10 min late, sorry", "on my way",
    "can you pick up milk on the way home?", "happy birthday!! have a great day",
    "did you see the game last night?", "lol that's hilarious",
    "what time is the dentist tomorrow?", "I'll call you after work",
    "the train is delayed again", "love you, good night", "are we still on for friday?",
    "sure, sounds good to me", "can't talk now, in a meeting", "where did you park?",
    "mum says hi", "I left the keys under the mat", "just landed, will text when I'm out",
    "do we need anything from the shop?", "that was a lovely dinner, thank you",
    "the kids are asleep finally", "send me the photos from the weekend please",
    "I think it's going to rain all day", "who's bringing the cake?",
)
LINKS = ("here's the doc: https://docs.example.com/d/{token}/edit",
         "tracking number {code}", "your verification code is {digits}",
         "wifi password is {token}", "join the call: https://meet.example.org/{token}")


def benign_corpus(rng: random.Random, count: int) -> list[str]:
    """``count`` chat messages: one to three phrases, or (one in twelve) a line with a link,
    a tracking number, a code or a password."""
    alphabet = string.ascii_letters + string.digits
    lines = []
    for _ in range(count):
        if rng.random() < 1 / 12:
            lines.append(rng.choice(LINKS).format(
                token="".join(rng.choice(alphabet) for _ in range(rng.randint(10, 32))),
                code="1Z" + "".join(rng.choice(string.ascii_uppercase + string.digits)
                                    for _ in range(16)),
                digits="".join(rng.choice(string.digits) for _ in range(6))))
        else:
            lines.append(" ".join(rng.choice(PHRASEBOOK) for _ in range(rng.randint(1, 3))))
    return lines


# -- the detector ---------------------------------------------------------------------------

FUNCTION_WORDS = frozenset((
    "a", "an", "the", "and", "or", "but", "to", "of", "in", "on", "at", "for", "with",
    "from", "by", "about", "as", "is", "are", "was", "were", "be", "been", "i", "you", "he",
    "she", "it", "we", "they", "me", "him", "her", "us", "them", "my", "your", "our",
    "their", "this", "that", "these", "those", "do", "did", "does", "have", "has", "had",
    "will", "would", "can", "could", "shall", "should", "not", "no", "so", "if", "then",
    "than", "what", "who", "when", "where", "why", "how", "up", "out", "just", "there",
    "here",
))
BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")
MAX_ENTROPY = 4.9  # bits per character; English text is about 4.1-4.4
MIN_FUNCTION_WORDS = 0.12  # English runs at 0.4-0.5; a list of nouns at 0
MIN_WORDS = 8


def char_entropy(text: str) -> float:
    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values()) if total else 0.0


def detect(text: str) -> list[str]:
    """The heuristics that flag ``text`` (empty: it looks benign)."""
    reasons = []
    if BASE64_RUN.search(text):
        reasons.append("base64-run")
    if len(text) >= 40 and char_entropy(text) > MAX_ENTROPY:
        reasons.append("entropy")
    words = re.findall(r"[a-z']+", text.lower())
    if len(words) >= MIN_WORDS and \
            sum(w in FUNCTION_WORDS for w in words) / len(words) < MIN_FUNCTION_WORDS:
        reasons.append("few-function-words")
    return reasons
