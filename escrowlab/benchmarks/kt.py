"""``escrowlab bench kt``: the key-transparency directory's costs (docs/benchmarks.md,
docs/key_transparency.md).

For each directory size N (``--users``, default 10,000 and 100,000 users of two devices
each, identities of 128 random bytes), in process, on an in-memory log cosigned by 2 of 3
in-memory witnesses:

- ``build_s_N``: the first epoch (staging N lists, building the prefix tree, appending
  and witnessing the root);
- ``epoch_s_N``: an epoch with ``--changes`` changed lists (default 10,000, at most N);
- ``lookups_per_s_N``: lookups served and verified per second (the directory's proof
  generation plus :func:`audit.kt.lookup.verify_lookup`: log inclusion, epoch entry,
  prefix-tree path, with the epoch's checkpoint verified once), over ``--lookups`` random
  users;
- ``verify_ms_N``: the client's verification alone, mean milliseconds, the checkpoint
  already verified (a :class:`audit.kt.lookup.CheckpointCache`: one checkpoint covers
  every lookup of its epoch); ``verify_cold_ms_N`` with the checkpoint's log signature and
  witness cosignatures checked every time;
- ``proof_bytes_N``: mean size of a lookup proof (tree path and leaf, log inclusion proof
  and the epoch entry; the cosigned checkpoint, the same for every lookup of an epoch, is
  not counted);
- ``monitor_ms_per_epoch_N``: a user's self-monitoring cost per epoch
  (:class:`audit.kt.monitor.SelfMonitor` over 5 further epochs).

Targets (the issue's, at the largest N): proof under 2 KiB, verification under 1 ms. No
other directory is timed; the peers are the libraries the code runs on. facebook/akd's
own benchmarks are not compared: they time a Rust implementation with VRFs, whose
figures are not comparable to a Python one without.
"""

from __future__ import annotations

import argparse
import os
import random
import time

from audit.kt.errors import KTError
from audit.kt.lookup import CheckpointCache, LookupProof, verify_lookup
from audit.kt.monitor import SelfMonitor
from escrowlab.arguments import int_in_range, int_list
from escrowlab.benchmarks import Peer, Progress, Target, document, print_document, show_verdicts
from escrowlab.keytrans.world import witnessed_directory
from messaging.clock import ManualClock

DEFAULT_USERS = (10_000, 100_000)
DEFAULT_CHANGES = 10_000
DEFAULT_LOOKUPS = 500
MAX_USERS = 1_000_000
MONITORED_EPOCHS = 5
PROOF_TARGET_BYTES = 2048
VERIFY_TARGET_MS = 1.0
PEERS = (
    Peer("cryptography", "Ed25519 for the checkpoint and cosignatures", "cryptography"),
    Peer("rfc8785", "canonical encoding of the committed values and log entries", "rfc8785"),
)


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "kt", help="key transparency: epoch time, lookups verified per second, proof size",
        description="Build a key-transparency directory of N users on a witnessed log; "
                    "print epoch publication time, lookups served and verified per second, "
                    "verification time, proof size and self-monitoring cost per epoch.")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--users", type=int_list(range(1, MAX_USERS + 1), "user counts"),
                        default=DEFAULT_USERS, metavar="LIST",
                        help=f"comma-separated directory sizes, each 1..{MAX_USERS:,} "
                             "(default 10000,100000)")
    parser.add_argument("--changes", type=int_in_range(1, MAX_USERS), default=DEFAULT_CHANGES,
                        metavar="N", help="changed lists in the timed epoch (default 10000, "
                                          "at most the directory size)")
    parser.add_argument("--lookups", type=int_in_range(1, 100_000), default=DEFAULT_LOOKUPS,
                        metavar="N", help="lookups timed per size (default 500)")
    parser.set_defaults(func=run_command)


def default_args() -> argparse.Namespace:
    return argparse.Namespace(json=False, users=DEFAULT_USERS, changes=DEFAULT_CHANGES,
                              lookups=DEFAULT_LOOKUPS, func=run_command)


def quick_args() -> argparse.Namespace:
    """Tiny parameters for ``bench all --quick`` (checks that it runs; figures mean little)."""
    return argparse.Namespace(json=False, users=(200,), changes=20, lookups=10,
                              func=run_command)


