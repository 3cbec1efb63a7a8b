"""S31 css-db-creep (docs/scenarios.md; docs/css_matcher.md, "Published roots" and
"Scenarios").

The provider (compelled, or by choice) wants the matcher to flag a non-target image, a
"political" stand-in hash that no supplier lists, in the account of one user, Dana, who
then sends t copies of it. Three ways to insert it:

- ``global``: the hash goes into the database list, and every device gets the new table;
- ``split-view``: everyone gets the honest table, Dana alone a table with the hash;
- ``spare-slot``: the database list stays the intersection, but the blinded point of the
  hash replaces the filler of a free candidate slot of it in everyone's table (fillers and
  blinded entries look alike without the provider's secret).

Against five defences, each adding to the one before:

- ``none``: devices take whatever table they are served;
- ``root-unwitnessed``: devices accept a table only with a receipt of its root from the
  provider's signed log (:func:`escrowlab.css.publish.check_table`), without witnesses;
- ``root-witnessed``: the same under a 2-of-3 witness quorum;
- ``list-audit``: plus an auditor who compares the provider's database list with the
  intersection of the suppliers' lists;
- ``table-audit``: plus an auditor entrusted with the provider's table secret who rebuilds
  the table from the suppliers' intersection (:func:`escrow.css.psi.build_table`) and
  compares its root with the published one.

For a split view under a root check the provider needs a receipt of Dana's root: it signs a
fork of its log holding Dana's root. Each run measures how many of Dana's derivatives the
real matcher opens (``exposed_total``) and who detects the insertion: Dana's device refusing
its table (``user-ui``), the witnesses refusing the fork (``witness``), the auditor
(``log``), or nobody.
"""

from __future__ import annotations

import dataclasses
import os
import random

from audit.errors import QuorumError
from audit.log import AuditLog
from audit.note import Signer
from audit.quorum import WitnessQuorum
from audit.trust import Trust
from audit.witness import Witness
from escrow.css import database, matcher, psi, vouchers
from escrowlab.css.publish import DatabasePublisher, TableRootError, check_table, table_root
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario
from messaging.clock import ManualClock

INSERTIONS = ("global", "split-view", "spare-slot")
DEFENCES = ("none", "root-unwitnessed", "root-witnessed", "list-audit", "table-audit")
ORIGIN = "css.escrowlab.test/database"
START = 1_767_261_600.0
HASH_BYTES = 8
THRESHOLD = 5


@dataclasses.dataclass(frozen=True)
class World:
    suppliers: dict[str, list[bytes]]
    db: database.HashDatabase
    secret: psi.ServerSecret
    honest: psi.BlindedTable
    political: bytes
    free_slot: int


def _world(seed: int, entries: int) -> World:
    rnd = random.Random(seed)
    shared = [rnd.randbytes(HASH_BYTES) for _ in range(entries)]
    suppliers = {"supplier-a": shared + [rnd.randbytes(HASH_BYTES) for _ in range(3)],
                 "supplier-b": shared + [rnd.randbytes(HASH_BYTES) for _ in range(3)]}
    db = database.build(1, suppliers)
    secret = psi.ServerSecret.generate()
    honest = psi.build_table(db, secret)
    fillers = {i for i in range(honest.size)
               if honest.points[i] == psi.filler_point(secret, db.version, i)}
    while True:  # a stand-in "political" hash with a free candidate slot
        political = rnd.randbytes(HASH_BYTES)
        free = [w for w in honest.slots(political) if w in fillers]
        if free:
            return World(suppliers, db, secret, honest, political, free[0])


def _with_political(world: World, insertion: str) -> tuple[database.HashDatabase,
                                                           psi.BlindedTable]:
    """The database list the provider shows auditors and the table it serves Dana."""
    if insertion == "spare-slot":
        points = list(world.honest.points)
        points[world.free_slot] = world.secret.blind(world.political)
        return world.db, dataclasses.replace(world.honest, points=tuple(points))
    crept = dataclasses.replace(world.db, hashes=tuple(sorted((*world.db.hashes,
                                                              world.political))))
    # a split view shows the auditors the honest list, as it shows everyone else
    return (world.db if insertion == "split-view" else crept), psi.build_table(crept,
                                                                                world.secret)


