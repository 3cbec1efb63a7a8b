"""Synthetic chats for the text detector (docs/css_text.md, "The synthetic chats").

The EU's proposed regulation would also have providers detect "solicitation" in text. The
lab holds no real conversations and no abuse text of any kind: every chat here is made
from short, scripted, non-graphic lines, and the *target* chats are marked only by
stand-in patterns described abstractly in three families (:data:`PATTERNS`): asking to keep
the chat secret, asking to move to another app, asking to meet alone. Nothing in them is
sexual or violent; they stand for "the kind of message a detector is told to look for".

:func:`generate_chats` draws a seeded population of ``count`` chats of which exactly
``round(count * prevalence)`` are targets, at seeded positions. The parameters
(:class:`ChatStyle`) set what makes detection hard, and so what the measurement can say:

- ``overlap``: the share of benign chats with one line that uses the patterns' words
  innocently (a surprise party kept secret, a group call moved to another app, meeting at
  the library);
- ``lookalike``: the share of benign chats that contain target-pattern lines verbatim (two
  siblings planning a surprise, a coach arranging a lift): the text is the same as a
  target's and only context a scanner does not have tells them apart;
- ``typo``: the chance that a word of five letters or more carries one typing error (a
  swap, a dropped or a doubled letter), in benign and target lines alike.

Each :class:`Chat` holds its lines and whether it is a target, which the detector never
sees; the scenario uses it to count true and false reports.
"""

from __future__ import annotations

import functools
import random
import string
from dataclasses import dataclass

from escrow.css.errors import CssError

NAMES = ("sam", "alex", "jo", "kim", "lee", "max", "ria", "tom", "zoe", "ben")
SUBJECTS = ("maths", "history", "science", "french", "geography", "art", "music")
THINGS = ("football", "chess", "minecraft", "the quiz", "swimming", "the band", "drama")
PLACES = ("the library", "the park", "school", "the bus stop", "the pool", "the cinema")
TIMES = ("six", "seven", "half four", "noon", "after school", "saturday morning")
ADJECTIVES = ("brilliant", "boring", "amazing", "awful", "strange", "excellent", "rubbish")
FOODS = ("pizza", "pasta", "curry", "sandwiches", "pancakes", "chips")

BENIGN_TEMPLATES = (
    "hi {name} how are you",
    "did you finish the {subject} homework",
    "the {subject} test was {adjective}",
    "are you coming to {thing} practice",
    "mum says dinner is {food} tonight",
    "see you at {place} at {time}",
    "that film was {adjective} honestly",
    "can you send me the {subject} notes",
    "i lost my charger again",
    "lol that is so {adjective}",
    "{name} said {thing} is cancelled",
    "what time does {place} open",
    "i am so tired today",
    "happy birthday {name}",
    "we won at {thing} today",
    "my brother ate all the {food}",
    "is the {subject} project due friday",
    "ok see you tomorrow",
    "that teacher is {adjective}",
    "want to get {food} after {thing}",
)

OVERLAP_TEMPLATES = (
    "keep the surprise party for {name} a secret",
    "lets move the group call to another app this one keeps lagging",
    "meet at {place} after {thing}",
    "dont tell {name} about the present yet",
    "the {subject} teacher says the answers stay secret until friday",
    "can we switch apps for the class project the files are too big",
)

PATTERNS: dict[str, tuple[str, ...]] = {
    "secrecy": (
        "keep our chats secret",
        "this stays between us ok",
        "delete this chat after you read it",
        "dont tell anyone we talk",
    ),
    "channel": (
        "add me on another app instead",
        "lets switch to a private app",
        "message me on the other app not here",
    ),
    "meeting": (
        "meet me alone at {place}",
        "come by yourself dont bring anyone",
        "we should meet alone some time",
    ),
}
"""The stand-in target patterns, by family (module docstring)."""


class ChatError(CssError):
    """Generator parameters out of range."""


@dataclass(frozen=True)
class ChatStyle:
    """What makes the chats hard to classify (module docstring); the lab's defaults."""

    overlap: float = 0.03
    lookalike: float = 0.002
    typo: float = 0.03
    min_lines: int = 4
    max_lines: int = 12

    def __post_init__(self) -> None:
        for name in ("overlap", "lookalike", "typo"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or \
                    not 0.0 <= value <= 1.0:
                raise ChatError(f"chat style {name} is a probability in [0, 1]")
        if not 1 <= self.min_lines <= self.max_lines <= 100:
            raise ChatError("chat lines are 1 <= min_lines <= max_lines <= 100")


@dataclass(frozen=True)
class Chat:
    """One synthetic chat: its id, its lines, and whether it is a target (ground truth)."""

    chat_id: str
    lines: tuple[str, ...]
    target: bool


SLOTS = {"name": NAMES, "subject": SUBJECTS, "thing": THINGS, "place": PLACES,
         "time": TIMES, "adjective": ADJECTIVES, "food": FOODS}


@functools.cache
def _slots(template: str) -> tuple[str, ...]:
    return tuple(field for _, field, _, _ in string.Formatter().parse(template) if field)


def _fill(template: str, rng: random.Random) -> str:
    return template.format(**{slot: rng.choice(SLOTS[slot]) for slot in _slots(template)})


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def _typos(line: str, rate: float, rng: random.Random) -> str:
    return " ".join(_typo(w, rng) if len(w) >= 5 and rng.random() < rate else w
                    for w in line.split())


def _pattern_lines(rng: random.Random) -> list[str]:
    """One, two or three stand-in pattern lines, each of another family."""
    families = rng.sample(sorted(PATTERNS), rng.choice((1, 2, 2, 3)))
    return [_fill(rng.choice(PATTERNS[f]), rng) for f in families]


def make_chat(chat_id: str, target: bool, style: ChatStyle, rng: random.Random) -> Chat:
    """One chat: benign lines, plus pattern lines for a target or a lookalike, or an
    innocent overlapping line (module docstring), shuffled in, then typing errors."""
    count = rng.randint(style.min_lines, style.max_lines)
    lines = [_fill(rng.choice(BENIGN_TEMPLATES), rng) for _ in range(count)]
    extra: list[str] = []
    if target or rng.random() < style.lookalike:
        extra = _pattern_lines(rng)
    elif rng.random() < style.overlap:
        extra = [_fill(t, rng) for t in rng.sample(OVERLAP_TEMPLATES, rng.choice((1, 1, 2)))]
    for line in extra:
        lines.insert(rng.randint(0, len(lines)), line)
    return Chat(chat_id, tuple(_typos(line, style.typo, rng) for line in lines), target)


def generate_chats(count: int, prevalence: float, seed: int,
                   style: ChatStyle | None = None) -> list[Chat]:
    """``count`` chats, exactly ``round(count * prevalence)`` of them targets at seeded
    positions; the same arguments always give the same chats."""
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10_000_000:
        raise ChatError("a chat population holds 0..10,000,000 chats")
    if isinstance(prevalence, bool) or not isinstance(prevalence, int | float) or \
            not 0.0 <= prevalence <= 1.0:
        raise ChatError("prevalence is a probability in [0, 1]")
    style = style or ChatStyle()
    rng = random.Random(f"escrowlab-chats:{seed}")
    targets = set(rng.sample(range(count), round(count * prevalence)))
    return [make_chat(f"chat-{seed}-{i}", i in targets, style, rng) for i in range(count)]
