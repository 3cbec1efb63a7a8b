"""``escrowlab bench escrow``: the cost of threshold escrow (docs/benchmarks.md).

All figures for a t-of-n custodian set (default 3-of-5) and 1 KiB messages, from
``--rounds`` rounds; in each round every figure and the baseline it is divided by are
timed side by side (docs/benchmarks.md, "Rounds"):

* ``record_create_us`` / ``record_verify_us``: one record made by
  :meth:`ThresholdEscrow.record_for_chain` / checked by ``check_chain``;
* ``floor_record_us``: the bare primitive calls one record needs, with
  nothing else: one HKDF for the randomness, SLIP-39's digest HMAC and
  ``shamir_mnemonic``'s interpolation for the shares, one X25519 key from bytes and
  its public key, and per custodian one exchange, one HKDF and one AES-256-GCM
  encryption (the record's design, docs/formats.md, "Threshold records"). The floor,
  create and verify are timed in turn on chunks of ``CHUNK`` records;
  ``create_over_floor`` and ``verify_over_floor`` are each round's ratio. Targets: both
  within 1.2x of the floor;
* ``burst_ratio`` / ``pingpong_ratio``: messages/s of two real sessions with
  the threshold hook divided by the same with ``NoEscrow``, the two pairs taking turns
  of ``TURN`` messages (burst: one chain; ping-pong: a new chain, so a new record made
  and checked, every message). Targets: ``burst_ratio`` >= 0.95, ``pingpong_ratio`` >= 0.25;
* ``recovery_msgs_per_s``: messages read per second by the lawful-access workflow's
  recovery (:meth:`escrow.workflow.Attempt.recover`) from t custodians' submitted releases
  (shares combined, every chain key checked by recomputing its record, every message
  decrypted); scoping, the authorisation and the releases are not timed.

Times are the median over the rounds; each ratio is the median of the rounds' ratios, with
``<ratio>_rounds`` (every round's) and ``<ratio>_spread`` ((max - min) / median) beside it
(:func:`escrowlab.benchmarks.round_figures`).

The custodian set comes from the mode registry (:mod:`escrow.modes`): ``--custodians`` and
``--threshold`` are the ``threshold`` mode's parameters, with its defaults and ranges.

The same run adds the ``leaf16`` and ``crumple`` figures
(``leaf_oracle_queries_per_s``, ``leaf_forgery_mean_queries``,
``crumple_work_per_chain_k20``, ``crumple_seconds_per_chain_k20`` and their
companions) from :func:`escrowlab.benchmarks.escrow_modes.measure`; ``--full``
runs at least 50 forgeries. ``escrowlab bench escrow-modes`` runs those alone,
with more options.

Targets and peers (docs/benchmarks.md): the four above, plus escrow-modes' own
unless ``--threshold-only``; the floor's ``cryptography`` and ``shamir-mnemonic``
distributions, with their versions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from shamir_mnemonic.shamir import RawShare, _create_digest, _interpolate

from escrow.authorisation import SignedAuthorisation, TrustedIssuers
from escrow.custodian_set import CustodianSet
from escrow.errors import EscrowError
from escrow.modes import get_mode
from escrow.scope import ListArchive, Window
from escrow.threshold.deployment import CustodianDeployment
from escrow.workflow import LawfulAccess
from escrowlab.arguments import int_in_range
from escrowlab.benchmarks import (
    Peer,
    Progress,
    Target,
    document,
    escrow_modes,
    print_document,
    round_figures,
    show_verdicts,
    time_sessions,
)
from escrowlab.cli import CommandError
from messaging.clock import ManualClock
from messaging.hooks import PROTOCOL_VERSION, ChainContext, NoEscrow
from messaging.identity import IdentityKeyPair
from messaging.prekey_state import DevicePrekeys
from messaging.session import Session

MESSAGE_SIZE = 1024
THRESHOLD_MODE = get_mode("threshold")
CUSTODIANS = THRESHOLD_MODE.parameter("custodians")
THRESHOLD = THRESHOLD_MODE.parameter("threshold")
DEFAULT_CUSTODIANS = CUSTODIANS.default
DEFAULT_THRESHOLD = THRESHOLD.default
DEFAULT_RECORDS = 300
DEFAULT_MESSAGES = 1000
DEFAULT_ROUNDS = 5
CHUNK = 20
TURN = 100  # messages per session per turn (even: ping-pong stays in step)
RECOVERY_RATCHET_EVERY = 10
RECORD_TARGET = 1.2
BURST_TARGET = 0.95
PINGPONG_TARGET = 0.25
MAX_COUNT = 100_000
MAX_ROUNDS = 100
TARGETS = (
    Target("create_over_floor", "<=", RECORD_TARGET, "a record costs its primitive calls"),
    Target("verify_over_floor", "<=", RECORD_TARGET, "checking a record likewise"),
    Target("burst_ratio", ">=", BURST_TARGET, "escrow costs little on one chain"),
    Target("pingpong_ratio", ">=", PINGPONG_TARGET,
           "a record per chain costs what one ephemeral key and n exchanges cost"),
)
_KINDS = ("floor", "create", "verify", "burst_none", "burst_escrow", "pingpong_none",
          "pingpong_escrow", "recovery")
# (figure, numerator, denominator) of timings taken side by side in each round
_RATIOS = (("create_over_floor", "create", "floor"), ("verify_over_floor", "verify", "floor"),
           ("burst_ratio", "burst_none", "burst_escrow"),
           ("pingpong_ratio", "pingpong_none", "pingpong_escrow"))
PEERS = (
    Peer("cryptography", "floor: the X25519, HKDF and AES-GCM calls one record needs",
         "cryptography"),
    Peer("shamir-mnemonic", "floor: SLIP-39's digest and interpolation (reference code)",
         "shamir-mnemonic"),
)


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "escrow", help="threshold escrow: record cost vs the primitive floor, session ratios, "
                       "recovery speed",
        description="Time threshold escrow records against the bare primitive calls they need, "
                    "sessions with and without escrow (burst and ping-pong), and recovery.")
    for parameter, metavar in ((CUSTODIANS, "N"), (THRESHOLD, "T")):
        parser.add_argument(parameter.option, type=int_in_range(parameter.low, parameter.high),
                            default=parameter.default, metavar=metavar,
                            help=f"{parameter.help}, {parameter.allowed()} "
                                 f"(default {parameter.default})")
    parser.add_argument("--records", type=int_in_range(1, MAX_COUNT), default=DEFAULT_RECORDS,
                        metavar="K", help=f"records per timing, 1..{MAX_COUNT:,} "
                                          f"(default {DEFAULT_RECORDS})")
    parser.add_argument("--messages", type=int_in_range(1, MAX_COUNT), default=DEFAULT_MESSAGES,
                        metavar="M", help=f"messages per session timing and recovery, "
                                          f"1..{MAX_COUNT:,} (default {DEFAULT_MESSAGES})")
    parser.add_argument("--rounds", type=int_in_range(1, MAX_ROUNDS), default=DEFAULT_ROUNDS,
                        metavar="R", help=f"R interleaved rounds, medians reported, "
                                          f"1..{MAX_ROUNDS} (default {DEFAULT_ROUNDS})")
    parser.add_argument("--full", action="store_true",
                        help="the full leaf16/crumple run (64 forgeries, 16 chains at k=20)")
    parser.add_argument("--forgeries", type=escrow_modes.forgery_count, metavar="N",
                        help=f"leaf16 forgeries at 16 bits, 1..{escrow_modes.MAX_FORGERIES:,} "
                             "(default 8, or 64 with --full)")
    parser.add_argument("--chains", type=escrow_modes.chain_count, metavar="N",
                        help=f"crumple chains at k=20, 1..{escrow_modes.MAX_CHAINS:,} "
                             "(default 2, or 16 with --full)")
    parser.add_argument("--threshold-only", action="store_true",
                        help="skip the leaf16 and crumple figures")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)
    escrow_modes.register(bench_subparsers)


def default_args() -> argparse.Namespace:
    return argparse.Namespace(custodians=DEFAULT_CUSTODIANS, threshold=DEFAULT_THRESHOLD,
                              records=DEFAULT_RECORDS, messages=DEFAULT_MESSAGES,
                              rounds=DEFAULT_ROUNDS, full=False, forgeries=None,
                              chains=None, threshold_only=False, json=False, func=run)


def quick_args() -> argparse.Namespace:
    """Tiny parameters for ``bench all --quick`` (checks that it runs; figures mean little)."""
    return argparse.Namespace(custodians=3, threshold=2, records=3, messages=11, rounds=1,
                              full=False, forgeries=1, chains=1, threshold_only=False,
                              json=False, func=run)


def collect(args: argparse.Namespace, progress: Progress | None = None) -> dict:
    """The benchmark's JSON document (figures, targets, peers)."""
    try:
        deployment = THRESHOLD_MODE.deployment(custodians=args.custodians,
                                               threshold=args.threshold)
    except EscrowError as exc:
        raise CommandError(f"bench escrow: {exc}") from None
    progress = progress or Progress("escrow")
    results = measure(deployment, args.records, args.messages, args.rounds, progress)
    targets, peers = list(TARGETS), list(PEERS)
    if not args.threshold_only:
        results.update(escrow_modes.measure(args.full, forgeries=args.forgeries,
                                            chains=args.chains, progress=progress))
        targets += escrow_modes.targets(results)
        peers += [p for p in escrow_modes.PEERS if p.name not in {q.name for q in peers}]
    return document("escrow", results, targets, peers)