def _logs(witnessed: bool, clock: ManualClock) -> tuple[Signer, list[Witness], Trust]:
    signer = Signer.generate(ORIGIN)
    witnesses = [Witness.generate(f"witness-{i}.css.test", [signer.verifier], ":memory:", clock)
                 for i in range(3)] if witnessed else []
    return signer, witnesses, Trust(signer.verifier, tuple(w.verifier for w in witnesses),
                                    2 if witnessed else 0)


def _open_log(signer: Signer, witnesses: list[Witness], clock: ManualClock) -> AuditLog:
    return AuditLog.open(":memory:", signer, clock=clock,
                         quorum=WitnessQuorum(witnesses, 2) if witnesses else None)


def run_variant(world: World, insertion: str, defence: str) -> dict:
    """One insertion against one defence: Dana's exposure and the detectors."""
    shown_db, dana_table = _with_political(world, insertion)
    everyone_table = world.honest if insertion == "split-view" else dana_table
    detectors: list[str] = []
    accepted = True
    if defence != "none":
        clock = ManualClock(START)
        signer, witnesses, trust = _logs(defence != "root-unwitnessed", clock)
        log = _open_log(signer, witnesses, clock)
        publisher = DatabasePublisher(log)
        publisher.publish(everyone_table)
        receipt = publisher.receipt(dana_table.version)
        if dana_table is not everyone_table:
            # the provider signs a fork of its log holding Dana's root
            try:
                receipt = DatabasePublisher(_open_log(signer, witnesses, clock)) \
                    .publish(dana_table).receipt
            except QuorumError:
                detectors.append("witness")
        try:
            check_table(dana_table, receipt, trust)
        except TableRootError:
            accepted = False
            detectors.append("user-ui")
        honest_list = database.build(world.db.version, world.suppliers)
        if defence == "list-audit" and shown_db != honest_list:
            detectors.append("log")
        published = table_root(everyone_table)
        if defence == "table-audit" and \
                (shown_db != honest_list
                 or table_root(psi.build_table(honest_list, world.secret)) != published):
            detectors.append("log")
    exposed, opened = 0, 0
    if accepted:
        provider = matcher.Matcher(world.secret, THRESHOLD)
        dana = vouchers.VoucherClient(dana_table, THRESHOLD)
        for i in range(THRESHOLD):
            provider.submit("dana", dana.voucher(world.political, b"protest photo %d" % i))
            provider.submit("dana", dana.voucher(os.urandom(HASH_BYTES), b"holiday %d" % i))
        view = provider.view("dana")
        exposed, opened = len(view.derivatives), view.opened
    return {"exposed": exposed, "opened": opened, "dana_accepted_table": accepted,
            "detectors": sorted(set(detectors)),
            "others_table_changed": everyone_table != world.honest}


def should_detect(insertion: str, defence: str) -> tuple[str, ...]:
    """Who the design says notices (docs/css_matcher.md, "Published roots")."""
    if defence in ("none", "root-unwitnessed"):
        return ()
    if insertion == "split-view":
        return ("user-ui", "witness")
    if insertion == "global" and defence in ("list-audit", "table-audit"):
        return ("log",)
    if insertion == "spare-slot" and defence == "table-audit":
        return ("log",)
    return ()


@scenario("S31", "css-db-creep",
          "a political stand-in hash inserted globally, for one user, or in spare slots; "
          "with and without published roots and audits", ("css",))
def run(params: Params, mode: str) -> list[Outcome]:
    world = _world(params.seed, entries=200 if params.full else 40)
    outcomes = []
    for insertion in INSERTIONS:
        for defence in DEFENCES:
            line = run_variant(world, insertion, defence)
            expected_detectors = should_detect(insertion, defence)
            blocked = insertion == "split-view" and defence not in ("none", "root-unwitnessed")
            expected = (f"detected by {', '.join(expected_detectors)}" if expected_detectors
                        else "undetected") + ("; Dana's device refuses the table, nothing opens"
                                              if blocked else
                                              "; Dana's political images open at t")
            holds = (tuple(line["detectors"]) == expected_detectors
                     and line["exposed"] == (0 if blocked else THRESHOLD))
            outcomes.append(Outcome(
                "S31", mode, f"{insertion}/{defence}", expected, holds,
                metrics={"exposed_total": line["exposed"],
                         "detectable": line["detectors"] or "none"},
                details={**line, "threshold": THRESHOLD, "database_entries": len(world.db),
                         "table_slots": world.honest.size}))
    return outcomes
