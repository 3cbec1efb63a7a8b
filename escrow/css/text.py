"""Text detection, the EU proposal's second detector (docs/css_text.md, "The detector").

Three parts, each a well-known technique from a maintained library:

- :class:`Normaliser`: lower case, letters and digits only, then every word of four letters
  or more that is close to a word of the indicator list (``rapidfuzz``'s ``fuzz.ratio``,
  the normalised Indel similarity, at least ``cutoff`` out of 100) is replaced by it, so
  that ``secert`` and ``anotherr`` count as ``secret`` and ``another``. Words are mapped
  once and cached.
- :class:`KeywordMatcher`: the indicator phrases (:data:`INDICATORS`, by family) in an
  Aho-Corasick automaton (``pyahocorasick``), matched on whole words of the normalised
  text; it reports which phrases and families a text contains.
- a classifier: TF-IDF over word unigrams and bigrams and a logistic regression
  (``scikit-learn``), trained on labelled chats (:mod:`escrow.css.chats`), whose output is
  the probability that a chat is a target.

:class:`TextDetector` combines them: a chat is *flagged* when the classifier's score is at
least ``threshold`` **and** its indicators span at least ``min_families`` families. A
threshold of 0 makes it a pure keyword rule, ``min_families`` 0 a pure classifier. It
takes one message (a string) or a chat (a sequence of messages) and returns a
:class:`TextVerdict`; :meth:`TextDetector.scan_many` scores many chats at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ahocorasick
from rapidfuzz import fuzz, process
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from escrow.css.chats import Chat
from escrow.css.errors import CssError

INDICATORS: Mapping[str, tuple[str, ...]] = {
    "secrecy": ("secret", "between us", "dont tell", "delete this chat", "delete the chat"),
    "channel": ("another app", "other app", "private app", "switch apps"),
    "meeting": ("meet alone", "meet me alone", "by yourself", "dont bring anyone"),
}
"""The indicator phrases a provider would list for the stand-in patterns' families
(written for them, not copied from the generator's lines)."""
MAX_MESSAGE_CHARS = 65_536
MAX_MESSAGES = 10_000
DEFAULT_CUTOFF = 80.0
MIN_FUZZY_LENGTH = 4
_WORD = re.compile(r"[a-z0-9]+")
_TOKEN = re.compile(r"[a-z0-9]+|\n")
SEPARATOR = "|"


class TextError(CssError):
    """A message or chat the detector refuses (not text, too long), or bad parameters."""


def _messages(value: object) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else value
    if isinstance(items, Chat):
        items = items.lines
    if not isinstance(items, Sequence) or isinstance(items, bytes | bytearray):
        raise TextError("a detector scans a message (str) or a chat (a sequence of str)")
    if not 1 <= len(items) <= MAX_MESSAGES:
        raise TextError(f"a chat holds 1..{MAX_MESSAGES} messages")
    for item in items:
        if not isinstance(item, str) or len(item) > MAX_MESSAGE_CHARS:
            raise TextError(f"a message is a str of at most {MAX_MESSAGE_CHARS} characters")
    return tuple(items)


class Normaliser:
    """Lower-cased words, with near-misses of the indicator words replaced by them."""

    def __init__(self, vocabulary: Sequence[str], cutoff: float = DEFAULT_CUTOFF) -> None:
        if isinstance(cutoff, bool) or not isinstance(cutoff, int | float) or \
                not 0.0 < cutoff <= 100.0:
            raise TextError("the fuzzy cutoff is a similarity in (0, 100]")
        self.vocabulary = tuple(sorted(set(vocabulary)))
        self.cutoff = float(cutoff)
        self._cache: dict[str, str] = {w: w for w in self.vocabulary}

    def word(self, word: str) -> str:
        mapped = self._cache.get(word)
        if mapped is None:
            mapped = word
            if len(word) >= MIN_FUZZY_LENGTH:
                best = process.extractOne(word, self.vocabulary, scorer=fuzz.ratio,
                                          score_cutoff=self.cutoff)
                if best is not None:
                    mapped = best[0]
            self._cache[word] = mapped
        return mapped

    def text(self, messages: Sequence[str]) -> str:
        """The chat as one string of normalised words, messages separated by `` | ``."""
        cache, word = self._cache, self.word
        return " ".join(SEPARATOR if w == "\n" else cache.get(w) or word(w)
                        for w in _TOKEN.findall("\n".join(messages).lower()))


class KeywordMatcher:
    """Indicator phrases matched on whole words with one Aho-Corasick automaton."""

    def __init__(self, indicators: Mapping[str, Sequence[str]] = INDICATORS) -> None:
        self.automaton = ahocorasick.Automaton()
        vocabulary: set[str] = set()
        for family, phrases in indicators.items():
            for phrase in phrases:
                words = _WORD.findall(phrase.lower())
                if not words or " ".join(words) != phrase:
                    raise TextError(f"indicator {phrase!r} is lower-case words separated "
                                    "by single spaces")
                self.automaton.add_word(f" {phrase} ", (family, phrase))
                vocabulary.update(words)
        if not len(self.automaton):
            raise TextError("a keyword matcher needs at least one indicator")
        self.automaton.make_automaton()
        self.vocabulary = tuple(sorted(vocabulary))

    def find(self, normalised: str) -> tuple[tuple[str, str], ...]:
        """The distinct (family, phrase) pairs in ``normalised`` (:meth:`Normaliser.text`),
        in order of first appearance."""
        found: dict[tuple[str, str], None] = {}
        for _, hit in self.automaton.iter(f" {normalised} "):
            found.setdefault(hit, None)
        return tuple(found)


@dataclass(frozen=True)
class TextVerdict:
    """What the detector says of one chat: the classifier's score, the indicators it
    contains, and whether it is flagged (module docstring)."""

    score: float
    indicators: tuple[tuple[str, str], ...]
    flagged: bool

    @property
    def families(self) -> frozenset[str]:
        return frozenset(family for family, _ in self.indicators)


def train_classifier(texts: Sequence[str], labels: Sequence[bool], seed: int) -> Pipeline:
    """TF-IDF (word 1-2 grams) and logistic regression fitted on normalised chat texts."""
    if len(texts) != len(labels) or len(set(labels)) != 2:
        raise TextError("training needs labelled chats of both kinds")
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                        token_pattern=_WORD.pattern),
        LogisticRegression(C=4.0, max_iter=1000, random_state=seed))
    model.fit(list(texts), [bool(x) for x in labels])
    return model