def run(args: argparse.Namespace) -> int:
    return print_document(collect(args), args.json, show)


def show(doc: dict) -> None:
    print(_human(doc))
    if "leaf_oracle_queries_per_s" in doc:
        escrow_modes.print_figures(doc)
    show_verdicts(doc)


def measure(deployment: CustodianDeployment, records: int, messages: int, rounds: int,
            progress: Callable[[str], None] | None = None) -> dict:
    """Every figure of the module docstring, from ``rounds`` interleaved rounds."""
    hook, cset = deployment.hook, deployment.custodian_set
    contexts = [_context(i) for i in range(records)]
    built = [hook.record_for_chain(c) for c in contexts]
    timings: dict[str, list[float]] = {kind: [] for kind in _KINDS}
    chunks = [range(i, min(i + CHUNK, records)) for i in range(0, records, CHUNK)]
    step = getattr(progress, "step", None)
    if step:
        step("threshold rounds", 0, rounds)
    for number in range(1, rounds + 1):
        # the floor and ours chunk by chunk (floor, create, verify, floor, ...), and each
        # session timed right after its baseline: a load spike hits both sides of a ratio
        spent = dict.fromkeys(("floor", "create", "verify"), 0.0)
        for chunk in chunks:
            batch = [contexts[i] for i in chunk]
            pairs = [(contexts[i], built[i]) for i in chunk]
            spent["floor"] += _time_floor(cset, batch)
            spent["create"] += _timed(lambda b=batch: [hook.record_for_chain(c) for c in b])
            spent["verify"] += _timed(lambda p=pairs: [hook.check_chain(c, r) for c, r in p])
        for kind, seconds in spent.items():
            timings[kind].append(seconds)
        for mode in ("burst", "pingpong"):
            spent_none, spent_escrow = _time_sessions_in_turns(hook, mode, messages)
            timings[f"{mode}_none"].append(spent_none)
            timings[f"{mode}_escrow"].append(spent_escrow)
        timings["recovery"].append(_time_recovery(deployment, messages))
        if step:
            step("threshold rounds", number, rounds)
    median = {kind: statistics.median(values) for kind, values in timings.items()}
    results = {
        "custodians": cset.n, "threshold": cset.threshold, "records": records,
        "messages": messages, "rounds": rounds, "message_size": MESSAGE_SIZE,
        "record_bytes": len(built[0]),
        "record_create_us": median["create"] / records * 1e6,
        "record_verify_us": median["verify"] / records * 1e6,
        "floor_record_us": median["floor"] / records * 1e6,
        "recovery_msgs_per_s": messages / median["recovery"],
    }
    for name, numerator, denominator in _RATIOS:
        results.update(round_figures(name, [
            a / b for a, b in zip(timings[numerator], timings[denominator], strict=True)]))
    return results


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _context(i: int) -> ChainContext:
    return ChainContext(PROTOCOL_VERSION, "threshold", "bench", "alice:1", "bob:1", i,
                        os.urandom(32), os.urandom(32), 1_700_000_000 + i)


