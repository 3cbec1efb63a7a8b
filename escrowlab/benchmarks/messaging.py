"""``escrowlab bench messaging``: Double Ratchet throughput of ours, two peers and a floor.

docs/benchmarks.md. Every figure is 1 KiB messages, each encrypted by one
side and decrypted by the other, per second of wall time:

* ``burst``: one sender, all messages on one sending chain;
* ``pingpong``: the sides alternate, so every message starts a DH ratchet step.

Four implementations are timed in the same run:

* ``ours``: :class:`messaging.session.Session` (``encrypt`` to envelope bytes,
  ``decrypt`` of those bytes, with the default ``NoEscrow`` hook);
* ``peer``: the PyPI packages ``doubleratchet`` + ``x3dh`` in their closest
  configuration (X25519, SHA-256 everywhere, AES-256: the package's recommended
  AES-256-CBC + HMAC-SHA-256 AEAD, HKDF root chain, HMAC message chain). The
  peer's messages stay Python objects (no wire encoding), which only flatters it;
* ``vodozemac``: Matrix's Olm (a Double Ratchet: Curve25519, HMAC-SHA-256 chains,
  AES-256-CBC + HMAC-SHA-256) in Rust through its Python bindings, the peer a user
  who wants speed would pick; each message goes to bytes (``to_parts``) and back;
* ``floor``: the bare primitive calls one message of ours needs, with nothing
  else (listed above :func:`_floor_runner`).

The handshakes are done once, untimed, before each measurement.

Rounds (docs/benchmarks.md, "Rounds"). Each of ``--rounds`` rounds sets up, per mode,
one pair of each implementation and then takes turns of ``TURN`` messages: ours, peer,
vodozemac, floor, ours, ... until each has carried ``--messages``, so that the figures
of one round's ratios share the same moments of the machine's load.
``<impl>_<mode>_msgs_per_s`` is the median over the rounds (every round's in
``..._rounds``); each ratio ``ours_over_<other>_<mode>`` is the
median of the rounds' ratios, with ``..._rounds`` and ``..._spread`` ((max - min) /
median) beside it.

Targets (in the JSON's ``targets``, docs/benchmarks.md): burst: ours/peer >= 4,
ours/vodozemac >= 0.9, ours/floor >= 0.7; ping-pong: ours/peer >= 2, ours/vodozemac >=
1.0, ours/floor >= 0.8. Peers: the ``doubleratchet``, ``x3dh`` and ``vodozemac``
distributions (the 'bench' extra), and ``cryptography`` for the floor, with their
versions.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac as std_hmac
import os
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from escrowlab.arguments import int_in_range
from escrowlab.benchmarks import (
    Peer,
    Progress,
    Target,
    document,
    print_document,
    round_figures,
    show_verdicts,
    time_sessions,
)
from escrowlab.cli import CommandError

MESSAGE_SIZE = 1024
DEFAULT_MESSAGES = 2000
DEFAULT_ROUNDS = 5
MODES = ("burst", "pingpong")
IMPLEMENTATIONS = ("ours", "peer", "vodozemac", "floor")
TARGETS = {
    ("peer", "burst"): 4.0,
    ("peer", "pingpong"): 2.0,
    ("vodozemac", "burst"): 0.9,
    ("vodozemac", "pingpong"): 1.0,
    ("floor", "burst"): 0.7,
    ("floor", "pingpong"): 0.8,
}
TURN = 100  # messages per implementation per turn (even: ping-pong stays in step)
MAX_MESSAGES = 100_000
MAX_ROUNDS = 100
Runner = Callable[[int], float]
PEERS = (
    Peer("doubleratchet", "peer: its Double Ratchet, timed beside ours", "doubleratchet"),
    Peer("x3dh", "peer: its X3DH handshake (untimed setup)", "x3dh"),
    Peer("vodozemac", "peer: Matrix's Olm (Rust, Python bindings), timed beside ours",
         "vodozemac"),
    Peer("cryptography", "floor: the bare primitive calls one message needs", "cryptography"),
)


def targets() -> list[Target]:
    return [Target(f"ours_over_{other}_{mode}", ">=", bound)
            for (other, mode), bound in TARGETS.items()]


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "messaging",
        help="Double Ratchet messages/s: ours vs doubleratchet+x3dh vs vodozemac vs bare "
             "primitives",
        description=(
            "Encrypt and decrypt 1 KiB messages in 'burst' (one sending chain) and "
            "'pingpong' (a DH ratchet step per message) with our Session API, the PyPI "
            "doubleratchet+x3dh packages, vodozemac (Olm), and the bare primitive calls (the "
            "floor), in interleaved rounds; print messages per second and the ratios of ours "
            "to each against the targets."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--messages", type=int_in_range(1, MAX_MESSAGES), default=DEFAULT_MESSAGES,
        metavar="N", help=f"messages per implementation, mode and round, 1..{MAX_MESSAGES:,} "
                          f"(default {DEFAULT_MESSAGES})",
    )
    parser.add_argument(
        "--rounds", type=int_in_range(1, MAX_ROUNDS), default=DEFAULT_ROUNDS, metavar="R",
        help=f"R interleaved rounds (ours, peer, floor in turn), medians reported, "
             f"1..{MAX_ROUNDS} (default {DEFAULT_ROUNDS})",
    )
    parser.set_defaults(func=run)


def default_args() -> argparse.Namespace:
    return argparse.Namespace(
        json=False, messages=DEFAULT_MESSAGES, rounds=DEFAULT_ROUNDS, func=run
    )


def quick_args() -> argparse.Namespace:
    """Tiny parameters for ``bench all --quick`` (checks that it runs; figures mean little)."""
    return argparse.Namespace(json=False, messages=6, rounds=1, func=run)


def collect(args: argparse.Namespace, progress: Progress | None = None) -> dict:
    """The benchmark's JSON document (figures, targets, peers)."""
    try:
        results = measure(args.messages, args.rounds, progress=progress or Progress("messaging"))
    except RuntimeError as exc:  # the peer is not installed, or a round trip failed
        raise CommandError(f"bench messaging: {exc}") from None
    return document("messaging", results, targets(), PEERS)


