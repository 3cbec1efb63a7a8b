"""The synthetic chats (escrow.css.chats): seeded, an exact number of targets, and made only
of the scripted lines the module lists."""

import random
import re

import pytest

from escrow.css.chats import (
    BENIGN_TEMPLATES,
    OVERLAP_TEMPLATES,
    PATTERNS,
    ChatError,
    ChatStyle,
    generate_chats,
    make_chat,
)

PATTERN_LINES = [p for lines in PATTERNS.values() for p in lines]


def test_the_same_seed_gives_the_same_chats_and_another_seed_others():
    assert generate_chats(50, 0.1, 7) == generate_chats(50, 0.1, 7)
    assert generate_chats(50, 0.1, 7) != generate_chats(50, 0.1, 8)


@pytest.mark.parametrize("count, prevalence, targets", [(1000, 0.01, 10), (1000, 0.0, 0),
                                                        (30, 1.0, 30), (10_000, 1e-4, 1)])
def test_the_prevalence_is_exact(count, prevalence, targets):
    chats = generate_chats(count, prevalence, 1)
    assert len(chats) == count and sum(c.target for c in chats) == targets
    assert len({c.chat_id for c in chats}) == count


def test_targets_carry_pattern_lines_and_benign_chats_only_lookalikes_do():
    rng = random.Random(3)
    clean = ChatStyle(typo=0.0, lookalike=0.0, overlap=0.0)
    target = make_chat("t", True, clean, rng)
    benign = make_chat("b", False, clean, rng)
    benign_lines = _benign_lines()
    extra = [line for line in target.lines if line not in benign_lines]
    assert 1 <= len(extra) <= 3
    assert all(any(re.fullmatch(re.escape(p).replace(re.escape("{place}"), ".+"), line)
                   for p in PATTERN_LINES) for line in extra)
    assert all(line in benign_lines for line in benign.lines)
    lookalike = make_chat("l", False, ChatStyle(typo=0.0, lookalike=1.0), rng)
    assert not lookalike.target and not all(line in benign_lines for line in lookalike.lines)


def _benign_lines() -> set[str]:
    rng = random.Random(0)
    style = ChatStyle(typo=0.0, lookalike=0.0, overlap=0.0, min_lines=100, max_lines=100)
    return {line for _ in range(40) for line in make_chat("x", False, style, rng).lines}


def test_typing_errors_change_long_words_only():
    style = ChatStyle(typo=1.0, lookalike=0.0, overlap=1.0)
    chat = make_chat("x", False, style, random.Random(5))
    words = [w for line in chat.lines for w in line.split()]
    assert any(len(w) >= 4 and w not in " ".join(BENIGN_TEMPLATES + OVERLAP_TEMPLATES)
               for w in words)


@pytest.mark.parametrize("args, message", [
    ((-1, 0.1, 0), "0..10,000,000"), ((True, 0.1, 0), "0..10,000,000"),
    ((10, 1.5, 0), "prevalence"), ((10, float("nan"), 0), "prevalence"),
])
def test_bad_population_parameters_are_refused(args, message):
    with pytest.raises(ChatError, match=message):
        generate_chats(*args)


@pytest.mark.parametrize("changes", [{"typo": -0.1}, {"overlap": 2}, {"lookalike": True},
                                     {"min_lines": 0}, {"min_lines": 5, "max_lines": 4}])
def test_bad_styles_are_refused(changes):
    with pytest.raises(ChatError):
        ChatStyle(**changes)