def _time_floor(cset: CustodianSet, contexts: list[ChainContext]) -> float:
    """The primitive calls of one record each, for every context (module docstring)."""
    recipients = [X25519PublicKey.from_public_bytes(m.share_key) for m in cset.members]
    t, n = cset.threshold, cset.n
    randomness = 2 + 32 + 32 * (t - 2) + 28
    start = time.perf_counter()
    for context in contexts:
        stream = HKDF(hashes.SHA256(), randomness, b"salt", b"info").derive(context.chain_key)
        random_part = stream[-28:]
        points = [RawShare(i, stream[34 + 32 * i:34 + 32 * (i + 1)]) for i in range(t - 2)]
        points += [RawShare(254, _create_digest(random_part, context.chain_key) + random_part),
                   RawShare(255, context.chain_key)]
        values = [p.data for p in points[:t - 2]] + [_interpolate(points, x)
                                                    for x in range(t - 2, n)]
        ephemeral = X25519PrivateKey.from_private_bytes(stream[2:34])
        ephemeral.public_key().public_bytes_raw()
        for i, recipient in enumerate(recipients):
            okm = HKDF(hashes.SHA256(), 44, None, b"info").derive(ephemeral.exchange(recipient))
            AESGCM(okm[:32]).encrypt(okm[32:], values[i], b"associated data")
    return time.perf_counter() - start