def run(args: argparse.Namespace) -> int:
    return print_document(collect(args), args.json, show)


def show(doc: dict) -> None:
    print(_human(doc))
    show_verdicts(doc)


def measure(
    messages: int, rounds: int = 1, progress: Callable[[str], None] | None = None
) -> dict:
    """Time every implementation in both modes in ``rounds`` interleaved rounds; return the
    figures and ratios as a flat dict (module docstring, "Rounds")."""
    factories = runners()
    results: dict = {"messages": messages, "rounds": rounds, "message_size": MESSAGE_SIZE}
    rates: dict[tuple[str, str], list[float]] = {
        (name, mode): [] for name in IMPLEMENTATIONS for mode in MODES}
    turns = [min(TURN, messages - i) for i in range(0, messages, TURN)]
    steps = rounds * len(MODES)
    step = getattr(progress, "step", None)
    if step:
        step("rounds", 0, steps)
    done = 0
    for round_number in range(1, rounds + 1):
        for mode in MODES:
            run = {name: factories[name](mode) for name in IMPLEMENTATIONS}  # handshakes
            spent = dict.fromkeys(IMPLEMENTATIONS, 0.0)
            for count in turns:  # ours, peer, vodozemac, floor, ours, ...: TURN messages each
                for name in IMPLEMENTATIONS:
                    spent[name] += run[name](count)
            for name in IMPLEMENTATIONS:
                rates[name, mode].append(messages / spent[name])
            done += 1
            if step:
                step("rounds", done, steps, f"round {round_number}/{rounds} {mode}")
    for (name, mode), per_round in rates.items():
        results[f"{name}_{mode}_msgs_per_s"] = statistics.median(per_round)
        results[f"{name}_{mode}_msgs_per_s_rounds"] = per_round
    for (other, mode) in TARGETS:
        results.update(round_figures(f"ours_over_{other}_{mode}", [
            ours / theirs for ours, theirs in zip(rates["ours", mode], rates[other, mode],
                                                  strict=True)]))
    return results


def runners() -> dict[str, Callable[[str], Runner]]:
    """Each implementation's runner factory: ``factory(mode)`` does the handshake (untimed)
    and returns ``run(count)``, the seconds to send and check ``count`` more messages."""
    return {"ours": _ours_runner, "peer": _peer_runner, "vodozemac": _vodozemac_runner,
            "floor": _floor_runner}


