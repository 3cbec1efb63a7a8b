"""``escrowlab demo --escrow threshold``: t-of-n custodian escrow, then a lawful recovery
through the warrant path (docs/architecture.md, "Data flow" 2-6; docs/warrants.md).

The conversation of :mod:`escrowlab.demo` runs with every device's hook set to
:class:`escrow.threshold.hook.ThresholdEscrow` for a freshly generated custodian
set (the registry's deployment, :mod:`escrow.modes`). Then an officer files a warrant for a
window of the 1:1 chat (judged by the relay's receipt times), a judge signs it, and each
custodian's own node checks it and the witnessed audit log before it releases
(:mod:`escrowlab.demo.warrant_office`): t-1 releases are shown to be not enough, the t-th
completes the workflow attempt, whose recovery reads the window's messages and reports how
many more the recovered chain keys could open; the log is verified offline at the end.
"""

from __future__ import annotations

import argparse

from escrow.threshold.deployment import CustodianDeployment
from escrowlab.cli import CommandError
from escrowlab.demo import Narrator, demo_chats
from escrowlab.demo.warrant import deploy
from escrowlab.demo.warrant_office import WarrantOffice
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
    """A warrant for a window of ``conversation_id`` through the warrant path (filed, signed,
    logged, checked by every custodian's node, released, recovered, the log verified:
    :mod:`escrowlab.demo.warrant_office`); the JSON summary."""
    archive = world.relay.archive
    start, end = _window(archive.entries(), conversation_id)
    narrator.section("Lawful access")
    with WarrantOffice(deployment, archive, world.clock) as office:
        warrant = office.warrant(conversation_id, start, end)
        done = office.recover(warrant, narrator)
    if not done.runs:
        raise CommandError("the warrant's window holds no escrow record")
    run = done.runs[0]
    report = run.report
    released = [node for node, decision in run.decisions.items() if decision == "released"]
    refused = [c.custodian_id for c in deployment.custodians if c.custodian_id not in released]
    if refused:
        narrator.say(f"{', '.join(refused)} are not asked (offline or declining): "
                     f"{deployment.threshold} are enough.")
    narrator.say(f"With {len(released)} custodians' releases the recovery combines the SLIP-39 "
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
                 "could do the same without any warrant or log entry (scenario S02).")
    WarrantOffice.narrate_log(done, narrator)
    return {
        "window": [warrant.window_start, warrant.window_end],
        "records_in_scope": len(run.attempt.authorisation.records),
        "messages_in_scope": report.messages_in_scope,
        "messages_recovered": report.messages_recovered,
        "out_of_scope_recoverable": report.out_of_scope_recoverable,
        "out_of_scope_computed_against": report.over_collection_basis,
        "chain_outcomes": report.outcome_counts(),
        "chains": [c.to_json() for c in report.chains],
        "warrant": warrant.to_json(),
        "warrant_sha256": warrant.sha256.hex(),
        "authorisation_sha256": run.attempt.authorisation.digest.hex(),
        "warrant_states": [{"state": state, "log_index": receipt.index}
                           for state, receipt in done.case.receipts],
        "custodian_decisions": dict(run.decisions),
        "custodians_released": released,
        "custodians_not_released": refused,
        "culprits": list(report.culprits),
        "below_threshold": done.below_threshold,
        "texts_recovered": sorted({_text(m.plaintext) for m in report.messages}),
        "log_entries": done.log_entries,
        "log_verification": done.verification,
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
