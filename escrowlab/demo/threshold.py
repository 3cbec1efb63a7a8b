"""``escrowlab demo --escrow threshold``: t-of-n custodian escrow, then a lawful recovery
(docs/architecture.md, "Data flow" 2-6).

The conversation of :mod:`escrowlab.demo` runs with every device's hook set to
:class:`escrow.threshold.hook.ThresholdEscrow` for a freshly generated custodian
set (the registry's deployment, :mod:`escrow.modes`). Then, through the lawful-access
workflow (:mod:`escrow.workflow`), an authorisation for a window of the 1:1 chat (judged by
the relay's receipt times) is issued and its attempt opened, t-1 custodians' releases are
shown to be not enough, the t-th completes the attempt, and its recovery reads the window's
messages and reports how many more the recovered chain keys could open.
"""

from __future__ import annotations

import argparse

from escrow.scope import Window
from escrow.threshold.deployment import CustodianDeployment
from escrowlab.demo import Narrator, demo_chats
from escrowlab.demo.warrant import JUDGE, deploy, issue, release
from messaging.content import decode_content
from messaging.errors import WireFormatError

# The figures every escrow demo reports at the top level of its JSON, to compare modes.
COMPARABLE_FIGURES = ("messages_in_scope", "messages_recovered", "out_of_scope_recoverable")


def comparable(recovery: dict) -> dict:
    """The :data:`COMPARABLE_FIGURES` of a mode's recovery summary."""
    return {key: recovery[key] for key in COMPARABLE_FIGURES}


def make_custodians(mode: str, args: argparse.Namespace, narrator: Narrator
                    ) -> CustodianDeployment:
    """The key ceremony of ``mode``'s deployment, in memory (``escrowlab escrow ceremony``
    writes one to disk)."""
    deployment = deploy(mode, args)
    cset = deployment.custodian_set
    n, t = cset.n, cset.threshold
    narrator.section("Key ceremony")
    narrator.say(f"{n} custodians K1..K{n} each generate an X25519 key (receives shares) and an "
                 f"Ed25519 key (signs releases). Any {t} of them can reopen a chain.")
    narrator.detail(f"custodian set {cset.describe()}; every device pins this fingerprint")
    return deployment


def _window(entries: list, conversation_id: str) -> tuple[float, float]:
    """The middle third of the conversation, by the relay's receipt times (all of it when
    the chat is shorter than three messages)."""
    times = sorted({e.received_at for e in entries if e.conversation_id == conversation_id})
    if len(times) < 3:
        return times[0], times[-1] + 1
    return times[len(times) // 3], times[2 * len(times) // 3]


def _text(plaintext: bytes) -> str:
    try:
        return decode_content(plaintext)["body"]
    except WireFormatError:
        return plaintext.decode("utf-8", "replace")


def lawful_recovery(world, narrator: Narrator, deployment: CustodianDeployment,
                    conversation_id: str) -> dict:
    """Warrant, releases and recovery of a window of ``conversation_id``; the JSON summary."""
    cset = deployment.custodian_set
    archive = world.relay.archive
    start, end = _window(archive.entries(), conversation_id)
    warrant = issue(deployment, archive, Window(conversation_id, start, end), "demo-warrant-1",
                    world.clock)
    scoped, authorisation, attempt = warrant.scoped, warrant.authorisation, warrant.attempt
    narrator.section("Lawful access")
    narrator.say(f"{JUDGE} signs an authorisation for {conversation_id}, messages the relay "
                 f"received in [{start:.0f}, {end:.0f}) (receipt times, not the senders' "
                 f"claims): {len(scoped)} escrow records (one per sending chain), a one-time "
                 "recovery key, expiry in 10 days.")

    names = []
    for index, custodian in enumerate(deployment.custodians[:cset.threshold]):
        if index == cset.threshold - 1:
            below = attempt.recover()
            if below.chains_recovered:
                below_threshold = "recovered"
            else:
                below_threshold = below.chains[0].reason if below.chains \
                    else "nothing in scope"
                narrator.say(f"With only {len(names)} custodians' releases no chain is "
                             f"recovered: {below_threshold}")
        progress = release(warrant, [index], world.clock)
        names.append(custodian.custodian_id)
        narrator.say(f"{custodian.custodian_id} checks the judge's signature and that each "
                     f"record is named, opens its share of {len(scoped)} records, re-encrypts "
                     f"each to the recovery key, signs the release and submits it to attempt "
                     f"{attempt.nonce[:8]}: {progress} custodians.")
    refused = [c.custodian_id for c in deployment.custodians[cset.threshold:]]
    if refused:
        narrator.say(f"{', '.join(refused)} do not take part (offline or declining): "
                     f"{cset.threshold} are enough.")

    report = attempt.recover()
    narrator.say(f"With {len(names)} custodians' releases the recovery combines the SLIP-39 "
                 f"shares, checks each chain key by recomputing its record, and decrypts "
                 f"{report.messages_recovered} of {report.messages_in_scope} envelopes in "
                 "the window:")
    for message in report.messages:
        narrator.detail(f"{message.received_at:.0f} {message.sender} -> {message.recipient}: "
                        f"{_text(message.plaintext)!r}")
    counts = ", ".join(f"{n} {outcome.replace('_', ' ')}"
                       for outcome, n in report.outcome_counts().items() if n)
    narrator.say(f"Chains in the window: {counts}.")
    narrator.say(f"Over-collection: the recovered chain keys also open "
                 f"{report.out_of_scope_recoverable} envelopes outside the window, of the "
                 f"{report.over_collection_basis['archived_envelopes']} the relay archived "
                 "for this conversation (a chain key unlocks its whole chain, not one "
                 "message).")
    narrator.say("Nothing in the protocol told Alice or Bob: t custodians acting together "
                 "could do the same without any warrant (scenario S02).")
    return {
        "window": [start, end],
        "records_in_scope": len(scoped),
        "messages_in_scope": report.messages_in_scope,
        "messages_recovered": report.messages_recovered,
        "out_of_scope_recoverable": report.out_of_scope_recoverable,
        "out_of_scope_computed_against": report.over_collection_basis,
        "chain_outcomes": report.outcome_counts(),
        "chains": [c.to_json() for c in report.chains],
        "authorisation_sha256": authorisation.digest.hex(),
        "custodians_released": names,
        "custodians_not_released": refused,
        "culprits": list(report.culprits),
        "below_threshold": below_threshold,
        "texts_recovered": sorted({_text(m.plaintext) for m in report.messages}),
    }


def run(args: argparse.Namespace, narrator: Narrator) -> dict:
    narrator.say(f"escrowlab demo, escrow mode 'threshold' ({args.threshold}-of-"
                 f"{args.custodians} custodians)")
    deployment = make_custodians("threshold", args, narrator)
    cset = deployment.custodian_set
    with demo_chats(args, narrator, hook_for=deployment.hook_for) as chats:
        recovery = lawful_recovery(chats.world, narrator, deployment,
                                   chats.direct["conversation_id"])
        return {**chats.summary("threshold"), "custodians": cset.n,
                "threshold": cset.threshold, "set_fingerprint": cset.fingerprint.hex(),
                **recovery}