def _human(results: dict) -> str:
    lines = [
        f"messaging throughput: {results['messages']} messages of {results['message_size']} "
        f"bytes, median of {results['rounds']} interleaved rounds (messages/s, encrypt + "
        "decrypt)",
        f"  {'':9} {'burst':>10} {'pingpong':>10}",
    ]
    for name in IMPLEMENTATIONS:
        lines.append(
            f"  {name:9} {results[f'{name}_burst_msgs_per_s']:>10,.0f}"
            f" {results[f'{name}_pingpong_msgs_per_s']:>10,.0f}"
        )
    for (other, mode), target in TARGETS.items():
        ratio = results[f"ours_over_{other}_{mode}"]
        verdict = "ok" if ratio >= target else "MISSED"
        spread = results[f"ours_over_{other}_{mode}_spread"]
        lines.append(f"  ours/{other:9} {mode:9} {ratio:6.2f}x (target >= {target}x, spread "
                     f"{spread:.0%}) {verdict}")
    return "\n".join(lines)


def _check(plaintext: bytes, expected: bytes, who: str) -> None:
    if plaintext != expected:
        raise RuntimeError(f"{who}: a decrypted message differs from what was sent")


# --------------------------------------------------------------------------- ours

_CONVERSATION = "bench"
_ALICE, _BOB = "alice:1", "bob:1"


def _ours_pair():
    """Run PQXDH and exchange one message each way, so both sides have ordinary sessions."""
    from messaging.clock import SystemClock
    from messaging.hooks import NoEscrow
    from messaging.identity import IdentityKeyPair
    from messaging.prekey_state import DevicePrekeys
    from messaging.session import Session

    hook, clock = NoEscrow(), SystemClock()
    alice_identity, bob_identity = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob_identity, hook.mode, one_time=1, kem_one_time=1)
    upload = prekeys.upload()
    bundle = upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0])
    alice = Session.initiate(alice_identity, _ALICE, bundle, _BOB, _CONVERSATION, hook, clock)
    hello = os.urandom(MESSAGE_SIZE)
    bob, received = Session.respond(bob_identity, prekeys, _BOB, alice.encrypt(hello), hook, clock)
    _check(received, hello, "ours")
    _check(alice.decrypt(bob.encrypt(hello)), hello, "ours")
    return alice, bob


def _ours_runner(mode: str) -> Runner:
    alice, bob = _ours_pair()
    return lambda count: time_sessions(alice, bob, mode, count, MESSAGE_SIZE,
                                       lambda received, sent: _check(received, sent, "ours"))


# --------------------------------------------------------------------------- peer


def _peer_classes():
    """The doubleratchet/x3dh classes in their closest configuration (imported on demand)."""
    try:
        import x3dh
        from doubleratchet import DoubleRatchet
        from doubleratchet.recommended import (
            HashFunction,
            aead_aes_hmac,
            diffie_hellman_ratchet_curve25519,
            kdf_hkdf,
            kdf_separate_hmacs,
        )
    except ImportError as exc:
        raise RuntimeError(
            "the peer needs the 'bench' extra: .venv/bin/pip install -e '.[bench]'"
        ) from exc

    class RootKDF(kdf_hkdf.KDF):
        @staticmethod
        def _get_hash_function():
            return HashFunction.SHA_256

        @staticmethod
        def _get_info():
            return b"escrowlab bench root chain"

    class MessageKDF(kdf_separate_hmacs.KDF):
        @staticmethod
        def _get_hash_function():
            return HashFunction.SHA_256

    class AEAD(aead_aes_hmac.AEAD):
        @staticmethod
        def _get_hash_function():
            return HashFunction.SHA_256

        @staticmethod
        def _get_info():
            return b"escrowlab bench message keys"

    class Ratchet(DoubleRatchet):
        @staticmethod
        def _build_associated_data(associated_data, header):
            return (
                associated_data
                + header.ratchet_pub
                + header.sending_chain_length.to_bytes(8, "big")
                + header.previous_sending_chain_length.to_bytes(8, "big")
            )

    class X3DHState(x3dh.State):
        def _publish_bundle(self, bundle):
            pass

        @staticmethod
        def _encode_public_key(key_format, pub):
            return b"\x05" + pub if key_format is x3dh.IdentityKeyFormat.CURVE_25519 else pub

    config = {
        "diffie_hellman_ratchet_class": diffie_hellman_ratchet_curve25519.DiffieHellmanRatchet,
        "root_chain_kdf": RootKDF,
        "message_chain_kdf": MessageKDF,
        "message_chain_constant": b"\x01\x02",
        "dos_protection_threshold": 1000,
        "max_num_skipped_message_keys": 1000,
        "aead": AEAD,
    }
    return x3dh, X3DHState, Ratchet, config


