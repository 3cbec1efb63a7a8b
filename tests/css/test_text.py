"""The text detector (escrow.css.text): fuzzy normalisation (rapidfuzz), whole-word indicator
matching (pyahocorasick), a TF-IDF and logistic-regression classifier (scikit-learn), and
the flagging rule that combines them; malformed input refused with a TextError."""

import pytest

from escrow.css.chats import Chat, generate_chats
from escrow.css.errors import CssError
from escrow.css.text import (
    KeywordMatcher,
    Normaliser,
    TextDetector,
    TextError,
)


@pytest.fixture(scope="module")
def detector():
    return TextDetector.train(generate_chats(300, 0.5, 11), seed=0)


def test_misspelt_indicator_words_are_normalised_and_other_words_are_not():
    n = Normaliser(KeywordMatcher().vocabulary)
    assert n.text(["Keep it SECERT", "use anothr app!"]) == "keep it secret | use another app"
    assert n.text(["see you at the pool"]) == "see you at the pool"
    assert n.word("secrets") == "secret" and n.word("meat") == "meat", "75 < the cutoff of 80"


def test_indicators_match_whole_words_only():
    m = KeywordMatcher()
    assert m.find("keep it secret | add me on another app") == (
        ("secrecy", "secret"), ("channel", "another app"))
    assert m.find("a secretive cat at the otherapp") == ()
    assert m.find("secret secret secret") == (("secrecy", "secret"),), "each phrase once"


def test_a_target_chat_is_flagged_and_a_benign_one_is_not(detector):
    target = ["hi sam how are you", "keep our chats secret", "add me on another app instead"]
    verdict = detector.scan(target)
    assert verdict.flagged and verdict.score > 0.5
    assert verdict.families == {"secrecy", "channel"}
    benign = detector.scan(["did you finish the maths homework", "see you at the pool"])
    assert not benign.flagged and benign.score < 0.5 and benign.indicators == ()


def test_one_message_a_chat_and_a_chat_object_score_alike(detector):
    lines = ("hi", "keep our chats secret")
    assert detector.scan(lines) == detector.scan(list(lines)) == detector.scan(
        Chat("c", lines, False))
    assert detector.scan("keep our chats secret").indicators == (("secrecy", "secret"),)


def test_the_rule_combines_threshold_and_families(detector):
    chat = ["keep the surprise party for sam a secret"]
    score = detector.scan(chat).score
    keywords = detector.with_rule(0.0, 1)
    assert keywords.scan(chat).flagged and keywords.scan(chat).score == score
    assert not detector.with_rule(0.0, 2).scan(chat).flagged
    assert not detector.with_rule(1.0, 0).scan(chat).flagged


def test_training_is_deterministic():
    chats = generate_chats(120, 0.5, 4)
    one, two = TextDetector.train(chats, seed=1), TextDetector.train(chats, seed=1)
    probe = ["lets switch to a private app", "see you at school"]
    assert one.scan(probe) == two.scan(probe)


@pytest.mark.parametrize("value, message", [
    (b"bytes", "a message .str."), (7, "a message .str."), ([], "1..10000 messages"),
    (["ok", 3], "a str of at most"), (["x" * 65_537], "a str of at most"),
])
def test_malformed_input_is_refused(detector, value, message):
    with pytest.raises(TextError, match=message):
        detector.scan(value)
    assert issubclass(TextError, CssError)


@pytest.mark.parametrize("kwargs, message", [
    ({"threshold": 1.5}, "threshold"), ({"threshold": float("nan")}, "threshold"),
    ({"min_families": 4}, "min_families"), ({"min_families": True}, "min_families"),
    ({"cutoff": 0}, "cutoff"),
    ({"indicators": {"x": ("Upper Case",)}}, "lower-case words"), ({"indicators": {}},
                                                                    "min_families|at least"),
])
def test_bad_settings_are_refused(detector, kwargs, message):
    settings = {"threshold": 0.5, "min_families": 0, **kwargs}
    with pytest.raises(TextError, match=message):
        TextDetector(detector.classifier, **settings)


def test_training_needs_both_kinds():
    with pytest.raises(TextError, match="both kinds"):
        TextDetector.train(generate_chats(20, 0.0, 1), seed=0)
