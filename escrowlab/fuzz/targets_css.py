"""Fuzz targets of client-side scanning (:mod:`escrow.css`; docs/css.md): the safety voucher
against a live matcher whose state must not change on a refusal, the blinded table and the
hash database a device or an auditor reads, the image decoder every attachment goes
through, and the signed detection order a device verifies.

Refusals are :class:`escrow.css.errors.CssError` (an ``EscrowError``); a signed order's are
:class:`escrow.css.orders.OrderError`. The css world is built once, on first use, from
stand-in hashes (random bytes) and generated images.
"""

from __future__ import annotations

import functools
import os
import random

import numpy

from escrow.css.errors import CssError
from escrowlab.fuzz.core import Target
from escrowlab.fuzz.seeds import World
from escrowlab.fuzz.targets_messaging import bytes_mutator, json_mutator

REFUSE = (CssError,)
THRESHOLD = 3
ACCOUNT = "alice"


@functools.cache
def _css():  # type: ignore[no-untyped-def]
    """The database, secret, table and a device's vouchers (real, matching and synthetic)."""
    from escrow.css import database, psi, vouchers

    rng = random.Random(7)
    listed = [rng.randbytes(32) for _ in range(12)]
    db = database.build(1, {"supplier-a": [*listed, rng.randbytes(32)],
                            "supplier-b": [*listed, rng.randbytes(32)]})
    secret = psi.ServerSecret.generate()
    table = psi.build_table(db, secret)
    client = vouchers.VoucherClient(table, THRESHOLD, synthetic_rate=0.25, rng=rng)
    made = [client.voucher(h, b"derivative %d" % i) for i, h in enumerate(listed[:4])]
    made += [client.voucher(os.urandom(32), b"innocent")]
    return db, secret, table, made


class _LiveMatcher:
    """A matcher holding two of the device's vouchers; the others are the seeds. A refused
    input must leave every account's view and the vouchers held as they were."""

    def __init__(self) -> None:
        self.matcher = self._fresh()

    @staticmethod
    def _fresh():  # type: ignore[no-untyped-def]
        from escrow.css.matcher import Matcher

        _, secret, _, made = _css()
        matcher = Matcher(secret, THRESHOLD, max_combinations=50)
        for voucher in made[:2]:
            matcher.submit(ACCOUNT, voucher)
        return matcher

    def run(self, data: bytes) -> None:
        self.matcher.submit(ACCOUNT, data)

    def snapshot(self):  # type: ignore[no-untyped-def]
        view = self.matcher.view(ACCOUNT)
        return (view.received, view.opened, view.revealed, view.derivatives,
                view.known_synthetic)

    def reset(self) -> None:
        if self.matcher.view(ACCOUNT).received != 2:
            self.matcher = self._fresh()


def voucher_target(world: World) -> Target:
    live = _LiveMatcher()
    seeds = list(_css()[3])
    return Target("css.voucher", "escrow.css.vouchers.decode then a live Matcher.submit "
                  "(PSI outer layer, shares, threshold); the account's view unchanged after a "
                  "refusal", REFUSE, seeds, live.run, bytes_mutator(seeds), weight=0.5,
                  snapshot=live.snapshot, reset=live.reset)


def table_target(world: World) -> Target:
    from escrow.css import psi

    seeds = [_css()[2].encode()]
    return Target("css.table", "escrow.css.psi.decode_table (the blinded cuckoo table a "
                  "device holds: every point a valid ristretto255 encoding)", REFUSE, seeds,
                  psi.decode_table, bytes_mutator(seeds), weight=0.3)


def database_target(world: World) -> Target:
    from escrow.css import database

    seeds = [_css()[0].encode()]
    return Target("css.database", "escrow.css.database.decode (the intersection an auditor "
                  "compares byte for byte)", REFUSE, seeds, database.decode,
                  bytes_mutator(seeds), weight=0.5)


def image_target(world: World) -> Target:
    from escrow.css.images import decode_image, encode_image

    rng = numpy.random.default_rng(3)
    seeds = [encode_image(rng.integers(0, 256, (16, 16), dtype=numpy.uint8)),
             encode_image(rng.integers(0, 256, (12, 20, 3), dtype=numpy.uint8))]
    return Target("css.image", "escrow.css.images.decode_image (PNG chunks, CRCs, limits, "
                  "no decompression bomb)", REFUSE, seeds, lambda data: decode_image(data).shape,
                  bytes_mutator(seeds), weight=0.5)


ISSUED = 1_767_261_600


@functools.cache
def _orders():  # type: ignore[no-untyped-def]
    """A judge, an order filed and approved on a log, and the log's trust: (registry,
    policy, trust, signed bytes, logged bytes)."""
    from audit.log import AuditLog
    from audit.note import Signer
    from audit.trust import Trust
    from authority_portal.warrants.detection import OrderCase, OrderTerms
    from authority_portal.warrants.judges import Judge, JudgeRegistry
    from authority_portal.warrants.policy import ParticularityPolicy
    from authority_portal.warrants.signatures import sign_warrant

    class Clock:
        def now(self) -> float:
            return float(ISSUED)

    judge, log_key = Signer.generate("J1"), Signer.generate("css.escrowlab.fuzz/log")
    registry = JudgeRegistry([Judge("J1", "JA", judge.verifier)])
    policy = ParticularityPolicy()
    log = AuditLog.open(":memory:", log_key, clock=Clock())
    terms = OrderTerms("D-1", "Agency A", "JA", "O1", ("alice", "bob"), ISSUED, ISSUED + 3600,
                       1, "Article 7 (stand-in)", ISSUED, ISSUED + 86_400)
    case = OrderCase.draft(terms, log, registry, policy, "officer:O1")
    case.file("officer:O1")
    case.approve("judge:J1", [sign_warrant(judge, terms, OrderCase.APPROVAL_HEADER)])
    return registry, policy, Trust(log_key.verifier, (), 0), case.signed(), case.logged()


def order_target(world: World) -> Target:
    from authority_portal.warrants.detection import DetectionOrderVerifier
    from escrow.css.orders import OrderError

    registry, policy, _, signed, _ = _orders()

    def run(data: bytes) -> None:  # a fresh device each time: its replay memory is its state
        DetectionOrderVerifier(registry, policy).verify(data, ISSUED + 60)

    return Target("css.order", "authority_portal.warrants.detection.DetectionOrderVerifier"
                  ".verify (a device's check of a signed detection order)", (OrderError,),
                  [signed], run, json_mutator([signed]), weight=0.5)


def logged_order_target(world: World) -> Target:
    from authority_portal.warrants.detection import DetectionOrderVerifier
    from escrow.css.orders import OrderError

    registry, policy, trust, _, logged = _orders()

    def run(data: bytes) -> None:
        DetectionOrderVerifier(registry, policy, trust).verify(data, ISSUED + 60)

    return Target("css.logged_order", "DetectionOrderVerifier.verify with the log's trust: "
                  "the signed order and the receipt of its logged approval", (OrderError,),
                  [logged], run, json_mutator([logged]), weight=0.5)


def targets(world: World) -> dict:
    return {
        "css.voucher": lambda: voucher_target(world),
        "css.table": lambda: table_target(world),
        "css.database": lambda: database_target(world),
        "css.image": lambda: image_target(world),
        "css.order": lambda: order_target(world),
        "css.logged_order": lambda: logged_order_target(world),
    }