async def _peer_pair():
    """Run x3dh between Alice and Bob and exchange one message each way; return both ratchets."""
    x3dh, state_class, ratchet_class, config = _peer_classes()

    def new_state():
        return state_class.create(
            x3dh.IdentityKeyFormat.CURVE_25519, x3dh.HashFunction.SHA_256, b"escrowlab bench"
        )

    alice_x3dh, bob_x3dh = new_state(), new_state()
    secret, ad, header = await alice_x3dh.get_shared_secret_active(bob_x3dh.bundle)
    bob_secret, bob_ad, signed_prekey = await bob_x3dh.get_shared_secret_passive(header)
    hello = os.urandom(MESSAGE_SIZE)
    alice, first = await ratchet_class.encrypt_initial_message(
        shared_secret=secret, recipient_ratchet_pub=signed_prekey.pub, message=hello,
        associated_data=ad, **config,
    )
    bob, received = await ratchet_class.decrypt_initial_message(
        shared_secret=bob_secret, own_ratchet_priv=signed_prekey.priv, message=first,
        associated_data=bob_ad, **config,
    )
    _check(received, hello, "peer")
    reply = await bob.encrypt_message(hello, bob_ad)
    _check(await alice.decrypt_message(reply, ad), hello, "peer")
    return (alice, ad), (bob, bob_ad)


def _peer_runner(mode: str) -> Runner:
    """The peer's ratchets live across turns; each turn runs in a fresh event loop (the
    loop's start and stop are outside the timed loop)."""
    pair = asyncio.run(_peer_pair())
    return lambda count: asyncio.run(_time_peer_async(pair, mode, count))


async def _time_peer_async(pair, mode: str, messages: int) -> float:
    (alice, alice_ad), (bob, bob_ad) = pair
    plaintexts = [os.urandom(MESSAGE_SIZE) for _ in range(messages)]
    pingpong = mode == "pingpong"
    start = time.perf_counter()
    for i, plaintext in enumerate(plaintexts):
        if pingpong and i % 2:
            message = await bob.encrypt_message(plaintext, bob_ad)
            received = await alice.decrypt_message(message, alice_ad)
        else:
            message = await alice.encrypt_message(plaintext, alice_ad)
            received = await bob.decrypt_message(message, bob_ad)
        _check(received, plaintext, "peer")
    return time.perf_counter() - start


# ---------------------------------------------------------------------- vodozemac


def _vodozemac():
    """The ``vodozemac`` module (imported on demand: the 'bench' extra)."""
    try:
        import vodozemac
    except ImportError as exc:
        raise RuntimeError(
            "the vodozemac peer needs the 'bench' extra: .venv/bin/pip install -e '.[bench]'"
        ) from exc
    return vodozemac


def _vodozemac_pair():
    """An Olm session from Alice to Bob's one-time key and Bob's inbound session from
    Alice's first (pre-key) message, then one message each way."""
    olm = _vodozemac()
    alice_account, bob_account = olm.Account(), olm.Account()
    bob_account.generate_one_time_keys(1)
    one_time_key = next(iter(bob_account.one_time_keys.values()))
    bob_account.mark_keys_as_published()
    alice = alice_account.create_outbound_session(bob_account.curve25519_key, one_time_key)
    hello = os.urandom(MESSAGE_SIZE)
    first = alice.encrypt(hello).to_pre_key()
    bob, received = bob_account.create_inbound_session(alice_account.curve25519_key, first)
    _check(received, hello, "vodozemac")
    _check(alice.decrypt(bob.encrypt(hello)), hello, "vodozemac")
    return olm, alice, bob


def _vodozemac_runner(mode: str) -> Runner:
    """Like ours: each message leaves as bytes (``to_parts``) and is decrypted from them."""
    olm, alice, bob = _vodozemac_pair()
    from_parts = olm.AnyOlmMessage.from_parts
    pingpong = mode == "pingpong"

    def run(count: int) -> float:
        plaintexts = [os.urandom(MESSAGE_SIZE) for _ in range(count)]
        start = time.perf_counter()
        for i, plaintext in enumerate(plaintexts):
            sender, receiver = (bob, alice) if pingpong and i % 2 else (alice, bob)
            kind, ciphertext = sender.encrypt(plaintext).to_parts()
            _check(receiver.decrypt(from_parts(kind, ciphertext)), plaintext, "vodozemac")
        return time.perf_counter() - start

    return run