def _pair(hook, clock):
    alice_identity, bob_identity = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob_identity, hook.mode, one_time=1, kem_one_time=1)
    upload = prekeys.upload()
    bundle = upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0])
    alice = Session.initiate(alice_identity, "alice:1", bundle, "bob:1", "bench", hook, clock)
    first = alice.encrypt(b"hello")
    bob, _ = Session.respond(bob_identity, prekeys, "bob:1", first, hook, clock)
    alice.decrypt(bob.encrypt(b"hello"))
    return alice, bob, first, {"alice:1": alice_identity.public, "bob:1": bob_identity.public}


def _time_sessions_in_turns(hook, mode: str, messages: int) -> tuple[float, float]:
    """(seconds without escrow, seconds with ``hook``) for ``messages`` each: one pair of
    each, taking turns of ``TURN`` messages (none, escrow, none, ...)."""
    plain, escrowed = _pair(NoEscrow(), ManualClock()), _pair(hook, ManualClock())
    spent = [0.0, 0.0]
    for done in range(0, messages, TURN):
        count = min(TURN, messages - done)
        for i, (alice, bob, _, _) in enumerate((plain, escrowed)):
            spent[i] += time_sessions(alice, bob, mode, count, MESSAGE_SIZE, _check)
    return spent[0], spent[1]


def _check(received: bytes, sent: bytes) -> None:
    if received != sent:
        raise CommandError("bench escrow: a decrypted message differs from what was sent")


class _Entry:
    __slots__ = ("envelope", "received_at")

    def __init__(self, envelope: bytes, received_at: float) -> None:
        self.envelope = envelope
        self.received_at = received_at


def _time_recovery(deployment: CustodianDeployment, messages: int) -> float:
    """Recover ``messages`` archived messages (a new chain every few) through the workflow;
    scope, authorisation and releases untimed."""
    clock = ManualClock()
    alice, bob, first, identities = _pair(deployment.hook, clock)
    archive = [_Entry(first, clock.now())]
    for i in range(messages - 1):
        clock.advance(1)
        sender, receiver = (alice, bob) if (i // RECOVERY_RATCHET_EVERY) % 2 else (bob, alice)
        envelope = sender.encrypt(os.urandom(MESSAGE_SIZE))
        receiver.decrypt(envelope)
        archive.append(_Entry(envelope, clock.now()))
    end = clock.now() + 1
    window = Window("bench", 0, end)
    access = LawfulAccess(deployment, ListArchive(archive, identities))
    scoped = access.scope(window)
    judge, recovery_key = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    authorisation = SignedAuthorisation.issue(
        "judge", judge, "bench", tuple(s.ref for s in scoped),
        recovery_key.public_key().public_bytes_raw(), end + 86_400)
    verifier = TrustedIssuers({"judge": judge.public_key().public_bytes_raw()})
    attempt = access.open(window, authorisation, recovery_key)
    for party in range(deployment.threshold):
        attempt.submit(attempt.nonce, deployment.release(party, authorisation, verifier,
                                                         scoped, clock))
    start = time.perf_counter()
    report = attempt.recover()
    elapsed = time.perf_counter() - start
    if report.messages_recovered != messages:
        raise CommandError("bench escrow: recovery read fewer messages than archived")
    return elapsed


def _human(r: dict) -> str:
    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    def spread(name: str) -> str:
        return f"spread {r[name + '_spread']:.0%}"

    return "\n".join([
        f"threshold escrow, {r['threshold']}-of-{r['custodians']} custodians, "
        f"{r['record_bytes']}-byte records, median of {r['rounds']} interleaved rounds",
        f"  record create   {r['record_create_us']:8.1f} us  "
        f"({r['create_over_floor']:.2f}x floor, target <= {RECORD_TARGET}x, "
        f"{spread('create_over_floor')}) {verdict(r['create_over_floor'] <= RECORD_TARGET)}",
        f"  record verify   {r['record_verify_us']:8.1f} us  "
        f"({r['verify_over_floor']:.2f}x floor, target <= {RECORD_TARGET}x, "
        f"{spread('verify_over_floor')}) {verdict(r['verify_over_floor'] <= RECORD_TARGET)}",
        f"  primitive floor {r['floor_record_us']:8.1f} us",
        f"  burst ratio     {r['burst_ratio']:8.2f}     (messages/s with escrow / without, "
        f"target >= {BURST_TARGET}, {spread('burst_ratio')}) "
        f"{verdict(r['burst_ratio'] >= BURST_TARGET)}",
        f"  ping-pong ratio {r['pingpong_ratio']:8.2f}     (a record made and checked per "
        f"message, target >= {PINGPONG_TARGET}, {spread('pingpong_ratio')}) "
        f"{verdict(r['pingpong_ratio'] >= PINGPONG_TARGET)}",
        f"  recovery        {r['recovery_msgs_per_s']:8,.0f} messages/s "
        f"({r['messages']} messages, {r['messages'] // RECOVERY_RATCHET_EVERY + 1} chains)",
    ])
