"""Fuzz targets of :mod:`escrow`: records of each mode (threshold, crumple, the leaf16
LEAF), the recipients' hook checks, custodians releasing shares of archived
envelopes, releases, authorisations, custodian sets, keystores, the leaf16 agents'
recovery path and a threshold recovery whose archive holds one injected envelope.

Refusals are :class:`escrow.errors.EscrowError`; a hook's check raises
:class:`messaging.errors.HookRefusedError` (what the session expects of a hook).
"""

from __future__ import annotations

from escrow.errors import EscrowError, ReleaseRefusedError
from escrowlab.fuzz.core import HarnessFailure, Target
from escrowlab.fuzz.mutate import Mutator
from escrowlab.fuzz.seeds import KEYSTORE_PASSPHRASE, ModeWorld, World
from escrowlab.fuzz.targets_messaging import (
    bytes_mutator,
    cheap_kdf,
    json_mutator,
    json_seeds,
    load_object,
    mutate_envelope_fields,
)
from messaging.errors import HookRefusedError, MessagingError
from messaging.wire import parse_envelope

REFUSE = (EscrowError,)


def _records(mw: ModeWorld) -> list[bytes]:
    seen: dict[bytes, None] = {}
    for entry in mw.entries:
        if entry.record:
            seen.setdefault(entry.record)
    return list(seen)[:12]


def record_target(world: World) -> Target:
    from escrow.record import parse_record
    seeds = [r for mode in ("threshold", "crumple") if mode in world.modes
             for r in _records(world.modes[mode])]
    return Target("escrow.record", "escrow.record.parse_record (threshold and crumple records)",
                  REFUSE, seeds, parse_record, bytes_mutator(seeds), weight=2)


def leaf_target(world: World) -> Target:
    from escrow.leaf16.leaf import open_body, parse_leaf
    mw = world.modes["leaf16"]
    family = mw.extras["family_key"]
    seeds = _records(mw)

    def run(data: bytes) -> None:
        open_body(family, parse_leaf(data))

    return Target("escrow.leaf", "escrow.leaf16 parse_leaf and open_body (family key) on LEAFs",
                  REFUSE, seeds, run, bytes_mutator(seeds), weight=1)


def hook_target(mw: ModeWorld) -> Target:
    """The recipient's check of a chain's record: input byte 0 picks a real chain context,
    the rest is the record."""
    contexts = [(c, r) for c, r in mw.pair.contexts if r]
    hook = mw.pair.bob_hook.inner
    seeds = [bytes((i,)) + r for i, (_, r) in enumerate(contexts)]
    records = [r for _, r in contexts]
    binding = mw.mode != "leaf16"

    def run(data: bytes) -> None:
        if not data:
            raise HookRefusedError("empty input")
        context, genuine = contexts[data[0] % len(contexts)]
        hook.check_chain(context, data[1:])
        if binding and data[1:] != genuine:
            # threshold and crumple recompute the whole record from CK_0 (docs/architecture.md,
            # "Escrow modes"): any other record that passes is a binding failure. leaf16 checks a
            # 16-bit checksum only, so a forgery passing now and then is that mode's design.
            raise HarnessFailure("an altered record passed the recipient's check",
                                 "altered record accepted")

    def mutate(m: Mutator) -> bytes:
        i = m.rng.randrange(len(records))
        return bytes((i,)) + m.havoc(records[i], records)

    return Target(f"escrow.hook.{mw.mode}", f"the {mw.mode} hook's check_chain (what an honest "
                  "recipient runs) on mutated records of real chains", (HookRefusedError,),
                  seeds, run, mutate, weight=1 if mw.mode == "leaf16" else 0.5)


def custodian_release_target(mw: ModeWorld) -> Target:
    from escrow.release import release_share
    extras = mw.extras
    custodian = extras["custodians"][0]
    seeds = [s.envelope for s in extras["scoped"]] + [e.envelope for e in mw.entries[:6]]
    records = _records(mw)

    def run(data: bytes) -> None:
        release_share(custodian, extras["custodian_set"], extras["authorisation"],
                      extras["verifier"], data, mw.clock)

    return Target(f"escrow.custodian_release.{mw.mode}",
                  f"a custodian releasing its share of an archived {mw.mode} envelope "
                  "(release_share)", REFUSE, seeds, run,
                  bytes_mutator(seeds, lambda m, s: mutate_envelope_fields(m, s, records)),
                  weight=0.5)


def release_target(world: World) -> Target:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from escrow.release import ShareRelease
    mw = world.modes["threshold"]
    extras = mw.extras
    seeds = json_seeds([r.to_json() for r in extras["releases"][:6]])
    members = extras["custodian_set"].members
    other_key = X25519PrivateKey.generate()

    def run(data: bytes) -> None:
        release = ShareRelease.from_json(
            load_object(data, "share release", ReleaseRefusedError))
        release.binding()
        release.signed_bytes()
        if release.custodian_index < len(members):
            release.verify(members[release.custodian_index])
        release.open(extras["recovery_key"])
        release.open(other_key)

    return Target("escrow.release", "ShareRelease.from_json, then its signed bytes, signature "
                  "check and opening under the recovery key", REFUSE, seeds, run,
                  json_mutator(seeds), weight=1)