# -------------------------------------------------------------------------- floor
#
# The primitive calls ours makes per message (messaging/ratchet.py, session.py), and
# nothing else: no header, envelope, parsing, checks or state objects.
#   sender:   KDF_CK (2 x hmac.digest), HKDF (44 bytes: AES key + nonce), AES-256-GCM seal;
#             on a new sending chain also SHA-256(escrow record).
#   receiver: SHA-256(escrow record), KDF_CK, HKDF, AES-256-GCM open; on a new chain first
#             X25519 public key load, DH + KDF_RK (HKDF, 64 bytes) for the receiving chain,
#             and after the open a new X25519 key pair, DH + KDF_RK for the next sending chain.

_SHA256 = hashes.SHA256()
_RECORD = b""  # NoEscrow's record, hashed per message exactly as ours does


def _kdf_ck(chain_key: bytes) -> tuple[bytes, bytes]:
    return (std_hmac.digest(chain_key, b"\x02", "sha256"),
            std_hmac.digest(chain_key, b"\x01", "sha256"))


def _aead_material(message_key: bytes) -> bytes:
    return HKDF(_SHA256, 44, b"\x00" * 32, b"floor message keys").derive(message_key)


def _kdf_rk(root_key: bytes, dh_output: bytes) -> tuple[bytes, bytes]:
    okm = HKDF(_SHA256, 64, root_key, b"floor root ratchet").derive(dh_output)
    return okm[:32], okm[32:]


def _floor_ad_length() -> int:
    """The length of ours' associated data for the benchmark's ids (the AEAD hashes all of it)."""
    from messaging.identity import IdentityKeyPair
    from messaging.ratchet import associated_data_prefix
    from messaging.wire import Header

    identity = IdentityKeyPair.generate().public
    prefix = associated_data_prefix("none", _CONVERSATION, _ALICE, _BOB, identity, identity)
    header = Header("none", 0, 0, bytes(32), 0, 0, _RECORD)
    return len(prefix) + len(header.authenticated_bytes())


def _floor_runner(mode: str) -> Runner:
    ad = os.urandom(_floor_ad_length())
    # Two parties' ratchet state, as in ours after PQXDH: party 0 sends first.
    private = [X25519PrivateKey.generate(), X25519PrivateKey.generate()]
    public = [key.public_key().public_bytes_raw() for key in private]
    root = [os.urandom(32)] * 2
    sending = [b"", b""]
    root[0], sending[0] = _kdf_rk(root[0], private[0].exchange(private[1].public_key()))
    state = {"receiving": sending[0], "sender": 0}  # carried from one turn to the next
    pingpong = mode == "pingpong"

    def run(count: int) -> float:
        plaintexts = [os.urandom(MESSAGE_SIZE) for _ in range(count)]
        receiving, sender = state["receiving"], state["sender"]
        start = time.perf_counter()
        for plaintext in plaintexts:
            receiver = 1 - sender
            if pingpong:
                hashlib.sha256(_RECORD).digest()
            sending[sender], message_key = _kdf_ck(sending[sender])
            material = _aead_material(message_key)
            ciphertext = AESGCM(material[:32]).encrypt(material[32:], plaintext, ad)

            hashlib.sha256(_RECORD).digest()
            if pingpong:
                remote = X25519PublicKey.from_public_bytes(public[sender])
                root[receiver], receiving = _kdf_rk(root[receiver],
                                                    private[receiver].exchange(remote))
            receiving, message_key = _kdf_ck(receiving)
            material = _aead_material(message_key)
            received = AESGCM(material[:32]).decrypt(material[32:], ciphertext, ad)
            if pingpong:
                private[receiver] = X25519PrivateKey.generate()
                root[receiver], sending[receiver] = _kdf_rk(
                    root[receiver], private[receiver].exchange(remote))
                public[receiver] = private[receiver].public_key().public_bytes_raw()
                sender = receiver
            _check(received, plaintext, "floor")
        elapsed = time.perf_counter() - start
        state["receiving"], state["sender"] = receiving, sender
        return elapsed

    return run
