"""S17 endpoint-collusion (docs/scenarios.md): escrow binds only users who cooperate.

Alice and Bob (C1) want to talk without the escrow being of use to anyone. Four ways, each
run through the real clients, relay and lawful-access workflow (a judge-signed warrant for
their conversation, t parties' releases, the mode's recovery):

- *skip-escrow*: both run a modified client (:class:`SkipEscrow`) that claims the
  deployment's mode, sends chains without a record and accepts any. Between the two of them
  every message is delivered, and the warrant recovers nothing (every chain "not
  escrowed"). The same modified Alice writing to Carol, whose client follows the policy, is
  refused message by message: the recipient detects it.
- *pre-encrypt*: honest clients, but the text is ChaCha20-Poly1305 ciphertext under the
  pair's own key, pasted as base64 (:mod:`escrowlab.scenarios._covert`).
- *stego-words* and *stego-mimic*: that ciphertext hidden in innocuous text, a word of a
  16-word list per 4 bits, or small-talk sentences whose word choices carry the bits.

``cooperating`` is the control: the same secrets in clear. For each the scenario counts the
recovered messages, the *useful* ones (a secret readable in what was recovered) and what
the colluding recipient read; and runs the heuristic detector
(:func:`escrowlab.scenarios._covert.detect`) over the recovered texts (detection rate) and
over a benign corpus generated from the seed (false-positive rate).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from escrow.modes import Deployment, get_mode
from escrow.scope import NOT_ESCROWED, Window, scan_window
from escrowlab.scenarios import _covert
from escrowlab.scenarios._traffic import World, build_world, read_conversation, run_days
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario
from messaging.content import decode_content
from messaging.events import ReceiveFailed
from messaging.hooks import ChainContext

ID = "S17"
MODES = ("threshold", "leaf16", "crumple")
COLLUDERS = ("alice", "bob")
VARIANTS = ("cooperating", "pre-encrypt", "stego-words", "stego-mimic")
ONE_WAY = 10**9  # a ratchet interval no conversation reaches: one sender only


@dataclass(frozen=True)
class Sizes:
    days: float  # per phase
    per_day: int
    ratchet_every: int
    benign: int
    puzzle_bits: int


def sizes(params: Params) -> Sizes:
    if params.full:
        return Sizes(3, 20, 3, 20_000, 12)
    return Sizes(1, 6, 2, 600, 6)


class SkipEscrow:
    """A modified client: it claims the deployment's ``mode`` (so its bundles and headers
    look right) but escrows nothing and accepts any record."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def record_for_chain(self, context: ChainContext) -> bytes:
        return b""

    def check_chain(self, context: ChainContext, record: bytes) -> None:
        return None


def secret(i: int) -> str:
    return f"covert {i}: the drop is at pier {i % 9 + 1}, bring the {('red', 'blue')[i % 2]} case"


def _deployment(mode: str, size: Sizes) -> Deployment:
    given = {"puzzle_bits": size.puzzle_bits} if mode == "crumple" else {}
    return get_mode(mode).deployment(**given)


def lawful_read(deployment: Deployment, world: World, window: Window) -> list[str]:
    """A judge's warrant for ``window``, the parties' releases, the recovery: the bodies."""
    clock = world.clock

    def releaser(authorisation, verifier, scoped):
        return [r for party in range(deployment.threshold)
                for r in deployment.release(party, authorisation, verifier, scoped, clock)]

    report = read_conversation(deployment, world.archive, window, releaser, holder="judge-1")
    if report is None:
        return []
    return [decode_content(m.plaintext)["body"] for m in report.messages]


def not_escrowed(deployment: Deployment, world: World, window: Window) -> dict[str, int]:
    scan = scan_window(world.archive, window.conversation_id, window.start, window.end,
                       deployment.screen)
    return {"chains": len(scan.chains),
            "not_escrowed": sum(c.outcome == NOT_ESCROWED for c in scan.chains)}


def _useful(bodies: list[str], sent: int) -> int:
    return sum(any(secret(i) in body for i in range(sent)) for body in bodies)


def _phase(world: World, size: Sizes, text) -> Window:
    """Run C1 for one phase with ``text``; the window it filled."""
    start = world.clock.now()
    run_days(world, 1, round(size.per_day * size.days), size.ratchet_every, ("C1",),
             text=text)
    return Window(world.conversation("C1"), start, world.clock.now())


def honest_clients(mode: str, size: Sizes, corpus: list[str]) -> dict[str, dict]:
    """One world of honest clients; C1 runs one phase per variant."""
    deployment = _deployment(mode, size)
    world = build_world(deployment.hook_for)
    key = _covert.PrivateKey.generate()
    results = {}
    for variant in VARIANTS:
        carrier = _covert.CARRIERS.get(variant)
        offset = world.sent.get("C1", 0)

        def text(name, sender, i, carrier=carrier, offset=offset):
            plain = secret(i - offset)
            return plain if carrier is None else carrier[0](key.seal(plain))

        before = {user: len(world.inbox.get(user, [])) for user in COLLUDERS}
        window = _phase(world, size, text)
        sent = world.sent["C1"] - offset
        delivered = [m.body for user in COLLUDERS
                     for m in world.inbox.get(user, [])[before[user]:]]
        read_by_pair = sum(_read(carrier, key, body) in {secret(i) for i in range(sent)}
                           for body in delivered)
        bodies = lawful_read(deployment, world, window)
        flagged = [b for b in bodies if _covert.detect(b)]
        results[variant] = {
            "sent": sent,
            "read_by_recipient": read_by_pair,
            "recovered": len(bodies),
            "useful": _useful(bodies, sent),
            "detected": len(flagged),
            "detection_rate": len(flagged) / len(bodies) if bodies else 0.0,
            "detector_reasons": sorted({r for b in flagged for r in _covert.detect(b)}),
            "mean_chars": sum(map(len, bodies)) / len(bodies) if bodies else 0,
        }
    results["_benign"] = _false_positives(corpus)
    return results


