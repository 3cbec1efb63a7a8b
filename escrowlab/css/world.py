"""A messenger under mode ``css``, in process: users' devices on one relay, each with the
``css`` content hook, the provider's database, table and matcher, and detection orders
signed by a judge (docs/css.md). The demo, the benchmark and the scenarios S33 and S35
build on it, so that they measure the real client, hook and matcher.

The database lists stand-in images only (:func:`escrow.css.images.stand_in_images`): two
suppliers each list the hashes of the same :attr:`CssWorld.listed` images plus one image
of their own, and the database keeps the intersection (docs/css_matcher.md). Orders are
:class:`authority_portal.warrants.detection.OrderTerms` cases filed and approved on the
world's witnessed log, signed by the world's judge, and checked on every device by the
portal's :class:`~authority_portal.warrants.detection.DetectionOrderVerifier`, which also
requires the approval's receipt under the witness quorum (docs/detection_orders.md).
The provider publishes its table's root in an audit log that a 2-of-3 witness quorum
cosigns, and every device takes the table only after checking it against that root
(:func:`escrowlab.css.publish.check_table`; docs/css_matcher.md, "Published roots").
A world built with a trained :class:`~escrow.css.text.TextDetector` also scans texts under
orders whose scope includes text: every device gets a
:class:`~escrow.css.textscan.TextScanner` and the provider's table blinds the text flag
entry (docs/css.md, "Text under an order"). A world built with an ``order_store_dir`` gives
every device's hook an :class:`~escrow.css.order_store.OrderStore` file there, and
:meth:`CssWorld.restart` restarts a device's hook over it (docs/detection_orders.md, "Across
a restart").
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy

from audit.log import AuditLog
from audit.note import Signer
from audit.quorum import WitnessQuorum
from audit.trust import Trust
from audit.witness import Witness
from authority_portal.warrants.detection import (
    DetectionOrderVerifier,
    OrderCase,
    OrderTerms,
)
from authority_portal.warrants.judges import Judge, JudgeRegistry
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import sign_warrant
from escrow.css.errors import CssError
from escrow.css.hook import CssContentHook
from escrow.css.images import encode_image, stand_in_images
from escrow.css.mode import CssDeployment, CssProvider
from escrow.css.order_store import OrderStore
from escrow.css.orders import IMAGES
from escrow.css.textscan import DEFAULT_WINDOW, TextScanner
from escrow.css.vouchers import VoucherClient
from escrow.modes import get_mode
from escrowlab.css.publish import DatabasePublisher, check_table
from messaging.client import Device, Message
from messaging.clock import ManualClock
from messaging.relay import RelayService
from messaging.relay.inprocess import InProcessTransport

if TYPE_CHECKING:
    from escrow.css.text import TextDetector

START = 1_767_261_600.0  # 2026-01-01T10:00:00Z
DAY = 86_400
IMAGE_SIDE = 128  # a stand-in image's PNG fits the messenger's attachment bound (64 KiB)
JURISDICTION = "JA"
POLICY = ParticularityPolicy(max_targets=5, max_window=31 * DAY, max_validity=30 * DAY)
LOG_ORIGIN = "css.escrowlab.test/log"


@dataclass
class CssWorld:
    """One in-process deployment of mode ``css`` (module docstring)."""

    clock: ManualClock
    relay: RelayService
    deployment: CssDeployment
    provider: CssProvider
    devices: dict[str, Device]
    hooks: dict[str, CssContentHook]
    listed: list[tuple[str, bytes]]
    innocent: list[tuple[str, bytes]]
    judge: Signer
    judges: JudgeRegistry
    publisher: DatabasePublisher
    trust: Trust
    table_root: bytes
    collected: int = 0
    orders_issued: int = 0

    def order(self, users: tuple[str, ...], start: float, end: float,
              version: int | None = None, order_id: str | None = None,
              scope: tuple[str, ...] = (IMAGES,)) -> bytes:
        """A detection order for ``users`` over ``[start, end)`` at database ``version``
        (the provider's by default) authorising ``scope`` (images, text or both), filed,
        signed by the world's judge and approved now, every step in the witnessed log; the
        bytes carry the approval's receipt, which every device checks
        (:func:`authority_portal.warrants.detection.encode_logged`)."""
        self.orders_issued += 1
        now = int(self.clock.now())
        terms = OrderTerms(
            order_id=order_id or f"D-{self.orders_issued}", agency="Agency A",
            jurisdiction=JURISDICTION, officer="O1", users=tuple(users),
            window_start=int(start), window_end=int(end),
            database_version=self.provider.table.version if version is None else version,
            legal_basis="Article 7 detection order (stand-in).", issued_at=now,
            expires_at=max(int(end), now + 1), scope=scope)
        case = OrderCase.draft(terms, self.publisher.log, self.judges, POLICY, "officer:O1")
        case.file("officer:O1")
        case.approve(f"judge:{self.judge.name}",
                     [sign_warrant(self.judge, terms, OrderCase.APPROVAL_HEADER)])
        return case.logged()

    def restart(self, user: str) -> CssContentHook:
        """``user``'s device restarted: a new verifier and hook over the same order store,
        which re-verifies what it holds (an :class:`~escrow.css.order_store.OrderStoreError`
        leaves the running hook as it was). The account's voucher client, whose state the lab
        does not persist, carries over; the text windows are forgotten."""
        old = self.hooks[user]
        if old.store is None:
            raise CssError("this world keeps no order store: build it with order_store_dir")
        store = OrderStore.open(old.store.path, user)
        try:
            hook = _hook(self, user, old.client, store,
                         None if old.text is None else old.text.detector,
                         0 if old.text is None else old.text.window, old.require_vouchers)
        except BaseException:
            store.close()
            raise
        old.store.close()
        self.devices[user].content_hook = self.hooks[user] = hook
        return hook

    def send_image(self, sender: str, to: str, image: bytes) -> list[int]:
        self.clock.advance(60)
        return self.devices[sender].send_image(to, image)

    def send_text(self, sender: str, to: str, text: str) -> list[int]:
        self.clock.advance(60)
        return self.devices[sender].send_text(to, text)

    def receive(self, user: str) -> list[Message]:
        return self.devices[user].receive_all()

    def collect(self) -> int:
        """Hand the vouchers of the archive's entries the provider has not seen to its
        matcher; return how many new vouchers it took."""
        entries = self.relay.archive.entries()
        fresh = [(e.sender, e.envelope) for e in entries[self.collected:]]
        self.collected = len(entries)
        return self.provider.collect(fresh)


def _hashable(deployment: CssDeployment, images: list[tuple[str, numpy.ndarray]]
              ) -> list[tuple[str, numpy.ndarray, bytes]]:
    out = []
    for name, image in images:
        try:
            out.append((name, image, deployment.hasher.hash(image)))
        except CssError:
            continue  # PDQ refuses low-quality images: a supplier would not list them
    return out


def build(users: tuple[str, ...] = ("alice", "bob"), *, listed: int = 4, innocent: int = 4,
          voucher_threshold: int = 3, synthetic_percent: int = 0, seed: int = 0,
          require_vouchers: bool = True, hasher: str = "pdq",
          text_detector: TextDetector | None = None,
          text_window: int = DEFAULT_WINDOW,
          order_store_dir: str | os.PathLike | None = None) -> CssWorld:
    """The world (module docstring): one device per user, ``listed`` database images and
    ``innocent`` others, the deployment's t and synthetic rate, each device's coin seeded
    from ``seed``; with ``text_detector``, texts are scanned in windows of ``text_window``
    messages under orders that include text; with ``order_store_dir``, each device keeps its
    accepted orders in ``<user>.orders`` there."""
    clock = ManualClock(START)
    registered = get_mode("css").values({"voucher_threshold": voucher_threshold,
                                         "synthetic_percent": synthetic_percent})
    deployment = CssDeployment(**registered, hasher=hasher)
    pictures = _hashable(deployment, stand_in_images(2 * (listed + innocent) + 8, seed,
                                                     IMAGE_SIDE))
    if len(pictures) < listed + innocent + 2:
        raise CssError("not enough stand-in images the hasher accepts")
    on_list, extra = pictures[:listed], pictures[listed:listed + 2]
    others = pictures[listed + 2:listed + 2 + innocent]
    provider = deployment.provider({
        "supplier-a": [h for _, _, h in on_list] + [extra[0][2]],
        "supplier-b": [h for _, _, h in on_list] + [extra[1][2]]},
        text=text_detector is not None)
    publisher, trust = _published(provider, clock)
    receipt = publisher.receipt(provider.table.version)
    judge = Signer.generate("J1")
    registry = JudgeRegistry([Judge(judge.name, JURISDICTION, judge.verifier)])
    relay = RelayService(clock=clock)
    transport = InProcessTransport(relay)
    devices: dict[str, Device] = {}
    world = CssWorld(clock, relay, deployment, provider, devices, {},
                     [(n, encode_image(im)) for n, im, _ in on_list],
                     [(n, encode_image(im)) for n, im, _ in others], judge, registry,
                     publisher, trust, b"")
    for i, user in enumerate(users):
        # each device checks the table against the witnessed root before using it
        world.table_root = check_table(provider.table, receipt, trust)
        device = Device.create(user, 1, transport, hook=deployment.hook_for(f"{user}:1"),
                               clock=clock)
        store = None if order_store_dir is None else OrderStore.open(
            Path(order_store_dir) / f"{user}.orders", user)
        hook = _hook(world, user, deployment.client(provider.table,
                                                    random.Random(f"{seed}:{i}")),
                     store, text_detector, text_window, require_vouchers)
        device.content_hook = hook
        devices[user], world.hooks[user] = device, hook
    return world


def _hook(world: CssWorld, user: str, client: VoucherClient, store: OrderStore | None,
          text_detector: TextDetector | None, text_window: int,
          require_vouchers: bool) -> CssContentHook:
    """One device's content hook, its verifier trusting the world's judges and log."""
    return CssContentHook(user, client, world.deployment.hasher,
                          DetectionOrderVerifier(world.judges, POLICY, world.trust),
                          world.clock, require_vouchers=require_vouchers,
                          text=None if text_detector is None
                          else TextScanner(text_detector, text_window),
                          store=store)


def _published(provider: CssProvider, clock: ManualClock) -> tuple[DatabasePublisher, Trust]:
    """The provider's table root appended to an in-memory log a 2-of-3 quorum cosigns."""
    signer = Signer.generate(LOG_ORIGIN)
    witnesses = [Witness.generate(f"witness-{i}.css.test", [signer.verifier], ":memory:", clock)
                 for i in range(3)]
    log = AuditLog.open(":memory:", signer, clock=clock, quorum=WitnessQuorum(witnesses, 2))
    publisher = DatabasePublisher(log)
    publisher.publish(provider.table)
    return publisher, Trust(signer.verifier, tuple(w.verifier for w in witnesses), 2)