class TextDetector:
    """Keyword, fuzzy and classifier detection of target chats (module docstring)."""

    def __init__(self, classifier: Pipeline, threshold: float = 0.5, min_families: int = 0,
                 cutoff: float = DEFAULT_CUTOFF,
                 indicators: Mapping[str, Sequence[str]] = INDICATORS) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or \
                not math.isfinite(threshold) or not 0.0 <= threshold <= 1.0:
            raise TextError("the classifier threshold is in [0, 1]")
        if isinstance(min_families, bool) or not isinstance(min_families, int) or \
                not 0 <= min_families <= len(indicators):
            raise TextError(f"min_families is an integer in 0..{len(indicators)}")
        self.classifier = classifier
        self.threshold = float(threshold)
        self.min_families = min_families
        self.indicators = {family: tuple(p) for family, p in indicators.items()}
        self.matcher = KeywordMatcher(self.indicators)
        self.normaliser = Normaliser(self.matcher.vocabulary, cutoff)

    @classmethod
    def train(cls, chats: Sequence[Chat], seed: int, threshold: float = 0.5,
              min_families: int = 0, cutoff: float = DEFAULT_CUTOFF,
              indicators: Mapping[str, Sequence[str]] = INDICATORS) -> TextDetector:
        """A detector whose classifier is trained on ``chats`` (their ``target`` labels)."""
        normaliser = Normaliser(KeywordMatcher(indicators).vocabulary, cutoff)
        texts = [normaliser.text(_messages(c)) for c in chats]
        return cls(train_classifier(texts, [c.target for c in chats], seed), threshold,
                   min_families, cutoff, indicators)

    def with_rule(self, threshold: float, min_families: int) -> TextDetector:
        """The same trained classifier under another flagging rule."""
        return TextDetector(self.classifier, threshold, min_families, self.normaliser.cutoff,
                            self.indicators)

    def scan(self, messages: str | Sequence[str] | Chat) -> TextVerdict:
        """The verdict on one message or one chat."""
        return self.scan_many([messages])[0]

    def scan_many(self, chats: Sequence[str | Sequence[str] | Chat]) -> list[TextVerdict]:
        """The verdicts on many chats, scored in one batch."""
        texts = [self.normaliser.text(_messages(c)) for c in chats]
        if not texts:
            return []
        target = list(self.classifier.classes_).index(True)
        scores = self.classifier.predict_proba(texts)[:, target]
        return [self._verdict(text, float(score))
                for text, score in zip(texts, scores, strict=True)]

    def _verdict(self, text: str, score: float) -> TextVerdict:
        found = self.matcher.find(text)
        return TextVerdict(score, found, self.decide(score, found))

    def decide(self, score: float, indicators: Sequence[tuple[str, str]]) -> bool:
        """This detector's rule: score at least the threshold and indicators of at least
        ``min_families`` families (so one scan can be judged under several rules)."""
        families = len({family for family, _ in indicators})
        return score >= self.threshold and families >= self.min_families