def _read(carrier, key: _covert.PrivateKey, body: str) -> str | None:
    """What the colluding recipient reads of ``body`` (decode, then open)."""
    if carrier is None:
        return body
    try:
        return key.open(carrier[1](body))
    except _covert.CovertError:
        return None


def _false_positives(corpus: list[str]) -> dict:
    flagged = [line for line in corpus if _covert.detect(line)]
    return {"messages": len(corpus), "flagged": len(flagged),
            "false_positive_rate": len(flagged) / len(corpus),
            "examples": flagged[:3]}


def modified_clients(mode: str, size: Sizes) -> dict:
    """Alice and Bob run :class:`SkipEscrow`; C1 between them, then Alice writes to Carol."""
    deployment = _deployment(mode, size)
    world = build_world(lambda address: SkipEscrow(deployment.mode)
                        if address.split(":")[0] in COLLUDERS else deployment.hook_for(address))
    window = _phase(world, size, lambda name, sender, i: secret(i))
    sent = world.sent["C1"]
    delivered = [m.body for user in COLLUDERS for m in world.inbox.get(user, [])]
    bodies = lawful_read(deployment, world, window)
    carol = world.devices["carol"]
    carol.drain_events()
    run_days(world, 1, round(size.per_day * size.days), ONE_WAY, ("C2",),
             text=lambda name, sender, i: secret(i))
    refused = [e for e in carol.drain_events() if isinstance(e, ReceiveFailed)]
    return {
        "sent": sent,
        "read_by_recipient": sum(body in {secret(i) for i in range(sent)} for body in delivered),
        "recovered": len(bodies),
        "useful": _useful(bodies, sent),
        "scan": not_escrowed(deployment, world, window),
        "honest_recipient": {"sent": world.sent["C2"],
                             "delivered": len(world.inbox.get("carol", [])),
                             "refused": len(refused),
                             "reason": refused[0].reason if refused else None},
    }


@scenario(ID, "endpoint-collusion", "both ends skip escrow, pre-encrypt under a private key, "
          "or hide that ciphertext in innocuous text", MODES)
def run(params: Params, mode: str) -> list[Outcome]:
    size = sizes(params)
    corpus = _covert.benign_corpus(random.Random(params.seed), size.benign)
    honest = honest_clients(mode, size, corpus)
    benign = honest.pop("_benign")
    skip = modified_clients(mode, size)
    common = {"per_phase_messages": round(size.per_day * size.days),
              "ratchet_every": size.ratchet_every, "seed": params.seed,
              "benign_corpus": benign, "phase_days": size.days}
    if mode == "crumple":
        common["puzzle_bits"] = size.puzzle_bits
    outcomes = []
    control = honest["cooperating"]
    outcomes.append(Outcome(
        ID, mode, "cooperating", "the control: every message recovered and readable",
        control["useful"] == control["recovered"] == control["sent"] > 0,
        {"recovery_success": control["useful"] == control["sent"], "exposed_total":
         control["useful"], "detectable": "none"}, {**common, **control}))
    for variant in VARIANTS[1:]:
        got = honest[variant]
        holds = (got["recovered"] == got["sent"] == got["read_by_recipient"] > 0
                 and got["useful"] == 0)
        outcomes.append(Outcome(
            ID, mode, variant, "every message recovered, none useful; the colluding recipient "
            "reads them all", holds,
            {"recovery_success": got["recovered"] == got["sent"],
             "exposed_total": got["useful"], "detectable": "none"},
            {**common, **got, "false_positive_rate": benign["false_positive_rate"]}))
    honest_recipient = skip["honest_recipient"]
    outcomes.append(Outcome(
        ID, mode, "skip-escrow", "between two modified clients every message is delivered "
        "and the warrant recovers none (every chain not escrowed)",
        skip["read_by_recipient"] == skip["sent"] > 0 and skip["recovered"] == 0
        and skip["scan"]["not_escrowed"] == skip["scan"]["chains"] > 0,
        {"recovery_success": False, "exposed_total": skip["useful"], "detectable": "none"},
        {**common, **{k: v for k, v in skip.items() if k != "honest_recipient"}}))
    outcomes.append(Outcome(
        ID, mode, "skip-escrow-to-honest", "a recipient whose client follows the policy "
        "refuses every chain without its record: nothing is delivered",
        honest_recipient["delivered"] == 0
        and honest_recipient["refused"] == honest_recipient["sent"] > 0,
        {"exposed_total": 0, "state_unchanged": honest_recipient["delivered"] == 0,
         "detectable": "recipient"}, {**common, **honest_recipient}))
    return outcomes