def authorisation_target(world: World) -> Target:
    from escrow.authorisation import SignedAuthorisation
    from escrow.errors import AuthorisationError
    extras = world.modes["threshold"].extras
    seeds = json_seeds([extras["authorisation"].to_json()])
    now = world.modes["threshold"].clock.now()

    def run(data: bytes) -> None:
        authorisation = SignedAuthorisation.from_json(
            load_object(data, "authorisation", AuthorisationError))
        authorisation.signed_bytes()
        extras["verifier"].verify(authorisation, now)

    return Target("escrow.authorisation", "SignedAuthorisation.from_json, signed bytes and the "
                  "issuer's signature check", REFUSE, seeds, run, json_mutator(seeds), weight=1)


def custodian_set_target(world: World) -> Target:
    from escrow.custodian_set import CustodianSet
    seeds = json_seeds([world.modes[m].extras["custodian_set"].to_json()
                        for m in ("threshold", "crumple") if m in world.modes])

    def run(data: bytes) -> None:
        cset = CustodianSet.loads(data)
        cset.fingerprint  # noqa: B018 (canonicalises every member)
        cset.describe()

    return Target("escrow.custodian_set", "CustodianSet.loads (the set file every device pins)",
                  REFUSE, seeds, run, json_mutator(seeds), weight=1)


def keystore_target(world: World) -> Target:
    from escrow.keystore import open_keystore
    seed = world.modes["threshold"].extras["keystore"]
    plain = json_mutator([seed])

    def mutate(m: Mutator) -> bytes:
        for _ in range(20):  # costs above these would make one open take seconds
            data = plain(m)
            if cheap_kdf(data, ("kdf", "time_cost"), ("kdf", "memory_kib"),
                         ("kdf", "parallelism")):
                return data
        return seed

    return Target("escrow.keystore", "escrow.keystore.open_keystore (a custodian's key file; "
                  "inputs asking Argon2id for more than 64 MiB or t>2 are not generated)",
                  REFUSE, [seed], lambda data: open_keystore(data, KEYSTORE_PASSPHRASE), mutate,
                  weight=0.1)


class _LeafAgents:
    """The EES recovery path on a (mutated) LEAF; a refused LEAF must not make either agent
    record a release."""

    def __init__(self, mw: ModeWorld) -> None:
        from escrow.leaf16.recovery import LeafDecryptor
        self.agents = mw.extras["agents"]
        self.decryptor = LeafDecryptor(mw.extras["family_key"])
        self.base = [len(a.releases) for a in self.agents]

    def run(self, data: bytes) -> None:
        from escrow.leaf16.recovery import recover_chain_key
        recover_chain_key(self.decryptor, data, self.agents, "fuzz case")

    def snapshot(self) -> list:
        return [list(a.releases) for a in self.agents]

    def reset(self) -> None:
        for agent, length in zip(self.agents, self.base, strict=True):
            del agent.releases[length:]


def leaf_recovery_target(world: World) -> Target:
    mw = world.modes["leaf16"]
    agents = _LeafAgents(mw)
    seeds = _records(mw)
    return Target("escrow.leaf_recovery", "leaf16 recover_chain_key (family key, both agents, "
                  "unit key); agents' release lists unchanged after a refusal", REFUSE, seeds,
                  agents.run, bytes_mutator(seeds), weight=1, snapshot=agents.snapshot,
                  reset=agents.reset)


def recover_target(world: World) -> Target:
    """Threshold recovery of the warrant's window with one (mutated) envelope injected into
    the archive, as a relay archives any parsable envelope its sender names."""
    from escrow.scope import ListArchive
    from escrow.threshold.recovery import recover
    from messaging.relay.archive import ArchiveEntry
    mw = world.modes["threshold"]
    extras = mw.extras
    start, end = extras["window"]
    entries = list(mw.entries)
    seeds = [e.envelope for e in entries if e.conversation_id == "dm:alice:bob"][:6]
    records = _records(mw)

    def run(data: bytes) -> None:
        envelope = parse_envelope(data)  # the relay archives only envelopes that parse
        injected = ArchiveEntry(10**6, (start + end) / 2, envelope.sender, envelope.recipient,
                                envelope.conversation_id, data, envelope.header.record)
        archive = ListArchive([*entries, injected], mw.identity_of)
        recover(extras["hook"], archive, "dm:alice:bob", start, end, extras["releases"],
                extras["recovery_key"], authorisation=extras["authorisation"])

    return Target("escrow.recover", "escrow.recovery.recover over the archive plus one injected "
                  "envelope (mutated from the window's)", (EscrowError, MessagingError), seeds,
                  run, bytes_mutator(seeds, lambda m, s: mutate_envelope_fields(m, s, records)),
                  weight=0.3)


def targets(world: World) -> dict:
    made = {
        "escrow.record": lambda: record_target(world),
        "escrow.leaf": lambda: leaf_target(world),
        "escrow.leaf_recovery": lambda: leaf_recovery_target(world),
        "escrow.release": lambda: release_target(world),
        "escrow.authorisation": lambda: authorisation_target(world),
        "escrow.custodian_set": lambda: custodian_set_target(world),
        "escrow.keystore": lambda: keystore_target(world),
        "escrow.recover": lambda: recover_target(world),
    }
    for mode in ("threshold", "leaf16", "crumple"):
        made[f"escrow.hook.{mode}"] = lambda mode=mode: hook_target(world.modes[mode])
    for mode in ("threshold", "crumple"):
        made[f"escrow.custodian_release.{mode}"] = \
            lambda mode=mode: custodian_release_target(world.modes[mode])
    return made