def _devices(user: str) -> dict[str, bytes]:
    return {f"{user}:1": os.urandom(128), f"{user}:2": os.urandom(128)}


def measure(users: int, changes: int, lookups: int, progress: Progress) -> dict:
    """The figures of one directory size (module docstring)."""
    kt = witnessed_directory(ManualClock(1_767_261_600.0))
    try:
        directory = kt.directory
        names = [f"user{i}" for i in range(users)]
        progress(f"{users:,} users: first epoch")
        start = time.perf_counter()
        for name in names:
            directory.stage(name, _devices(name))
        directory.publish_epoch()
        build = time.perf_counter() - start
        rng = random.Random(users)
        changed = rng.sample(names, min(changes, users))
        start = time.perf_counter()
        for name in changed:
            directory.stage(name, _devices(name))
        directory.publish_epoch()
        epoch = time.perf_counter() - start
        progress(f"{users:,} users: {lookups} lookups")
        sample = [rng.choice(names) for _ in range(lookups)]
        sizes, cold, warm = [], 0.0, 0.0
        cache = CheckpointCache()
        start = time.perf_counter()
        for name in sample:
            proof = directory.lookup(name)
            if not isinstance(proof, LookupProof):
                raise KTError(f"{name} has no entry")
            verify_lookup(proof, name, kt.trust, cache)
            sizes.append(proof.size())
        total = time.perf_counter() - start
        proofs = [(name, directory.lookup(name)) for name in sample]
        for name, proof in proofs:
            t0 = time.perf_counter()
            verify_lookup(proof, name, kt.trust)
            cold += time.perf_counter() - t0
        for name, proof in proofs:
            t0 = time.perf_counter()
            verify_lookup(proof, name, kt.trust, cache)
            warm += time.perf_counter() - t0
        monitor = SelfMonitor(directory, names[0], kt.trust)
        monitor.check(directory.lookup(names[0]).devices.as_dict())
        for _ in range(MONITORED_EPOCHS):
            directory.publish_epoch()
        t0 = time.perf_counter()
        monitor.check(directory.lookup(names[0]).devices.as_dict())
        monitoring = (time.perf_counter() - t0) / MONITORED_EPOCHS
        return {f"build_s_{users}": round(build, 3), f"epoch_s_{users}": round(epoch, 3),
                f"changes_{users}": len(changed),
                f"lookups_per_s_{users}": round(lookups / total, 1),
                f"verify_ms_{users}": round(warm / lookups * 1000, 3),
                f"verify_cold_ms_{users}": round(cold / lookups * 1000, 3),
                f"proof_bytes_{users}": round(sum(sizes) / len(sizes), 1),
                f"monitor_ms_per_epoch_{users}": round(monitoring * 1000, 3)}
    finally:
        kt.log.close()
        for witness in kt.witnesses:
            witness.close()


def collect(args: argparse.Namespace, progress: Progress | None = None) -> dict:
    progress = progress or Progress("kt")
    sizes = tuple(sorted(args.users))
    figures: dict = {"users": list(sizes), "lookups": args.lookups}
    for users in sizes:
        figures.update(measure(users, args.changes, args.lookups, progress))
    largest = sizes[-1]
    targets = (Target(f"proof_bytes_{largest}", "<", PROOF_TARGET_BYTES,
                      f"lookup proof at {largest:,} users"),
               Target(f"verify_ms_{largest}", "<", VERIFY_TARGET_MS,
                      f"client verification at {largest:,} users"))
    return document("kt", figures, targets, PEERS)


def run_command(args: argparse.Namespace) -> int:
    return print_document(collect(args), args.json, show)


def show(doc: dict) -> None:
    for users in doc["users"]:
        print(f"{users:>9,} users: first epoch {doc[f'build_s_{users}']:.2f} s, epoch of "
              f"{doc[f'changes_{users}']:,} changes {doc[f'epoch_s_{users}']:.2f} s, "
              f"{doc[f'lookups_per_s_{users}']:,.0f} lookups+verify/s, verify "
              f"{doc[f'verify_ms_{users}']:.3f} ms ({doc[f'verify_cold_ms_{users}']:.3f} ms "
              f"with the checkpoint), proof {doc[f'proof_bytes_{users}']:.0f} "
              f"bytes, monitoring {doc[f'monitor_ms_per_epoch_{users}']:.3f} ms/epoch")
    show_verdicts(doc)
